"""Refits for later windows: every member from scratch for its own best epoch count, or warm from its
previous weights for ``warm_epochs``; the best count stays with the member either way."""

from __future__ import annotations

import pandas as pd
import torch

from recsys_challenge.pipelines.sequential.model import Member, SequentialModel
from recsys_challenge.pipelines.sequential.refitting import refit_members, starting
from recsys_challenge.pipelines.sequential.settings import SequentialSettings

from .conftest import VOCAB, settings


class Recorder:
    """A ``train_member`` that trains nothing: it records its seed, epochs and start."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, object]] = []

    def __call__(self, member: SequentialSettings, epochs: int, start) -> tuple[Member, pd.DataFrame]:
        self.calls.append((member.seed, epochs, start))
        return Member(object(), epochs), pd.DataFrame({"epoch": list(range(epochs)), "seed": member.seed})


def fitted(config: SequentialSettings, epochs: list[int]) -> SequentialModel:
    return SequentialModel(VOCAB, config, [Member(object(), n) for n in epochs])


def test_from_scratch_each_member_trains_its_own_best_epoch_count(params):
    config = settings(params, "sasrec", refit=True, seed=10, ensemble=2, warm_epochs=1)
    model = fitted(config, [4, 7])
    train = Recorder()
    refitted = refit_members(train, model, config)
    assert train.calls == [(10, 4, None), (11, 7, None)]
    assert [m.epochs for m in refitted.members] == [4, 7]
    assert refitted.history["seed"].unique().tolist() == [10] and len(refitted.history) == 4


def test_members_beyond_the_fitted_ones_train_the_firsts_count_from_scratch(params):
    model = fitted(settings(params, "sasrec", ensemble=1), [5])
    for refit in (True, "warm"):
        config = settings(params, "sasrec", refit=refit, seed=10, ensemble=2, warm_epochs=2)
        train = Recorder()
        refit_members(train, model, config)
        assert train.calls[1] == (11, 5, None)


def test_warm_each_member_trains_warm_epochs_from_its_weights_and_keeps_its_count(params):
    config = settings(params, "sasrec", refit="warm", seed=10, ensemble=2, warm_epochs=2)
    model = fitted(config, [4, 7])
    train = Recorder()
    refitted = refit_members(train, model, config)
    assert train.calls == [(10, 2, model.members[0].module), (11, 2, model.members[1].module)]
    assert [m.epochs for m in refitted.members] == [4, 7]  # what a later from-scratch refit trains for
    assert refitted.history["epoch"].tolist() == [0, 1]  # warm_epochs of the first member
    assert refitted.settings is config and refitted.vocab is VOCAB


def test_a_warm_start_loads_the_previous_weights_into_a_new_network():
    torch.manual_seed(0)
    previous = torch.nn.Linear(3, 2)
    build = lambda: torch.nn.Linear(3, 2)  # noqa: E731
    assert starting(build, None) is build  # from scratch: the build itself
    warm = starting(build, previous)()
    assert warm is not previous
    assert all(torch.equal(warm.state_dict()[k], v) for k, v in previous.state_dict().items())
