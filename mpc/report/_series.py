"""Time-series helpers for plotting: zone discovery, decimation, step lines, intervals.

Plotting 28,800 points per line costs time and shows nothing a reader can
see; the report decimates lines to a few thousand points with a min/max
rule (each bucket keeps its smallest and largest sample, in time order), so
peaks such as a short LEL excursion survive. KPIs are never computed here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "MAX_LINE_POINTS",
    "change_points",
    "column",
    "minmax_decimate",
    "true_intervals",
    "zone_ids",
]

#: Upper bound on points drawn per line.
MAX_LINE_POINTS = 2400

_ZONE_LEL = re.compile(r"^zone(\d+)_lel_frac$")
_ZONE_ANY = re.compile(r"^zone(\d+)_")


def zone_ids(columns: pd.Index) -> list[int]:
    """Zone numbers of a run, from its ``zone{i}_lel_frac`` columns.

    Falls back to any ``zone{i}_`` column when the LEL columns are absent.

    Parameters
    ----------
    columns : pandas.Index
        Column names of the time series.

    Returns
    -------
    list of int
        Sorted zone numbers (empty if none).
    """
    ids = {int(m.group(1)) for c in columns if (m := _ZONE_LEL.match(str(c)))}
    if not ids:
        ids = {int(m.group(1)) for c in columns if (m := _ZONE_ANY.match(str(c)))}
    return sorted(ids)


def column(ts: pd.DataFrame, name: str) -> np.ndarray | None:
    """Float values of a column, or None if it is missing or holds no finite value."""
    if name not in ts.columns:
        return None
    try:
        y = pd.to_numeric(ts[name], errors="coerce").to_numpy(dtype=float)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(y).any():
        return None
    return y


def minmax_decimate(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Decimate a line for plotting, keeping each bucket's min and max.

    Parameters
    ----------
    x, y : numpy.ndarray
        Abscissa (monotonic) and values; NaN values stay gaps where a bucket
        holds nothing else.
    max_points : int
        Upper bound on returned points.

    Returns
    -------
    x, y : numpy.ndarray
        Decimated arrays, in the original order.
    decimated : bool
        True if points were dropped.
    """
    n = len(y)
    if n <= max_points:
        return x, y, False
    buckets = max(1, max_points // 2)
    k = -(-n // buckets)  # ceil
    pad = buckets * k - n
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, k)
    lo = np.where(np.isnan(yy), np.inf, yy).argmin(axis=1)
    hi = np.where(np.isnan(yy), -np.inf, yy).argmax(axis=1)
    base = np.arange(buckets) * k
    idx = np.concatenate([base + np.minimum(lo, hi), base + np.maximum(lo, hi)])
    idx = np.unique(np.clip(idx, 0, n - 1))
    return x[idx], y[idx], True


def change_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points where a piecewise-constant signal changes (for ``drawstyle='steps-post'``).

    Exact, unlike decimation: a limit or schedule line keeps every step.
    The last sample is kept so the line reaches the end of the run.
    """
    if len(y) == 0:
        return x, y
    same = np.zeros(len(y), dtype=bool)
    same[1:] = (y[1:] == y[:-1]) | (np.isnan(y[1:]) & np.isnan(y[:-1]))
    same[-1] = False
    return x[~same], y[~same]


def true_intervals(x: np.ndarray, flag: np.ndarray) -> list[tuple[float, float]]:
    """Intervals ``(start, end)`` of ``x`` where ``flag`` is true.

    A true sample at index k covers ``[x[k], x[k+1])``; the last one ends at
    ``x[-1]``.
    """
    f = np.asarray(flag, dtype=bool)
    if len(f) == 0 or not f.any():
        return []
    edges = np.diff(np.concatenate([[0], f.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    out = []
    for s, e in zip(starts, ends, strict=True):
        out.append((float(x[s]), float(x[min(e, len(x) - 1)])))
    return out
