"""The settings of one co-visitation generator (a ``params:<model>`` block, e.g. ``params:covisit``),
validated by Kedro before any node runs: every key, its type and its default live here.

The template's ``params:config`` becomes ``params:<model>`` in each namespace; Kedro reads the
``CovisitationSettings`` hint of the template's nodes (and of the reranker's hole features, which read
the same block) and builds the object from the block. A misspelt key or a string where a number belongs
fails the run before its first node, naming the key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class CovisitationSettings(BaseModel):
    """Items at most ``window`` positions apart co-occur (1/distance); targets are scored from their
    visible neighbours up to ``window`` away on both sides (see ``parameters_covisitation.yml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str  # the block's key: names the model in its metrics row
    window: int = Field(ge=1)  # positions apart that still co-occur, and neighbours a target reads
    # scores of popular items are divided by (their events + 1) ** this (0: unscaled)
    popularity_exponent: float = Field(0.0, ge=0.0)
    candidates_k: int = Field(ge=1)  # candidates per user
    ks_test: list[PositiveInt] = Field(min_length=1)  # cut-offs of the test metrics
