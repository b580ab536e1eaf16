"""Training throughput: aelab's pipeline against a plain PyTorch loop, in one run.

Both train the reference image autoencoder on the same MNIST training images, with the
same batch size, optimiser and number of steps. aelab's side is its Lightning module and
Trainer over its batch-gathering loader; the plain side is a hand-written loop over a
``TensorDataset`` DataLoader. Rounds alternate so that load from other processes falls on
both alike; the table gives the median of each.

The batch size is the MNIST recipe's unless given.

Usage: python benchmarks/mnist_throughput.py [--steps 120] [--rounds 3] [--batch-size N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L  # noqa: N812
import torch
from torch.utils.data import DataLoader, TensorDataset

from aelab.data.benchmarks import data_root
from aelab.data.mnist import load_mnist
from aelab.experiments.mnist import MNIST_TRAIN_CONFIG
from aelab.models import create_model
from aelab.training import TrainConfig, make_trainer
from aelab.training.data import tensor_loader
from aelab.training.module import AutoencoderModule


def plain_loop(images: torch.Tensor, steps: int, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    network = create_model("image_ae")
    optimizer = torch.optim.AdamW(network.parameters(), lr=3e-3, weight_decay=1e-5)
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True)
    done = 0
    start = time.perf_counter()
    while done < steps:
        for (batch,) in loader:
            loss = torch.nn.functional.mse_loss(network(batch), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return steps * batch_size / (time.perf_counter() - start)


def aelab_pipeline(images: torch.Tensor, steps: int, batch_size: int, seed: int) -> float:
    L.seed_everything(seed, verbose=False)
    config = TrainConfig(
        max_steps=steps,
        max_epochs=1000,
        batch_size=batch_size,
        schedule="constant",
        progress_bar=False,
        accelerator="cpu",
        devices=1,
    )
    module = AutoencoderModule(create_model("image_ae"), config)
    with tempfile.TemporaryDirectory() as logs:
        trainer = make_trainer(config, Path(logs), validate=False)
        loader = tensor_loader(images, batch_size=batch_size, shuffle=True, seed=seed)
        start = time.perf_counter()
        trainer.fit(module, loader)
        seconds = time.perf_counter() - start
    return steps * batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=MNIST_TRAIN_CONFIG.batch_size)
    args = parser.parse_args()

    images = load_mnist(data_root() / "mnist").train_images
    rates: dict[str, list[float]] = {"plain PyTorch loop": [], "aelab (Lightning)": []}
    for round_ in range(args.rounds):
        rates["plain PyTorch loop"].append(plain_loop(images, args.steps, args.batch_size, round_))
        rates["aelab (Lightning)"].append(
            aelab_pipeline(images, args.steps, args.batch_size, round_)
        )

    plain = statistics.median(rates["plain PyTorch loop"])
    lines = [
        f"MNIST reference autoencoder, batch {args.batch_size}, {args.steps} steps x "
        f"{args.rounds} rounds, {torch.get_num_threads()} torch threads",
        f"{'pipeline':<22}{'images/s (median)':>20}{'rounds':>30}{'ratio':>8}",
    ]
    for name, values in rates.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.0f}" for v in values)
        lines.append(f"{name:<22}{median:>20.0f}{rounds:>30}{median / plain:>8.2f}")
    table = "\n".join(lines)
    print(table)
    out = Path(__file__).parent / "results" / "mnist_throughput.txt"
    out.write_text(table + "\n")


if __name__ == "__main__":
    main()
