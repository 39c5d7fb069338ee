"""Atomic saves: a write that dies leaves the target as it was, never a truncated file that a resumed
run (``--only-missing-outputs``) would take as done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro_datasets.pickle import PickleDataset as PlainPickleDataset

from recsys_challenge.datasets import CSVDataset, ParquetDataset, PickleDataset

# A child process saves [10 MB of bytes, an object whose pickling signals and then blocks]: the bytes
# reach the file before the block, so the parent kills it halfway through a real write.
KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kedro.utils import load_obj

    class Blocks:
        def __reduce__(self):
            Path(sys.argv[3]).touch()
            time.sleep(600)

    dataset = load_obj(sys.argv[1])(filepath=sys.argv[2])
    dataset.save([b"x" * 10_000_000, Blocks()])
    """
)


def kill_mid_write(dataset_type: str, target: Path, tmp_path: Path) -> None:
    """Start a save of ``dataset_type`` to ``target`` in a child and SIGKILL it mid-write."""
    started = tmp_path / "started"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, dataset_type, str(target), str(started)],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert child.poll() is None, "the writer died before it blocked"
            assert time.monotonic() < deadline, "the writer never reached the blocking object"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)


def test_a_plain_dataset_killed_mid_write_leaves_a_file_that_looks_complete(tmp_path):
    """What the atomic types exist for: kedro-datasets' own type leaves a truncated target behind."""
    target = tmp_path / "plain.pkl"
    kill_mid_write("kedro_datasets.pickle.PickleDataset", target, tmp_path)
    dataset = PlainPickleDataset(filepath=str(target))
    assert dataset.exists()
    with pytest.raises(DatasetError):
        dataset.load()


def test_a_dataset_killed_mid_write_keeps_the_previous_file_and_never_looks_complete(tmp_path):
    target = tmp_path / "model.pkl"
    kill_mid_write("recsys_challenge.datasets.PickleDataset", target, tmp_path)
    assert not PickleDataset(filepath=str(target)).exists()
    assert [p.name for p in tmp_path.glob(".model.pkl.*.partial")], "the kill left its partial file"

    PickleDataset(filepath=str(target)).save({"first": 1})
    kill_mid_write("recsys_challenge.datasets.PickleDataset", target, tmp_path)
    assert PickleDataset(filepath=str(target)).load() == {"first": 1}


def test_a_later_save_removes_what_killed_writes_left(tmp_path):
    target = tmp_path / "model.pkl"
    kill_mid_write("recsys_challenge.datasets.PickleDataset", target, tmp_path)
    PickleDataset(filepath=str(target)).save([1, 2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl", "started"]
    assert PickleDataset(filepath=str(target)).load() == [1, 2]


class Unwritable:
    """A frame whose parquet conversion fails after the file was opened."""


def test_a_failed_save_leaves_the_old_table_and_no_partial_file(tmp_path):
    target = tmp_path / "folds" / "table.parquet"
    old = pd.DataFrame({"user_id": [1, 2], "item_id": [3, 4]})
    ParquetDataset(filepath=str(target)).save(old)
    broken = pd.DataFrame({"user_id": [1], "item_id": [Unwritable()]})
    with pytest.raises(DatasetError):
        ParquetDataset(filepath=str(target)).save(broken)
    pd.testing.assert_frame_equal(ParquetDataset(filepath=str(target)).load(), old)
    assert [p.name for p in target.parent.iterdir()] == ["table.parquet"]


def test_saves_write_what_the_plain_types_write(tmp_path):
    frame = pd.DataFrame({"user_id": [2, 1], "item_id": [5, 6], "score": [0.5, 0.25]})
    ParquetDataset(filepath=str(tmp_path / "new" / "a.parquet")).save(frame)
    CSVDataset(filepath=str(tmp_path / "a.csv"), save_args={"index": False}).save(frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "new" / "a.parquet"), frame)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), frame)
