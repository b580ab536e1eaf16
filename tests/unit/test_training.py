import json

import numpy as np
import pytest
import torch

from aelab.models import create_model
from aelab.persistence import load_model, save_model
from aelab.training import TrainConfig, fit_autoencoder
from aelab.training.module import corrupt


def test_training_lowers_the_validation_loss(tmp_path):
    x = torch.linspace(0, 6, 64)
    data = torch.stack([torch.sin(x * f) for f in torch.linspace(0.5, 2, 160)])[:, None, :]
    network = create_model("signal_ae", length=64)
    before = torch.nn.functional.mse_loss(network(data[128:]), data[128:]).item()
    config = TrainConfig(max_epochs=4, batch_size=16, progress_bar=False)
    result = fit_autoencoder(network, data[:128], data[128:], config, tmp_path)
    assert result.best_val_loss < before / 2
    assert list(result.history["epoch"]) == [0, 1, 2, 3]
    assert (tmp_path / "metrics.csv").stat().st_size > 0
    assert result.checkpoint.is_file()


def test_fit_rejects_wrong_shapes(tmp_path):
    network = create_model("signal_ae", length=64)
    with pytest.raises(ValueError, match=r"training data must be shaped \(N, 1, 64\)"):
        fit_autoencoder(network, torch.zeros(4, 2, 64), torch.zeros(4, 1, 64), log_dir=tmp_path)


def test_save_and_load_give_identical_reconstructions(tmp_path):
    network = create_model("image_ae", latent_dim=4).eval()
    folder = save_model(tmp_path / "m", network, {"note": "x"})
    saved = load_model(folder)
    images = torch.rand(5, 1, 28, 28)
    assert torch.equal(saved.network(images), network(images))
    assert saved.extra == {"note": "x"}
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == "image_ae" and config["model_config"]["latent_dim"] == 4


def test_saved_files_get_the_modes_of_ordinary_files(tmp_path):
    folder = save_model(tmp_path / "m", create_model("signal_ae"))
    (tmp_path / "plain.txt").write_text("x")
    ordinary = (tmp_path / "plain.txt").stat().st_mode & 0o777
    assert {
        (folder / name).stat().st_mode & 0o777 for name in ("config.json", "model.safetensors")
    } == {ordinary}


def test_saving_again_replaces_the_folder_whole(tmp_path):
    save_model(tmp_path / "m", create_model("signal_ae"))
    save_model(tmp_path / "m", create_model("signal_ae", length=64))
    assert load_model(tmp_path / "m").network.config.length == 64
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_load_rejects_broken_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path)
    folder = save_model(tmp_path / "m", create_model("signal_ae"))
    (folder / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ValueError, match="does not hold weights"):
        load_model(folder)
    (folder / "config.json").write_text("{")
    with pytest.raises(ValueError, match="not an aelab model config"):
        load_model(folder)
    (folder / "config.json").write_text('{"model": "signal_ae", "model_config": {}, "extra": []}')
    with pytest.raises(ValueError, match="'model_config' and 'extra' must be JSON objects"):
        load_model(folder)
    with pytest.raises(FileNotFoundError, match="no model folder at"):
        load_model(tmp_path / "nope")


def test_load_refuses_a_newer_format(tmp_path):
    folder = save_model(tmp_path / "m", create_model("signal_ae"))
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format_version 99; this aelab .* up to format 1"):
        load_model(folder)


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "mask"])
def test_noise_corrupts_only_when_asked(kind):
    x = torch.rand(8, 1, 28, 28)
    assert torch.equal(corrupt(x, None, 0.5), x)
    noisy = corrupt(x, kind, 0.3)
    assert noisy.shape == x.shape and not torch.equal(noisy, x)
    if kind != "gaussian":
        changed = (noisy != x).float().mean().item()
        assert 0.2 < changed < 0.4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "huber"}, "unknown loss"),
        ({"schedule": "step"}, "unknown schedule"),
        ({"noise": "pink"}, "unknown noise"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"patience": "abc"}, "patience must be a whole number; got 'abc'"),
        ({"max_epochs": 2.5}, "max_epochs must be a whole number"),
        ({"seed": True}, "seed must be a whole number"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
        ({"weight_decay": "0.1"}, "weight_decay must be a finite number"),
        ({"patience": -1}, "patience must not be negative; got -1"),
        ({"noise_level": -1}, "noise_level must not be negative; got -1"),
        ({"noise": "mask", "noise_level": 2}, "share of values mask noise corrupts, at most 1"),
        ({"noise": "pepper"}, "expected one of: gaussian, salt_pepper, mask"),
        ({"max_steps": 0}, "max_steps must be -1 .no limit. or at least 1; got 0"),
        ({"tensorboard": "maybe"}, "tensorboard must be true or false; got 'maybe'"),
    ],
)
def test_bad_training_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_unknown_training_option_lists_known_ones():
    with pytest.raises(ValueError, match="known: accelerator, batch_size"):
        TrainConfig.from_dict({"epochs": 3})


def test_float_inputs_from_numpy_are_accepted(tmp_path):
    data = np.random.default_rng(0).random((40, 1, 64), dtype=np.float32)
    config = TrainConfig(max_epochs=1, batch_size=8, progress_bar=False)
    result = fit_autoencoder(
        create_model("signal_ae", length=64), data[:32], data[32:], config, tmp_path
    )
    assert np.isfinite(result.best_val_loss)


@pytest.mark.parametrize("name", ["image_vae", "signal_vae"])
def test_vae_loss_adds_exactly_beta_times_kl(name):
    from aelab.training.module import loss_terms

    network = create_model(name).double()  # float64, so the sums compare to 1e-9
    x = torch.rand(4, *network.input_shape, dtype=torch.float64)
    terms = {}
    for beta in (0.0, 2.5):
        torch.manual_seed(1)  # the same latent sample for both
        terms[beta] = loss_terms(network, x, x, TrainConfig(beta=beta))
    assert terms[2.5].kl > 0
    difference = (terms[2.5].loss - terms[0.0].loss).item()
    assert difference == pytest.approx(2.5 * terms[2.5].kl.item(), rel=1e-9)


def test_variants_choose_network_and_objective():
    from aelab.training.variants import apply_variant

    base = TrainConfig()
    assert apply_variant("plain", "image_ae", base) == ("image_ae", base)
    assert apply_variant("variational", "signal_ae", base)[0] == "signal_vae"
    assert apply_variant("denoising", "image_ae", base)[1].noise == "gaussian"
    assert apply_variant("sparse", "image_ae", base)[1].sparsity > 0
    with pytest.raises(ValueError, match="unknown variant"):
        apply_variant("contractive", "image_ae", base)


def test_saving_never_replaces_a_folder_with_other_files(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "readings.csv").write_text("t,x\n1,2\n")
    with pytest.raises(FileExistsError, match="holds other files"):
        save_model(tmp_path / "data", create_model("signal_ae"))
    assert (tmp_path / "data" / "readings.csv").read_text() == "t,x\n1,2\n"
    (tmp_path / "file.csv").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        save_model(tmp_path / "file.csv", create_model("signal_ae"))
    assert (tmp_path / "file.csv").read_text() == "x"


def test_bce_is_refused_where_it_is_undefined(tmp_path):
    signals = torch.randn(8, 1, 64)
    bce = TrainConfig(loss="bce")
    with pytest.raises(ValueError, match="loss 'bce' needs a sigmoid output; signal_ae"):
        fit_autoencoder(create_model("signal_ae", length=64), signals, signals, bce, tmp_path)
    images = torch.rand(8, 1, 28, 28)
    images[0, 0, 0, :2] = torch.tensor([0.0, 1.5])
    with pytest.raises(ValueError, match=r"training data ranges over \[0, 1.5\]"):
        fit_autoencoder(create_model("image_ae"), images, images[:2] / 2, bce, tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"accelerator": "gpu"}, "accelerator='gpu'"),
        ({"devices": "abc"}, "devices='abc'"),
        ({"accelerator": "nosuch"}, "accelerator='nosuch'"),
    ],
)
def test_devices_lightning_cannot_use_give_one_clear_error(tmp_path, settings, message):
    if settings.get("accelerator") == "gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is here")
    data = torch.randn(8, 1, 64)
    log_dir = tmp_path / "logs"
    with pytest.raises(ValueError, match=f"cannot train with .*{message}"):
        fit_autoencoder(
            create_model("signal_ae", length=64), data, data, TrainConfig(**settings), log_dir
        )
    assert not log_dir.exists()


def sine_rows(n: int = 96, length: int = 64) -> torch.Tensor:
    x = torch.linspace(0, 6, length)
    return torch.stack([torch.sin(x * f) for f in torch.linspace(0.5, 2, n)])[:, None, :]


@pytest.mark.parametrize(
    ("loss", "model", "data"),
    [
        ("mse", "signal_ae", sine_rows()),
        ("bce", "image_ae", torch.rand(64, 1, 28, 28)),
    ],
)
def test_a_diverging_training_stops_with_one_clear_error(tmp_path, loss, model, data):
    network = create_model(model, **({"length": 64} if model == "signal_ae" else {}))
    config = TrainConfig(
        loss=loss, max_epochs=3, batch_size=16, learning_rate=1e6, progress_bar=False
    )
    with pytest.raises(ValueError, match=r"training diverged at epoch 0.*learning rate \(now 1e"):
        fit_autoencoder(network, data[:48], data[48:], config, tmp_path / "logs")
    assert not list(tmp_path.glob("**/*.ckpt"))


def test_weights_holding_nan_are_neither_saved_nor_loaded(tmp_path):
    network = create_model("signal_ae", length=64)
    folder = save_model(tmp_path / "m", network)
    with torch.no_grad():
        network.decoder[1].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="holds NaN or infinite weights"):
        save_model(tmp_path / "other", network)
    assert not (tmp_path / "other").exists()

    # A file whose weights were damaged to NaN: refused on loading, naming the tensor.
    from safetensors.torch import load_file, save_file

    state = load_file(folder / "model.safetensors")
    state["decoder.1.weight"][0, 0, 0] = float("inf")
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"1 of \d+ values of 'decoder.1.weight'"):
        load_model(folder)


def test_a_step_limit_inside_the_first_epoch_still_keeps_a_checkpoint(tmp_path):
    network = create_model("signal_ae", length=64)
    config = TrainConfig(max_epochs=5, batch_size=8, max_steps=2, progress_bar=False)
    data = sine_rows()
    result = fit_autoencoder(network, data[:80], data[80:], config, tmp_path)
    assert result.checkpoint.is_file()
    assert np.isfinite(result.best_val_loss)


def test_ctrl_c_during_training_names_the_logs_left(tmp_path, monkeypatch):
    import signal

    from aelab.training.module import AutoencoderModule

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(AutoencoderModule, "training_step", interrupted)
    handler = signal.getsignal(signal.SIGINT)
    try:
        data = sine_rows()
        with pytest.raises(KeyboardInterrupt, match="the logs so far are in"):
            fit_autoencoder(
                create_model("signal_ae", length=64),
                data[:80],
                data[80:],
                TrainConfig(max_epochs=1, progress_bar=False),
                tmp_path,
            )
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores Ctrl-C after an interrupt


def test_tensorboard_without_its_package_is_one_clear_error(tmp_path):
    import importlib.util

    from aelab.training import make_trainer

    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        pytest.skip("a TensorBoard package is installed here")
    with pytest.raises(ValueError, match="needs the tensorboard package: pip install tensorboard"):
        make_trainer(TrainConfig(tensorboard=True), tmp_path)
