"""Contracts of the raw files: bad input gives one RawDataError naming the file, the column, the failed
check, how many rows fail and the first offending rows themselves; good input comes back typed."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from recsys_challenge.schemas import (
    MAX_EXAMPLES,
    RawDataError,
    validate_events,
    validate_item_features,
    validate_user_features,
)

EVENTS = "data/01_raw/events.csv"


def events(**columns) -> pd.DataFrame:
    """Four good events (ratings 1..5), with ``columns`` replaced."""
    base = {"user_id": [1, 2, 3, 4], "item_id": [10, 11, 12, 13], "rating": [4, 5, 1, 3],
            "timestamp": [100, 101, 102, 103]}  # fmt: skip
    return pd.DataFrame({**base, **columns})


def error(validate, frame: pd.DataFrame, *args) -> str:
    with pytest.raises(RawDataError) as info:
        validate(frame, *args)
    return str(info.value)


def shown_rows(block: str) -> list[list[str]]:
    """The example rows printed under a message line: index first, then the values as printed."""
    return [line.split() for line in block.splitlines() if re.match(r"^\s*\d+\s", line)]


def column_blocks(message: str) -> dict[str, str]:
    """``{column: its line and its example rows}`` of a message listing several broken columns."""
    parts = re.split(r"\n  (?=column ')", message)
    return {re.match(r"column '([^']+)'", p).group(1): p for p in parts[1:]}


def test_a_value_out_of_range_shows_the_file_column_check_count_and_the_offending_rows():
    message = error(validate_events, events(rating=[4, 9, 0, 3]), EVENTS, 1, 5)
    assert message.startswith(f"{EVENTS} breaks its contract:")
    assert "column 'rating': check 'in_range(1, 5)' fails for 2 row(s)" in message
    assert shown_rows(message) == [["1", "2", "11", "9", "101"], ["2", "3", "12", "0", "102"]]
    assert "user_id  item_id  rating  timestamp" in message  # the rows come with their header


def test_every_failure_is_counted_but_only_the_first_rows_are_shown():
    ratings = [9, 9, 9, 9, 9, 9, 9, 3]
    frame = events(user_id=range(8), item_id=range(8), rating=ratings, timestamp=range(8))
    message = error(validate_events, frame, EVENTS, 1, 5)
    assert "fails for 7 row(s)" in message
    assert [row[0] for row in shown_rows(message)] == [str(i) for i in range(MAX_EXAMPLES)]


def test_each_broken_column_gets_its_own_count_and_rows():
    users = pd.DataFrame({"user_id": [1, 2, 2], "gender": ["M", "F", "X"], "age": [18, 25, 30]})
    message = error(validate_user_features, users, "user_features.csv")
    assert message.startswith("user_features.csv breaks its contract:")
    blocks = column_blocks(message)
    assert set(blocks) == {"user_id", "gender"}
    assert "fails for 2 row(s)" in blocks["user_id"]  # both rows of the repeated user
    assert [row[0] for row in shown_rows(blocks["user_id"])] == ["1", "2"]
    assert "check 'isin(['M', 'F'])' fails for 1 row(s)" in blocks["gender"]
    assert shown_rows(blocks["gender"]) == [["2", "2", "X", "30"]]


@pytest.mark.parametrize(
    ("column", "values", "says", "row"),
    [
        ("item_id", ["10", "movie-2", "12", "13"], "must be numeric; 1 row(s) are not", "movie-2"),
        ("timestamp", [100, 101.5, 102, 103], "must hold integers; 1 row(s) do not", "101.5"),
        ("item_id", [10, None, 12, 13], "has 1 null value(s)", "NaN"),
    ],
)
def test_values_of_the_wrong_kind_are_named_with_their_row(column, values, says, row):
    message = error(validate_events, events(**{column: values}), EVENTS, 1, 5)
    assert message.startswith(f"{EVENTS}: column '{column}' {says}")
    (shown,) = shown_rows(message)
    assert shown[0] == "1" and row in shown  # the second event, as it is in the file


def test_missing_columns_are_listed_with_the_columns_found():
    message = error(validate_events, events().drop(columns=["rating", "timestamp"]), EVENTS, 1, 5)
    assert message == (
        f"{EVENTS}: missing column(s) ['rating', 'timestamp']; found columns ['user_id', 'item_id']. "
        "Required: ['user_id', 'item_id', 'rating', 'timestamp']."
    )


def test_a_header_without_rows_is_named():
    message = error(validate_events, events().iloc[:0], EVENTS, 1, 5)
    assert message == f"{EVENTS}: the file has a header but no rows (column 'user_id' is empty)."


def test_repeated_events_show_every_copy_or_are_dropped_keeping_the_first():
    frame = pd.concat([events(), events().iloc[[1]].assign(rating=2)], ignore_index=True)
    message = error(validate_events, frame, EVENTS, 1, 5)
    assert message.startswith(
        f"{EVENTS}: columns ['user_id', 'item_id', 'timestamp'] have 1 duplicate event(s)"
    )
    assert [row[0] for row in shown_rows(message)] == ["1", "4"]
    kept = validate_events(frame, EVENTS, 1, 5, duplicates="drop")
    assert len(kept) == 4 and kept.loc[kept["user_id"] == 2, "rating"].tolist() == [5.0]


def test_good_events_come_back_with_integer_ids_and_timestamps():
    frame = events(user_id=[1.0, 2.0, 3.0, 4.0], timestamp=["100", "101", "102", "103"])
    out = validate_events(frame, EVENTS, 1, 5)
    assert out.dtypes.astype(str).to_dict() == {
        "user_id": "int64",
        "item_id": "int64",
        "rating": "float64",
        "timestamp": "int64",
    }
    assert out["timestamp"].tolist() == [100, 101, 102, 103]


def test_item_features_check_every_genre_column_and_need_one():
    items = pd.DataFrame({"item_id": [1, 2], "genre_0": [0, 1], "genre_1": [1, 3], "title": ["a", "b"]})
    message = error(validate_item_features, items, "item_features.csv")
    assert set(column_blocks(message)) == {"genre_1"}  # the title is no genre flag
    assert shown_rows(message) == [["1", "2", "1", "3", "b"]]
    message = error(validate_item_features, items[["item_id", "title"]], "item_features.csv")
    assert message == "item_features.csv: no 'genre_<n>' column; found columns ['item_id', 'title']."
    assert validate_item_features(items.assign(genre_1=[1, 0]), "item_features.csv")["genre_1"].tolist() == [
        1,
        0,
    ]
