"""The validation scheme is leak-free: no holdout event reaches an earlier fold."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.data_processing.nodes import order_interactions
from recsys_challenge.pipelines.splitting import create_pipeline
from recsys_challenge.pipelines.splitting.nodes import split_holdout
from recsys_challenge.pipelines.splitting.settings import NextItemHoldout, SplittingSettings
from recsys_challenge.synthetic import hide_events
from tests.conftest import make_events, parameter_inputs, run_pipeline, strip_engine


def assert_no_leak(history: pd.DataFrame, holdout: pd.DataFrame) -> None:
    """Every holdout event of a user comes after all of that user's history events."""
    last_seen = history.groupby("user_id")["order"].max()
    first_held = holdout.groupby("user_id")["order"].min()
    common = first_held.index.intersection(last_seen.index)
    assert (first_held[common] > last_seen[common]).all()
    keys = ["user_id", "item_id", "order"]
    assert history.merge(holdout, on=keys).empty


def run_splitting(interactions: pd.DataFrame, splitting: dict) -> dict[str, pd.DataFrame]:
    """The splitting pipeline on ``interactions``; ``splitting`` is the raw block, validated as Kedro does."""
    pipe = create_pipeline()
    inputs = {"interactions@pandas": interactions, **parameter_inputs(pipe, {"splitting": splitting})}
    return strip_engine(run_pipeline(pipe, inputs))


def settings(params: dict, **changes) -> SplittingSettings:
    return SplittingSettings.model_validate({**params["splitting"], **changes})


@pytest.fixture
def edge_interactions() -> pd.DataFrame:
    """Users with 1 and 2 events, duplicate timestamps, a long user."""
    rows = [(0, 1, 5)]  # a single event
    rows += [(1, 1, 7), (1, 2, 7)]  # two events, same timestamp
    rows += [(2, i, 100 + i // 2) for i in range(1, 9)]  # ties in pairs
    rows += [(3, i, 10 * i) for i in range(1, 7)]
    return order_interactions(make_events(rows))


@pytest.mark.parametrize("strategy", ["last_n", "ratio"])
def test_edge_cases_do_not_leak(edge_interactions, params, strategy):
    splitting = {
        **params["splitting"],
        "test": {"strategy": strategy, "n": 2, "fraction": 0.25},
        "rerank": {"strategy": strategy, "n": 1, "fraction": 0.25},
    }
    folds = run_splitting(edge_interactions, splitting)
    assert_no_leak(folds["fold_test_history"], folds["fold_test_gt"])
    assert_no_leak(folds["fold_gen_train"], folds["fold_rerank_gt"])
    assert_no_leak(folds["fold_gen_train"], folds["fold_test_gt"])
    # users too short to split stay whole in training and get no holdout
    for fold in ("fold_test_gt", "fold_rerank_gt"):
        assert not set(folds[fold]["user_id"]) & {0, 1}
    assert len(folds["fold_test_history"]) + len(folds["fold_test_gt"]) <= len(edge_interactions)
    # gen_train + rerank window == test_history (up to dropped cold rows)
    rebuilt = pd.concat([folds["fold_gen_train"], folds["fold_rerank_gt"]])
    assert set(map(tuple, rebuilt[["user_id", "order"]].to_numpy())) <= set(
        map(tuple, folds["fold_test_history"][["user_id", "order"]].to_numpy())
    )


def test_ties_split_deterministically(edge_interactions, params):
    holdout = NextItemHoldout(strategy="last_n", n=1)
    first = split_holdout(edge_interactions, holdout, settings(params))
    again = split_holdout(edge_interactions.sample(frac=1, random_state=3), holdout, settings(params))
    pd.testing.assert_frame_equal(first[1], again[1])
    user1 = split_holdout(edge_interactions, holdout, settings(params, min_events_to_split=2))[1]
    assert user1[user1.user_id == 1]["item_id"].tolist() == [2]  # the later row in the file wins the tie


def test_sample_folds_leak_free_and_leave_one_out(sample, params):
    interactions = order_interactions(sample["events"])
    folds = run_splitting(interactions, params["splitting"])
    assert_no_leak(folds["fold_test_history"], folds["fold_test_gt"])
    assert_no_leak(folds["fold_gen_train"], folds["fold_rerank_gt"])
    assert folds["fold_test_gt"].groupby("user_id").size().max() == 1
    assert folds["fold_test_gt"]["user_id"].nunique() > 0.95 * interactions["user_id"].nunique()
    # no test-window event is present in generator or reranker training data
    test_keys = set(map(tuple, folds["fold_test_gt"][["user_id", "order"]].to_numpy()))
    for name in ("fold_gen_train", "fold_rerank_gt", "fold_test_history"):
        assert not test_keys & set(map(tuple, folds[name][["user_id", "order"]].to_numpy()))


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError, match=r"strategy\n  Input should be 'last_n' or 'ratio'"):
        NextItemHoldout.model_validate({"strategy": "random", "n": 1})
    with pytest.raises(ValueError, match="'last_n' or 'ratio'"):  # gaps is a protocol, not a strategy
        NextItemHoldout.model_validate({"strategy": "gaps", "fraction": 0.1})


@pytest.mark.parametrize("drop_cold_items", [True, False])
def test_cold_holdout_items_are_dropped_only_when_asked(params, drop_cold_items):
    # last events: user 0 -> item 3 (no one else has it), user 1 -> item 4 (user 2 saw it), user 2 -> item 2
    rows = [(0, 1, 1), (0, 2, 2), (0, 3, 3), (1, 1, 1), (1, 2, 2), (1, 4, 3), (2, 4, 1), (2, 1, 2), (2, 2, 3)]
    split = settings(params, min_events_to_split=3, drop_cold_items=drop_cold_items)
    history, held_out = split_holdout(
        order_interactions(make_events(rows)), NextItemHoldout(strategy="last_n", n=1), split
    )
    assert dict(zip(held_out.user_id, held_out.item_id, strict=True)) == (
        {1: 4, 2: 2} if drop_cold_items else {0: 3, 1: 4, 2: 2}
    )
    if drop_cold_items:
        assert held_out["item_id"].isin(history["item_id"]).all()


def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(map(tuple, frame[["user_id", "position"]].to_numpy()))


def test_gaps_hide_random_positions_and_targets_are_the_holes(sample, params):
    visible, hidden = hide_events(sample["events"], 0.106, seed=3)  # the competition's form
    hidden = hidden.rename(columns={"timestamp": "position"})
    interactions = order_interactions(visible)
    folds = run_splitting(interactions, params["splitting"])  # protocol auto: the data has holes
    test, rerank = keys(folds["fold_test_gt"]), keys(folds["fold_rerank_gt"])
    # no hidden event of a window reaches a fold a model trains on
    assert not test & keys(folds["fold_test_history"]) and not test & keys(folds["fold_gen_train"])
    assert not rerank & keys(folds["fold_gen_train"])
    assert keys(folds["fold_gen_train"]) | rerank == keys(folds["fold_test_history"])
    # a random ~10.6% of each user's events, mostly inside the sequence rather than after its end
    assert len(test) / len(interactions) == pytest.approx(0.106, abs=0.02)
    last = folds["fold_test_history"].groupby("user_id")["position"].max()
    inside = folds["fold_test_gt"]["position"] < last.reindex(folds["fold_test_gt"]["user_id"]).to_numpy()
    assert inside.mean() > 0.8
    # a hole of the raw data is never a label
    assert not keys(hidden) & (test | rerank)
    # a window's targets are every unknown position before its history's end, as the final window's:
    # its own hidden events, the raw data's holes and, for the rerank window, the test window's too
    for name, history, unknown in (
        ("test", "fold_test_history", test | keys(hidden)),
        ("rerank", "fold_gen_train", rerank | test | keys(hidden)),
    ):
        targets = folds[f"targets_{name}"]
        end = folds[history].groupby("user_id")["position"].max()
        inside = {(u, p) for u, p in unknown if u in end.index and p < end[u]}
        assert keys(targets[~targets["tail"]]) == inside
        assert (targets[targets["tail"]].set_index("user_id")["position"] == end + 1).all()
    # the final window answers the raw holes (weight 1) and the slot after each user's end
    final = folds["targets_final"]
    last_visible = interactions.groupby("user_id")["position"].max()
    holes = hidden[hidden["position"] < last_visible.reindex(hidden["user_id"]).to_numpy()]
    assert keys(final[~final["tail"]]) == keys(holes)
    assert (final[~final["tail"]]["weight"] == 1).all()
    tail = final[final["tail"]].set_index("user_id")
    assert (tail["position"] == last_visible + 1).all() and (
        tail["weight"] == params["splitting"]["tail_weight"]
    ).all()


def test_next_item_protocol_still_holds_out_the_last_events_of_data_with_holes(sample, params):
    visible, _ = hide_events(sample["events"], 0.106, seed=3)
    interactions = order_interactions(visible)
    folds = run_splitting(interactions, {**params["splitting"], "protocol": "next_item"})
    assert_no_leak(folds["fold_test_history"], folds["fold_test_gt"])
    assert folds["fold_test_gt"].groupby("user_id").size().max() == 1
    # next-item windows answer their held-out events only, not the raw data's holes
    for name, truth in (("test", "fold_test_gt"), ("rerank", "fold_rerank_gt")):
        assert keys(folds[f"targets_{name}"]) == keys(folds[truth])
        assert folds[f"targets_{name}"]["tail"].all()
