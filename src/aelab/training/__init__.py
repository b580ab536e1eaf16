"""Training: the Lightning module, the Trainer factory and the fit function."""

from aelab.training.config import TrainConfig
from aelab.training.fit import FitResult, as_samples, fit_autoencoder, make_trainer

__all__ = ["FitResult", "TrainConfig", "as_samples", "fit_autoencoder", "make_trainer"]
