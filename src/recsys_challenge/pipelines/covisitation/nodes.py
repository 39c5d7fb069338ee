"""Item co-visitation within a window of positions, scored per target position from both sides.

A user's events sit at positions (order indices with holes under the competition protocol). Two items
co-occur when one user's events are at most ``window`` positions apart, weighted ``1 / distance``. A
target position (a hole, or the slot after the last event) is scored by the co-visitation rows of its
visible neighbours up to ``window`` positions away on each side, again weighted ``1 / distance``; a
user's targets add up into one ranking. Counting and scoring are sparse matrix products (scipy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_challenge.core import ITEM, POSITION, QUERY, ranked

from .settings import CovisitationSettings

WEIGHT = "weight"  # of a target: 1 for a hole, less for the open slot after a user's last event


def _shifted_pairs(events: pd.DataFrame, targets: pd.DataFrame, shift: int) -> pd.DataFrame:
    """Rows of ``targets`` joined to the user's event ``shift`` positions away (when there is one)."""
    moved = events[[QUERY, POSITION, ITEM]].assign(**{POSITION: events[POSITION] - shift})
    return targets.merge(moved, on=[QUERY, POSITION], how="inner")


def indexed(history: pd.DataFrame, vocab: np.ndarray) -> pd.DataFrame:
    """The fold's (user, position, item) with items as indices into ``vocab``."""
    return history[[QUERY, POSITION, ITEM]].assign(**{ITEM: np.searchsorted(vocab, history[ITEM])})


def covisitation_matrix(events: pd.DataFrame, n: int, window: int) -> sp.csr_matrix:
    """Symmetric item x item counts (``n`` items; ``events`` from ``indexed``) of pairs at most
    ``window`` positions apart, weighted 1/distance."""
    matrix = sp.csr_matrix((n, n), dtype=np.float32)
    for distance in range(1, int(window) + 1):
        pairs = _shifted_pairs(events, events.rename(columns={ITEM: "left"}), distance)
        weights = np.full(len(pairs), 1.0 / distance, dtype=np.float32)
        forward = sp.coo_matrix((weights, (pairs["left"], pairs[ITEM])), shape=(n, n)).tocsr()
        matrix = matrix + forward + forward.T
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    return matrix


def target_neighbours(events: pd.DataFrame, targets: pd.DataFrame, n: int, distances: range) -> sp.csr_matrix:
    """targets x items (``n``; ``events`` from ``indexed``; one row per row of ``targets``, in order):
    each target's visible neighbours at ``distances`` on either side, weighted ``target weight /
    distance``."""
    goals = targets[[QUERY, POSITION, WEIGHT]].assign(row=np.arange(len(targets)))
    parts = []
    for distance in distances:
        for shift in (-distance, distance):
            near = _shifted_pairs(events, goals, -shift)
            parts.append(near[["row", ITEM]].assign(value=near[WEIGHT] / distance))
    near = pd.concat(parts, ignore_index=True)
    values = near["value"].astype("float32")
    return sp.coo_matrix((values, (near["row"], near[ITEM])), shape=(len(targets), n)).tocsr()


def item_model(events: pd.DataFrame, n: int, config: CovisitationSettings) -> sp.csr_matrix:
    """Co-visitation counts with each column divided by (its item's events + 1) ** ``popularity_exponent``:
    popular items co-occur with everything, so unscaled counts rank them first for every hole.
    Exponents compared in ``benchmarks/results/covisitation.md``."""
    counts = np.bincount(events[ITEM].to_numpy(), minlength=n).astype(np.float32) + 1.0
    scale = sp.diags(counts**-config.popularity_exponent)
    return (covisitation_matrix(events, n, config.window) @ scale).tocsr()


def _per_user(targets: pd.DataFrame, users: np.ndarray) -> sp.csr_matrix:
    """users x targets: 1 where the target is the user's."""
    rows = np.searchsorted(users, targets[QUERY].to_numpy())
    ones = np.ones(len(targets), dtype=np.float32)
    return sp.coo_matrix((ones, (rows, np.arange(len(targets)))), shape=(len(users), len(targets))).tocsr()


def score_targets(
    history: pd.DataFrame, targets: pd.DataFrame, items: pd.DataFrame, config: CovisitationSettings
) -> pd.DataFrame:
    """Top-``candidates_k`` unseen items per user of ``targets`` (user_id, item_id, score, rank):
    co-visitation counted on ``history`` and scored per target from its neighbours on both sides."""
    window, k = config.window, config.candidates_k
    if targets.empty:
        return ranked(pd.DataFrame({QUERY: [], ITEM: [], "score": []}))
    vocab = np.unique(np.concatenate([items[ITEM].to_numpy(), history[ITEM].to_numpy()]))
    users = np.unique(targets[QUERY].to_numpy())
    events = indexed(history, vocab)  # encoded once for both products
    near = _per_user(targets, users) @ target_neighbours(events, targets, len(vocab), range(1, window + 1))
    scores = near @ item_model(events, len(vocab), config)
    return ranked(_top_k(scores.tocsr(), seen_matrix(history, users, vocab), users, vocab, k), k)


def seen_matrix(history: pd.DataFrame, users: np.ndarray, vocab: np.ndarray) -> sp.csr_matrix:
    """users x items (``vocab``): True where the user has an event of ``history`` on the item."""
    seen = history[history[QUERY].isin(users)]
    rows = np.searchsorted(users, seen[QUERY].to_numpy())
    cols = np.searchsorted(vocab, seen[ITEM].to_numpy())
    ones = np.ones(len(seen), dtype=bool)
    return sp.coo_matrix((ones, (rows, cols)), shape=(len(users), len(vocab))).tocsr()


def _top_k(
    scores: sp.csr_matrix, seen: sp.csr_matrix, users: np.ndarray, vocab: np.ndarray, k: int
) -> pd.DataFrame:
    """The ``k`` best positive-scored unseen items of every row, in blocks of rows (bounded memory)."""
    frames = []
    block = max(1, 2_000_000 // max(scores.shape[1], 1))
    for start in range(0, scores.shape[0], block):
        dense = scores[start : start + block].toarray()
        dense[seen[start : start + block].toarray()] = 0.0
        depth = min(k, dense.shape[1])
        best = np.argpartition(-dense, depth - 1, axis=1)[:, :depth]
        values = np.take_along_axis(dense, best, axis=1)
        rows = np.repeat(np.arange(start, start + len(dense)), depth)
        frame = pd.DataFrame(
            {QUERY: users[rows], ITEM: vocab[best.ravel()], "score": values.ravel().astype("float32")}
        )
        frames.append(frame[frame["score"] > 0])
    return pd.concat(frames, ignore_index=True)
