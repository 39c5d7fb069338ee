"""The charts show the numbers they are given: every model's test metrics, best first; each sequential
model's curves in their panel; the reranker's most important features on top."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from recsys_challenge.pipelines.reporting.nodes import (
    comparison_chart,
    comparison_png,
    comparison_table,
    feature_importance_chart,
    learning_curves_chart,
)

# reranker.comparison as compare_models writes it: one row per model, in no particular order
COMPARISON = pd.DataFrame(
    {
        "model": ["pop", "reranker", "sasrec"],
        "users": [50, 50, 50],
        "ndcg_20": [0.2, 0.4, 0.3],
        "ndcg_10": [0.1, 0.3, 0.2],
        "recall_10": [0.15, 0.45, 0.35],
        "map_10": [0.05, 0.25, 0.125],
        "candidate_recall": [0.5, 0.8, 0.6],
        "gain_vs_best": [0.5, 1.5, 1.0],
    }
)
LABELS = ["ndcg@10", "recall@10", "map@10"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_table_keeps_the_reported_metrics_best_ndcg_first():
    table = comparison_table(COMPARISON)
    assert list(table.columns) == [
        "model",
        "ndcg_10",
        "recall_10",
        "map_10",
        "candidate_recall",
        "gain_vs_best",
    ]
    assert table["model"].tolist() == ["reranker", "sasrec", "pop"]
    assert table.index.tolist() == [0, 1, 2]
    assert table.loc[0, "recall_10"] == 0.45  # rows move whole
    # a comparison without the reranker's extra columns is reported with what it has
    plain = comparison_table(COMPARISON.drop(columns=["candidate_recall", "gain_vs_best"]))
    assert list(plain.columns) == ["model", "ndcg_10", "recall_10", "map_10"]


def test_the_comparison_chart_has_a_bar_series_per_metric_over_the_models():
    table = comparison_table(COMPARISON)
    fig = comparison_chart(table)
    assert [trace.type for trace in fig.data] == ["bar"] * 3
    assert [trace.name for trace in fig.data] == LABELS
    for trace, metric in zip(fig.data, ["ndcg_10", "recall_10", "map_10"], strict=True):
        assert list(trace.x) == ["reranker", "sasrec", "pop"]
        assert list(trace.y) == table[metric].tolist()
    assert fig.layout.barmode == "group"


def test_the_comparison_png_draws_the_same_bars():
    table = comparison_table(COMPARISON)
    ax = comparison_png(table).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == LABELS
    assert [t.get_text() for t in ax.get_xticklabels()] == ["reranker", "sasrec", "pop"]
    for bars, metric in zip(ax.containers, ["ndcg_10", "recall_10", "map_10"], strict=True):
        assert [bar.get_height() for bar in bars] == pytest.approx(table[metric].tolist())


def test_learning_curves_put_validation_ndcg_left_and_train_loss_right_per_model():
    sasrec = pd.DataFrame({"epoch": [0, 1, 2], "ndcg@10": [0.1, 0.2, 0.25], "train_loss": [5.0, 4.0, 3.5],
                           "recall@10": [0.2, 0.3, 0.4]})  # fmt: skip
    bert = pd.DataFrame({"epoch": [0, 1], "train_loss": [6.0, 5.5]})  # trained without validation
    fig = learning_curves_chart(sasrec=sasrec, bert4rec=bert)
    traces = [(t.name, t.xaxis, list(t.x), list(t.y)) for t in fig.data]
    assert traces == [
        ("bert4rec loss", "x2", [0, 1], [6.0, 5.5]),
        ("sasrec", "x", [0, 1, 2], [0.1, 0.2, 0.25]),
        ("sasrec loss", "x2", [0, 1, 2], [5.0, 4.0, 3.5]),
    ]
    assert len(learning_curves_chart(sasrec=pd.DataFrame()).data) == 0  # an empty history draws nothing


def test_feature_importance_shows_the_top_features_most_important_on_top():
    importance = pd.DataFrame(
        {"feature": [f"f{i}" for i in range(30)], "importance": [30.0 - i for i in range(30)]}
    )
    ax = feature_importance_chart(importance, top=25).axes[0]
    bars = sorted(ax.patches, key=lambda bar: bar.get_y())  # bottom to top
    assert len(bars) == 25
    assert [bar.get_width() for bar in bars] == [30.0 - i for i in reversed(range(25))]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "f0" and labels[0] == "f24"  # the top bar is the most important feature
