"""Co-visitation within a window of positions, scored per hole from the neighbours on both sides."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.covisitation.nodes import score_targets
from tests.conftest import COVISIT_HISTORY as HISTORY
from tests.conftest import COVISIT_ITEMS as ITEMS
from tests.conftest import covisit_config as config
from tests.conftest import covisit_events as events
from tests.conftest import covisit_hole as hole


def scores(targets: pd.DataFrame, window: int) -> dict[int, float]:
    top = score_targets(HISTORY, targets, ITEMS, config(window=window))
    assert set(top["user_id"]) == set(targets["user_id"])
    return dict(zip(top["item_id"], top["score"], strict=True))


def test_a_hole_is_scored_from_its_nearest_neighbours_on_both_sides():
    # window 1: only the events right before (11) and after (12) the hole count
    assert scores(hole(1, 2), window=1) == {20: 1.0, 21: 1.0}


def test_farther_neighbours_count_less_and_positions_not_ranks_set_distance():
    got = scores(hole(1, 2), window=2)
    # 11 and 12 (distance 1) bring their partners at weight 1; 10 and 13 (distance 2 across the hole,
    # 1 by rank) bring theirs at 1/2
    assert got == pytest.approx({20: 1.0, 21: 1.0, 22: 0.5, 23: 0.5})
    assert 24 not in scores(hole(1, 2), window=3)


def test_targets_add_up_per_user_with_their_weights_and_seen_items_stay_out():
    both = pd.concat([hole(1, 2), hole(1, 5, weight=0.5)])  # 5 is the slot after the last event (13)
    got = scores(both, window=1)
    assert got == pytest.approx({20: 1.0, 21: 1.0, 23: 0.5})
    assert not set(got) & {10, 11, 12, 13}


def test_a_user_without_visible_neighbours_gets_no_candidates():
    top = score_targets(HISTORY, hole(1, 40), ITEMS, config(window=3))
    assert top.empty and list(top.columns) == ["user_id", "item_id", "score", "rank"]


def test_popular_items_are_scaled_down_by_their_event_count():
    # 20 (one event) and 21 (one event) tie at window 1; a second event of 21 elsewhere makes it more
    # popular, so with an exponent it falls below 20, without one it stays tied
    history = pd.concat([HISTORY, events({7: [(0, 21)]})])
    plain = score_targets(history, hole(1, 2), ITEMS, config()).set_index("item_id")["score"]
    scaled = score_targets(history, hole(1, 2), ITEMS, config(popularity_exponent=1.0))
    scaled = scaled.set_index("item_id")["score"]
    assert plain[20] == plain[21] == 1.0
    assert scaled[20] == pytest.approx(1 / 2) and scaled[21] == pytest.approx(1 / 3)
