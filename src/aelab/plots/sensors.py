"""Figures of sensor logs: readings with scores, threshold and events; per-sensor errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from aelab.data.sensors import Event
from aelab.plots.common import new_figure, save_figure

EVENT_COLOUR = "tab:red"
LABEL_COLOUR = "tab:orange"
# Beyond this many sensors the readings panel has no legend; the heatmap still names them.
MAX_LEGEND = 10


def sensor_scores(
    values: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    path: str | Path,
    *,
    time: pd.DatetimeIndex | None = None,
    features: Sequence[str] | None = None,
    events: Sequence[Event] = (),
    labels: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """The readings above the score per time step, with the threshold and events shaded.

    Each sensor is standardised (its own mean and standard deviation over the plotted
    steps) so that all share one axis.

    Args:
        values: readings ``(T, C)``.
        scores: score per time step ``(T,)``.
        threshold: the alarm threshold, drawn as a dashed line.
        path: the PNG to write.
        time: timestamps of the T steps; the step number by default.
        features: the C sensor names.
        events: events to shade (red) on both panels.
        labels: ``(T,)`` 0/1 labels to shade (orange) beneath the events.
        title: the figure's title.

    Returns:
        The path written.
    """
    values = _as_rows(values)
    scores = np.asarray(scores, dtype=np.float64)
    x = _x_axis(len(scores), time)
    names = list(features) if features is not None else _names(values.shape[1])

    fig = new_figure(11, 5.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))

    # Readings, standardised per sensor.
    spread = values.std(axis=0)
    standard = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    for i, name in enumerate(names):
        top.plot(x, standard[:, i], lw=0.7, label=name)
    top.set(ylabel="reading (standardised)")
    if len(names) <= MAX_LEGEND:
        top.legend(fontsize=7, ncol=min(len(names), 4), loc="upper left")

    # Scores against the threshold.
    bottom.plot(x, scores, lw=0.8, color="black", label="score")
    bottom.axhline(threshold, color=EVENT_COLOUR, ls="--", lw=1, label=f"threshold {threshold:.3g}")
    bottom.set(ylabel="score", xlabel="time" if time is not None else "time step")
    for ax in (top, bottom):
        _shade(ax, x, labels, events)
        ax.grid(alpha=0.3)
    bottom.legend(handles=[*bottom.get_legend_handles_labels()[0], *_shade_handles(labels)])
    _date_axis(bottom, time)
    top.set_title(title or f"{len(events)} event(s) in {len(scores)} time steps")
    return save_figure(fig, path)


def sensor_contributions(
    errors: np.ndarray,
    path: str | Path,
    *,
    time: pd.DatetimeIndex | None = None,
    features: Sequence[str] | None = None,
    events: Sequence[Event] = (),
    title: str = "",
) -> Path:
    """Which sensor drove the score, and when: per-sensor errors over time.

    Three panels: a heatmap of the error per sensor and time step (log colour scale); the
    errors divided by the number of sensors, stacked, so that the stack's top is the score
    per time step; and each sensor's share of the error summed over the events (over all
    steps when there are none).

    Args:
        errors: reconstruction error per time step and sensor ``(T, C)``.
        path: the PNG to write.
        time: timestamps of the T steps; the step number by default.
        features: the C sensor names.
        events: events to shade on the stacked panel, and to sum the shares over.
        title: the figure's title.

    Returns:
        The path written.
    """
    errors = _as_rows(errors)
    n_steps, channels = errors.shape
    x = _x_axis(n_steps, time)
    names = list(features) if features is not None else _names(channels)

    fig = new_figure(11, 2.2 + 0.25 * channels + 2.4)
    axes = fig.subplot_mosaic(
        [["heat", "share"], ["stack", "share"]],
        width_ratios=(4, 1),
        height_ratios=(1 + 0.12 * channels, 1.4),
    )

    # Heatmap: sensors as rows, time as columns.
    positive = errors[errors > 0]
    low = float(np.percentile(positive, 1)) if positive.size else 1e-6
    high = max(float(errors.max()), low * 10)
    ends = _extent(x)
    image = axes["heat"].imshow(
        np.clip(errors.T, low, None),
        aspect="auto",
        interpolation="nearest",
        norm=LogNorm(vmin=low, vmax=high),
        extent=(ends[0], ends[1], channels - 0.5, -0.5),
        cmap="magma",
    )
    axes["heat"].set_yticks(range(channels), names, fontsize=7)
    fig.colorbar(image, ax=axes["heat"], label="error", pad=0.01)
    axes["heat"].sharex(axes["stack"])

    # Stacked shares of the score.
    axes["stack"].stackplot(x, (errors / channels).T, labels=names, lw=0)
    _shade(axes["stack"], x, None, events)
    axes["stack"].set(ylabel="score share", xlabel="time" if time is not None else "time step")
    axes["stack"].grid(alpha=0.3)
    if channels <= MAX_LEGEND:
        axes["stack"].legend(fontsize=6, loc="upper left", ncol=min(channels, 3))
    _date_axis(axes["stack"], time)

    # Each sensor's share of the error over the events.
    mask = np.zeros(n_steps, dtype=bool)
    for event in events:
        mask[event.start : event.end + 1] = True
    if not mask.any():
        mask[:] = True
    totals = errors[mask].sum(axis=0)
    shares = totals / totals.sum() if totals.sum() > 0 else totals
    order = np.argsort(shares)
    axes["share"].barh([names[i] for i in order], shares[order], color="tab:blue")
    axes["share"].set(xlabel="share of error", title="in events" if events else "all steps")
    axes["share"].tick_params(axis="y", labelsize=7)
    fig.suptitle(title or "Per-sensor reconstruction error")
    return save_figure(fig, path)


def _as_rows(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]  # (T, 1)
    if array.ndim != 2:
        raise ValueError(f"expected values shaped (T, C); got {array.shape}")
    return array


def _x_axis(n_steps: int, time: pd.DatetimeIndex | None) -> np.ndarray:
    if time is None:
        return np.arange(n_steps)
    if len(time) != n_steps:
        raise ValueError(f"expected {n_steps} timestamps; got {len(time)}")
    return mdates.date2num(pd.DatetimeIndex(time).to_pydatetime())


def _extent(x: np.ndarray) -> tuple[float, float]:
    step = float(x[1] - x[0]) if len(x) > 1 else 1.0
    return float(x[0]) - step / 2, float(x[-1]) + step / 2


def _span(x: np.ndarray, start: int, end: int) -> tuple[float, float]:
    """The x range of steps ``start..end`` (inclusive), half a step wider on each side."""
    step = float(x[1] - x[0]) if len(x) > 1 else 1.0
    return float(x[start]) - step / 2, float(x[end]) + step / 2


def _shade(ax: Axes, x: np.ndarray, labels: np.ndarray | None, events: Sequence[Event]) -> None:
    if labels is not None:
        flags = np.asarray(labels).astype(np.int8)
        edges = np.diff(np.concatenate(([0], flags, [0])))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for start, stop in zip(starts, stops, strict=True):
            # A band along the bottom, so that it stays visible under the events.
            span = _span(x, int(start), int(stop) - 1)
            ax.axvspan(*span, ymin=0, ymax=0.05, color=LABEL_COLOUR, alpha=0.9, lw=0)
    for event in events:
        ax.axvspan(*_span(x, event.start, event.end), color=EVENT_COLOUR, alpha=0.25, lw=0)


def _date_axis(ax: Axes, time: pd.DatetimeIndex | None) -> None:
    if time is not None:
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _shade_handles(labels: np.ndarray | None) -> list[Any]:
    from matplotlib.patches import Patch

    handles = [Patch(color=EVENT_COLOUR, alpha=0.25, label="event")]
    if labels is not None:
        handles.append(Patch(color=LABEL_COLOUR, alpha=0.9, label="labelled anomaly"))
    return handles


def _names(channels: int) -> list[str]:
    return [f"channel_{i}" for i in range(channels)]
