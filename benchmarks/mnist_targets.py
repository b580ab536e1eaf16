"""MNIST reconstruction targets: the reference network at 2-D and 16-D latents, and the
stride-1 variant of its last layer, each beside PCA with as many components.

Every model trains with the documented recipe (``MNIST_TRAIN_CONFIG``) on the 48,000 /
12,000 split and is measured on the 10,000 test images; the table gives test MSE and BCE,
epochs run and wall time per epoch. Runs in one process, one model after another.

Usage: python benchmarks/mnist_targets.py [--epochs 15] [--only 2d,16d,2d-stride1]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from aelab.data.benchmarks import data_root
from aelab.data.mnist import load_mnist
from aelab.experiments.mnist import MNIST_TRAIN_CONFIG, evaluate_mnist, train_mnist

MODELS = {
    "2d": ("reference, 2-D latent", {"latent_dim": 2}),
    "16d": ("reference, 16-D latent", {"latent_dim": 16}),
    "2d-stride1": ("last stride 1, 2-D latent", {"latent_dim": 2, "last_stride": 1}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--only", default=",".join(MODELS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("lightning").setLevel(logging.WARNING)

    splits = load_mnist(data_root() / "mnist")
    config = dataclasses.replace(MNIST_TRAIN_CONFIG, max_epochs=args.epochs, progress_bar=False)
    rows = []
    for key in args.only.split(","):
        name, options = MODELS[key]
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            run = train_mnist(splits, out, model_options=options, train_config=config)
            results = evaluate_mnist(run.network, splits, Path(out))
        ae, pca = results["reconstruction"][0], results["reconstruction"][1]
        rows.append(
            {
                "model": name,
                "epochs": run.fit.epochs,
                "s/epoch": round(run.fit.seconds / max(run.fit.epochs, 1), 1),
                "test MSE": round(ae["mse"], 4),
                "PCA MSE": round(pca["mse"], 4),
                "test BCE": round(ae["bce"], 4),
                "PCA BCE": round(pca["bce"], 4),
                "wall s": round(time.perf_counter() - start),
            }
        )
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    out = Path(__file__).parent / "results" / "mnist_targets.txt"
    out.write_text(f"recipe: {config}\n\n{pd.DataFrame(rows).to_string(index=False)}\n")


if __name__ == "__main__":
    main()
