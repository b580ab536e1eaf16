import base64
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aelab.plots.common import new_figure, save_figure
from aelab.reports import (
    Figure,
    Report,
    Section,
    Table,
    library_versions,
    render_html,
    write_report,
)
from aelab.reports import html as report_html


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fig = new_figure(3, 2)
    fig.add_subplot().plot([0, 1, 4, 9])
    return save_figure(fig, tmp_path_factory.mktemp("figures") / "curve.png")


def _report(png: Path, **changes) -> Report:
    frame = pd.DataFrame(
        {"detector": ["autoencoder", "PCA"], "ROC-AUC": [0.981234, np.nan], "windows": [400, 12]}
    )
    fields = {
        "title": "Run",
        "subtitle": "synthetic signals",
        "sections": [
            Section(
                "Detection",
                intro="First paragraph.\n\nSecond paragraph.",
                tables=[Table("Scores", frame, caption="side by side")],
                figures=[Figure("Loss curve", png, caption="per epoch")],
                facts={"threshold": 0.123456, "kind": "percentile"},
            )
        ],
        "settings": {"seed": 0, "training": {"epochs": 3, "lr": 0.001}},
        "checksums": {"train.csv": "ab" * 32},
        "versions": {"python": "3.11", "aelab": "0.1.0"},
        "durations": {"training": 75.0, "total": 80.5},
        "created": "2026-01-01 00:00 UTC",
    }
    fields.update(changes)
    return Report(**fields)


def _references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


def test_text_is_escaped_everywhere(png: Path) -> None:
    evil = "<script>alert('x')</script>"
    frame = pd.DataFrame({evil: [evil]})
    report = Report(
        title=evil,
        subtitle=evil,
        sections=[
            Section(
                evil,
                intro=evil,
                tables=[Table(evil, frame, caption=evil)],
                figures=[Figure(evil, png, caption=evil)],
                facts={evil: evil},
            )
        ],
        settings={evil: {evil: evil}},
        checksums={evil: evil},
        versions={evil: evil},
        durations={evil: 1.0},
        created=evil,
    )
    page = render_html(report)

    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    # Escaped text cannot close an attribute either: the alt text stays one attribute.
    assert 'alt="&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"' in page


def test_figures_are_embedded_as_data_uris(png: Path) -> None:
    page = render_html(_report(png))

    images = re.findall(r'<img src="([^"]*)" alt="([^"]*)" width="(\d+)" height="(\d+)"', page)
    assert len(images) == 1
    src, alt, width, height = images[0]
    assert alt == "Loss curve"
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == png.read_bytes()
    assert (int(width), int(height)) == (330, 220)  # 3 x 2 inches at 110 dpi
    assert str(png) not in page and png.name not in page


def test_page_refers_to_nothing_outside_itself(png: Path) -> None:
    page = render_html(_report(png))

    ids = set(re.findall(r'id="([^"]*)"', page))
    for reference in _references(page):
        assert reference.startswith(("data:", "#")), reference
        if reference.startswith("#"):
            assert reference[1:] in ids, f"{reference} has no target"
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert not re.search(r"url\((?!data:)", page)


def test_contents_link_every_section_with_unique_ids(png: Path) -> None:
    report = _report(png, sections=[Section("Results"), Section("Results"), Section("Ünïcode!")])
    page = render_html(report)

    toc = re.search(r'<nav class="toc".*?</nav>', page).group(0)
    links = re.findall(r'href="#([^"]*)"', toc)
    assert links == [
        "results",
        "results-2",
        "unicode",
        "settings",
        "data-checksums",
        "library-versions",
        "durations",
    ]
    ids = re.findall(r'id="([^"]*)"', page)
    assert len(ids) == len(set(ids))


def test_appendix_cards_only_when_given(png: Path) -> None:
    page = render_html(_report(png, settings={}, checksums={}, versions={}, durations={}))
    for title in ("Settings", "Data checksums", "Library versions", "Durations"):
        assert f">{title}</h2>" not in page


def test_tables_render_numbers_right_aligned_and_formatted(png: Path) -> None:
    page = render_html(_report(png))

    assert '<th scope="col" class="num">ROC-AUC</th>' in page
    assert '<td class="num">0.9812</td>' in page  # float_format {:.4g}
    assert '<td class="num">400</td>' in page  # integers stay whole
    assert '<td class="num na">—</td>' in page  # NaN
    assert "<td>autoencoder</td>" in page
    # A default RangeIndex is not shown; a named one is, as row headers.
    assert '<th scope="row">0</th>' not in page
    named = pd.DataFrame({"auc": [0.5]}, index=pd.Index(["pca"], name="model"))
    section = Section("T", tables=[Table("named", named, float_format="{:.2f}")])
    page = render_html(_report(png, sections=[section]))
    assert '<th scope="col">model</th>' in page
    assert '<th scope="row">pca</th><td class="num">0.50</td>' in page


def test_facts_settings_durations_are_readable(png: Path) -> None:
    page = render_html(_report(png))

    assert "<dt>threshold</dt><dd>0.1235</dd>" in page
    assert "<code>training.epochs</code>" in page
    assert "<details><summary>Settings as JSON</summary>" in page
    assert "1 min 15 s" in page and "run time 1 min 20 s" in page
    assert "ab" * 32 in page
    assert page.count("<p>") >= 2  # the intro's two paragraphs


def test_missing_figure_raises_naming_it(tmp_path: Path, png: Path) -> None:
    gone = tmp_path / "figures" / "not-made.png"
    report = _report(png, sections=[Section("S", figures=[Figure("Score histogram", gone)])])

    with pytest.raises(FileNotFoundError, match="Score histogram") as error:
        render_html(report)
    assert str(gone) in str(error.value)

    # Nothing is written, not even a temporary file.
    out = tmp_path / "run" / "report.html"
    with pytest.raises(FileNotFoundError):
        write_report(report, out)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_figure_of_unknown_type_is_refused(tmp_path: Path, png: Path) -> None:
    odd = tmp_path / "figure.pdf"
    odd.write_bytes(b"%PDF-1.4")
    with pytest.raises(ValueError, match="figure.pdf"):
        render_html(_report(png, sections=[Section("S", figures=[Figure("pdf", odd)])]))


def test_write_is_atomic_and_replaces(tmp_path: Path, png: Path, monkeypatch) -> None:
    out = tmp_path / "run" / "report.html"
    written = write_report(_report(png, title="first"), out)

    assert written == out
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    assert "<title>first</title>" in out.read_text(encoding="utf-8")

    write_report(_report(png, title="second"), out)
    assert "<title>second</title>" in out.read_text(encoding="utf-8")

    # A failure while writing leaves the previous report whole and no temporary file.
    def broken_replace(src, dst) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_html.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(_report(png, title="third"), out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    assert "<title>second</title>" in out.read_text(encoding="utf-8")


def test_data_model_is_frozen_without_shared_defaults(png: Path) -> None:
    first, second = Section("a"), Section("b", tables=[Table("t", pd.DataFrame())])

    assert first.facts is not second.facts
    assert isinstance(second.tables, tuple)
    assert isinstance(Figure("f", str(png)).path, Path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.title = "changed"
    assert Report("r").created.endswith("UTC")


def test_library_versions(monkeypatch) -> None:
    versions = library_versions()
    assert list(versions)[:2] == ["python", "aelab"]
    assert {"torch", "lightning", "numpy", "pandas", "scikit-learn"} <= set(versions)
    assert versions["python"].count(".") == 2

    monkeypatch.setattr(report_html, "VERSIONED_PACKAGES", ("numpy", "no-such-package-xyz"))
    assert library_versions()["no-such-package-xyz"] == "not installed"
