"""Padding-aware batches: rows of similar length share a batch, and a batch is cut to its longest row.

Rows are left-padded to ``max_seq_len``; both backends read positions from the right end (RePlay's SASRec
does; ``backends.bert4rec.RightAlignedPositions`` makes BERT4Rec do so), so dropping the all-padding
columns on the left changes no output. Cutting alone saves little when a shuffled batch holds one long
row; grouping rows by length first is what makes batches short (``batching``: full | trimmed | bucketed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

if TYPE_CHECKING:
    from .settings import SequentialSettings

GROUP = 16  # batches drawn together, then sorted by length: batches stay varied across an epoch


def trimmed(batch: Any, mask: str = "pad_mask") -> Any:
    """A left-padded batch whose [batch, length] tensors keep only the columns some row uses."""
    full = batch[mask].shape[1]
    width = max(int(batch[mask].sum(dim=1).max()), 1)

    def cut(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if torch.is_tensor(value) and value.dim() >= 2 and value.shape[1] == full:
            return value[:, full - width :]
        return value

    return cut(batch)


def trimming_collate(rows: list[Any]) -> Any:
    """``default_collate``, then ``trimmed``."""
    return trimmed(default_collate(rows))


class LengthBuckets(Sampler[list[int]]):
    """Seeded batches of rows of similar length: the rows are shuffled, taken ``GROUP`` batches at a
    time, sorted by length within the group and cut into batches; the batches are then shuffled."""

    def __init__(self, lengths: np.ndarray, batch_size: int, generator: torch.Generator) -> None:
        self.lengths, self.batch_size, self.generator = np.asarray(lengths), int(batch_size), generator

    def _groups(self) -> range:
        return range(0, len(self.lengths), self.batch_size * GROUP)

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths), generator=self.generator).numpy()
        batches = []
        for start in self._groups():
            group = order[start : start + self.batch_size * GROUP]
            group = group[np.argsort(self.lengths[group], kind="stable")]
            batches += [
                group[i : i + self.batch_size].tolist() for i in range(0, len(group), self.batch_size)
            ]
        for index in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[index]

    def __len__(self) -> int:
        size = self.batch_size * GROUP
        return sum(-(-min(size, len(self.lengths) - start) // self.batch_size) for start in self._groups())


def loader(
    dataset: Dataset,
    lengths: np.ndarray,
    settings: SequentialSettings,
    shuffle: bool,
    generator: torch.Generator | None,
) -> DataLoader:
    """A DataLoader over ``dataset`` (rows of ``lengths`` real slots) batched as ``settings`` say. Without
    ``shuffle`` (scoring) bucketed rows are simply sorted by length."""
    mode, size = settings.batching, settings.batch_size
    collate = default_collate if mode == "full" else trimming_collate
    if mode != "bucketed":
        return DataLoader(dataset, batch_size=size, shuffle=shuffle, generator=generator, collate_fn=collate)
    if shuffle:
        return DataLoader(dataset, batch_sampler=LengthBuckets(lengths, size, generator), collate_fn=collate)
    order = np.argsort(lengths, kind="stable").tolist()
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate)
