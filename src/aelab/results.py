"""Run folders and the results files in them: new folders, strict JSON."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def new_run_dir(folder: str | Path | None, kind: str, root: str | Path = "runs") -> Path:
    """The folder a run writes into: ``folder`` if given, else ``runs/KIND-YYYYMMDD-HHMMSS``.

    The folder must be new or empty, so that no earlier file is overwritten and no earlier
    result is mixed in with new ones; it is not created here.

    Raises:
        FileExistsError: ``folder`` is a file, or a folder that already holds files.
    """
    if folder is None:
        folder = Path(root) / f"{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    folder = Path(folder)
    if folder.is_file():
        raise FileExistsError(f"{folder} is a file; a run needs a new or empty folder")
    held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if held:
        more = f" and {len(held) - 3} more" if len(held) > 3 else ""
        raise FileExistsError(
            f"{folder} already holds files ({', '.join(held[:3])}{more}); a run writes into a "
            "new or empty folder, so that nothing earlier is overwritten or mixed in. Name "
            "another folder, or remove this one first"
        )
    return folder


def write_results(path: str | Path, results: Any) -> Path:
    """Write ``results`` as indented JSON; NaN and infinite numbers become ``null``.

    Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which strict JSON readers
    (browsers, ``jq``, most other languages) refuse; a figure that cannot be computed, such
    as an AUC without positives, is written as ``null`` instead. Anything else that JSON
    cannot hold is written as its string.
    """
    path = Path(path)
    text = json.dumps(_finite(results), indent=2, default=str, allow_nan=False)
    path.write_text(text + "\n")
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
