"""Writing a KPI record to JSON without losing anything the user has."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_kpis_json"]


def _plain(key: str, value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"KPI {key!r} = {v!r}: a KPI record holds finite numbers only")
        return v
    if isinstance(value, str):
        return value
    raise TypeError(
        f"KPI {key!r} = {value!r} ({type(value).__name__}): expected a number, bool or str"
    )


def write_kpis_json(
    kpis: Mapping[str, Any], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a KPI record as JSON (keys in the record's order).

    Parameters
    ----------
    kpis : mapping
        A record from :func:`~mpc.kpis.compute_kpis` (numbers, bools, strings).
    path : str or path-like
        Target file; its folder must exist.
    overwrite : bool, optional
        Replace an existing file (atomically). Default False: an existing file
        is never touched.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError, TypeError
        A value is not finite or not JSON-plain.
    """
    p = Path(path)
    text = json.dumps({k: _plain(k, v) for k, v in kpis.items()}, indent=2, allow_nan=False) + "\n"
    if not overwrite:
        try:
            with p.open("x", encoding="utf-8") as fh:
                fh.write(text)
        except FileExistsError:
            raise FileExistsError(
                f"{p}: the file exists and was left untouched; pass overwrite=True to replace it"
            ) from None
        return p
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
