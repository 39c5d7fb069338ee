"""The settings of the reranker (the ``params:reranker`` block), validated by Kedro before any node runs:
every key, its type and its default live here.

Kedro reads the ``RerankerSettings`` hint of the reranker's nodes and builds the object from the block; a
misspelt key (CatBoost's included) or a string where a number belongs fails the run before its first
node, naming the key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

AUTO = "auto"  # the loss picked from the labels (``nodes.catboost_params``)
# a CatBoost number as written in the YAML: an int stays an int (3 and 3.0 pickle differently)
Number = int | float


class Settings(BaseModel):
    """Frozen, every key declared, no type coerced (``"0.2"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CatBoostSettings(Settings):
    """``CatBoostRanker``'s options; one left out (None) takes CatBoost's default. The seed comes from
    ``reranker.seed``. Another CatBoost option is declared here before it is set in the YAML."""

    # auto: QuerySoftMax when every user has one positive, YetiRank when users have several; or a name
    loss_function: str = AUTO
    eval_metric: str | None = None
    iterations: PositiveInt | None = None
    learning_rate: Number | None = Field(None, gt=0)
    depth: PositiveInt | None = None
    l2_leaf_reg: Number | None = Field(None, ge=0)
    early_stopping_rounds: PositiveInt | None = None
    thread_count: int | None = None  # -1: every core
    allow_writing_files: bool | None = None
    boosting_type: Literal["Ordered", "Plain"] | None = None
    border_count: PositiveInt | None = None  # histogram bins per numeric feature
    task_type: Literal["CPU", "GPU"] | None = None  # GPU: CatBoost's CUDA build on a machine with one
    devices: str | None = None  # GPU ids for task_type GPU, e.g. "0" or "0:1"

    def options(self) -> dict[str, Any]:
        """The options set, in declaration order, for ``CatBoostRanker(**options)``."""
        return self.model_dump(exclude_none=True)


class NegativeSampling(Settings):
    """Which of a user's negative candidates train the ranker: the ``hard`` ones the generators ranked
    highest (by best rank over generators, then by how many proposed them) and ``random`` others drawn
    uniformly. Every positive trains; the held-out users and every scored window keep all candidates."""

    hard: NonNegativeInt
    random: NonNegativeInt


class RerankerSettings(Settings):
    """The union of the generators' candidates, the CatBoost ranker and its evaluation
    (see ``parameters_reranker.yml``)."""

    per_generator_k: PositiveInt  # each generator's top-k enters the union
    candidates_k: PositiveInt  # reranked list length kept per user
    ks_test: list[PositiveInt] = Field(min_length=1)  # test cut-offs; the first is the gain's
    # the submission's reranker also learns the test window's labels (its metrics stay the first model's)
    final_with_test_labels: bool = False
    eval_fraction: float = Field(gt=0.0, lt=1.0)  # users held out for CatBoost's early stopping
    seed: int  # the held-out users' draw, the negatives' draw and CatBoost's random_seed
    negatives: NegativeSampling | None = None  # None: every candidate of a training user is a row
    catboost: CatBoostSettings = CatBoostSettings()
