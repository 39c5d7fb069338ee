"""Top-K inference shared by every backend: one network's unseen top items, ensembles by mean probability."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, QUERY, ranked

from . import directions
from .backends import Feed, backend_for
from .placement import placed
from .sequences import user_sequences
from .training import SequentialModel, trainer


def recommend(model: SequentialModel, history: pd.DataFrame, k: int, cfg: dict[str, Any]) -> pd.DataFrame:
    """Top-``k`` unseen items for every user of ``history``: user_id, item_id, score, rank (1 = best).

    A single network scores with its logits; an ensemble with the mean of its members' probabilities.
    ``cfg`` may place inference elsewhere than training (``accelerator``, ``devices``).
    """
    k = min(k, len(model.vocab) - 1)
    model = forward_part(model)
    seqs = user_sequences(history, model.vocab)
    if len(model.members) == 1:
        return ranked(top_items(model, model.members[0].module, seqs, k, cfg))
    depth = min(max(2 * k, 100), len(model.vocab) - 1)
    tops = [top_items(model, m.module, seqs, depth, cfg) for m in model.members]
    return ranked(mean_probabilities(tops), k)


def forward_part(model: SequentialModel) -> SequentialModel:
    """The model's forward members: a backward one (``directions``) predicts what came before a sequence."""
    forward = directions.parts(model).get(False)
    if forward is None:
        raise ValueError(
            f"{model.config.get('name', 'sequential')}: direction backward scores the holes of a sequence "
            "only; this window has none (next-item data): use direction forward or both"
        )
    return forward


def mean_probabilities(tops: list[pd.DataFrame]) -> pd.DataFrame:
    """Average of several models' top lists: each becomes a per-user softmax of its scores (a CE model's
    logits are log-probabilities up to a per-user constant), items outside a list count 0."""
    probs = []
    for top in tops:
        weight = np.exp(top["score"].astype("float64") - top.groupby(QUERY)["score"].transform("max"))
        probs.append(top[[QUERY, ITEM]].assign(score=weight / weight.groupby(top[QUERY]).transform("sum")))
    mean = pd.concat(probs).groupby([QUERY, ITEM], as_index=False)["score"].sum()
    mean["score"] = (mean["score"] / len(tops)).astype("float32")
    return mean


def top_items(
    model: SequentialModel, module: lightning.LightningModule, seqs: pd.Series, k: int, cfg: dict[str, Any]
) -> pd.DataFrame:
    """One network's top-``k`` unseen items per user of ``seqs`` (raw item ids, float32 scores)."""
    config = {**placed(model.config, cfg), "progress_bar": False}
    backend = backend_for(config, len(model.vocab))
    callback = backend.top_items_callback(k, seqs)
    with tempfile.TemporaryDirectory() as tmp:
        data = backend.data(Path(tmp), Feed(predict=(seqs, seqs)))
        # predicting moves the network to the accelerator; the model keeps its CPU copy
        trainer(config, [callback], 1).predict(copy.deepcopy(module), return_predictions=False, **data)
    top = callback.get_result()
    top = top[np.isfinite(top["score"].astype(float))]
    top[ITEM] = model.vocab[top[ITEM].astype(int).to_numpy()]
    return top.assign(score=top["score"].astype("float32"))
