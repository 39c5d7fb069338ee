"""The whole project on the shipped sample through KedroSession (`kedro run --env test`), and what a
user then looks at: the submission, the MLflow store, the reports and the notebooks."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import mlflow
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from PIL import Image

from recsys_challenge.core import KEY, ranked
from recsys_challenge.evaluation import candidate_recall, ranking_metrics
from recsys_challenge.pipelines.classic import MODELS as CLASSIC
from recsys_challenge.pipelines.covisitation import MODELS as COVISITATION
from recsys_challenge.pipelines.sequential import MODELS as SEQUENTIAL
from recsys_challenge.pipelines.submission.nodes import validate_submission

pytestmark = pytest.mark.slow
GENERATORS = SEQUENTIAL + CLASSIC + COVISITATION
# NDCG@10 of the reranker over that of its own candidates in random order (mean of 5 shuffles).
# Measured on the sample: 0.087 vs 0.026-0.030 by chance (~3x; the best generator, itemknn, 0.073).
# A reranker that ranks at random scores ~1x, one that ranks backwards ~0.1x.
MIN_GAIN_OVER_CHANCE = 2.0


def test_default_run_writes_a_valid_reranker_submission(project_run):
    out = project_run / "data" / "07_model_output"
    submission = pd.read_csv(out / "submission.csv")
    interactions = pd.read_parquet(project_run / "data" / "03_primary" / "interactions.parquet")
    validate_submission(submission, interactions, {"k": 10})
    pd.testing.assert_frame_equal(submission, pd.read_csv(out / "reranker" / "submission.csv"))
    for model in GENERATORS:
        assert (out / model / "submission.csv").exists(), model


def read_outputs(project: Path) -> dict[str, pd.DataFrame]:
    """The test window's truth, every generator's candidates, the reranker's union and output."""
    data = project / "data"
    out = {
        "truth": pd.read_parquet(data / "05_model_input" / "folds" / "test_gt.parquet"),
        "union": pd.read_parquet(data / "05_model_input" / "reranker" / "union_test.parquet"),
        "reranked": pd.read_parquet(data / "07_model_output" / "reranker" / "candidates_test.parquet"),
        "comparison": pd.read_csv(data / "08_reporting" / "model_comparison.csv").set_index("model"),
    }
    for model in GENERATORS:
        out[model] = pd.read_parquet(data / "07_model_output" / model / "candidates_test.parquet")
    return out


def chance_ndcg(union: pd.DataFrame, truth: pd.DataFrame, shuffles: int = 5) -> float:
    """Mean NDCG@10 of the union's candidates in random order (a reranker that learned nothing)."""
    rng = np.random.default_rng(0)
    values = [
        ranking_metrics(ranked(union[KEY].assign(score=rng.random(len(union))), 10), truth, [10])["ndcg_10"]
        for _ in range(shuffles)
    ]
    return float(np.mean(values))


def test_reranker_ranks_its_candidates_far_better_than_chance(project_run):
    """A reranker that orders its union at random (or backwards) would not pass: the ratio is ~1 (< 1)."""
    out = read_outputs(project_run)
    ndcg = out["comparison"].loc["reranker", "ndcg_10"]
    assert ndcg == pytest.approx(ranking_metrics(out["reranked"], out["truth"], [10])["ndcg_10"])
    chance = chance_ndcg(out["union"], out["truth"])
    assert ndcg >= MIN_GAIN_OVER_CHANCE * chance, (ndcg, chance)


def test_union_holds_every_generators_top_k_and_nothing_else(project_run, params):
    """The union and its candidate recall, rebuilt from the generators' own candidate files."""
    out = read_outputs(project_run)
    k = params["reranker"]["per_generator_k"]
    tops = {m: out[m][out[m]["rank"] <= k][KEY] for m in GENERATORS}
    expected = pd.concat(tops.values()).drop_duplicates()
    union_pairs = out["union"][KEY]
    assert not union_pairs.duplicated().any()
    assert len(union_pairs) == len(expected) == len(union_pairs.merge(expected, on=KEY))
    table = out["comparison"]
    assert table.loc["reranker", "candidate_recall"] == pytest.approx(
        candidate_recall(expected, out["truth"])
    )
    for model, top in tops.items():
        assert table.loc[model, "candidate_recall"] == pytest.approx(candidate_recall(top, out["truth"]))


def test_mlflow_run_has_tags_params_and_histories(project_run):
    mlflow.set_tracking_uri(f"sqlite:///{project_run / 'mlflow.db'}")
    try:
        (run,) = mlflow.search_runs(experiment_names=["recsys_challenge"], output_format="list")
        assert run.info.run_name == "__default__"
        assert run.data.tags["kedro.pipeline"] == "__default__"
        assert run.data.tags["kedro.env"] == "test"
        assert set(run.data.tags["models"].split(",")) >= {"sasrec", "bert4rec", "pop", "als", "reranker"}
        assert run.data.params["sasrec.hidden_size"] == "16"
        assert run.data.params["itemknn.params.num_neighbours"] == "20"
        client = mlflow.tracking.MlflowClient()
        for model in ("sasrec", "bert4rec", "sasrec_long"):
            curve = client.get_metric_history(run.info.run_id, f"{model}.val.ndcg_10")
            assert [m.step for m in curve] == [0, 1], model
        # what MLflow shows is what the run wrote to the reports
        reporting = project_run / "data" / "08_reporting"
        comparison = pd.read_csv(reporting / "model_comparison.csv").set_index("model")
        for model in (*GENERATORS, "reranker"):
            logged = run.data.metrics[f"{model}.test.ndcg_10"]
            assert logged == pytest.approx(comparison.loc[model, "ndcg_10"]), model
        for model in GENERATORS:
            written = pd.read_csv(reporting / model / "test_metrics.csv").iloc[0]
            for metric in ("ndcg_10", "recall_20", "map_100"):
                assert run.data.metrics[f"{model}.test.{metric}"] == pytest.approx(written[metric]), model
        assert run.data.metrics["pop.fit_seconds"] == pytest.approx(
            pd.read_csv(reporting / "pop" / "test_metrics.csv")["fit_seconds"].iloc[0]
        )
        history = pd.read_csv(reporting / "sasrec" / "train_history.csv")
        curve = client.get_metric_history(run.info.run_id, "sasrec.val.ndcg_10")
        assert [m.value for m in curve] == pytest.approx(history["ndcg@10"].tolist())
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "reranker")}
        assert "reranker/catboost.pkl" in artifacts
    finally:
        mlflow.set_tracking_uri("")


def test_reports_show_the_runs_results(project_run):
    reporting = project_run / "data" / "08_reporting"
    table = pd.read_csv(reporting / "model_comparison.csv").sort_values("ndcg_10", ascending=False)
    # one bar trace per metric, the models as x, best NDCG@10 first
    chart = json.loads((reporting / "comparison_chart.json").read_text())
    assert [t["name"] for t in chart["data"]] == ["ndcg@10", "recall@10", "map@10"]
    for trace, metric in zip(chart["data"], ("ndcg_10", "recall_10", "map_10"), strict=True):
        assert trace["type"] == "bar" and list(trace["x"]) == table["model"].tolist()
        assert list(trace["y"]) == pytest.approx(table[metric].tolist())
    # every sequential model's validation curve over its epochs
    curves = json.loads((reporting / "learning_curves.json").read_text())
    validation = {t["name"]: t for t in curves["data"] if not t["name"].endswith(" loss")}
    assert set(validation) == set(SEQUENTIAL)
    for model in SEQUENTIAL:
        history = pd.read_csv(reporting / model / "train_history.csv")
        assert list(validation[model]["x"]) == history["epoch"].tolist(), model
    # real PNGs of the size the nodes draw (inches x dpi 110)
    importance = pd.read_csv(reporting / "reranker" / "feature_importance.csv")
    bars = min(len(importance), 25)
    for name, size in (
        ("comparison_chart.png", (990, 495)),
        ("feature_importance.png", (770, (0.3 * bars + 1) * 110)),
    ):
        with Image.open(reporting / name) as image:
            assert image.format == "PNG", name
            assert image.size == pytest.approx(size, abs=1), name
    # the importance table ranks exactly the features the model uses
    with (project_run / "data" / "06_models" / "reranker" / "catboost.pkl").open("rb") as f:
        model = pickle.load(f)  # written by this run
    assert sorted(importance["feature"]) == sorted(model.feature_names_)
    assert importance["importance"].is_monotonic_decreasing
    assert {"sasrec_score", "pop_rank", "genre_match", "i_log_num_interact"} <= set(importance["feature"])
    # each fact once: counts and recency come from RePlay's log statistics only
    assert not {"i_events", "i_popularity_rank", "u_events", "i_days_since_last"} & set(importance["feature"])


@pytest.mark.parametrize("notebook", ["01_data_exploration.ipynb", "02_model_comparison.ipynb"])
def test_notebooks_execute_on_the_run(project_run, notebook):
    path = project_run / "notebooks" / notebook
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
