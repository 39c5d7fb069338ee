"""The competition protocol end to end: the sample in the competition's form (order indices with 10.6%
of the events hidden) through `kedro run --env test --pipeline competition`, and the submission scored on
the hidden events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recsys_challenge.evaluation import score_submission
from recsys_challenge.pipelines.submission.nodes import validate_submission
from recsys_challenge.synthetic import hide_events
from tests.conftest import copy_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gaps_run(project_root, tmp_path_factory):
    project = copy_project(project_root, tmp_path_factory.mktemp("gaps_project"))
    raw = project / "data" / "01_raw"
    visible, hidden = hide_events(pd.read_csv(raw / "events.csv"), 0.106, seed=5)
    visible.to_csv(raw / "events.csv", index=False)
    # its own process: kedro-mlflow sets MLflow up once per process, and test_run's session came first
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "run", "--env", "test", "--pipeline", "competition"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project, hidden


def test_raw_holes_become_the_final_windows_targets(gaps_run):
    project, hidden = gaps_run
    targets = pd.read_parquet(project / "data" / "05_model_input" / "targets" / "final.parquet")
    interactions = pd.read_parquet(project / "data" / "03_primary" / "interactions.parquet")
    last = interactions.groupby("user_id")["timestamp"].max()
    inside = hidden[hidden["timestamp"] < last.reindex(hidden["user_id"]).to_numpy()]
    holes = targets[~targets["tail"]]
    assert set(zip(holes.user_id, holes.position, strict=True)) == set(
        zip(inside.user_id, inside.timestamp, strict=True)
    )
    # the folds were cut by the gaps protocol: test events sit inside the histories
    test_gt = pd.read_parquet(project / "data" / "05_model_input" / "folds" / "test_gt.parquet")
    assert (test_gt["position"] < last.reindex(test_gt["user_id"]).to_numpy()).mean() > 0.8


def popularity(interactions: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The baseline: each user's ``k`` most frequent unseen items, in the submission's form."""
    ranked = interactions["item_id"].value_counts(sort=True).index.tolist()
    seen = interactions.groupby("user_id")["item_id"].agg(set)
    return pd.DataFrame(
        {
            "user_id": seen.index,
            "item_id": [" ".join(map(str, [i for i in ranked if i not in s][:k])) for s in seen],
        }
    )


def test_submission_fills_the_holes_better_than_popularity(gaps_run):
    project, hidden = gaps_run
    out = project / "data" / "07_model_output"
    interactions = pd.read_parquet(project / "data" / "03_primary" / "interactions.parquet")
    submission = pd.read_csv(out / "submission.csv")
    validate_submission(submission, interactions, {"k": 10})
    scores = {
        model: score_submission(pd.read_csv(out / model / "submission.csv"), hidden, [10])["ndcg_10"]
        for model in ("reranker", "covisit", "sasrec")
    }
    scores["popularity"] = score_submission(popularity(interactions), hidden, [10])["ndcg_10"]
    # hole-aware generators and the reranker built on them beat popularity on the hidden events
    assert min(scores["reranker"], scores["covisit"]) > 1.5 * scores["popularity"], scores
    importance = pd.read_csv(project / "data" / "08_reporting" / "reranker" / "feature_importance.csv")
    assert {"covisit_score", "sasrec_score", "u_holes"} <= set(importance["feature"])
    # the competition run left its weak generators out
    assert not (out / "bert4rec_cloze").exists() and not (out / "pop").exists()
