"""The settings of the splitting pipeline (the ``params:splitting`` block), validated by Kedro before any
node runs: every key, its type and its default live here.

Kedro reads the ``SplittingSettings`` hint of the splitting nodes and builds the object from the block; a
misspelt key, a string where a number belongs or an impossible combination fails the run before its
first node, naming the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recsys_challenge.core import GAPS, NEXT_ITEM

AUTO = "auto"  # gaps when the raw data has holes (the competition's form), next_item otherwise


class Settings(BaseModel):
    """Frozen, every key declared, no type coerced (``"0.2"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NextItemHoldout(Settings):
    """Each user's last events: ``n`` of them (``last_n``; 1 is leave-one-out) or a ``fraction`` of
    them (``ratio``, as in the competition's ~10% holdout)."""

    strategy: Literal["last_n", "ratio"]
    n: int | None = Field(None, ge=1)
    fraction: float | None = Field(None, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _sized(self) -> NextItemHoldout:
        if self.strategy == "last_n" and self.n is None:
            raise ValueError("strategy last_n needs n (events held out per user)")
        if self.strategy == "ratio" and self.fraction is None:
            raise ValueError("strategy ratio needs fraction (share of each user's events held out)")
        return self


class GapsHoldout(Settings):
    """Each event hidden with probability ``fraction``, drawn with ``seed``; positions stay as holes."""

    fraction: float = Field(gt=0.0, lt=1.0)
    seed: int = 0


class GapsWindows(Settings):
    """The gaps holdout of each window; the rerank share is of what the test split leaves."""

    test: GapsHoldout
    rerank: GapsHoldout


class SplittingSettings(Settings):
    """How the test and rerank windows are cut from each user's events (see ``parameters_splitting.yml``)."""

    # next_item: the ``test`` and ``rerank`` holdouts (each user's last events); gaps: the competition's
    # random positions (``gaps``); auto: gaps when the raw positions have holes. ``decide_protocol``
    # turns it into next_item or gaps once, for every later node.
    protocol: Literal["auto", "next_item", "gaps"] = AUTO
    test: NextItemHoldout
    rerank: NextItemHoldout
    min_events_to_split: int = Field(ge=1)  # users with fewer events stay whole in the training side
    drop_cold_users: bool  # drop holdout rows whose user never occurs in the training side of the split
    drop_cold_items: bool  # the same for items
    gaps: GapsWindows | None = None
    tail_weight: float = Field(ge=0.0)  # of the slot after a user's last event among a window's targets

    @model_validator(mode="after")
    def _gaps_given(self) -> SplittingSettings:
        if self.protocol != NEXT_ITEM and self.gaps is None:
            raise ValueError(f"protocol {self.protocol} needs the gaps block (its holdout per window)")
        return self

    def holdout(self, protocol: str, window: str) -> NextItemHoldout | GapsHoldout:
        """The holdout of ``window`` (test or rerank) under the decided ``protocol`` (next_item or gaps)."""
        if protocol != GAPS:
            return getattr(self, window)
        if self.gaps is None:
            raise ValueError("splitting: the gaps protocol needs the gaps block")
        return getattr(self.gaps, window)
