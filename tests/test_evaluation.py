"""Ranking metrics averaged over the truth's users, the candidate schema's checks, the metrics row, what
goes to MLflow under which name, and submissions read back as ranked candidates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_challenge.evaluation import (
    candidate_recall,
    check_candidates,
    evaluate,
    mlflow_metrics,
    mlflow_test_metrics,
    ranking_metrics,
    score_submission,
    submission_candidates,
)

# user 1 hits at rank 1, user 2 at rank 2, user 3 has no candidate, user 4 misses; user 5 has no truth
CANDIDATES = pd.DataFrame(
    {
        "user_id": [2, 1, 4, 2, 1, 5],
        "item_id": [20, 11, 40, 21, 10, 50],
        "score": [0.7, 0.1, 1.0, 0.8, 0.9, 1.0],
        "rank": [2, 2, 1, 1, 1, 1],
    }
)
TRUTH = pd.DataFrame({"user_id": [1, 2, 3, 4], "item_id": [10, 20, 30, 99]})
SECOND = 1 / math.log2(3)  # the gain of a hit at rank 2


def test_metrics_are_averaged_over_every_user_of_the_truth():
    got = ranking_metrics(CANDIDATES, TRUTH, [1, 2])
    assert got == pytest.approx(
        {
            "ndcg_1": 1 / 4,
            "recall_1": 1 / 4,
            "map_1": 1 / 4,
            "ndcg_2": (1 + SECOND) / 4,
            "recall_2": 2 / 4,
            "map_2": (1 + 1 / 2) / 4,
        }
    )


def test_a_user_with_several_events_is_scored_against_all_of_them():
    truth = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 12]})  # 12 is no candidate
    got = ranking_metrics(CANDIDATES[CANDIDATES["user_id"] == 1], truth, [2])
    assert got == pytest.approx({"ndcg_2": 1 / (1 + SECOND), "recall_2": 1 / 2, "map_2": 1 / 2})


def test_candidate_recall_is_the_share_of_true_pairs_among_the_candidates():
    doubled = pd.concat([CANDIDATES, CANDIDATES])  # the same pair twice is still one hit
    assert candidate_recall(doubled, TRUTH) == pytest.approx(2 / 4)
    assert candidate_recall(CANDIDATES, TRUTH.iloc[:0]) == 0.0


def test_check_candidates_names_what_breaks_the_schema():
    check_candidates(CANDIDATES, TRUTH.iloc[[2]], k=2, source="ok")  # user 3's item 30 is no candidate
    with pytest.raises(ValueError, match=r"^gen candidates: candidates lack column\(s\) \['rank'\]$"):
        check_candidates(CANDIDATES.drop(columns="rank"), None, k=2, source="gen candidates")
    with pytest.raises(ValueError, match=r"^gen: more than 1 candidates for users \[1, 2\]$"):
        check_candidates(CANDIDATES, None, k=1, source="gen")
    seen = pd.DataFrame({"user_id": [2, 1], "item_id": [21, 99]})
    with pytest.raises(ValueError, match=r"^gen: 1 candidate\(s\) already seen, e\.g\.\n[\s\S]* 2 +21 "):
        check_candidates(CANDIDATES, seen, k=2, source="gen")
    check_candidates(CANDIDATES, None, k=2, source="gen")  # no history: the caller checked seen items


def test_evaluate_gives_one_row_named_after_the_model():
    truth = pd.concat([TRUTH, pd.DataFrame({"user_id": [1], "item_id": [11]})])  # 5 events of 4 users
    table = evaluate(CANDIDATES, truth, {"name": "pop", "ks_test": [1, 2]})
    assert list(table.columns) == [
        "model",
        "users",
        "ndcg_1",
        "recall_1",
        "map_1",
        "ndcg_2",
        "recall_2",
        "map_2",
    ]
    row = table.iloc[0]
    assert (row["model"], row["users"], len(table)) == ("pop", 4, 1)
    assert row["ndcg_2"] == pytest.approx((1 + SECOND) / 4)


def test_mlflow_test_metrics_keep_metrics_and_timings_and_drop_the_rest():
    row = pd.Series({"model": "als", "users": 4, "ndcg_10": 0.5, "map_10": np.nan, "fit_seconds": 2.0})
    assert mlflow_test_metrics(row) == {
        "test.ndcg_10": [{"step": 0, "value": 0.5}],
        "fit_seconds": [{"step": 0, "value": 2.0}],
    }


def test_mlflow_metrics_are_train_and_validation_curves_by_epoch_plus_the_test_row():
    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "train_loss": [3.0, 2.0, 1.5],
            "ndcg@10": [0.1, np.nan, 0.3],  # a validation metric (RePlay's name) skipped in one epoch
            "fit_seconds": [12.0, 12.0, 12.0],
            "best_epoch": [2, 2, 2],
        }
    )
    test = pd.DataFrame([{"model": "sasrec", "users": 9, "ndcg_10": 0.25}])
    assert mlflow_metrics(test, history) == {
        "train.train_loss": [{"step": 0, "value": 3.0}, {"step": 1, "value": 2.0}, {"step": 2, "value": 1.5}],
        "val.ndcg_10": [{"step": 0, "value": 0.1}, {"step": 2, "value": 0.3}],
        "fit_seconds": [{"step": 0, "value": 12.0}],
        "best_epoch": [{"step": 0, "value": 2.0}],
        "test.ndcg_10": [{"step": 0, "value": 0.25}],
    }
    assert mlflow_metrics(test) == {"test.ndcg_10": [{"step": 0, "value": 0.25}]}  # an untrained model


def test_a_submission_reads_back_as_its_ranked_lists():
    submission = pd.DataFrame({"user_id": [1, 2, 3], "item_id": ["10 11 12", "21", np.nan]})
    got = submission_candidates(submission)
    assert got[["user_id", "item_id", "rank"]].values.tolist() == [
        [1, 10, 1],
        [1, 11, 2],
        [1, 12, 3],
        [2, 21, 1],
    ]
    assert got["score"].tolist() == pytest.approx([1, 1 / 2, 1 / 3, 1])
    assert got["item_id"].dtype == "int64"


def test_a_submission_is_scored_in_its_list_order():
    hidden = pd.DataFrame({"user_id": [1, 2], "item_id": [11, 20]})
    submission = pd.DataFrame({"user_id": [1, 2], "item_id": ["10 11", "21 22"]})
    assert score_submission(submission, hidden, [2]) == pytest.approx(
        {"ndcg_2": SECOND / 2, "recall_2": 1 / 2, "map_2": 1 / 4}
    )
