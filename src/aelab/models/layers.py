"""Small layers that make the reference networks' tables read as documented."""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "identity")


def make_activation(name: str) -> nn.Module:
    """Build an activation layer from its name.

    Raises:
        ValueError: if the name is not one of the known activations.
    """
    if name not in _ACTIVATIONS:
        known = ", ".join(sorted(_ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; expected one of: {known}")
    return _ACTIVATIONS[name]()


class Reshape(nn.Module):
    """Reshape a batch of flat vectors to ``(N, *shape)``."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reshape ``(N, D)`` to ``(N, *shape)``."""
        return x.view(x.shape[0], *self.shape)

    def extra_repr(self) -> str:  # noqa: D102
        return f"shape={self.shape}"


class Trim(nn.Module):
    """Crop the spatial dimensions of ``(N, C, H, W)`` maps to ``size`` from the top left."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Keep the top-left ``size`` of each map."""
        return x[:, :, : self.size[0], : self.size[1]]

    def extra_repr(self) -> str:  # noqa: D102
        return f"size={self.size}"
