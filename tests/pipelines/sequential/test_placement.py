"""Scoring outside a Trainer (holes, cloze) runs where ``accelerator``/``devices`` say, as training does."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from recsys_challenge.pipelines.sequential import cloze, holes, placement
from recsys_challenge.pipelines.sequential.backends import backend_for

from .conftest import VOCAB, history, settings, targets, tiny

EVENTS = history({1: [(0, 10), (1, 11), (3, 12), (4, 13)]})
TARGETS = targets([(1, 2, 1.0, False), (1, 5, 0.2, True)])
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="asserts what a machine without CUDA does")


def hole_scores(params: dict, **where) -> pd.DataFrame:
    config = tiny(params, "sasrec", **where)
    torch.manual_seed(0)
    module = backend_for(config, len(VOCAB)).build()
    query = holes.Query.of(EVENTS, TARGETS, VOCAB, config.max_seq_len)
    return holes.validation_top(module, [query], VOCAB, 10, config)


def cloze_scores(params: dict, **where) -> pd.DataFrame:
    config = tiny(params, "bert4rec_cloze", **where)
    torch.manual_seed(0)
    module = backend_for(config, len(VOCAB)).build()
    return cloze.top_items([module], cloze.Query.of(EVENTS, TARGETS, VOCAB), VOCAB, 10, config)


def test_the_device_is_the_one_lightning_trains_on(params):
    assert placement.device(settings(params, "sasrec", accelerator="cpu")) == torch.device("cpu")
    assert placement.device(settings(params, "sasrec", accelerator="cpu", devices="auto")) == torch.device(
        "cpu"
    )


def test_the_runs_placement_overrides_the_fitted_models(params):
    fitted = settings(params, "sasrec", accelerator="gpu", devices=[1], hidden_size=64, seed=7)
    run = settings(params, "sasrec", accelerator="cpu", devices=1, seed=3)
    placed = placement.placed(fitted, run)
    assert (placed.accelerator, placed.devices) == ("cpu", 1)
    # everything else is the fitted model's: its network and its seed, not the run's
    assert placed == fitted.but(accelerator="cpu", devices=1)
    assert (placed.hidden_size, placed.seed) == (64, 7)


def test_a_network_elsewhere_is_copied_there_and_one_in_place_is_used_as_it_is():
    network = torch.nn.Linear(3, 2)
    assert placement.on(network, torch.device("cpu")) is network
    moved = placement.on(network, torch.device("meta"))
    assert next(moved.parameters()).device.type == "meta"
    assert next(network.parameters()).device.type == "cpu"  # the fitted model keeps its weights


@pytest.mark.parametrize("training", [True, False])
def test_a_network_scores_in_evaluation_mode_and_gets_its_mode_back(training):
    network = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)).train(training)
    with placement.scoring(network, torch.device("cpu")) as scored:
        assert scored is network and not scored.training
        assert not torch.is_grad_enabled()
    assert network.training is training  # a network scored by a validation callback goes on training


@pytest.mark.parametrize("scores", [hole_scores, cloze_scores], ids=["holes", "cloze"])
def test_scoring_on_the_cpu_when_asked_gives_the_default_placements_scores(params, scores):
    pd.testing.assert_frame_equal(scores(params, accelerator="cpu"), scores(params))


@no_cuda
@pytest.mark.parametrize("scores", [hole_scores, cloze_scores], ids=["holes", "cloze"])
def test_scoring_asked_onto_a_gpu_goes_there(params, scores):
    """A scorer that ignored the setting would score on the CPU without a word."""
    with pytest.raises(MisconfigurationException, match="CUDAAccelerator"):
        scores(params, accelerator="cuda")
