"""A next-item SASRec filling holes from their left context (and the top-k helper of both hole scorers).

Under the competition protocol a window's targets sit inside each sequence. SASRec's output after any
event is its prediction of the next one (causal attention: it reads nothing later), so the output after
the visible event just before a hole already scores what fills it. One forward pass over a window of a
user's sequence scores every target in it; a user's targets add up into one ranking, as for the cloze
model. RePlay's SASRec adds positional embeddings from the window's right end, as in training, where
every position of a row predicts its successor.

Windows of ``max_seq_len`` events end at the sequence's end and every ``max_seq_len // 2`` events
before it; a target is read in the window that ends nearest after its left neighbour, so it sees at
least half a window of context (or the whole history before it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightning
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback

from recsys_challenge.core import ITEM, ORDER, POSITION, QUERY, ranked, setting
from recsys_challenge.evaluation import ranking_metrics

from . import directions, placement

if TYPE_CHECKING:
    from .training import SequentialModel

SCORINGS = ("left_context", "end")


def scores_holes(cfg: dict[str, Any]) -> bool:
    """Whether a next-item model scores interior targets from their left context (``hole_scoring:
    left_context``, SASRec only: BERT4Rec reads both sides, its cloze task is ``bert4rec_cloze``) or
    ranks once from the sequence's end for every window (``end``)."""
    scoring = setting(cfg, "hole_scoring", SCORINGS, "left_context")
    next_item = cfg.get("task", "next_item") == "next_item"
    return scoring == "left_context" and cfg["model"] == "sasrec" and next_item


def interior(targets: pd.DataFrame) -> bool:
    """Whether any target sits inside a sequence (a hole) rather than after its end."""
    return bool(len(targets)) and "tail" in targets and not targets["tail"].astype(bool).all()


def left_neighbours(history: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per target with a visible event before it: user, ``left`` (that event's index in the user's
    time-ordered sequence), ``length`` (the user's number of events) and ``weight``."""
    events = history.sort_values([QUERY, ORDER], kind="stable")
    users, starts, lengths = np.unique(events[QUERY].to_numpy(), return_index=True, return_counts=True)
    targets = targets[targets[QUERY].isin(users)]
    span = int(max(events[POSITION].max(), targets[POSITION].max() if len(targets) else 0)) + 2
    event_keys = np.searchsorted(users, events[QUERY].to_numpy()) * span + events[POSITION].to_numpy()
    row = np.searchsorted(users, targets[QUERY].to_numpy())
    before = np.searchsorted(event_keys, row * span + targets[POSITION].to_numpy()) - 1
    keep = before >= starts[row]  # a target before a user's first event has no left context
    weight = targets["weight"].to_numpy() if "weight" in targets else np.ones(len(targets))
    return pd.DataFrame(
        {
            QUERY: users[row[keep]],
            "left": before[keep] - starts[row[keep]],
            "length": lengths[row[keep]],
            "weight": weight[keep].astype("float32"),
        }
    )


def windows(neighbours: pd.DataFrame, length: int) -> pd.DataFrame:
    """The window each target is read in: its ``end`` (exclusive index into the user's sequence) and
    the target's ``offset`` in the window left-padded to ``length``."""
    step = max(length // 2, 1)
    back = (neighbours["length"] - 1 - neighbours["left"]) // step
    end = neighbours["length"] - back * step
    return neighbours.assign(end=end, offset=length - (end - neighbours["left"]))


def _window_inputs(
    events: tuple[np.ndarray, np.ndarray], part: pd.DataFrame, users: np.ndarray, length: int, pad: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded item windows (``pad`` before a sequence's start) and their padding masks."""
    flat, starts = events
    ends = part["end"].to_numpy()
    first = starts[np.searchsorted(users, part[QUERY].to_numpy())] + ends - length
    cols = np.arange(length)
    mask = cols[None, :] >= (length - np.minimum(ends, length))[:, None]
    index = np.where(mask, first[:, None] + cols[None, :], 0)
    return torch.as_tensor(np.where(mask, flat[index], pad)), torch.as_tensor(mask)


@dataclass(frozen=True)
class Query:
    """What scoring a window's holes needs besides the networks, built once (validation reuses it every
    epoch): the users with a read target, their item indices one sequence after another and each
    sequence's start there, the windows to run (user, end), every target's window (``slot``, sorted),
    user row, offset and weight, and the seen (row, item index) pairs to remove."""

    users: np.ndarray
    flat: np.ndarray
    starts: np.ndarray
    slots: pd.DataFrame
    reads: pd.DataFrame
    seen: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, history: pd.DataFrame, targets: pd.DataFrame, vocab: np.ndarray, length: int) -> Query:
        reads = windows(left_neighbours(history, targets), length)
        users = np.unique(reads[QUERY].to_numpy())
        seen = history[history[QUERY].isin(users)].sort_values([QUERY, ORDER], kind="stable")
        flat = np.searchsorted(vocab, seen[ITEM].to_numpy())
        slots = reads[[QUERY, "end"]].drop_duplicates().reset_index(drop=True)
        slot_of = pd.Series(np.arange(len(slots)), index=pd.MultiIndex.from_frame(slots))
        slot = slot_of.reindex(pd.MultiIndex.from_frame(reads[[QUERY, "end"]])).to_numpy()
        reads = reads.assign(slot=slot, row=np.searchsorted(users, reads[QUERY].to_numpy()))
        seen_rows = np.searchsorted(users, seen[QUERY].to_numpy())
        starts = np.searchsorted(seen[QUERY].to_numpy(), users)
        return cls(users, flat, starts, slots, reads.sort_values("slot", kind="stable"), (seen_rows, flat))


def _probabilities(
    module: lightning.LightningModule, query: Query, n_items: int, cfg: dict[str, Any]
) -> torch.Tensor:
    """users x items: the weighted mean of the softmax after each target's left neighbour."""
    totals, counts = _sums(module, query, n_items, cfg)
    return totals / counts.clamp(min=1e-12).unsqueeze(1)


@torch.no_grad()
def _sums(
    module: lightning.LightningModule, query: Query, n_items: int, cfg: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per user of ``query``: the weighted sum of the softmax after each target's left neighbour, and
    the sum of the weights."""
    length, batch = int(cfg["max_seq_len"]), int(cfg["batch_size"])
    where = placement.device(cfg)
    network = copy.deepcopy(module.model).to(where).eval()
    reads, slots = query.reads, query.slots
    bounds = np.searchsorted(reads["slot"].to_numpy(), np.arange(0, len(slots) + batch, batch))
    totals = torch.zeros(len(query.users), n_items)
    counts = torch.zeros(len(query.users))
    for i, first in enumerate(range(0, len(slots), batch)):
        part = slots.iloc[first : first + batch]
        inputs, mask = _window_inputs((query.flat, query.starts), part, query.users, length, n_items)
        width = int(mask.sum(dim=1).max())  # left padding can go: positions count from the right
        hidden = network.body({ITEM: inputs[:, -width:].to(where)}, mask[:, -width:].to(where))
        here = reads.iloc[bounds[i] : bounds[i + 1]]
        states = hidden[
            torch.as_tensor(here["slot"].to_numpy() - first, device=where),
            torch.as_tensor(here["offset"].to_numpy() - (length - width), device=where),
        ]
        weight = torch.as_tensor(here["weight"].to_numpy())
        probs = torch.softmax(network.get_logits(states)[:, :n_items].float(), dim=-1).cpu()
        rows = torch.as_tensor(here["row"].to_numpy())
        totals.index_add_(0, rows, probs * weight.unsqueeze(1))
        counts.index_add_(0, rows, weight)
    return totals, counts


def top_items(
    modules: list[lightning.LightningModule],
    history: pd.DataFrame,
    targets: pd.DataFrame,
    vocab: np.ndarray,
    k: int,
    cfg: dict[str, Any],
) -> pd.DataFrame:
    """Top-``k`` unseen items per user with a target after a visible event: the mean probability over
    its targets (at their weights) and the ``modules``."""
    return query_top_items(modules, Query.of(history, targets, vocab, int(cfg["max_seq_len"])), vocab, k, cfg)


def query_top_items(
    modules: list[lightning.LightningModule], query: Query, vocab: np.ndarray, k: int, cfg: dict[str, Any]
) -> pd.DataFrame:
    """``top_items`` over a prepared ``Query``."""
    if query.reads.empty:
        return ranked(pd.DataFrame({QUERY: [], ITEM: [], "score": []}))
    scores = torch.stack([_probabilities(m, query, len(vocab), cfg) for m in modules]).mean(dim=0)
    return unseen_top(query.users, scores, query.seen, vocab, k)


def unseen_top(
    users: np.ndarray, scores: torch.Tensor, seen: tuple[np.ndarray, np.ndarray], vocab: np.ndarray, k: int
) -> pd.DataFrame:
    """Candidates from a users x items matrix of probabilities: ``seen`` (rows, item indices) removed,
    the best ``k`` per user with a positive score (a user without a target scores 0 everywhere)."""
    scores = scores.clone()
    scores[seen] = -1.0
    depth = min(k, scores.shape[1])
    values, index = torch.topk(scores, depth, dim=1)
    frame = pd.DataFrame(
        {
            QUERY: np.repeat(users, depth),
            ITEM: vocab[index.numpy().ravel()],
            "score": values.numpy().ravel().astype("float32"),
        }
    )
    return ranked(frame[frame["score"] > 0], k)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, k: int, cfg: dict[str, Any]
) -> pd.DataFrame:
    """Top-``k`` unseen items per user with a readable target: the weighted mean over its targets of the
    members' softmax, forward members after each target's left neighbour, backward members
    (``directions``) after its right one on the mirrored sequence (a target read from both sides gets the
    mean of the two); batched as ``cfg`` says."""
    config = placement.placed(model.config, cfg)
    config["batch_size"] = cfg.get("batch_size", model.config["batch_size"])
    length, n_items = int(config["max_seq_len"]), len(model.vocab)
    readings = directions.parts(model)
    targets = directions.shared(history, targets, len(readings))
    reads = []
    for backward, part in readings.items():
        frames = directions.mirrored(history, targets) if backward else (history, targets)
        query = Query.of(*frames, model.vocab, length)
        reads += [(query.users, _sums(m.module, query, n_items, config)) for m in part.members]
    users = np.unique(np.concatenate([u for u, _ in reads]))
    if not len(users):
        return ranked(pd.DataFrame({QUERY: [], ITEM: [], "score": []}))
    totals, counts = torch.zeros(len(users), n_items), torch.zeros(len(users))
    for part_users, (part_totals, part_counts) in reads:
        rows = torch.as_tensor(np.searchsorted(users, part_users))
        totals.index_add_(0, rows, part_totals)
        counts.index_add_(0, rows, part_counts)
    seen = history[history[QUERY].isin(users)]
    seen_at = (
        np.searchsorted(users, seen[QUERY].to_numpy()),
        np.searchsorted(model.vocab, seen[ITEM].to_numpy()),
    )
    return unseen_top(users, totals / counts.clamp(min=1e-12).unsqueeze(1), seen_at, model.vocab, k)


class HoleValidation(Callback):
    """After each training epoch: NDCG/Recall/MAP of the left-context ranking on the validation window's
    holes (the right context's, on mirrored frames), logged as ``ndcg@k`` ... for early stopping and
    checkpoints (the cloze model's way)."""

    def __init__(
        self, history: pd.DataFrame, truth: pd.DataFrame, targets: pd.DataFrame, vocab: np.ndarray, cfg: dict
    ) -> None:
        # the windows and targets do not change between epochs: built once
        self.query = Query.of(history, targets, vocab, int(cfg["max_seq_len"]))
        self.truth, self.vocab, self.cfg = truth, vocab, cfg

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        ks = list(self.cfg["ks"])
        top = query_top_items([pl_module], self.query, self.vocab, max(ks), self.cfg)
        for name, value in ranking_metrics(top, self.truth, ks).items():
            metric, k = name.rsplit("_", 1)
            pl_module.log(f"{metric}@{k}", value, on_step=False, on_epoch=True)
