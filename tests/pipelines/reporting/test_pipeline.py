"""The reporting pipeline reads what the model pipelines saved, under the catalog's names, and saves every
chart to a file of the catalog."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from recsys_challenge.pipelines.reporting import create_pipeline
from tests.conftest import project_catalog

COMPARISON = pd.DataFrame(
    {"model": ["pop", "reranker", "sasrec"], "ndcg_10": [0.1, 0.3, 0.2], "recall_10": [0.2, 0.4, 0.3],
     "map_10": [0.05, 0.2, 0.1], "candidate_recall": [0.5, 0.8, 0.6], "gain_vs_best": [0.5, 1.5, 1.0]}
)  # fmt: skip


@pytest.fixture
def catalog(tmp_path, monkeypatch) -> DataCatalog:
    """The project's catalog, its relative paths under ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return project_catalog()


def test_the_charts_of_a_run_are_saved_where_the_catalog_says(catalog, tmp_path):
    pipe = create_pipeline(("sasrec", "bert4rec"))
    # what the model pipelines saved; nothing else is read
    saved = {
        "reranker.comparison": COMPARISON,
        "reranker.feature_importance": pd.DataFrame({"feature": ["a", "b"], "importance": [2.0, 1.0]}),
        "sasrec.train_history": pd.DataFrame(
            {"epoch": [0, 1], "ndcg@10": [0.1, 0.2], "train_loss": [3.0, 2.5]}
        ),
        "bert4rec.train_history": pd.DataFrame({"epoch": [0], "ndcg@10": [0.05], "train_loss": [4.0]}),
    }
    assert pipe.inputs() == set(saved)
    for name, data in saved.items():
        catalog.save(name, data)
    SequentialRunner().run(pipe, catalog)

    # every chart is a file dataset of the catalog, none a MemoryDataset lost after the run
    charts = [
        "comparison_table",
        "comparison_chart",
        "comparison_png",
        "learning_curves",
        "feature_importance",
    ]
    assert pipe.all_outputs() == {f"reporting.{chart}" for chart in charts}
    for name in pipe.all_outputs():
        assert not isinstance(catalog.get(name), MemoryDataset), name
    reporting = tmp_path / "data" / "08_reporting"
    table = pd.read_csv(reporting / "comparison_table.csv")
    assert table["model"].tolist() == ["reranker", "sasrec", "pop"]
    chart = json.loads((reporting / "comparison_chart.json").read_text())
    assert [trace["name"] for trace in chart["data"]] == ["ndcg@10", "recall@10", "map@10"]
    curves = json.loads((reporting / "learning_curves.json").read_text())
    names = sorted(trace["name"] for trace in curves["data"])
    assert names == ["bert4rec", "bert4rec loss", "sasrec", "sasrec loss"]
    for png in ("comparison_chart.png", "feature_importance.png"):
        assert (reporting / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
