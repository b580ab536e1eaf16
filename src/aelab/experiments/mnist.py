"""MNIST: train the image autoencoder, measure its reconstructions, look at its latent space."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from aelab.data.mnist import MnistSplits, load_mnist
from aelab.models import create_model, list_models, model_config_class
from aelab.models.base import Autoencoder
from aelab.persistence import load_model, save_model
from aelab.results import is_main_process, new_run_dir, write_results
from aelab.training import FitResult, TrainConfig, fit_autoencoder
from aelab.training.losses import elementwise_error

log = logging.getLogger(__name__)

#: The recipe chosen for quality per minute on a 2-core CPU (see the README).
# NOTE: binary cross-entropy, not MSE: with a sigmoid output the MSE gradient vanishes on
# saturated pixels, and short MSE runs were seen to collapse to an all-black output.
MNIST_TRAIN_CONFIG = TrainConfig(
    loss="bce", max_epochs=8, batch_size=32, learning_rate=1e-3, schedule="onecycle", patience=3
)


class MnistRun(NamedTuple):
    """A trained MNIST model and where it was written.

    ``model_dir`` is ``None`` in the worker processes of a multi-process run, which write
    nothing.
    """

    network: Autoencoder
    fit: FitResult
    model_dir: Path | None


def image_models() -> list[str]:
    """Registered networks that take images: those whose configuration has an image size."""
    return [
        name
        for name in list_models()
        if "image_size" in {f.name for f in dataclasses.fields(model_config_class(name))}
    ]


def check_image_model(model: str) -> None:
    """Refuse a network name that is unknown or not an image network."""
    if model not in image_models():
        kind = "not an image network" if model in list_models() else "unknown"
        raise ValueError(
            f"model {model!r} is {kind}; MNIST takes one of: {', '.join(image_models())}"
        )


def train_mnist(
    splits: MnistSplits,
    out_dir: str | Path,
    *,
    model: str = "image_ae",
    model_options: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
) -> MnistRun:
    """Train an image autoencoder on the training split, stopping early on the validation one.

    Args:
        splits: MNIST tensors from :func:`aelab.data.mnist.load_mnist`.
        out_dir: run folder; gets ``model/`` (weights and config), ``logs/`` and
            ``history.csv``.
        model: registered image network name.
        model_options: network options, e.g. ``{"latent_dim": 16}``.
        train_config: training settings; :data:`MNIST_TRAIN_CONFIG` by default.

    Returns:
        The trained network (best validation weights), the fit's figures and the model folder.

    Raises:
        FileExistsError: ``out_dir`` is a file or a folder that already holds files.
    """
    check_image_model(model)
    out_dir = new_run_dir(out_dir, "mnist")  # new or empty: nothing earlier is mixed in
    config = train_config or MNIST_TRAIN_CONFIG
    torch.manual_seed(config.seed)  # the initial weights follow the seed too
    network = create_model(model, **(model_options or {}))
    fit = fit_autoencoder(network, splits.train_images, splits.val_images, config, out_dir / "logs")
    if not is_main_process():
        return MnistRun(fit.network, fit, None)
    fit.history.to_csv(out_dir / "history.csv", index=False)
    extra = {
        "experiment": "mnist",
        "train_config": config.to_dict(),
        "data_checksums": splits.checksums,
        "epochs": fit.epochs,
        "best_val_loss": fit.best_val_loss,
        "train_seconds": fit.seconds,
    }
    model_dir = save_model(out_dir / "model", fit.network, extra)
    log.info("model saved to %s", model_dir)
    return MnistRun(fit.network, fit, model_dir)


def training_noise(train_config: TrainConfig | dict[str, Any] | None) -> tuple[str, float] | None:
    """The ``(kind, level)`` corruption a model was trained with, or ``None``."""
    if train_config is None:
        return None
    values = train_config if isinstance(train_config, dict) else train_config.to_dict()
    if values.get("noise") is None:
        return None
    return values["noise"], float(values["noise_level"])


def load_mnist_model(folder: str | Path) -> tuple[Autoencoder, dict[str, Any]]:
    """Read a model folder written by :func:`train_mnist`; returns the network and its extra."""
    saved = load_model(folder)
    if tuple(saved.network.input_shape) != (1, 28, 28):
        raise ValueError(
            f"{folder} holds a {saved.network.registry_name} for inputs "
            f"{saved.network.input_shape}; MNIST needs (1, 28, 28)"
        )
    return saved.network, saved.extra


@torch.no_grad()
def encode_decode(
    network: Autoencoder, images: torch.Tensor, batch_size: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Latent codes ``(N, D)`` and reconstructions ``(N, 1, 28, 28)`` of ``images``."""
    network.eval()
    codes, recons = [], []
    for batch in images.split(batch_size):
        z = network.encode(batch)
        codes.append(z.flatten(1).numpy())
        recons.append(network.decode(z).numpy())
    return np.concatenate(codes), np.concatenate(recons)


def reconstruction_table(
    images: np.ndarray, labels: np.ndarray, reconstructions: dict[str, np.ndarray]
) -> pd.DataFrame:
    """MSE and BCE of each reconstruction method, overall and per digit.

    Returns:
        One row per method: ``method``, ``mse``, ``bce``, ``mse_digit_0`` ... ``mse_digit_9``.
    """
    target = torch.from_numpy(np.asarray(images, dtype=np.float32))
    rows = []
    for method, rebuilt in reconstructions.items():
        rebuilt_t = torch.from_numpy(np.clip(rebuilt, 0, 1).astype(np.float32))
        mse = elementwise_error("mse", rebuilt_t, target).flatten(1).mean(1).numpy()
        bce = elementwise_error("bce", rebuilt_t, target).flatten(1).mean(1).numpy()
        row: dict[str, Any] = {"method": method, "mse": float(mse.mean()), "bce": float(bce.mean())}
        for digit in range(10):
            row[f"mse_digit_{digit}"] = float(mse[labels == digit].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate_mnist(
    network: Autoencoder,
    splits: MnistSplits,
    out_dir: str | Path,
    *,
    noise: tuple[str, float] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Test-set reconstruction figures of the network beside PCA with as many components.

    Also reports how sparse the latent codes are, the evidence lower bound for variational
    networks, and, when ``noise`` is given (denoising), the error of reconstructions of
    corrupted test images against the clean ones. Writes ``results.json`` and
    ``reconstruction.csv`` into ``out_dir``.

    Args:
        network: the trained image autoencoder.
        splits: MNIST tensors; the test set is measured, PCA is fitted on the training set.
        out_dir: where the files go.
        noise: the training corruption ``(kind, level)`` of a denoising autoencoder.
        seed: seeds the corruption and the variational samples.

    Returns:
        The results: the table rows, latent statistics, ELBO, sizes.
    """
    from aelab.metrics import pca_reconstruction

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    codes, rebuilt = encode_decode(network, splits.test_images)
    latent_dim = codes.shape[1]
    train = splits.train_images.numpy()
    test = splits.test_images.numpy()
    methods = {
        f"autoencoder ({latent_dim}-D)": rebuilt,
        f"PCA ({latent_dim} components)": pca_reconstruction(train, test, latent_dim, seed=seed),
    }
    if noise is not None:
        noisy = corrupted(splits.test_images, noise, seed)
        methods[f"autoencoder, {noise[0]} {noise[1]:g} inputs"] = encode_decode(network, noisy)[1]
        methods[f"PCA, {noise[0]} {noise[1]:g} inputs"] = pca_reconstruction(
            train, noisy.numpy(), latent_dim, seed=seed
        )
    table = reconstruction_table(test, splits.test_labels.numpy(), methods)
    table.to_csv(out_dir / "reconstruction.csv", index=False)

    # Sparsity: how many latent activations are near zero, relative to the largest.
    magnitude = np.abs(codes)
    results: dict[str, Any] = {
        "experiment": "mnist",
        "model": network.registry_name,
        "latent_dim": latent_dim,
        "n_test": len(test),
        "reconstruction": table.to_dict(orient="records"),
        "latent_mean_abs": float(magnitude.mean()),
        "latent_near_zero_share": float((magnitude < 0.01 * magnitude.max()).mean()),
    }
    if network.variational:
        results["elbo_nats"] = elbo_per_image(network, splits.test_images, seed)
    write_results(out_dir / "results.json", results)
    ae, pc = table.iloc[0], table.iloc[1]
    log.info("test MSE %.4f (PCA %.4f), BCE %.4f (PCA %.4f)", ae.mse, pc.mse, ae.bce, pc.bce)
    return results


def corrupted(images: torch.Tensor, noise: tuple[str, float], seed: int = 0) -> torch.Tensor:
    """``images`` with the training corruption applied, seeded, clipped to [0, 1]."""
    from aelab.training.module import corrupt

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return corrupt(images, noise[0], noise[1]).clamp(0, 1)
    finally:
        torch.random.set_rng_state(state)


@torch.no_grad()
def elbo_per_image(
    network: Autoencoder, images: torch.Tensor, seed: int = 0, batch_size: int = 1000
) -> float:
    """Mean evidence lower bound per image, in nats, under a Bernoulli decoder.

    ELBO = E_q[log p(x | z)] - KL(q(z | x) || N(0, I)), estimated with one latent sample
    per image; higher is better.
    """
    from aelab.training.losses import elementwise_error, gaussian_kl

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    total = 0.0
    try:
        for batch in images.split(batch_size):
            out = network.forward_train(batch)
            log_likelihood = -elementwise_error("bce", out.reconstruction, batch).flatten(1).sum(1)
            total += float((log_likelihood - gaussian_kl(out.mean, out.logvar)).sum())
    finally:
        torch.random.set_rng_state(state)
    return total / len(images)


def plot_mnist(
    network: Autoencoder,
    splits: MnistSplits,
    out_dir: str | Path,
    *,
    history: pd.DataFrame | None = None,
    pair: tuple[int, int] | None = None,
    n_show: int = 10,
    noise: tuple[str, float] | None = None,
    seed: int = 0,
) -> dict[str, Path]:
    """Every MNIST figure, as PNG files in ``out_dir``.

    Args:
        network: the trained image autoencoder.
        splits: MNIST tensors; the test set is shown.
        out_dir: folder for the PNGs.
        history: per-epoch losses, for the loss curves.
        pair: indices of the two test images to interpolate between; by default the first
            test image and the first one of another digit.
        n_show: images per row in the grids.
        noise: the training corruption of a denoising autoencoder, for a grid of noisy,
            reconstructed and clean images.
        seed: seeds the corruption and the prior samples.

    Returns:
        Figure name to path.
    """
    from scipy.stats import norm
    from sklearn.decomposition import PCA

    from aelab import plots

    out_dir = Path(out_dir)
    images = splits.test_images
    labels = splits.test_labels.numpy()
    if pair is not None and not all(0 <= int(k) < len(images) for k in pair):
        raise ValueError(
            f"pair takes two test-image indices from 0 to {len(images) - 1}; got {tuple(pair)}"
        )
    codes, rebuilt = encode_decode(network, images)
    originals = images.numpy()
    errors = ((rebuilt - originals) ** 2).reshape(len(originals), -1).mean(1)
    figures: dict[str, Path] = {}

    # Originals above reconstructions, and the worst-rebuilt images.
    figures["reconstructions"] = plots.reconstruction_grid(
        originals[:n_show], rebuilt[:n_show], out_dir / "reconstructions.png"
    )
    worst = np.argsort(errors)[::-1][:n_show]
    figures["worst"] = plots.image_rows(
        [("original", originals[worst]), ("reconstructed", rebuilt[worst])],
        out_dir / "worst_reconstructions.png",
        captions=[f"digit {labels[i]}\nMSE {errors[i]:.3f}" for i in worst],
        title="The worst-reconstructed test images",
    )

    # The test set in latent space.
    figures["latent"] = plots.latent_scatter(codes, labels, out_dir / "latent_space.png")

    # Images decoded from a regular grid: over the codes' range for a 2-D latent, over
    # the codes' first two principal axes for larger ones, through the inverse normal
    # CDF for variational networks (whose prior is a standard normal).
    steps = 15
    if network.variational:
        axis = norm.ppf(np.linspace(0.05, 0.95, steps))
        dim = codes.shape[1]

        def to_latent(p: np.ndarray) -> np.ndarray:
            out = np.zeros((len(p), dim), np.float32)
            out[:, :2] = p
            return out

        axes = (axis, axis)
        names = ("z1 (prior quantiles)", "z2 (prior quantiles)")
    elif codes.shape[1] == 2:
        low, high = np.percentile(codes, [1, 99], axis=0)
        axes = (np.linspace(low[0], high[0], steps), np.linspace(low[1], high[1], steps))
        names = ("z1", "z2")

        def to_latent(p: np.ndarray) -> np.ndarray:
            return p

    else:
        pca = PCA(n_components=2).fit(codes)
        projected = pca.transform(codes)
        low, high = np.percentile(projected, [1, 99], axis=0)
        axes = (np.linspace(low[0], high[0], steps), np.linspace(low[1], high[1], steps))
        names = ("first principal axis of the codes", "second principal axis")

        def to_latent(p: np.ndarray) -> np.ndarray:
            return pca.inverse_transform(p).astype(np.float32)

    figures["latent_grid"] = plots.latent_grid(
        lambda z: _decode(network, z),
        axes,
        to_latent,
        out_dir / "latent_grid.png",
        axis_names=names,
    )

    # A straight line in latent space between two test images.
    i, j = pair if pair is not None else (0, int(np.argmax(labels != labels[0])))
    weights = np.linspace(0, 1, n_show, dtype=np.float32)[:, None]
    line = (1 - weights) * codes[i] + weights * codes[j]
    figures["interpolation"] = plots.interpolation_strip(
        _decode(network, line),
        out_dir / "interpolation.png",
        title=f"From test image {i} (digit {labels[i]}) to test image {j} (digit {labels[j]})",
    )
    if noise is not None:
        noisy = corrupted(images[:n_show], noise, seed)
        figures["denoising"] = plots.image_rows(
            [
                ("noisy", noisy.numpy()),
                ("reconstructed", encode_decode(network, noisy)[1]),
                ("clean", originals[:n_show]),
            ],
            out_dir / "denoising.png",
            title=f"Denoising: {noise[0]} noise at {noise[1]:g}",
        )
    if network.variational:
        generator = torch.Generator().manual_seed(seed)
        drawn = network.sample(2 * n_show, generator=generator).numpy()
        figures["samples"] = plots.image_rows(
            [("sample", drawn[:n_show]), ("sample", drawn[n_show:])],
            out_dir / "prior_samples.png",
            title="New images decoded from draws of the prior N(0, I)",
        )
    if history is not None and len(history):
        figures["loss_curves"] = plots.loss_curves(
            history, out_dir / "loss_curves.png", "MNIST autoencoder"
        )
    return figures


@torch.no_grad()
def _decode(network: Autoencoder, codes: np.ndarray) -> np.ndarray:
    return network.decode(torch.as_tensor(codes, dtype=torch.float32)).numpy()


def run_mnist(
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    limit: int | None = None,
    seed: int = 0,
    model: str = "image_ae",
    model_options: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
) -> dict[str, Any]:
    """Load MNIST, train, evaluate and plot; returns the results with the figure paths."""
    splits = load_mnist(data_dir, seed=seed, download=download, limit=limit)
    run = train_mnist(
        splits, out_dir, model=model, model_options=model_options, train_config=train_config
    )
    noise = training_noise(train_config)
    results = evaluate_mnist(run.network, splits, out_dir, noise=noise, seed=seed)
    figures = plot_mnist(
        run.network, splits, Path(out_dir) / "figures", history=run.fit.history, noise=noise
    )
    results.update(
        epochs=run.fit.epochs,
        train_seconds=run.fit.seconds,
        seconds_per_epoch=run.fit.seconds / max(run.fit.epochs, 1),
        best_val_loss=run.fit.best_val_loss,
        data_checksums=splits.checksums,
        figures={name: str(path) for name, path in figures.items()},
    )
    write_results(Path(out_dir) / "results.json", results)
    return results
