"""Output folder handling: refuse to overwrite, write files whole."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["REPORT_NAME", "prepare_out_dir", "write_bytes"]

REPORT_NAME = "report.html"


def prepare_out_dir(
    out_dir: str | os.PathLike[str], overwrite: bool, also: Iterable[str] = ()
) -> Path:
    """Create ``out_dir`` and check that nothing in it would be overwritten.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created with its parents if missing).
    overwrite : bool
        Replace an existing report (and its chart files) if True.
    also : iterable of str
        Further file names the report will write (chart PNGs).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    FileExistsError
        If ``overwrite`` is False and ``report.html`` or one of ``also``
        already exists; the message names the path.
    NotADirectoryError
        If ``out_dir`` exists and is not a folder.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: report output must be a folder, and this is a file")
    if not overwrite:
        for name in (REPORT_NAME, *also):
            p = out / name
            if p.exists():
                raise FileExistsError(
                    f"{p} already exists; refusing to overwrite it (pass overwrite=True, "
                    "or choose another output folder)"
                )
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file whole: to a temporary name first, then rename over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
