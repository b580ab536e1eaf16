import pytest
import torch

from aelab.models import create_model, layer_table, list_models

IMAGE_TABLE = [
    ("Conv2d-1", (32, 28, 28), 320),
    ("LeakyReLU-2", (32, 28, 28), 0),
    ("Conv2d-3", (64, 14, 14), 18_496),
    ("LeakyReLU-4", (64, 14, 14), 0),
    ("Conv2d-5", (64, 7, 7), 36_928),
    ("LeakyReLU-6", (64, 7, 7), 0),
    ("Conv2d-7", (64, 7, 7), 36_928),
    ("Flatten-8", (3136,), 0),
    ("Linear-9", (2,), 6_274),
    ("Linear-10", (3136,), 9_408),
    ("Reshape-11", (64, 7, 7), 0),
    ("ConvTranspose2d-12", (64, 7, 7), 36_928),
    ("LeakyReLU-13", (64, 7, 7), 0),
    ("ConvTranspose2d-14", (64, 13, 13), 36_928),
    ("LeakyReLU-15", (64, 13, 13), 0),
    ("ConvTranspose2d-16", (32, 27, 27), 18_464),
    ("LeakyReLU-17", (32, 27, 27), 0),
    ("ConvTranspose2d-18", (1, 55, 55), 289),
    ("Trim-19", (1, 28, 28), 0),
    ("Sigmoid-20", (1, 28, 28), 0),
]

SIGNAL_TABLE = [
    ("Conv1d-1", (32, 1000), 192),
    ("ReLU-2", (32, 1000), 0),
    ("MaxPool1d-3", (32, 500), 0),
    ("Conv1d-4", (16, 500), 1_552),
    ("ReLU-5", (16, 500), 0),
    ("MaxPool1d-6", (16, 250), 0),
    ("Conv1d-7", (16, 250), 784),
    ("ReLU-8", (16, 250), 0),
    ("Upsample-9", (16, 500), 0),
    ("Conv1d-10", (32, 500), 2_592),
    ("ReLU-11", (32, 500), 0),
    ("Upsample-12", (32, 1000), 0),
    ("Conv1d-13", (1, 1000), 97),
    ("Identity-14", (1, 1000), 0),
]


@pytest.mark.parametrize(
    ("name", "expected", "total"),
    [("image_ae", IMAGE_TABLE, 200_963), ("signal_ae", SIGNAL_TABLE, 5_217)],
)
def test_reference_tables_match_the_design_documents(name, expected, total):
    model = create_model(name)
    table = layer_table(model, model.input_shape)
    got = [(r.name, r.output_shape, r.params) for r in table.rows]
    assert got == [(n, (-1, *s), p) for n, s, p in expected]
    assert table.total_params == table.trainable_params == total


def test_image_variant_with_stride_one_overshoots_to_29():
    model = create_model("image_ae", last_stride=1)
    rows = layer_table(model, model.input_shape).rows
    assert rows[-3].output_shape == (-1, 1, 29, 29)
    assert rows[-1].output_shape == (-1, 1, 28, 28)
    assert sum(r.params for r in rows) == 200_963


def test_summary_command_prints_both_tables():
    from typer.testing import CliRunner

    from aelab.cli import app

    runner = CliRunner()
    image = runner.invoke(app, ["summary", "image_ae"])
    signal = runner.invoke(app, ["summary", "signal_ae"])
    assert image.exit_code == 0 and signal.exit_code == 0
    assert "ConvTranspose2d-18" in image.stdout and "[-1, 1, 55, 55]" in image.stdout
    assert "Total params: 200,963" in image.stdout
    assert "Total params: 5,217" in signal.stdout
    bad = runner.invoke(app, ["summary", "nope"])
    assert bad.exit_code != 0 and "image_ae" in bad.output


CONFIGS = {
    "image_ae": [{}, {"latent_dim": 16}, {"channels": [8, 16], "strides": [2, 2]}],
    "signal_ae": [
        {},
        {
            "in_channels": 3,
            "length": 64,
            "channels": [8, 4, 4],
            "kernel_sizes": [3, 3, 3],
            "decoder_kernel_sizes": [3, 3, 3],
        },
    ],
}
CASES = [(name, cfg) for name in list_models() for cfg in CONFIGS.get(name, [{}])]


@pytest.mark.parametrize(("name", "config"), CASES)
def test_forward_encode_decode_and_gradients(name, config):
    model = create_model(name, **config)
    x = torch.rand(3, *model.input_shape)

    z = model.encode(x)
    out = model.forward_train(x)
    assert z.shape[0] == 3
    assert model.decode(z).shape == x.shape
    assert out.reconstruction.shape == x.shape
    assert torch.isfinite(out.reconstruction).all()

    loss = torch.nn.functional.mse_loss(out.reconstruction, x)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


@pytest.mark.parametrize("name", list_models())
def test_wrong_input_shape_is_rejected_clearly(name):
    model = create_model(name)
    bad = torch.rand(2, *(s + 1 for s in model.input_shape))
    with pytest.raises(ValueError, match="expects a batch shaped"):
        model(bad)


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("image_ae", {"latent_dim": 0}, "latent_dim must be a positive"),
        ("image_ae", {"strides": [1, 2]}, "one positive stride per layer"),
        ("image_ae", {"activation": "swishy"}, "unknown activation"),
        ("image_ae", {"last_stride": 1, "decoder_paddings": [1, 1, 1, 1]}, "rebuilds only"),
        ("image_ae", {"colour": True}, "unknown option"),
        ("signal_ae", {"length": 1001}, "divisible"),
        ("signal_ae", {"kernel_sizes": [4, 3]}, "odd kernel"),
        ("signal_ae", {"output_activation": "softmax"}, "unknown output_activation"),
        ("nope", {}, "known models: image_ae"),
    ],
)
def test_invalid_configurations_are_rejected_with_a_clear_message(name, config, message):
    with pytest.raises(ValueError, match=message):
        create_model(name, **config)


def test_mnist_training_takes_only_image_networks(tmp_path):
    from aelab.experiments.mnist import image_models, train_mnist

    assert image_models() == ["image_ae", "image_vae"]
    with pytest.raises(ValueError, match="'signal_vae' is not an image network"):
        train_mnist(None, tmp_path / "run", model="signal_vae")
    assert not (tmp_path / "run").exists()


def test_mnist_training_never_writes_into_a_folder_holding_files(tmp_path):
    from aelab.experiments.mnist import train_mnist

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already holds files"):
        train_mnist(None, tmp_path / "run")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "option", "message"),
    [
        ("signal_ae", {"channels": "abc"}, "channels of model 'signal_ae' takes a list of whole"),
        ("signal_ae", {"channels": [16, "x"]}, "takes a list of whole numbers"),
        ("image_ae", {"latent_dim": True}, "latent_dim of model 'image_ae' takes a whole number"),
        ("image_ae", {"latent_dim": 2.5}, "takes a whole number; got 2.5"),
        ("image_ae", {"activation": 3}, "activation of model 'image_ae' takes a name; got 3"),
    ],
)
def test_options_of_the_wrong_kind_are_named(name, option, message):
    with pytest.raises(ValueError, match=message):
        create_model(name, **option)
