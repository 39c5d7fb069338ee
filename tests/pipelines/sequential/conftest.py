"""Helpers and fixtures of the sequential tests: validated settings, tiny frames and networks, the
sample's folds in the competition's form (holes), and the pipeline runners of ``tests.conftest``.

Test modules import the helpers from here (``from .conftest import ...``), never from each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_challenge.core import GAPS, PROTOCOL
from recsys_challenge.pipelines.data_processing.nodes import order_interactions
from recsys_challenge.pipelines.sequential import cloze
from recsys_challenge.pipelines.sequential.model import Member, SequentialModel
from recsys_challenge.pipelines.sequential.nodes import fit_generator
from recsys_challenge.pipelines.sequential.settings import SequentialSettings
from recsys_challenge.synthetic import hide_events
from tests.conftest import copy_project, pandas_inputs, run_pipeline
from tests.pipelines.splitting.test_nodes import run_splitting

__all__ = ["copy_project", "pandas_inputs", "run_pipeline"]  # re-exported for the test modules

# ---- settings


def settings(params: dict, block: str, /, **changes: object) -> SequentialSettings:
    """The ``params:<block>`` block (base + test env) with ``changes``, validated as Kedro does."""
    return SequentialSettings.model_validate({**params[block], **changes})


def tiny(params: dict, block: str = "sasrec", /, **changes: object) -> SequentialSettings:
    """A network small enough to check by hand: windows of 6, 8 hidden units, no dropout."""
    small = {"max_seq_len": 6, "hidden_size": 8, "dropout": 0.0, "batch_size": 4}
    return settings(params, block, **{**small, **changes})


# a tiny cloze BERT4Rec and SASRec over N_ITEMS items, independent of conf/
N_ITEMS = 30
CFG = SequentialSettings(
    name="tiny", model="bert4rec", task="cloze", loss="CE", hidden_size=16, num_heads=2, num_blocks=2,
    max_seq_len=12, dropout=0.0, learning_rate=0.01, batch_size=4, seed=3, mask_prob=0.3,
)  # fmt: skip
SASREC = CFG.but(model="sasrec", task="next_item", batching="bucketed", bucket_size=2)


def grid(lengths: list[int], seed: int = 0) -> pd.Series:
    """Cloze grids of the given lengths: random items, a hole and a target slot in each."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in lengths:
        row = rng.integers(0, N_ITEMS, n)
        row[rng.integers(0, n)] = cloze.HOLE
        row[-1] = cloze.TARGET
        rows.append(row)
    return pd.Series(rows, index=np.arange(len(lengths)), dtype=object)


def sasrec_batch(lengths: list[int], width: int, pad: int) -> tuple[dict, torch.Tensor]:
    """Left-padded item rows of ``lengths`` at ``width`` columns and their padding mask."""
    rng = np.random.default_rng(0)
    items = torch.full((len(lengths), width), pad, dtype=torch.long)
    for row, n in enumerate(lengths):
        items[row, width - n :] = torch.as_tensor(rng.integers(0, N_ITEMS, n))
    return {"item_id": items}, items != pad


# ---- tiny frames over a catalogue of six items

VOCAB = np.array([10, 11, 12, 13, 14, 15])


def history(rows: dict[int, list[tuple[int, int]]]) -> pd.DataFrame:
    """(position, item) events per user; ``order`` counts the visible events."""
    frame = pd.DataFrame(
        [(u, p, i) for u, seq in rows.items() for p, i in seq], columns=["user_id", "position", "item_id"]
    )
    return frame.assign(order=frame.groupby("user_id").cumcount())


def targets(rows: list[tuple[int, int, float, bool]]) -> pd.DataFrame:
    """(user, position, weight, tail) targets of a window."""
    return pd.DataFrame(rows, columns=["user_id", "position", "weight", "tail"])


def outputs(module, items: list[int]) -> torch.Tensor:
    """A SASRec's softmax over ``VOCAB`` after every event of ``items``, fed as one unpadded window."""
    network = module.model.eval()
    with torch.no_grad():
        window = torch.as_tensor([items])
        hidden = network.body({"item_id": window}, torch.ones_like(window, dtype=torch.bool))[0]
        return torch.softmax(network.get_logits(hidden)[:, : len(VOCAB)], dim=-1)


def model_of(
    modules: list, backward: list[bool], config: SequentialSettings, epochs: int = 1
) -> SequentialModel:
    """A model over ``VOCAB`` holding ``modules`` as members, read backward where ``backward`` says."""
    members = [Member(m, epochs, backward=b) for m, b in zip(modules, backward, strict=True)]
    return SequentialModel(VOCAB, config, members)


def same_weights(a, b) -> bool:
    """Whether two networks hold exactly the same tensors."""
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(first[k].equal(second[k]) for k in first)


# ---- folds


def fit_args(folds: dict) -> tuple:
    """``fit_generator``'s data arguments from a folds dict: generator fold, reranker truth, items,
    interactions and the splitting protocol."""
    return (
        folds["fold_gen_train"],
        folds["fold_rerank_gt"],
        folds["items"],
        folds["interactions"],
        folds[PROTOCOL],
    )


@pytest.fixture(scope="session")
def gaps_folds(sample, params) -> dict[str, pd.DataFrame]:
    """The sample with about a tenth of its events hidden, split under the gaps protocol."""
    visible, _ = hide_events(sample["events"], 0.106, seed=3)
    return run_splitting(order_interactions(visible), params["splitting"])


@pytest.fixture(scope="session")
def forward_on_gaps(gaps_folds, folds, params) -> tuple[SequentialModel, pd.DataFrame]:
    """The test env's SASRec reading holes forward only, fitted on ``gaps_folds`` (model, history)."""
    config = settings(params, "sasrec", direction="forward")
    gen, truth = gaps_folds["fold_gen_train"], gaps_folds["fold_rerank_gt"]
    return fit_generator(gen, truth, folds["items"], gen, GAPS, config)
