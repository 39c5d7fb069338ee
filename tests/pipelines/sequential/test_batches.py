"""Padding-aware batches: the same outputs as full padding, every row once per epoch, short batches."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from recsys_challenge.pipelines.sequential import batches, cloze
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.settings import SequentialSettings

from .conftest import CFG, N_ITEMS, SASREC, grid, sasrec_batch


def test_a_trimmed_batch_gives_the_logits_of_full_padding():
    torch.manual_seed(0)
    module = backend_for(CFG, N_ITEMS).build()
    module._model.eval()
    rows = [np.asarray(r) for r in grid([3, 5, 7])]
    dataset = cloze.GridDataset(rows, np.arange(3), CFG.max_seq_len, 0.0, None)
    full = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    cut = batches.trimmed(full)
    assert cut["pad_mask"].shape[1] == 7  # the longest row
    with torch.no_grad():
        wide = module._model(full["inputs"], full["pad_mask"], full["token_mask"])
        narrow = module._model(cut["inputs"], cut["pad_mask"], cut["token_mask"])
    real = cut["pad_mask"]
    torch.testing.assert_close(narrow[real], wide[:, -7:][real], atol=1e-5, rtol=1e-5)


def test_scores_are_the_same_whatever_the_batching():
    torch.manual_seed(0)
    module = backend_for(CFG, N_ITEMS).build()
    nothing_seen = (np.array([], dtype=int), np.array([], dtype=int))
    query = cloze.Query(grid([2, 11, 4, 9, 3, 12, 6, 5, 8]), 1.0, nothing_seen)
    scores = {
        mode: cloze._network_scores(module, query, N_ITEMS, CFG.but(batching=mode))
        for mode in ("full", "trimmed", "bucketed")
    }
    torch.testing.assert_close(scores["trimmed"], scores["full"], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(scores["bucketed"], scores["full"], atol=1e-6, rtol=1e-5)


def test_length_buckets_hold_every_row_once_and_group_similar_lengths():
    lengths = np.random.default_rng(1).integers(1, 200, 1000)
    sampler = batches.LengthBuckets(lengths, 10, torch.Generator().manual_seed(0))
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 100
    assert sorted(i for b in drawn for i in b) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in drawn])
    assert spread < 30  # shuffled batches of 10 span ~160 of the 200 lengths
    again = list(batches.LengthBuckets(lengths, 10, torch.Generator().manual_seed(0)))
    assert again == drawn  # seeded
    assert list(batches.LengthBuckets(lengths, 10, torch.Generator().manual_seed(1))) != drawn


def test_an_unknown_batching_is_named():
    with pytest.raises(ValidationError, match=r"batching\n  Input should be 'full', 'trimmed' or 'bucketed'"):
        CFG.but(batching="sorted")


def test_sasrec_trimmed_inference_and_bucketed_training_match_full_padding():
    from replay.nn.sequential import LengthBucketedQueryEncoder
    from replay.nn.transform.trim import AdaptiveTrimTransform

    torch.manual_seed(0)
    module = backend_for(SASREC, N_ITEMS).build()
    model = module.model
    assert isinstance(model.body.encoder, LengthBucketedQueryEncoder)
    pickle.loads(pickle.dumps(module))  # models travel through the catalog as pickles
    features, mask = sasrec_batch([2, 9, 3, 5], CFG.max_seq_len, N_ITEMS)
    model.eval()
    with torch.no_grad():
        full = model.forward_inference(features, mask)["logits"]
        cut = AdaptiveTrimTransform("item_id")({"item_id": features["item_id"], "padding_mask": mask})
        assert cut["padding_mask"].shape[1] == 9
        narrow = model.forward_inference({"item_id": cut["item_id"]}, cut["padding_mask"])["logits"]
    torch.testing.assert_close(narrow, full, atol=1e-5, rtol=1e-5)
    # training mode (dropout 0): buckets of 2 rows, each cut, give the plain encoder's hidden states
    model.train()
    with torch.no_grad():
        bucketed = model.body(features, mask)
        model.body.encoder = model.body.encoder.encoder
        plain = model.body(features, mask)
    torch.testing.assert_close(bucketed[mask], plain[mask], atol=1e-5, rtol=1e-5)


def test_sasrec_batches_carry_trims_unless_full():
    from replay.nn.transform.trim import AdaptiveTrimTransform, TargetAwareAdaptiveTrimTransform

    def kinds(config: SequentialSettings, split: str) -> set[type]:
        return {type(t) for t in backend_for(config, N_ITEMS)._transforms()[split]}

    assert TargetAwareAdaptiveTrimTransform in kinds(SASREC, "train")
    assert AdaptiveTrimTransform in kinds(SASREC, "predict") & kinds(SASREC, "validate")
    full = SASREC.but(batching="full")
    trims = {AdaptiveTrimTransform, TargetAwareAdaptiveTrimTransform}
    assert not trims & (kinds(full, "train") | kinds(full, "predict"))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_sasrec_loss_on_target_positions_equals_replays_full_ce(smoothing):
    from replay.nn.loss import CE

    from recsys_challenge.pipelines.sequential.backends.sasrec import TargetOnlyCE

    torch.manual_seed(0)
    head = torch.nn.Linear(8, N_ITEMS + 1, bias=False)
    hidden = torch.randn(3, 5, 8)
    labels = torch.randint(0, N_ITEMS, (3, 5, 1))
    targets = torch.rand(3, 5, 1) > 0.4
    labels[~targets] = N_ITEMS  # padding
    losses = []
    for loss in (
        CE(ignore_index=N_ITEMS, label_smoothing=smoothing),
        TargetOnlyCE(ignore_index=N_ITEMS, label_smoothing=smoothing),
    ):
        loss.logits_callback = lambda x, candidates=None: head(x)
        losses.append(loss(hidden, {}, labels, None, None, targets))
    torch.testing.assert_close(losses[1], losses[0])
