"""Features are fold-honest: a test-window event moves no feature of the rerank or test windows."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.features import create_pipeline
from recsys_challenge.pipelines.features.nodes import activity_features, target_features
from recsys_challenge.pipelines.splitting.gaps import raw_targets, truth_targets
from recsys_challenge.pipelines.splitting.nodes import split_holdout
from recsys_challenge.pipelines.splitting.settings import SplittingSettings
from tests.conftest import with_engines

pytestmark = pytest.mark.slow


def folds_of(interactions: pd.DataFrame, params: dict) -> dict[str, pd.DataFrame]:
    split = SplittingSettings.model_validate(params["splitting"])
    test_history, test_gt = split_holdout(interactions, split.test, split)
    gen_train, rerank_gt = split_holdout(test_history, split.rerank, split)
    return {
        "interactions": interactions,
        "fold_test_history": test_history,
        "fold_test_gt": test_gt,
        "fold_gen_train": gen_train,
        "fold_rerank_gt": rerank_gt,
        "targets_rerank": truth_targets(rerank_gt, gen_train),
        "targets_test": truth_targets(test_gt, test_history),
        "targets_final": raw_targets(interactions, split.tail_weight),
    }


def plant_test_event(folds: dict, user: int) -> pd.DataFrame:
    """Replace the user's test-window item by another item the user never saw (same time, same rating)."""
    interactions = folds["interactions"].copy()
    target = folds["fold_test_gt"][folds["fold_test_gt"]["user_id"] == user].iloc[0]
    unseen = sorted(set(interactions["item_id"]) - set(interactions[interactions.user_id == user]["item_id"]))
    row = (interactions.user_id == user) & (interactions.order == target["order"])
    interactions.loc[row, "item_id"] = unseen[0]
    return interactions


def run_features(folds: dict, base: dict, spark, windows: list[str]) -> dict:
    from tests.conftest import run_pipeline

    pipe = create_pipeline().only_nodes_with_namespaces([f"features_{w}" for w in windows])
    data = {**folds, "users": base["users"], "items": base["items"]}
    inputs = {**with_engines(pipe, data, spark), "params:features": base["params"]["features"]}
    return run_pipeline(pipe, inputs)


def test_a_test_window_event_moves_no_rerank_or_test_feature(folds, params, spark):
    base = {"users": folds["users"], "items": folds["items"], "params": params}
    clean = folds_of(folds["interactions"], params)
    user = int(clean["fold_test_gt"]["user_id"].iloc[0])
    planted = folds_of(plant_test_event(clean, user), params)
    assert not planted["fold_test_gt"].equals(clean["fold_test_gt"])  # the plant did change the test window

    windows = ["rerank", "test"]
    before, after = run_features(clean, base, spark, windows), run_features(planted, base, spark, windows)
    for window in windows:
        for table in ("user_features", "item_features"):
            name = f"features_{window}.{table}"
            pd.testing.assert_frame_equal(before[name], after[name])
            assert len(before[name]) > 0
    # sanity: the final window (which may see everything) does react to the planted event
    final_before = activity_features(clean["interactions"], folds["items"], params["features"])[1]
    final_after = activity_features(planted["interactions"], folds["items"], params["features"])[1]
    assert not final_before.equals(final_after)


def test_features_cover_every_user_and_item_of_the_fold(folds, params, spark):
    base = {"users": folds["users"], "items": folds["items"], "params": params}
    out = run_features(folds_of(folds["interactions"], params), base, spark, ["test"])
    users, items = out["features_test.user_features"], out["features_test.item_features"]
    history = folds["fold_test_history"]
    assert set(users["user_id"]) == set(history["user_id"])
    assert set(items["item_id"]) == set(history["item_id"])
    assert users["user_id"].is_unique and items["item_id"].is_unique
    genre_shares = users[[c for c in users.columns if c.startswith("u_pop_by_genre_")]]
    assert ((genre_shares >= 0) & (genre_shares <= 1)).all().all()
    assert (items["i_trend"] >= 0).all()


def test_each_window_reads_only_the_history_it_may_see():
    pipe = create_pipeline()
    folds = {"fold_gen_train", "fold_rerank_gt", "fold_test_history", "fold_test_gt", "interactions"}
    expected = {"rerank": "fold_gen_train", "test": "fold_test_history", "final": "interactions"}
    for window, fold in expected.items():
        inputs = pipe.only_nodes_with_namespaces([f"features_{window}"]).inputs()
        assert {name.split("@")[0] for name in inputs} & folds == {fold}, window


def test_activity_features_count_recent_events_and_the_trend():
    # one day apart; trend_fraction 0.5 -> "recent" = the last 2 of the 4 days
    history = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 2],
            "item_id": [10, 11, 10, 11, 12],
            "timestamp": [d * 86400 for d in range(5)],
            "order": [0, 1, 0, 1, 2],
        }
    )
    items = pd.DataFrame({"item_id": [10, 11, 12], "genre_0": [1, 0, 1], "genre_1": [0, 1, 0]})
    user, item = activity_features(history, items, {"trend_fraction": 0.5, "recent_events": 2})
    assert list(user.columns) == ["user_id", "u_recent_events", "u_recent_genre_0", "u_recent_genre_1"]
    assert user["u_recent_events"].tolist() == [0, 3]
    assert user.loc[user.user_id == 2, ["u_recent_genre_0", "u_recent_genre_1"]].values.tolist() == [
        [0.5, 0.5]
    ]
    # counts and recency are RePlay's log statistics (i_log_num_interact, *_last_interaction_gap_days)
    assert list(item.columns) == ["item_id", "i_recent_events", "i_trend"]
    assert item["i_recent_events"].tolist() == [1, 1, 1]
    assert item["i_trend"].tolist() == pytest.approx([1 / 2 / 0.5, 1 / 2 / 0.5, 1 / 1 / 0.5])


def test_target_features_count_the_holes_and_place_them():
    history = pd.DataFrame(
        {"user_id": [1, 1, 1, 2, 2], "item_id": [1, 2, 3, 1, 2], "position": [0, 1, 4, 0, 1]}
    )
    targets = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2],
            "position": [2, 3, 5, 2],
            "weight": [1.0, 1.0, 0.2, 0.2],
            "tail": [False, False, True, True],
        }
    )
    got = target_features(targets, history).set_index("user_id")
    assert got.loc[1, "u_holes"] == 2 and got.loc[1, "u_hole_share"] == pytest.approx(2 / 5)
    assert got.loc[1, "u_hole_position"] == pytest.approx((2 / 4 + 3 / 4) / 2)
    # a user with only the open slot after the end has no hole
    assert got.loc[2, "u_holes"] == 0 and got.loc[2, "u_hole_share"] == 0
    assert "u_tail_weight" not in got
