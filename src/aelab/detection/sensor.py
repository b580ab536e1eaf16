"""Anomaly detection on sensor logs: a Conv1D autoencoder over sliding windows of a table.

The detector takes a whole recording ``(T, C)`` (T time steps, C sensors), not windows:
it scales each sensor, cuts windows, trains an :class:`AutoencoderDetector` on them, and
folds the windows' reconstruction errors back onto the time steps, so that every step
has a score and every sensor its share of it::

    table = read_table("pump.csv", time_column="datetime")
    detector = SensorDetector(window=32, stride=4).fit(table)
    result = detector.score(read_table("pump-today.csv", time_column="datetime"))
    result.scores   # (T,)   score per time step
    result.errors   # (T, C) reconstruction error per time step and sensor
    result.events   # runs of steps above the threshold, with the sensors that drove them

New rows can also be scored as they arrive, with :meth:`SensorDetector.stream`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from aelab.data.sensors import (
    ChannelScaler,
    Event,
    SensorDataError,
    SensorTable,
    find_events,
    make_windows,
    overlap_average,
    window_starts,
)
from aelab.detection.detector import AutoencoderDetector, SavedEntries, finite_float
from aelab.detection.thresholds import ThresholdSpec, describe, fit_threshold
from aelab.training import TrainConfig

log = logging.getLogger(__name__)

SensorInput = SensorTable | pd.DataFrame | np.ndarray
EXTRA_KEY = "sensor_detector"
# NOTE: windows are always scored in batches of this fixed size (the last one padded), so
# that a window's score does not depend on how many windows are scored with it: CPU
# convolutions round differently for a batch of one, and streaming and batch scoring
# must agree to the last bit.
SCORE_BATCH = 64
# Training settings when none are given: windows of a log are few and small, so more
# epochs and smaller batches than the TrainConfig defaults.
SENSOR_TRAIN_CONFIG = TrainConfig(max_epochs=30, batch_size=64, patience=5)
# difference="auto" differences the sensors whose lag-1 autocorrelation in the training
# rows reaches this: readings that move slowly, and so wander beyond a short recording.
AUTO_DIFFERENCE = 0.75


class SensorScores(NamedTuple):
    """The scores of a recording, per time step, per sensor and per window.

    Attributes:
        scores: ``(T,)`` score per time step: the mean over sensors of ``errors``;
            higher is more anomalous.
        errors: ``(T, C)`` reconstruction error per time step and sensor, averaged over
            the windows that cover the step (in scaled units).
        alarms: ``(T,)`` 1 for the steps inside an event, else 0: the steps whose score is
            strictly above ``threshold``, once events ``min_gap`` apart are merged and
            those shorter than ``min_duration`` dropped.
        window_starts: ``(N,)`` first time step of each window.
        window_scores: ``(N,)`` mean reconstruction error of each window.
        events: runs of alarms, each with its peak and the sensors that contributed most.
        threshold: the threshold of the per-step scores.
        features: the C sensor names.
        time: the timestamps of the T steps, when the input had them.
    """

    scores: np.ndarray
    errors: np.ndarray
    alarms: np.ndarray
    window_starts: np.ndarray
    window_scores: np.ndarray
    events: list[Event]
    threshold: float
    features: list[str]
    time: pd.DatetimeIndex | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per time step: ``score``, ``alarm``, then ``error_<sensor>`` per sensor.

        The index is the time when there is one, else the step number.
        """
        frame = pd.DataFrame({"score": self.scores, "alarm": self.alarms}, index=self.time)
        for i, name in enumerate(self.features):
            frame[f"error_{name}"] = self.errors[:, i]
        frame.index.name = self.time.name if self.time is not None else "step"
        return frame


class _Folded(NamedTuple):
    window_starts: np.ndarray  # (N,)
    window_scores: np.ndarray  # (N,)
    errors: np.ndarray  # (T, C)
    scores: np.ndarray  # (T,)


class StreamUpdate(NamedTuple):
    """What one call of :meth:`StreamingScorer.update` completes.

    Attributes:
        window_starts: ``(n,)`` first step of each window completed by the new rows.
        window_scores: ``(n,)`` their scores, as :meth:`SensorDetector.score` gives them.
        steps: ``(k,)`` the time steps whose scores are now final (no later window covers
            them), counted from the first row ever fed.
        scores: ``(k,)`` their scores.
        errors: ``(k, C)`` their per-sensor errors.
        alarms: ``(k,)`` 1 where their score is strictly above the threshold. No merging
            or dropping of short events here: ``min_gap`` and ``min_duration`` need
            later steps, so they apply to the events of :meth:`SensorDetector.score`.
    """

    window_starts: np.ndarray
    window_scores: np.ndarray
    steps: np.ndarray
    scores: np.ndarray
    errors: np.ndarray
    alarms: np.ndarray


class SensorDetector(BaseEstimator):
    """Flags the time steps and sensors of a recording that the autoencoder rebuilds badly.

    ``fit`` learns from a recording of normal operation: it scales each sensor with the
    statistics of the rows it is given (never those of ``X_val``), cuts windows of
    ``window`` steps every ``stride`` steps, holds out the last ``validation_share`` of the
    rows (in time order) for early stopping and the threshold, and trains a Conv1D
    autoencoder with one input channel per sensor. Rows that ``fit`` is told are
    anomalous (a table's labels, or ``y``) are kept out: windows touching them are not
    trained on, and they do not count towards the scaler or the threshold.

    A time step's score is the mean over sensors of its reconstruction error, averaged
    over the windows that cover it; a step is anomalous when its score is strictly above
    ``threshold_``, which is chosen from the scores of the held-out validation steps.

    Args:
        window: time steps per window, L; must be divisible by the network's total pooling
            (4 for the reference network).
        stride: steps between the starts of neighbouring windows, at most ``window``;
            used for training and scoring alike.
        model: registered signal network.
        model_config: network options; ``in_channels`` and ``length`` come from the data.
        train_config: training settings, a :class:`TrainConfig` or a dict of its fields;
            ``SENSOR_TRAIN_CONFIG`` when not given.
        threshold: how ``threshold_`` is chosen from the validation steps' scores
            (``percentile``, ``mean_std`` or ``contamination``; ``f1`` needs labels, see
            :meth:`refit_threshold`).
        validation_share: share of the training rows held out at the end, when ``fit``
            gets no ``X_val``.
        difference: sensors whose first differences (``x[t] - x[t-1]``) the network
            sees instead of their readings, or ``"auto"``: those whose lag-1
            autocorrelation in the training rows is at least ``AUTO_DIFFERENCE`` (slow
            sensors that wander, such as temperatures, whose level a short training
            recording cannot cover). Their errors are then errors of the differences.
        min_gap: events separated by at most this many normal steps are merged.
        min_duration: events shorter than this many steps are dropped (alarm debounce).
        top_k: sensors named per event.
        log_dir: folder for training logs and checkpoints.

    Example:
        >>> detector = SensorDetector(window=16, stride=1, train_config={"max_epochs": 5})
        >>> detector.fit(run.values[:400])  # the first 400 rows: normal operation
        >>> result = detector.score(run.values)
        >>> result.scores.shape, result.errors.shape
        ((1147,), (1147, 8))
    """

    def __init__(
        self,
        window: int = 64,
        stride: int = 4,
        model: str = "signal_ae",
        model_config: dict[str, Any] | None = None,
        train_config: TrainConfig | dict[str, Any] | None = None,
        threshold: ThresholdSpec | None = None,
        validation_share: float = 0.2,
        difference: Sequence[str] | str | None = None,
        min_gap: int = 0,
        min_duration: int = 1,
        top_k: int = 3,
        log_dir: str | Path = "runs/sensors",
    ) -> None:
        self.window = window
        self.stride = stride
        self.model = model
        self.model_config = model_config
        self.train_config = train_config
        self.threshold = threshold
        self.validation_share = validation_share
        self.difference = difference
        self.min_gap = min_gap
        self.min_duration = min_duration
        self.top_k = top_k
        self.log_dir = log_dir

    # --- fitting -------------------------------------------------------------------------

    def fit(
        self,
        X: SensorInput,  # noqa: N803
        y: ArrayLike | None = None,
        X_val: SensorInput | None = None,  # noqa: N803
    ) -> SensorDetector:
        """Learn normal operation from a recording and choose the threshold.

        Args:
            X: the training recording: a :class:`SensorTable`, a DataFrame whose columns
                are the sensors, or an array ``(T, C)`` (``(T,)`` for one sensor).
            y: ``(T,)`` 0/1 labels of ``X``'s rows; rows labelled 1 are kept out of
                training. By default a table's own labels, if it has them.
            X_val: a validation recording with the same sensors; by default the last
                ``validation_share`` of ``X``'s rows.

        Returns:
            The fitted detector.

        Raises:
            SensorDataError: for NaN or infinite values, or too few rows for the windows.
            ValueError: for bad settings (window, stride, share, threshold strategy).
        """
        self._check_settings()
        values, features, _, labels = _unpack(X, "X")
        if y is not None:
            labels = _check_labels(y, len(values), "y")
        self.features_ = list(features)
        self.n_features_ = len(features)
        self.differenced_ = self._choose_differenced(values)
        values = self._difference(values)
        spec = self.threshold or ThresholdSpec()
        if spec.strategy == "f1":
            raise ValueError(
                "the f1 threshold needs labelled anomalies, which fit does not train on; fit "
                "with another strategy, then call refit_threshold(X, ThresholdSpec('f1'), y)"
            )

        # Training and validation rows, in time order: the validation rows come last.
        if X_val is None:
            share = self.validation_share
            if not 0 < share < 1:
                raise ValueError(f"validation_share must be in (0, 1); got {share!r}")
            n_val = int(round(len(values) * share))
            if n_val < self.window or len(values) - n_val < self.window:
                needed = int(np.ceil(self.window / min(share, 1 - share)))
                raise SensorDataError(
                    f"too few rows to hold out {share:g} of them for validation with windows "
                    f"of {self.window} steps: got {len(values)} rows, need at least {needed}; "
                    "pass a longer recording, X_val, or a shorter window"
                )
            train, val = values[:-n_val], values[-n_val:]
            train_labels = None if labels is None else labels[:-n_val]
            val_labels = None if labels is None else labels[-n_val:]
        else:
            train, train_labels = values, labels
            val, _, _, val_labels = _unpack(X_val, "X_val", features=features)
            val = self._difference(val)
            for rows, what in ((train, "training"), (val, "validation")):
                if len(rows) < self.window:
                    raise SensorDataError(
                        f"too few {what} rows for one window: got {len(rows)}, need "
                        f"{self.window}; use a shorter window or a longer recording"
                    )

        # The scaler sees the normal rows of X only, the held-out ones included.
        normal = values if labels is None else values[labels == 0]
        if len(normal) == 0:
            raise SensorDataError("every training row is labelled anomalous; nothing to learn")
        self.scaler_ = ChannelScaler().fit(normal)
        train_windows = self._normal_windows(
            self.scaler_.transform(train), train_labels, "training"
        )
        val_windows = self._normal_windows(self.scaler_.transform(val), val_labels, "validation")
        log.info(
            "fitting on %d training and %d validation windows of %d steps x %d sensors",
            len(train_windows),
            len(val_windows),
            self.window,
            self.n_features_,
        )

        config = self.train_config or SENSOR_TRAIN_CONFIG
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(config)
        self.detector_ = AutoencoderDetector(
            model=self.model,
            model_config=self.model_config,
            train_config=config,
            threshold=spec,
            standardize=False,  # scaled per sensor above, on rows rather than windows
            log_dir=self.log_dir,
        )
        # NOTE: AutoencoderDetector draws the initial weights before Lightning seeds, from
        # the global generator; seed it here, so that the seed alone fixes the result.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.detector_.fit(train_windows, X_val=val_windows)

        # The threshold of the per-step scores, from the normal validation steps.
        self.threshold_spec_ = spec
        val_scores = self._fold(self.scaler_.transform(val)).scores  # already differenced
        self.val_scores_ = val_scores if val_labels is None else val_scores[val_labels == 0]
        self.threshold_ = fit_threshold(self.val_scores_, spec)
        log.info(
            "sensor detector fitted: threshold %.6g per time step (%s)",
            self.threshold_,
            describe(spec),
        )
        return self

    def refit_threshold(
        self,
        X: SensorInput,  # noqa: N803
        spec: ThresholdSpec | None = None,
        y: ArrayLike | None = None,
    ) -> SensorDetector:
        """Choose ``threshold_`` again from the per-step scores of ``X``.

        Args:
            X: a recording with the fitted sensors.
            spec: the strategy; by default the one of ``fit``.
            y: ``(T,)`` labels, needed by ``f1``; by default a table's own labels. For the
                other strategies, rows labelled 1 are left out.

        Returns:
            The detector, with the new ``threshold_``.
        """
        check_is_fitted(self, "threshold_")
        spec = spec or self.threshold_spec_
        values, _, _, labels = _unpack(X, "X", features=self.features_)
        if y is not None:
            labels = _check_labels(y, len(values), "y")
        scores = self._fold(self._prepare(values)).scores
        if spec.strategy != "f1" and labels is not None:
            scores, labels = scores[labels == 0], None
        self.threshold_spec_ = spec
        self.threshold_ = fit_threshold(scores, spec, labels=labels)
        return self

    # --- scoring -------------------------------------------------------------------------

    def score(self, X: SensorInput) -> SensorScores:  # noqa: N803
        """Score a recording: per time step, per sensor and per window, with events.

        The windows are cut as in ``fit``, plus one last window ending at the last row
        when the stride leaves rows uncovered, so that every row has a score.

        Args:
            X: a :class:`SensorTable` or DataFrame holding the fitted sensors (by name;
                other columns are ignored), or an array ``(T, C)`` with the sensors in the
                fitted order. A DataFrame's DatetimeIndex, or a table's time, gives the
                events their times.

        Returns:
            The scores, errors, alarms, window scores and events.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
            SensorDataError: for missing sensors, a wrong sensor count, NaN or infinite
                values, or fewer rows than one window.
        """
        check_is_fitted(self, "threshold_")
        values, _, time, _ = _unpack(X, "X", features=self.features_)
        folded = self._fold(self._prepare(values))
        overflow = np.flatnonzero(~np.isfinite(folded.scores))
        if overflow.size:
            column = int(np.argmax(np.abs(values).max(axis=0)))
            raise SensorDataError(
                f"readings as large as {np.abs(values).max():.3g} (sensor "
                f"{self.features_[column]!r}) make the reconstruction error overflow at "
                f"{overflow.size} row(s), the first row {overflow[0]}; they lie far outside "
                "the readings the detector was fitted on: check the data and its units"
            )
        events = find_events(
            folded.scores,
            self.threshold_,
            time=time,
            contributions=folded.errors,
            feature_names=self.features_,
            min_gap=self.min_gap,
            top_k=self.top_k,
        )
        events = [e for e in events if e.n_steps >= self.min_duration]
        alarms = np.zeros(len(values), dtype=np.int64)
        for event in events:
            alarms[event.start : event.end + 1] = 1
        return SensorScores(
            scores=folded.scores,
            errors=folded.errors,
            alarms=alarms,
            window_starts=folded.window_starts,
            window_scores=folded.window_scores,
            events=events,
            threshold=float(self.threshold_),
            features=list(self.features_),
            time=time,
        )

    def transform(self, X: SensorInput) -> np.ndarray:  # noqa: N803
        """Return the readings as the network sees them, ``(T, C)``: differenced, scaled.

        Cut them with :func:`aelab.data.sensors.make_windows` to give other detectors
        the very windows this one scores.
        """
        check_is_fitted(self, "scaler_")
        return self._prepare(_unpack(X, "X", features=self.features_)[0])

    def decision_function(self, X: SensorInput) -> np.ndarray:  # noqa: N803
        """Score per time step ``(T,)``; higher is more anomalous."""
        return self.score(X).scores

    def predict(self, X: SensorInput) -> np.ndarray:  # noqa: N803
        """0 (normal) or 1 (anomaly) per time step ``(T,)``."""
        check_is_fitted(self, "threshold_")
        return self.score(X).alarms

    def stream(self) -> StreamingScorer:
        """Return a scorer that takes rows as they arrive; see :class:`StreamingScorer`."""
        check_is_fitted(self, "threshold_")
        return StreamingScorer(self)

    @property
    def window_threshold_(self) -> float:
        """The threshold of the per-window scores, from the validation windows."""
        check_is_fitted(self, "detector_")
        return float(self.detector_.threshold_)

    # --- saving --------------------------------------------------------------------------

    def save(self, folder: str | Path, info: dict[str, Any] | None = None) -> Path:
        """Write the fitted detector to a model folder: safetensors weights and JSON config.

        The JSON holds the network's shape, the training settings, the scaler, the window
        settings, the sensor names and the threshold.

        Args:
            folder: the model folder; replaced whole if it exists.
            info: JSON-ready notes stored beside the model and read back as ``info_``,
                such as the time column of the files it was fitted on.

        Returns:
            The folder.
        """
        check_is_fitted(self, "threshold_")
        own = {
            "window": self.window,
            "stride": self.stride,
            "validation_share": self.validation_share,
            "difference": _jsonable(self.difference),
            "differenced": self.differenced_,
            "min_gap": self.min_gap,
            "min_duration": self.min_duration,
            "top_k": self.top_k,
            "features": self.features_,
            "scaler": self.scaler_.to_dict(),
            "threshold_spec": asdict(self.threshold_spec_),
            "threshold": self.threshold_,
            "val_scores": self.val_scores_.tolist(),
            "info": dict(info or getattr(self, "info_", None) or {}),
        }
        return self.detector_.save(folder, extra={EXTRA_KEY: own})

    @classmethod
    def load(cls, folder: str | Path) -> SensorDetector:
        """Read a detector written by :meth:`save`; it scores exactly as the saved one did.

        Raises:
            FileNotFoundError: when the folder or one of its files is missing.
            ValueError: when the folder holds another kind of model.
        """
        from aelab.persistence import CONFIG

        inner = AutoencoderDetector.load(folder)
        own = json.loads((Path(folder) / CONFIG).read_text())["extra"].get(EXTRA_KEY)
        if own is None:
            raise ValueError(
                f"{folder} holds an AutoencoderDetector for windows, not a SensorDetector; "
                "load it with AutoencoderDetector.load"
            )
        entry = SavedEntries(own, folder, cls.__name__)
        spec = entry("threshold_spec", lambda values: ThresholdSpec(**values))
        detector = cls(
            window=entry("window", int),
            stride=entry("stride", int),
            model=inner.model,
            model_config=inner.network_config_,
            train_config=inner.train_config_,
            threshold=spec,
            validation_share=entry("validation_share", float),
            difference=entry("difference", default=None),
            min_gap=entry("min_gap", int),
            min_duration=entry("min_duration", int, default=1),
            top_k=entry("top_k", int),
        )
        detector.detector_ = inner
        detector.scaler_ = entry("scaler", ChannelScaler.from_dict)
        detector.features_ = entry("features", lambda names: [str(f) for f in names])
        detector.n_features_ = len(detector.features_)
        detector.differenced_ = entry("differenced", lambda names: [str(f) for f in names], [])
        detector.threshold_spec_ = spec
        detector.threshold_ = entry("threshold", finite_float)
        detector.val_scores_ = entry("val_scores", lambda v: np.asarray(v, dtype=np.float64))
        detector.info_ = entry("info", lambda info: dict(info or {}), default={})
        return detector

    # --- helpers -------------------------------------------------------------------------

    def _check_settings(self) -> None:
        for name in ("window", "stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        for name in ("min_gap", "min_duration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
        if self.stride > self.window:
            raise ValueError(
                f"stride {self.stride} is longer than the window {self.window}: the steps "
                "between windows would have no score; use a stride of at most the window"
            )

    def _choose_differenced(self, values: np.ndarray) -> list[str]:
        """The sensors to difference: those named, or the slow ones for ``"auto"``."""
        if self.difference is None:
            return []
        if isinstance(self.difference, str) and self.difference != "auto":
            raise ValueError(
                f"difference must be a list of sensor names or 'auto'; got {self.difference!r}"
            )
        if self.difference == "auto":
            rows = values.astype(np.float64)
            before, after = rows[:-1] - rows[:-1].mean(0), rows[1:] - rows[1:].mean(0)
            spread = np.sqrt((before**2).sum(0) * (after**2).sum(0))
            with np.errstate(invalid="ignore", divide="ignore"):
                autocorrelation = (before * after).sum(0) / spread  # (C,), NaN if constant
            chosen = [
                f
                for f, r in zip(self.features_, autocorrelation, strict=True)
                if r >= AUTO_DIFFERENCE
            ]
            log.info(
                "differencing %s (lag-1 autocorrelation >= %g in the training rows)",
                ", ".join(chosen) or "no sensor",
                AUTO_DIFFERENCE,
            )
            return chosen
        unknown = [f for f in self.difference if f not in self.features_]
        if unknown:
            raise ValueError(
                f"difference names sensor(s) {', '.join(map(repr, unknown))} the data lacks; "
                f"its sensors are: {', '.join(map(repr, self.features_))}"
            )
        return [f for f in self.features_ if f in self.difference]

    def _difference(self, values: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Replace the differenced sensors by ``x[t] - x[t-1]``; the first row by 0 there.

        Args:
            values: readings ``(T, C)``.
            previous: the reading ``(C,)`` just before ``values[0]``, when streaming.
        """
        if not self.differenced_:
            return values
        columns = [self.features_.index(f) for f in self.differenced_]
        first = values[:1, columns] if previous is None else previous[None, columns]
        out = values.copy()
        out[:, columns] = np.diff(values[:, columns], axis=0, prepend=first)
        return out

    def _prepare(self, values: np.ndarray) -> np.ndarray:
        """Readings ``(T, C)`` as the network sees them: differenced as chosen, scaled."""
        return self.scaler_.transform(self._difference(values))

    def _normal_windows(self, scaled: np.ndarray, labels: np.ndarray | None, what: str):
        """Windows of the scaled rows, without those that touch a labelled anomaly."""
        windows = np.array(make_windows(scaled, self.window, self.stride, cover_tail=True))
        if labels is None or not labels.any():
            return windows  # (N, C, L)
        starts = window_starts(len(scaled), self.window, self.stride, cover_tail=True)
        touched = np.array([labels[s : s + self.window].any() for s in starts])
        log.info("left out %d %s window(s) touching labelled anomalies", touched.sum(), what)
        if touched.all():
            raise SensorDataError(
                f"every {what} window touches a row labelled anomalous; give more normal rows"
            )
        return windows[~touched]

    def _fold(self, scaled: np.ndarray) -> _Folded:
        """Score the windows of scaled rows ``(T, C)`` and fold their errors onto the steps."""
        n_steps = len(scaled)
        starts = window_starts(n_steps, self.window, self.stride, cover_tail=True)
        windows = make_windows(scaled, self.window, self.stride, cover_tail=True)  # (N, C, L)
        window_scores, window_errors = self._score_windows(windows)
        # NOTE: this holds every window's errors, (N, C, L) float32; for very long
        # recordings at a small stride, score them in parts or through stream().
        errors = overlap_average(window_errors, starts, n_steps)  # (T, C), every step covered
        return _Folded(starts, window_scores, errors, errors.mean(axis=1, dtype=np.float64))

    def _score_windows(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(N,)`` and errors ``(N, C, L)`` of scaled windows, in fixed-size batches."""
        scores, errors = [], []
        for start in range(0, len(windows), SCORE_BATCH):
            batch = windows[start : start + SCORE_BATCH]
            n = len(batch)
            if n < SCORE_BATCH:  # pad with copies of the last window; their scores are dropped
                batch = np.concatenate([batch, np.repeat(batch[-1:], SCORE_BATCH - n, axis=0)])
            out = self.detector_.score(np.array(batch), batch_size=SCORE_BATCH)
            scores.append(out.scores[:n])
            errors.append(out.errors[:n])
        return np.concatenate(scores), np.concatenate(errors)


class StreamingScorer:
    """Scores rows as they arrive, with the same results as scoring the whole file at once.

    Feed rows in chunks of any size with :meth:`update`; each call scores the windows the
    new rows complete and returns the time steps whose scores became final. Call
    :meth:`finish` at the end of the recording: it scores the last window that ends at the
    last row (as :meth:`SensorDetector.score` does) and returns the remaining steps.

    Memory is bounded: the scorer keeps the last ``window`` rows and the running sums of
    the steps not yet final (at most ``window + stride`` of them), whatever the length of
    the recording. A step is final once it lies more than ``window`` steps behind the
    newest row, so scores come out ``window`` steps late.

    Args:
        detector: a fitted :class:`SensorDetector`.

    Example:
        >>> scorer = detector.stream()
        >>> for chunk in chunks:  # arrays (k, C) or DataFrames with the sensors' columns
        ...     update = scorer.update(chunk)
        ...     alarms = update.steps[update.alarms == 1]
        >>> last = scorer.finish()
    """

    def __init__(self, detector: SensorDetector) -> None:
        check_is_fitted(detector, "threshold_")
        self.detector = detector
        self.rows_seen = 0
        self.finished = False
        channels = detector.n_features_
        self._buffer = np.empty((0, channels), dtype=np.float32)  # scaled rows
        self._buffer_start = 0  # time step of the buffer's first row
        self._next_start = 0  # start of the next regular window
        self._last_start = -1  # start of the last window scored
        self._sums = np.zeros((0, channels), dtype=np.float64)  # steps not yet final
        self._counts = np.zeros(0, dtype=np.int64)
        self._pending_start = 0  # time step of the first row of _sums
        self._last_row: np.ndarray | None = None  # the newest reading, for differences

    def update(self, rows: ArrayLike | pd.DataFrame) -> StreamUpdate:
        """Take new rows and score the windows they complete.

        Args:
            rows: ``(k, C)`` readings in the fitted sensor order (``(k,)`` for one sensor),
                or a DataFrame with the sensors' columns; ``k`` may be 0.

        Returns:
            The completed windows' scores and the steps that became final.

        Raises:
            RuntimeError: after :meth:`finish`.
            SensorDataError: for a wrong sensor count, missing columns, NaN or infinite
                values.
        """
        if self.finished:
            raise RuntimeError("this recording is finished; start another with detector.stream()")
        detector = self.detector
        values = _stream_rows(rows, detector)
        if len(values):
            scaled = detector.scaler_.transform(
                detector._difference(values, previous=self._last_row)
            )  # (k, C)
            self._last_row = values[-1]
            self._buffer = np.concatenate([self._buffer, scaled])
            self.rows_seen += len(values)
            self._grow_pending()

        # The regular windows the new rows complete.
        length, stride = detector.window, detector.stride
        last = self.rows_seen - length
        starts = np.arange(self._next_start, last + 1, stride, dtype=np.int64)
        window_scores = self._score(starts)
        if starts.size:
            self._next_start = int(starts[-1]) + stride

        # Steps more than a window behind the newest row get no further window.
        update = self._emit(max(self._pending_start, last), starts, window_scores)
        self._trim()
        return update

    def finish(self) -> StreamUpdate:
        """End the recording: score a last window ending at the last row, emit the rest.

        Raises:
            SensorDataError: when fewer rows than one window were fed.
        """
        if self.finished:
            raise RuntimeError("finish() was already called for this recording")
        length = self.detector.window
        if self.rows_seen < length:
            raise SensorDataError(
                f"too few rows for one window: got {self.rows_seen} rows, need {length}"
            )
        tail = self.rows_seen - length
        starts = np.array([tail] if self._last_start < tail else [], dtype=np.int64)
        window_scores = self._score(starts)
        self.finished = True
        return self._emit(self.rows_seen, starts, window_scores)

    # --- helpers -------------------------------------------------------------------------

    def _grow_pending(self) -> None:
        extra = self.rows_seen - self._pending_start - len(self._counts)
        channels = self._sums.shape[1]
        self._sums = np.concatenate([self._sums, np.zeros((extra, channels))])
        self._counts = np.concatenate([self._counts, np.zeros(extra, dtype=np.int64)])

    def _score(self, starts: np.ndarray) -> np.ndarray:
        """Score the windows at ``starts`` and add their errors to the running sums."""
        if starts.size == 0:
            return np.empty(0, dtype=np.float64)
        length = self.detector.window
        offsets = starts - self._buffer_start
        windows = np.stack([self._buffer[o : o + length].T for o in offsets])  # (n, C, L)
        scores, errors = self.detector._score_windows(windows)

        # Window by window, in order: the same additions, in the same order, as
        # overlap_average makes for the whole file.
        for start, error in zip(starts.tolist(), errors, strict=True):
            at = start - self._pending_start
            self._sums[at : at + length] += error.T.astype(np.float64)  # (L, C)
            self._counts[at : at + length] += 1
        self._last_start = int(starts[-1])
        return scores

    def _emit(self, upto: int, starts: np.ndarray, window_scores: np.ndarray) -> StreamUpdate:
        """Return the steps before ``upto`` as final, and forget them."""
        k = upto - self._pending_start
        errors = (self._sums[:k] / self._counts[:k, None]).astype(np.float32)  # (k, C)
        scores = errors.mean(axis=1, dtype=np.float64)
        steps = np.arange(self._pending_start, upto, dtype=np.int64)
        self._sums, self._counts = self._sums[k:], self._counts[k:]
        self._pending_start = upto
        return StreamUpdate(
            window_starts=starts,
            window_scores=window_scores,
            steps=steps,
            scores=scores,
            errors=errors,
            alarms=(scores > self.detector.threshold_).astype(np.int64),
        )

    def _trim(self) -> None:
        """Keep only the rows a later window can still need: the last ``window`` rows."""
        keep_from = max(0, min(self._next_start, self.rows_seen - self.detector.window))
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start = keep_from


# ---------------------------------------------------------------------------------------
# Input


def _unpack(
    X: SensorInput,  # noqa: N803
    what: str,
    features: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], pd.DatetimeIndex | None, np.ndarray | None]:
    """Return ``X`` as float32 values ``(T, C)``, its sensor names, its time and labels.

    With ``features`` (a fitted detector's sensors), a table or DataFrame must hold them
    all, and they are taken by name in that order; an array must have that many columns.
    """
    time, labels = None, None
    if isinstance(X, SensorTable):
        frame = pd.DataFrame(X.values, columns=list(X.features))
        time, labels = X.time, X.labels
    elif isinstance(X, pd.DataFrame):
        frame = X
        if isinstance(X.index, pd.DatetimeIndex):
            time = X.index
    else:
        frame = None

    if frame is not None:
        names = [str(c) for c in frame.columns]
        if features is not None and list(features) == _default_names(len(features)):
            # Fitted on an array: the sensors have no names, so columns go by position.
            frame = frame.set_axis(list(features), axis=1) if len(names) == len(features) else frame
            names = [str(c) for c in frame.columns]
        if features is not None:
            missing = [f for f in features if f not in names]
            if missing:
                raise SensorDataError(
                    f"{what} lacks the sensor column(s) {', '.join(map(repr, missing))} the "
                    f"detector was fitted on; it has: {', '.join(map(repr, names))}"
                )
            frame = frame.set_axis(names, axis=1)[list(features)]
        non_numeric = [str(c) for c, t in frame.dtypes.items() if not _is_number_dtype(t)]
        if non_numeric:
            raise SensorDataError(
                f"{what} column(s) {', '.join(map(repr, non_numeric))} do not hold numbers; "
                "pass only sensor columns, or read the file with read_table"
            )
        values = frame.to_numpy(dtype=np.float32)
        names = list(features) if features is not None else [str(c) for c in frame.columns]
    else:
        values = np.asarray(X, dtype=np.float32)
        if values.ndim == 1:
            values = values[:, None]  # (T, 1)
        if values.ndim != 2:
            raise SensorDataError(
                f"{what} must be a recording shaped (T, C), T rows of C sensors; got {values.shape}"
            )
        if features is not None and values.shape[1] != len(features):
            raise SensorDataError(
                f"the detector was fitted on {len(features)} sensor(s) "
                f"({', '.join(features)}); {what} has {values.shape[1]} column(s). Pass the "
                "same sensors in the same order, or a table or DataFrame with their names"
            )
        names = list(features) if features is not None else _default_names(values.shape[1])
    _check_values(values, what)
    return values, names, time, labels


def _stream_rows(rows: ArrayLike | pd.DataFrame, detector: SensorDetector) -> np.ndarray:
    """New rows for a stream, as float32 ``(k, C)``; an empty chunk gives ``(0, C)``."""
    if isinstance(rows, pd.DataFrame | SensorTable):
        return _unpack(rows, "rows", features=detector.features_)[0]
    values = np.asarray(rows, dtype=np.float32)
    if values.size == 0:
        return np.empty((0, detector.n_features_), dtype=np.float32)
    if values.ndim == 1 and detector.n_features_ > 1:
        values = values[None, :]  # one row of C sensors
    return _unpack(values, "rows", features=detector.features_)[0]


def _check_values(values: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise SensorDataError(
            f"{what} holds NaN or infinite values in {bad.size} row(s), the first at row "
            f"{int(bad[0])}; fill the gaps first (read_table fills them: fill_gaps='ffill' "
            "or 'interpolate') or drop those rows"
        )


def _check_labels(y: ArrayLike, n_rows: int | None, what: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or (n_rows is not None and labels.size != n_rows):
        raise ValueError(f"{what} must hold one 0/1 label per row ({n_rows}); got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{what} must hold 0 (normal) or 1 (anomaly) only")
    return labels.astype(np.int64)


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else [str(v) for v in value]


def _is_number_dtype(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _default_names(channels: int) -> list[str]:
    return [f"channel_{i}" for i in range(channels)]
