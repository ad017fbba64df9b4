"""Where a report goes: an output folder of :mod:`mpc.outputs` (calmline's own files only)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from mpc.outputs import OutputFolder

__all__ = ["REPORT_NAME", "report_folder"]

REPORT_NAME = "report.html"


@contextmanager
def report_folder(
    out_dir: str | os.PathLike[str] | OutputFolder, names: Iterable[str], overwrite: bool
) -> Iterator[OutputFolder]:
    """The folder a report is written into.

    An :class:`~mpc.outputs.OutputFolder` is used as it is (its command
    writes the report among its other files); a path becomes one for the
    report's own files ``names``: created if missing, refused when it holds
    files unless ``overwrite``, and then only calmline's report files are
    replaced (see :mod:`mpc.outputs`).

    Raises
    ------
    OutputExistsError
        As :class:`~mpc.outputs.OutputFolder` does (a ``FileExistsError``).
    """
    if isinstance(out_dir, OutputFolder):
        yield out_dir
        return
    with OutputFolder(out_dir, names, force=overwrite, whole=False) as folder:
        yield folder
