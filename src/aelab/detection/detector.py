"""The autoencoder anomaly detector, in the scikit-learn / PyOD style."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from aelab.detection.thresholds import ThresholdSpec, describe, fit_threshold
from aelab.models import create_model, list_models, make_config, model_config_class
from aelab.training import TrainConfig, as_samples, fit_autoencoder
from aelab.training.losses import elementwise_error

log = logging.getLogger(__name__)


class DetectorScores(NamedTuple):
    """Scores of a batch.

    Attributes:
        scores: ``(N,)`` mean reconstruction error per sample; higher is more anomalous.
        errors: ``(N, C, L)`` reconstruction error per sensor and time step.
    """

    scores: np.ndarray
    errors: np.ndarray


_REQUIRED = object()


class SavedEntries:
    """The entries a detector saved in ``config.json``, each read and converted by name.

    A missing entry, or one its conversion refuses, is a ``ValueError`` that names the
    file, the detector and the entry.
    """

    def __init__(self, entries: Mapping[str, Any], folder: str | Path, kind: str) -> None:
        self.entries = entries
        self.where = Path(folder) / "config.json"
        self.kind = kind

    def __call__(
        self,
        key: str,
        convert: Callable[[Any], Any] = lambda value: value,
        default: Any = _REQUIRED,
    ) -> Any:
        """``convert(entries[key])``; ``default`` when the entry is absent and one is given."""
        if key not in self.entries:
            if default is not _REQUIRED:
                return default
            raise ValueError(
                f"{self.where} lacks the {self.kind} entry {key!r}; expected the file as "
                f"{self.kind}.save wrote it"
            )
        try:
            return convert(self.entries[key])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.where} holds a malformed {self.kind} entry {key!r}: {exc}"
            ) from None


def finite_float(value: Any) -> float:
    """``value`` as a float, refusing NaN and infinities."""
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"expected a finite number; got {value!r}")
    return number


class AutoencoderDetector(BaseEstimator):
    """Flags samples the autoencoder, trained on normal data only, rebuilds badly.

    The score of a sample is its mean per-element reconstruction error (with the training
    loss: squared, absolute or binary cross-entropy) after per-channel standardisation
    fitted on the training data. A sample is an anomaly when its score is strictly above
    ``threshold_``.

    Args:
        model: registered network name.
        model_config: network options; ``in_channels`` and ``length`` (or ``image_size``)
            are taken from the data.
        train_config: training settings, a :class:`TrainConfig` or a dict of its fields.
        threshold: how ``threshold_`` is chosen from validation-normal scores.
        validation_share: share of ``X`` held out for early stopping and the threshold when
            ``fit`` gets no ``X_val``.
        standardize: standardise each channel with the training data's mean and std.
        n_score_samples: for variational networks, average the reconstruction error over
            this many latent samples (``0``: decode the posterior mean).
        log_dir: folder for training logs and checkpoints.

    Example:
        >>> detector = AutoencoderDetector(train_config={"max_epochs": 20}).fit(normal)
        >>> labels = detector.predict(new_signals)  # 0 normal, 1 anomaly
    """

    def __init__(
        self,
        model: str = "signal_ae",
        model_config: dict[str, Any] | None = None,
        train_config: TrainConfig | dict[str, Any] | None = None,
        threshold: ThresholdSpec | None = None,
        validation_share: float = 0.2,
        standardize: bool = True,
        n_score_samples: int = 0,
        log_dir: str | Path = "runs/detector",
    ) -> None:
        self.model = model
        self.model_config = model_config
        self.train_config = train_config
        self.threshold = threshold
        self.validation_share = validation_share
        self.standardize = standardize
        self.n_score_samples = n_score_samples
        self.log_dir = log_dir

    # --- fitting -------------------------------------------------------------------------

    def fit(
        self, X: np.ndarray, y: None = None, X_val: np.ndarray | None = None
    ) -> AutoencoderDetector:  # noqa: N803
        """Train on normal samples and choose the threshold on validation-normal scores.

        Args:
            X: normal samples ``(N, C, L)`` (signals) or ``(N, C, H, W)`` (images).
            y: ignored; present for scikit-learn compatibility.
            X_val: validation-normal samples; by default the last ``validation_share`` of
                ``X`` (in the order given).

        Returns:
            The fitted detector.
        """
        if self.threshold is not None and self.threshold.strategy == "f1":
            raise ValueError(
                "the f1 threshold needs labelled anomalies, which fit does not train on; fit "
                "with another strategy, then call refit_threshold(X, ThresholdSpec('f1'), y)"
            )
        X = _as_array(X, "X")
        if X_val is None:
            n_val = int(round(len(X) * self.validation_share))
            if not 0 < n_val < len(X):
                raise ValueError(
                    f"cannot hold out {self.validation_share:g} of {len(X)} samples for "
                    "validation; pass X_val or more samples"
                )
            X, X_val = X[:-n_val], X[-n_val:]
        X_val = _as_array(X_val, "X_val")
        if X_val.shape[1:] != X.shape[1:]:
            raise ValueError(f"X_val samples are shaped {X_val.shape[1:]}; X's are {X.shape[1:]}")

        self.network_config_ = self._network_config(X.shape[1:])
        self.train_config_ = _train_config(self.train_config)
        torch.manual_seed(self.train_config_.seed)  # the initial weights follow the seed too
        network = create_model(self.model, **self.network_config_)
        self.threshold_spec_ = self.threshold or ThresholdSpec()
        self.input_shape_ = tuple(int(s) for s in X.shape[1:])

        # Per-channel standardisation, fitted on training samples only.
        axes = (0, *range(2, X.ndim))
        self.mean_ = X.mean(axis=axes) if self.standardize else np.zeros(X.shape[1], np.float32)
        std = X.std(axis=axes) if self.standardize else np.ones(X.shape[1], np.float32)
        self.scale_ = np.where(std > 0, std, 1.0).astype(np.float32)

        result = fit_autoencoder(
            network, self._scale(X), self._scale(X_val), self.train_config_, self.log_dir
        )
        self.network_ = result.network
        self.history_ = result.history
        self.fit_seconds_ = result.seconds
        self.decision_scores_ = self.score(X).scores
        self.val_scores_ = self.score(X_val).scores
        self.threshold_ = fit_threshold(self.val_scores_, self.threshold_spec_)
        log.info(
            "detector fitted: threshold %.6g (%s)", self.threshold_, describe(self.threshold_spec_)
        )
        return self

    def refit_threshold(
        self,
        X: np.ndarray,
        spec: ThresholdSpec,
        y: np.ndarray | None = None,  # noqa: N803
    ) -> AutoencoderDetector:
        """Choose ``threshold_`` again from the scores of ``X`` (labels ``y`` for ``f1``)."""
        check_is_fitted(self, "network_")
        self.threshold_spec_ = spec
        self.threshold_ = fit_threshold(self.score(X).scores, spec, labels=y)
        return self

    # --- scoring -------------------------------------------------------------------------

    def score(self, X: np.ndarray, batch_size: int = 512) -> DetectorScores:  # noqa: N803
        """Score samples: one score each, and the error per channel and time step.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
            ValueError: for a wrong shape, NaN or infinite values.
        """
        check_is_fitted(self, "network_")
        X = self._scale(_as_array(X, "X", self.input_shape_))
        loss = self.train_config_.loss
        errors = []
        with torch.no_grad():
            for batch in torch.from_numpy(X).split(batch_size):
                errors.append(elementwise_error(loss, self._reconstruct(batch), batch).numpy())
        per_element = np.concatenate(errors)
        scores = per_element.reshape(len(per_element), -1).mean(axis=1)
        return DetectorScores(scores.astype(np.float64), per_element)

    def decision_function(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """One score per sample (PyOD's name); higher is more anomalous."""
        return self.score(X).scores

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """0 (normal) or 1 (anomaly) per sample: 1 where the score is above ``threshold_``."""
        check_is_fitted(self, "threshold_")
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """Reconstructions of ``X`` in the data's own units."""
        check_is_fitted(self, "network_")
        X = self._scale(_as_array(X, "X", self.input_shape_))
        with torch.no_grad():
            out = self._reconstruct(torch.from_numpy(X)).numpy()
        return out * self._broadcast(self.scale_, out) + self._broadcast(self.mean_, out)

    # --- saving --------------------------------------------------------------------------

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the fitted detector as safetensors weights and a JSON config.

        Args:
            folder: the model folder; replaced whole if it exists.
            extra: more JSON-ready entries for the config's ``extra``, such as a wrapping
                detector's settings; they may not reuse the detector's own keys.
        """
        from aelab.persistence import save_model

        check_is_fitted(self, "threshold_")
        own = {
            "detector": "AutoencoderDetector",
            "params": {
                "validation_share": self.validation_share,
                "standardize": self.standardize,
                "n_score_samples": self.n_score_samples,
            },
            "train_config": self.train_config_.to_dict(),
            "threshold_spec": asdict(self.threshold_spec_),
            "threshold": self.threshold_,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "input_shape": list(self.input_shape_),
            "val_scores": self.val_scores_.tolist(),
        }
        clash = sorted(set(own) & set(extra or {}))
        if clash:
            raise ValueError(f"extra may not reuse the detector's own keys: {', '.join(clash)}")
        return save_model(folder, self.network_, {**own, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> AutoencoderDetector:
        """Read a detector written by :meth:`save`; it scores exactly as the saved one did."""
        from aelab.persistence import load_model

        saved = load_model(folder)
        extra = saved.extra
        if extra.get("detector") != cls.__name__:
            raise ValueError(f"{folder} holds a model, not a saved {cls.__name__}")
        entry = SavedEntries(extra, folder, cls.__name__)
        detector = entry("params", lambda params: cls(model=saved.network.registry_name, **params))
        detector.network_ = saved.network
        detector.network_config_ = asdict(saved.network.config)
        detector.model_config = detector.network_config_
        detector.train_config_ = entry("train_config", TrainConfig.from_dict)
        detector.threshold_spec_ = entry("threshold_spec", lambda spec: ThresholdSpec(**spec))
        detector.threshold_ = entry("threshold", finite_float)
        detector.mean_ = entry("mean", lambda v: np.asarray(v, dtype=np.float32))
        detector.scale_ = entry("scale", lambda v: np.asarray(v, dtype=np.float32))
        detector.input_shape_ = entry("input_shape", lambda v: tuple(int(n) for n in v))
        detector.val_scores_ = entry("val_scores", lambda v: np.asarray(v, dtype=np.float64))
        return detector

    # --- helpers -------------------------------------------------------------------------

    def _network_config(self, sample_shape: tuple[int, ...]) -> dict[str, Any]:
        config = dict(self.model_config or {})
        if len(sample_shape) == 2:
            from_data = {"in_channels": int(sample_shape[0]), "length": int(sample_shape[1])}
        elif len(sample_shape) == 3 and sample_shape[1] == sample_shape[2]:
            from_data = {"in_channels": int(sample_shape[0]), "image_size": int(sample_shape[1])}
        else:
            raise ValueError(
                f"samples must be signals (C, L) or square images (C, H, H); got {sample_shape}"
            )
        size_field = "length" if "length" in from_data else "image_size"
        known = {f.name for f in fields(model_config_class(self.model))}
        if size_field not in known:
            kind = "signals" if size_field == "length" else "square images"
            fitting = [
                name
                for name in list_models()
                if size_field in {f.name for f in fields(model_config_class(name))}
            ]
            raise ValueError(
                f"model {self.model!r} does not take {kind}, and the samples are {kind} "
                f"shaped {sample_shape}; use one of: {', '.join(fitting)}"
            )
        clash = [
            f"{key}={config[key]}"
            for key in from_data
            if config.get(key, from_data[key]) != from_data[key]
        ]
        if clash:
            given = ", ".join(f"{key}={value}" for key, value in from_data.items())
            raise ValueError(
                f"model_config sets {', '.join(clash)}, but the samples are shaped {sample_shape} "
                f"({given}); leave these out of model_config (the data sets them) or pass "
                "samples of that shape"
            )
        return asdict(make_config(self.model, **{**config, **from_data}))

    def _scale(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return ((X - self._broadcast(self.mean_, X)) / self._broadcast(self.scale_, X)).astype(
            np.float32
        )

    @staticmethod
    def _broadcast(per_channel: np.ndarray, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return per_channel.reshape(1, -1, *([1] * (X.ndim - 2)))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        network = self.network_
        if not network.variational or self.n_score_samples == 0:
            return network(batch)
        # Expected reconstruction over latent samples.
        outs = [network.forward_train(batch).reconstruction for _ in range(self.n_score_samples)]
        return torch.stack(outs).mean(dim=0)


def _train_config(value: TrainConfig | dict[str, Any] | None) -> TrainConfig:
    if value is None:
        return TrainConfig()
    return value if isinstance(value, TrainConfig) else TrainConfig.from_dict(value)


def _as_array(X: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:  # noqa: N803
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    array = np.asarray(X, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, None, :]  # (N, L) univariate signals become (N, 1, L)
    if shape is not None:
        return as_samples(array, shape, what).numpy()
    if array.ndim not in (3, 4):
        raise ValueError(
            f"{what} must be signals (N, C, L), univariate signals (N, L) or images "
            f"(N, C, H, W); got shape {array.shape}"
        )
    return as_samples(array, array.shape[1:], what).numpy()
