"""Threshold strategies: turn scores into alarms, fitted on validation scores.

A sample is an anomaly when its score is strictly above the threshold; a score equal to
the threshold is normal. Each strategy warns (``ThresholdWarning``) rather than fail
silently when the scores it is given cannot support it.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_curve

log = logging.getLogger(__name__)

STRATEGIES = ("percentile", "mean_std", "contamination", "f1")


class ThresholdWarning(UserWarning):
    """The scores cannot fully support the chosen threshold strategy."""


@dataclass(frozen=True)
class ThresholdSpec:
    """How to choose a threshold.

    Attributes:
        strategy: ``percentile``: the ``q``-th percentile of validation-normal scores;
            ``mean_std``: their mean plus ``k`` standard deviations; ``contamination``: the
            score above which an expected share ``contamination`` of the given scores
            lies; ``f1``: the threshold with the best F1 on labelled scores.
        q: percentile for ``percentile``, in (0, 100].
        k: standard deviations for ``mean_std``.
        contamination: expected anomaly share for ``contamination``, in (0, 0.5].
    """

    strategy: str = "percentile"
    q: float = 99.0
    k: float = 3.0
    contamination: float = 0.05

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"unknown threshold strategy {self.strategy!r}; expected one of: "
                f"{', '.join(STRATEGIES)}"
            )
        if not 0 < self.q <= 100:
            raise ValueError(f"q must be in (0, 100]; got {self.q}")
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination must be in (0, 0.5]; got {self.contamination}")


def fit_threshold(
    scores: np.ndarray, spec: ThresholdSpec | None = None, labels: np.ndarray | None = None
) -> float:
    """Choose a threshold from scores.

    Args:
        scores: ``(N,)`` scores; validation-normal ones for ``percentile`` and ``mean_std``.
        spec: the strategy and its setting.
        labels: ``(N,)`` 0/1 labels, required by ``f1`` and ignored otherwise.

    Returns:
        The threshold.

    Raises:
        ValueError: for empty or non-finite scores, or ``f1`` without labels.
    """
    spec = spec or ThresholdSpec()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"need a non-empty array of finite scores; got {scores.size} values")

    if spec.strategy == "percentile":
        # Below 100 / (100 - q) scores the percentile is just the largest score.
        needed = math.ceil(100 / (100 - spec.q)) if spec.q < 100 else 1
        if scores.size < needed:
            warnings.warn(
                f"the {spec.q:g}th percentile of {scores.size} validation scores is little more "
                f"than their maximum; give at least {needed} validation samples",
                ThresholdWarning,
                stacklevel=2,
            )
        value = float(np.percentile(scores, spec.q))
    elif spec.strategy == "mean_std":
        if scores.size < 2:
            warnings.warn(
                "mean + k std of a single score: the std is 0", ThresholdWarning, stacklevel=2
            )
        value = float(scores.mean() + spec.k * scores.std())
    elif spec.strategy == "contamination":
        expected = spec.contamination * scores.size
        if expected < 1:
            warnings.warn(
                f"a contamination of {spec.contamination:g} among {scores.size} scores expects "
                f"{expected:.2f} anomalies; the threshold is the largest score",
                ThresholdWarning,
                stacklevel=2,
            )
        value = float(np.quantile(scores, 1 - spec.contamination))
    else:
        value = _f1_threshold(scores, labels)
    log.info("threshold %.6g chosen by %s from %d scores", value, describe(spec), scores.size)
    return value


def _f1_threshold(scores: np.ndarray, labels: np.ndarray | None) -> float:
    if labels is None:
        raise ValueError("the f1 threshold needs labels (0 normal, 1 anomaly) for the scores")
    labels = np.asarray(labels).ravel()
    if labels.shape != scores.shape or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be {scores.size} values of 0 or 1 matching the scores")
    if labels.sum() == 0 or labels.sum() == labels.size:
        warnings.warn(
            "the f1 threshold needs both normal and anomalous samples; using the largest score "
            "(no alarms on these scores)",
            ThresholdWarning,
            stacklevel=3,
        )
        return float(scores.max())
    precision, recall, cuts = precision_recall_curve(labels, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    # precision_recall_curve flags scores >= cut; ours flags scores > threshold, so the
    # threshold sits just below the best cut: the next lower score.
    best = cuts[int(np.argmax(f1))]
    below = scores[scores < best]
    return float(below.max()) if below.size else float(np.nextafter(best, -np.inf))


def describe(spec: ThresholdSpec) -> str:
    """Say in words how a threshold is chosen, for logs and reports."""
    return {
        "percentile": f"the {spec.q:g}th percentile of validation-normal scores",
        "mean_std": f"mean + {spec.k:g} std of validation-normal scores",
        "contamination": f"an expected anomaly share of {spec.contamination:g}",
        "f1": "the best F1 on labelled scores",
    }[spec.strategy]
