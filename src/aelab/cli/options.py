"""Command-line options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Epochs = Annotated[int | None, typer.Option("--epochs", help="Maximum training epochs.")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", help="Samples per step and device.")]
LearningRate = Annotated[
    float | None, typer.Option("--learning-rate", "--lr", help="Peak learning rate.")
]
Loss = Annotated[str | None, typer.Option("--loss", help="Reconstruction loss: mse, bce or l1.")]
Seed = Annotated[
    int, typer.Option("--seed", help="Random seed for data splits, weights and noise.")
]
Accelerator = Annotated[
    str, typer.Option("--accelerator", help="cpu, gpu or auto (a GPU when there is one).")
]
Devices = Annotated[str, typer.Option("--devices", help="Devices per machine: a number or auto.")]
Strategy = Annotated[
    str,
    typer.Option("--strategy", help="Lightning strategy, e.g. ddp for several GPUs or machines."),
]
NumNodes = Annotated[int, typer.Option("--num-nodes", help="Machines taking part in training.")]
Quiet = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")]
TrainSet = Annotated[
    list[str] | None,
    typer.Option(
        "--train-set",
        help="Any other training setting as KEY=VALUE (see aelab.training.TrainConfig), "
        "e.g. --train-set patience=5. Repeat for several.",
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
        help="plain, denoising, sparse or variational.",
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
