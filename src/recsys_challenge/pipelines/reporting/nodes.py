"""Charts of the run's results (plotly for kedro-viz previews, matplotlib PNGs for documents)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: charts are files, never windows

import matplotlib.pyplot as plt
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

METRICS = ("ndcg_10", "recall_10", "map_10")


def _label(metric: str) -> str:
    return metric.replace("_", "@")  # ndcg_10 -> ndcg@10


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """Test-window metrics of every model, best NDCG@10 first."""
    columns = ["model", *METRICS, "candidate_recall", "gain_vs_best"]
    table = comparison[[c for c in columns if c in comparison]]
    return table.sort_values("ndcg_10", ascending=False).reset_index(drop=True)


def comparison_chart(table: pd.DataFrame) -> go.Figure:
    """Grouped bars of NDCG@10, Recall@10 and MAP@10 per model on the test window."""
    fig = go.Figure()
    for metric in METRICS:
        fig.add_bar(name=_label(metric), x=table["model"], y=table[metric])
    fig.update_layout(barmode="group", title="Test window: every model on the same users",
                      yaxis_title="value", template="plotly_white")  # fmt: skip
    return fig


def comparison_png(table: pd.DataFrame) -> plt.Figure:
    """The same comparison as a PNG (README, reports): pandas groups the metrics' bars per model."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bars = table.set_index("model")[list(METRICS)].rename(columns=_label)
    bars.plot.bar(ax=ax, rot=20, width=0.8, xlabel="")
    ax.set_ylabel("test window")
    ax.set_title("Model comparison (same users, seen items removed)")
    fig.tight_layout()
    return fig


def learning_curves_chart(**histories: pd.DataFrame) -> go.Figure:
    """Validation NDCG@10 and train loss per epoch of every sequential model."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("validation ndcg@10", "train loss"))
    for name, history in sorted(histories.items()):
        if "ndcg@10" in history:
            fig.add_scatter(x=history["epoch"], y=history["ndcg@10"], name=name, row=1, col=1)
        if "train_loss" in history:
            fig.add_scatter(x=history["epoch"], y=history["train_loss"], name=f"{name} loss", row=1, col=2)
    fig.update_layout(title="Sequential models per epoch", template="plotly_white")
    fig.update_xaxes(title_text="epoch")
    return fig


def feature_importance_chart(importance: pd.DataFrame, top: int = 25) -> plt.Figure:
    """The reranker's most important features (CatBoost importance)."""
    head = importance.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(head) + 1))
    ax.barh(head["feature"], head["importance"])
    ax.set_xlabel("CatBoost feature importance")
    ax.set_title("Reranker: top features")
    fig.tight_layout()
    return fig
