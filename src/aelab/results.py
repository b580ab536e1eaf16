"""Run folders and the results files in them: new folders, strict JSON."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Environment variables through which launchers (Lightning's own, torchrun, SLURM) tell a
#: process its place in a multi-process run.
RANK_VARIABLES = ("RANK", "NODE_RANK", "LOCAL_RANK", "SLURM_PROCID")
#: Where the main process names its run folder for the processes it starts.
RUN_DIR_VARIABLE = "AELAB_RUN_DIR"


def is_main_process() -> bool:
    """Whether this process is the one that writes a run's files.

    In a multi-process run (``ddp`` on several devices or machines) every process runs the
    same program; only the process of global rank 0 writes models, results and figures.
    The others train their share and then stop. A single-process run is the main process.
    """
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "0").strip()
        if value.isdigit() and int(value) > 0:
            return False
    return True


def new_run_dir(folder: str | Path | None, kind: str, root: str | Path = "runs") -> Path:
    """The folder a run writes into: ``folder`` if given, else ``runs/KIND-YYYYMMDD-HHMMSS``.

    The folder must be new or empty, so that no earlier file is overwritten and no earlier
    result is mixed in with new ones; it is not created here. In the worker processes of a
    multi-process run (see :func:`is_main_process`) it is the folder the main process chose.

    Raises:
        FileExistsError: ``folder`` is a file, or a folder that already holds files.
    """
    if not is_main_process():
        # The main process chose and checked the folder; the processes it starts write there.
        shared = os.environ.get(RUN_DIR_VARIABLE, folder)
        if shared is None:
            raise ValueError("a run on several processes needs its folder named (--out)")
        return Path(shared)
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
    os.environ[RUN_DIR_VARIABLE] = str(folder.absolute())  # inherited by worker processes
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
