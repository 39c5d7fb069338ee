"""A next-item SASRec filling holes from their left context (``tasks.holes``; the right context through
``directions``).

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

from collections.abc import Iterator
from dataclasses import dataclass

import lightning
import numpy as np
import pandas as pd
import torch

from recsys_challenge.core import ITEM, ORDER, POSITION, QUERY

from . import directions, placement
from .backends import backend_for
from .model import SequentialModel
from .scoring import concatenated, no_candidates, unseen_top
from .settings import SequentialSettings


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


def user_blocks(
    history: pd.DataFrame, targets: pd.DataFrame, size: int
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """``history`` and ``targets`` of ``size`` target users at a time: each block's users x items
    scores are all that is held at once."""
    users = np.unique(targets[QUERY].to_numpy())
    for first in range(0, len(users), size):
        block = users[first : first + size]
        yield history[history[QUERY].isin(block)], targets[targets[QUERY].isin(block)]


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

    @classmethod
    def per_block(
        cls, history: pd.DataFrame, targets: pd.DataFrame, vocab: np.ndarray, length: int, size: int
    ) -> list[Query]:
        """One query per ``size`` target users (``user_blocks``)."""
        return [cls.of(h, t, vocab, length) for h, t in user_blocks(history, targets, size)]


@torch.no_grad()
def _sums(
    module: lightning.LightningModule, query: Query, n_items: int, settings: SequentialSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per user of ``query``: the weighted sum of the softmax after each target's left neighbour, and
    the sum of the weights."""
    length, batch = settings.max_seq_len, settings.batch_size
    where = placement.device(settings)
    backend = backend_for(settings, n_items)
    with placement.scoring(backend.network(module), where) as network:
        reads, slots = query.reads, query.slots
        bounds = np.searchsorted(reads["slot"].to_numpy(), np.arange(0, len(slots) + batch, batch))
        totals = torch.zeros(len(query.users), n_items)
        counts = torch.zeros(len(query.users))
        for i, first in enumerate(range(0, len(slots), batch)):
            part = slots.iloc[first : first + batch]
            inputs, mask = _window_inputs((query.flat, query.starts), part, query.users, length, n_items)
            width = int(mask.sum(dim=1).max())  # left padding can go: positions count from the right
            hidden = backend.states(network, inputs[:, -width:].to(where), mask[:, -width:].to(where))
            here = reads.iloc[bounds[i] : bounds[i + 1]]
            states = hidden[
                torch.as_tensor(here["slot"].to_numpy() - first, device=where),
                torch.as_tensor(here["offset"].to_numpy() - (length - width), device=where),
            ]
            weight = torch.as_tensor(here["weight"].to_numpy())
            probs = torch.softmax(backend.logits(network, states)[:, :n_items].float(), dim=-1).cpu()
            rows = torch.as_tensor(here["row"].to_numpy())
            totals.index_add_(0, rows, probs * weight.unsqueeze(1))
            counts.index_add_(0, rows, weight)
        return totals, counts


def validation_top(
    module: lightning.LightningModule,
    queries: list[Query],
    vocab: np.ndarray,
    k: int,
    settings: SequentialSettings,
) -> pd.DataFrame:
    """Top-``k`` unseen items per user of ``queries`` (disjoint user blocks) by one network in training
    (validation): the weighted mean of its softmax after each target's left neighbour."""
    tops = []
    for query in queries:
        if not query.reads.empty:
            totals, counts = _sums(module, query, len(vocab), settings)
            scores = totals / counts.clamp(min=1e-12).unsqueeze(1)
            tops.append(unseen_top(query.users, scores, query.seen, vocab, k))
    return concatenated(tops)


def recommend(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, settings: SequentialSettings
) -> pd.DataFrame:
    """Top-``k`` unseen items per user with a readable target: the weighted mean over its targets of the
    members' softmax, forward members after each target's left neighbour, backward members
    (``directions``) after its right one on the mirrored sequence (a target read from both sides gets the
    mean of the two); placed and batched as the run's ``settings`` say, ``candidates_k`` deep,
    ``score_block_users`` users at a time."""
    blocks = user_blocks(history, targets, settings.score_block_users)
    return concatenated([_recommend_block(model, h, t, settings) for h, t in blocks])


def _recommend_block(
    model: SequentialModel, history: pd.DataFrame, targets: pd.DataFrame, settings: SequentialSettings
) -> pd.DataFrame:
    config = placement.placed(model.settings, settings).but(batch_size=settings.batch_size)
    length, n_items = config.max_seq_len, len(model.vocab)
    readings = model.parts()
    targets = directions.shared(history, targets, len(readings))
    reads = []
    for backward, part in readings.items():
        frames = directions.mirrored(history, targets) if backward else (history, targets)
        query = Query.of(*frames, model.vocab, length)
        reads += [(query.users, _sums(m.module, query, n_items, config)) for m in part.members]
    users = np.unique(np.concatenate([u for u, _ in reads]))
    if not len(users):
        return no_candidates()
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
    scores = totals / counts.clamp(min=1e-12).unsqueeze(1)
    return unseen_top(users, scores, seen_at, model.vocab, settings.candidates_k)
