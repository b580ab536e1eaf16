"""Results files: strict JSON that any reader can parse."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


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
