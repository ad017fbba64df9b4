"""Time gaps, segments, and resampling of SI columns onto the harness's uniform grid."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from mpc.historian._columns import SiColumn
from mpc.historian._read import RawLog

__all__ = ["find_segments", "resample_segment"]


def find_segments(
    raw: RawLog, times_utc: pd.DatetimeIndex, t_s: np.ndarray, max_gap_s: float, on_long_gap: str
) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` between time gaps longer than ``max_gap_s``.

    Raises
    ------
    LogDataError
        A gap is longer than ``max_gap_s`` and ``on_long_gap`` is ``"error"``.
    """
    d = np.diff(t_s)
    long = np.flatnonzero(d > max_gap_s)
    if long.size and on_long_gap == "error":
        k = int(long[0]) + 1
        raise raw.error(
            f"time gap of {d[k - 1]:g} s between {times_utc[k - 1].isoformat()} (row {k}) and "
            f"{times_utc[k].isoformat()} is longer than [gaps] max_gap_s = {max_gap_s:g} s "
            "(raise max_gap_s, or set on_long_gap = 'split' to replay the parts one by one)",
            index=k,
        )
    bounds = [0, *(int(i) + 1 for i in long), len(t_s)]
    return list(itertools.pairwise(bounds))


def _interp(t: np.ndarray, v: np.ndarray, grid: np.ndarray, how: str) -> np.ndarray:
    ok = ~np.isnan(v)
    tv, vv = t[ok], v[ok]
    if how == "linear":
        return np.interp(grid, tv, vv)
    i = np.searchsorted(tv, grid + 1e-9, side="right") - 1
    return vv[np.clip(i, 0, vv.size - 1)]


def resample_segment(
    t_s: np.ndarray, columns: list[SiColumn], a: int, b: int, step_s: float
) -> pd.DataFrame:
    """Resample rows ``[a, b)`` onto ``0, step_s, ...`` up to the segment's last stamp.

    Time gaps and NaN runs shorter than the limits are bridged: linearly,
    or holding the last value for ``"hold"`` channels.

    Returns
    -------
    pandas.DataFrame
        Index ``time_s`` (from the segment's first row), one SI column per
        :class:`SiColumn`.
    """
    t = t_s[a:b] - t_s[a]
    n = int(np.floor(t[-1] / step_s + 1e-9)) + 1
    grid = np.arange(n) * step_s
    data = {c.si_name: _interp(t, c.values[a:b], grid, c.interpolation) for c in columns}
    return pd.DataFrame(data, index=pd.Index(grid, name="time_s"))
