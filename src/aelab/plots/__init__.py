"""Matplotlib figures written to PNG files; each function returns the path it wrote."""

from aelab.plots.common import loss_curves, save_figure
from aelab.plots.images import (
    image_rows,
    interpolation_strip,
    latent_grid,
    latent_scatter,
    reconstruction_grid,
)
from aelab.plots.sensors import sensor_contributions, sensor_scores
from aelab.plots.signals import roc_pr_curves, score_histogram, signal_examples

__all__ = [
    "image_rows",
    "interpolation_strip",
    "latent_grid",
    "latent_scatter",
    "loss_curves",
    "reconstruction_grid",
    "roc_pr_curves",
    "save_figure",
    "score_histogram",
    "sensor_contributions",
    "sensor_scores",
    "signal_examples",
]
