"""A self-contained HTML report: every figure embedded, inline CSS, no scripts, no links out.

The report is a plain data model (:class:`Report` of :class:`Section` s, each holding
:class:`Table` s, :class:`Figure` s and headline facts) and one renderer. The page it writes
can be mailed or archived as a single file: images are base64 data URIs, the stylesheet is
inline, and every piece of text is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import logging
import math
import numbers
import os
import platform
import re
import struct
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

# Packages whose versions a report states; the distribution names, as pip knows them.
VERSIONED_PACKAGES = (
    "aelab",
    "torch",
    "lightning",
    "numpy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "safetensors",
)

_MIME_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A figure wider than this many pixels spans the whole card instead of half of it.
_WIDE_FIGURE_PX = 760


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Figure:
    """An image file to embed, shown under its title with an optional caption.

    Attributes:
        title: Heading of the figure, also its alt text.
        path: The image file (PNG, JPEG, GIF, WebP or SVG); read when the report renders.
        caption: A sentence or two on what the figure shows.
    """

    title: str
    path: Path
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True, eq=False)
class Table:
    """A data frame shown as an HTML table; numeric columns are right-aligned.

    A frame whose index is the default ``RangeIndex`` is shown without it; any other
    index becomes the leading row-header column(s).

    Attributes:
        title: Heading of the table.
        frame: The values; cells are converted to text and escaped.
        caption: A sentence or two under the title.
        float_format: ``str.format`` pattern for floating-point cells.
    """

    title: str
    frame: pd.DataFrame
    caption: str = ""
    float_format: str = "{:.4g}"


@dataclass(frozen=True)
class Section:
    """One card of the report: an introduction, headline facts, tables, then figures.

    Attributes:
        title: Heading, also the entry in the table of contents.
        intro: A paragraph of text above the content; blank lines separate paragraphs.
        tables: Tables, in the order given.
        figures: Figures, in the order given.
        facts: Headline numbers or words, shown as labelled tiles (label -> value).
    """

    title: str
    intro: str = ""
    tables: Sequence[Table] = ()
    figures: Sequence[Figure] = ()
    facts: Mapping[str, str | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(self.tables))
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "facts", dict(self.facts))


@dataclass(frozen=True)
class Report:
    """Everything a report page shows.

    Attributes:
        title: Page title and main heading.
        subtitle: A line under the title (the data, the question asked).
        sections: The body, one card each, in order.
        settings: The settings of the run, nested JSON-like values; shown as a table of
            dotted keys, with the JSON itself in a collapsed block.
        checksums: File or data-set name -> checksum (for instance a SHA-256 hex digest).
        versions: Package -> version; see :func:`library_versions`.
        durations: Step -> wall-clock seconds.
        created: When the run was made, as text; the current UTC time by default.
    """

    title: str
    subtitle: str = ""
    sections: Sequence[Section] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    checksums: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    durations: Mapping[str, float] = field(default_factory=dict)
    created: str = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple(self.sections))


def library_versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on.

    Returns:
        Name -> version, starting with ``python``; a package that is not installed is
        reported as ``"not installed"`` rather than left out.
    """
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: What to show.

    Returns:
        The page: UTF-8 text with inline CSS, images as data URIs, no scripts.

    Raises:
        FileNotFoundError: A figure's file does not exist; the message names the figure.
        ValueError: A figure's file is not an image type a browser can show inline.

    Example:
        >>> page = render_html(Report("Run 1", sections=[Section("Data", intro="...")]))
        >>> page.startswith("<!DOCTYPE html>")
        True
    """
    ids = _UniqueIds()
    body: list[str] = []
    toc: list[tuple[str, str]] = []

    for section in report.sections:
        anchor = ids.make(section.title)
        toc.append((anchor, section.title))
        body.append(_render_section(section, anchor, ids))

    # The appendix: how the run can be reproduced and checked.
    appendix = (
        ("Settings", report.settings, _render_settings),
        ("Data checksums", report.checksums, _render_checksums),
        ("Library versions", report.versions, _render_versions),
        ("Durations", report.durations, _render_durations),
    )
    for title, values, render in appendix:
        if values:
            anchor = ids.make(title)
            toc.append((anchor, title))
            body.append(_card(anchor, title, render(values), extra_class="appendix"))

    return _PAGE.format(
        title=_esc(report.title),
        css=_CSS,
        header=_render_header(report),
        toc=_render_toc(toc),
        body="\n".join(body),
        footer=_render_footer(report),
    )


def write_report(report: Report, path: str | Path) -> Path:
    """Render ``report`` and write it to ``path`` atomically.

    The page is rendered in full first, then written to a temporary file in the same
    folder and renamed over ``path``, so a reader never sees a half-written report and a
    failure leaves any previous report in place.

    Args:
        report: What to show.
        path: The HTML file to write; its folder is created if needed.

    Returns:
        The path written.

    Raises:
        FileNotFoundError: A figure's file does not exist (nothing is written).
    """
    path = Path(path)
    page = render_html(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("report written: %s (%.0f kB)", path, len(page.encode()) / 1024)
    return path


# -- pieces of the page ------------------------------------------------------------------


def _render_header(report: Report) -> str:
    meta = [f"Created {_esc(report.created)}"]
    if "aelab" in report.versions:
        meta.append(f"aelab {_esc(report.versions['aelab'])}")
    if report.durations:
        total = report.durations.get("total", sum(report.durations.values()))
        meta.append(f"run time {_esc(_format_seconds(total))}")
    subtitle = f'<p class="subtitle">{_esc(report.subtitle)}</p>' if report.subtitle else ""
    return f'<h1>{_esc(report.title)}</h1>{subtitle}<p class="meta">{" · ".join(meta)}</p>'


def _render_toc(entries: Sequence[tuple[str, str]]) -> str:
    if not entries:
        return ""
    items = "".join(f'<li><a href="#{anchor}">{_esc(title)}</a></li>' for anchor, title in entries)
    return f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'


def _render_footer(report: Report) -> str:
    version = report.versions.get("aelab", "")
    made_by = f"aelab {version}" if version else "aelab"
    return f"<footer>Made with {_esc(made_by)} · {_esc(report.created)}</footer>"


def _card(anchor: str, title: str, content: str, extra_class: str = "") -> str:
    classes = f"card {extra_class}".strip()
    return (
        f'<section class="{classes}" id="{anchor}" aria-labelledby="{anchor}-h">'
        f'<h2 id="{anchor}-h">{_esc(title)}</h2>{content}</section>'
    )


def _render_section(section: Section, anchor: str, ids: _UniqueIds) -> str:
    parts = [_paragraphs(section.intro)]
    if section.facts:
        parts.append(_render_facts(section.facts))
    parts.extend(
        _render_table(table, ids.make(f"{anchor}-{table.title}")) for table in section.tables
    )
    if section.figures:
        figures = "".join(
            _render_figure(figure, ids.make(f"{anchor}-{figure.title}"))
            for figure in section.figures
        )
        parts.append(f'<div class="figures">{figures}</div>')
    return _card(anchor, section.title, "".join(parts))


def _render_facts(facts: Mapping[str, str | float]) -> str:
    tiles = "".join(
        f'<div class="fact"><dt>{_esc(label)}</dt><dd>{_esc(_format_value(value))}</dd></div>'
        for label, value in facts.items()
    )
    return f'<dl class="facts">{tiles}</dl>'


def _render_table(table: Table, anchor: str) -> str:
    frame = table.frame
    show_index = not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None)
    index_names = [name if name is not None else "" for name in frame.index.names]
    numeric = [
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in frame.dtypes
    ]

    # Header: index names (if shown), then the column labels.
    head = [f'<th scope="col">{_esc(name)}</th>' for name in index_names] if show_index else []
    for label, is_numeric in zip(frame.columns, numeric, strict=True):
        css = ' class="num"' if is_numeric else ""
        head.append(f'<th scope="col"{css}>{_esc(_column_label(label))}</th>')

    rows = []
    for key, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        cells = []
        if show_index:
            keys = key if isinstance(key, tuple) else (key,)
            cells.extend(f'<th scope="row">{_esc(_format_value(k))}</th>' for k in keys)
        for value in values:
            text = _format_value(value, table.float_format)
            css = _cell_class(value)
            cells.append(f"<td{css}>{_esc(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")

    caption = f'<p class="caption">{_esc(table.caption)}</p>' if table.caption else ""
    return (
        f'<div class="table-block" id="{anchor}"><h3>{_esc(table.title)}</h3>{caption}'
        f'<div class="table-scroll"><table><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></div>"
    )


def _render_figure(figure: Figure, anchor: str) -> str:
    uri, size = _data_uri(figure)
    wide = size is not None and size[0] > _WIDE_FIGURE_PX
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    caption = f'<span class="caption">{_esc(figure.caption)}</span>' if figure.caption else ""
    css = ' class="wide"' if wide else ""
    return (
        f'<figure id="{anchor}"{css}>'
        f'<img src="{uri}" alt="{_esc(figure.title)}"{dims} loading="eager">'
        f"<figcaption><strong>{_esc(figure.title)}</strong>{caption}</figcaption></figure>"
    )


def _render_settings(settings: Mapping[str, Any]) -> str:
    rows = [
        (f"<code>{_esc(key)}</code>", _esc(_setting_text(value)))
        for key, value in _flatten(settings)
    ]
    as_json = json.dumps(settings, indent=2, default=str)
    return (
        f"{_key_value_table(rows)}"
        f"<details><summary>Settings as JSON</summary><pre>{_esc(as_json)}</pre></details>"
    )


def _render_checksums(checksums: Mapping[str, str]) -> str:
    rows = [
        (_esc(name), f'<code class="digest">{_esc(digest)}</code>')
        for name, digest in checksums.items()
    ]
    return _key_value_table(rows)


def _render_versions(versions: Mapping[str, str]) -> str:
    tiles = "".join(
        f'<div class="fact small"><dt>{_esc(name)}</dt><dd>{_esc(version)}</dd></div>'
        for name, version in versions.items()
    )
    return f'<dl class="facts">{tiles}</dl>'


def _render_durations(durations: Mapping[str, float]) -> str:
    rows = [(_esc(step), _esc(_format_seconds(seconds))) for step, seconds in durations.items()]
    return _key_value_table(rows, value_class="num", table_class="kv compact")


def _key_value_table(
    rows: Iterable[tuple[str, str]], value_class: str = "", table_class: str = "kv"
) -> str:
    """A two-column table of already-escaped HTML: a row header, then its value."""
    css = f' class="{value_class}"' if value_class else ""
    body = "".join(
        f'<tr><th scope="row">{key}</th><td{css}>{value}</td></tr>' for key, value in rows
    )
    table = f'<table class="{table_class}"><tbody>{body}</tbody></table>'
    return f'<div class="table-scroll">{table}</div>'


# -- helpers -----------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    return "".join(f"<p>{_esc(block)}</p>" for block in blocks)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _cell_class(value: object) -> str:
    if _is_missing(value):
        return ' class="num na"'
    return ' class="num"' if _is_number(value) else ""


def _format_value(value: object, float_format: str = "{:.4g}") -> str:
    """Text of one cell or fact: floats through ``float_format``, missing values as a dash."""
    if _is_missing(value):
        return "—"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float_format.format(float(value))
    return str(value)


def _column_label(label: object) -> str:
    if isinstance(label, tuple):
        return " / ".join(str(part) for part in label if str(part))
    return str(label)


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _flatten(values: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested mappings as (dotted key, leaf value) pairs, in their order."""
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, name)
        else:
            yield name, value


def _setting_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, default=str)


def _data_uri(figure: Figure) -> tuple[str, tuple[int, int] | None]:
    """The figure's file as a data URI, with its pixel size when it is a PNG."""
    path = figure.path
    if not path.is_file():
        raise FileNotFoundError(
            f"report figure {figure.title!r}: no image file at {path}; "
            "write the figure before rendering the report"
        )
    mime = _MIME_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ValueError(
            f"report figure {figure.title!r}: cannot embed {path.name}; "
            f"expected one of {', '.join(sorted(_MIME_TYPES))}"
        )
    data = path.read_bytes()
    size = None
    if data[:8] == _PNG_SIGNATURE and len(data) >= 24:
        # The IHDR chunk comes first: width and height as big-endian 32-bit integers.
        size = struct.unpack(">II", data[16:24])
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{mime};base64,{encoded}", size


class _UniqueIds:
    """HTML ids from titles: lower-case words joined by dashes, numbered when repeated."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def make(self, title: str) -> str:
        ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "part"
        anchor, n = base, 2
        while anchor in self._seen:
            anchor, n = f"{base}-{n}", n + 1
        self._seen.add(anchor)
        return anchor


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aelab">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header class="page-header">{header}</header>
<main>
{toc}
{body}
</main>
{footer}
</body>
</html>
"""

_CSS = """
:root {
  --ink: #1d2330; --muted: #5b6475; --line: #dfe3ea; --paper: #ffffff;
  --ground: #f4f6f9; --accent: #2457a6; --accent-soft: #e8eef8;
  --mono: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--ground); color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
    "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
}
.page-header, main, footer { max-width: 1160px; margin: 0 auto; padding: 0 24px; }
.page-header { padding-top: 36px; padding-bottom: 12px; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 1.3rem; margin: 0 0 12px; }
h3 { font-size: 1.02rem; margin: 22px 0 4px; }
.subtitle { font-size: 1.08rem; color: var(--muted); margin: 0 0 6px; }
.meta { font-size: 0.86rem; color: var(--muted); margin: 0; }
p { margin: 0 0 10px; max-width: 75ch; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.card {
  background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 22px 26px; margin: 18px 0; box-shadow: 0 1px 2px rgba(20, 30, 50, 0.04);
}
.toc { padding: 4px 0 0; }
.toc h2 {
  font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.08em;
  color: var(--muted); margin: 10px 0 6px;
}
.toc ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 6px; }
.toc li a {
  display: inline-block; padding: 3px 11px; border-radius: 999px;
  background: var(--accent-soft); font-size: 0.88rem;
}
.caption { color: var(--muted); font-size: 0.9rem; margin: 0 0 8px; }
.facts {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr));
  gap: 10px; margin: 14px 0 6px;
}
.fact {
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
  background: #fafbfd;
}
.fact dt { font-size: 0.78rem; color: var(--muted); }
.fact dd {
  margin: 2px 0 0; font-size: 1.3rem; font-weight: 600;
  font-variant-numeric: tabular-nums; overflow-wrap: anywhere;
}
.fact.small dd { font-size: 1rem; font-weight: 500; }
.table-scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 6px 0 4px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; }
thead th {
  border-bottom: 2px solid #c5ccd8; font-weight: 600; white-space: nowrap;
  vertical-align: bottom;
}
tbody th { font-weight: 500; }
tbody tr:nth-child(even) { background: #f9fafc; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.na { color: #9aa2b1; }
table.kv { width: 100%; }
table.kv th { width: 34%; color: var(--muted); font-weight: 500; }
table.kv.compact { width: auto; min-width: min(420px, 100%); }
table.kv.compact th { width: auto; padding-right: 48px; }
code { font-family: var(--mono); font-size: 0.85em; }
table.kv code { font-size: 0.92em; color: var(--ink); }
code.digest { word-break: break-all; color: #3b4556; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); font-size: 0.9rem; }
pre {
  font-family: var(--mono); font-size: 0.8rem; background: #f6f7fa;
  border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow-x: auto;
}
.figures {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr));
  gap: 18px; margin-top: 18px;
}
figure { margin: 0; min-width: 0; }
figure.wide { grid-column: 1 / -1; }
figure img {
  display: block; max-width: 100%; height: auto; margin: 0 auto;
  border: 1px solid var(--line); border-radius: 6px; background: #fff;
}
figcaption { font-size: 0.9rem; margin-top: 8px; color: var(--ink); }
figcaption .caption { display: block; margin: 2px 0 0; }
.appendix h2 { font-size: 1.1rem; }
footer { color: var(--muted); font-size: 0.82rem; padding-top: 6px; padding-bottom: 36px; }
@media (max-width: 640px) {
  .page-header, main, footer { padding-left: 12px; padding-right: 12px; }
  .card { padding: 16px; }
  .figures { grid-template-columns: 1fr; }
}
@media print {
  body { background: #fff; }
  .card { box-shadow: none; break-inside: avoid-page; }
  figure { break-inside: avoid; }
}
"""
