import math

import numpy as np
import pytest

from aelab.data.synthetic import (
    ANOMALY_KINDS,
    SignalConfig,
    SignalDataset,
    high_frequency,
    inject_anomaly,
    list_anomaly_kinds,
    load_signal_dataset,
    make_signal_dataset,
    normal_signals,
    save_signal_dataset,
)

ALL_KINDS = tuple(ANOMALY_KINDS)
CONFIG = SignalConfig()
X = CONFIG.grid()
# Kinds whose change is proportional to the severity; frequency_change reads the signal at a
# severity-dependent rate, so its change is not.
LINEAR_KINDS = [k for k in ALL_KINDS if k != "frequency_change"]


def normal(seed: int = 0, config: SignalConfig = CONFIG) -> np.ndarray:
    return normal_signals(1, config, np.random.default_rng(seed))[0]


def high_frequency_share(signals: np.ndarray, cutoff: float = 3.5) -> np.ndarray:
    """Share of each signal's spectral energy above angular frequency ``cutoff`` (rad per x)."""
    signals = signals.reshape(len(signals), -1)
    spectrum = np.abs(np.fft.rfft(signals * np.hanning(signals.shape[1]), axis=1)) ** 2
    omega = 2 * np.pi * np.fft.rfftfreq(signals.shape[1], d=X[1] - X[0])
    return spectrum[:, omega > cutoff].sum(axis=1) / spectrum.sum(axis=1)


@pytest.fixture(scope="module")
def dataset() -> SignalDataset:
    return make_signal_dataset(40, 10, 48, kinds=ALL_KINDS, severity=(0.3, 1.0), seed=7)


# --------------------------------------------------------------------------- normal signals


def test_the_registry_holds_the_eight_documented_kinds():
    assert list_anomaly_kinds() == sorted(
        [
            "high_frequency",
            "spikes",
            "level_shift",
            "noise_burst",
            "frequency_change",
            "dropout",
            "drift",
            "amplitude_change",
        ]
    )


def test_default_grid_and_normal_signals_follow_the_recipe():
    assert X.shape == (1000,) and X[0] == -8 * math.pi and X[-1] == 8 * math.pi
    signals = normal_signals(64, CONFIG, np.random.default_rng(0))
    assert signals.shape == (64, 1000) and signals.dtype == np.float64
    # Three sines of |A| <= 2 never exceed 6, and none of them is faster than |f| = 2.
    assert np.abs(signals).max() <= 6
    assert high_frequency_share(signals).max() < 1e-4


def test_normal_signals_are_seeded_and_noise_is_added_when_asked():
    a = normal_signals(4, CONFIG, np.random.default_rng(3))
    assert np.array_equal(a, normal_signals(4, CONFIG, np.random.default_rng(3)))
    assert not np.array_equal(a, normal_signals(4, CONFIG, np.random.default_rng(4)))
    noisy = normal_signals(4, SignalConfig(noise_std=0.1), np.random.default_rng(3))
    assert 0.08 < np.std(noisy - a) < 0.12


def test_normal_signals_respect_the_configured_ranges():
    config = SignalConfig(length=64, amplitude_range=(1.0, 1.0), frequency_range=(0.5, 0.5))
    signals = normal_signals(3, config, np.random.default_rng(0))
    np.testing.assert_allclose(signals, np.broadcast_to(3 * np.sin(0.5 * config.grid()), (3, 64)))


# --------------------------------------------------------------------------- anomaly kinds


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_severity_zero_gives_back_the_normal_signal_and_an_empty_mask(kind):
    y = normal(1)
    signal, mask = inject_anomaly(kind, y, X, np.random.default_rng(2), severity=0.0)
    assert np.array_equal(signal, y) and signal is not y
    assert mask.shape == y.shape and mask.dtype == bool and not mask.any()


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("seed", range(5))
def test_full_severity_changes_the_signal_exactly_where_the_mask_says(kind, seed):
    y = normal(seed)
    before = y.copy()
    signal, mask = inject_anomaly(kind, y, X, np.random.default_rng(100 + seed), severity=1.0)
    assert np.array_equal(y, before), "the normal signal must not be changed in place"
    assert signal.shape == y.shape and mask.shape == y.shape and mask.dtype == bool
    assert mask.any()
    diff = signal - y
    assert np.all(diff[~mask] == 0)
    # Every kind is at least half the signal's RMS somewhere at full severity.
    assert np.abs(diff[mask]).max() > 0.5 * np.sqrt(np.mean(y**2))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_the_location_does_not_depend_on_the_severity(kind):
    y = normal(5)
    full = inject_anomaly(kind, y, X, np.random.default_rng(9), severity=1.0)
    half = inject_anomaly(kind, y, X, np.random.default_rng(9), severity=0.5)
    assert np.array_equal(full.mask, half.mask)
    full_change = np.linalg.norm(full.signal - y)
    half_change = np.linalg.norm(half.signal - y)
    assert 0 < half_change < full_change


@pytest.mark.parametrize("kind", LINEAR_KINDS)
def test_the_change_scales_with_the_severity(kind):
    y = normal(6)
    full = inject_anomaly(kind, y, X, np.random.default_rng(4), severity=1.0)
    part = inject_anomaly(kind, y, X, np.random.default_rng(4), severity=0.3)
    np.testing.assert_allclose(part.signal - y, 0.3 * (full.signal - y), atol=1e-12)


def best_sine(diff: np.ndarray, frequencies: np.ndarray, basis: np.ndarray) -> tuple[float, ...]:
    """The least-squares ``A sin(f x)`` over a grid of f: A, f and the residual's norm."""
    amplitudes = basis @ diff / np.einsum("fl,fl->f", basis, basis)
    residuals = np.linalg.norm(diff - amplitudes[:, None] * basis, axis=1)
    i = int(np.argmin(residuals))
    return float(amplitudes[i]), float(frequencies[i]), float(residuals[i])


COARSE = np.arange(4.5, 10.5, 0.005)
COARSE_BASIS = np.sin(COARSE[:, None] * X)  # (F, L)


def fit_sine(diff: np.ndarray) -> tuple[float, float, float]:
    """Fit ``A sin(f x)`` with f > 0 to ``diff``; return A, f and the relative residual."""
    amplitude, frequency, residual = best_sine(diff, COARSE, COARSE_BASIS)
    for step in (0.005, 1e-4):
        fine = np.linspace(frequency - step, frequency + step, 101)
        amplitude, frequency, residual = best_sine(diff, fine, np.sin(fine[:, None] * X))
    return amplitude, frequency, residual / float(np.linalg.norm(diff))


def test_high_frequency_at_full_severity_is_the_classic_recipe():
    fits = []
    for seed in range(40):
        y = normal(seed)
        signal, mask = high_frequency(y, X, np.random.default_rng(seed + 1000), 1.0)
        assert mask.all()
        fits.append(fit_sine(signal - y))
    amplitudes, frequencies, residuals = np.array(fits).T

    # The difference is one sine, A sin(f x), with |A| in [2, 5] and |f| in [5, 10].
    assert residuals.max() < 1e-3
    assert np.all((np.abs(amplitudes) > 2 - 1e-3) & (np.abs(amplitudes) < 5 + 1e-3))
    assert np.all((frequencies > 5 - 1e-3) & (frequencies < 10 + 1e-3))
    # Drawn across the ranges, with both signs.
    assert np.abs(amplitudes).min() < 3 and np.abs(amplitudes).max() > 4
    assert frequencies.min() < 6 and frequencies.max() > 9
    assert (amplitudes > 0).any() and (amplitudes < 0).any()


def test_anomaly_kinds_accept_a_float32_signal():
    y = normal(2).astype(np.float32)
    signal, mask = inject_anomaly("level_shift", y, X, np.random.default_rng(0))
    assert signal.dtype == np.float64 and np.all(signal[~mask] == y[~mask])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"kind": "wobble"}, ValueError, "known kinds: amplitude_change, drift"),
        ({"severity": 1.5}, ValueError, "severity must be a number in \\[0, 1\\]"),
        ({"severity": -0.1}, ValueError, "got -0.1"),
        ({"severity": float("nan")}, ValueError, "severity"),
        ({"severity": True}, ValueError, "severity"),
        ({"signal": np.zeros((2, 1000))}, ValueError, "1-D and of the same length"),
        ({"x": X[:-1]}, ValueError, r"got signal \(1000,\) and x \(999,\)"),
        ({"signal": np.r_[np.nan, np.zeros(999)]}, ValueError, "NaN or infinite"),
        ({"signal": np.zeros(4), "x": np.zeros(4)}, ValueError, "at least 8 steps"),
        ({"rng": 3}, TypeError, "np.random.default_rng"),
    ],
)
def test_anomaly_arguments_are_checked(arguments, error, message):
    call = {
        "kind": "spikes",
        "signal": normal(0),
        "x": X,
        "rng": np.random.default_rng(0),
        "severity": 1.0,
    }
    with pytest.raises(error, match=message):
        inject_anomaly(**(call | arguments))


# --------------------------------------------------------------------------- data sets


def test_dataset_shapes_and_dtypes(dataset):
    assert dataset.train.shape == (40, 1, 1000) and dataset.train.dtype == np.float32
    assert dataset.val.shape == (10, 1, 1000) and dataset.val.dtype == np.float32
    assert dataset.test.shape == (48, 1, 1000) and dataset.test.dtype == np.float32
    assert dataset.test_labels.shape == (48,) and dataset.test_labels.dtype == np.int64
    assert dataset.test_kinds.shape == (48,) and dataset.test_kinds.dtype.kind == "U"
    assert dataset.test_severity.shape == (48,) and dataset.test_severity.dtype == np.float64
    assert dataset.test_masks.shape == (48, 1000) and dataset.test_masks.dtype == bool
    assert np.array_equal(dataset.x, X) and dataset.length == 1000
    assert repr(dataset) == "SignalDataset(train=40, val=10, test=48 (24 abnormal), length=1000)"


def test_dataset_labels_kinds_severities_and_masks_agree(dataset):
    abnormal = dataset.test_labels == 1
    assert abnormal.sum() == 24
    assert np.all((dataset.test_kinds == "normal") == ~abnormal)
    assert np.all(dataset.test_severity[~abnormal] == 0)
    severity = dataset.test_severity[abnormal]
    assert np.all((severity >= 0.3) & (severity <= 1.0)) and len(np.unique(severity)) == 24
    assert not dataset.test_masks[~abnormal].any()
    assert dataset.test_masks[abnormal].any(axis=1).all()
    # Eight kinds over 24 anomalies: three of each.
    kinds, counts = np.unique(dataset.test_kinds[abnormal], return_counts=True)
    assert sorted(kinds) == sorted(ALL_KINDS) and set(counts) == {3}


def test_train_and_val_hold_only_normal_signals(dataset):
    assert high_frequency_share(dataset.train).max() < 1e-4
    assert high_frequency_share(dataset.val).max() < 1e-4
    test_normals = dataset.test[dataset.test_labels == 0]
    assert high_frequency_share(test_normals).max() < 1e-4
    # The check can fail: the classic anomaly puts energy above the cutoff.
    fast = dataset.test[dataset.test_kinds == "high_frequency"]
    assert len(fast) == 3 and high_frequency_share(fast).min() > 1e-2


def test_dataset_masks_mark_exactly_what_changed():
    arguments = {"kinds": ALL_KINDS, "seed": 3}
    full = make_signal_dataset(0, 0, 32, severity=1.0, **arguments)
    zero = make_signal_dataset(0, 0, 32, severity=0.0, **arguments)
    # At severity 0 the anomalies are the normal signals they were made from.
    assert np.array_equal(full.test_labels, zero.test_labels)
    assert not zero.test_masks.any()
    diff = (full.test - zero.test)[:, 0, :]
    assert np.all(diff[~full.test_masks] == 0)
    abnormal = full.test_labels == 1
    assert np.all(np.abs(np.where(full.test_masks, diff, 0)[abnormal]).max(axis=1) > 0)


def test_datasets_are_reproducible_and_seeds_differ():
    a = make_signal_dataset(8, 4, 16, kinds=ALL_KINDS, severity=(0.1, 0.9), seed=11)
    b = make_signal_dataset(8, 4, 16, kinds=ALL_KINDS, severity=(0.1, 0.9), seed=11)
    c = make_signal_dataset(8, 4, 16, kinds=ALL_KINDS, severity=(0.1, 0.9), seed=12)
    for name in ("train", "val", "test", "test_labels", "test_kinds", "test_severity"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.test_masks, b.test_masks)
    for name in ("train", "val", "test"):
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name


def test_the_test_set_size_leaves_training_data_alone():
    small = make_signal_dataset(8, 4, 10, seed=5)
    large = make_signal_dataset(8, 4, 50, anomaly_share=0.2, kinds="spikes", seed=5)
    assert np.array_equal(small.train, large.train)
    assert np.array_equal(small.val, large.val)


@pytest.mark.parametrize(
    ("share", "n_test", "expected"),
    [(0.5, 10, 5), (0.25, 10, 3), (0.0, 10, 0), (1.0, 7, 7), (0.1, 30, 3), (0.5, 0, 0)],
)
def test_the_anomaly_share_is_as_configured(share, n_test, expected):
    ds = make_signal_dataset(1, 1, n_test, anomaly_share=share, config=SignalConfig(length=64))
    assert int(ds.test_labels.sum()) == expected
    assert np.all(ds.test_kinds[ds.test_labels == 1] == "high_frequency")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_train": -1}, "n_train must be a non-negative integer; got -1"),
        ({"n_test": 2.5}, "n_test must be a non-negative integer"),
        ({"anomaly_share": 1.2}, r"anomaly_share must be a number in \[0, 1\]; got 1.2"),
        ({"anomaly_share": -0.1}, "anomaly_share"),
        ({"kinds": ("spikes", "wobble")}, "unknown anomaly kind 'wobble'; known kinds: "),
        ({"kinds": ()}, "kinds is empty; name at least one of: amplitude_change"),
        ({"severity": 2.0}, r"severity must be a number in \[0, 1\]"),
        ({"severity": (0.8, 0.2)}, r"0 <= low <= high <= 1; got \(0.8, 0.2\)"),
        ({"severity": (0.5, 1.5)}, "severity"),
        ({"severity": (0.1, 0.2, 0.3)}, "a \\(low, high\\) pair"),
        ({"seed": -3}, "seed must be a non-negative integer"),
    ],
)
def test_bad_dataset_arguments_are_rejected(arguments, message):
    call = {"n_train": 2, "n_val": 2, "n_test": 2} | arguments
    with pytest.raises(ValueError, match=message):
        make_signal_dataset(call.pop("n_train"), call.pop("n_val"), call.pop("n_test"), **call)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"length": 4}, "length must be an integer of at least 8; got 4"),
        ({"length": 100.0}, "length must be an integer"),
        ({"n_components": 0}, "n_components must be a positive integer"),
        ({"x_range": (1.0, 1.0)}, "x_range must run from low to high"),
        ({"amplitude_range": (2.0, -2.0)}, "amplitude_range must be a \\(low, high\\) tuple"),
        ({"frequency_range": (0.0, math.inf)}, "finite numbers"),
        ({"noise_std": -0.1}, "noise_std must be a finite number >= 0"),
    ],
)
def test_bad_configurations_are_rejected(arguments, message):
    with pytest.raises(ValueError, match=message):
        SignalConfig(**arguments)


# --------------------------------------------------------------------------- files


def assert_same(a: SignalDataset, b: SignalDataset) -> None:
    for name in ("train", "val", "test", "test_labels", "test_kinds", "test_severity"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype and np.array_equal(left, right), name
    assert np.array_equal(a.test_masks, b.test_masks) and np.array_equal(a.x, b.x)


def test_save_and_load_round_trip(dataset, tmp_path):
    path = save_signal_dataset(dataset, tmp_path / "runs" / "signals.npz")
    assert path == tmp_path / "runs" / "signals.npz"
    assert [p.name for p in path.parent.iterdir()] == ["signals.npz"]
    # Plain arrays only: readable without pickle.
    with np.load(path, allow_pickle=False) as npz:
        assert npz["test_kinds"].dtype.kind == "U"
    assert_same(load_signal_dataset(path), dataset)


def test_saving_replaces_a_file_whole_or_not_at_all(dataset, tmp_path, monkeypatch):
    path = tmp_path / "signals.npz"
    other = make_signal_dataset(2, 2, 2, seed=1)
    save_signal_dataset(other, path)
    before = path.read_bytes()

    def fail_halfway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        save_signal_dataset(dataset, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["signals.npz"]

    monkeypatch.undo()
    save_signal_dataset(dataset, path)
    assert_same(load_signal_dataset(path), dataset)


def test_loading_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no signal dataset at .*nothing.npz"):
        load_signal_dataset(tmp_path / "nothing.npz")


def test_loading_corrupt_files_is_rejected_clearly(dataset, tmp_path):
    good = save_signal_dataset(dataset, tmp_path / "good.npz").read_bytes()
    cases = {
        "garbage.npz": (b"this is not an archive at all", "is not an .npz archive"),
        "empty.npz": (b"", "is not an .npz archive"),
        "truncated.npz": (good[: len(good) // 2], "cannot read a signal dataset"),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"{expected}.*save_signal_dataset") as err:
            load_signal_dataset(tmp_path / name)
        assert "pickle" not in str(err.value)

    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="is not an .npz archive"):
        load_signal_dataset(tmp_path / "single.npy")


def test_loading_an_archive_with_missing_or_wrong_arrays_is_rejected(dataset, tmp_path):
    np.savez(tmp_path / "other.npz", train=dataset.train)
    with pytest.raises(ValueError, match="lacks the array\\(s\\) format, val, test"):
        load_signal_dataset(tmp_path / "other.npz")

    path = save_signal_dataset(dataset, tmp_path / "signals.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["test_masks"] = arrays["test_masks"][:, :-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="malformed signal dataset: test_masks must be shaped"):
        load_signal_dataset(tmp_path / "bad.npz")


def test_saving_onto_a_folder_is_refused_naming_a_file_to_use(dataset, tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is a folder; give a file name .*signals\.npz"):
        save_signal_dataset(dataset, tmp_path)
    assert list(tmp_path.iterdir()) == []
