"""Figures of images: reconstructions, latent spaces, decoded grids, interpolations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from aelab.plots.common import new_figure, save_figure


def image_rows(
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | Path,
    captions: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Rows of images, one labelled row per entry of ``rows``.

    Args:
        rows: ``(label, images)`` pairs, images ``(N, 1, H, W)`` or ``(N, H, W)`` in [0, 1];
            every row has the same N.
        path: the PNG to write.
        captions: optional text under each column (e.g. the error of each image).
        title: optional figure title.
    """
    n = len(rows[0][1])
    fig = new_figure(1.1 * n + 0.8, 1.2 * len(rows) + (0.4 if title else 0))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows):
        images = np.asarray(images).reshape(len(images), *np.shape(images)[-2:])
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
            if captions is not None and r == len(rows) - 1:
                ax.set_xlabel(captions[c], fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def reconstruction_grid(
    originals: np.ndarray, reconstructions: np.ndarray, path: str | Path
) -> Path:
    """Originals above their reconstructions."""
    return image_rows([("original", originals), ("reconstructed", reconstructions)], path)


def latent_scatter(
    codes: np.ndarray, labels: np.ndarray, path: str | Path, title: str = "Latent space"
) -> Path:
    """Latent codes coloured by class: 2-D codes directly, larger ones projected by PCA."""
    codes = np.asarray(codes).reshape(len(codes), -1)
    axis_names = ("z1", "z2")
    if codes.shape[1] > 2:
        pca = PCA(n_components=2).fit(codes)
        codes = pca.transform(codes)
        share = pca.explained_variance_ratio_
        axis_names = (f"PC1 ({share[0]:.0%})", f"PC2 ({share[1]:.0%})")
        title += f" ({pca.n_features_in_}-D, PCA projection)"
    elif codes.shape[1] == 1:
        codes = np.column_stack([codes[:, 0], np.zeros(len(codes))])
    fig = new_figure(6.4, 5.4)
    ax = fig.add_subplot()
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=3, alpha=0.6)
    fig.colorbar(points, ax=ax, ticks=np.unique(labels), label="class")
    ax.set(xlabel=axis_names[0], ylabel=axis_names[1], title=title)
    return save_figure(fig, path)


def latent_grid(
    decode: Callable[[np.ndarray], np.ndarray],
    axis_values: tuple[np.ndarray, np.ndarray],
    to_latent: Callable[[np.ndarray], np.ndarray],
    path: str | Path,
    title: str = "Images decoded from a grid of latent points",
    axis_names: tuple[str, str] = ("z1", "z2"),
) -> Path:
    """Decode a regular grid of points and tile the images.

    Args:
        decode: latent codes ``(M, D)`` to images ``(M, 1, H, W)``.
        axis_values: the grid's coordinates along its horizontal and vertical axes.
        to_latent: grid points ``(M, 2)`` to latent codes ``(M, D)`` (the identity for 2-D
            latents, an inverse projection or an inverse normal CDF otherwise).
        path: the PNG to write.
        title: the figure title.
        axis_names: what the horizontal and vertical axes measure.
    """
    xs, ys = axis_values
    points = np.array([(x, y) for y in ys[::-1] for x in xs], dtype=np.float32)
    images = np.asarray(decode(to_latent(points)))
    h, w = images.shape[-2:]
    # (rows * H, cols * W) mosaic, top row = largest y.
    mosaic = images.reshape(len(ys), len(xs), h, w).transpose(0, 2, 1, 3).reshape(len(ys) * h, -1)
    fig = new_figure(7, 7)
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, extent=(0, len(xs), 0, len(ys)))
    # Every other grid point is labelled, to three digits, so that neighbours stay apart.
    ax.set_xticks(np.arange(0, len(xs), 2) + 0.5, [f"{x:.3g}" for x in xs[::2]], fontsize=7)
    ax.set_yticks(np.arange(0, len(ys), 2) + 0.5, [f"{y:.3g}" for y in ys[::2]], fontsize=7)
    ax.set(title=title, xlabel=axis_names[0], ylabel=axis_names[1])
    return save_figure(fig, path)


def interpolation_strip(images: np.ndarray, path: str | Path, title: str) -> Path:
    """A row of images decoded along a straight line between two latent codes."""
    return image_rows([("decoded", images)], path, title=title)
