"""Drive the command line as a user would, on small data."""

import json
import warnings

import pytest
from typer.testing import CliRunner

from aelab.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_signals_generate_train_evaluate(tmp_path):
    data = tmp_path / "data.npz"
    fast = ["--epochs", "3", "--batch-size", "32", "--no-progress"]
    assert (
        invoke(
            "signals",
            "generate",
            "--out",
            data,
            "--n-train",
            200,
            "--n-val",
            100,
            "--n-test",
            60,
            "--length",
            200,
            "--kinds",
            "all",
            "--severity",
            "0.5,1",
        ).exit_code
        == 0
    )
    trained = invoke("signals", "train", data, "--out", tmp_path / "run", *fast)
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    evaluated = invoke(
        "signals", "evaluate", tmp_path / "run" / "model", data, "--out", tmp_path / "eval"
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "autoencoder" in evaluated.output and "Isolation Forest" in evaluated.output
    results = json.loads((tmp_path / "eval" / "signals_results.json").read_text())
    assert {row["method"] for row in results["classification"]} >= {"autoencoder"}
    normal_only = tmp_path / "normal.npz"
    small = ["--n-train", 40, "--n-val", 20, "--n-test", 20, "--length", 200]
    generated = invoke("signals", "generate", "--out", normal_only, *small, "--anomaly-share", 0)
    assert generated.exit_code == 0, generated.output
    refused = invoke(
        "signals", "evaluate", tmp_path / "run" / "model", normal_only, "-o", tmp_path / "e2"
    )
    assert refused.exit_code == 2 and "20 signals, all normal" in refused.output
    assert not (tmp_path / "e2").exists()


def test_bad_inputs_give_clear_errors(tmp_path):
    missing = invoke("signals", "train", tmp_path / "nope.npz", "--out", tmp_path / "r")
    assert missing.exit_code == 2 and "nope.npz" in missing.output
    bad_kind = invoke("signals", "generate", "--out", tmp_path / "d.npz", "--kinds", "wobble")
    assert bad_kind.exit_code == 2 and "wobble" in bad_kind.output
    bad_model = invoke("signals", "evaluate", tmp_path, tmp_path / "d.npz")
    assert bad_model.exit_code == 2 and "config.json" in bad_model.output


def test_a_run_never_writes_into_a_folder_holding_files(tmp_path):
    data = tmp_path / "data.npz"
    small = ["--n-train", 40, "--n-val", 20, "--n-test", 20, "--length", 64]
    assert invoke("signals", "generate", "--out", data, *small).exit_code == 0
    earlier = tmp_path / "run"
    earlier.mkdir()
    (earlier / "results.json").write_text("mine")
    refused = invoke("signals", "train", data, "--out", earlier, "--epochs", 1)
    assert refused.exit_code == 2
    assert "already holds files (results.json)" in refused.output
    assert [p.name for p in earlier.iterdir()] == ["results.json"]
    assert (earlier / "results.json").read_text() == "mine"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--loss", "bce"], "loss 'bce' needs a sigmoid output"),
        (["--accelerator", "nosuch"], "cannot train with accelerator='nosuch'"),
        (["--devices", "abc"], "cannot train with accelerator='auto', devices='abc'"),
    ],
)
def test_training_settings_that_cannot_work_give_one_line(tmp_path, option, message):
    data = tmp_path / "data.npz"
    small = ["--n-train", 40, "--n-val", 20, "--n-test", 20, "--length", 64]
    assert invoke("signals", "generate", "--out", data, *small).exit_code == 0
    result = invoke("signals", "train", data, "--out", tmp_path / "run", "--epochs", 1, *option)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.usefixtures("shared_data")
def test_mnist_train_evaluate_plots(tmp_path, shared_data):
    mnist = shared_data / "mnist"
    out = tmp_path / "mnist"
    trained = invoke(
        "mnist",
        "train",
        "--mnist-dir",
        mnist,
        "--out",
        out,
        "--limit",
        512,
        "--epochs",
        1,
        "--no-progress",
    )
    assert trained.exit_code == 0, trained.output
    assert "PCA (2 components)" in trained.output
    for name in (
        "reconstructions",
        "worst_reconstructions",
        "latent_space",
        "latent_grid",
        "interpolation",
        "loss_curves",
    ):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    evaluated = invoke(
        "mnist", "evaluate", out / "model", "--mnist-dir", mnist, "--out", tmp_path / "eval"
    )
    assert evaluated.exit_code == 0, evaluated.output
    plotted = invoke(
        "mnist",
        "plots",
        out / "model",
        "--mnist-dir",
        mnist,
        "--out",
        tmp_path / "figs",
        "--pair",
        3,
        4,
    )
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "figs" / "interpolation.png").is_file()
    for bad in ([3, 10_000], [-1, 4]):
        refused = invoke(
            "mnist",
            "plots",
            out / "model",
            "--mnist-dir",
            mnist,
            "-o",
            tmp_path / "f2",
            "--pair",
            *bad,
        )
        assert refused.exit_code == 2
        assert "pair takes two test-image indices from 0 to 9999" in refused.output
        assert not (tmp_path / "f2").exists()


def test_mnist_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("AELAB_MNIST_DIR", raising=False)
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path / "data"))
    result = invoke("mnist", "train", "--mnist-dir", tmp_path / "none", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "AELAB_MNIST_DIR" in result.output and "--mnist-dir" in result.output
    assert not (tmp_path / "o").exists()  # nothing written when the data is missing


@pytest.mark.parametrize(
    ("model", "message"),
    [("signal_ae", "'signal_ae' is not an image network"), ("nosuch", "'nosuch' is unknown")],
)
def test_mnist_train_refuses_a_network_that_takes_no_images(tmp_path, model, message):
    # Refused before the data is read: the MNIST folder given holds no files.
    result = invoke(
        "mnist", "train", "--model", model, "--mnist-dir", tmp_path, "-o", tmp_path / "o"
    )
    assert result.exit_code == 2
    assert message in result.output and "image_ae, image_vae" in result.output
    assert not (tmp_path / "o").exists()


def test_demo_without_mnist_fails_before_writing_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AELAB_MNIST_DIR", raising=False)
    result = invoke("demo", "--quick", "--mnist-dir", tmp_path / "none", "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "MNIST not found" in result.output and "--download" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("n_option", "value", "expected"),
    [("--n-train", 0, "--n-train"), ("--severity", "high", "--severity takes a number")],
)
def test_signals_generate_refuses_bad_settings(tmp_path, n_option, value, expected):
    result = invoke("signals", "generate", "--out", tmp_path / "d.npz", n_option, value)
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "d.npz").exists()


@pytest.mark.parametrize(
    ("variant", "figure", "printed"),
    [
        ("variational", "prior_samples", "ELBO"),
        ("denoising", "denoising", "gaussian 0.3 inputs"),
        ("sparse", "latent_space", "share near zero"),
    ],
)
def test_mnist_variants(tmp_path, shared_data, variant, figure, printed):
    out = tmp_path / variant
    result = invoke(
        "mnist",
        "train",
        "--mnist-dir",
        shared_data / "mnist",
        "--out",
        out,
        "--limit",
        256,
        "--epochs",
        1,
        "--latent-dim",
        4,
        "--variant",
        variant,
        "--no-progress",
    )
    assert result.exit_code == 0, result.output
    assert printed in result.output
    assert (out / "figures" / f"{figure}.png").stat().st_size > 1000


def test_warnings_print_as_one_plain_line(capsys):
    from aelab.cli.common import setup_logging
    from aelab.detection.thresholds import ThresholdWarning

    setup_logging()
    warning = ThresholdWarning("too few validation scores")
    warnings.showwarning(warning, ThresholdWarning, "thresholds.py", 83)
    assert capsys.readouterr().err == "warning: too few validation scores\n"


def aelab_process(*args, cwd):
    """Run the installed ``aelab`` in its own process, as Lightning's launcher needs."""
    import subprocess
    import sys
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "aelab"), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_training_on_two_processes_writes_one_run(tmp_path):
    # Lightning's ddp strategy starts a second process that runs the same command: it must
    # train its share, then leave the run folder to the first.
    data = tmp_path / "data.npz"
    small = ["--n-train", 64, "--n-val", 32, "--n-test", 32, "--length", 64]
    assert invoke("signals", "generate", "--out", data, *small).exit_code == 0
    ddp = ["--accelerator", "cpu", "--devices", 2, "--strategy", "ddp", "--epochs", 2]
    result = aelab_process("signals", "train", data, *ddp, "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs
    assert (runs[0] / "model" / "model.safetensors").is_file()
    assert result.stdout.count("threshold:") == 1  # only the main process reports

    # A diverging run stops in every process at the same step, with one clear error.
    out = tmp_path / "diverged"
    result = aelab_process(
        "signals", "train", data, *ddp, "--lr", 1e6, "--out", out, "--no-progress", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "training diverged" in result.stderr and "Traceback" not in result.stderr
    assert not (out / "model").exists()


def test_the_demo_refuses_several_devices(tmp_path):
    result = invoke("demo", "--quick", "--devices", 2, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "the demo trains on one device" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_mnist_train_on_two_processes_into_a_named_folder(tmp_path, shared_data):
    out = tmp_path / "run"
    ddp = ["--accelerator", "cpu", "--devices", 2, "--strategy", "ddp", "--epochs", 1]
    result = aelab_process(
        "mnist", "train", "--mnist-dir", shared_data / "mnist", "--limit", 256, "--out", out,
        *ddp, "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "already holds files" not in result.stderr
    assert (out / "model" / "model.safetensors").is_file()
    assert json.loads((out / "results.json").read_text())["reconstruction"][0]["mse"] > 0
    assert result.stdout.count("model:") == 1


def test_train_set_help_names_every_setting_without_a_flag_of_its_own():
    import dataclasses

    from aelab.cli.options import OTHER_TRAIN_SETTINGS
    from aelab.training import TrainConfig

    flagged = {"loss", "max_epochs", "batch_size", "learning_rate", "seed", "accelerator"}
    flagged |= {"devices", "strategy", "num_nodes", "progress_bar"}
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(OTHER_TRAIN_SETTINGS) == fields - flagged


@pytest.mark.parametrize(
    ("option", "value"),
    [("--seed", -1), ("--epochs", 0), ("--batch-size", 0), ("--limit", 0), ("--num-nodes", 0)],
)
def test_out_of_range_numbers_are_named_by_their_flag(tmp_path, option, value):
    result = invoke("mnist", "train", option, value, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "run").exists()


def test_a_limit_too_small_for_the_pca_baseline_is_refused_before_training(tmp_path):
    result = invoke("mnist", "train", "--limit", 1, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "--limit 1 leaves too few training images" in result.output
    assert not (tmp_path / "run").exists()
