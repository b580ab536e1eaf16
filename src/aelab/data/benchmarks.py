"""Loaders of the public benchmark data sets: SKAB, NAB (realKnownCause) and CWRU bearings.

The files are looked for under a data root: the ``root`` argument, else the folder named
by the environment variable ``AELAB_DATA_DIR``, else ``../shared/data`` next to the
project's checkout. Under the root they keep their published layout::

    skab/anomaly-free/anomaly-free.csv   skab/valve1/0.csv ... 15.csv   skab/valve2/0.csv ...
    nab/data/realKnownCause/<name>.csv   nab/labels/combined_windows.json
    cwru/normal/Normal_0.mat   cwru/48k_drive_end/IR007_0.mat   cwru/48k_drive_end/B007_0.mat

Nothing here downloads; a missing file fails with the path expected, where the data set
is published, and how to point aelab at a copy.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.io

from aelab.data.sensors import SensorDataError, SensorTable, read_table

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "AELAB_DATA_DIR"

SKAB_FEATURES: tuple[str, ...] = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
SKAB_TIME_COLUMN = "datetime"
SKAB_LABEL_COLUMN = "anomaly"
# The benchmark's protocol: the first 400 rows of each run train, the rest test.
SKAB_TRAIN_ROWS = 400

NAB_CATEGORY = "realKnownCause"

CWRU_SAMPLE_RATE = 48_000
CWRU_FILES: dict[str, str] = {
    "normal": "normal/Normal_0.mat",
    "IR007": "48k_drive_end/IR007_0.mat",
    "B007": "48k_drive_end/B007_0.mat",
}
CWRU_CHANNELS: tuple[str, ...] = ("DE", "FE", "BA")

_SOURCES = {
    "skab": "https://github.com/waico/SKAB",
    "nab": "https://github.com/numenta/NAB",
    "cwru": "https://engineering.case.edu/bearingdatacenter",
}


class NabSeries(NamedTuple):
    """One NAB series with its labelled anomaly windows.

    Attributes:
        table: the readings ``(T, 1)`` (feature ``value``), the time, and labels that are
            1 for the rows inside a labelled window (both ends included).
        windows: the labelled anomaly windows as ``(start, end)`` timestamps.
    """

    table: SensorTable
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]


def data_root(root: str | Path | None = None) -> Path:
    """Return the folder that holds ``skab/``, ``nab/`` and ``cwru/``.

    Args:
        root: the folder; when not given, ``$AELAB_DATA_DIR``, else ``../shared/data``
            beside the project's root.
    """
    if root is not None:
        return Path(root)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    # parents: data, aelab, src, the project's root.
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def load_skab_run(path: str | Path, *, root: str | Path | None = None) -> SensorTable:
    """Load one SKAB run: its 8 sensors, its time and its ``anomaly`` labels.

    The ``changepoint`` column is not read.

    Args:
        path: a run's CSV file, or its name under ``<root>/skab``, such as ``"valve1/0"``.
        root: the data root, for a name (see :func:`data_root`).

    Returns:
        The readings ``(T, 8)`` in the order of ``SKAB_FEATURES``, the time, the labels.

    Raises:
        FileNotFoundError: when the run is not there.

    Example:
        >>> run = load_skab_run("valve1/0")
        >>> run.values.shape, int(run.labels.sum())
        ((1147, 8), 401)
    """
    file = Path(path)
    if not file.is_file():
        name = file if file.suffix == ".csv" else file.with_name(file.name + ".csv")
        file = data_root(root) / "skab" / name
    _require(file, "skab", "SKAB run")
    return read_table(
        file,
        time_column=SKAB_TIME_COLUMN,
        features=list(SKAB_FEATURES),
        label_column=SKAB_LABEL_COLUMN,
        sep=";",
    )


def list_skab_runs(
    root: str | Path | None = None, groups: Sequence[str] = ("valve1", "valve2")
) -> list[Path]:
    """Return the CSV files of the SKAB runs in ``groups``, each group in run order.

    Runs are ordered by their number (``0.csv``, ``1.csv``, ..., ``10.csv``).

    Raises:
        FileNotFoundError: when a group's folder is missing or holds no runs.
    """
    if isinstance(groups, str):
        groups = (groups,)
    runs: list[Path] = []
    for group in groups:
        folder = data_root(root) / "skab" / group
        found = sorted(folder.glob("*.csv"), key=lambda p: (not p.stem.isdigit(), _number(p)))
        if not found:
            raise FileNotFoundError(f"no SKAB runs (*.csv) in {folder}; {_where_hint('skab')}")
        runs += found
    return runs


def load_skab_anomaly_free(root: str | Path | None = None) -> SensorTable:
    """Load SKAB's anomaly-free run (9,405 rows of normal operation); it has no labels."""
    file = data_root(root) / "skab" / "anomaly-free" / "anomaly-free.csv"
    _require(file, "skab", "SKAB anomaly-free run")
    return read_table(file, time_column=SKAB_TIME_COLUMN, features=list(SKAB_FEATURES), sep=";")


def load_nab_series(
    name: str = "machine_temperature_system_failure", root: str | Path | None = None
) -> NabSeries:
    """Load a NAB series with its labelled anomaly windows.

    The rows keep the file's order: NAB scores rows in that order, and some series repeat
    timestamps (``machine_temperature_system_failure`` repeats an hour on 2014-01-07), which
    is logged as a warning.

    Args:
        name: the series, such as ``"nyc_taxi"``; ``"<category>/<name>"`` for a series
            outside ``realKnownCause``.
        root: the data root (see :func:`data_root`).

    Returns:
        The table (feature ``value``, per-row labels from the windows) and the windows.

    Raises:
        FileNotFoundError: when the series or the label file is not there.
        SensorDataError: when the label file has no entry for the series.

    Example:
        >>> series = load_nab_series()
        >>> series.table.n_steps, len(series.windows)
        (22695, 4)
    """
    key = name.removesuffix(".csv")
    if "/" not in key:
        key = f"{NAB_CATEGORY}/{key}"
    key += ".csv"
    nab = data_root(root) / "nab"
    file = nab / "data" / key
    if not file.is_file() and file.parent.is_dir():
        known = ", ".join(sorted(p.stem for p in file.parent.glob("*.csv")))
        raise FileNotFoundError(f"no NAB series {name!r} at {file}; the series there: {known}")
    _require(file, "nab", "NAB series")
    labels_file = _require(nab / "labels" / "combined_windows.json", "nab", "NAB label windows")

    all_windows = json.loads(labels_file.read_text(encoding="utf-8"))
    if key not in all_windows:
        raise SensorDataError(f"{labels_file} has no windows for {key!r}; check the series name")
    windows = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in all_windows[key]]

    table = read_table(file, time_column="timestamp", features=["value"], time_order="keep")
    labels = np.zeros(table.n_steps, dtype=np.int64)
    for start, end in windows:
        labels[(table.time >= start) & (table.time <= end)] = 1
    logger.info("NAB %s: %d windows, %d rows inside them", key, len(windows), int(labels.sum()))
    return NabSeries(table._replace(labels=labels), windows)


def load_cwru(name: str, root: str | Path | None = None, channel: str = "DE") -> np.ndarray:
    """Load one CWRU bearing signal, sampled at 48 kHz (``CWRU_SAMPLE_RATE``).

    The signal is the ``.mat`` file's array whose key ends with ``_<channel>_time``; the
    key's prefix (``X097``, ``X109``, ...) differs from file to file.

    Args:
        name: ``"normal"`` (healthy), ``"IR007"`` (inner-race fault) or ``"B007"`` (ball
            fault), as in ``CWRU_FILES``.
        root: the data root (see :func:`data_root`).
        channel: the accelerometer: ``"DE"`` drive end, ``"FE"`` fan end, ``"BA"`` base.

    Returns:
        The float32 signal ``(T,)``.

    Raises:
        ValueError: for an unknown name or channel.
        FileNotFoundError: when the file is not there.
        SensorDataError: when the file cannot be read or lacks the channel.

    Example:
        >>> load_cwru("normal").shape
        (243938,)
    """
    known = {k.lower(): k for k in CWRU_FILES}
    if name.lower() not in known:
        raise ValueError(f"unknown CWRU signal {name!r}; expected one of: {', '.join(CWRU_FILES)}")
    if channel not in CWRU_CHANNELS:
        raise ValueError(
            f"unknown channel {channel!r}; expected one of: {', '.join(CWRU_CHANNELS)}"
        )
    file = _require(data_root(root) / "cwru" / CWRU_FILES[known[name.lower()]], "cwru", "CWRU file")

    try:
        arrays = scipy.io.loadmat(file)
    except (OSError, ValueError, NotImplementedError) as err:  # v7.3 files raise the last
        raise SensorDataError(f"cannot read {file} as a MATLAB file: {err}") from err
    suffix = f"_{channel}_time"
    keys = [k for k in arrays if k.endswith(suffix)]
    if len(keys) != 1:
        found = ", ".join(k for k in arrays if not k.startswith("__"))
        raise SensorDataError(
            f"expected one array whose name ends with {suffix!r} in {file}; found: {found}"
        )
    signal = np.asarray(arrays[keys[0]], dtype=np.float32).ravel()  # (T, 1) -> (T,)
    if not np.isfinite(signal).all():
        raise SensorDataError(f"{file}: {keys[0]} holds NaN or infinite values")
    logger.info("CWRU %s (%s): %d samples", name, keys[0], signal.size)
    return signal


def _require(path: Path, dataset: str, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: expected {path}; {_where_hint(dataset)}")
    return path


def _where_hint(dataset: str) -> str:
    return (
        f"point aelab at the folder holding {dataset}/ with root=... or the environment "
        f"variable {DATA_DIR_ENV} (now {os.environ.get(DATA_DIR_ENV) or 'unset'}); "
        f"the data set is published at {_SOURCES[dataset]}"
    )


def _number(path: Path) -> int | str:
    return int(path.stem) if path.stem.isdigit() else path.stem
