"""The task a model's settings and the splitting protocol call for, chosen once by ``task_for``."""

from __future__ import annotations

import pytest

from recsys_challenge.core import GAPS, NEXT_ITEM
from recsys_challenge.pipelines.sequential.tasks import cloze, holes, next_item, task_for

from ..conftest import settings


@pytest.mark.parametrize("protocol", [NEXT_ITEM, GAPS])
def test_a_cloze_model_fills_holes_under_either_protocol(params, protocol):
    assert task_for(settings(params, "bert4rec_cloze"), protocol) is cloze


def test_sasrec_reads_holes_from_their_context_under_gaps(params):
    for model in ("sasrec", "sasrec_long"):
        for direction in ("forward", "backward", "both"):
            config = settings(params, model, hole_scoring="left_context", direction=direction)
            assert task_for(config, GAPS) is holes


@pytest.mark.parametrize(
    ("model", "changes", "protocol"),
    [
        ("sasrec", {}, NEXT_ITEM),  # no holes: what follows the sequence
        ("sasrec", {"hole_scoring": "end"}, GAPS),  # holes ranked once from the sequence's end
        ("bert4rec", {}, GAPS),  # next-item BERT4Rec scores the last position under either protocol
        ("bert4rec", {}, NEXT_ITEM),
    ],
    ids=["sasrec-next_item", "sasrec-end-gaps", "bert4rec-gaps", "bert4rec-next_item"],
)
def test_everything_else_ranks_the_next_item(params, model, changes, protocol):
    assert task_for(settings(params, model, **changes), protocol) is next_item


@pytest.mark.parametrize("task", [cloze, holes, next_item], ids=["cloze", "holes", "next_item"])
def test_every_task_answers_the_whole_interface(task):
    assert all(callable(getattr(task, name, None)) for name in ("fit", "refit", "recommend"))
