"""Per-candidate hole features for the reranker: how well an item fits each of the user's targets.

The co-visitation generator sums a user's targets into one ranking and proposes only its top items.
The reranker also needs, for *every* candidate of the union (whichever generator proposed it), the fit
to single targets: a film that fills one hole well is a better guess than one that fits every hole a
little. Each target's co-visitation scores are normalised into a distribution over the items its user
has not seen, so a hole with many visible neighbours does not outweigh one with few.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_challenge.core import ITEM, KEY, QUERY

from .nodes import indexed, item_model, seen_matrix, target_neighbours
from .settings import CovisitationSettings

HOLE_FEATURES = ("h_sum", "h_max", "h_near_max")
BLOCK_CELLS = 4_000_000  # dense targets x items cells scored at a time (bounded memory)


def hole_features(
    union: pd.DataFrame,
    history: pd.DataFrame,
    targets: pd.DataFrame,
    items: pd.DataFrame,
    config: CovisitationSettings,
) -> pd.DataFrame:
    """``union`` with, per candidate, over the user's targets: ``h_sum`` and ``h_max`` of each target's
    normalised co-visitation score for the item (neighbours up to ``window`` away), and ``h_near_max``
    the same from the two adjacent positions only. 0 for users without targets."""
    out = union.copy()
    for name in HOLE_FEATURES:
        out[name] = np.float32(0.0)
    targets = targets[targets[QUERY].isin(union[QUERY])].sort_values(QUERY, kind="stable")
    if targets.empty or union.empty:
        return out
    targets = targets.reset_index(drop=True)
    vocab = np.unique(np.concatenate([items[ITEM].to_numpy(), history[ITEM].to_numpy()]))
    events = indexed(history, vocab)
    model = item_model(events, len(vocab), config)
    window = config.window
    adjacent = target_neighbours(events, targets, len(vocab), range(1, 2))
    farther = target_neighbours(events, targets, len(vocab), range(2, window + 1))
    scored = {"all": (adjacent + farther) @ model, "near": adjacent @ model}
    # each candidate row against each of its user's targets
    pairs = union[KEY].reset_index(names="pair").merge(targets[[QUERY]].reset_index(names="target"), on=QUERY)
    pairs = pairs[np.isin(pairs[ITEM].to_numpy(), vocab)]
    pairs["column"] = np.searchsorted(vocab, pairs[ITEM].to_numpy())
    users = np.unique(targets[QUERY].to_numpy())
    seen = seen_matrix(history, users, vocab)
    owner = np.searchsorted(users, targets[QUERY].to_numpy())
    block = max(1, BLOCK_CELLS // len(vocab))
    values = {"all": np.zeros(len(pairs), np.float32), "near": np.zeros(len(pairs), np.float32)}
    target_ids = pairs["target"].to_numpy()
    for start in range(0, len(targets), block):
        inside = (target_ids >= start) & (target_ids < start + block)
        rows, columns = target_ids[inside] - start, pairs["column"].to_numpy()[inside]
        for name, matrix in scored.items():
            dense = _distributions(matrix[start : start + block], seen[owner[start : start + block]])
            values[name][inside] = dense[rows, columns]
    pairs = pairs.assign(h_all=values["all"], h_near=values["near"])
    per_pair = pairs.groupby("pair").agg(
        h_sum=("h_all", "sum"), h_max=("h_all", "max"), h_near_max=("h_near", "max")
    )
    for name in HOLE_FEATURES:
        out.loc[per_pair.index, name] = per_pair[name].astype("float32").to_numpy()
    return out


def _distributions(scores: sp.csr_matrix, seen: sp.csr_matrix) -> np.ndarray:
    """Dense rows without their ``seen`` items, scaled to sum to 1 (rows without a score stay 0)."""
    dense = scores.toarray()
    dense[seen.nonzero()] = 0.0
    return dense / np.maximum(dense.sum(axis=1, keepdims=True), 1e-12)
