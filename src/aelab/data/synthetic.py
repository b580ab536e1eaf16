"""Synthetic signals for anomaly detection: sums of sines and eight kinds of anomaly.

A normal signal is ``y(x) = A1 sin(f1 x) + A2 sin(f2 x) + A3 sin(f3 x)`` on a fixed grid, its
amplitudes and frequencies drawn uniformly per signal (:class:`SignalConfig`). An anomaly kind
is a function that takes one normal signal and gives back the abnormal signal and a mask of
the anomalous time steps (:data:`ANOMALY_KINDS`). :func:`make_signal_dataset` builds training
and validation sets of normal signals and a labelled test set of both.

Every kind takes a ``severity`` in [0, 1]: 0 gives back the normal signal unchanged with an
empty mask, 1 the full anomaly. A kind draws all its random numbers before it looks at the
severity, so one generator state gives the same location and shape at every severity and a
severity sweep compares like with like.

``high_frequency`` is the classic recipe in signal units: it adds ``A sin(f x)`` with |A| in
[2, 5] and |f| in [5, 10], and severity scales A. The other kinds are sized relative to the
root mean square (RMS) of the signal they change, so they stay visible whatever amplitudes
the configuration draws.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

# Shortest signal every kind has room for: a segment of a few steps, sped up three times.
MIN_LENGTH = 8

_FORMAT = "aelab.signal_dataset/1"


@dataclass(frozen=True)
class SignalConfig:
    """How normal signals are drawn.

    Each signal is the sum of ``n_components`` sines ``A sin(f x)`` sampled at ``length``
    evenly spaced points of ``x_range``, every A drawn from U(amplitude_range) and every f
    from U(frequency_range), plus Gaussian measurement noise.

    The defaults are the classic recipe: three components with A and f uniform on [-2, 2]
    and no noise. The grid spans [-8 pi, 8 pi], so a normal signal shows at most 16 cycles
    while the ``high_frequency`` anomaly (|f| in [5, 10]) shows 40 to 80 cycles at 12 or more
    samples per cycle: well resolved, and plainly faster than anything normal.

    Attributes:
        length: time steps per signal.
        x_range: first and last point of the grid, both included.
        amplitude_range: low and high end of the uniform amplitude distribution.
        frequency_range: low and high end of the uniform frequency distribution, in radians
            per unit of x.
        n_components: sines per signal.
        noise_std: standard deviation of the Gaussian measurement noise; 0 for none.
    """

    length: int = 1000
    x_range: tuple[float, float] = (-8 * math.pi, 8 * math.pi)
    amplitude_range: tuple[float, float] = (-2.0, 2.0)
    frequency_range: tuple[float, float] = (-2.0, 2.0)
    n_components: int = 3
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        if not _is_int(self.length) or self.length < MIN_LENGTH:
            raise ValueError(
                f"length must be an integer of at least {MIN_LENGTH}; got {self.length!r}"
            )
        if not _is_int(self.n_components) or self.n_components < 1:
            raise ValueError(f"n_components must be a positive integer; got {self.n_components!r}")
        for name in ("x_range", "amplitude_range", "frequency_range"):
            _check_range(name, getattr(self, name))
        if self.x_range[0] >= self.x_range[1]:
            raise ValueError(f"x_range must run from low to high; got {self.x_range}")
        if not _is_real(self.noise_std) or not 0 <= self.noise_std < math.inf:
            raise ValueError(f"noise_std must be a finite number >= 0; got {self.noise_std!r}")

    def grid(self) -> np.ndarray:
        """Return the x grid, ``(length,)`` float64."""
        return np.linspace(self.x_range[0], self.x_range[1], self.length)


class Anomaly(NamedTuple):
    """One abnormal signal and where it is abnormal.

    Attributes:
        signal: the abnormal signal, ``(L,)`` float64.
        mask: True at the anomalous time steps, ``(L,)`` bool; all False at severity 0.
    """

    signal: np.ndarray
    mask: np.ndarray


AnomalyFunction = Callable[[np.ndarray, np.ndarray, np.random.Generator, float], Anomaly]


@dataclass(frozen=True, eq=False, repr=False)
class SignalDataset:
    """Training, validation and test signals with the test set's ground truth.

    Training and validation signals are all normal. The constructor checks that the arrays
    fit together and raises ``ValueError`` where they do not.

    Attributes:
        train: normal signals to train on, ``(n_train, 1, L)`` float32.
        val: normal signals to validate on (and fit thresholds), ``(n_val, 1, L)`` float32.
        test: normal and abnormal signals, ``(n_test, 1, L)`` float32.
        test_labels: 0 normal, 1 anomaly, ``(n_test,)`` int64.
        test_kinds: the anomaly kind of each test signal, ``"normal"`` for normal ones,
            ``(n_test,)`` fixed-width str.
        test_severity: the severity of each anomaly, 0 for normal signals, ``(n_test,)``
            float64.
        test_masks: True at the anomalous time steps, ``(n_test, L)`` bool.
        x: the grid the signals were sampled on, ``(L,)`` float64.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    test_kinds: np.ndarray
    test_severity: np.ndarray
    test_masks: np.ndarray
    x: np.ndarray

    def __post_init__(self) -> None:
        length = self.x.shape[0] if self.x.ndim == 1 else -1
        if length < 1 or self.x.dtype != np.float64:
            raise ValueError(f"x must be a 1-D float64 grid; got {self.x.dtype} {self.x.shape}")
        for name in ("train", "val", "test"):
            signals = getattr(self, name)
            if signals.dtype != np.float32 or signals.ndim != 3 or signals.shape[1:] != (1, length):
                raise ValueError(
                    f"{name} must be float32 shaped (N, 1, {length}); "
                    f"got {signals.dtype} {signals.shape}"
                )
        n_test = self.test.shape[0]
        expected = {
            "test_labels": ((n_test,), "i"),
            "test_kinds": ((n_test,), "U"),
            "test_severity": ((n_test,), "f"),
            "test_masks": ((n_test, length), "b"),
        }
        for name, (shape, kind) in expected.items():
            array = getattr(self, name)
            if array.shape != shape or array.dtype.kind != kind:
                raise ValueError(
                    f"{name} must be shaped {shape} with dtype kind {kind!r} to match "
                    f"{n_test} test signals of {length} steps; got {array.dtype} {array.shape}"
                )
        if not np.isin(self.test_labels, (0, 1)).all():
            raise ValueError("test_labels must hold only 0 (normal) and 1 (anomaly)")

    @property
    def length(self) -> int:
        """Time steps per signal."""
        return self.x.shape[0]

    def __repr__(self) -> str:
        return (
            f"SignalDataset(train={self.train.shape[0]}, val={self.val.shape[0]}, "
            f"test={self.test.shape[0]} ({int(self.test_labels.sum())} abnormal), "
            f"length={self.length})"
        )


# --------------------------------------------------------------------------- normal signals


def normal_signals(n: int, config: SignalConfig, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` normal signals.

    Args:
        n: how many signals.
        config: how to draw them.
        rng: the random generator; the same state gives the same signals.

    Returns:
        The signals, ``(n, config.length)`` float64.

    Raises:
        ValueError: if ``n`` is negative.
        TypeError: if ``rng`` is not a NumPy ``Generator``.

    Example:
        >>> signals = normal_signals(8, SignalConfig(), np.random.default_rng(0))
        >>> signals.shape
        (8, 1000)
    """
    _check_count("n", n)
    _check_rng(rng)
    x = config.grid()
    amplitudes = rng.uniform(*config.amplitude_range, size=(n, config.n_components))
    frequencies = rng.uniform(*config.frequency_range, size=(n, config.n_components))

    signals = np.zeros((n, config.length))
    for k in range(config.n_components):
        signals += amplitudes[:, k, None] * np.sin(frequencies[:, k, None] * x)  # (n, L)
    if config.noise_std > 0:
        signals += rng.normal(0.0, config.noise_std, size=signals.shape)
    return signals


# --------------------------------------------------------------------------- anomaly kinds


def high_frequency(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Add a fast sine ``severity * A sin(f x)`` to the whole signal: the classic recipe.

    A is drawn uniformly from [-5, -2] or [2, 5] and f from [-10, -5] or [5, 10], each sign
    with even odds; at severity 1 the result is exactly ``signal + A sin(f x)``. As sine is
    odd, only the sign of ``A * f`` shows in the result. The whole signal is anomalous. The
    arguments and the result are those of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, x = _check_inputs(signal, x, rng, severity)
    amplitude = _signed_uniform(rng, 2.0, 5.0)
    frequency = _signed_uniform(rng, 5.0, 10.0)
    if severity == 0:
        return _unchanged(signal)

    out = signal + severity * amplitude * np.sin(frequency * x)
    return Anomaly(out, np.ones(signal.shape, dtype=bool))


def spikes(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Add three to five single-step spikes at distinct random time steps.

    At full severity each spike is +-[3, 6] times the signal's RMS. The arguments and the
    result are those of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    count = int(rng.integers(3, 6))
    steps = rng.choice(signal.size, size=count, replace=False)
    heights = _signed_uniform(rng, 3.0, 6.0, size=count) * _rms(signal)
    if severity == 0:
        return _unchanged(signal)

    out = signal.copy()
    out[steps] += severity * heights
    mask = np.zeros(signal.shape, dtype=bool)
    mask[steps] = True
    return Anomaly(out, mask)


def level_shift(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Shift a segment of 10 to 30 % of the signal by a constant (a step up and back down).

    At full severity the offset is +-[1, 2] times the signal's RMS. The arguments and the
    result are those of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    segment = _segment(rng, signal.size, 0.10, 0.30)
    offset = _signed_uniform(rng, 1.0, 2.0) * _rms(signal)
    if severity == 0:
        return _unchanged(signal)

    out = signal.copy()
    out[segment] += severity * offset
    return Anomaly(out, _segment_mask(signal.size, segment))


def noise_burst(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Add heavy Gaussian noise to a segment of 5 to 20 % of the signal.

    At full severity the noise's standard deviation is [0.5, 1] times the signal's RMS. The
    arguments and the result are those of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    segment = _segment(rng, signal.size, 0.05, 0.20)
    std = rng.uniform(0.5, 1.0) * _rms(signal)
    noise = rng.standard_normal(segment.stop - segment.start) * std
    if severity == 0:
        return _unchanged(signal)

    out = signal.copy()
    out[segment] += severity * noise
    return Anomaly(out, _segment_mask(signal.size, segment))


def frequency_change(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Play a segment of 10 to 25 % of the signal faster, raising its local frequencies.

    Inside the segment the signal is read (with linear interpolation) at ``1 + severity *
    (r - 1)`` times its normal rate, r drawn from [2, 3]; it starts where the normal signal
    is and jumps back to it after the segment. The arguments and the result are those of
    every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    length = signal.size
    rate = rng.uniform(2.0, 3.0)
    size = _segment_size(rng, length, 0.10, 0.25)
    # The sped-up segment must read only inside the signal, at the full rate too, so that
    # the location does not depend on the severity.
    size = min(size, int((length - 1) / rate) + 1)
    start = int(rng.integers(0, length - math.ceil((size - 1) * rate)))
    if severity == 0:
        return _unchanged(signal)

    steps = np.arange(start, start + size)
    read_at = start + (steps - start) * (1.0 + severity * (rate - 1.0))
    out = signal.copy()
    out[steps] = np.interp(read_at, np.arange(length), signal)
    return Anomaly(out, _segment_mask(length, slice(start, start + size)))


def dropout(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Flatten a segment of 5 to 20 % of the signal to zero, as a sensor that drops out.

    The segment is scaled by ``1 - severity``, so it reads exactly zero at full severity. The
    arguments and the result are those of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    segment = _segment(rng, signal.size, 0.05, 0.20)
    if severity == 0:
        return _unchanged(signal)

    out = signal.copy()
    out[segment] *= 1.0 - severity
    return Anomaly(out, _segment_mask(signal.size, segment))


def drift(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Add a linear drift that starts between 10 and 90 % of the way and runs to the end.

    The drift is nonzero from its first step and reaches, at the last step and full
    severity, +-[1, 2] times the signal's RMS. The arguments and the result are those of
    every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    length = signal.size
    start = int(rng.integers(length // 10, length - length // 10))
    total = _signed_uniform(rng, 1.0, 2.0) * _rms(signal)
    if severity == 0:
        return _unchanged(signal)

    ramp = np.arange(1, length - start + 1) / (length - start)  # (L - start,), up to 1
    out = signal.copy()
    out[start:] += severity * total * ramp
    return Anomaly(out, _segment_mask(length, slice(start, length)))


def amplitude_change(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float = 1.0
) -> Anomaly:
    """Scale a segment of 10 to 30 % of the signal up or down.

    The segment is multiplied by ``1 + severity * (g - 1)``, the gain g drawn from [2, 3]
    (louder) or [0.2, 0.5] (quieter) with even odds. The arguments and the result are those
    of every anomaly kind (see :func:`inject_anomaly`).
    """
    signal, _ = _check_inputs(signal, x, rng, severity)
    segment = _segment(rng, signal.size, 0.10, 0.30)
    gain = rng.uniform(2.0, 3.0) if rng.random() < 0.5 else rng.uniform(0.2, 0.5)
    if severity == 0:
        return _unchanged(signal)

    out = signal.copy()
    out[segment] *= 1.0 + severity * (gain - 1.0)
    return Anomaly(out, _segment_mask(signal.size, segment))


ANOMALY_KINDS: dict[str, AnomalyFunction] = {
    "high_frequency": high_frequency,
    "spikes": spikes,
    "level_shift": level_shift,
    "noise_burst": noise_burst,
    "frequency_change": frequency_change,
    "dropout": dropout,
    "drift": drift,
    "amplitude_change": amplitude_change,
}


def list_anomaly_kinds() -> list[str]:
    """Return the names of all anomaly kinds, sorted."""
    return sorted(ANOMALY_KINDS)


def inject_anomaly(
    kind: str,
    signal: np.ndarray,
    x: np.ndarray,
    rng: np.random.Generator,
    severity: float = 1.0,
) -> Anomaly:
    """Make one normal signal abnormal with the anomaly kind ``kind``.

    Args:
        kind: a name from :func:`list_anomaly_kinds`.
        signal: the normal signal, ``(L,)``, finite; it is not changed.
        x: the grid it was sampled on, ``(L,)``.
        rng: the random generator that places and shapes the anomaly.
        severity: 0 gives back the signal unchanged with an empty mask, 1 the full anomaly.

    Returns:
        The abnormal signal, ``(L,)`` float64, and the mask of its anomalous time steps.

    Raises:
        ValueError: for an unknown kind, a signal of the wrong shape or with NaN or
            infinities, or a severity outside [0, 1].
        TypeError: if ``rng`` is not a NumPy ``Generator``.

    Example:
        >>> config = SignalConfig()
        >>> normal = normal_signals(1, config, np.random.default_rng(0))[0]
        >>> signal, mask = inject_anomaly("spikes", normal, config.grid(), np.random.default_rng(1))
        >>> 3 <= int(mask.sum()) <= 5
        True
    """
    return _anomaly_function(kind)(signal, x, rng, severity)


# --------------------------------------------------------------------------- data sets


def make_signal_dataset(
    n_train: int,
    n_val: int,
    n_test: int,
    *,
    anomaly_share: float = 0.5,
    kinds: str | Sequence[str] = ("high_frequency",),
    severity: float | tuple[float, float] = 1.0,
    config: SignalConfig | None = None,
    seed: int = 0,
) -> SignalDataset:
    """Build training and validation sets of normal signals and a labelled test set.

    ``round(anomaly_share * n_test)`` test signals (halves rounded up) are made abnormal;
    which ones is random. Their kinds are spread as evenly as the count allows over
    ``kinds``, in random order. Training, validation and test normals, the plan (which,
    which kind, how severe) and each anomaly come from separate streams of ``seed``, so
    changing ``n_test`` leaves the training set alone, and two data sets that differ only in
    ``severity`` hold the same anomalies at different strengths.

    Args:
        n_train: training signals, all normal.
        n_val: validation signals, all normal.
        n_test: test signals, normal and abnormal.
        anomaly_share: share of abnormal test signals, in [0, 1].
        kinds: names of anomaly kinds (see :func:`list_anomaly_kinds`), or one name.
        severity: the severity of every anomaly, or a ``(low, high)`` range to draw each
            anomaly's severity from uniformly; within [0, 1]. An anomaly of severity 0 keeps
            label 1 but equals a normal signal, the floor of a severity sweep.
        config: how normal signals are drawn; ``None`` for :class:`SignalConfig` defaults.
        seed: a non-negative integer; the same seed and arguments give the same data set.

    Returns:
        The data set; see :class:`SignalDataset` for its arrays.

    Raises:
        ValueError: for a negative count, an ``anomaly_share`` or severity outside [0, 1],
            no kinds or an unknown kind, or a negative seed.

    Example:
        >>> ds = make_signal_dataset(64, 16, 32, kinds=("spikes", "drift"), severity=(0.2, 1))
        >>> ds.train.shape, int(ds.test_labels.sum())
        ((64, 1, 1000), 16)
    """
    for name, count in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        _check_count(name, count)
    if not _is_real(anomaly_share) or not 0 <= anomaly_share <= 1:
        raise ValueError(f"anomaly_share must be a number in [0, 1]; got {anomaly_share!r}")
    kinds = _check_kinds(kinds)
    low, high = _check_severity_range(severity)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    config = config or SignalConfig()

    # One stream per purpose, so that one part's size does not reshuffle another part.
    streams = np.random.SeedSequence(seed).spawn(5)
    train_rng, val_rng, test_rng, plan_rng = (np.random.default_rng(s) for s in streams[:4])
    x = config.grid()
    train = normal_signals(n_train, config, train_rng)
    val = normal_signals(n_val, config, val_rng)
    test = normal_signals(n_test, config, test_rng)  # (n_test, L), anomalies go in below

    # The plan: which test signals turn abnormal, of which kind, how severe.
    n_abnormal = math.floor(anomaly_share * n_test + 0.5)
    chosen = np.sort(plan_rng.permutation(n_test)[:n_abnormal])
    chosen_kinds = plan_rng.permutation(np.resize(np.array(kinds), n_abnormal))
    if low == high:
        severities = np.full(n_abnormal, float(low))
    else:
        severities = plan_rng.uniform(low, high, size=n_abnormal)

    # Each anomaly draws from its own stream, whatever the kinds of the others.
    width = max(len("normal"), *(len(k) for k in kinds))
    test_kinds = np.full(n_test, "normal", dtype=f"<U{width}")
    test_labels = np.zeros(n_test, dtype=np.int64)
    test_severity = np.zeros(n_test)
    test_masks = np.zeros((n_test, config.length), dtype=bool)
    anomaly_streams = streams[4].spawn(n_abnormal)
    for i, kind, level, stream in zip(
        chosen, chosen_kinds, severities, anomaly_streams, strict=True
    ):
        anomaly = ANOMALY_KINDS[str(kind)](test[i], x, np.random.default_rng(stream), level)
        test[i] = anomaly.signal
        test_masks[i] = anomaly.mask
        test_labels[i] = 1
        test_kinds[i] = kind
        test_severity[i] = level

    counts = Counter(str(k) for k in chosen_kinds)
    logger.info(
        "synthetic signals of %d steps: %d train, %d val, %d test (%d abnormal: %s)",
        config.length,
        n_train,
        n_val,
        n_test,
        n_abnormal,
        ", ".join(f"{k} {counts[k]}" for k in kinds if counts[k]) or "none",
    )
    return SignalDataset(
        train=train[:, None, :].astype(np.float32),  # (n_train, 1, L)
        val=val[:, None, :].astype(np.float32),  # (n_val, 1, L)
        test=test[:, None, :].astype(np.float32),  # (n_test, 1, L)
        test_labels=test_labels,
        test_kinds=test_kinds,
        test_severity=test_severity,
        test_masks=test_masks,
        x=x,
    )


def save_signal_dataset(dataset: SignalDataset, path: str | os.PathLike[str]) -> Path:
    """Write a data set to one compressed ``.npz`` file, without pickled objects.

    The file is written next to ``path`` under a temporary name and then renamed, so
    ``path`` never holds a half-written file; an existing file is replaced. Missing parent
    folders are created.

    Args:
        dataset: the data set.
        path: where to write; ``.npz`` is the usual suffix, none is added.

    Returns:
        The path written.

    Raises:
        IsADirectoryError: when ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder; give a file name for the data set, e.g. {path / 'signals.npz'}"
        )
    arrays = {f.name: getattr(dataset, f.name) for f in fields(SignalDataset)}
    arrays["format"] = np.array(_FORMAT)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with partial.open("xb") as file:
            np.savez_compressed(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("saved signal dataset (%d test signals) to %s", dataset.test.shape[0], path)
    return path


def load_signal_dataset(path: str | os.PathLike[str]) -> SignalDataset:
    """Read a data set written by :func:`save_signal_dataset`.

    Args:
        path: the ``.npz`` file.

    Returns:
        The data set.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is not a readable ``.npz``, lacks arrays, or holds arrays
            that do not fit together.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no signal dataset at {path}; check the path or write one with save_signal_dataset"
        )
    advice = "expected an .npz written by save_signal_dataset; write it again"
    with path.open("rb") as file:
        if file.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
            raise ValueError(f"{path} is not an .npz archive; {advice}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"it holds a single {type(loaded).__name__}, not an .npz archive")
        with loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"cannot read a signal dataset from {path} ({err}); {advice}") from err

    names = [f.name for f in fields(SignalDataset)]
    missing = [name for name in ["format", *names] if name not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the array(s) {', '.join(missing)}; {advice}")
    if arrays["format"].shape != () or str(arrays["format"]) != _FORMAT:
        raise ValueError(f"{path} has format {arrays['format']!r}, not {_FORMAT!r}; {advice}")
    try:
        dataset = SignalDataset(**{name: arrays[name] for name in names})
    except ValueError as err:
        raise ValueError(f"{path} holds a malformed signal dataset: {err}; {advice}") from err
    logger.info(
        "loaded signal dataset from %s: %d train, %d val, %d test",
        path,
        dataset.train.shape[0],
        dataset.val.shape[0],
        dataset.test.shape[0],
    )
    return dataset


# --------------------------------------------------------------------------- helpers


def _anomaly_function(kind: str) -> AnomalyFunction:
    if kind not in ANOMALY_KINDS:
        raise ValueError(
            f"unknown anomaly kind {kind!r}; known kinds: {', '.join(list_anomaly_kinds())}"
        )
    return ANOMALY_KINDS[kind]


def _check_inputs(
    signal: np.ndarray, x: np.ndarray, rng: np.random.Generator, severity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Check an anomaly kind's arguments; return the signal and grid as float64 arrays."""
    signal = np.asarray(signal, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if signal.ndim != 1 or signal.shape != x.shape:
        raise ValueError(
            "expected one signal and its grid, both 1-D and of the same length; "
            f"got signal {signal.shape} and x {x.shape}"
        )
    if signal.size < MIN_LENGTH:
        raise ValueError(f"signals need at least {MIN_LENGTH} steps; got {signal.size}")
    if not np.isfinite(signal).all():
        raise ValueError("the signal holds NaN or infinite values; clean or drop them first")
    _check_rng(rng)
    _check_severity(severity)
    return signal, x


def _check_severity(severity: float) -> None:
    if not _is_real(severity) or not 0 <= severity <= 1:
        raise ValueError(
            "severity must be a number in [0, 1] (0 leaves the signal normal, 1 is the full "
            f"anomaly); got {severity!r}"
        )


def _check_severity_range(severity: float | tuple[float, float]) -> tuple[float, float]:
    if _is_real(severity):
        _check_severity(severity)
        return float(severity), float(severity)
    if isinstance(severity, Sequence) and len(severity) == 2:
        low, high = severity
        _check_severity(low)
        _check_severity(high)
        if low <= high:
            return float(low), float(high)
    raise ValueError(
        "severity must be a number in [0, 1] or a (low, high) pair with "
        f"0 <= low <= high <= 1; got {severity!r}"
    )


def _check_kinds(kinds: str | Sequence[str]) -> tuple[str, ...]:
    names = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not names:
        raise ValueError(f"kinds is empty; name at least one of: {', '.join(list_anomaly_kinds())}")
    for name in names:
        _anomaly_function(name)
    return names


def _check_range(name: str, value: tuple[float, float]) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(_is_real(v) and math.isfinite(v) for v in value)
        or value[0] > value[1]
    ):
        raise ValueError(
            f"{name} must be a (low, high) tuple of finite numbers with low <= high; got {value!r}"
        )


def _check_count(name: str, value: int) -> None:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a NumPy Generator, e.g. np.random.default_rng(seed); "
            f"got {type(rng).__name__}"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _rms(signal: np.ndarray) -> float:
    """Root mean square of the signal, or 1 for an all-zero signal so anomalies still show."""
    rms = float(np.sqrt(np.mean(signal**2)))
    return rms if rms > 0 else 1.0


def _signed_uniform(
    rng: np.random.Generator, low: float, high: float, size: int | None = None
) -> np.ndarray | float:
    """Draw from U[low, high] and give each draw a random sign with even odds."""
    magnitude = rng.uniform(low, high, size=size)
    sign = rng.choice((-1.0, 1.0), size=size)
    return sign * magnitude


def _segment_size(rng: np.random.Generator, length: int, shortest: float, longest: float) -> int:
    """Draw a segment size between the ``shortest`` and ``longest`` shares of ``length``."""
    low = min(length, max(2, round(shortest * length)))
    high = min(length, max(low, round(longest * length)))
    return int(rng.integers(low, high + 1))


def _segment(rng: np.random.Generator, length: int, shortest: float, longest: float) -> slice:
    """Draw a segment of random size and place it uniformly within the signal."""
    size = _segment_size(rng, length, shortest, longest)
    start = int(rng.integers(0, length - size + 1))
    return slice(start, start + size)


def _segment_mask(length: int, segment: slice) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    mask[segment] = True
    return mask


def _unchanged(signal: np.ndarray) -> Anomaly:
    return Anomaly(signal.copy(), np.zeros(signal.shape, dtype=bool))
