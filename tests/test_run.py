"""The whole project on the shipped sample, through KedroSession, as `kedro run --env test` would."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from recsys_challenge.pipelines.submission.nodes import validate_submission

pytestmark = pytest.mark.slow


def copy_project(root: Path, target: Path) -> Path:
    """A throwaway copy (conf, src, raw sample) so the run writes nothing into the checkout."""
    for name in ("conf", "src"):
        shutil.copytree(
            root / name, target / name, ignore=shutil.ignore_patterns("local", "__pycache__", "*.egg-info")
        )
    (target / "conf" / "local").mkdir()
    shutil.copytree(root / "data" / "01_raw", target / "data" / "01_raw")
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(root / name, target / name)
    return target


@pytest.fixture(scope="module")
def project_run(project_root, tmp_path_factory):
    project = copy_project(project_root, tmp_path_factory.mktemp("project"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env="test") as session:
            session.run(pipeline_names=["sasrec"])
        mlflow.set_tracking_uri("")
    return project


def test_sasrec_run_writes_a_valid_submission(project_run):
    submission = pd.read_csv(project_run / "data" / "07_model_output" / "sasrec" / "submission.csv")
    interactions = pd.read_parquet(project_run / "data" / "03_primary" / "interactions.parquet")
    validate_submission(submission, interactions, {"k": 10})
    assert list(submission.columns) == ["user_id", "item_id"]
    assert submission["user_id"].nunique() == interactions["user_id"].nunique()


def test_sasrec_run_is_tracked_in_mlflow(project_run):
    mlflow.set_tracking_uri(f"sqlite:///{project_run / 'mlflow.db'}")
    try:
        runs = mlflow.search_runs(experiment_names=["recsys_challenge"], output_format="list")
        assert len(runs) == 1
        run = runs[0]
        client = mlflow.tracking.MlflowClient()
        curve = client.get_metric_history(run.info.run_id, "sasrec.val.ndcg_10")
        assert [m.step for m in curve] == [0, 1]
        assert 0.0 < run.data.metrics["sasrec.test.ndcg_10"] < 1.0
        assert run.data.params["sasrec.hidden_size"] == "16"
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "sasrec")}
        assert "sasrec/model_gen.pkl" in artifacts
    finally:
        mlflow.set_tracking_uri("")


def test_sasrec_run_metrics_table(project_run):
    metrics = pd.read_csv(project_run / "data" / "08_reporting" / "sasrec" / "test_metrics.csv")
    assert metrics.loc[0, "model"] == "sasrec"
    assert 0.0 < metrics.loc[0, "ndcg_10"] <= metrics.loc[0, "ndcg_100"] <= 1.0
    assert metrics.loc[0, "recall_10"] <= metrics.loc[0, "recall_100"]
