"""What the sensor benchmarks (skab.py, nab.py, cwru.py) share: quiet logs, the baselines
scored on the autoencoder's own windows, per-step folding, and the results files.

Not a benchmark itself; the three scripts import it from their own folder.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aelab.data.sensors import overlap_average
from aelab.metrics import flatten, isolation_forest_scores, pca_reconstruction

RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ("Isolation Forest", "PCA reconstruction", "PyOD AutoEncoder")


def setup(threads: int = 1) -> None:
    """Milestones only, no progress noise; one torch thread by default.

    NOTE: small networks on a busy two-core machine train many times faster on one thread
    than on two, whose threads spin waiting for each other.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pyod"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*percentile of .* validation.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="lightning")
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(threads)


def baseline_step_scores(
    train: np.ndarray,
    windows: np.ndarray,
    *,
    pca_components: int,
    pyod_epochs: int,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Score ``windows`` ``(N, C, L)`` with each baseline fitted on ``train`` ``(M, C, L)``.

    Returns, per baseline, a score per window and time step ``(N, L)``, ready for
    :func:`fold`: PCA's squared reconstruction error averaged over the sensors (its own
    per-step error, as the autoencoder's), and the window score repeated over the window
    for Isolation Forest and PyOD's AutoEncoder, which give one score per window.
    """
    length = windows.shape[-1]
    forest = isolation_forest_scores(train, windows, seed=seed)  # (N,)
    rebuilt = pca_reconstruction(train, windows, n_components=pca_components, seed=seed)
    pca = ((rebuilt - windows) ** 2).mean(axis=1)  # (N, L)
    pyod = pyod_autoencoder_scores(train, windows, epochs=pyod_epochs, seed=seed)  # (N,)
    return {
        "Isolation Forest": np.repeat(forest[:, None], length, axis=1),
        "PCA reconstruction": pca,
        "PyOD AutoEncoder": np.repeat(pyod[:, None], length, axis=1),
    }


def pyod_autoencoder_scores(
    train: np.ndarray, test: np.ndarray, *, epochs: int, seed: int = 0
) -> np.ndarray:
    """PyOD's fully connected AutoEncoder on flattened windows; higher is more anomalous."""
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        epoch_num=epochs,
        batch_size=32,
        hidden_neuron_list=[64, 32],
        random_state=seed,
        verbose=0,
        device="cpu",
    )
    model.fit(flatten(train))
    return np.asarray(model.decision_function(flatten(test)), dtype=np.float64)


def fold(per_step: np.ndarray, starts: np.ndarray, n_steps: int) -> np.ndarray:
    """Per-window, per-step scores ``(N, L)`` averaged onto the time steps ``(T,)``."""
    return overlap_average(per_step, starts, n_steps).astype(np.float64)


def write_results(frame: pd.DataFrame, name: str, title: str, notes: list[str]) -> str:
    """Write the table as ``results/<name>.csv`` and ``results/<name>.txt``; return its text."""
    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / f"{name}.csv", index=False)
    text = "\n".join([title, frame.to_string(index=False), *notes])
    (RESULTS / f"{name}.txt").write_text(text + "\n")
    return text
