"""The settings of one sequential model (a ``params:<model>`` block), validated by Kedro before any node
runs: every key, its type and its default live here, and the YAML lists what a model changes.

Kedro reads the ``SequentialSettings`` hint of the template's nodes and builds the object from the
block; a misspelt key, a string where a number belongs or an impossible combination fails the run
before its first node, naming the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recsys_challenge.core import LATER_WINDOWS

WARM = "warm"
SAMPLED = "_sampled"  # the suffix of a loss's sampled form


class SequentialSettings(BaseModel):
    """One SASRec or BERT4Rec generator: network, training, placement, refits and scoring."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str  # the block's key: names the model in logs, metrics and errors
    model: Literal["sasrec", "bert4rec"] = "sasrec"  # the backend
    # next_item: rank what follows a sequence; cloze (bert4rec, loss CE): fill the holes of each sequence
    task: Literal["next_item", "cloze"] = "next_item"

    # ---- network
    hidden_size: int = Field(64, ge=1)
    num_heads: int = Field(2, ge=1)
    num_blocks: int = Field(2, ge=1)
    max_seq_len: int = Field(200, ge=2)  # events (slots, for cloze) one row holds
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    # on the attention weights (None: ``dropout``, as in plain RePlay); 0 lets torch run its fused
    # attention on a CPU (benchmarks/results/speed_attention.md)
    attention_dropout: float | None = Field(None, ge=0.0, lt=1.0)
    loss: Literal["CE", "CE_sampled", "BCE", "BCE_sampled"] = "CE"
    negatives: int = Field(256, ge=1)  # negatives per pool for the sampled losses
    # CE_sampled: the training rows that share one pool of ``negatives`` (BCE_sampled keeps RePlay's
    # one pool per batch); None: one pool per batch
    # (RePlay's CESampled), which leaves most items unsampled when an epoch makes few steps
    # (benchmarks/results/catalog_size_pools*.md)
    negative_pool_rows: int | None = Field(None, ge=1)
    # from this catalogue size on, a full loss trains as its sampled form (CE as CE_sampled, BCE as
    # BCE_sampled, ``negatives`` per batch): the full softmax at every target grows with the catalogue
    # (benchmarks/results/catalog_size*.md: the cloze BERT4Rec kept its quality with one pool per
    # batch, SASRec with 1024 negatives per row); None: the loss as written, whatever the size
    sampled_loss_from_items: int | None = Field(None, ge=2)
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)  # of SASRec's full-CE loss
    mask_prob: float = Field(0.15, gt=0.0, lt=1.0)  # BERT4Rec: share of a row's items masked

    # ---- training
    learning_rate: float = Field(0.001, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(128, ge=1)
    # full: rows padded to max_seq_len, every position scored (plain RePlay); trimmed: a batch cut to its
    # longest row, SASRec's loss on target positions only; bucketed: as trimmed, rows of similar length
    # batched together
    batching: Literal["full", "trimmed", "bucketed"] = "bucketed"
    bucket_size: int = Field(32, ge=1)  # SASRec: rows of a training batch run together, by length
    partition_batches: int = Field(32, ge=1)  # ParquetModule reads this many batches per partition
    epochs: int = Field(40, ge=1)
    patience: int = Field(5, ge=1)  # early stopping on validation ndcg@monitor_k
    monitor_k: int = Field(10, ge=1)
    ks: list[int] = [10, 20]  # validation metrics
    seed: int = 42
    # members trained with seeds seed, seed+1, ...; candidates rank by their mean probability
    ensemble: int = Field(1, ge=1)
    # keep each user's last N events for training (None: all)
    max_train_events: int | None = Field(None, ge=1)
    # without a stride a row is each user's last max_seq_len events; a stride adds the windows ending
    # stride, 2 * stride, ... events earlier
    train_stride: int | None = Field(None, ge=1)
    checkpoint_dir: str | None = None  # None: a temporary folder; a path keeps best/last checkpoints
    resume_from: str | None = None  # a Lightning checkpoint to resume the first member's fit from

    # ---- placement
    accelerator: str = "auto"  # a GPU is used when present
    devices: int | str | list[int] = 1  # one device: several would start DDP, which relaunches the run
    precision: int | str = "32-true"  # e.g. bf16-mixed on a recent GPU
    deterministic: bool = True
    progress_bar: bool = True

    # ---- later windows (test, final)
    # warm: from the previous window's weights for warm_epochs; true: from scratch for the best epoch
    # count; false: reuse the previous window's model; a list (or comma-separated string) of windows
    # to retrain from scratch
    refit: bool | str | list[str] = WARM
    warm_epochs: int = Field(3, ge=1)

    # ---- scoring
    candidates_k: int = Field(100, ge=1)  # candidates per user for the reranker
    # users scored at once by the hole and cloze readings: bounds their users x items probability table
    score_block_users: int = Field(2048, ge=1)
    ks_test: list[int] = [10, 20, 100]
    # SASRec in windows with holes: left_context reads each hole after the visible event before it,
    # end ranks once from the sequence's end
    hole_scoring: Literal["left_context", "end"] = "left_context"
    # SASRec filling holes: forward reads a hole's left context, backward its right one (a network
    # trained on reversed sequences), both averages the two
    direction: Literal["forward", "backward", "both"] = "forward"

    @field_validator("refit")
    @classmethod
    def _known_windows(cls, refit: bool | str | list[str]) -> bool | str | list[str]:
        if isinstance(refit, bool) or refit == WARM:
            return refit
        names = [w.strip() for w in refit.split(",")] if isinstance(refit, str) else refit
        unknown = sorted(set(names) - set(LATER_WINDOWS) - {""})
        if unknown:
            raise ValueError(
                f"unknown window(s) {unknown}; use true, false, warm or a list of {list(LATER_WINDOWS)}"
            )
        return refit

    @model_validator(mode="after")
    def _cloze_needs_bert4rec_and_ce(self) -> SequentialSettings:
        # holes carry CE's ignore label: only the CE losses leave such slots out
        if self.task == "cloze" and (self.model != "bert4rec" or not self.loss.startswith("CE")):
            raise ValueError(
                "task cloze needs model bert4rec and loss CE or CE_sampled; "
                f"got model {self.model!r}, loss {self.loss!r}"
            )
        return self

    def for_catalog(self, n_items: int) -> SequentialSettings:
        """These settings over a catalogue of ``n_items``: with the sampled form of a full loss from
        ``sampled_loss_from_items`` items on, else unchanged."""
        threshold = self.sampled_loss_from_items
        if threshold is None or n_items < threshold or self.loss.endswith(SAMPLED):
            return self
        return self.but(loss=f"{self.loss}{SAMPLED}")

    @property
    def refit_windows(self) -> set[str]:
        """The later windows to retrain for (from scratch, or warm)."""
        refit = self.refit
        if isinstance(refit, bool) or refit == WARM:
            return set(LATER_WINDOWS) if refit else set()
        names = [w.strip() for w in refit.split(",")] if isinstance(refit, str) else refit
        return {w for w in names if w}

    @property
    def warm(self) -> bool:
        """Whether refits start from the previous window's weights."""
        return self.refit == WARM

    @property
    def member_seeds(self) -> list[int]:
        """One seed per ensemble member: ``seed``, ``seed + 1``, ..."""
        return [self.seed + i for i in range(self.ensemble)]

    @property
    def attention_rate(self) -> float:
        """The dropout on attention weights: ``attention_dropout``, else ``dropout``."""
        return self.dropout if self.attention_dropout is None else self.attention_dropout

    def but(self, **changes: object) -> SequentialSettings:
        """A copy with ``changes`` (a member's seed, a run's placement), validated like the original."""
        return self.model_validate({**self.model_dump(), **changes})
