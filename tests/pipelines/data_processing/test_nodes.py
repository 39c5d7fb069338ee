"""Raw data contract: every kind of bad input names the file and the column."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.data_processing.nodes import (
    build_primary,
    order_interactions,
    validate_raw_events,
    validate_raw_items,
    validate_raw_users,
)
from recsys_challenge.schemas import RawDataError
from tests.conftest import make_events

EVENTS_FILE = "data/01_raw/events.csv"


@pytest.fixture
def dp(params) -> dict:
    return params["data_processing"]


@pytest.fixture
def events() -> pd.DataFrame:
    return make_events([(0, 1, 10), (0, 2, 11), (1, 2, 5), (1, 3, 7)])


def _bad(events: pd.DataFrame, kind: str) -> pd.DataFrame:
    bad = events.copy()
    if kind == "missing_column":
        return bad.drop(columns="timestamp")
    if kind == "wrong_dtype":
        bad["item_id"] = bad["item_id"].astype(str)
        bad.loc[1, "item_id"] = "movie-2"
        return bad
    if kind == "null":
        bad["item_id"] = bad["item_id"].astype("float")
        bad.loc[2, "item_id"] = None
        return bad
    if kind == "duplicate":
        return pd.concat([bad, bad.iloc[[0]]], ignore_index=True)
    if kind == "rating_range":
        bad.loc[3, "rating"] = 11
        return bad
    if kind == "negative_timestamp":
        bad.loc[0, "timestamp"] = -3
        return bad
    if kind == "empty":
        return bad.iloc[0:0]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "column", "fragment"),
    [
        ("missing_column", "timestamp", "missing column"),
        ("wrong_dtype", "item_id", "movie-2"),
        ("null", "item_id", "null"),
        ("duplicate", "timestamp", "duplicate"),
        ("rating_range", "rating", "in_range"),
        ("negative_timestamp", "timestamp", "-3"),
        ("empty", "user_id", "no rows"),
    ],
)
def test_bad_events_name_file_and_column(events, dp, kind, column, fragment):
    with pytest.raises(RawDataError) as info:
        validate_raw_events(_bad(events, kind), dp)
    message = str(info.value)
    assert message.startswith(EVENTS_FILE)
    assert column in message
    assert fragment in message


def test_duplicates_can_be_dropped_by_policy(events, dp):
    out = validate_raw_events(_bad(events, "duplicate"), {**dp, "duplicates": "drop"})
    assert len(out) == len(events)


def test_bad_item_and_user_tables(dp):
    items = pd.DataFrame({"item_id": [1, 2, 2], "genre_0": [0, 1, 2]})
    with pytest.raises(RawDataError, match=r"item_features\.csv[\s\S]*genre_0[\s\S]*isin"):
        validate_raw_items(items, dp)
    users = pd.DataFrame({"user_id": [0, 1], "gender": ["M", "X"], "age": [18, 25]})
    with pytest.raises(RawDataError, match=r"user_features\.csv[\s\S]*gender"):
        validate_raw_users(users, dp)
    with pytest.raises(RawDataError, match=r"item_features\.csv: no 'genre_<n>' column"):
        validate_raw_items(pd.DataFrame({"item_id": [1]}), dp)


def test_unknown_ids_policy(events, dp):
    items = pd.DataFrame({"item_id": [1, 2], "genre_0": [0, 1]})
    users = pd.DataFrame({"user_id": [0, 1], "gender": ["M", "F"], "age": [18, 25]})
    with pytest.raises(
        RawDataError, match=r"events\.csv: column 'item_id' has 1 event\(s\)[\s\S]*item_features"
    ):
        build_primary(events, items, users, dp)
    interactions, _, _ = build_primary(events, items, users, {**dp, "unknown_ids": "drop"})
    assert 3 not in set(interactions["item_id"])
    interactions, _, _ = build_primary(events, items, users, {**dp, "unknown_ids": "keep"})
    assert len(interactions) == len(events)


def test_ties_are_broken_by_file_order():
    events = make_events([(0, 5, 100), (0, 3, 100), (0, 9, 50), (1, 1, 0)])
    ordered = order_interactions(events)
    user0 = ordered[ordered.user_id == 0]
    assert user0["item_id"].tolist() == [9, 5, 3]
    assert user0["order"].tolist() == [0, 1, 2]
    # the same input in the same order gives the same result
    pd.testing.assert_frame_equal(ordered, order_interactions(events))


def test_sample_passes_the_contract(sample, dp):
    events = validate_raw_events(sample["events"], dp)
    items = validate_raw_items(sample["item_features"], dp)
    users = validate_raw_users(sample["user_features"], dp)
    interactions, _, _ = build_primary(events, items, users, dp)
    assert len(interactions) == len(sample["events"])
    assert interactions.groupby("user_id")["order"].apply(lambda s: s.is_monotonic_increasing).all()


def test_order_indices_with_holes_keep_their_positions():
    # the competition's form: user 0 misses indices 2 and 5, user 1 index 0
    events = make_events([(0, 10, 0), (0, 11, 1), (0, 12, 3), (0, 13, 4), (0, 14, 6), (1, 10, 2), (1, 11, 1)])
    ordered = order_interactions(events)
    assert ordered["position"].tolist() == [0, 1, 3, 4, 6, 1, 2]
    assert ordered["order"].tolist() == [0, 1, 2, 3, 4, 0, 1]
    # unix seconds (and order indices read as unix) are ranked: no holes
    assert order_interactions(events, "unix")["position"].tolist() == [0, 1, 2, 3, 4, 0, 1]
    unix = events.assign(timestamp=events["timestamp"] * 1000 + 978_300_000)
    assert order_interactions(unix)["position"].tolist() == [0, 1, 2, 3, 4, 0, 1]


def test_repeated_order_indices_are_ranked_automatically_and_rejected_when_declared():
    events = make_events([(0, 10, 0), (0, 11, 0), (0, 12, 3)])
    assert order_interactions(events)["position"].tolist() == [0, 1, 2]
    with pytest.raises(RawDataError, match=r"events.csv: column 'timestamp' .* 2 row\(s\) share"):
        order_interactions(events, "order", EVENTS_FILE)
    with pytest.raises(ValueError, match=r"data_processing\.timestamps must be one of"):
        order_interactions(events, "seconds")
