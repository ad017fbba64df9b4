"""Scrap classification of assessed metres: quality flags and settling windows after restarts."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["restart_positions", "settling_mask"]

_POS_TOL_M = 1e-9


def restart_positions(running: NDArray[np.bool_], pos: NDArray[np.float64]) -> NDArray[np.float64]:
    """Web positions at which the line restarted.

    A restart is a row where ``line_running`` goes False -> True; the web
    starts moving from where it stood, the position of the previous row.

    Parameters
    ----------
    running : ndarray of bool, shape (n,)
        ``line_running`` per row.
    pos : ndarray, shape (n,)
        Web position per row (m).

    Returns
    -------
    ndarray
        Restart positions (m), non-decreasing.
    """
    r = np.flatnonzero(running[1:] & ~running[:-1]) + 1
    return pos[r - 1]


def settling_mask(
    p: NDArray[np.float64], starts: NDArray[np.float64], length_m: float
) -> NDArray[np.bool_]:
    """Which metres lie in a settling window ``[s, s + length_m)`` after some restart position ``s``.

    Parameters
    ----------
    p : ndarray
        Metre positions (m).
    starts : ndarray
        Restart positions (m), non-decreasing.
    length_m : float
        Settling length (m). A half-open window of integer length ``S`` holds
        exactly ``S`` integer metres; overlapping windows count a metre once.

    Returns
    -------
    ndarray of bool
    """
    if starts.size == 0 or length_m <= 0.0 or p.size == 0:
        return np.zeros(p.shape, dtype=bool)
    # windows are ordered and equally long: the last start at or before p ends last
    j = np.searchsorted(starts, p + _POS_TOL_M, side="right") - 1
    ok = j >= 0
    end = np.where(ok, starts[np.maximum(j, 0)] + length_m, -np.inf)
    return ok & (p < end - _POS_TOL_M)
