"""SASRec reading sequences backwards: mirrored frames, right-context reads, both directions trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from recsys_challenge.core import GAPS, NEXT_ITEM, PROTOCOL
from recsys_challenge.pipelines.sequential import holes
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.directions import backward_flags, mirrored, reversed_rows, shared
from recsys_challenge.pipelines.sequential.nodes import fit_generator, recommend, refit_or_reuse

from .conftest import VOCAB, fit_args, history, model_of, outputs, same_weights, settings, targets, tiny


def test_mirroring_reverses_positions_and_order_per_user_and_keeps_targets_between_their_events():
    events = history({1: [(0, 10), (1, 11), (3, 12), (4, 13)], 2: [(7, 14), (9, 15)]})
    wanted = targets([(1, 2, 1.0, False), (1, 5, 0.2, True), (2, 8, 1.0, False)])
    back, back_targets = mirrored(events, wanted)
    # user 1 spans 0..5 (its target after the end included), user 2 7..9
    assert back["position"].tolist() == [5, 4, 2, 1, 2, 0]
    assert back["order"].tolist() == [3, 2, 1, 0, 1, 0]
    assert back_targets["position"].tolist() == [3, 0, 1]
    # mirrored back, every event and target returns to its place relative to the user's first slot
    again, again_targets = mirrored(back, back_targets)
    assert again["position"].tolist() == [0, 1, 3, 4, 0, 2]
    assert again_targets["position"].tolist() == [2, 5, 1]
    assert again["order"].tolist() == events["order"].tolist()


def test_both_sides_share_a_target_and_a_backward_network_learns_the_forward_rows_reversed():
    events = history({1: [(1, 10), (2, 11), (4, 12)]})
    wanted = targets([(1, 0, 1.0, False), (1, 3, 1.0, False), (1, 5, 0.2, True), (2, 1, 1.0, False)])
    # before the first event: right side only; inside: both; after the end: left only; no history: none
    assert shared(events, wanted, 2)["weight"].tolist() == [1.0, 0.5, 0.2, 1.0]
    assert shared(events, wanted, 1).equals(wanted)
    rows = pd.Series([[1, 2, 3], [4, 5]])
    assert reversed_rows(rows).tolist() == [[3, 2, 1], [5, 4]]


@pytest.mark.parametrize(
    ("direction", "holes_", "flags"),
    [
        ("forward", True, (False,)),
        ("backward", True, (True,)),
        ("both", True, (False, True)),
        # without holes only the forward reading predicts anything
        ("backward", False, (False,)),
        ("both", False, (False,)),
    ],
)
def test_the_readings_trained_follow_direction_and_need_holes(params, direction, holes_, flags):
    assert backward_flags(settings(params, "sasrec", direction=direction), holes_) == flags


def test_a_backward_member_reads_a_hole_after_its_right_neighbour_and_both_sides_are_averaged(params):
    config = tiny(params)
    forward, backward = (backend_for(config.but(seed=s), len(VOCAB)).build() for s in (1, 2))
    events = history({1: [(0, 10), (1, 11), (3, 12), (4, 13)]})
    wanted = targets([(1, 2, 1.0, False), (1, 5, 0.2, True)])
    scores = {}
    for name, modules, flags in (("back", [backward], [True]), ("both", [forward, backward], [False, True])):
        top = holes.recommend(model_of(modules, flags, config), events, wanted, config.but(candidates_k=10))
        assert top["item_id"].tolist() != [] and set(top["item_id"]) == {14, 15}
        scores[name] = top.set_index("item_id").loc[[14, 15], "score"].to_numpy()
    # mirrored, user 1 reads 13, 12, 11, 10: the hole at 2 follows 12 (index 1); the slot after the end
    # comes before the first mirrored event and has no right context
    right = outputs(backward, [3, 2, 1, 0])[1]
    np.testing.assert_allclose(scores["back"], right[[4, 5]].numpy(), rtol=1e-5)
    # the hole read from both sides counts once (the mean of its two reads), the end slot at 0.2
    left = outputs(forward, [0, 1, 2, 3])
    expected = ((left[1] + right) / 2 + 0.2 * left[3]) / 1.2
    np.testing.assert_allclose(scores["both"], expected[[4, 5]].numpy(), rtol=1e-5)


def interior(history: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """The targets with a visible event on both sides: both readings reach them."""
    bounds = history.groupby("user_id")["position"].agg(["min", "max"]).reindex(targets["user_id"])
    inside = (targets["position"].to_numpy() > bounds["min"].to_numpy()) & (
        targets["position"].to_numpy() < bounds["max"].to_numpy()
    )
    return targets[inside]


def test_both_directions_are_trained_refitted_and_scored_on_holes_and_only_forward_on_next_items(
    gaps_folds, folds, params, forward_on_gaps
):
    config = settings(params, "sasrec", candidates_k=10, direction="both", refit="warm", warm_epochs=1)
    items, gen, truth = folds["items"], gaps_folds["fold_gen_train"], gaps_folds["fold_rerank_gt"]
    model, _ = fit_generator(gen, truth, items, gen, GAPS, config)
    # one forward and one backward member (ensemble 1 per reading), two different networks
    assert [m.backward for m in model.members] == [False, True]
    assert not same_weights(model.members[0].module, model.members[1].module)
    # the forward reading is the network a forward-only model trains: the backward one changes nothing
    # of it (seeds, rows, validation, resume)
    forward_only, _ = forward_on_gaps  # the same network and training, direction forward
    assert [m.backward for m in forward_only.members] == [False]
    assert same_weights(model.members[0].module, forward_only.members[0].module)
    assert model.members[0].epochs == forward_only.members[0].epochs
    wanted = gaps_folds["targets_rerank"]
    parts = model.parts()
    assert recommend(parts[False], gen, wanted, GAPS, config).equals(
        recommend(forward_only, gen, wanted, GAPS, config)
    )
    both = recommend(model, gen, wanted, GAPS, config)
    assert not both.equals(recommend(parts[False], gen, wanted, GAPS, config))
    # a hole read from both sides gets the mean of the two readings: over every item (k = the
    # catalogue), for targets with events on both sides, both = (forward + backward) / 2
    inside = interior(gen, wanted)
    assert len(inside)
    every_item = config.but(candidates_k=len(model.vocab))

    def scores(part) -> pd.Series:
        top = holes.recommend(part, gen, inside, every_item)
        return top.set_index(["user_id", "item_id"])["score"].sort_index()

    mean, forward, backward = scores(model), scores(parts[False]), scores(parts[True])
    assert mean.index.equals(forward.index) and mean.index.equals(backward.index)
    np.testing.assert_allclose(mean, (forward + backward) / 2, rtol=1e-4, atol=1e-7)
    # a refit retrains both readings
    refitted = refit_or_reuse(model, gaps_folds["fold_test_history"], GAPS, config, "test")
    assert [m.backward for m in refitted.members] == [False, True]
    for before, after in zip(model.members, refitted.members, strict=True):
        assert after.module is not before.module and not same_weights(after.module, before.module)
    # next-item data (no holes) trains the forward reading only
    assert folds[PROTOCOL] == NEXT_ITEM
    next_item, _ = fit_generator(*fit_args(folds), config)
    assert [m.backward for m in next_item.members] == [False]
    with pytest.raises(
        ValidationError, match=r"direction\n  Input should be 'forward', 'backward' or 'both'"
    ):
        config.but(direction="sideways")
