"""BERT4Rec as a cloze model: grids with holes, masking without labels in holes, per-target scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from replay.models.nn.sequential import Bert4Rec

from recsys_challenge.pipelines.sequential import cloze
from recsys_challenge.pipelines.sequential.backends import backend_for, bert4rec
from recsys_challenge.pipelines.sequential.backends.bert4rec import sampled_ce

from .conftest import VOCAB, settings


def fold(rows: dict[int, list[tuple[int, int]]]) -> pd.DataFrame:
    frame = [(u, p, i) for u, seq in rows.items() for p, i in seq]
    return pd.DataFrame(frame, columns=["user_id", "position", "item_id"])


def test_grids_put_items_on_their_positions_and_mark_targets_and_holes():
    history = fold({7: [(0, 10), (1, 11), (3, 13), (6, 12)], 3: [(1, 15)]})
    targets = pd.DataFrame({"user_id": [7, 7], "position": [2, 7]})
    grid = cloze.grids(history, targets, VOCAB)
    T, H = cloze.TARGET, cloze.HOLE
    assert grid.index.tolist() == [3, 7]
    assert grid[7].tolist() == [0, 1, T, 3, H, H, 2, T]  # item indices; 4 and 5 are unknown holes
    assert grid[3].tolist() == [H, 5]


def test_training_rows_mask_holes_without_labels_and_label_masked_items():
    row = np.array([0, 1, cloze.HOLE, 3, 2])
    dataset = cloze.GridDataset([row], np.array([7]), 6, mask_prob=0.5, seed=0)
    item = dataset[0]
    assert item["pad_mask"].tolist() == [False, True, True, True, True, True]
    hole = 3  # left padding shifts the row by one slot
    assert not item["token_mask"][hole] and item["positive_labels"][hole] == cloze.IGNORE
    masked_items = item["pad_mask"] & ~item["token_mask"]
    masked_items[hole] = False
    assert masked_items.any()  # at least one visible item is masked, and it is labelled with itself
    slots = torch.tensor([-1, 0, 1, -1, 3, 2])
    assert torch.equal(item["positive_labels"][masked_items], slots[masked_items])
    assert (item["positive_labels"][~masked_items] == cloze.IGNORE).all()


def test_long_grids_score_each_target_once_in_the_window_that_gives_it_most_context():
    T, H = cloze.TARGET, cloze.HOLE
    grid = np.array([0, 1, T, 2, 3, 4, T, 5, 6, 7, T, 8])
    windows = cloze.scoring_windows(grid, 6)  # windows end 3 slots apart: [6, 12), [3, 9), [0, 6)
    scored = [np.flatnonzero(w <= T) for w in windows]
    assert sum(len(s) for s in scored) == 3  # every target once
    # slot 2 in the oldest window, which starts the grid; slot 6 in the middle one (2 slots on its shorter
    # side, 0 in the newest, where it is a plain hole); slot 10 in the newest, which ends the grid
    assert [w.tolist() for w in windows] == [
        [H, 5, 6, 7, T, 8],
        [2, 3, 4, T, 5, 6],
        [0, 1, T, 2, 3, 4],
    ]
    short = np.array([0, T, 1])
    assert [w.tolist() for w in cloze.scoring_windows(short, 6)] == [short.tolist()]


def test_training_windows_cover_whole_grids_and_skip_windows_without_items(params):
    config = settings(params, "bert4rec_cloze", max_seq_len=4, train_stride=3, batch_size=8)
    H = cloze.HOLE
    grid = pd.Series([np.array([0, 1, 2, 3, 4, 5, 6]), np.array([H, H, H, H, H, 1]), np.array([H, H])])
    rows = [row.tolist() for row in cloze.training_loader(grid, config).dataset.rows]
    # windows end 3 slots apart and the oldest starts the grid; an all-hole grid or window is skipped
    assert sorted(rows) == sorted([[3, 4, 5, 6], [0, 1, 2, 3], [H, H, H, 1]])


def test_scores_come_from_target_slots_only_and_skip_seen_items(params):
    config = settings(params, "bert4rec", max_seq_len=6, hidden_size=8, batch_size=4)
    module = backend_for(config, len(VOCAB)).build()
    history = fold({1: [(0, 10), (1, 11), (3, 12)], 2: [(0, 13), (1, 14)]})
    targets = pd.DataFrame({"user_id": [1], "position": [2], "weight": [1.0], "tail": [False]})
    top = cloze.top_items([module], cloze.Query.of(history, targets, VOCAB), VOCAB, 10, config)
    assert set(top["user_id"]) == {1}  # user 2 has no target
    assert set(top["item_id"]) == {13, 14, 15}  # unseen items only
    # the score is the softmax at the target slot: the network's own output there
    grid = cloze.grids(history, targets, VOCAB)
    item = cloze.GridDataset([grid[1]], np.array([0]), 6, 0.0, None)[0]
    with torch.no_grad():
        module.eval()
        logits = module._model(
            {"item_id": item["inputs"]["item_id"][None]}, item["pad_mask"][None], item["token_mask"][None]
        )[0, item["target_mask"]]
    expected = torch.softmax(logits, dim=-1)[0, [3, 4, 5]].numpy()
    got = top.set_index("item_id").loc[[13, 14, 15], "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_masked_head_loss_equals_replays_full_head_loss(params):
    config = settings(params, "bert4rec", max_seq_len=12, hidden_size=16, dropout=0.0)
    module = backend_for(config, 30).build()
    generator = torch.Generator().manual_seed(0)
    pad_mask = torch.ones(4, 12, dtype=torch.bool)
    pad_mask[:, :3] = False
    items = torch.randint(0, 30, (4, 12), generator=generator)
    tokens = torch.rand(4, 12, generator=generator) > 0.3
    ours = module._compute_loss_ce({"item_id": items}, items, pad_mask, tokens)
    theirs = Bert4Rec._compute_loss_ce(module, {"item_id": items}, items, pad_mask, tokens)
    assert torch.allclose(ours, theirs)


def scored_rows(generator: torch.Generator):
    """Nine hidden rows, their labels of 30 items, and two scorers of one linear head: the rows
    against item ids (``logits``), and each row against its own label alone."""
    embeddings, bias = torch.randn(30, 8, generator=generator), torch.randn(30, generator=generator)
    hidden, labels = torch.randn(9, 8, generator=generator), torch.randint(0, 30, (9,), generator=generator)

    def logits(states: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return states @ embeddings[ids].T + bias[ids]

    def own(states: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return (states * embeddings[ids]).sum(-1) + bias[ids]

    return hidden, labels, logits, own


def test_sampled_ce_over_every_item_as_negatives_is_the_full_ce():
    # with the whole catalogue drawn once, the correction is zero and the label's own draw drops out
    hidden, labels, logits, _ = scored_rows(torch.Generator().manual_seed(0))
    full = torch.nn.functional.cross_entropy(logits(hidden, torch.arange(30)), labels)
    sampled = sampled_ce(logits, hidden, labels, torch.arange(30), 30)
    torch.testing.assert_close(sampled, full)


def test_pooled_sampled_ce_scores_each_row_against_its_own_pool():
    # the mean over rows of each row's loss against its pool: pool 0 the whole catalogue, pool 1 a third
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(30, 8, generator=generator)
    hidden, labels = torch.randn(9, 8, generator=generator), torch.randint(0, 30, (9,), generator=generator)
    pools = torch.stack([torch.arange(30), torch.randperm(30, generator=generator)[:10].repeat(3)])
    pool_of = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1])

    def logits(states: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return states @ embeddings[ids].T

    first, second = pool_of == 0, pool_of == 1
    expected = (
        first.sum() * sampled_ce(logits, hidden[first], labels[first], pools[0], 30)
        + second.sum() * sampled_ce(logits, hidden[second], labels[second], pools[1], 30)
    ) / len(labels)
    pooled = sampled_ce(logits, hidden, labels, pools, 30, pool_of)
    torch.testing.assert_close(pooled, expected)
    assert not torch.allclose(pooled, sampled_ce(logits, hidden, labels, pools[0], 30))
    with pytest.raises(ValueError, match=r"pool_of names pools 0\.\.1 only"):
        sampled_ce(logits, hidden, labels, pools, 30, pool_of + 1)


def test_sampled_ce_with_a_row_wise_label_scorer_is_the_same_loss():
    generator = torch.Generator().manual_seed(0)
    hidden, labels, logits, own = scored_rows(generator)
    pools, pool_of = torch.randint(0, 30, (3, 12), generator=generator), torch.arange(9) % 3
    for negatives, rows in ((pools[0], None), (pools, pool_of)):
        expected = sampled_ce(logits, hidden, labels, negatives, 30, rows)
        torch.testing.assert_close(sampled_ce(logits, hidden, labels, negatives, 30, rows, own), expected)


def test_the_sampled_cloze_loss_over_the_whole_catalogue_is_its_full_ce(params, monkeypatch):
    # the module's own row-wise label scorer (embeddings and bias of RePlay's head) against full CE
    config = settings(params, "bert4rec_cloze", max_seq_len=6, hidden_size=16, loss="CE_sampled")
    module = backend_for(config.but(negatives=30), 30).build()
    generator = torch.Generator().manual_seed(0)
    items = torch.randint(0, 30, (3, 6), generator=generator)
    tokens = torch.rand(3, 6, generator=generator) > 0.4
    monkeypatch.setattr(torch, "randint", lambda high, size, **_: torch.arange(high).expand(size))
    pad_mask = torch.ones(3, 6, dtype=torch.bool)
    module.eval()  # no dropout: both losses see the same hidden states
    sampled = module._compute_loss_ce_sampled({"item_id": items}, items, pad_mask, tokens)
    full = module._compute_loss_ce({"item_id": items}, items, pad_mask, tokens)
    torch.testing.assert_close(sampled, full)


def test_the_sampled_cloze_loss_draws_a_pool_per_row_when_asked(params, monkeypatch):
    config = settings(params, "bert4rec_cloze", max_seq_len=6, hidden_size=16, loss="CE_sampled")
    module = backend_for(config.but(negatives=5, negative_pool_rows=1), 30).build()
    seen = {}

    def spy(logits, hidden, labels, negatives, vocab_size, pool_of=None, label_logits=None):
        seen.update(negatives=tuple(negatives.shape), pool_of=pool_of.tolist())
        return hidden.sum()

    monkeypatch.setattr(bert4rec, "sampled_ce", spy)
    pad_mask = torch.ones(2, 6, dtype=torch.bool)
    tokens = torch.ones(2, 6, dtype=torch.bool)
    tokens[0, 1] = tokens[1, [2, 5]] = False
    labels = torch.arange(12).view(2, 6)
    module._compute_loss({"inputs": {"item_id": labels}, "positive_labels": labels,
                          "pad_mask": pad_mask, "token_mask": tokens})  # fmt: skip
    assert seen == {"negatives": (2, 5), "pool_of": [0, 1, 1]}


def test_the_sampled_cloze_loss_leaves_unlabelled_holes_out(params, monkeypatch):
    config = settings(params, "bert4rec_cloze", max_seq_len=12, hidden_size=16, loss="CE_sampled")
    module = backend_for(config, 30).build()
    seen = {}

    def spy(logits, hidden, labels, negatives, vocab_size, pool_of=None, label_logits=None):
        seen.update(rows=len(hidden), labels=labels.tolist(), negatives=len(negatives), vocab=vocab_size)
        return hidden.sum()

    monkeypatch.setattr(bert4rec, "sampled_ce", spy)
    pad_mask = torch.ones(1, 12, dtype=torch.bool)
    pad_mask[0, :2] = False
    tokens = torch.ones(1, 12, dtype=torch.bool)
    tokens[0, [4, 7, 9]] = False  # masked: two labelled items and a hole
    labels = torch.arange(12).unsqueeze(0)
    labels[0, 7] = cloze.IGNORE
    module._compute_loss({"inputs": {"item_id": labels.clamp(min=0)}, "positive_labels": labels,
                          "pad_mask": pad_mask, "token_mask": tokens})  # fmt: skip
    assert seen == {"rows": 2, "labels": [4, 9], "negatives": min(config.negatives, 30), "vocab": 30}


def test_the_open_slot_after_the_end_counts_at_its_weight(params):
    config = settings(params, "bert4rec", max_seq_len=6, hidden_size=8, batch_size=4)
    module = backend_for(config, len(VOCAB)).build()
    history = fold({1: [(0, 10), (1, 11), (3, 12)]})
    targets = pd.DataFrame(
        {"user_id": [1, 1], "position": [2, 4], "weight": [1.0, 0.2], "tail": [False, True]}
    )
    grid = cloze.grids(history, targets, VOCAB)[1]
    assert grid.tolist() == [0, 1, cloze.TARGET, 2, cloze.TAIL]
    query = cloze.Query.of(history, targets, VOCAB)
    assert query.tail_weight == 0.2
    top = cloze.top_items([module], query, VOCAB, 10, config).set_index("item_id")["score"]
    item = cloze.GridDataset([grid], np.array([0]), 6, 0.0, None)[0]
    with torch.no_grad():
        module.eval()
        logits = module._model(
            {"item_id": item["inputs"]["item_id"][None]}, item["pad_mask"][None], item["token_mask"][None]
        )[0, item["target_mask"]]
    hole, tail = torch.softmax(logits, dim=-1)[:, [3, 4, 5]].numpy()
    np.testing.assert_allclose(top.loc[[13, 14, 15]].to_numpy(), (hole + 0.2 * tail) / 1.2, rtol=1e-5)


def test_scoring_in_blocks_of_users_ranks_as_scoring_all_at_once(params):
    config = settings(params, "bert4rec", max_seq_len=6, hidden_size=8, batch_size=4)
    module = backend_for(config, len(VOCAB)).build()
    history = fold({u: [(0, 10 + u % 3), (1, 11 + u % 4), (3, 12)] for u in range(1, 8)})
    targets = pd.DataFrame({"user_id": range(1, 8), "position": 2, "weight": 1.0, "tail": False})
    query = cloze.Query.of(history, targets, VOCAB)
    whole = cloze.top_items([module], query, VOCAB, 10, config)
    blocks = cloze.top_items([module], query, VOCAB, 10, config.but(score_block_users=2))
    assert whole["user_id"].nunique() == 7
    # seen items stay removed in every block: each user's own, counted from the block's first user
    assert not blocks.merge(history, on=["user_id", "item_id"]).shape[0]
    pd.testing.assert_frame_equal(blocks, whole, check_exact=False, rtol=1e-5)
