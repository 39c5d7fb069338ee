"""Scoring outside a Trainer (holes, cloze) runs where ``accelerator``/``devices`` say, as training does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from recsys_challenge.pipelines.sequential import cloze, holes, placement
from recsys_challenge.pipelines.sequential.backends import backend_for

VOCAB = np.array([10, 11, 12, 13, 14, 15])
EVENTS = pd.DataFrame(
    {"user_id": [1, 1, 1, 1], "position": [0, 1, 3, 4], "item_id": [10, 11, 12, 13], "order": [0, 1, 2, 3]}
)
TARGETS = pd.DataFrame({"user_id": [1, 1], "position": [2, 5], "weight": [1.0, 0.2], "tail": [False, True]})
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="asserts what a machine without CUDA does")


def tiny(params: dict, model: str) -> dict:
    return {**params[model], "max_seq_len": 6, "hidden_size": 8, "dropout": 0.0, "batch_size": 4}


def hole_scores(params: dict, **where) -> pd.DataFrame:
    cfg = {**tiny(params, "sasrec"), **where}
    torch.manual_seed(0)
    module = backend_for(cfg, len(VOCAB)).build()
    return holes.top_items([module], EVENTS, TARGETS, VOCAB, 10, cfg)


def cloze_scores(params: dict, **where) -> pd.DataFrame:
    cfg = {**tiny(params, "bert4rec_cloze"), "n_items": len(VOCAB), **where}
    torch.manual_seed(0)
    module = backend_for(cfg, len(VOCAB)).build()
    return cloze.top_items([module], EVENTS, TARGETS, VOCAB, 10, cfg)


def test_the_device_is_the_one_lightning_trains_on():
    assert placement.device({"accelerator": "cpu"}) == torch.device("cpu")
    assert placement.device({"accelerator": "cpu", "devices": 1}) == torch.device("cpu")


def test_the_runs_placement_overrides_the_fitted_models():
    fitted = {"accelerator": "gpu", "devices": [1], "hidden_size": 64}
    assert placement.placed(fitted, {"accelerator": "cpu"}) == {
        "accelerator": "cpu",
        "devices": [1],
        "hidden_size": 64,
    }
    assert placement.placed(fitted, {"seed": 3}) == fitted


def test_a_network_elsewhere_is_copied_there_and_one_in_place_is_used_as_it_is():
    network = torch.nn.Linear(3, 2)
    assert placement.on(network, torch.device("cpu")) is network
    moved = placement.on(network, torch.device("meta"))
    assert next(moved.parameters()).device.type == "meta"
    assert next(network.parameters()).device.type == "cpu"  # the fitted model keeps its weights


@pytest.mark.parametrize("scores", [hole_scores, cloze_scores], ids=["holes", "cloze"])
def test_scoring_on_the_cpu_when_asked_gives_the_default_placements_scores(params, scores):
    pd.testing.assert_frame_equal(scores(params, accelerator="cpu"), scores(params))


@no_cuda
@pytest.mark.parametrize("scores", [hole_scores, cloze_scores], ids=["holes", "cloze"])
def test_scoring_asked_onto_a_gpu_goes_there(params, scores):
    """A scorer that ignored the setting would score on the CPU without a word."""
    with pytest.raises(MisconfigurationException, match="CUDAAccelerator"):
        scores(params, accelerator="cuda")
