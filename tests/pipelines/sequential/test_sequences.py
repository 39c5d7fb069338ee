"""Data preparation of the sequential models: vocabulary, sequences, long-history filter, windows."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.sequences import (
    filter_long_sequences,
    item_vocabulary,
    long_filter_is_noop,
    training_sequences,
    training_windows,
    user_sequences,
)

from .conftest import settings


def test_vocabulary_covers_catalog_and_events(folds):
    vocab = item_vocabulary(folds["items"], folds["interactions"])
    assert set(folds["interactions"]["item_id"]) <= set(vocab)
    assert list(vocab) == sorted(vocab)


def test_user_sequences_follow_order_not_file_rows():
    fold = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [30, 10, 20, 10], "order": [2, 0, 1, 0]})
    vocab = item_vocabulary(pd.DataFrame({"item_id": [10, 20, 30]}))
    assert user_sequences(fold, vocab).to_dict() == {1: [0, 1, 2], 2: [0]}


def test_long_sequence_filter_keeps_the_last_events():
    fold = pd.DataFrame({"user_id": [1] * 5 + [2] * 2, "item_id": range(7), "order": [0, 1, 2, 3, 4, 0, 1]})
    kept = filter_long_sequences(fold, 3)
    assert kept.groupby("user_id")["item_id"].agg(list).to_dict() == {1: [2, 3, 4], 2: [5, 6]}
    assert filter_long_sequences(fold, None) is fold


def test_the_no_op_warning_knows_each_backends_rows_and_the_stride(params, caplog):
    sasrec = settings(params, "sasrec_long", max_seq_len=10, max_train_events=10, train_stride=None)
    # SASRec rows hold max_seq_len + 1 events (inputs and their shifted targets): 10 still cuts them
    assert backend_for(sasrec, 5).train_window == 11
    assert not long_filter_is_noop(sasrec, 11)
    assert long_filter_is_noop(sasrec.but(max_train_events=11), 11)
    # with a stride, training reads whole histories, so any filter removes something
    assert not long_filter_is_noop(sasrec.but(max_train_events=50, train_stride=5), 11)
    bert = settings(params, "bert4rec", max_seq_len=10, max_train_events=10, train_stride=None)
    assert backend_for(bert, 5).train_window == 10 and long_filter_is_noop(bert, 10)
    fold = pd.DataFrame({"user_id": [1] * 3, "item_id": [0, 1, 2], "order": [0, 1, 2]})
    vocab = item_vocabulary(fold)
    with caplog.at_level(logging.WARNING):
        training_sequences(fold, vocab, sasrec, 11)
        assert "no effect" not in caplog.text
        training_sequences(fold, vocab, sasrec.but(max_train_events=11), 11)
    assert "sasrec_long: max_train_events=11 >= the 11 events a training row holds" in caplog.text


def test_training_windows_cover_long_histories_once_per_stride():
    seqs = pd.Series([list(range(10)), [1, 2, 3]], index=[5, 6])
    assert training_windows(seqs, 4, None).to_dict() == {5: [6, 7, 8, 9], 6: [1, 2, 3]}
    # windows end 4 events apart, the oldest starts the history, a short one is kept whole
    assert training_windows(seqs, 4, 4).tolist() == [[6, 7, 8, 9], [2, 3, 4, 5], [0, 1, 2, 3], [1, 2, 3]]
    assert training_windows(seqs, 4, 3).tolist() == [[6, 7, 8, 9], [3, 4, 5, 6], [0, 1, 2, 3], [1, 2, 3]]
    with pytest.raises(ValueError, match="train_stride must be >= 1 or null, got 0"):
        training_windows(seqs, 4, 0)
