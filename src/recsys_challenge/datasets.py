"""File datasets that save atomically: write a hidden sibling, then rename it over the target.

``kedro run --only-missing-outputs`` skips a node whose persisted outputs exist. A process killed while
a plain kedro-datasets dataset writes leaves a truncated file at the target path, which such a resumed
run would take as done. These subclasses write to ``.<name>.<random>.partial`` beside the target and
rename it into place only once the write has finished: on a local disk (POSIX ``rename``) the target is
either the old file, the new one or absent, never a half. On object stores ``mv`` is copy-then-delete,
still never visible under the target's name before the copy is whole.

The catalog names them instead of kedro-datasets' own types; arguments are the same.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import get_filepath_str
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.pickle import PickleDataset as _PickleDataset
from kedro_datasets.plotly import JSONDataset as _PlotlyJSONDataset

PARTIAL = ".partial"


def partial_path(target: PurePosixPath) -> PurePosixPath:
    """A unique hidden sibling of ``target`` to write to before the rename."""
    return target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}{PARTIAL}"


class AtomicSave:
    """Mixin for kedro-datasets file datasets (``_fs``, ``_protocol``, ``_get_save_path``)."""

    _writing_to: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        return self._writing_to or super()._get_save_path()

    def _fs_path(self, path: PurePosixPath) -> str:
        return get_filepath_str(path, self._protocol)

    def save(self, data: Any) -> None:
        target = super()._get_save_path()
        self._writing_to = partial_path(target)
        try:
            super().save.__wrapped__(self, data)
            self._fs.mv(self._fs_path(self._writing_to), self._fs_path(target), recursive=True)
        except BaseException:
            with contextlib.suppress(OSError):
                if self._fs.exists(self._fs_path(self._writing_to)):
                    self._fs.rm(self._fs_path(self._writing_to), recursive=True)
            raise
        finally:
            self._writing_to = None
        self._remove_stale_partials(target)
        self._fs.invalidate_cache(self._fs_path(target))

    def _remove_stale_partials(self, target: PurePosixPath) -> None:
        """What a killed process left beside ``target`` (it never got to the rename)."""
        pattern = self._fs_path(target.parent / f".{target.name}.*{PARTIAL}")
        for leftover in self._fs.glob(pattern):
            with contextlib.suppress(OSError):
                self._fs.rm(leftover, recursive=True)


class ParquetDataset(AtomicSave, _ParquetDataset):
    """``pandas.ParquetDataset``, saved atomically."""


class CSVDataset(AtomicSave, _CSVDataset):
    """``pandas.CSVDataset``, saved atomically."""


class PickleDataset(AtomicSave, _PickleDataset):
    """``pickle.PickleDataset``, saved atomically."""


class JSONDataset(AtomicSave, _JSONDataset):
    """``json.JSONDataset``, saved atomically."""


class PlotlyJSONDataset(AtomicSave, _PlotlyJSONDataset):
    """``plotly.JSONDataset``, saved atomically."""


class MatplotlibDataset(AtomicSave, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` (one figure), saved atomically."""
