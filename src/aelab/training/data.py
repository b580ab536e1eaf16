"""Batches straight from in-memory tensors, one gather per batch."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset


class TensorBatchDataset(Dataset):
    """Tensors sharing their first dimension, fetched a whole batch at a time.

    The DataLoader hands ``__getitems__`` the batch's indices, so a batch costs one index
    operation per tensor instead of one Python call per sample and a stack. Distributed
    strategies still shard it through the DataLoader's sampler.
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatchDataset needs tensors with the same first dimension")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return tuple(t[index] for t in self.tensors)


def _batch_as_is(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return batch


def tensor_loader(
    *tensors: torch.Tensor, batch_size: int, shuffle: bool, seed: int | None = None
) -> DataLoader:
    """A DataLoader over in-memory tensors that yields tuples of batch tensors."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        TensorBatchDataset(*tensors),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=_batch_as_is,
    )
