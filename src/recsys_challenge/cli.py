"""Project CLI: ``kedro run`` that reports a bad input file as a message, not as a crash.

Kedro uses the ``run`` command of a project's ``cli.py`` instead of its own (``kedro run`` and
``python -m recsys_challenge`` both). This one is Kedro's, with the same options, plus ``--verbose``:
when a run fails because an input file breaks its contract (:class:`~recsys_challenge.schemas.RawDataError`)
or cannot be parsed at all (an empty CSV), it prints what is wrong with which file and exits 1; the
traceback of Kedro's internals shows only with ``--verbose``. Any other failure raises as before.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.io import DatasetError
from pandas.errors import EmptyDataError

from recsys_challenge.schemas import RawDataError


def _chain(exc: BaseException | None):
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def data_error_message(exc: BaseException) -> str | None:
    """What to tell the user when ``exc`` is a problem of their data; ``None`` for anything else."""
    chain = list(_chain(exc))
    for error in chain:
        if isinstance(error, RawDataError):
            return str(error)
    if any(isinstance(error, EmptyDataError) for error in chain):
        # a file without a single column; Kedro's message names the dataset and its filepath
        loading = next((e for e in chain if isinstance(e, DatasetError)), exc)
        return f"{loading}\nThe file is empty: it needs a header row and data rows."
    return None


class DataProblem(click.ClickException):
    """Printed as ``Error: <message>`` on stderr, exit status 1, no traceback."""


@click.group(context_settings=CONTEXT_SETTINGS, name=__name__.split(".")[0])
def cli() -> None:
    """Project commands of recsys_challenge."""


@cli.command(
    params=[
        *kedro_run.params,
        click.Option(
            ["--verbose", "-v"], is_flag=True, help="Show the full traceback when the input data is bad."
        ),
    ],
    help=kedro_run.help,
    short_help="Run the pipeline (bad input files are reported without a traceback).",
)
def run(verbose: bool, **options: Any) -> dict[str, Any]:
    try:
        return kedro_run.callback(**options)
    except Exception as exc:
        message = data_error_message(exc)
        if message is None or verbose:
            raise
        raise DataProblem(f"{message}\n(kedro run --verbose shows the traceback)") from exc
