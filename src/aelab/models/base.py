"""What every aelab autoencoder offers, whatever its data."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class AutoencoderOutput(NamedTuple):
    """Everything one training forward pass produces.

    Attributes:
        reconstruction: the rebuilt input, same shape as the input.
        latent: the code the decoder read (a sample for variational networks).
        mean: the posterior mean for variational networks, else ``None``.
        logvar: the posterior log-variance for variational networks, else ``None``.
    """

    reconstruction: torch.Tensor
    latent: torch.Tensor
    mean: torch.Tensor | None = None
    logvar: torch.Tensor | None = None


class Autoencoder(nn.Module):
    """Base class: an encoder to a latent code and a decoder back to the input space.

    Subclasses set ``config`` and ``input_shape`` (without the batch dimension) and
    implement :meth:`encode` and :meth:`decode`.
    """

    registry_name: str = ""
    variational: bool = False
    config: object
    input_shape: tuple[int, ...]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs to latent codes (the posterior mean for variational networks)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes back to the input space."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x``; deterministic, whatever the network."""
        return self.decode(self.encode(x))

    def forward_train(self, x: torch.Tensor) -> AutoencoderOutput:
        """The forward pass used for training, with what the losses need."""
        z = self.encode(x)
        return AutoencoderOutput(self.decode(z), z)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless ``x`` is a batch shaped ``(N, *input_shape)``."""
        if x.dim() != len(self.input_shape) + 1 or tuple(x.shape[1:]) != self.input_shape:
            expected = ", ".join(str(s) for s in self.input_shape)
            raise ValueError(
                f"{type(self).__name__} expects a batch shaped (N, {expected}); "
                f"got {tuple(x.shape)}"
            )


class VariationalMixin:
    """Turns an autoencoder variational.

    The encoder's last layer gives means and log-variances side by side (twice the plain
    latent width), training decodes a sample drawn from them (reparameterisation), and
    :meth:`encode` gives the posterior mean.

    Put it before the plain network class in the bases.
    """

    variational = True

    @property
    def latent_head_size(self) -> int:
        """Width of the encoder's last layer: means, then log-variances."""
        return 2 * super().latent_head_size  # type: ignore[misc]

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x), each shaped like the plain latent code."""
        self.check_input(x)  # type: ignore[attr-defined]
        mean, logvar = self.encoder(x).chunk(2, dim=1)  # type: ignore[attr-defined]
        return mean, logvar.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean."""
        return self.posterior(x)[0]

    def forward_train(self, x: torch.Tensor) -> AutoencoderOutput:
        """Decode a reparameterised sample z = mean + exp(logvar / 2) * eps."""
        mean, logvar = self.posterior(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return AutoencoderOutput(self.decode(z), z, mean, logvar)  # type: ignore[attr-defined]
