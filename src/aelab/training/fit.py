"""Fit an autoencoder with Lightning's Trainer: callbacks, logs, devices, strategies."""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import lightning as L  # noqa: N812
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from aelab.models.base import Autoencoder
from aelab.training.config import TrainConfig
from aelab.training.data import tensor_loader
from aelab.training.module import AutoencoderModule

log = logging.getLogger(__name__)


class FitResult(NamedTuple):
    """What a training run leaves behind.

    Attributes:
        network: the network holding the best validation weights, on the CPU, in eval mode.
        best_val_loss: the validation loss of those weights.
        epochs: epochs run (early stopping may end before ``max_epochs``).
        history: one row per epoch with ``train_loss`` and ``val_loss``.
        seconds: wall time of the training loop.
        checkpoint: path of the best Lightning checkpoint.
    """

    network: Autoencoder
    best_val_loss: float
    epochs: int
    history: pd.DataFrame
    seconds: float
    checkpoint: Path


def make_trainer(
    config: TrainConfig,
    log_dir: Path,
    *,
    validate: bool = True,
    val_check_interval: int | None = None,
) -> L.Trainer:
    """Build Lightning's Trainer from the settings.

    Args:
        config: training settings (epochs, devices, strategy, precision, ...).
        log_dir: folder for the CSV (and TensorBoard) logs and the best checkpoint.
        validate: watch ``val_loss`` for early stopping and checkpoints.
        val_check_interval: validate every this many training batches; ``None``: at the end
            of each epoch.
    """
    loggers: list[Logger] = [CSVLogger(log_dir, name="", version="")]
    if config.tensorboard:
        from lightning.pytorch.loggers import TensorBoardLogger

        try:
            loggers.append(TensorBoardLogger(log_dir, name="tensorboard", version=""))
        except ModuleNotFoundError:
            raise ValueError(
                "tensorboard logging needs the tensorboard package: pip install tensorboard"
            ) from None
    callbacks: list[L.Callback] = []
    if validate:
        callbacks += [
            EarlyStopping("val_loss", patience=config.patience, mode="min"),
            ModelCheckpoint(
                log_dir / "checkpoints", filename="best", monitor="val_loss", mode="min"
            ),
        ]
    if config.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    try:
        return L.Trainer(
            accelerator=config.accelerator,
            devices=config.devices,
            strategy=config.strategy,
            num_nodes=config.num_nodes,
            precision=config.precision,
            max_epochs=config.max_epochs,
            max_steps=config.max_steps,
            val_check_interval=val_check_interval,
            logger=loggers,
            callbacks=callbacks,
            enable_checkpointing=validate,
            enable_progress_bar=config.progress_bar,
            enable_model_summary=False,
            log_every_n_steps=10,
            default_root_dir=log_dir,
            deterministic=False,
        )
    except (MisconfigurationException, ModuleNotFoundError, TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot train with accelerator={config.accelerator!r}, devices={config.devices!r}, "
            f"strategy={config.strategy!r}, num_nodes={config.num_nodes}, "
            f"precision={config.precision!r}: {exc}"
        ) from None


def check_bce(network: Autoencoder, data: dict[str, torch.Tensor]) -> None:
    """Refuse binary cross-entropy where it is undefined: outputs or targets outside [0, 1].

    Raises:
        ValueError: naming the network's output activation or the data out of range.
    """
    output = getattr(getattr(network, "config", None), "output_activation", "sigmoid")
    if output != "sigmoid":
        raise ValueError(
            f"loss 'bce' needs a sigmoid output; {network.registry_name} has output_activation "
            f"{output!r}. Use loss mse or l1, or set output_activation=sigmoid for data in [0, 1]"
        )
    for name, values in data.items():
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"loss 'bce' needs targets in [0, 1]; the {name} ranges over "
                f"[{low:.3g}, {high:.3g}]. Use loss mse or l1"
            )


def fit_autoencoder(
    network: Autoencoder,
    train: torch.Tensor | np.ndarray,
    val: torch.Tensor | np.ndarray,
    config: TrainConfig | None = None,
    log_dir: str | Path = "runs/fit",
) -> FitResult:
    """Train ``network`` to reconstruct ``train``, keeping the weights best on ``val``.

    Args:
        network: an aelab autoencoder; it is trained in place and returned.
        train: training samples ``(N, *network.input_shape)``.
        val: validation samples, same shape after the first dimension.
        config: training settings; the defaults suit the reference networks.
        log_dir: where logs and the best checkpoint go.

    Returns:
        The trained network and the run's figures.

    Raises:
        ValueError: for empty inputs, wrong shapes, NaN / infinite values, loss ``bce`` on
            data outside [0, 1], or devices Lightning cannot use.
    """
    config = config or TrainConfig()
    train_t = as_samples(train, network.input_shape, "training data")
    val_t = as_samples(val, network.input_shape, "validation data")
    if config.loss == "bce":
        check_bce(network, {"training data": train_t, "validation data": val_t})
    log_dir = Path(log_dir)
    loaders = (
        tensor_loader(train_t, batch_size=config.batch_size, shuffle=True, seed=config.seed),
        tensor_loader(val_t, batch_size=max(config.batch_size, 512), shuffle=False),
    )
    # A step limit inside the first epoch would end training before any validation, and so
    # before any checkpoint: validate when the limit is reached.
    short = 0 < config.max_steps < len(loaders[0])
    trainer = make_trainer(config, log_dir, val_check_interval=config.max_steps if short else None)
    log_dir.mkdir(parents=True, exist_ok=True)

    L.seed_everything(config.seed, workers=True, verbose=False)
    module = AutoencoderModule(network, config)
    log.info(
        "training %s on %d samples (validation %d), up to %d epochs, batch %d",
        type(network).__name__,
        len(train_t),
        len(val_t),
        config.max_epochs,
        config.batch_size,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # In-memory tensors need no loader workers; Lightning's hint about them is noise here.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")
        try:
            trainer.fit(module, *loaders)
        except SystemExit:
            # Lightning stops gracefully on Ctrl-C, then exits without a word; say what is left.
            if trainer.interrupted:
                raise KeyboardInterrupt(f"the logs so far are in {log_dir}") from None
            raise
    seconds = time.perf_counter() - start
    score = trainer.checkpoint_callback.best_model_score
    best = float(score) if score is not None else float("nan")
    checkpoint = Path(trainer.checkpoint_callback.best_model_path)
    failed = not math.isfinite(best) or not trainer.checkpoint_callback.best_model_path
    what = "ended"
    if module.diverged_at:
        epoch, step = module.diverged_at
        what = f"diverged at epoch {epoch}, step {step} (output or loss NaN or infinite)"
    if not trainer.is_global_zero:
        # The logs and the best checkpoint are the main process's, which may be on another
        # machine; this process's network is discarded by its caller.
        if failed:
            raise ValueError(f"training {what} before any finite validation loss")
        epochs = int(trainer.current_epoch)
        return FitResult(network.cpu().eval(), best, epochs, pd.DataFrame(), seconds, checkpoint)
    if failed:
        if trainer.checkpoint_callback.best_model_path:
            checkpoint.unlink(missing_ok=True)  # it holds the diverged weights
        raise ValueError(
            f"training {what} before any finite validation loss, so there is no model to "
            f"keep. Lower the learning rate (now {config.learning_rate:g}); the logs are in "
            f"{log_dir}"
        )
    if module.diverged_at:
        log.warning("keeping the best weights from before the divergence")

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    network.load_state_dict({k.removeprefix("network."): v for k, v in state.items()})
    network.cpu().eval()
    history = read_history(log_dir / "metrics.csv")
    log.info(
        "training done in %.0f s, %d epochs, best val_loss %.5f",
        seconds,
        trainer.current_epoch,
        best,
    )
    return FitResult(network, best, int(trainer.current_epoch), history, seconds, checkpoint)


def read_history(metrics_csv: Path) -> pd.DataFrame:
    """Per-epoch losses from Lightning's CSV log: columns epoch, train_loss, val_loss, ..."""
    frame = pd.read_csv(metrics_csv)
    per_epoch = [c for c in frame.columns if c.endswith("_epoch") or c.startswith("val_")]
    table = frame.groupby("epoch")[per_epoch].mean()
    table.columns = [c.removesuffix("_epoch") for c in table.columns]
    return table.reset_index()


def as_samples(data: torch.Tensor | np.ndarray, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """Validate a batch of samples and return it as a float32 tensor.

    Raises:
        ValueError: when ``data`` is empty, is not shaped ``(N, *shape)``, or holds NaN or
            infinite values.
    """
    tensor = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data)
    expected = ", ".join(str(s) for s in shape)
    if tensor.dim() != len(shape) + 1 or tuple(tensor.shape[1:]) != tuple(shape):
        raise ValueError(f"{what} must be shaped (N, {expected}); got {tuple(tensor.shape)}")
    if len(tensor) == 0:
        raise ValueError(f"{what} is empty; need at least one sample shaped ({expected})")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        bad = int((~torch.isfinite(tensor)).flatten(1).any(dim=1).sum())
        raise ValueError(
            f"{what} holds NaN or infinite values in {bad} sample(s); clean or drop them"
        )
    return tensor
