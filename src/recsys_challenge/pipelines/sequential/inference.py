"""Top-K inference shared by every backend: one network's unseen top items, ensembles by mean probability."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import lightning
import numpy as np
import pandas as pd

from recsys_challenge.core import ITEM, QUERY, ranked

from .backends import Feed, backend_for
from .model import SequentialModel
from .placement import placed
from .sequences import user_sequences
from .settings import SequentialSettings
from .training import trainer


def recommend(model: SequentialModel, history: pd.DataFrame, settings: SequentialSettings) -> pd.DataFrame:
    """Top ``candidates_k`` unseen items for every user of ``history``: user_id, item_id, score, rank
    (1 = best).

    A single network scores with its logits; an ensemble with the mean of its members' probabilities.
    The run's ``settings`` may place inference elsewhere than training (``accelerator``, ``devices``).
    """
    k = min(settings.candidates_k, len(model.vocab) - 1)
    model = forward_part(model)
    seqs = user_sequences(history, model.vocab)
    if len(model.members) == 1:
        return ranked(top_items(model, model.members[0].module, seqs, k, settings))
    depth = min(max(2 * k, 100), len(model.vocab) - 1)
    tops = [top_items(model, m.module, seqs, depth, settings) for m in model.members]
    return ranked(mean_probabilities(tops), k)


def forward_part(model: SequentialModel) -> SequentialModel:
    """The model's forward members: a backward one (``directions``) predicts what came before a sequence."""
    forward = model.parts().get(False)
    if forward is None:
        raise ValueError(
            f"{model.settings.name}: direction backward scores the holes of a sequence "
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
    model: SequentialModel,
    module: lightning.LightningModule,
    seqs: pd.Series,
    k: int,
    settings: SequentialSettings,
) -> pd.DataFrame:
    """One network's top-``k`` unseen items per user of ``seqs`` (raw item ids, float32 scores)."""
    config = placed(model.settings, settings).but(progress_bar=False)
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
