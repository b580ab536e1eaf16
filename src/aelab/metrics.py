"""Figures: classification of scores against labels, reconstruction errors, baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)


def classification_figures(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    """Confusion matrix and the usual figures of scores thresholded at ``threshold``.

    A sample is flagged when its score is strictly above the threshold.

    Args:
        labels: ``(N,)`` 0 normal / 1 anomaly.
        scores: ``(N,)`` higher is more anomalous.
        threshold: the alarm threshold.

    Returns:
        ``tn, fp, fn, tp, accuracy, precision, recall, f1, far, mar`` (false-alarm and
        missed-alarm rates), and ``roc_auc, pr_auc`` when both classes are present (NaN
        otherwise), all plain floats.
    """
    labels = np.asarray(labels).astype(int).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} differ in length")
    predicted = (scores > threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    both = 0 < labels.sum() < labels.size
    return {
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
        "accuracy": float((tp + tn) / labels.size),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "far": float(fp / (fp + tn)) if fp + tn else float("nan"),
        "mar": float(fn / (fn + tp)) if fn + tp else float("nan"),
        "roc_auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both else float("nan"),
        "threshold": float(threshold),
    }


def recall_by_group(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    groups: np.ndarray,
    name: str = "group",
) -> pd.DataFrame:
    """Share of anomalies flagged in each group (e.g. anomaly kind or severity band).

    Returns:
        One row per group of anomalous samples: ``name``, ``n``, ``recall``.
    """
    frame = pd.DataFrame(
        {name: np.asarray(groups), "label": labels, "hit": np.asarray(scores) > threshold}
    )
    anomalous = frame[frame["label"] == 1]
    table = anomalous.groupby(name, observed=True)["hit"].agg(n="size", recall="mean")
    return table.reset_index()


def flatten(samples: np.ndarray) -> np.ndarray:
    """``(N, ...)`` samples as ``(N, D)`` rows for scikit-learn."""
    return np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)


def isolation_forest_scores(train: np.ndarray, test: np.ndarray, seed: int = 0) -> np.ndarray:
    """Isolation Forest fitted on ``train``; higher scores are more anomalous."""
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(flatten(train))
    return -forest.score_samples(flatten(test))


def pca_reconstruction(
    train: np.ndarray, test: np.ndarray, n_components: int, seed: int = 0
) -> np.ndarray:
    """Reconstruct ``test`` through PCA fitted on ``train``; same shape as ``test``."""
    pca = PCA(n_components=n_components, random_state=seed).fit(flatten(train))
    rebuilt = pca.inverse_transform(pca.transform(flatten(test)))
    return rebuilt.reshape(np.shape(test)).astype(np.float32)


def pca_scores(train: np.ndarray, test: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """Mean squared PCA reconstruction error per test sample; higher is more anomalous."""
    rebuilt = pca_reconstruction(train, test, n_components, seed)
    return flatten((rebuilt - np.asarray(test)) ** 2).mean(axis=1).astype(np.float64)
