"""``aelab fit`` and ``aelab score`` on a small real sensor log, as a user runs them."""

import json

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from aelab.cli import app

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::aelab.detection.ThresholdWarning")
FAST = ["--window", "16", "--stride", "4", "--epochs", "2", "--batch-size", "32", "--no-progress"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny networks: one thread beats two that wait on each other on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def log_file(shared_data, tmp_path_factory):
    """The first 500 rows of SKAB valve1/0, as a comma-separated file with a gap."""
    frame = pd.read_csv(shared_data / "skab" / "valve1" / "0.csv", sep=";").iloc[:500]
    frame = frame.drop(columns="changepoint")
    frame.loc[10, "Pressure"] = None  # a gap, filled forward
    path = tmp_path_factory.mktemp("data") / "pump.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(log_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "model"
    fitted = invoke(
        "fit",
        log_file,
        "--time-column",
        "datetime",
        "--label-column",
        "anomaly",
        "--train-rows",
        300,
        "--difference",
        "auto",
        "--out",
        out,
        *FAST,
    )
    assert fitted.exit_code == 0, fitted.output
    assert "threshold:" in fitted.output and "Temperature" in fitted.output
    return out


def test_fit_writes_a_model_folder(model_dir):
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((model_dir / "config.json").read_text())["extra"]["sensor_detector"]
    assert config["window"] == 16 and config["stride"] == 4
    assert "anomaly" not in config["features"] and len(config["features"]) == 8
    assert config["info"]["time_column"] == "datetime"
    assert (model_dir.parent / "model-logs" / "metrics.csv").is_file()


def test_score_writes_scores_events_and_plots(model_dir, log_file, tmp_path):
    out = tmp_path / "scored"
    scored = invoke("score", model_dir, log_file, "--label-column", "anomaly", "--out", out)
    assert scored.exit_code == 0, scored.output
    assert "scored 500 time steps" in scored.output and "F1" in scored.output
    for name in ("scores.csv", "events.csv", "events.json", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    for name in ("scores.png", "contributions.png"):
        assert (out / name).stat().st_size > 10_000, name

    # The time column comes from the model; one row per time step, a column per sensor.
    scores = pd.read_csv(out / "scores.csv", index_col="datetime", parse_dates=True)
    assert len(scores) == 500 and scores.index[0] == pd.Timestamp("2020-03-09 10:14:33")
    assert {"score", "alarm", "label", "error_Pressure"} <= set(scores.columns)
    events = json.loads((out / "events.json").read_text())
    assert len(events) == len(pd.read_csv(out / "events.csv"))
    assert all(e["start"] <= e["peak_index"] <= e["end"] for e in events)


def test_missing_file_gives_a_clear_error(tmp_path):
    missing = invoke("fit", tmp_path / "nope.csv", "--out", tmp_path / "m", *FAST)
    assert missing.exit_code == 2 and "no sensor file" in missing.output


def test_file_without_the_fitted_sensors_is_refused(model_dir, log_file, tmp_path):
    frame = pd.read_csv(log_file).drop(columns="Voltage")
    other = tmp_path / "other.csv"
    frame.to_csv(other, index=False)
    refused = invoke("score", model_dir, other, "--out", tmp_path / "s")
    assert refused.exit_code == 2 and "'Voltage' not found" in refused.output


def test_text_in_a_sensor_column_is_refused(log_file, tmp_path):
    frame = pd.read_csv(log_file).astype({"Current": object})
    frame.loc[7, "Current"] = "broken"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    refused = invoke("fit", bad, "--time-column", "datetime", "--out", tmp_path / "m", *FAST)
    assert refused.exit_code == 2
    assert "'Current'" in refused.output and "row 7" in refused.output


def test_too_short_a_file_is_refused(log_file, tmp_path):
    refused = invoke(
        "fit", log_file, "--time-column", "datetime", "--train-rows", 40, "--out", tmp_path / "m"
    )
    assert refused.exit_code == 2 and "too few rows" in refused.output
