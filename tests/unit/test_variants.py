"""Contracts of the variants: each changes what it promises during training, and no more."""

import numpy as np
import pytest
import torch

from aelab.detection import AutoencoderDetector, ThresholdSpec
from aelab.models import create_model
from aelab.training import TrainConfig
from aelab.training.module import AutoencoderModule, corrupt, loss_terms
from aelab.training.variants import DENOISING_NOISE, apply_variant

LENGTH = 64


@pytest.fixture(autouse=True)
def _one_thread():
    # NOTE: these networks are tiny; on two cores shared with other work a second torch
    # thread mostly waits for a core, and made this file 10-30x slower when measured.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sines(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` sines of random amplitude and frequency, ``(n, 1, LENGTH)``."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 6 * np.pi, LENGTH)
    amplitude, frequency = rng.uniform(0.5, 2, (2, n, 1))
    return torch.from_numpy((amplitude * np.sin(frequency * x)).astype(np.float32))[:, None, :]


def quiet(module: AutoencoderModule, logged: dict[str, torch.Tensor]) -> AutoencoderModule:
    """Catch what the module logs, so that its steps run without a Trainer."""
    module.log = lambda name, value, **_: logged.__setitem__(name, value)
    return module


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, DENOISING_NOISE),
        ({"noise_level": 0.5}, ("gaussian", 0.5)),
        ({"noise": "mask", "noise_level": 0.2}, ("mask", 0.2)),
    ],
)
def test_denoising_keeps_the_noise_the_settings_choose(given, expected):
    _, config = apply_variant("denoising", "image_ae", TrainConfig(**given))
    assert (config.noise, config.noise_level) == expected


@pytest.mark.parametrize("variant", ["plain", "sparse", "variational"])
def test_a_noise_level_without_a_noise_kind_is_refused_outside_denoising(variant):
    with pytest.raises(ValueError, match="noise_level 0.5 corrupts nothing without a noise kind"):
        apply_variant(variant, "image_ae", TrainConfig(noise_level=0.5))
    _, config = apply_variant(variant, "image_ae", TrainConfig(noise="gaussian", noise_level=0.5))
    assert (config.noise, config.noise_level) == ("gaussian", 0.5)


def test_denoising_corrupts_training_inputs_and_validates_on_clean_ones():
    _, config = apply_variant("denoising", "signal_ae", TrainConfig())
    assert (config.noise, config.noise_level) == DENOISING_NOISE
    network = create_model("signal_ae", length=LENGTH)
    logged: dict[str, torch.Tensor] = {}
    module = quiet(AutoencoderModule(network, config), logged)
    x = sines(16)
    clean = loss_terms(network, x, x, config).loss

    # Training: the loss of the corrupted batch against the clean one.
    torch.manual_seed(3)
    trained = module.training_step((x,), 0)
    torch.manual_seed(3)
    noisy_input = corrupt(x, *DENOISING_NOISE)
    assert torch.equal(trained, loss_terms(network, noisy_input, x, config).loss)
    assert not torch.equal(trained, clean)

    # Validation: the clean batch, whatever the random state.
    module.validation_step((x,), 0)
    assert torch.equal(logged["val_loss"], clean)

    # The plain variant trains on the clean batch.
    plain = quiet(
        AutoencoderModule(network, apply_variant("plain", "signal_ae", TrainConfig())[1]), {}
    )
    assert torch.equal(plain.training_step((x,), 0), clean)


SMALL = {"channels": (8, 4), "kernel_sizes": (3, 3), "decoder_kernel_sizes": (3, 3)}


def mean_abs_latent_after_training(variant: str, base: TrainConfig, steps: int = 20) -> float:
    """Train a small signal network for a few steps from seed 0; mean |z| on its data."""
    _, config = apply_variant(variant, "signal_ae", base)
    torch.manual_seed(0)
    network = create_model("signal_ae", length=LENGTH, latent_channels=4, **SMALL)
    module = quiet(AutoencoderModule(network, config), {})
    optimizer = module.configure_optimizers()
    x = sines(32)
    for step in range(steps):
        loss = module.training_step((x,), step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return network.encode(x).abs().mean().item()


def test_sparse_variant_shrinks_the_latent_activations():
    base = TrainConfig(schedule="constant")
    plain = mean_abs_latent_after_training("plain", base)
    # The default weight (1e-3) shrinks |z| by well under 1 % in 20 steps, but the same
    # seed and data make the runs identical but for the penalty, so any shrinkage is it.
    assert mean_abs_latent_after_training("sparse", base) < plain
    # A weight the user chooses is kept, and a heavier one shrinks |z| plainly.
    heavy = TrainConfig(schedule="constant", sparsity=0.1)
    assert mean_abs_latent_after_training("sparse", heavy) < 0.85 * plain


@pytest.mark.parametrize(
    ("name", "options"), [("image_vae", {"latent_dim": 4}), ("signal_vae", {"length": LENGTH})]
)
def test_vae_encodes_the_posterior_mean_and_trains_on_samples(name, options):
    network = create_model(name, **options)
    x = torch.rand(4, *network.input_shape)
    mean, _ = network.posterior(x)
    assert torch.equal(network.encode(x), mean)
    assert torch.equal(network(x), network(x))

    first, second = network.forward_train(x), network.forward_train(x)
    assert torch.equal(first.mean, mean)
    assert not torch.equal(first.latent, second.latent)
    assert not torch.equal(first.reconstruction, second.reconstruction)


def test_vae_detector_scores_are_finite_and_average_latent_samples(tmp_path):
    data = sines(80).numpy()
    detector = AutoencoderDetector(
        model="signal_vae",
        train_config={"max_epochs": 1, "batch_size": 16, "progress_bar": False},
        threshold=ThresholdSpec("mean_std"),
        n_score_samples=4,
        log_dir=tmp_path,
    ).fit(data[:64], X_val=data[64:])
    test = sines(10, seed=1).numpy()
    sampled = detector.score(test).scores
    assert sampled.shape == (10,)
    assert np.isfinite(sampled).all() and np.isfinite(detector.threshold_)

    # Without samples the score is the posterior mean's error: the samples must matter.
    detector.n_score_samples = 0
    assert not np.allclose(detector.score(test).scores, sampled)
