"""Convolutional image autoencoder: Conv2d encoder, transposed-convolution decoder.

The defaults reproduce the reference network of the design documents (1x28x28 input,
2-D latent, 200,963 parameters): the decoder overshoots to 55x55 and a ``Trim`` layer
crops the map back to the input size. ``last_stride=1`` gives the well-known variant
that overshoots only to 29x29.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from aelab.models.base import Autoencoder, AutoencoderOutput, VariationalMixin
from aelab.models.layers import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    Reshape,
    Trim,
    make_activation,
)
from aelab.models.registry import register_model

KERNEL = 3


@dataclass(frozen=True)
class ImageAutoencoderConfig:
    """Shape of the image autoencoder.

    Attributes:
        in_channels: channels of the input images.
        image_size: height and width of the (square) input images.
        channels: output channels of each encoder convolution; its length is the depth.
        strides: stride of each encoder convolution.
        latent_dim: size of the latent code.
        activation: activation after each hidden convolution.
        output_activation: activation of the reconstruction; ``sigmoid`` keeps pixels in
            [0, 1], which binary cross-entropy needs.
        last_stride: stride of the decoder's last transposed convolution.
        decoder_paddings: padding of each transposed convolution; ``None`` pads all but
            the last two, as the reference network does.
    """

    in_channels: int = 1
    image_size: int = 28
    channels: tuple[int, ...] = (32, 64, 64, 64)
    strides: tuple[int, ...] = (1, 2, 2, 1)
    latent_dim: int = 2
    activation: str = "leaky_relu"
    output_activation: str = "sigmoid"
    last_stride: int = 2
    decoder_paddings: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        _check_positive("in_channels", self.in_channels)
        _check_positive("image_size", self.image_size)
        _check_positive("latent_dim", self.latent_dim)
        _check_positive("last_stride", self.last_stride)
        if not self.channels or any(c < 1 for c in self.channels):
            raise ValueError(
                f"channels must be a non-empty list of positive ints; got {self.channels}"
            )
        if len(self.strides) != len(self.channels) or any(s < 1 for s in self.strides):
            raise ValueError(
                f"strides needs one positive stride per layer ({len(self.channels)} layers); "
                f"got {self.strides}"
            )
        if self.decoder_paddings is not None and (
            len(self.decoder_paddings) != len(self.channels)
            or any(p < 0 for p in self.decoder_paddings)
        ):
            raise ValueError(
                f"decoder_paddings needs one padding >= 0 per layer ({len(self.channels)} "
                f"layers); got {self.decoder_paddings}"
            )
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; expected one of: "
                f"{', '.join(HIDDEN_ACTIVATIONS)}"
            )
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"unknown output_activation {self.output_activation!r}; expected one of: "
                f"{', '.join(OUTPUT_ACTIVATIONS)}"
            )
        if self.decoded_size < self.image_size:
            raise ValueError(
                f"the decoder rebuilds only {self.decoded_size}x{self.decoded_size} pixels for "
                f"{self.image_size}x{self.image_size} images; raise last_stride or lower "
                "decoder_paddings"
            )

    @property
    def paddings(self) -> tuple[int, ...]:
        """Padding of each transposed convolution, in decoder order."""
        if self.decoder_paddings is not None:
            return self.decoder_paddings
        n = len(self.channels)
        return tuple(1 if i < n - 2 else 0 for i in range(n))

    @property
    def decoder_strides(self) -> tuple[int, ...]:
        """Stride of each transposed convolution: the encoder's mirrored, then ``last_stride``."""
        return (*reversed(self.strides[1:]), self.last_stride)

    @property
    def encoded_size(self) -> int:
        """Height and width of the last encoder feature map."""
        size = self.image_size
        for stride in self.strides:
            size = math.floor((size + 2 - KERNEL) / stride) + 1  # padding 1
        return size

    @property
    def decoded_size(self) -> int:
        """Height and width of the decoder's map before it is trimmed."""
        size = self.encoded_size
        for stride, pad in zip(self.decoder_strides, self.paddings, strict=True):
            size = (size - 1) * stride - 2 * pad + KERNEL
        return size


@register_model("image_ae", ImageAutoencoderConfig)
class ImageAutoencoder(Autoencoder):
    """Convolutional autoencoder for ``(N, C, H, W)`` images.

    Args:
        config: the network's shape; the default is the reference network.

    Example:
        >>> model = ImageAutoencoder(ImageAutoencoderConfig(latent_dim=16))
        >>> model(torch.rand(8, 1, 28, 28)).shape
        torch.Size([8, 1, 28, 28])
    """

    def __init__(self, config: ImageAutoencoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ImageAutoencoderConfig()
        self.input_shape = (config.in_channels, config.image_size, config.image_size)
        n = len(config.channels)
        side = config.encoded_size
        flat = config.channels[-1] * side * side

        # Encoder: convolutions, an activation between them (none after the last).
        encoder: list[nn.Module] = []
        in_ch = config.in_channels
        for i, (out_ch, stride) in enumerate(zip(config.channels, config.strides, strict=True)):
            encoder.append(nn.Conv2d(in_ch, out_ch, KERNEL, stride=stride, padding=1))
            if i < n - 1:
                encoder.append(make_activation(config.activation))
            in_ch = out_ch
        encoder += [nn.Flatten(), nn.Linear(flat, self.latent_head_size)]
        self.encoder = nn.Sequential(*encoder)

        # Decoder: back to the last feature map, then transposed convolutions mirroring
        # the encoder's channels, then crop and squash.
        out_channels = (*reversed(config.channels[:-1]), config.in_channels)
        decoder: list[nn.Module] = [
            nn.Linear(config.latent_dim, flat),
            Reshape(config.channels[-1], side, side),
        ]
        in_ch = config.channels[-1]
        layers = zip(out_channels, config.decoder_strides, config.paddings, strict=True)
        for i, (out_ch, stride, pad) in enumerate(layers):
            decoder.append(nn.ConvTranspose2d(in_ch, out_ch, KERNEL, stride=stride, padding=pad))
            if i < n - 1:
                decoder.append(make_activation(config.activation))
            in_ch = out_ch
        decoder += [
            Trim((config.image_size, config.image_size)),
            make_activation(config.output_activation),
        ]
        self.decoder = nn.Sequential(*decoder)

    @property
    def latent_head_size(self) -> int:
        """Width of the encoder's last linear layer."""
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(N, C, H, W)`` to latent codes ``(N, latent_dim)``."""
        self.check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes ``(N, latent_dim)`` to images ``(N, C, H, W)``."""
        return self.decoder(z)


@register_model("image_vae", ImageAutoencoderConfig)
class ImageVAE(VariationalMixin, ImageAutoencoder):
    """Variational image autoencoder.

    The encoder gives a mean and a log-variance per latent dimension; training decodes a
    sample drawn from them. :meth:`sample` decodes draws from the standard normal prior.
    """

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I): new images ``(n, C, H, W)``."""
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        return self.decode(z)


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")


__all__ = ["AutoencoderOutput", "ImageAutoencoder", "ImageAutoencoderConfig", "ImageVAE"]
