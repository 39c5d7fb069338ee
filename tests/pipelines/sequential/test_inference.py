"""Next-item inference: one network's unseen top items, an ensemble's mean probabilities, and no
next-item candidates from a backward reading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_challenge.pipelines.sequential import inference
from recsys_challenge.pipelines.sequential.backends import backend_for

from .conftest import VOCAB, history, model_of, tiny

EVENTS = history({1: [(0, 10), (1, 11), (2, 12)], 2: [(0, 13)], 3: [(0, 14), (1, 10)]})


def last_logits(module, items: list[int]) -> torch.Tensor:
    """A SASRec's logits over ``VOCAB`` after the last event of ``items`` (item indices)."""
    network = module.model.eval()
    with torch.no_grad():
        window = torch.as_tensor([items])
        hidden = network.body({"item_id": window}, torch.ones_like(window, dtype=torch.bool))[0]
        return network.get_logits(hidden)[-1, : len(VOCAB)]


def unseen(user: int) -> list[int]:
    seen = set(EVENTS.loc[EVENTS["user_id"] == user, "item_id"])
    return [i for i, item in enumerate(VOCAB) if item not in seen]


def sequence(user: int) -> list[int]:
    return np.searchsorted(VOCAB, EVENTS.loc[EVENTS["user_id"] == user, "item_id"]).tolist()


def scores(candidates: pd.DataFrame, user: int) -> np.ndarray:
    """The user's candidate scores in the order of ``unseen(user)``."""
    own = candidates[candidates["user_id"] == user].set_index("item_id")["score"]
    return own.reindex(VOCAB[unseen(user)]).to_numpy()


def networks(params: dict, n: int) -> tuple[list, object]:
    config = tiny(params, "sasrec", accelerator="cpu", candidates_k=10)
    return [backend_for(config.but(seed=s), len(VOCAB)).build() for s in range(n)], config


def test_a_single_network_ranks_every_unseen_item_by_its_logits(params):
    (module,), config = networks(params, 1)
    candidates = inference.recommend(model_of([module], [False], config), EVENTS, config)
    assert set(candidates["user_id"]) == {1, 2, 3}
    for user in (1, 2, 3):
        expected = last_logits(module, sequence(user))[unseen(user)].numpy()
        np.testing.assert_allclose(scores(candidates, user), expected, rtol=1e-5, atol=1e-6)
        own = candidates[candidates["user_id"] == user]
        assert own["rank"].tolist() == list(range(1, len(unseen(user)) + 1))


def test_an_ensemble_ranks_by_its_members_mean_probability_over_unseen_items(params):
    modules, config = networks(params, 2)
    candidates = inference.recommend(model_of(modules, [False, False], config), EVENTS, config)
    for user in (1, 2, 3):
        probabilities = [torch.softmax(last_logits(m, sequence(user))[unseen(user)], dim=0) for m in modules]
        expected = torch.stack(probabilities).mean(dim=0).numpy()
        np.testing.assert_allclose(scores(candidates, user), expected, rtol=1e-5, atol=1e-6)
    assert candidates.groupby("user_id")["score"].sum().to_numpy() == pytest.approx(1.0, abs=1e-5)
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_mean_probabilities_softmax_each_list_per_user_and_count_a_missing_item_as_zero():
    first = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10], "score": [2.0, 0.0, 5.0]})
    second = pd.DataFrame({"user_id": [1, 1], "item_id": [11, 12], "score": [1.0, 1.0]})
    mean = inference.mean_probabilities([first, second]).set_index(["user_id", "item_id"])["score"]
    e = np.exp(2.0)
    assert mean[(1, 10)] == pytest.approx(e / (e + 1) / 2)
    assert mean[(1, 11)] == pytest.approx((1 / (e + 1) + 0.5) / 2)
    assert mean[(1, 12)] == pytest.approx(0.5 / 2)
    assert mean[(2, 10)] == pytest.approx(1 / 2)  # user 2 is in one list only
    assert mean.dtype == np.float32


def test_a_backward_only_model_refuses_next_item_data(params):
    (forward, backward), config = networks(params, 2)
    with pytest.raises(ValueError, match=r"sasrec: direction backward scores the holes of a sequence only"):
        inference.recommend(model_of([backward], [True], config), EVENTS, config)
    # with a forward reading, only it ranks what comes next
    both = inference.recommend(model_of([forward, backward], [False, True], config), EVENTS, config)
    alone = inference.recommend(model_of([forward], [False], config), EVENTS, config)
    pd.testing.assert_frame_equal(both, alone)
