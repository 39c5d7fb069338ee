"""BERT4Rec as a cloze model: each user's events on their positions, a mask token in every hole.

Under the competition protocol the hidden events sit at known positions. A user's *grid* holds one slot
per position: the item where the event is visible, a mask where it is not. BERT4Rec is trained as it was
meant to be (RePlay's network, its CE loss): random visible slots are masked and predicted from both
sides; holes stay masked and carry no label (CE's ignore index). Scoring runs the network over the
grid and reads the softmax at every *target* slot (the window's holes and the slot after the end); a
user's targets add up into one ranking. Validation does the same on the reranker window's targets.
Training and refits: ``tasks.cloze``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lightning
import numpy as np
import pandas as pd
import torch

from recsys_challenge.core import ITEM, POSITION, QUERY

from . import batches, placement
from .backends import backend_for
from .model import SequentialModel
from .scoring import concatenated, no_candidates, unseen_top
from .sequences import training_windows, window_ends
from .settings import SequentialSettings

# grid slots without a visible item: unknown; to be scored; to be scored at ``tail_weight`` (the open
# slot after the last event in the final window)
HOLE, TARGET, TAIL = -1, -2, -3
IGNORE = -100  # torch's CrossEntropyLoss ignore_index: a slot that teaches nothing


def grids(history: pd.DataFrame, targets: pd.DataFrame | None, vocab: np.ndarray) -> pd.Series:
    """Per-user int arrays over positions 0 .. the last event or target: the item index of a visible
    event, ``TARGET`` at a target position (``TAIL`` where its weight is below 1), ``HOLE`` elsewhere."""
    events = pd.DataFrame(
        {QUERY: history[QUERY], POSITION: history[POSITION], "value": np.searchsorted(vocab, history[ITEM])}
    )
    if targets is not None and len(targets):
        weight = targets.get("weight", 1.0)  # a truth fold has no weights: every target counts 1
        marks = targets[[QUERY, POSITION]].assign(value=np.where(weight < 1, TAIL, TARGET))
        taken = marks.set_index([QUERY, POSITION]).index.isin(events.set_index([QUERY, POSITION]).index)
        events = pd.concat([events, marks[~taken]])
    if events.empty:
        return pd.Series([], dtype=object)
    events = events.sort_values([QUERY, POSITION], kind="stable")
    users = events[QUERY].unique()
    lengths = events.groupby(QUERY, sort=True)[POSITION].max().reindex(users).to_numpy() + 1
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.full(int(lengths.sum()), HOLE, dtype=np.int64)
    row = np.repeat(np.arange(len(users)), events.groupby(QUERY, sort=False).size().to_numpy())
    flat[offsets[row] + events[POSITION].to_numpy()] = events["value"].to_numpy()
    return pd.Series(np.split(flat, offsets[1:]), index=users, dtype=object)


def scoring_windows(grid: np.ndarray, length: int) -> list[np.ndarray]:
    """Windows of ``length`` slots ending half a window apart from the grid's end (the oldest starts
    it); each target slot is scored in exactly one of them, the one that gives it the most context on
    its shorter side (a grid's own ends count as whole context), and is a plain hole in the others.
    A grid without targets has no window."""
    targets = np.flatnonzero(grid <= TARGET)
    if len(grid) <= length:
        return [grid] if len(targets) else []
    bounds = [(end - length, end) for end in window_ends(len(grid), length, max(length // 2, 1))]
    owner = np.full(len(targets), -1)
    context = np.full(len(targets), -1)
    whole = len(grid)  # more than any window's side
    for w, (start, end) in enumerate(bounds):
        left = whole if start == 0 else targets - start
        right = whole if end == len(grid) else end - 1 - targets
        reach = np.where((targets >= start) & (targets < end), np.minimum(left, right), -1)
        better = reach > context  # ties stay with the newer window
        owner[better], context[better] = w, reach[better]
    rows = []
    for w, (start, end) in enumerate(bounds):
        if not (owner == w).any():
            continue
        window = grid[start:end].copy()
        elsewhere = targets[(owner != w) & (targets >= start) & (targets < end)]
        window[elsewhere - start] = HOLE
        rows.append(window)
    return rows


class GridDataset(torch.utils.data.Dataset):
    """Left-padded windows of grids as BERT4Rec batches: holes masked without a label; in training a
    seeded random share of the visible slots is masked and labelled too."""

    def __init__(
        self, rows: list[np.ndarray], users: np.ndarray, length: int, mask_prob: float, seed: int | None
    ) -> None:
        self.rows, self.users, self.length, self.mask_prob = rows, users, length, mask_prob
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        window = torch.as_tensor(self.rows[index])
        slots = torch.full((self.length,), HOLE, dtype=torch.long)
        slots[self.length - len(window) :] = window
        pad_mask = torch.zeros(self.length, dtype=torch.bool)
        pad_mask[self.length - len(window) :] = True
        visible = slots >= 0
        token_mask = visible.clone()
        if self.generator is not None:  # training: mask visible slots, at least one per row
            drawn = torch.rand(self.length, generator=self.generator) < self.mask_prob
            if visible.any() and not (drawn & visible).any():
                drawn[torch.nonzero(visible)[-1]] = True
            token_mask &= ~drawn
        labels = torch.where(visible & ~token_mask, slots, torch.full_like(slots, IGNORE))
        return {
            "query_id": int(self.users[index]),
            "pad_mask": pad_mask,
            "token_mask": token_mask,
            "inputs": {ITEM: slots.clamp(min=0)},  # masked slots read the mask embedding anyway
            "positive_labels": labels,
            "target_mask": (slots == TARGET) | (slots == TAIL),
            "tail_mask": slots == TAIL,
        }


def training_loader(grid: pd.Series, settings: SequentialSettings) -> torch.utils.data.DataLoader:
    """Shuffled, seeded training windows of every grid (``train_stride`` apart, default half a window,
    as ``sequences.training_windows`` cuts them), batched as ``batching`` says; windows without a
    visible item teach nothing."""
    length = settings.max_seq_len
    stride = settings.train_stride or max(length // 2, 1)
    rows = [w for w in training_windows(grid, length, stride) if (np.asarray(w) >= 0).any()]
    seed = settings.seed
    dataset = GridDataset(rows, np.zeros(len(rows), dtype=int), length, settings.mask_prob, seed)
    lengths = np.array([len(r) for r in rows])
    generator = torch.Generator().manual_seed(seed)
    return batches.loader(dataset, lengths, settings, shuffle=True, generator=generator)


@torch.no_grad()
def _network_scores(
    module: lightning.LightningModule, query: Query, n_items: int, settings: SequentialSettings
) -> torch.Tensor:
    """users x items: one network's mean probability over each user's target slots (the open slot
    after the end weighs ``query.tail_weight``)."""
    length = settings.max_seq_len
    rows, owners = [], []
    for i, g in enumerate(query.grid):
        windows = scoring_windows(g, length)
        rows += windows
        owners += [i] * len(windows)
    device = placement.device(settings)
    backend = backend_for(settings, n_items)
    with placement.scoring(backend.network(module), device) as network:
        totals = None  # as wide as the network's logits
        counts = torch.zeros(len(query.grid))
        dataset = GridDataset(rows, np.asarray(owners), length, 0.0, None)
        lengths = np.array([len(r) for r in rows])
        for batch in batches.loader(dataset, lengths, settings, shuffle=False, generator=None):
            logits = backend.masked_logits(
                network,
                batch["inputs"][ITEM].to(device),
                batch["pad_mask"].to(device),
                batch["token_mask"].to(device),
            )
            chosen = batch["target_mask"].to(device)
            probs = torch.softmax(logits[chosen].float(), dim=-1).cpu()
            owner = batch["query_id"].repeat_interleave(chosen.sum(dim=1).cpu())
            weight = torch.where(batch["tail_mask"][batch["target_mask"]], query.tail_weight, 1.0)
            if totals is None:
                totals = torch.zeros(len(query.grid), probs.shape[1])
            totals.index_add_(0, owner, probs * weight.unsqueeze(1))
            counts.index_add_(0, owner, weight)
    if totals is None:
        totals = torch.zeros(len(query.grid), n_items)
    return totals / counts.clamp(min=1).unsqueeze(1)


@dataclass(frozen=True)
class Query:
    """What scoring a window needs besides the networks, built once: the grids, the weight of the open
    slot after the end, and each user's seen items (row, item index) to remove."""

    grid: pd.Series
    tail_weight: float
    seen: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, history: pd.DataFrame, targets: pd.DataFrame, vocab: np.ndarray) -> Query:
        targets = targets[targets[QUERY].isin(history[QUERY])]
        grid = grids(history, targets, vocab)
        tails = targets.loc[targets["weight"] < 1, "weight"] if "weight" in targets else pd.Series([])
        seen = history[history[QUERY].isin(grid.index)]  # grid users come sorted
        rows = np.searchsorted(grid.index.to_numpy(), seen[QUERY].to_numpy())
        cols = np.searchsorted(vocab, seen[ITEM].to_numpy())
        return cls(grid, float(tails.max()) if len(tails) else 1.0, (rows, cols))

    def blocks(self, size: int) -> Iterator[Query]:
        """The query ``size`` users at a time, each block's seen rows counted from its own first user."""
        rows, cols = self.seen
        for first in range(0, len(self.grid), size):
            inside = (rows >= first) & (rows < first + size)
            block = self.grid.iloc[first : first + size]
            yield Query(block, self.tail_weight, (rows[inside] - first, cols[inside]))


def top_items(
    modules: list[lightning.LightningModule],
    query: Query,
    vocab: np.ndarray,
    k: int,
    settings: SequentialSettings,
) -> pd.DataFrame:
    """Top-``k`` unseen items per user of ``query``: the ``modules``' mean probability over its target
    slots, ``score_block_users`` users at a time."""
    if query.grid.empty:
        return no_candidates()
    tops = []
    for block in query.blocks(settings.score_block_users):
        scores = torch.stack([_network_scores(m, block, len(vocab), settings) for m in modules]).mean(dim=0)
        tops.append(unseen_top(block.grid.index.to_numpy(), scores, block.seen, vocab, k))
    return concatenated(tops)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, settings: SequentialSettings
) -> pd.DataFrame:
    """Top ``candidates_k`` unseen items per user with a target, placed as the run's ``settings`` say."""
    query = Query.of(history, targets, model.vocab)
    modules = [m.module for m in model.members]
    config = placement.placed(model.settings, settings)
    return top_items(modules, query, model.vocab, settings.candidates_k, config)
