"""The submission validator rejects every malformed submission."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_challenge.pipelines.submission.nodes import SubmissionError, build_submission, validate_submission
from tests.conftest import make_events

PARAMS = {"k": 3}


@pytest.fixture
def interactions() -> pd.DataFrame:
    rows = (
        [(0, i, i) for i in range(0, 3)]
        + [(1, i, i) for i in range(2, 6)]
        + [(2, 7, 1), (2, 8, 2), (2, 9, 3)]
    )
    return make_events(rows)


@pytest.fixture
def good(interactions) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [0, 1, 2], "item_id": ["3 4 5", "0 1 7", "0 1 2"]})


@pytest.mark.parametrize(
    "variant",
    [
        lambda s: s,
        lambda s: s.iloc[::-1].reset_index(drop=True),  # users in any order
        lambda s: s.assign(item_id=["3  4 5", " 0 1 7", "0 1 2 "]),  # any run of spaces between ids
    ],
    ids=["as built", "users in any order", "extra spaces"],
)
def test_valid_submissions_pass(good, interactions, variant):
    assert validate_submission(variant(good), interactions, PARAMS) is None


def test_a_one_item_submission_read_back_from_csv_passes(interactions, tmp_path):
    path = tmp_path / "submission.csv"
    pd.DataFrame({"user_id": [0, 1, 2], "item_id": ["3", "0", "0"]}).to_csv(path, index=False)
    back = pd.read_csv(path)
    assert back["item_id"].dtype == "int64"  # one id per row: pandas reads the column as integers
    assert validate_submission(back, interactions, {"k": 1}) is None
    with pytest.raises(SubmissionError, match="already-seen"):  # and still checks them
        validate_submission(back.assign(item_id=[2, 0, 0]), interactions, {"k": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: pd.concat([s, s.iloc[[0]]], ignore_index=True), "duplicate user"),
        (lambda s: s.assign(item_id=["3 4 5", "0 1 2", "0 1 2"]), "already-seen"),
        (lambda s: s.assign(item_id=["3 4", "0 1 7", "0 1 2"]), "without exactly 3 items"),
        (lambda s: s.iloc[:2], "missing"),
        (lambda s: s.assign(item_id=["3 3 5", "0 1 7", "0 1 2"]), "repeated item"),
        (lambda s: s.assign(item_id=["3 4 500", "0 1 7", "0 1 2"]), "never seen"),
        (lambda s: s.rename(columns={"item_id": "items"}), "header"),
        (lambda s: s.assign(item_id=["3,4,5", "0 1 7", "0 1 2"]), "space-separated integer"),
    ],
)
def test_malformed_submissions_are_rejected(good, interactions, change, message):
    with pytest.raises(SubmissionError, match=message):
        validate_submission(change(good), interactions, PARAMS)


def test_build_fills_short_candidate_lists_with_popular_unseen_items(interactions):
    candidates = pd.DataFrame({"user_id": [0, 0], "item_id": [9, 2], "score": [2.0, 1.0], "rank": [1, 2]})
    sub = build_submission(candidates, interactions, PARAMS)
    lists = dict(zip(sub.user_id, sub.item_id.str.split(), strict=True))
    assert lists[0][0] == "9"  # seen item 2 skipped, then popularity fills
    assert len(lists[0]) == 3 and "2" not in lists[0]
    assert set(sub.user_id) == {0, 1, 2}


def test_build_skips_catalog_items_that_no_event_mentions(interactions):
    # item 99 is in the catalog but every event of it was hidden: a model may still rank it first
    candidates = pd.DataFrame({"user_id": [0, 0], "item_id": [99, 9], "score": [2.0, 1.0], "rank": [1, 2]})
    submission = build_submission(candidates, interactions, PARAMS)
    assert submission.set_index("user_id").loc[0, "item_id"].split()[0] == "9"
