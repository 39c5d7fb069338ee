"""BERT4Rec as a cloze model: each user's events on their positions, a mask token in every hole.

Under the competition protocol the hidden events sit at known positions. A user's *grid* holds one slot
per position: the item where the event is visible, a mask where it is not. BERT4Rec is trained as it was
meant to be (RePlay's network, its CE loss): random visible slots are masked and predicted from both
sides; holes stay masked and carry no label (CE's ignore index). Scoring runs the network over the
grid and reads the softmax at every *target* slot (the window's holes and the slot after the end); a
user's targets add up into one ranking. Validation does the same on the reranker window's targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

from recsys_challenge.core import ITEM, POSITION, QUERY, ranked
from recsys_challenge.evaluation import ranking_metrics

from . import batches, placement
from .backends import backend_for
from .holes import unseen_top
from .refitting import refit_members, starting, train_fixed
from .sequences import training_windows, window_ends
from .training import Member, SequentialModel, Start, early_stopped, fit_members

# grid slots without a visible item: unknown; to be scored; to be scored at ``tail_weight`` (the open
# slot after the last event in the final window)
HOLE, TARGET, TAIL = -1, -2, -3
IGNORE = -100  # torch's CrossEntropyLoss ignore_index: a slot that teaches nothing
Config, Folder = dict[str, Any], str | None


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


def training_loader(grid: pd.Series, cfg: dict[str, Any]) -> torch.utils.data.DataLoader:
    """Shuffled, seeded training windows of every grid (``train_stride`` apart, default half a window,
    as ``sequences.training_windows`` cuts them), batched as ``batching`` says; windows without a
    visible item teach nothing."""
    length = int(cfg["max_seq_len"])
    stride = int(cfg.get("train_stride") or max(length // 2, 1))
    rows = [w for w in training_windows(grid, length, stride) if (np.asarray(w) >= 0).any()]
    seed = int(cfg["seed"])
    dataset = GridDataset(
        rows, np.zeros(len(rows), dtype=int), length, float(cfg.get("mask_prob", 0.15)), seed
    )
    lengths = np.array([len(r) for r in rows])
    return batches.loader(dataset, lengths, cfg, shuffle=True, generator=torch.Generator().manual_seed(seed))


def cloze_scores(
    modules: list[lightning.LightningModule], grid: pd.Series, cfg: dict[str, Any]
) -> tuple[np.ndarray, torch.Tensor]:
    """(users, users x items mean probability over each user's target slots and the ``modules``)."""
    scores = [_network_scores(m, grid, cfg) for m in modules]
    return scores[0][0], torch.stack([s for _, s in scores]).mean(dim=0)


@torch.no_grad()
def _network_scores(
    module: lightning.LightningModule, grid: pd.Series, cfg: dict[str, Any]
) -> tuple[np.ndarray, torch.Tensor]:
    length = int(cfg["max_seq_len"])
    tail_weight = float(cfg.get("tail_weight", 1.0))
    rows, owners = [], []
    users = grid.index.to_numpy()
    for i, g in enumerate(grid):
        windows = scoring_windows(g, length)
        rows += windows
        owners += [i] * len(windows)
    device = placement.device(cfg)
    network = placement.on(module._model, device)
    was_training = network.training
    network.eval()
    totals = None
    counts = torch.zeros(len(users))
    dataset = GridDataset(rows, np.asarray(owners), length, 0.0, None)
    lengths = np.array([len(r) for r in rows])
    for batch in batches.loader(dataset, lengths, cfg, shuffle=False, generator=None):
        logits = network(
            {ITEM: batch["inputs"][ITEM].to(device)},
            batch["pad_mask"].to(device),
            batch["token_mask"].to(device),
        )
        chosen = batch["target_mask"].to(device)
        probs = torch.softmax(logits[chosen].float(), dim=-1).cpu()
        owner = batch["query_id"].repeat_interleave(chosen.sum(dim=1).cpu())
        weight = torch.where(batch["tail_mask"][batch["target_mask"]], tail_weight, 1.0)
        if totals is None:
            totals = torch.zeros(len(users), probs.shape[1])
        totals.index_add_(0, owner, probs * weight.unsqueeze(1))
        counts.index_add_(0, owner, weight)
    network.train(was_training)
    if totals is None:
        totals = torch.zeros(len(users), int(cfg["n_items"]))
    return users, totals / counts.clamp(min=1).unsqueeze(1)


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


def top_items(
    modules: list[lightning.LightningModule],
    history: pd.DataFrame,
    targets: pd.DataFrame,
    vocab: np.ndarray,
    k: int,
    cfg: dict[str, Any],
) -> pd.DataFrame:
    """Top-``k`` unseen items per user with a target: the mean probability over its target slots."""
    return query_top_items(modules, Query.of(history, targets, vocab), vocab, k, cfg)


def query_top_items(
    modules: list[lightning.LightningModule], query: Query, vocab: np.ndarray, k: int, cfg: dict[str, Any]
) -> pd.DataFrame:
    """``top_items`` over a prepared ``Query``."""
    if query.grid.empty:
        return ranked(pd.DataFrame({QUERY: [], ITEM: [], "score": []}))
    users, scores = cloze_scores(modules, query.grid, {**cfg, "tail_weight": query.tail_weight})
    return unseen_top(users, scores, query.seen, vocab, k)


class ClozeValidation(Callback):
    """After each training epoch: NDCG/Recall/MAP of the cloze ranking on the validation window, logged
    as ``ndcg@k`` ... so early stopping and checkpoints monitor it as they do for next-item models."""

    def __init__(
        self, history: pd.DataFrame, truth: pd.DataFrame, targets: pd.DataFrame, vocab: np.ndarray, cfg: dict
    ) -> None:
        # the grids do not change between epochs: built once
        self.query, self.truth, self.vocab, self.cfg = Query.of(history, targets, vocab), truth, vocab, cfg

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        ks = list(self.cfg["ks"])
        top = query_top_items([pl_module], self.query, self.vocab, max(ks), self.cfg)
        metrics = ranking_metrics(top, self.truth, ks)
        for name, value in metrics.items():
            metric, k = name.rsplit("_", 1)
            pl_module.log(f"{metric}@{k}", value, on_step=False, on_epoch=True)


def fit(
    train: pd.DataFrame,
    valid_truth: pd.DataFrame,
    vocab: np.ndarray,
    cfg: Config,
    checkpoint_dir: Folder = None,
) -> SequentialModel:
    """Cloze training on ``train``'s grids, early-stopped on the cloze ranking of ``valid_truth``'s
    positions (its items hidden); ensembles and checkpoints as for next-item models."""
    grid = grids(train, None, vocab)

    def fit_member(member_cfg: dict[str, Any], folder: str | None) -> tuple[Member, pd.DataFrame]:
        member_cfg = {**member_cfg, "n_items": len(vocab)}
        return early_stopped(
            backend_for(member_cfg, len(vocab)).build,
            lambda: {"train_dataloaders": training_loader(grid, member_cfg)},
            ClozeValidation(train, valid_truth, valid_truth, vocab, member_cfg),
            member_cfg,
            folder,
            validate=False,
        )

    return fit_members(fit_member, vocab, cfg, checkpoint_dir)


def refit(
    model: SequentialModel, train: pd.DataFrame, cfg: dict[str, Any], warm: bool = False
) -> SequentialModel:
    """Cloze training on a longer history: from scratch, every member for its own best epochs, or
    ``warm`` from the model's weights for ``warm_epochs``."""
    grid = grids(train, None, model.vocab)

    def train_member(member_cfg: dict[str, Any], epochs: int, start: Start) -> tuple[Member, pd.DataFrame]:
        build = starting(backend_for(member_cfg, len(model.vocab)).build, start)
        return train_fixed(
            build, lambda: {"train_dataloaders": training_loader(grid, member_cfg)}, member_cfg, epochs
        )

    return refit_members(train_member, model, cfg, warm)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, k: int, cfg: dict[str, Any]
) -> pd.DataFrame:
    """Top-``k`` unseen items per user with a target: members' mean probability over its target slots."""
    config = {**placement.placed(model.config, cfg), "n_items": len(model.vocab)}
    return top_items([m.module for m in model.members], history, targets, model.vocab, k, config)
