"""Layer tables: each leaf layer with its output shape and parameter count."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class LayerRow(NamedTuple):
    """One row of a layer table: ``Conv2d-1``, ``(-1, 32, 28, 28)``, 320."""

    name: str
    output_shape: tuple[int, ...]
    params: int


class LayerTable(NamedTuple):
    """The layers a forward pass runs through, in order, and the totals."""

    rows: list[LayerRow]
    total_params: int
    trainable_params: int

    def format(self) -> str:
        """Render the table as text, one layer a line."""
        lines = [f"{'Layer (type)':<24}{'Output Shape':<24}{'Param #':>12}", "=" * 60]
        for row in self.rows:
            shape = "[" + ", ".join(str(s) for s in row.output_shape) + "]"
            lines.append(f"{row.name:<24}{shape:<24}{row.params:>12,}")
        lines += [
            "=" * 60,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
        ]
        return "\n".join(lines)


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> LayerTable:
    """Run one sample through ``model`` and record every leaf layer it calls.

    Args:
        model: the network.
        input_shape: one sample's shape, without the batch dimension.

    Returns:
        The table; output shapes carry ``-1`` for the batch dimension.
    """
    rows: list[LayerRow] = []

    def record(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        params = sum(p.numel() for p in module.parameters(recurse=False))
        name = f"{type(module).__name__}-{len(rows) + 1}"
        rows.append(LayerRow(name, (-1, *output.shape[1:]), params))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return LayerTable(rows, total, trainable)
