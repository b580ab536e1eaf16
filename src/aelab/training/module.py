"""The Lightning module that trains any aelab autoencoder."""

from __future__ import annotations

import logging
from typing import NamedTuple

import lightning as L  # noqa: N812
import torch

from aelab.models.base import Autoencoder
from aelab.training.config import TrainConfig
from aelab.training.losses import gaussian_kl, reconstruction_loss

log = logging.getLogger(__name__)


class DivergedError(FloatingPointError):
    """The network's output or its loss is NaN or infinite: its training diverged."""


class LossTerms(NamedTuple):
    """The objective and its parts, each a scalar tensor.

    ``loss = reconstruction + beta * kl + sparsity_weight * sparsity``; ``kl`` is the KL
    divergence per sample divided by the number of input elements, so that it weighs
    against the per-element reconstruction error as it does in the evidence lower bound.
    """

    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor
    sparsity: torch.Tensor


def corrupt(x: torch.Tensor, kind: str | None, level: float) -> torch.Tensor:
    """Apply training noise to a batch (denoising variant); the clean batch is the target.

    Args:
        x: the clean batch, any shape.
        kind: ``gaussian``, ``salt_pepper``, ``mask`` or ``None`` (no corruption).
        level: standard deviation (``gaussian``) or share of corrupted values.
    """
    if kind is None or level == 0:
        return x
    if kind == "gaussian":
        return x + level * torch.randn_like(x)
    hit = torch.rand_like(x) < level
    if kind == "mask":
        return x.masked_fill(hit, 0.0)
    # Salt and pepper: corrupted values go to the batch's minimum or maximum.
    salt = torch.rand_like(x) < 0.5
    low, high = x.amin(), x.amax()
    return torch.where(hit, torch.where(salt, high, low), x)


def loss_terms(
    network: Autoencoder, x_in: torch.Tensor, target: torch.Tensor, config: TrainConfig
) -> LossTerms:
    """The training objective for one batch.

    The reconstruction error is the mean per element; see :class:`LossTerms`. The penalty
    of the sparse variant is the mean absolute latent activation.

    Raises:
        DivergedError: the network's output or the loss holds NaN or infinite values.
    """
    out = network.forward_train(x_in)
    if not torch.isfinite(out.reconstruction).all():
        raise DivergedError("the network's output holds NaN or infinite values")
    recon = reconstruction_loss(config.loss, out.reconstruction, target)
    zero = recon.new_zeros(())
    kl = zero
    if out.mean is not None and out.logvar is not None:
        kl = gaussian_kl(out.mean, out.logvar).mean() / target[0].numel()
    sparse = out.latent.abs().mean() if config.sparsity > 0 else zero
    loss = recon + config.beta * kl + config.sparsity * sparse
    if not torch.isfinite(loss):
        raise DivergedError("the loss is NaN or infinite")
    return LossTerms(loss, recon, kl, sparse)


class AutoencoderModule(L.LightningModule):
    """Trains ``network`` to rebuild its input under :class:`TrainConfig`'s objective.

    Args:
        network: any aelab autoencoder.
        config: the training settings.
    """

    def __init__(self, network: Autoencoder, config: TrainConfig) -> None:
        super().__init__()
        self.network = network
        self.config = config
        #: ``(epoch, step)`` where the output or the loss was first NaN or infinite, if ever.
        self.diverged_at: tuple[int, int] | None = None

    def _stop_diverged(self) -> None:
        """Stop training; the best checkpoint saved before the divergence stays the result."""
        if self.diverged_at is None:
            self.diverged_at = (self.current_epoch, self.global_step)
            log.warning(
                "training diverged at epoch %d, step %d: the network's output or its loss "
                "is NaN or infinite; stopping",
                *self.diverged_at,
            )
        self.trainer.should_stop = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct a batch."""
        return self.network(x)

    def training_step(self, batch: tuple[torch.Tensor, ...], _index: int) -> torch.Tensor:
        """One optimiser step on a (possibly corrupted) batch."""
        x = batch[0]
        try:
            terms = loss_terms(
                self.network, corrupt(x, self.config.noise, self.config.noise_level), x, self.config
            )
            diverged = False
        except DivergedError:
            diverged = True
        if self._trainer is not None and self.trainer.world_size > 1:
            # Every process must stop at the same step, or the others wait for it forever.
            diverged = self.trainer.strategy.reduce_boolean_decision(diverged, all=False)
        if diverged:
            self._stop_diverged()
            # A loss with zero gradient for every weight: the step changes nothing that the
            # best checkpoint needs, and every process still takes part in the reduction.
            return 0.0 * sum(p.sum() for p in self.network.parameters())
        self.log(
            "train_loss", terms.loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x)
        )
        if self.network.variational:
            self.log("train_kl", terms.kl, on_step=False, on_epoch=True, batch_size=len(x))
        return terms.loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], _index: int) -> None:
        """Validation loss on clean inputs."""
        x = batch[0]
        try:
            terms = loss_terms(self.network, x, x, self.config)
        except DivergedError:
            self._stop_diverged()
            nan = x.new_tensor(float("nan"))  # the checkpoint callback never keeps NaN
            terms = LossTerms(nan, nan, nan, nan)
        self.log(
            "val_loss", terms.loss, prog_bar=True, on_epoch=True, sync_dist=True, batch_size=len(x)
        )
        self.log(
            "val_reconstruction",
            terms.reconstruction,
            on_epoch=True,
            sync_dist=True,
            batch_size=len(x),
        )

    def configure_optimizers(self):  # noqa: ANN201 - Lightning's own union type
        """AdamW with the configured learning-rate schedule, stepped every batch."""
        cfg = self.config
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        if cfg.schedule == "constant":
            return optimizer
        total = int(self.trainer.estimated_stepping_batches)
        if cfg.schedule == "onecycle":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=cfg.learning_rate, total_steps=max(total, 1), pct_start=0.15
            )
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total, 1))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
