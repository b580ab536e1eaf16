"""Reconstruction losses and the penalties of the autoencoder variants."""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812

RECONSTRUCTION_LOSSES = ("mse", "bce", "l1")


def check_loss_name(name: str) -> None:
    """Raise a clear error unless ``name`` is a known reconstruction loss."""
    if name not in RECONSTRUCTION_LOSSES:
        raise ValueError(
            f"unknown loss {name!r}; expected one of: {', '.join(RECONSTRUCTION_LOSSES)}"
        )


def elementwise_error(
    name: str, reconstruction: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Per-element reconstruction error, shaped like the input.

    ``bce`` needs reconstructions in [0, 1] (a sigmoid output) and targets in [0, 1].
    """
    check_loss_name(name)
    if name == "mse":
        return (reconstruction - target).square()
    if name == "l1":
        return (reconstruction - target).abs()
    return F.binary_cross_entropy(reconstruction.clamp(1e-7, 1 - 1e-7), target, reduction="none")


def reconstruction_loss(
    name: str, reconstruction: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Mean per-element reconstruction error over the batch, a scalar."""
    return elementwise_error(name, reconstruction, target).mean()


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mean, exp(logvar)) from N(0, I), summed over latent dims, per sample.

    Returns:
        ``(N,)`` tensor.
    """
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1)
