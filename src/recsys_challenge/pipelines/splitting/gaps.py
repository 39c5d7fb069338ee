"""The competition protocol: hidden events at known positions inside each user's sequence.

``gaps`` hides a seeded random share of every user's events (RePlay's ``TwoStageSplitter`` over all
users, shuffled); the folds keep each event's ``position``, so a model sees where the holes are but
never what fills them. A window's *targets* are the positions its candidates answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from replay.splitters import TwoStageSplitter

from recsys_challenge.core import ITEM, POSITION, QUERY

TARGET_COLUMNS = [QUERY, POSITION, "weight", "tail"]


def gaps_splitter(holdout: dict[str, Any], drop_cold_users: bool, drop_cold_items: bool) -> TwoStageSplitter:
    """Every user hides ``fraction`` of its events, picked at random with ``seed``."""
    return TwoStageSplitter(
        first_divide_size=1.0,
        second_divide_size=float(holdout["fraction"]),
        first_divide_column=QUERY,
        second_divide_column=ITEM,
        shuffle=True,
        drop_cold_users=drop_cold_users,
        drop_cold_items=drop_cold_items,
        seed=int(holdout.get("seed", 0)),
        query_column=QUERY,
        item_column=ITEM,
        timestamp_column=POSITION,
    )


def truth_targets(truth: pd.DataFrame) -> pd.DataFrame:
    """The positions of a validation window's hidden events: known to models, their items are not."""
    targets = truth[[QUERY, POSITION]].drop_duplicates().sort_values([QUERY, POSITION])
    return targets.assign(weight=1.0, tail=False)[TARGET_COLUMNS].reset_index(drop=True)


def raw_targets(interactions: pd.DataFrame, tail_weight: float) -> pd.DataFrame:
    """The final window's targets: every hole of the raw positions (0 .. a user's last position) and
    the slot after the last event, weighted ``tail_weight`` (hidden events may follow the end too)."""
    last = interactions.groupby(QUERY)[POSITION].max()
    users = np.repeat(last.index.to_numpy(), last.to_numpy() + 2)
    slots = np.concatenate([np.arange(n + 2) for n in last.to_numpy()])
    grid = pd.DataFrame({QUERY: users, POSITION: slots})
    taken = interactions[[QUERY, POSITION]].assign(_taken=True)
    grid = grid.merge(taken, on=[QUERY, POSITION], how="left")
    holes = grid[grid["_taken"].isna()].drop(columns="_taken")
    tail = holes[POSITION].to_numpy() == last.reindex(holes[QUERY]).to_numpy() + 1
    holes = holes.assign(weight=np.where(tail, float(tail_weight), 1.0), tail=tail)
    return holes[TARGET_COLUMNS].reset_index(drop=True)
