"""Conv1D signal autoencoder: convolutions and max pooling down, upsampling back.

The defaults reproduce the reference network of the design documents (1x1000 input,
16x250 bottleneck, 5,217 parameters). ``in_channels`` is the number of sensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aelab.models.base import Autoencoder, VariationalMixin
from aelab.models.layers import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, make_activation
from aelab.models.registry import register_model


@dataclass(frozen=True)
class SignalAutoencoderConfig:
    """Shape of the signal autoencoder.

    Attributes:
        in_channels: sensors per time step.
        length: time steps per signal (window).
        channels: output channels of each encoder convolution, each followed by pooling.
        kernel_sizes: kernel of each encoder convolution (odd, so length is kept).
        latent_channels: channels of the bottleneck; the latent code is
            ``latent_channels x length / pool_size ** len(channels)``.
        latent_kernel_size: kernel of the bottleneck convolution.
        decoder_kernel_sizes: kernel of each decoder convolution.
        activation: activation after each hidden convolution.
        output_activation: activation of the reconstruction.
        pool_size: pooling and upsampling factor.
    """

    in_channels: int = 1
    length: int = 1000
    channels: tuple[int, ...] = (32, 16)
    kernel_sizes: tuple[int, ...] = (5, 3)
    latent_channels: int = 16
    latent_kernel_size: int = 3
    decoder_kernel_sizes: tuple[int, ...] = (5, 3)
    activation: str = "relu"
    output_activation: str = "identity"
    pool_size: int = 2

    def __post_init__(self) -> None:
        for name in ("in_channels", "length", "latent_channels", "pool_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        n = len(self.channels)
        if n == 0 or any(c < 1 for c in self.channels):
            raise ValueError(
                f"channels must be a non-empty list of positive ints; got {self.channels}"
            )
        for name in ("kernel_sizes", "decoder_kernel_sizes"):
            kernels = getattr(self, name)
            if len(kernels) != n or any(k < 1 or k % 2 == 0 for k in kernels):
                raise ValueError(f"{name} needs one odd kernel size per layer ({n}); got {kernels}")
        if self.latent_kernel_size < 1 or self.latent_kernel_size % 2 == 0:
            raise ValueError(f"latent_kernel_size must be odd; got {self.latent_kernel_size}")
        if self.length % self.pool_size**n:
            raise ValueError(
                f"length {self.length} must be divisible by pool_size ** layers = "
                f"{self.pool_size**n}; pick a length (window) that is a multiple of it"
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

    @property
    def latent_length(self) -> int:
        """Time steps of the bottleneck."""
        return self.length // self.pool_size ** len(self.channels)


@register_model("signal_ae", SignalAutoencoderConfig)
class SignalAutoencoder(Autoencoder):
    """Conv1D autoencoder for ``(N, C, L)`` signals, C sensors and L time steps.

    Args:
        config: the network's shape; the default is the reference network.

    Example:
        >>> model = SignalAutoencoder(SignalAutoencoderConfig(in_channels=8, length=128))
        >>> model(torch.randn(4, 8, 128)).shape
        torch.Size([4, 8, 128])
    """

    def __init__(self, config: SignalAutoencoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SignalAutoencoderConfig()
        self.input_shape = (config.in_channels, config.length)

        # Encoder: (convolution, activation, pooling) per layer, then the bottleneck.
        encoder: list[nn.Module] = []
        in_ch = config.in_channels
        for out_ch, k in zip(config.channels, config.kernel_sizes, strict=True):
            encoder += [
                nn.Conv1d(in_ch, out_ch, k, padding=k // 2),
                make_activation(config.activation),
                nn.MaxPool1d(config.pool_size),
            ]
            in_ch = out_ch
        k = config.latent_kernel_size
        encoder.append(nn.Conv1d(in_ch, self.latent_head_size, k, padding=k // 2))
        if not self.variational:  # mean and log-variance must be free to take any sign
            encoder.append(make_activation(config.activation))
        self.encoder = nn.Sequential(*encoder)

        # Decoder: (upsampling, convolution) per layer, mirroring the encoder's channels.
        out_channels = (*reversed(config.channels[:-1]), config.in_channels)
        decoder: list[nn.Module] = []
        in_ch = config.latent_channels
        n = len(config.channels)
        for i, (out_ch, k) in enumerate(
            zip(out_channels, config.decoder_kernel_sizes, strict=True)
        ):
            decoder += [
                nn.Upsample(scale_factor=config.pool_size, mode="nearest"),
                nn.Conv1d(in_ch, out_ch, k, padding=k // 2),
            ]
            decoder.append(
                make_activation(config.activation if i < n - 1 else config.output_activation)
            )
            in_ch = out_ch
        self.decoder = nn.Sequential(*decoder)

    @property
    def latent_head_size(self) -> int:
        """Channels of the encoder's last convolution."""
        return self.config.latent_channels

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map signals ``(N, C, L)`` to codes ``(N, latent_channels, L / pool**layers)``."""
        self.check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes back to signals ``(N, C, L)``."""
        return self.decoder(z)


@register_model("signal_vae", SignalAutoencoderConfig)
class SignalVAE(VariationalMixin, SignalAutoencoder):
    """Variational Conv1D autoencoder.

    The bottleneck gives a mean and a log-variance per latent channel and time step;
    training decodes a sample drawn from them.
    """
