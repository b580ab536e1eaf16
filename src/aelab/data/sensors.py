"""Sensor tables from CSV and Parquet files, channel scaling, sliding windows and events.

The way of real sensor data into a network, and of its scores back out::

    table = read_table("pump.csv", time_column="datetime", label_column="anomaly")
    scaler = ChannelScaler().fit(table.values[:400])  # the training rows only
    starts = window_starts(table.n_steps, 64, 1)
    windows = make_windows(scaler.transform(table.values), 64, 1)  # (N, C, L)
    ...  # per-time-step reconstruction errors of the windows, (N, C, L)
    errors = overlap_average(window_errors, starts, table.n_steps)  # (T, C)
    events = find_events(errors.mean(axis=1), threshold, time=table.time,
                         contributions=errors, feature_names=table.features)

Rows in error messages are counted from 0 in file order, the header not counted.
Nothing here imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger(__name__)

FillGaps = Literal["ffill", "interpolate", "error"]
TimeOrder = Literal["strict", "sort", "keep"]
WindowRule = Literal["any", "all", "majority", "last"]

FILL_GAPS: tuple[str, ...] = ("ffill", "interpolate", "error")
TIME_ORDERS: tuple[str, ...] = ("strict", "sort", "keep")
WINDOW_RULES: tuple[str, ...] = ("any", "all", "majority", "last")
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")


class SensorDataError(ValueError):
    """Sensor data that cannot be used as it is; the message says why and what to do."""


class SensorTable(NamedTuple):
    """The readings of one sensor file, ready for scaling and windowing.

    Attributes:
        values: float32 readings ``(T, C)``: T time steps (rows), C sensors (features).
        features: the C column names, in the order of the columns of ``values``.
        time: the timestamps of the T rows, or ``None`` without a time column.
        labels: int64 labels ``(T,)``, 0 normal and 1 anomaly, or ``None`` without labels.
    """

    values: np.ndarray
    features: list[str]
    time: pd.DatetimeIndex | None = None
    labels: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Number of time steps (rows), T."""
        return int(self.values.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Return the table as a DataFrame: one column per feature, then ``label`` if any.

        The index is the time when the table has one, else the row number.
        """
        frame = pd.DataFrame(self.values, columns=list(self.features), index=self.time)
        if self.labels is not None:
            frame["label"] = self.labels
        return frame


# ---------------------------------------------------------------------------------------
# Reading


def read_table(
    path: str | Path,
    *,
    time_column: str | None = None,
    features: Sequence[str] | None = None,
    label_column: str | None = None,
    sep: str | None = None,
    fill_gaps: FillGaps = "ffill",
    time_order: TimeOrder = "strict",
) -> SensorTable:
    """Read a CSV or Parquet file of sensor readings into a validated :class:`SensorTable`.

    The file type follows the suffix: ``.csv`` or ``.txt`` for CSV (the separator, comma or
    semicolon, is read from the header line unless ``sep`` is given), ``.parquet`` or
    ``.pq`` for Parquet.

    Imperfect data is either handled in the documented way or refused with a
    :class:`SensorDataError`; it is never passed on silently:

    - Missing values (empty cells) in a feature column are filled as ``fill_gaps`` says:
      ``"ffill"`` carries the last reading forward, and back-fills a gap at the start;
      ``"interpolate"`` interpolates linearly between neighbouring rows (by row, not by
      time) and fills gaps at the ends with the nearest reading; ``"error"`` refuses them.
      Filling is logged as a warning with the count. A column without any value is
      always refused. Blank lines are skipped, as pandas does, so in a one-column CSV
      write a missing value as ``NaN``, not as an empty line.
    - Timestamps are checked in file order. With ``time_order="strict"`` timestamps that
      go backwards or repeat are refused. ``"sort"`` sorts the rows by time (stable) with
      a logged warning, but still refuses repeated timestamps, since their order is
      unknown. ``"keep"`` keeps the file's order and only logs a warning, for series
      whose clock is known to jump (NAB's machine temperature repeats an hour).
      Gap filling follows the final row order. Time steps more than 1.5 times the usual
      (median) step, i.e. rows missing from the file, are logged as a warning with the
      count and the first such row; the readings are used as if consecutive.
    - Non-numeric text in a feature column, infinite values (and values too large for
      float32), timestamps that cannot be parsed, and labels other than 0 and 1 (missing
      labels included) are refused, naming the column, the row and the value.
    - A constant feature column is kept, with a logged warning: it carries no
      information, and :class:`ChannelScaler` scales it to 0.

    Args:
        path: the ``.csv`` or ``.parquet`` file.
        time_column: the column of timestamps; without it the table has no time.
        features: the sensor columns, in this order. By default every column other than
            the time and label columns that holds numbers; columns that hold only text
            are left out (and logged).
        label_column: the column of 0/1 labels (1 = anomaly).
        sep: the CSV separator, when the header does not tell.
        fill_gaps: how missing feature values are filled: ``"ffill"``, ``"interpolate"``
            or ``"error"``.
        time_order: what to do with timestamps out of order: ``"strict"``, ``"sort"`` or
            ``"keep"``.

    Returns:
        The readings ``(T, C)`` as float32, the feature names, the time and the labels.

    Raises:
        FileNotFoundError: when there is no file at ``path``.
        SensorDataError: for a file that is empty, cannot be parsed or has an unknown
            suffix; for a named column the file lacks; and for the data refused above.

    Example:
        >>> table = read_table("valve1/0.csv", time_column="datetime", label_column="anomaly",
        ...                    features=["Current", "Pressure"])
        >>> table.values.shape, int(table.labels.sum())
        ((1147, 2), 401)
    """
    path = Path(path)
    if isinstance(features, str):
        raise TypeError(f"features must be a list of column names; got the string {features!r}")
    _check_choice("fill_gaps", fill_gaps, FILL_GAPS)
    _check_choice("time_order", time_order, TIME_ORDERS)
    frame = _read_frame(path, sep)
    if len(frame) == 0:
        raise SensorDataError(
            f"{path} has a header but no data rows; expected at least one row of readings"
        )

    # Columns: the named ones must exist; by default every numeric column is a feature.
    named = [c for c in (time_column, label_column) if c is not None]
    _require_columns(frame, [*named, *(features or [])], path)
    if features is None:
        features = _default_features(frame, named, path)
    else:
        features = _check_feature_list(features, named, path)

    # Parse in file order, so that messages name the rows a user sees in the file.
    time = None if time_column is None else _parse_time(frame[time_column], time_column, path)
    labels = (
        None if label_column is None else _parse_labels(frame[label_column], label_column, path)
    )
    data = pd.DataFrame({name: _parse_numeric(frame[name], name, path) for name in features})

    # Row order: checked, then possibly sorted; gaps are filled in the final order.
    if time is not None:
        order = _time_order(time, time_order, path)
        if order is not None:
            time = time[order]
            data = data.iloc[order]
            labels = None if labels is None else labels[order]
        _warn_time_gaps(time, path)
    data = _fill_gaps(data, fill_gaps, path)

    # Float32 at the end: its range is smaller, so a huge reading becomes infinite here.
    with np.errstate(over="ignore"):  # reported below, with the row
        values = data.to_numpy(dtype=np.float64).astype(np.float32)  # (T, C)
    _check_finite(values, data, path)
    _warn_constant(values, features, path)

    logger.info(
        "read %s: %d rows, %d features%s%s",
        path,
        values.shape[0],
        values.shape[1],
        "" if time is None else f", {time.min()} to {time.max()}",
        "" if labels is None else f", {int(labels.sum())} labelled anomalous",
    )
    return SensorTable(values, list(features), time, labels)


def _read_frame(path: Path, sep: str | None) -> pd.DataFrame:
    """Read the whole file into a DataFrame, turning reader errors into clear ones."""
    if not path.exists():
        raise FileNotFoundError(
            f"no sensor file at {path} (relative paths start at {Path.cwd()}); check the path"
        )
    if path.is_dir():
        raise SensorDataError(f"{path} is a folder; expected a .csv or .parquet file")
    suffix = path.suffix.lower()

    if suffix in PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as err:  # pyarrow's errors derive from these
            raise SensorDataError(f"cannot read {path} as Parquet: {err}") from err

    if suffix not in CSV_SUFFIXES:
        known = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
        raise SensorDataError(
            f"cannot read {path}: unknown file type {suffix or '(no suffix)'!r}; "
            f"expected one of {known}; rename the file or convert it"
        )
    sep = sep or _sniff_separator(path)
    try:
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError as err:
        raise SensorDataError(f"{path} is empty; expected a header line and rows") from err
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise SensorDataError(
            f"cannot parse {path} as CSV with separator {sep!r}: {err}; check that every "
            "row has as many fields as the header, or pass sep="
        ) from err


def _sniff_separator(path: Path) -> str:
    """Return ``;`` when the header line has more semicolons than commas, else ``,``."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return ";" if line.count(";") > line.count(",") else ","
    raise SensorDataError(f"{path} is empty; expected a header line and rows")


def _require_columns(frame: pd.DataFrame, wanted: Sequence[Any], path: Path) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SensorDataError(
            f"column(s) {', '.join(repr(c) for c in missing)} not found in {path}; "
            f"its columns are: {', '.join(repr(c) for c in frame.columns)}"
        )


def _default_features(frame: pd.DataFrame, named: list[str], path: Path) -> list[Any]:
    """Every column but the named ones that holds at least one number (or nothing at all)."""
    chosen, text = [], []
    for name in frame.columns:
        if name in named:
            continue
        column = frame[name]
        if ptypes.is_datetime64_any_dtype(column) or ptypes.is_timedelta64_dtype(column):
            text.append(name)
        elif ptypes.is_numeric_dtype(column) or column.isna().all():
            chosen.append(name)
        elif pd.to_numeric(column, errors="coerce").notna().any():
            chosen.append(name)  # a number column with some bad cells: refused later, by row
        else:
            text.append(name)
    if text:
        logger.info("%s: left out column(s) without numbers: %s", path, ", ".join(map(str, text)))
    if not chosen:
        raise SensorDataError(
            f"{path} has no numeric column besides {', '.join(map(repr, named)) or 'none'}; "
            f"its columns are: {', '.join(map(repr, frame.columns))}; name them with features="
        )
    return chosen


def _check_feature_list(features: Sequence[str], named: list[str], path: Path) -> list[str]:
    features = list(features)
    if not features:
        raise SensorDataError("features is empty; name at least one column, or leave it unset")
    repeated = sorted({str(f) for f in features if features.count(f) > 1})
    if repeated:
        raise SensorDataError(f"features names column(s) more than once: {', '.join(repeated)}")
    clash = [f for f in features if f in named]
    if clash:
        raise SensorDataError(
            f"column(s) {', '.join(map(repr, clash))} of {path} cannot be both a feature and "
            "the time or label column; leave them out of features"
        )
    return features


def _parse_time(column: pd.Series, name: str, path: Path) -> pd.DatetimeIndex:
    if ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column):
        raise SensorDataError(
            f"time column {name!r} of {path} holds numbers, not timestamps; expected text "
            "such as '2020-03-09 10:14:33' (convert epoch numbers with pandas.to_datetime "
            "and write them back), or leave time_column unset"
        )
    if ptypes.is_datetime64_any_dtype(column):
        parsed = column
    else:
        try:
            parsed = pd.to_datetime(column, errors="coerce")
        except (ValueError, TypeError) as err:  # mixed time zones, for one
            raise SensorDataError(
                f"cannot read the time column {name!r} of {path} as timestamps: {err}; "
                "write every timestamp in one format and one time zone"
            ) from err
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise SensorDataError(
            f"time column {name!r} of {path}: cannot read {_show(column.iloc[row])} at row {row} "
            f"as a timestamp ({bad.size} such row(s)); expected a timestamp such as "
            "'2020-03-09 10:14:33' in every row, all in the same format"
        )
    return pd.DatetimeIndex(parsed, name=name)


def _time_order(time: pd.DatetimeIndex, mode: str, path: Path) -> np.ndarray | None:
    """Check the order of the timestamps; return a row order to apply, or None to keep."""
    stamps = time.asi8
    repeated = np.flatnonzero(time.duplicated())
    backwards = np.flatnonzero(stamps[1:] < stamps[:-1]) + 1
    if repeated.size:
        row = int(repeated[0])
        first = int(np.flatnonzero(stamps == stamps[row])[0])
        message = (
            f"{path}: timestamp {time[row]} at row {row} repeats row {first} "
            f"({repeated.size} repeated timestamp(s))"
        )
        if mode != "keep":
            raise SensorDataError(
                f"{message}; expected one row per time step. Remove or merge the repeated "
                "rows, or read with time_order='keep' to keep the file's order as it is"
            )
        logger.warning("%s; kept in file order (time_order='keep')", message)
    if backwards.size:
        row = int(backwards[0])
        message = (
            f"{path}: time goes backwards at row {row} ({time[row]} after {time[row - 1]}; "
            f"{backwards.size} such row(s))"
        )
        if mode == "strict":
            raise SensorDataError(
                f"{message}; expected increasing timestamps. Sort the file, or read with "
                "time_order='sort' (sort by time) or 'keep' (keep the file's order)"
            )
        if mode == "sort":
            logger.warning("%s; rows sorted by time (time_order='sort')", message)
            return np.argsort(stamps, kind="stable")
        logger.warning("%s; kept in file order (time_order='keep')", message)
    return None


def _warn_time_gaps(time: pd.DatetimeIndex, path: Path) -> None:
    """Log the time steps much longer than the usual one: readings missing from the file."""
    steps = np.diff(time.asi8)
    forward = steps[steps > 0]
    if forward.size < 2:
        return
    usual = np.median(forward)
    long = np.flatnonzero(steps > 1.5 * usual) + 1
    if long.size:
        row = int(long[0])
        missing = int(np.round(steps[long - 1] / usual).sum()) - long.size
        logger.warning(
            "%s: %d time step(s) longer than the usual %s (about %d reading(s) missing), the "
            "first at row %d (%s after %s); the readings are used as if consecutive, so "
            "windows span these gaps",
            path,
            long.size,
            str(pd.Timedelta(int(usual), unit=time.unit)).removeprefix("0 days "),
            missing,
            row,
            time[row],
            time[row - 1],
        )


def _parse_labels(column: pd.Series, name: str, path: Path) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(~numbers.isin([0, 1]).to_numpy())
    if bad.size:
        row = int(bad[0])
        raise SensorDataError(
            f"label column {name!r} of {path} holds {_show(column.iloc[row])} at row {row} "
            f"({bad.size} such row(s)); expected 0 (normal) or 1 (anomaly) in every row"
        )
    return numbers.to_numpy().astype(np.int64)


def _parse_numeric(column: pd.Series, name: str, path: Path) -> pd.Series:
    """Return the column as float64; missing cells stay NaN, text cells are refused."""
    if ptypes.is_bool_dtype(column) or ptypes.is_numeric_dtype(column):
        return column.astype(np.float64)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & column.notna()).to_numpy())
    if bad.size:
        row = int(bad[0])
        raise SensorDataError(
            f"column {name!r} of {path} holds the non-numeric value {_show(column.iloc[row])} at "
            f"row {row} ({bad.size} such row(s)); expected a number in every row of a "
            "feature column. Fix the file, or leave the column out of the features "
            "(features= in Python, --features on the command line)"
        )
    return numbers.astype(np.float64)


def _fill_gaps(data: pd.DataFrame, how: str, path: Path) -> pd.DataFrame:
    missing = data.isna()
    empty = [str(c) for c in data.columns if missing[c].all()]
    if empty:
        raise SensorDataError(
            f"column(s) {', '.join(empty)} of {path} hold no value at all (every row is "
            "empty); leave them out of the features (features= in Python, --features on the "
            "command line)"
        )
    counts = missing.sum()
    total = int(counts.sum())
    if total == 0:
        return data
    gappy = [str(c) for c in data.columns if counts[c]]

    if how == "error":
        column = data.columns[int(np.flatnonzero(counts.to_numpy())[0])]
        row = int(data.index[np.flatnonzero(missing[column].to_numpy())[0]])
        raise SensorDataError(
            f"{path} has {total} missing value(s) in column(s) {', '.join(gappy)} (the first "
            f"in {column!r} at row {row}); fill them in the file, or read with "
            "gap filling on: fill_gaps='ffill' or 'interpolate' in Python, --fill-gaps ffill or "
            "interpolate on the command line"
        )
    if how == "interpolate":
        data = data.interpolate(method="linear", limit_area="inside")
    data = data.ffill().bfill()  # leading gaps take the first reading
    logger.warning(
        "%s: filled %d missing value(s) in column(s) %s (fill_gaps=%r)",
        path,
        total,
        ", ".join(gappy),
        how,
    )
    return data


def _show(value: object) -> str:
    """A cell as a user would write it: 2.5, inf, 'abc' (numpy scalars' reprs name types)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _check_finite(values: np.ndarray, data: pd.DataFrame, path: Path) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row_pos, col_pos = (int(i[0]) for i in np.nonzero(bad))
        name, row = data.columns[col_pos], int(data.index[row_pos])
        raise SensorDataError(
            f"column {name!r} of {path} holds {_show(data.iat[row_pos, col_pos])} at row {row} "
            f"({int(bad.sum())} infinite or too large value(s)); expected finite readings "
            "within float32's range (about 3.4e38); fix or remove those rows"
        )


def _warn_constant(values: np.ndarray, features: Sequence[Any], path: Path) -> None:
    constant = np.flatnonzero(np.ptp(values, axis=0) == 0)
    if constant.size:
        names = ", ".join(str(features[i]) for i in constant)
        logger.warning(
            "%s: constant column(s) %s carry no information; ChannelScaler scales them to 0",
            path,
            names,
        )


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of: {', '.join(choices)}")


# ---------------------------------------------------------------------------------------
# Scaling


class ChannelScaler(TransformerMixin, BaseEstimator):
    """Standard scaling per channel (sensor), fitted on training data, saved as JSON.

    A thin wrapper of scikit-learn's ``StandardScaler``: each channel becomes
    ``(x - mean_) / scale_``, with the mean and standard deviation of the training data.
    Channels are axis 1, so it scales rows ``(T, C)`` and windows ``(N, C, L)`` alike; a
    1-D signal ``(T,)`` is one channel. A channel that is constant in the training data
    gets scale 1, so it is scaled to 0, with a logged warning. Results are float32.

    Fit it on the training rows before cutting windows: overlapping windows would count a
    time step up to L times. It is saved without pickle, through :meth:`to_dict` and
    :meth:`from_dict`, whose numbers survive a JSON round trip exactly.

    Example:
        >>> scaler = ChannelScaler().fit(table.values[:400])  # (T, C), training rows
        >>> saved = json.dumps(scaler.to_dict())
        >>> ChannelScaler.from_dict(json.loads(saved)).transform(table.values[400:])
    """

    def fit(self, X: ArrayLike, y: object = None) -> ChannelScaler:
        """Learn each channel's mean and standard deviation from ``X``.

        Args:
            X: training data, ``(T, C)``, ``(N, C, L)`` or ``(T,)``; a DataFrame's column
                names are kept as ``feature_names_``.
            y: ignored; there for scikit-learn's API.

        Returns:
            The fitted scaler.

        Raises:
            SensorDataError: for empty data, NaN or infinite values.
        """
        rows, _ = self._to_rows(X)  # (M, C)
        if rows.shape[0] == 0:
            raise SensorDataError("cannot fit a scaler on no rows; pass the training data")
        self.scaler_ = StandardScaler().fit(rows)
        self.mean_ = self.scaler_.mean_
        self.scale_ = self.scaler_.scale_
        self.n_channels_ = int(rows.shape[1])
        self.feature_names_ = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None

        constant = np.flatnonzero(np.ptp(rows, axis=0) == 0)
        if constant.size:
            logger.warning(
                "channel(s) %s are constant in the training data: scale 1, scaled to 0",
                ", ".join(self._channel_name(i) for i in constant),
            )
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Scale ``X`` with the training statistics; returns float32 of ``X``'s shape."""
        check_is_fitted(self)
        rows, restore = self._to_rows(X)
        self._check_channels(rows)
        return restore(self.scaler_.transform(rows))

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Undo :meth:`transform`: back to the sensors' units, float32 of ``X``'s shape."""
        check_is_fitted(self)
        rows, restore = self._to_rows(X)
        self._check_channels(rows)
        return restore(self.scaler_.inverse_transform(rows))

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted statistics as a JSON-serialisable dict."""
        check_is_fitted(self)
        return {
            "type": type(self).__name__,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "var": self.scaler_.var_.tolist(),
            "n_samples_seen": int(np.max(self.scaler_.n_samples_seen_)),
            "feature_names": self.feature_names_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ChannelScaler:
        """Rebuild a fitted scaler from :meth:`to_dict`'s output.

        Raises:
            ValueError: when the dict lacks a key or its numbers do not fit together.
        """
        missing = [k for k in ("mean", "scale", "var") if k not in state]
        if missing:
            raise ValueError(
                f"scaler state lacks {', '.join(missing)}; expected ChannelScaler.to_dict()'s "
                f"output, got keys {', '.join(sorted(state))}"
            )
        mean, scale, var = (
            np.asarray(state[k], dtype=np.float64) for k in ("mean", "scale", "var")
        )
        if not (mean.ndim == 1 and mean.shape == scale.shape == var.shape and mean.size):
            raise ValueError(
                "scaler state needs mean, scale and var of the same non-zero length; got "
                f"{mean.shape}, {scale.shape}, {var.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("scaler state needs finite means and positive finite scales")
        names = state.get("feature_names")
        if names is not None and len(names) != mean.size:
            raise ValueError(
                f"scaler state has {len(names)} feature names for {mean.size} channels"
            )

        inner = StandardScaler()
        inner.mean_, inner.scale_, inner.var_ = mean, scale, var
        inner.n_features_in_ = int(mean.size)
        inner.n_samples_seen_ = int(state.get("n_samples_seen", 0))
        scaler = cls()
        scaler.scaler_ = inner
        scaler.mean_, scaler.scale_ = mean, scale
        scaler.n_channels_ = int(mean.size)
        scaler.feature_names_ = None if names is None else [str(n) for n in names]
        return scaler

    def _channel_name(self, i: int) -> str:
        names = getattr(self, "feature_names_", None)
        return str(names[i]) if names else f"channel_{i}"

    def _check_channels(self, rows: np.ndarray) -> None:
        if rows.shape[1] != self.n_channels_:
            raise ValueError(
                f"the scaler was fitted on {self.n_channels_} channel(s); got data with "
                f"{rows.shape[1]} (channels are axis 1 of (T, C) or (N, C, L)); pass the same "
                "sensors, in the same order, as in fit"
            )

    @staticmethod
    def _to_rows(X: ArrayLike) -> tuple[np.ndarray, Any]:
        """Return ``X`` as float64 rows ``(M, C)`` and a function that restores its shape."""
        arr = np.asarray(X, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise SensorDataError(
                f"data to scale holds {int((~np.isfinite(arr)).sum())} NaN or infinite "
                "value(s); fill or remove them first (read_table does)"
            )
        if arr.ndim == 1:
            return arr[:, None], lambda out: out[:, 0].astype(np.float32)
        if arr.ndim == 2:
            return arr, lambda out: out.astype(np.float32)
        if arr.ndim == 3:
            n, c, length = arr.shape
            rows = arr.transpose(0, 2, 1).reshape(n * length, c)  # (N * L, C)
            return (
                rows,
                lambda out: out.reshape(n, length, c).transpose(0, 2, 1).astype(np.float32),
            )  # (N, C, L)
        raise ValueError(f"expected data shaped (T,), (T, C) or (N, C, L); got {arr.shape}")


# ---------------------------------------------------------------------------------------
# Windows


def window_starts(
    n_steps: int, length: int, stride: int = 1, *, cover_tail: bool = False
) -> np.ndarray:
    """Return the first time step of each window, ``0, stride, 2 * stride, ...``.

    Args:
        n_steps: time steps of the series, T.
        length: time steps per window, L.
        stride: steps between the starts of neighbouring windows.
        cover_tail: when the last regular window ends before the last step, add one more
            window that ends at the last step, so that every step is covered.

    Returns:
        int64 starts ``(N,)``; ``N = (T - L) // stride + 1``, plus one with ``cover_tail``
        when the stride leaves steps at the end uncovered.

    Raises:
        SensorDataError: when T < L.
        ValueError: when L or the stride is not a positive integer.
    """
    for name, value in (("length", length), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if n_steps < length:
        raise SensorDataError(
            f"too few rows for one window: got {n_steps} rows, need {length}; use a shorter "
            "window or a longer series"
        )
    starts = np.arange(0, n_steps - length + 1, stride, dtype=np.int64)
    if cover_tail and starts[-1] + length < n_steps:
        starts = np.append(starts, np.int64(n_steps - length))
    return starts


def make_windows(
    values: ArrayLike, length: int, stride: int = 1, *, cover_tail: bool = False
) -> np.ndarray:
    """Cut a series into sliding windows, ``(T, C)`` to ``(N, C, L)``.

    The windows start at :func:`window_starts`. Without ``cover_tail`` (or when it adds no
    window) the result is a read-only view of the float32 series, no copy: copy it
    (``np.array(windows)``) before writing into it.

    Args:
        values: the series ``(T, C)``; a 1-D signal ``(T,)`` is one channel.
        length: time steps per window, L.
        stride: steps between the starts of neighbouring windows.
        cover_tail: add a last window ending at the last step (see :func:`window_starts`).

    Returns:
        float32 windows ``(N, C, L)``.

    Raises:
        SensorDataError: when T < L, or for NaN or infinite values.
        ValueError: for a series of another shape, or a bad length or stride.

    Example:
        >>> make_windows(np.zeros((100, 8)), length=32, stride=4).shape
        (18, 8, 32)
    """
    series = np.asarray(values, dtype=np.float32)
    if series.ndim == 1:
        series = series[:, None]  # (T, 1)
    if series.ndim != 2:
        raise ValueError(f"expected a series shaped (T, C) or (T,); got {series.shape}")
    starts = window_starts(series.shape[0], length, stride, cover_tail=cover_tail)
    bad = np.flatnonzero(~np.isfinite(series).all(axis=1))
    if bad.size:
        raise SensorDataError(
            f"the series holds NaN or infinite values in {bad.size} row(s), the first at row "
            f"{int(bad[0])}; fill or remove them before cutting windows"
        )

    view = sliding_window_view(series, length, axis=0)  # (T - L + 1, C, L)
    regular = view[::stride]
    if len(regular) == len(starts):
        return regular
    return view[starts]  # the added tail window: a copy


def window_labels(
    labels: ArrayLike,
    length: int,
    stride: int = 1,
    *,
    rule: WindowRule = "any",
    cover_tail: bool = False,
) -> np.ndarray:
    """Give each window one label from the labels of its time steps.

    Args:
        labels: 0/1 labels per time step ``(T,)``.
        length: time steps per window, L.
        stride: steps between the starts of neighbouring windows.
        rule: ``"any"``: 1 when any step is 1; ``"all"``: when all are; ``"majority"``: when
            more than half are; ``"last"``: the label of the window's last step (the
            step a streaming detector decides on).
        cover_tail: as in :func:`make_windows`, so that labels match its windows.

    Returns:
        int64 labels ``(N,)``, one per window of :func:`make_windows`.

    Raises:
        SensorDataError: for labels other than 0 and 1, or when T < L.
        ValueError: for an unknown rule or labels of another shape.
    """
    _check_choice("rule", rule, WINDOW_RULES)
    steps = np.asarray(labels)
    if steps.ndim != 1:
        raise ValueError(f"expected labels shaped (T,); got {steps.shape}")
    bad = np.flatnonzero((steps != 0) & (steps != 1))
    if bad.size:
        raise SensorDataError(
            f"labels must be 0 or 1; got {_show(steps[bad[0]])} at step {int(bad[0])}"
        )
    starts = window_starts(steps.size, length, stride, cover_tail=cover_tail)
    windows = sliding_window_view(steps.astype(np.int64), length)[starts]  # (N, L)
    if rule == "any":
        out = windows.any(axis=1)
    elif rule == "all":
        out = windows.all(axis=1)
    elif rule == "majority":
        out = 2 * windows.sum(axis=1) > length
    else:
        out = windows[:, -1]
    return out.astype(np.int64)


def overlap_average(per_window: ArrayLike, starts: ArrayLike, n_steps: int) -> np.ndarray:
    """Fold per-window values back into a series, averaging where windows overlap.

    Each time step gets the mean of the values that the windows covering it give it: a
    per-window, per-step reconstruction error ``(N, C, L)`` becomes an error per time
    step and sensor ``(T, C)``. Steps that no window covers (the tail a stride can leave;
    see ``cover_tail`` in :func:`make_windows`) are NaN.

    Args:
        per_window: values ``(N, C, L)``, or ``(N, L)`` for one value per step.
        starts: the first step of each window ``(N,)``, from :func:`window_starts`.
        n_steps: time steps of the series, T.

    Returns:
        ``(T, C)``, or ``(T,)`` for ``(N, L)`` input; float32 input stays float32.

    Raises:
        ValueError: when the shapes disagree or a window reaches past the series.

    Example:
        >>> starts = window_starts(100, 32, 4, cover_tail=True)
        >>> overlap_average(make_windows(ramp, 32, 4, cover_tail=True), starts, 100)  # ramp
    """
    values = np.asarray(per_window)
    one_channel = values.ndim == 2
    if one_channel:
        values = values[:, None, :]  # (N, 1, L)
    if values.ndim != 3:
        raise ValueError(
            f"expected per-window values shaped (N, C, L) or (N, L); got {values.shape}"
        )
    n, channels, length = values.shape
    starts = np.asarray(starts)
    if starts.shape != (n,) or not np.issubdtype(starts.dtype, np.integer):
        raise ValueError(f"expected {n} integer window starts, one per window; got {starts.shape}")
    if n and (starts.min() < 0 or starts.max() + length > n_steps):
        raise ValueError(
            f"windows of length {length} starting at {starts.min()}..{starts.max()} do not fit "
            f"in {n_steps} time steps; pass the starts and T the windows were cut with"
        )

    # Sum and count per time step with bincount: no Python loop over windows.
    steps = (starts[:, None] + np.arange(length)).ravel()  # (N * L,)
    counts = np.bincount(steps, minlength=n_steps)  # (T,)
    sums = np.stack(
        [
            np.bincount(steps, weights=values[:, c, :].ravel(), minlength=n_steps)
            for c in range(channels)
        ],
        axis=1,
    )  # (T, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts[:, None]  # 0 / 0 = NaN where no window covers a step
    if np.issubdtype(values.dtype, np.floating):
        out = out.astype(values.dtype)
    return out[:, 0] if one_channel else out


# ---------------------------------------------------------------------------------------
# Events


class Event(NamedTuple):
    """A run of consecutive anomalous time steps.

    Attributes:
        start: first anomalous step (index).
        end: last anomalous step (index, inclusive).
        start_time: timestamp of ``start`` when a time was given, else ``None``.
        end_time: timestamp of ``end`` when a time was given, else ``None``.
        peak_index: the step of the highest score (the first, on ties).
        peak_score: the highest score of the event.
        top_features: the sensors with the largest contribution summed over the event,
            largest first; empty without contributions.
    """

    start: int
    end: int
    start_time: Any
    end_time: Any
    peak_index: int
    peak_score: float
    top_features: tuple[str, ...] = ()

    @property
    def n_steps(self) -> int:
        """Time steps from start to end, both included."""
        return self.end - self.start + 1


def find_events(
    scores: ArrayLike,
    threshold: float,
    *,
    time: Sequence[Any] | pd.Index | None = None,
    contributions: ArrayLike | None = None,
    feature_names: Sequence[str] | None = None,
    min_gap: int = 0,
    top_k: int = 3,
) -> list[Event]:
    """Group the anomalous time steps of a score series into events.

    A step is anomalous when its score is strictly above the threshold; a score equal to
    the threshold is normal. Consecutive anomalous steps form an event, and events
    separated by at most ``min_gap`` normal steps are merged into one (which then
    includes those steps).

    Args:
        scores: one score per time step ``(T,)``, higher = more anomalous.
        threshold: the decision threshold.
        time: timestamps of the T steps, for the events' start and end times.
        contributions: each sensor's share of the score ``(T, C)``, such as the
            per-sensor reconstruction error; ranks the sensors of each event.
        feature_names: the C sensor names; ``channel_0``, ``channel_1``, ... by default.
        min_gap: the largest number of normal steps between two events that still
            merges them.
        top_k: how many sensors to name per event.

    Returns:
        The events, in time order.

    Raises:
        ValueError: for NaN scores or threshold, or arguments whose lengths disagree.

    Example:
        >>> find_events(np.array([0, 3, 5, 2, 0]), threshold=2)
        [Event(start=1, end=2, start_time=None, end_time=None, peak_index=2, ...)]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"expected scores shaped (T,); got {scores.shape}")
    n_steps = scores.size
    nan = np.flatnonzero(np.isnan(scores))
    if nan.size:
        raise ValueError(
            f"scores hold {nan.size} NaN value(s), the first at step {int(nan[0])}; steps "
            "no window covers have no score: cut windows with cover_tail=True, or drop them"
        )
    if np.isnan(threshold):
        raise ValueError("threshold is NaN; expected a number")
    if isinstance(min_gap, bool) or not isinstance(min_gap, (int, np.integer)) or min_gap < 0:
        raise ValueError(f"min_gap must be a non-negative integer; got {min_gap!r}")
    if time is not None:
        time = pd.Index(time)
        if len(time) != n_steps:
            raise ValueError(f"expected {n_steps} timestamps, one per score; got {len(time)}")
    if contributions is not None:
        contributions = np.asarray(contributions, dtype=np.float64)
        if contributions.ndim != 2 or contributions.shape[0] != n_steps:
            raise ValueError(
                f"expected contributions shaped ({n_steps}, C); got {contributions.shape}"
            )
        channels = contributions.shape[1]
        if feature_names is None:
            feature_names = [f"channel_{i}" for i in range(channels)]
        elif len(feature_names) != channels:
            raise ValueError(
                f"expected {channels} feature names, one per contribution column; "
                f"got {len(feature_names)}"
            )

    # Runs of anomalous steps: +1 where one starts, -1 after one ends.
    above = (scores > threshold).astype(np.int8)
    edges = np.diff(np.concatenate(([0], above, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1

    # Merge runs whose gap of normal steps is at most min_gap.
    if starts.size > 1:
        keep = (starts[1:] - ends[:-1] - 1) > min_gap
        starts = starts[np.concatenate(([True], keep))]
        ends = ends[np.concatenate((keep, [True]))]

    events = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        peak = start + int(np.argmax(scores[start : end + 1]))
        top: tuple[str, ...] = ()
        if contributions is not None:
            totals = contributions[start : end + 1].sum(axis=0)  # (C,)
            order = np.argsort(-totals, kind="stable")[:top_k]
            top = tuple(str(feature_names[i]) for i in order)
        events.append(
            Event(
                start=start,
                end=end,
                start_time=None if time is None else time[start],
                end_time=None if time is None else time[end],
                peak_index=peak,
                peak_score=float(scores[peak]),
                top_features=top,
            )
        )
    logger.info("%d event(s) above threshold %g in %d steps", len(events), threshold, n_steps)
    return events


EVENT_COLUMNS: tuple[str, ...] = (
    "start",
    "end",
    "start_time",
    "end_time",
    "n_steps",
    "peak_index",
    "peak_score",
    "top_features",
)


def events_to_frame(events: Sequence[Event]) -> pd.DataFrame:
    """Return the events as a DataFrame, one row each, ready for CSV or JSON.

    Columns: ``start``, ``end``, ``start_time``, ``end_time``, ``n_steps``, ``peak_index``,
    ``peak_score`` and ``top_features``, the sensor names joined by ``"; "``. Without
    events the frame has the columns and no rows.
    """
    rows = [
        {
            "start": e.start,
            "end": e.end,
            "start_time": e.start_time,
            "end_time": e.end_time,
            "n_steps": e.n_steps,
            "peak_index": e.peak_index,
            "peak_score": e.peak_score,
            "top_features": "; ".join(e.top_features),
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
