"""Command-line options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RECIPE = "Default: the command's recipe (README, Training recipe)."
Epochs = Annotated[
    int | None, typer.Option("--epochs", min=1, help=f"Maximum training epochs. {RECIPE}")
]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help=f"Samples per step and device. {RECIPE}"),
]
LearningRate = Annotated[
    float | None, typer.Option("--learning-rate", "--lr", help=f"Peak learning rate. {RECIPE}")
]
Loss = Annotated[
    str | None, typer.Option("--loss", help=f"Reconstruction loss: mse, bce or l1. {RECIPE}")
]
Seed = Annotated[
    int, typer.Option("--seed", min=0, help="Random seed for data splits, weights and noise.")
]
Accelerator = Annotated[
    str, typer.Option("--accelerator", help="cpu, gpu or auto (a GPU when there is one).")
]
Devices = Annotated[str, typer.Option("--devices", help="Devices per machine: a number or auto.")]
Strategy = Annotated[
    str,
    typer.Option("--strategy", help="Lightning strategy, e.g. ddp for several GPUs or machines."),
]
NumNodes = Annotated[
    int, typer.Option("--num-nodes", min=1, help="Machines taking part in training.")
]
Quiet = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")]
#: Training settings without a flag of their own, which --train-set takes.
OTHER_TRAIN_SETTINGS = (
    "patience",
    "weight_decay",
    "schedule",
    "noise",
    "noise_level",
    "sparsity",
    "beta",
    "precision",
    "max_steps",
    "tensorboard",
)
TrainSet = Annotated[
    list[str] | None,
    typer.Option(
        "--train-set",
        help="Any other training setting as KEY=VALUE: "
        + ", ".join(OTHER_TRAIN_SETTINGS)
        + " (aelab.training.TrainConfig says what each does). E.g. --train-set patience=5; "
        "repeat for several.",
    ),
]
ModelSet = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Network option as KEY=VALUE (JSON values), e.g. -s 'channels=[16,32]'; "
        "`aelab models` lists them. Repeat for several.",
    ),
]
Variant = Annotated[
    str,
    typer.Option(
        "--variant",
        help="plain, denoising, sparse or variational. Denoising adds Gaussian noise of "
        "standard deviation 0.3 unless --train-set noise_level=... (and noise=...) say "
        "otherwise; sparse weighs its L1 penalty 1e-3 unless --train-set sparsity=...",
    ),
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Run folder to write into, new or empty. Default: a new dated folder under runs/.",
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")]


def device_value(devices: str) -> int | str:
    """``--devices`` as Lightning wants it: an int, or ``auto``."""
    return int(devices) if devices.isdigit() else devices


ThresholdStrategy = Annotated[
    str,
    typer.Option(
        "--threshold",
        help="How the threshold is chosen from validation-normal scores: percentile, "
        "mean_std, contamination (f1 needs labels; see the API).",
    ),
]
Percentile = Annotated[float, typer.Option("--q", help="Percentile for --threshold percentile.")]
StdCount = Annotated[float, typer.Option("--k", help="Standard deviations for mean_std.")]
Contamination = Annotated[
    float, typer.Option("--contamination", help="Expected anomaly share for contamination.")
]


def threshold_spec(strategy: str, q: float, k: float, contamination: float):  # noqa: ANN201
    """The :class:`aelab.detection.ThresholdSpec` the threshold options describe."""
    from aelab.detection import ThresholdSpec

    return ThresholdSpec(strategy=strategy, q=q, k=k, contamination=contamination)
