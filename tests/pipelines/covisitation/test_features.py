"""Hole features: every union candidate's fit to single targets, whichever generator proposed it."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.covisitation import features
from recsys_challenge.pipelines.covisitation.features import hole_features
from tests.conftest import COVISIT_HISTORY as HISTORY
from tests.conftest import COVISIT_ITEMS as ITEMS
from tests.conftest import covisit_config as config
from tests.conftest import covisit_hole as hole

CONFIG = config(window=2)


def union(pairs: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["user_id", "item_id"]).assign(slim_score=1.0)


def test_each_target_is_a_distribution_and_the_max_picks_the_best_single_target():
    # user 1: the hole at 2 sits between 11 and 12 (20 and 21 next to them, 22 and 23 two away);
    # the slot at 5 follows 13 (23 next to it)
    targets = pd.concat([hole(1, 2), hole(1, 5)])
    got = hole_features(union([(1, 20), (1, 23), (1, 25)]), HISTORY, targets, ITEMS, CONFIG)
    got = got.set_index("item_id")
    # hole 2 scores 20, 21 at 1 and 22, 23 at 1/2 (sum 3); slot 5 scores 23 alone (13 is its neighbour,
    # 12 two away brings 21 at 1/2): {23: 1, 21: 1/2}
    assert got.loc[20, "h_sum"] == pytest.approx(1 / 3)
    assert got.loc[23, "h_sum"] == pytest.approx(0.5 / 3 + 1 / 1.5)
    assert got.loc[23, "h_max"] == pytest.approx(1 / 1.5)
    assert got.loc[25, ["h_sum", "h_max", "h_near_max"]].tolist() == [0.0, 0.0, 0.0]
    # from the adjacent positions only, 23 is not a candidate for hole 2 (its partner 13 is 2 away)
    assert got.loc[23, "h_near_max"] == pytest.approx(1.0)
    assert got.loc[20, "h_near_max"] == pytest.approx(0.5)
    assert (got["slim_score"] == 1.0).all()  # the union's own columns stay


def test_blocks_of_targets_give_the_same_features(monkeypatch):
    targets = pd.concat([hole(1, 2), hole(1, 5), hole(2, 2), hole(3, 4)])
    candidates = union([(1, 20), (1, 23), (2, 12), (2, 10), (3, 11), (3, 10), (4, 10)])
    whole = hole_features(candidates, HISTORY, targets, ITEMS, CONFIG)
    monkeypatch.setattr(features, "BLOCK_CELLS", 1)  # one target per block
    pd.testing.assert_frame_equal(hole_features(candidates, HISTORY, targets, ITEMS, CONFIG), whole)
    assert whole.set_index("user_id").loc[4, "h_sum"] == 0.0  # user 4 has no target
