"""Per-metre (Lagrangian) sampling of the web from a run's time series.

The rows of a run are samples of plant truth at the end of each control
interval, ``t_i = t_0 + i dt``. The web position ``x(t)`` (length that has
passed the die) is taken as linear between rows (the speed is held over an
interval), monotone non-decreasing, flat while the line is stopped.

A metre ``p`` (an integer position) passed the die at ``t_die(p)``, the first
time ``x(t) = p``, and leaves the dryer at ``t_exit(p)``, the first time
``x(t) = p + L`` (``L`` the web length from the die to the dryer exit). A
row ``i`` "holds" for the interval ``(t_i - dt, t_i]``; the rows a metre is
exposed to while in the dryer are those whose interval meets
``[t_die, t_exit]``: from the first row with ``x_i >= p`` to the first row
with ``x_i >= p + L``, both included. Peaks over those rows come from a
sparse table (O(1) per metre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MetreSamples", "RangeMax", "sample_metres", "time_at_position"]

#: tolerance (m) on integer metre positions against float round-off
_POS_TOL_M = 1e-9

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def time_at_position(t: FloatArray, pos: FloatArray, p: FloatArray) -> tuple[FloatArray, IntArray]:
    """First time the web position reaches each ``p`` (inverse of a monotone, possibly flat ``x(t)``).

    Parameters
    ----------
    t : ndarray, shape (n,)
        Row times (s), increasing.
    pos : ndarray, shape (n,)
        Web position at the rows (m), non-decreasing.
    p : ndarray, shape (m,)
        Positions to invert, within ``[pos[0], pos[-1]]``.

    Returns
    -------
    t_p : ndarray, shape (m,)
        Times (s), interpolated linearly between the bracketing rows; where
        the position is flat (a stop) the arrival time is returned.
    row : ndarray of int, shape (m,)
        Index of the first row with ``pos >= p`` (to within 1e-9 m: the row
        whose interval contains ``t_p``).
    """
    row = np.searchsorted(pos, p - _POS_TOL_M, side="left")
    row = np.minimum(row, pos.size - 1)
    prev = np.maximum(row - 1, 0)
    dpos = pos[row] - pos[prev]
    # row == 0 (p == pos[0]) or dpos == 0 cannot divide: pos[prev] < p <= pos[row] otherwise
    safe = np.where(dpos > 0.0, dpos, 1.0)
    frac = np.where(dpos > 0.0, np.clip((p - pos[prev]) / safe, 0.0, 1.0), 1.0)
    t_p = t[prev] + frac * (t[row] - t[prev])
    return t_p, row


class RangeMax:
    """Maxima of the columns of an array over many inclusive row ranges (sparse table).

    Parameters
    ----------
    values : ndarray, shape (n,) or (n, k)
        Columns to query.
    """

    def __init__(self, values: FloatArray) -> None:
        v = np.asarray(values, dtype=float)
        self._squeeze = v.ndim == 1
        v = v.reshape(v.shape[0], -1)
        levels = [v]
        width = 1
        while 2 * width <= v.shape[0]:
            prev = levels[-1]
            levels.append(np.maximum(prev[:-width], prev[width:]))
            width *= 2
        self._levels = levels

    def query(self, lo: IntArray, hi: IntArray) -> FloatArray:
        """Column maxima over rows ``lo[j] .. hi[j]`` (inclusive, ``lo <= hi``).

        Returns
        -------
        ndarray, shape (m,) or (m, k)
        """
        lo = np.asarray(lo, dtype=np.intp)
        hi = np.asarray(hi, dtype=np.intp)
        ncol = self._levels[0].shape[1]
        out = np.empty((lo.size, ncol))
        length = hi - lo + 1
        level = np.zeros(lo.size, dtype=np.intp)
        if lo.size:
            level = np.floor(np.log2(length)).astype(np.intp)
            # guard against log2 round-off at exact powers of two
            level = np.where((1 << (level + 1)) <= length, level + 1, level)
            level = np.where((1 << level) > length, level - 1, level)
        for k in np.unique(level):
            sel = level == k
            table = self._levels[int(k)]
            out[sel] = np.maximum(table[lo[sel]], table[hi[sel] - (1 << int(k)) + 1])
        return out[:, 0] if self._squeeze else out


@dataclass(frozen=True)
class MetreSamples:
    """The web, one entry per assessed metre.

    Attributes
    ----------
    position_m : ndarray
        Metre positions ``p`` (integer metres past the die).
    t_die_s, t_exit_s : ndarray
        When the metre passed the die and when it left the dryer (s).
    row_die, row_exit : ndarray of int
        First and last row of its stay in the dryer (inclusive).
    """

    position_m: FloatArray
    t_die_s: FloatArray
    t_exit_s: FloatArray
    row_die: IntArray
    row_exit: IntArray

    @property
    def n(self) -> int:
        """Number of assessed metres."""
        return int(self.position_m.size)


def sample_metres(
    t: FloatArray, pos: FloatArray, t_start: float, die_to_exit_m: float
) -> MetreSamples:
    """The metres to assess: passed the die at or after ``t_start`` and left the dryer by the last row.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Row times (s).
    pos : ndarray, shape (n,)
        Web position at the rows (m), non-decreasing.
    t_start : float
        End of the warm-up (s); clamped to the first row (the die time of web
        that passed before the first row is unknown).
    die_to_exit_m : float
        Web length from the die to the dryer exit (m).

    Returns
    -------
    MetreSamples
    """
    t_start = min(max(t_start, float(t[0])), float(t[-1]))
    pos_start = float(np.interp(t_start, t, pos))
    first = math.ceil(pos_start - _POS_TOL_M)
    last = math.floor(float(pos[-1]) - die_to_exit_m + _POS_TOL_M)
    p = np.arange(first, last + 1, dtype=float) if last >= first else np.empty(0)
    t_die, row_die = time_at_position(t, pos, p)
    # a metre within round-off of the end still counts as having left
    t_exit, row_exit = time_at_position(t, pos, np.minimum(p + die_to_exit_m, pos[-1]))
    return MetreSamples(
        position_m=p, t_die_s=t_die, t_exit_s=t_exit, row_die=row_die, row_exit=row_exit
    )
