"""Training settings, written once for the API, the command line and saved runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real
from typing import Any

from aelab.training.losses import check_loss_name

SCHEDULES = ("onecycle", "cosine", "constant")
NOISE_KINDS = ("gaussian", "salt_pepper", "mask")
WHOLE_NUMBERS = ("max_epochs", "batch_size", "patience", "seed", "num_nodes", "max_steps")
NUMBERS = ("learning_rate", "weight_decay", "beta", "sparsity", "noise_level")


@dataclass(frozen=True)
class TrainConfig:
    """How an autoencoder is trained.

    Attributes:
        loss: reconstruction loss, ``mse``, ``bce`` (needs a sigmoid output) or ``l1``.
        max_epochs: upper bound on passes over the training data.
        batch_size: samples per optimiser step (per device).
        learning_rate: peak learning rate of AdamW.
        weight_decay: AdamW's decoupled weight decay.
        schedule: ``onecycle`` (warm-up then cosine decay to zero over ``max_epochs``),
            ``cosine`` (decay from the start) or ``constant``.
        patience: epochs without a validation improvement before training stops early.
        seed: seeds weights, shuffling and noise, so a run is reproducible.
        accelerator: Lightning's accelerator: ``auto`` takes a GPU when there is one.
        devices: devices per node, an int or ``auto``.
        strategy: Lightning's strategy, e.g. ``ddp`` for several GPUs or machines.
        num_nodes: machines taking part.
        precision: Lightning precision, e.g. ``32-true`` or ``bf16-mixed`` on GPUs.
        max_steps: stop after this many optimiser steps (``-1``: no limit).
        progress_bar: show a progress bar with the losses.
        tensorboard: also log to TensorBoard (needs the ``tensorboard`` package).
        beta: weight of the KL term for variational networks.
        sparsity: weight of the L1 penalty on latent activations (sparse variant).
        noise: corruption applied to inputs during training only (denoising variant):
            ``gaussian``, ``salt_pepper`` or ``mask``; ``None`` for none.
        noise_level: its strength: the standard deviation for ``gaussian``, the share of
            corrupted values for ``salt_pepper`` and ``mask``.
    """

    loss: str = "mse"
    max_epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    schedule: str = "onecycle"
    patience: int = 3
    seed: int = 0
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    max_steps: int = -1
    progress_bar: bool = True
    tensorboard: bool = False
    beta: float = 1.0
    sparsity: float = 0.0
    noise: str | None = None
    noise_level: float = 0.0

    def __post_init__(self) -> None:
        for name in WHOLE_NUMBERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise ValueError(f"{name} must be a whole number; got {value!r}")
        for name in NUMBERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number; got {value!r}")
        for name in ("progress_bar", "tensorboard"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false; got {getattr(self, name)!r}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(f"max_steps must be -1 (no limit) or at least 1; got {self.max_steps}")
        check_loss_name(self.loss)
        for name in ("max_epochs", "batch_size", "num_nodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; expected one of: {', '.join(SCHEDULES)}"
            )
        for name in ("patience", "beta", "sparsity", "weight_decay", "noise_level"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative; got {getattr(self, name)}")
        if self.noise is not None and self.noise not in NOISE_KINDS:
            raise ValueError(
                f"unknown noise {self.noise!r}; expected one of: {', '.join(NOISE_KINDS)}"
            )
        if self.noise in ("salt_pepper", "mask") and self.noise_level > 1:
            raise ValueError(
                f"noise_level is the share of values {self.noise} noise corrupts, at most 1; "
                f"got {self.noise_level}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Settings from a dict, rejecting unknown keys with the list of known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown training option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**values)
