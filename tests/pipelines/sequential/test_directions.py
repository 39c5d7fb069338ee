"""SASRec reading sequences backwards: mirrored frames, right-context reads, both directions trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_challenge.pipelines.sequential import holes
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.directions import mirrored, reversed_rows, shared
from recsys_challenge.pipelines.sequential.nodes import fit_generator, recommend, refit_or_reuse
from recsys_challenge.pipelines.sequential.training import Member, SequentialModel
from tests.pipelines.sequential.test_holes import VOCAB, history, outputs, targets, tiny


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


def model_of(modules: list, backward: list[bool], cfg: dict) -> SequentialModel:
    members = [Member(m, 1, backward=b) for m, b in zip(modules, backward, strict=True)]
    return SequentialModel(VOCAB, cfg, members)


def test_a_backward_member_reads_a_hole_after_its_right_neighbour_and_both_sides_are_averaged(params):
    cfg = tiny(params, 6)
    forward, backward = (backend_for({**cfg, "seed": s}, len(VOCAB)).build() for s in (1, 2))
    events = history({1: [(0, 10), (1, 11), (3, 12), (4, 13)]})
    wanted = targets([(1, 2, 1.0, False), (1, 5, 0.2, True)])
    scores = {}
    for name, modules, flags in (("back", [backward], [True]), ("both", [forward, backward], [False, True])):
        top = holes.recommend(model_of(modules, flags, cfg), events, wanted, 10, cfg)
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


def test_both_directions_are_trained_refitted_and_scored_on_holes_and_only_forward_on_next_items(
    gaps_folds, folds, params
):
    cfg = {**params["sasrec"], "candidates_k": 10, "direction": "both", "refit": "warm", "warm_epochs": 1}
    items, gen, truth = folds["items"], gaps_folds["fold_gen_train"], gaps_folds["fold_rerank_gt"]
    model, _ = fit_generator(gen, truth, items, gen, cfg)
    assert [m.backward for m in model.members] == [False, True]
    both = recommend(model, gen, gaps_folds["targets_rerank"], cfg)
    forward = SequentialModel(model.vocab, model.config, model.members[:1])
    assert not both.equals(recommend(forward, gen, gaps_folds["targets_rerank"], cfg))
    refitted = refit_or_reuse(model, gaps_folds["fold_test_history"], cfg, "test")
    assert [m.backward for m in refitted.members] == [False, True]
    assert refitted.members[1].module is not model.members[1].module
    next_item, _ = fit_generator(*(folds[k] for k in ("fold_gen_train", "fold_rerank_gt", "items")), gen, cfg)
    assert [m.backward for m in next_item.members] == [False]
    with pytest.raises(ValueError, match=r"sasrec\.direction must be one of"):
        fit_generator(gen, truth, items, gen, {**cfg, "direction": "sideways"})
