"""Saving figures, and plots shared by every experiment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter


def new_figure(width: float, height: float) -> Figure:
    """A figure detached from pyplot's global state, so no GUI backend is ever needed."""
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def loss_curves(history: pd.DataFrame, path: str | Path, title: str = "Training") -> Path:
    """Training and validation loss per epoch, on a log scale."""
    fig = new_figure(6, 3.6)
    ax = fig.add_subplot()
    for column, label in (("train_loss", "training"), ("val_loss", "validation")):
        if column in history:
            ax.plot(history["epoch"] + 1, history[column], marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title=title)
    low, high = ax.get_ylim()
    if high < 10 * low:  # under a decade: label the ticks as plain numbers, not powers of ten
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
