"""A bad input file stops ``kedro run`` with a message naming the file, not with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from kedro.io import DatasetError

from recsys_challenge import cli
from recsys_challenge.cli import data_error_message
from recsys_challenge.hooks import EmptyRawFileHook
from recsys_challenge.schemas import RawDataError, check_not_empty
from tests.conftest import copy_project

EVENTS = "data/01_raw/events.csv"


def empty(path: Path) -> None:
    path.write_bytes(b"")


def rating_out_of_range(path: Path) -> None:
    events = pd.read_csv(path)
    events.loc[3, "rating"] = 9
    events.to_csv(path, index=False)


@pytest.fixture(scope="module")
def bad_runs(project_root, tmp_path_factory) -> dict[str, tuple[Path, int, str, str]]:
    """``kedro run --env test --pipelines data_processing`` on project copies with a broken events.csv.

    Both runs start at once (each is mostly imports); returns name -> (project, exit status, stdout, stderr).
    """
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    started = {}
    for breaks in (empty, rating_out_of_range):
        project = copy_project(project_root, tmp_path_factory.mktemp(breaks.__name__))
        breaks(project / EVENTS)
        with (project / "stdout").open("w") as out, (project / "stderr").open("w") as err:
            cmd = [kedro, "run", "--env", "test", "--pipelines", "data_processing"]
            started[breaks.__name__] = (
                project,
                subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=err),
            )
    return {
        name: (
            project,
            proc.wait(timeout=300),
            (project / "stdout").read_text(),
            (project / "stderr").read_text(),
        )
        for name, (project, proc) in started.items()
    }


@pytest.mark.slow
def test_an_empty_events_file_is_named_without_a_traceback(bad_runs):
    project, status, stdout, stderr = bad_runs["empty"]
    assert status == 1, stdout + stderr
    assert f"Error: {EVENTS}: the file is empty (0 bytes, {project / EVENTS})" in stderr
    assert "Traceback" not in stdout + stderr
    assert not (project / "data" / "03_primary").exists()  # nothing written


@pytest.mark.slow
def test_a_contract_violation_prints_the_message_alone(bad_runs):
    project, status, stdout, stderr = bad_runs["rating_out_of_range"]
    assert status == 1, stdout + stderr
    message = f"{EVENTS} breaks its contract:\n  column 'rating': check 'in_range(1, 5)' fails for 1 row(s)"
    assert f"Error: {message}" in stderr
    assert "Traceback" not in stdout + stderr
    assert not (project / "data" / "03_primary").exists()


@pytest.mark.parametrize("verbose", [False, True])
def test_run_shows_the_traceback_of_a_data_error_only_when_verbose(monkeypatch, verbose):
    def failing_run(**options):
        raise RuntimeError("node failed") from RawDataError(f"{EVENTS}: column 'rating' ...")

    monkeypatch.setattr(cli.kedro_run, "callback", failing_run)
    result = CliRunner().invoke(cli.run, ["--verbose"] if verbose else [])
    assert result.exit_code == 1
    if verbose:  # the original exception propagates, as without this command
        assert isinstance(result.exception, RuntimeError)
    else:
        assert isinstance(result.exception, SystemExit)
        assert (
            result.output
            == f"Error: {EVENTS}: column 'rating' ...\n(kedro run --verbose shows the traceback)\n"
        )


def test_run_lets_other_errors_through(monkeypatch):
    def failing_run(**options):
        raise ValueError("a bug")

    monkeypatch.setattr(cli.kedro_run, "callback", failing_run)
    assert isinstance(CliRunner().invoke(cli.run, []).exception, ValueError)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_an_empty_or_blank_file_is_named(tmp_path, content):
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    with pytest.raises(RawDataError, match=f"^{EVENTS}: the file is empty \\({len(content)} bytes"):
        check_not_empty(path, EVENTS)
    path.write_text("user_id,item_id,rating,timestamp\n")
    check_not_empty(path, EVENTS)  # a header alone is the contract's to report, with its columns
    check_not_empty(tmp_path / "absent.csv", EVENTS)  # a missing file is Kedro's to report


def test_the_hook_checks_the_raw_files_the_catalog_reads(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"")
    hook = EmptyRawFileHook()
    hook.after_catalog_created(
        conf_catalog={"events": {"filepath": str(path)}, "remote": {"filepath": "s3://bucket/x.csv"}},
        parameters={"params:data_processing": {"sources": {"events": EVENTS, "remote": "x.csv"}}},
    )
    hook.before_dataset_loaded("interactions@pandas", None)  # not a raw file
    hook.before_dataset_loaded("remote", None)  # not a local file
    with pytest.raises(RawDataError, match=f"^{EVENTS}: the file is empty"):
        hook.before_dataset_loaded("events", None)


def _raised(outer: type[Exception], inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer(f"wrapped: {exc}") from exc
    except Exception as exc:
        return exc


def test_data_errors_are_found_through_the_exception_chain():
    assert (
        data_error_message(_raised(RuntimeError, RawDataError("bad.csv: column 'x'")))
        == "bad.csv: column 'x'"
    )
    empty = _raised(DatasetError, pd.errors.EmptyDataError("No columns to parse from file"))
    assert data_error_message(empty).startswith("wrapped: No columns to parse from file\nThe file is empty")
    assert data_error_message(_raised(DatasetError, OSError("disk full"))) is None
    assert data_error_message(ValueError("a bug")) is None
