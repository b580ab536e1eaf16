import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from aelab.detection import AutoencoderDetector, ThresholdSpec

LENGTH = 128


def sines(n, rng, extra=False):
    x = np.linspace(0, 4 * np.pi, LENGTH)
    amp = rng.uniform(0.5, 1.5, (n, 2, 1))
    freq = rng.uniform(0.5, 1.5, (n, 2, 1))
    y = (amp * np.sin(freq * x)).sum(axis=1)
    if extra:
        y = y + rng.uniform(2, 3, (n, 1)) * np.sin(rng.uniform(5, 10, (n, 1)) * x)
    return y[:, None, :].astype(np.float32)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    rng = np.random.default_rng(0)
    detector = AutoencoderDetector(
        model_config={"channels": [16, 8], "latent_channels": 8},
        train_config={"max_epochs": 12, "batch_size": 32, "progress_bar": False},
        log_dir=tmp_path_factory.mktemp("logs"),
    )
    return detector.fit(sines(520, rng))


def test_detector_separates_added_high_frequency(fitted):
    rng = np.random.default_rng(1)
    test = np.concatenate([sines(50, rng), sines(50, rng, extra=True)])
    labels = np.r_[np.zeros(50), np.ones(50)]
    scores = fitted.score(test)
    assert scores.errors.shape == test.shape
    assert roc_auc_score(labels, scores.scores) >= 0.99
    assert (fitted.predict(test) == labels).mean() >= 0.9


def test_score_equal_to_threshold_is_normal(fitted):
    rng = np.random.default_rng(2)
    sample = sines(1, rng)
    fitted_copy = AutoencoderDetector.load(fitted.save(fitted.log_dir / "model"))
    fitted_copy.threshold_ = float(fitted_copy.decision_function(sample)[0])
    assert fitted_copy.predict(sample)[0] == 0
    fitted_copy.threshold_ = np.nextafter(fitted_copy.threshold_, -np.inf)
    assert fitted_copy.predict(sample)[0] == 1


def test_save_load_gives_identical_scores(fitted, tmp_path):
    rng = np.random.default_rng(3)
    data = sines(20, rng)
    loaded = AutoencoderDetector.load(fitted.save(tmp_path / "det"))
    np.testing.assert_array_equal(loaded.score(data).scores, fitted.score(data).scores)
    assert loaded.threshold_ == fitted.threshold_
    assert sorted(p.name for p in (tmp_path / "det").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda extra: extra.pop("mean"), "lacks the AutoencoderDetector entry 'mean'"),
        (
            lambda extra: extra["params"].update(colour="red"),
            "malformed AutoencoderDetector entry 'params': .*colour",
        ),
        (
            lambda extra: extra.update(threshold_spec=[99]),
            "malformed AutoencoderDetector entry 'threshold_spec'",
        ),
        (
            lambda extra: extra.update(threshold=float("nan")),
            "malformed AutoencoderDetector entry 'threshold': expected a finite number",
        ),
        (
            lambda extra: extra.update(val_scores=["low"]),
            "malformed AutoencoderDetector entry 'val_scores': could not convert",
        ),
    ],
)
def test_load_names_a_missing_or_malformed_entry(fitted, tmp_path, edit, message):
    folder = fitted.save(tmp_path / "det")
    config = json.loads((folder / "config.json").read_text())
    edit(config["extra"])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        AutoencoderDetector.load(folder)


def test_univariate_2d_input_is_accepted(fitted):
    data = sines(4, np.random.default_rng(4))
    np.testing.assert_allclose(fitted.score(data[:, 0, :]).scores, fitted.score(data).scores)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros((3, 1, LENGTH + 4), np.float32), r"must be shaped \(N, 1, 128\)"),
        (np.full((3, 1, LENGTH), np.nan, np.float32), "NaN or infinite"),
        (np.zeros((0, 1, LENGTH), np.float32), "empty"),
    ],
)
def test_bad_inputs_are_rejected_clearly(fitted, data, message):
    with pytest.raises(ValueError, match=message):
        fitted.score(data)


def test_not_fitted_is_a_clear_error():
    with pytest.raises(NotFittedError):
        AutoencoderDetector().predict(np.zeros((2, 1, LENGTH)))


def test_fit_rejects_nan_and_too_little_data(tmp_path):
    bad = np.zeros((10, 1, LENGTH), np.float32)
    bad[3, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AutoencoderDetector(log_dir=tmp_path).fit(bad)
    with pytest.raises(ValueError, match="cannot hold out"):
        AutoencoderDetector(log_dir=tmp_path).fit(np.zeros((1, 1, LENGTH)))


def test_get_params_round_trip():
    detector = AutoencoderDetector(validation_share=0.3)
    assert detector.get_params()["validation_share"] == 0.3
    assert detector.set_params(validation_share=0.1).validation_share == 0.1


def test_model_config_that_contradicts_the_data_is_refused(tmp_path):
    detector = AutoencoderDetector(model_config={"length": 128}, log_dir=tmp_path)
    with pytest.raises(ValueError, match=r"model_config sets length=128, but .* \(1, 100\)"):
        detector.fit(np.zeros((10, 1, 100), dtype=np.float32))
    assert not any(tmp_path.iterdir())


def test_f1_threshold_is_refused_before_training(tmp_path):
    detector = AutoencoderDetector(threshold=ThresholdSpec("f1"), log_dir=tmp_path / "logs")
    with pytest.raises(ValueError, match="f1 threshold needs labelled anomalies"):
        detector.fit(sines(40, np.random.default_rng(5)))
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        ("image_ae", np.zeros((20, 1, LENGTH), np.float32), "use one of: signal_ae, signal_vae"),
        ("signal_ae", np.zeros((20, 1, 28, 28), np.float32), "use one of: image_ae, image_vae"),
    ],
)
def test_a_network_for_other_samples_is_named(tmp_path, model, data, message):
    detector = AutoencoderDetector(model=model, log_dir=tmp_path / "logs")
    with pytest.raises(ValueError, match=f"model '{model}' does not take .*{message}"):
        detector.fit(data)
    assert not (tmp_path / "logs").exists()
