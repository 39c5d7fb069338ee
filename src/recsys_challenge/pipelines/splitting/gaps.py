"""The competition protocol: hidden events at known positions inside each user's sequence.

``gaps`` hides a seeded random share of every user's events; the folds keep each event's ``position``,
so a model sees where the holes are but never what fills them. A window's *targets* are the positions
its candidates answer. (RePlay's ``TwoStageSplitter`` does the same draw but refuses to take every
user, so the draw is its rule, written here: a user's events ranked by a random key, the first
``fraction`` of them held out.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, POSITION, QUERY

TARGET_COLUMNS = [QUERY, POSITION, "weight", "tail"]


class GapsSplitter:
    """Holds out ``fraction`` of every user's events (rounded down), picked at random with ``seed``."""

    def __init__(self, holdout: dict[str, Any], drop_cold_users: bool, drop_cold_items: bool) -> None:
        self.fraction, self.seed = float(holdout["fraction"]), int(holdout.get("seed", 0))
        self.drop_cold_users, self.drop_cold_items = drop_cold_users, drop_cold_items

    def split(self, interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        keys = np.random.default_rng(self.seed).random(len(interactions))
        rank = pd.Series(keys, index=interactions.index).groupby(interactions[QUERY]).rank(method="first")
        count = interactions.groupby(QUERY)[QUERY].transform("size")
        held = (rank / count <= self.fraction).to_numpy()
        history, held_out = interactions[~held], interactions[held]
        if self.drop_cold_users:
            held_out = held_out[held_out[QUERY].isin(history[QUERY])]
        if self.drop_cold_items:
            held_out = held_out[held_out[ITEM].isin(history[ITEM])]
        return history, held_out


def gaps_splitter(holdout: dict[str, Any], drop_cold_users: bool, drop_cold_items: bool) -> GapsSplitter:
    """Every user hides ``fraction`` of its events, picked at random with ``seed``."""
    return GapsSplitter(holdout, drop_cold_users, drop_cold_items)


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
