"""Figures of signal anomaly detection: score histograms, ROC/PR curves, examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from aelab.plots.common import new_figure, save_figure


class SignalExample(NamedTuple):
    """One signal to show with its reconstruction and error."""

    title: str
    signal: np.ndarray
    reconstruction: np.ndarray
    error: np.ndarray
    mask: np.ndarray | None = None


def score_histogram(
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    path: str | Path,
    title: str = "Scores",
) -> Path:
    """Histograms of normal and anomalous scores (log-spaced bins) with the threshold."""
    scores = np.asarray(scores)
    positive = scores[scores > 0]
    low = positive.min() if positive.size else 1e-6
    bins = np.geomspace(low, max(scores.max(), threshold) * 1.01, 60)
    fig = new_figure(6.4, 3.8)
    ax = fig.add_subplot()
    for value, name, colour in ((0, "normal", "tab:blue"), (1, "anomaly", "tab:red")):
        ax.hist(
            np.clip(scores[labels == value], low, None),
            bins=bins,
            alpha=0.6,
            label=name,
            color=colour,
        )
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set(xscale="log", xlabel="score (reconstruction error)", ylabel="samples", title=title)
    ax.legend()
    return save_figure(fig, path)


def roc_pr_curves(labels: np.ndarray, scores: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """ROC and precision-recall curves of one or more scorers on the same labels."""
    fig = new_figure(10, 4.2)
    roc_ax, pr_ax = fig.subplots(1, 2)
    for name, values in scores.items():
        fpr, tpr, _ = roc_curve(labels, values)
        precision, recall, _ = precision_recall_curve(labels, values)
        roc_ax.plot(fpr, tpr, label=name)
        pr_ax.plot(recall, precision, label=name)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC")
    pr_ax.axhline(np.mean(labels), color="grey", linestyle=":")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def signal_examples(examples: Sequence[SignalExample], path: str | Path, title: str = "") -> Path:
    """Each example: the signal and its reconstruction above the error per time step."""
    n = max(len(examples), 1)
    fig = new_figure(10, 2.6 * n)
    axes = fig.subplots(n, 2, squeeze=False, width_ratios=(3, 2))
    for row, example in zip(axes, examples, strict=False):
        steps = np.arange(np.shape(example.signal)[-1])
        signal_ax, error_ax = row
        signal_ax.plot(steps, np.ravel(example.signal), lw=0.8, label="signal")
        signal_ax.plot(steps, np.ravel(example.reconstruction), lw=0.8, label="reconstruction")
        error_ax.plot(steps, np.ravel(example.error), lw=0.8, color="tab:red")
        if example.mask is not None and np.any(example.mask):
            for ax in row:
                ax.fill_between(
                    steps,
                    0,
                    1,
                    where=np.ravel(example.mask),
                    transform=ax.get_xaxis_transform(),
                    color="orange",
                    alpha=0.2,
                    label="labelled anomaly",
                )
        signal_ax.set_title(example.title, fontsize=9)
        error_ax.set_title("error per time step", fontsize=9)
        signal_ax.legend(fontsize=7, loc="upper right")
    if not examples:
        axes[0, 0].text(0.5, 0.5, "no such signals", ha="center", transform=axes[0, 0].transAxes)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
