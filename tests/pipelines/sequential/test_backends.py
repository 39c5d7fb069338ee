"""Backend settings shared by SASRec and BERT4Rec (``pipelines/sequential/backends/__init__.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from recsys_challenge.pipelines.sequential import cloze
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.settings import SequentialSettings

from .conftest import CFG, N_ITEMS, SASREC, grid, sasrec_batch


def training_outputs(config: SequentialSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Two training-mode passes of a fresh network of ``config`` over the same batch."""
    torch.manual_seed(0)
    module = backend_for(config, N_ITEMS).build()
    if config.model == "sasrec":
        features, mask = sasrec_batch([2, 9, 3, 5], config.max_seq_len, N_ITEMS)
        module.model.train()
        return module.model.body(features, mask)[mask], module.model.body(features, mask)[mask]
    dataset = cloze.GridDataset([np.asarray(r) for r in grid([5, 9, 7])], np.arange(3), 12, 0.0, None)
    batch = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    module._model.train()
    run = lambda: module._model(batch["inputs"], batch["pad_mask"], batch["token_mask"])  # noqa: E731
    return run(), run()


@pytest.mark.parametrize("config", [CFG, SASREC], ids=["bert4rec", "sasrec"])
def test_attention_dropout_acts_on_the_attention_weights_alone(config):
    first, second = training_outputs(config.but(dropout=0.0, attention_dropout=0.5))
    assert not torch.allclose(first, second)  # a fresh attention mask on every pass
    first, second = training_outputs(config.but(dropout=0.0, attention_dropout=0.0))
    torch.testing.assert_close(first, second)

    network = backend_for(config.but(dropout=0.3, attention_dropout=0.0), N_ITEMS).build()
    attention = [m for m in network.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    others = [m for m in network.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(attention) == config.num_blocks and all(m.dropout == 0.0 for m in attention)
    assert others and all(m.p == 0.3 for m in others)
    # unset (or null), the attention weights get the model's dropout, as in plain RePlay
    network = backend_for(config.but(dropout=0.3), N_ITEMS).build()
    assert all(m.dropout == 0.3 for m in network.modules() if isinstance(m, torch.nn.MultiheadAttention))


def test_an_attention_dropout_out_of_range_is_named():
    with pytest.raises(ValidationError, match=r"attention_dropout\n  Input should be less than 1"):
        SASREC.but(attention_dropout=1.0)
    with pytest.raises(ValidationError, match=r"attention_dropout\n  Input should be greater than or equal"):
        SASREC.but(attention_dropout=-0.1)


def sampled_loss_and_full_ce(config: SequentialSettings, model: torch.nn.Module):
    """``config``'s training loss of ``model`` over one fixed random batch, as a function of the batch's
    negatives, and the full-catalogue CE of the same batch."""
    from recsys_challenge.pipelines.sequential.backends.sasrec import TargetOnlyCE

    full = TargetOnlyCE(ignore_index=N_ITEMS)
    full.logits_callback = model.get_logits
    hidden = torch.randn(4, 7, config.hidden_size) * 2
    labels = torch.randint(0, N_ITEMS, (4, 7, 1))
    targets = torch.rand(4, 7, 1) > 0.3

    def loss(negatives: torch.Tensor, of: torch.nn.Module = model.loss) -> float:
        return float(of(hidden, {}, labels, negatives, None, targets))

    return loss, loss(torch.arange(N_ITEMS), full)


def test_sasrec_sampled_ce_estimates_its_full_ce():
    # the sampling correction: without it, a third of the catalogue as negatives lowers the loss by
    # about log(3); with the whole catalogue drawn the two are the same loss
    torch.manual_seed(0)
    config = SASREC.but(loss="CE_sampled")
    loss, expected = sampled_loss_and_full_ce(config, backend_for(config, N_ITEMS).build().model)
    assert loss(torch.arange(N_ITEMS)) == pytest.approx(expected, rel=1e-5)
    draws = [loss(torch.randperm(N_ITEMS)[: N_ITEMS // 3]) for _ in range(50)]
    assert np.mean(draws) == pytest.approx(expected, abs=0.2)


def test_sasrec_pools_of_negatives_come_one_per_row_and_estimate_the_full_ce():
    from replay.nn.transform import GroupedUniformNegativeSamplingTransform

    torch.manual_seed(0)
    config = SASREC.but(loss="CE_sampled", negatives=N_ITEMS // 3, negative_pool_rows=1)
    backend = backend_for(config, N_ITEMS)
    sampler = backend._transforms()["train"][0]
    assert isinstance(sampler, GroupedUniformNegativeSamplingTransform)
    drawn = sampler({"item_id": torch.zeros(4, 7, dtype=torch.long)})["negative_labels"]
    assert drawn.shape == (4, N_ITEMS // 3)

    loss, expected = sampled_loss_and_full_ce(config, backend.build().model)
    assert loss(torch.arange(N_ITEMS).repeat(4, 1)) == pytest.approx(expected, rel=1e-5)
    # row 0 against the whole catalogue, the others against nothing but their own label: not the full CE
    assert loss(torch.stack([torch.arange(N_ITEMS)] * 4)) != pytest.approx(
        loss(torch.stack([torch.arange(N_ITEMS), *[torch.zeros(N_ITEMS, dtype=torch.long)] * 3]))
    )
    pools = lambda: torch.stack([torch.randperm(N_ITEMS)[: N_ITEMS // 3] for _ in range(4)])  # noqa: E731
    draws = [loss(pools()) for _ in range(50)]
    assert np.mean(draws) == pytest.approx(expected, abs=0.2)


def test_bce_sampled_keeps_one_pool_per_batch_whatever_the_pool_rows():
    # RePlay's BCESampled reads one pool per batch or per row, never grouped pools
    config = SASREC.but(loss="BCE_sampled", negatives=7, negative_pool_rows=4)
    sampler = backend_for(config, N_ITEMS)._transforms()
    drawn = sampler["train"][0]({"item_id": torch.zeros(8, 7, dtype=torch.long)})["negative_labels"]
    assert drawn.shape == (7,)
