import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from aelab.data.benchmarks import load_cwru, load_skab_run
from aelab.data.sensors import SensorDataError, find_events
from aelab.detection import SensorDetector, ThresholdSpec
from aelab.plots import sensor_contributions, sensor_scores

WINDOW = 16
STRIDE = 3  # leaves a tail uncovered for most lengths, so the tail window is exercised
FAST = {"max_epochs": 3, "batch_size": 32, "progress_bar": False}
SMALL = {"channels": [16, 8], "latent_channels": 4}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny networks: one thread beats two that wait on each other on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run(shared_data):
    return load_skab_run("valve1/13", root=shared_data)


@pytest.fixture(scope="module")
def fitted(run, tmp_path_factory):
    detector = SensorDetector(
        window=WINDOW,
        stride=STRIDE,
        model_config=SMALL,
        train_config=FAST,
        difference="auto",
        log_dir=tmp_path_factory.mktemp("logs"),
    )
    training = run.to_frame().drop(columns="label").iloc[:400]  # SKAB's training rows
    with pytest.warns(UserWarning, match="percentile"):  # 80 validation steps for q = 99
        return detector.fit(training)


@pytest.fixture(scope="module")
def scored(fitted, run):
    return fitted.score(run)


# ---------------------------------------------------------------------------------------
# Fitting and scoring


def test_scores_per_step_sensor_and_window(fitted, run, scored):
    n_steps, channels = run.values.shape
    assert scored.scores.shape == (n_steps,)
    assert scored.errors.shape == (n_steps, channels)
    assert scored.alarms.shape == (n_steps,)
    assert np.isfinite(scored.scores).all() and np.isfinite(scored.errors).all()
    # Every step is covered, the tail window included.
    n_windows = (n_steps - WINDOW) // STRIDE + 1 + ((n_steps - WINDOW) % STRIDE > 0)
    assert scored.window_starts.shape == scored.window_scores.shape == (n_windows,)
    assert scored.window_starts[-1] == n_steps - WINDOW
    np.testing.assert_allclose(scored.scores, scored.errors.mean(axis=1), rtol=1e-6)
    assert scored.features == run.features == fitted.features_
    assert scored.time.equals(run.time)


def test_fit_learns_state_and_threshold_from_validation_steps(fitted):
    assert fitted.n_features_ == 8
    # The two slow temperature sensors (lag-1 autocorrelation 0.98 and 0.89) only.
    assert fitted.differenced_ == ["Temperature", "Thermocouple"]
    assert fitted.scaler_.n_channels_ == 8
    assert fitted.val_scores_.shape == (80,)  # the last 20 % of 400 rows
    assert fitted.threshold_ == pytest.approx(np.percentile(fitted.val_scores_, 99))
    assert fitted.window_threshold_ == fitted.detector_.threshold_
    assert not fitted.detector_.standardize


def test_valve_closure_scores_above_normal_rows(run, scored):
    # Three epochs on 400 rows: measured ROC-AUC 0.90 on the test rows of valve1/13.
    test = slice(400, None)
    assert roc_auc_score(run.labels[test], scored.scores[test]) >= 0.8


def test_alarm_is_strictly_above_threshold(fitted, run):
    clone = SensorDetector.load(fitted.save(fitted.log_dir / "model"))
    scores = clone.score(run).scores
    clone.threshold_ = float(scores[500])
    alarms = clone.predict(run)
    assert alarms[500] == 0
    np.testing.assert_array_equal(alarms, (scores > scores[500]).astype(int))


def test_events_are_the_runs_of_alarms(fitted, scored):
    assert scored.events == find_events(
        scored.scores,
        fitted.threshold_,
        time=scored.time,
        contributions=scored.errors,
        feature_names=scored.features,
    )
    flagged = np.zeros(len(scored.scores), dtype=int)
    for event in scored.events:
        flagged[event.start : event.end + 1] = 1
        assert len(event.top_features) == 3
        assert set(event.top_features) <= set(scored.features)
        assert event.start_time == scored.time[event.start]
    np.testing.assert_array_equal(flagged, scored.alarms)


def test_to_frame_has_a_row_per_step_and_a_column_per_sensor(scored):
    frame = scored.to_frame()
    assert list(frame.columns[:2]) == ["score", "alarm"]
    assert [c.removeprefix("error_") for c in frame.columns[2:]] == scored.features
    assert len(frame) == len(scored.scores) and frame.index.name == "datetime"


def test_dataframe_and_array_inputs_score_alike(fitted, run, scored):
    frame = run.to_frame().drop(columns="label")
    shuffled = frame[frame.columns[::-1]].assign(other=1.0)  # columns are taken by name
    np.testing.assert_array_equal(fitted.score(shuffled).scores, scored.scores)
    np.testing.assert_array_equal(fitted.score(run.values).scores, scored.scores)


def test_differencing_named_sensors(fitted, run):
    clone = SensorDetector.load(fitted.save(fitted.log_dir / "diff"))
    clone.differenced_ = ["Pressure"]
    changed = clone._difference(run.values[:5])
    np.testing.assert_array_equal(
        changed[:, 3], np.diff(run.values[:5, 3], prepend=run.values[0, 3])
    )
    np.testing.assert_array_equal(
        np.delete(changed, 3, axis=1), np.delete(run.values[:5], 3, axis=1)
    )
    with pytest.raises(ValueError, match="'Flow'"):
        SensorDetector(window=WINDOW, difference=["Flow"]).fit(run.to_frame().iloc[:400])


def test_min_duration_drops_short_events(fitted, run, scored):
    clone = SensorDetector.load(fitted.save(fitted.log_dir / "debounce"))
    clone.min_duration = 5
    kept = clone.score(run)
    assert kept.events == [e for e in scored.events if e.n_steps >= 5]
    assert kept.alarms.sum() == sum(e.n_steps for e in kept.events) < scored.alarms.sum()


def test_the_seed_alone_fixes_the_fit(run, tmp_path):
    def fit_once(global_seed):
        torch.manual_seed(global_seed)  # the global generator must not matter
        detector = SensorDetector(
            window=WINDOW,
            stride=4,
            model_config=SMALL,
            train_config=FAST,
            log_dir=tmp_path / str(global_seed),
        )
        with pytest.warns(UserWarning, match="percentile"):
            return detector.fit(run.values[:200]).score(run.values[:200]).scores

    np.testing.assert_array_equal(fit_once(1), fit_once(2))


def test_labelled_rows_are_kept_out_of_training(run, tmp_path):
    detector = SensorDetector(window=WINDOW, stride=STRIDE, model_config=SMALL, train_config=FAST)
    with pytest.raises(SensorDataError, match="every training row is labelled"):
        detector.fit(run.values[:400], y=np.ones(400, dtype=int))


# ---------------------------------------------------------------------------------------
# Streaming


@pytest.mark.parametrize("chunk", [1, 7, WINDOW, 10_000])
def test_streaming_equals_batch(fitted, run, chunk):
    values = run.values[:150]  # 150 - 16 is not a multiple of the stride: a tail window
    batch = fitted.score(values)
    scorer = fitted.stream()
    updates = []
    for start in range(0, len(values), chunk):
        updates.append(scorer.update(values[start : start + chunk]))
        # Bounded memory: the last window of rows, and the steps not yet final.
        assert len(scorer._buffer) <= WINDOW
        assert len(scorer._counts) <= WINDOW + max(chunk, STRIDE)
    updates.append(scorer.finish())

    joined = {f: np.concatenate([getattr(u, f) for u in updates]) for f in updates[0]._fields}
    np.testing.assert_array_equal(joined["window_starts"], batch.window_starts)
    np.testing.assert_array_equal(joined["window_scores"], batch.window_scores)
    np.testing.assert_array_equal(joined["steps"], np.arange(len(values)))
    np.testing.assert_array_equal(joined["scores"], batch.scores)
    np.testing.assert_array_equal(joined["errors"], batch.errors)
    np.testing.assert_array_equal(joined["alarms"], batch.alarms)


def test_stream_takes_dataframes_and_refuses_rows_after_finish(fitted, run):
    frame = run.to_frame().drop(columns="label").iloc[:40]
    scorer = fitted.stream()
    first = scorer.update(frame.iloc[:20])
    assert first.window_starts.tolist() == [0, 3]  # windows ending at rows 15 and 18
    assert first.steps.tolist() == [0, 1, 2, 3]  # more than a window behind row 19
    scorer.update(frame.iloc[20:])
    scorer.finish()
    with pytest.raises(RuntimeError, match="finished"):
        scorer.update(frame.iloc[:1])


def test_stream_of_too_few_rows_fails_at_finish(fitted, run):
    scorer = fitted.stream()
    assert scorer.update(run.values[: WINDOW - 1]).window_scores.size == 0
    with pytest.raises(SensorDataError, match="too few rows"):
        scorer.finish()


# ---------------------------------------------------------------------------------------
# Saving


def test_save_load_gives_identical_scores(fitted, run, scored, tmp_path):
    folder = fitted.save(tmp_path / "model", info={"time_column": "datetime"})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    saved = json.loads((folder / "config.json").read_text())["extra"]["sensor_detector"]
    assert saved["window"] == WINDOW and saved["stride"] == STRIDE
    assert saved["features"] == run.features and saved["threshold"] == fitted.threshold_
    assert saved["scaler"]["mean"] == fitted.scaler_.mean_.tolist()

    loaded = SensorDetector.load(folder)
    again = loaded.score(run)
    np.testing.assert_array_equal(again.scores, scored.scores)
    np.testing.assert_array_equal(again.errors, scored.errors)
    assert again.events == scored.events
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.info_ == {"time_column": "datetime"}


def test_load_refuses_a_plain_autoencoder_folder(fitted, tmp_path):
    folder = fitted.detector_.save(tmp_path / "plain")
    with pytest.raises(ValueError, match="not a SensorDetector"):
        SensorDetector.load(folder)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda own: own.pop("threshold"), "lacks the SensorDetector entry 'threshold'"),
        (
            lambda own: own.update(threshold="high"),
            "malformed SensorDetector entry 'threshold': could not",
        ),
        (
            lambda own: own["scaler"].clear(),
            "malformed SensorDetector entry 'scaler': scaler state lacks mean",
        ),
    ],
)
def test_load_names_a_missing_or_malformed_entry(fitted, tmp_path, edit, message):
    folder = fitted.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    edit(config["extra"]["sensor_detector"])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        SensorDetector.load(folder)


# ---------------------------------------------------------------------------------------
# Bad input


def test_wrong_sensor_count_is_refused(fitted, run):
    with pytest.raises(SensorDataError, match="fitted on 8 sensor"):
        fitted.score(run.values[:, :5])


def test_readings_that_overflow_the_scores_are_refused(fitted, run):
    values = run.values[:200].copy()
    values[50, 2] = 1e30
    sensor = fitted.features_[2]
    with pytest.raises(SensorDataError, match=rf"as large as 1e\+30 \(sensor '{sensor}'\)"):
        fitted.score(values)


def test_missing_sensor_columns_are_named(fitted, run):
    frame = run.to_frame().drop(columns=["Pressure", "Voltage"])
    with pytest.raises(SensorDataError, match="'Pressure', 'Voltage'"):
        fitted.score(frame)


def test_nan_rows_are_refused_with_the_row(fitted, run):
    values = run.values[:100].copy()
    values[42, 3] = np.nan
    with pytest.raises(SensorDataError, match="first at row 42.*fill_gaps"):
        fitted.score(values)


def test_too_few_rows_for_one_window(fitted, run):
    with pytest.raises(SensorDataError, match="too few rows for one window"):
        fitted.score(run.values[: WINDOW - 1])
    with pytest.raises(SensorDataError, match="too few rows to hold out"):
        SensorDetector(window=WINDOW).fit(run.values[:50])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stride": WINDOW + 1}, "stride 17 is longer than the window"),
        ({"window": 0}, "window must be a positive integer"),
        ({"threshold": ThresholdSpec("f1")}, "f1 threshold needs labelled"),
        ({"validation_share": 1.0}, "validation_share must be in"),
    ],
)
def test_bad_settings_are_refused(run, settings, message):
    detector = SensorDetector(**{"window": WINDOW, **settings})
    with pytest.raises(ValueError, match=message):
        detector.fit(run.values[:400])


def test_not_fitted(run):
    with pytest.raises(NotFittedError):
        SensorDetector().score(run.values)


def test_refit_threshold_with_f1_uses_labels(fitted, run):
    clone = SensorDetector.load(fitted.save(fitted.log_dir / "refit"))
    clone.refit_threshold(run, ThresholdSpec("f1"))
    figures = clone.score(run)
    assert figures.threshold == clone.threshold_ != fitted.threshold_
    assert np.isin(clone.threshold_, figures.scores)  # thresholds sit on a score


# ---------------------------------------------------------------------------------------
# Plots


def test_sensor_plots_are_written(run, scored, tmp_path):
    common = {"time": run.time, "features": run.features, "events": scored.events}
    first = sensor_scores(
        run.values, scored.scores, scored.threshold, tmp_path / "s.png", labels=run.labels, **common
    )
    second = sensor_contributions(scored.errors, tmp_path / "c.png", **common)
    assert first.stat().st_size > 10_000 and second.stat().st_size > 10_000
    # Without time or names: steps on the x axis.
    assert sensor_scores(run.values[:50, :2], scored.scores[:50], 1.0, tmp_path / "n.png").is_file()


# ---------------------------------------------------------------------------------------
# A quality floor on real bearings


def test_cwru_inner_race_fault_scores_above_healthy_windows(shared_data, tmp_path):
    normal = load_cwru("normal", root=shared_data)
    fault = load_cwru("IR007", root=shared_data)
    detector = SensorDetector(
        window=1000,
        stride=1000,
        model_config={"channels": [16, 8], "latent_channels": 4},
        train_config={"max_epochs": 4, "batch_size": 16, "progress_bar": False},
        threshold=ThresholdSpec("mean_std"),
        log_dir=tmp_path,
    ).fit(normal[:60_000])  # 60 windows: 48 train, 12 validate
    healthy = detector.score(normal[100_000:120_000]).window_scores  # 20 windows
    faulty = detector.score(fault[:20_000]).window_scores
    labels = np.r_[np.zeros(20), np.ones(20)]
    # Measured 1.0; the floor leaves room for other machines and seeds.
    assert roc_auc_score(labels, np.r_[healthy, faulty]) >= 0.9
    assert pd.Series(faulty).gt(detector.window_threshold_).mean() >= 0.8
