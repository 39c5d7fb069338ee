"""SASRec filling holes from their left context: the right output read, windows, validation = inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from recsys_challenge.core import GAPS
from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential import holes
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.nodes import recommend
from recsys_challenge.pipelines.splitting.gaps import truth_targets

from .conftest import VOCAB, history, outputs, settings, targets, tiny


def test_a_hole_is_scored_by_the_output_after_the_event_before_it(params):
    config = tiny(params)
    module = backend_for(config, len(VOCAB)).build()
    events = history({1: [(0, 10), (1, 11), (3, 12), (4, 13)], 2: [(3, 14), (4, 15)]})
    # user 1: a hole at 2 (after item 11) and the open slot after the end at weight 0.2;
    # user 2: a hole before its first event has no left context and no score
    wanted = targets([(1, 2, 1.0, False), (1, 5, 0.2, True), (2, 1, 1.0, False)])
    query = holes.Query.of(events, wanted, VOCAB, config.max_seq_len)
    top = holes.validation_top(module, [query], VOCAB, 10, config)
    assert set(top["user_id"]) == {1}
    assert set(top["item_id"]) == {14, 15}  # seen items removed
    probs = outputs(module, [0, 1, 2, 3])
    expected = (probs[1] + 0.2 * probs[3]) / 1.2  # after item 11 (index 1) and after the last event
    got = top.set_index("item_id").loc[[14, 15], "score"].to_numpy()
    np.testing.assert_allclose(got, expected[[4, 5]].numpy(), rtol=1e-5)


def test_long_sequences_are_read_in_windows_with_at_least_half_a_window_before_each_target():
    length = 8
    cases = pd.DataFrame(
        [(0, left, n, 1.0) for n in (1, 5, 8, 9, 23) for left in range(n)],
        columns=["user_id", "left", "length", "weight"],
    )
    reads = holes.windows(cases, length)
    assert (reads["end"] > reads["left"]).all() and (reads["end"] <= reads["length"]).all()
    # the end of a sequence is read with it, and every window ends a multiple of half a window before it
    assert ((reads["length"] - reads["end"]) % (length // 2) == 0).all()
    context = reads["left"] - (reads["end"] - length)  # events before the target's neighbour in its window
    assert ((context >= length // 2) | (reads["end"] <= length)).all()
    assert (reads["offset"] == length - (reads["end"] - reads["left"])).all()


def test_a_hole_of_a_long_sequence_reads_its_own_window(params):
    config = tiny(params, max_seq_len=4)
    module = backend_for(config, len(VOCAB)).build()
    items = [10, 11, 12, 13, 14, 10, 11, 12, 13, 14]
    events = history({1: list(zip([0, 1, 2, 4, 5, 6, 7, 8, 9, 10], items, strict=True))})
    # the hole at 3 follows event 2 of 10: windows end at 10, 8, 6, 4 (half of 4 apart); read in [0, 4)
    query = holes.Query.of(events, targets([(1, 3, 1.0, False)]), VOCAB, config.max_seq_len)
    top = holes.validation_top(module, [query], VOCAB, 6, config)
    expected = outputs(module, [0, 1, 2, 3])[2]
    assert top["item_id"].tolist() == [15]  # the other five are seen
    assert top["score"].iloc[0] == pytest.approx(float(expected[5]), rel=1e-5)


def test_sasrec_validates_on_the_holes_it_fills_and_scores_them_from_the_left(
    gaps_folds, forward_on_gaps, params
):
    # one reading: validation scores each network on its own (``test_directions`` covers both)
    model, log = forward_on_gaps
    config = settings(params, "sasrec", candidates_k=10, direction="forward")
    gen, truth = gaps_folds["fold_gen_train"], gaps_folds["fold_rerank_gt"]
    assert gaps_folds["split_protocol"] == GAPS
    assert [m.backward for m in model.members] == [False]
    # the best epoch's validation NDCG@10 is the hole ranking's own score on the reranker window's
    # labelled holes (its candidates answer every unknown position, ``targets_rerank``)
    candidates = recommend(model, gen, truth_targets(truth, gen), GAPS, config)
    best = log.set_index("epoch").loc[model.epochs - 1, "ndcg@10"]
    assert best == pytest.approx(ranking_metrics(candidates, truth, [10])["ndcg_10"], abs=1e-5)
    on_every_hole = recommend(model, gen, gaps_folds["targets_rerank"], GAPS, config)
    from_end = recommend(model, gen, gaps_folds["targets_rerank"], GAPS, config.but(hole_scoring="end"))
    assert not on_every_hole.equals(from_end)
    with pytest.raises(ValidationError, match=r"hole_scoring\n  Input should be 'left_context' or 'end'"):
        config.but(hole_scoring="both")


def test_scoring_in_blocks_of_users_ranks_as_scoring_all_at_once(gaps_folds, forward_on_gaps, params):
    model, _ = forward_on_gaps
    config = settings(params, "sasrec", candidates_k=10, direction="forward")
    gen, wanted = gaps_folds["fold_gen_train"], gaps_folds["targets_rerank"]
    whole = recommend(model, gen, wanted, GAPS, config)
    assert whole["user_id"].nunique() > 3
    blocks = recommend(model, gen, wanted, GAPS, config.but(score_block_users=3))
    pd.testing.assert_frame_equal(blocks, whole, check_exact=False, rtol=1e-5)


def test_validation_in_blocks_of_users_ranks_as_validating_all_at_once(gaps_folds, forward_on_gaps, params):
    model, _ = forward_on_gaps
    config = settings(params, "sasrec", direction="forward")
    module, length = model.members[0].module, config.max_seq_len
    gen, wanted = gaps_folds["fold_gen_train"], gaps_folds["targets_rerank"]
    whole = holes.validation_top(
        module, [holes.Query.of(gen, wanted, model.vocab, length)], model.vocab, 10, config
    )
    assert whole["user_id"].nunique() > 3
    queries = holes.Query.per_block(gen, wanted, model.vocab, length, 3)
    assert len(queries) > 1
    blocks = holes.validation_top(module, queries, model.vocab, 10, config)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=False, rtol=1e-5)
