"""``aelab mnist``: train, evaluate and plot the image autoencoder on MNIST."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aelab.cli.common import fail, parse_options, setup_logging, train_config_from
from aelab.cli.options import (
    Accelerator,
    BatchSize,
    Devices,
    Epochs,
    LearningRate,
    Loss,
    ModelSet,
    NumNodes,
    OutDir,
    Quiet,
    Seed,
    Strategy,
    TrainSet,
    Variant,
    Verbose,
)
from aelab.results import new_run_dir

app = typer.Typer(
    help="Train, evaluate and look inside the image autoencoder on MNIST.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--mnist-dir",
        "--data-dir",
        help="Folder with the four MNIST IDX files (gzipped or not); only this folder is "
        "read when given. Default: $AELAB_MNIST_DIR, then mnist/ under $AELAB_DATA_DIR, then "
        "the cache folder (~/.cache/aelab/mnist).",
    ),
]
Download = Annotated[
    bool,
    typer.Option(
        "--download",
        help="Download missing files (verified) into --mnist-dir, or into the cache folder.",
    ),
]
Limit = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Use only this many images of each split (quick runs)."),
]
ModelDir = Annotated[Path, typer.Argument(help="Model folder written by `aelab mnist train`.")]


@app.command()
def train(
    out: OutDir = None,
    data_dir: DataDir = None,
    download: Download = False,
    latent_dim: Annotated[int, typer.Option("--latent-dim", help="Size of the latent code.")] = 2,
    model: Annotated[str, typer.Option("--model", help="Registered image network.")] = "image_ae",
    variant: Variant = "plain",
    option: ModelSet = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    learning_rate: LearningRate = None,
    loss: Loss = None,
    seed: Seed = 0,
    limit: Limit = None,
    accelerator: Accelerator = "auto",
    devices: Devices = "auto",
    strategy: Strategy = "auto",
    num_nodes: NumNodes = 1,
    no_progress: Quiet = False,
    train_set: TrainSet = None,
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate/--no-evaluate", help="Also evaluate and plot on the test set."),
    ] = True,
    verbose: Verbose = False,
) -> None:
    """Train the image autoencoder on 48,000 images, early-stopped on 12,000 more.

    Writes the model folder (safetensors weights and JSON config), Lightning's CSV logs
    and the best checkpoint into the run folder; then, unless --no-evaluate, the results
    JSON and every figure.
    """
    from aelab.data.mnist import load_mnist
    from aelab.experiments.mnist import (
        MNIST_TRAIN_CONFIG,
        check_image_model,
        evaluate_mnist,
        plot_mnist,
        train_mnist,
        training_noise,
    )
    from aelab.models.registry import make_config
    from aelab.training.variants import apply_variant

    setup_logging(verbose)
    with fail():
        out = new_run_dir(out, "mnist")
        config = train_config_from(
            MNIST_TRAIN_CONFIG,
            train_set,
            max_epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            loss=loss,
            seed=seed,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            num_nodes=num_nodes,
            progress_bar=not no_progress,
        )
        model, config = apply_variant(variant, model, config)
        check_image_model(model)
        options = {"latent_dim": latent_dim, **parse_options(option)}
        latent = make_config(model, **options).latent_dim  # checked before the data is read
        if evaluate and limit is not None and limit < latent:
            raise ValueError(
                f"--limit {limit} leaves too few training images for the PCA baseline with "
                f"{latent} components; give --limit {latent} or more, or --no-evaluate"
            )
        splits = load_mnist(data_dir, seed=seed, download=download, limit=limit)
        run = train_mnist(splits, out, model=model, model_options=options, train_config=config)
        if run.model_dir is None:
            return  # a worker of a multi-process run: the main process writes the results
        typer.echo(f"model: {run.model_dir}")
        if evaluate:
            noise = training_noise(config)
            results = evaluate_mnist(run.network, splits, out, noise=noise, seed=seed)
            plot_mnist(run.network, splits, out / "figures", history=run.fit.history, noise=noise)
            _print_table(results)
            typer.echo(f"results: {out / 'results.json'}")


@app.command()
def evaluate(
    model_dir: ModelDir,
    out: OutDir = None,
    data_dir: DataDir = None,
    download: Download = False,
    seed: Seed = 0,
    verbose: Verbose = False,
) -> None:
    """Test-set MSE and BCE, overall and per digit, beside PCA with as many components."""
    from aelab.data.mnist import load_mnist
    from aelab.experiments.mnist import evaluate_mnist, load_mnist_model, training_noise

    setup_logging(verbose)
    with fail():
        out = new_run_dir(out, "mnist-eval")
        network, extra = load_mnist_model(model_dir)
        splits = load_mnist(data_dir, seed=seed, download=download)
        noise = training_noise(extra.get("train_config"))
        _print_table(evaluate_mnist(network, splits, out, noise=noise, seed=seed))
        typer.echo(f"results: {out / 'results.json'}")


@app.command()
def plots(
    model_dir: ModelDir,
    out: OutDir = None,
    data_dir: DataDir = None,
    download: Download = False,
    seed: Seed = 0,
    pair: Annotated[
        tuple[int, int] | None,
        typer.Option(
            "--pair",
            metavar="I J",
            help="Two test-image indices to interpolate between, e.g. --pair 3 17.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Reconstructions, worst images, latent space, decoded latent grid, interpolation."""
    import pandas as pd

    from aelab.data.mnist import load_mnist
    from aelab.experiments.mnist import load_mnist_model, plot_mnist, training_noise

    setup_logging(verbose)
    with fail():
        out = new_run_dir(out, "mnist-figures")
        network, extra = load_mnist_model(model_dir)
        noise = training_noise(extra.get("train_config"))
        splits = load_mnist(data_dir, seed=seed, download=download)
        history_csv = Path(model_dir).parent / "history.csv"
        history = pd.read_csv(history_csv) if history_csv.is_file() else None
        figures = plot_mnist(network, splits, out, history=history, pair=pair, noise=noise)
        for name, path in figures.items():
            typer.echo(f"{name}: {path}")


def _print_table(results: dict) -> None:
    typer.echo(f"{'method':<40}{'test MSE':>10}{'test BCE':>10}")
    for row in results["reconstruction"]:
        typer.echo(f"{row['method']:<40}{row['mse']:>10.4f}{row['bce']:>10.4f}")
    typer.echo(
        f"latent: mean |z| {results['latent_mean_abs']:.4g}, "
        f"share near zero {results['latent_near_zero_share']:.3f}"
    )
    if "elbo_nats" in results:
        typer.echo(f"ELBO: {results['elbo_nats']:.2f} nats per image")
