"""The competition protocol: hidden events at known positions inside each user's sequence.

``gaps`` hides a seeded random share of every user's events; the folds keep each event's ``position``,
so a model sees where the holes are but never what fills them. A window's *targets* are the positions
its candidates answer. Each event is hidden independently with probability ``fraction``, as the
competition (and ``synthetic.hide_events``) hid its events; RePlay's ``TwoStageSplitter`` takes a fixed
share per user instead (and refuses to split every user), so the draw is written here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, POSITION, QUERY

if TYPE_CHECKING:
    from .settings import GapsHoldout

TARGET_COLUMNS = [QUERY, POSITION, "weight", "tail"]


class GapsSplitter:
    """Holds out each event with probability ``fraction`` (seeded); every user keeps its last event."""

    def __init__(self, holdout: GapsHoldout, drop_cold_users: bool, drop_cold_items: bool) -> None:
        self.fraction, self.seed = holdout.fraction, holdout.seed
        self.drop_cold_users, self.drop_cold_items = drop_cold_users, drop_cold_items

    def split(self, interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        drawn = np.random.default_rng(self.seed).random(len(interactions)) < self.fraction
        last = interactions[POSITION] == interactions.groupby(QUERY)[POSITION].transform("max")
        everything = pd.Series(drawn, index=interactions.index).groupby(interactions[QUERY]).transform("all")
        held = drawn & ~(everything & last).to_numpy()  # a user never loses every event
        history, held_out = interactions[~held], interactions[held]
        if self.drop_cold_users:
            held_out = held_out[held_out[QUERY].isin(history[QUERY])]
        if self.drop_cold_items:
            held_out = held_out[held_out[ITEM].isin(history[ITEM])]
        return history, held_out


def truth_targets(truth: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The positions of a validation window's hidden events: known to models, their items are not.
    ``tail`` marks those after the user's last visible event (as the final window's open slot)."""
    targets = truth[[QUERY, POSITION]].drop_duplicates().sort_values([QUERY, POSITION])
    last = history.groupby(QUERY)[POSITION].max().reindex(targets[QUERY]).to_numpy()
    targets = targets.assign(weight=1.0, tail=~(targets[POSITION].to_numpy() < last))
    return targets[TARGET_COLUMNS].reset_index(drop=True)


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
