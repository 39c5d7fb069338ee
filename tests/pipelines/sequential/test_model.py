"""A trained model: its members, read forward or backward, split into readings and joined back."""

from __future__ import annotations

import pandas as pd

from recsys_challenge.pipelines.sequential.model import Member, SequentialModel

from .conftest import VOCAB, settings


def model(params: dict, *flags: bool, epochs: tuple[int, ...] = ()) -> SequentialModel:
    members = [Member(object(), epochs[i] if epochs else i + 1, backward=b) for i, b in enumerate(flags)]
    return SequentialModel(VOCAB, settings(params, "sasrec"), members, pd.DataFrame({"epoch": [0]}))


def test_marking_flags_every_member_and_leaves_the_model_as_it_was(params):
    forward = model(params, False, False)
    backward = forward.marked(True)
    assert [m.backward for m in backward.members] == [True, True]
    assert [m.backward for m in forward.members] == [False, False]  # a copy
    assert [m.module for m in backward.members] == [m.module for m in forward.members]
    assert [m.epochs for m in backward.members] == [1, 2]
    assert backward.settings is forward.settings and backward.history is forward.history


def test_parts_hold_each_readings_members_in_order(params):
    both = model(params, False, True, False, True)
    parts = both.parts()
    assert list(parts) == [False, True]
    assert parts[False].members == [both.members[0], both.members[2]]
    assert parts[True].members == [both.members[1], both.members[3]]
    assert all(p.vocab is both.vocab and p.settings is both.settings for p in parts.values())
    assert list(model(params, True).parts()) == [True]  # a reading without members is left out
    assert list(model(params, False).parts()) == [False]


def test_joined_models_hold_every_member_and_report_the_firsts_epochs_and_history(params):
    forward = model(params, False, False, epochs=(4, 5))
    backward = model(params, False, epochs=(7,)).marked(True)
    backward.history = pd.DataFrame({"epoch": [0, 1, 2]})
    joined = SequentialModel.joined([forward, backward])
    assert joined.members == forward.members + backward.members
    assert [m.backward for m in joined.members] == [False, False, True]
    assert joined.epochs == 4 and joined.history is forward.history
    # parts and joined undo each other
    parts = joined.parts()
    assert SequentialModel.joined(list(parts.values())).members == joined.members
