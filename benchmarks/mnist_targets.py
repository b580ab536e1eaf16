"""MNIST reconstruction targets and the training-recipe search behind them.

Trains the reference network at 2-D and 16-D latents (and the stride-1 variant of its
last layer) with the documented recipe (``MNIST_TRAIN_CONFIG``) or with overrides given on
the command line, on the 48,000 / 12,000 split, and measures test MSE and BCE on the
10,000 test images beside PCA with as many components. Prints a table; every run is also
appended to ``results/mnist_recipes.csv`` with its full recipe, so a search leaves a record.

Usage:
    python benchmarks/mnist_targets.py [--only 2d,16d,2d-stride1] [--epochs 15]
        [--loss bce] [--batch-size 128] [--lr 3e-3] [--schedule onecycle]
        [--weight-decay 0.05] [--variant denoising] [--noise-level 0.5] [--seed 1]
        [--threads 2] [--keep runs/targets]

``--keep`` keeps each run's folder (model, logs, results JSON) under the given folder,
which must not exist yet; by default runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from aelab.data.benchmarks import data_root
from aelab.data.mnist import load_mnist
from aelab.experiments.mnist import (
    MNIST_TRAIN_CONFIG,
    evaluate_mnist,
    train_mnist,
    training_noise,
)
from aelab.training.variants import VARIANTS, apply_variant

MODELS = {
    "2d": ("reference, 2-D latent", {"latent_dim": 2}),
    "16d": ("reference, 16-D latent", {"latent_dim": 16}),
    "2d-stride1": ("last stride 1, 2-D latent", {"latent_dim": 2, "last_stride": 1}),
}
RESULTS = Path(__file__).parent / "results"


def recipe_from(args: argparse.Namespace):  # noqa: ANN201 - a TrainConfig
    """The documented recipe with the command line's overrides applied."""
    overrides = {
        "max_epochs": args.epochs,
        "loss": args.loss,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "schedule": args.schedule,
        "patience": args.patience,
        "weight_decay": args.weight_decay,
        "seed": args.seed,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    return dataclasses.replace(MNIST_TRAIN_CONFIG, progress_bar=False, **overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS)
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--loss", choices=["mse", "bce", "l1"])
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--schedule", choices=["onecycle", "cosine", "constant"])
    parser.add_argument("--patience", type=int)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--variant", choices=[v for v in VARIANTS if v != "variational"])
    parser.add_argument("--noise-level", type=float, help="input noise of the denoising variant")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--keep", type=Path, help="keep each run's folder under this new folder")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep} exists; give a new folder")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("lightning").setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)

    splits = load_mnist(data_root() / "mnist")
    config = recipe_from(args)
    if args.noise_level is not None:
        if args.variant != "denoising":
            parser.error("--noise-level needs --variant denoising")
        config = dataclasses.replace(config, noise="gaussian", noise_level=args.noise_level)
    _, config = apply_variant(args.variant or "plain", "image_ae", config)
    noise = training_noise(config)
    rows = []
    for key in args.only.split(","):
        name, options = MODELS[key]
        start = time.perf_counter()
        kept = contextlib.nullcontext(args.keep / key) if args.keep else None
        with kept or tempfile.TemporaryDirectory() as out:
            run = train_mnist(splits, out, model_options=options, train_config=config)
            results = evaluate_mnist(run.network, splits, Path(out), noise=noise)
        ae, pca = results["reconstruction"][0], results["reconstruction"][1]
        rows.append(
            {
                "model": name,
                "variant": args.variant or "plain",
                "loss": config.loss,
                "batch": config.batch_size,
                "lr": config.learning_rate,
                "schedule": config.schedule,
                "weight decay": config.weight_decay,
                "noise": config.noise_level if config.noise else 0.0,
                "seed": config.seed,
                "max epochs": config.max_epochs,
                "epochs": run.fit.epochs,
                "threads": torch.get_num_threads(),
                "s/epoch": round(run.fit.seconds / max(run.fit.epochs, 1), 1),
                "test MSE": round(ae["mse"], 5),
                "PCA MSE": round(pca["mse"], 5),
                "test BCE": round(ae["bce"], 4),
                "PCA BCE": round(pca["bce"], 4),
                "wall s": round(time.perf_counter() - start),
            }
        )
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
        log_file = RESULTS / "mnist_recipes.csv"
        earlier = [pd.read_csv(log_file)] if log_file.exists() else []
        record = pd.concat([*earlier, pd.DataFrame(rows[-1:])], ignore_index=True)
        record.to_csv(log_file, index=False)


if __name__ == "__main__":
    main()
