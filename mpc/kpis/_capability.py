"""Process capability (Cp, Cpk and one-sided Cpk) with a finite-value guarantee.

The standard deviation is the overall sample standard deviation (``ddof=1``)
of all the values, not a within-subgroup estimate: in quality-engineering
terms these are Pp and Ppk. The key names keep ``cp``/``cpk``.

Finite by construction:

* fewer than 2 values: every index is ``0.0`` (and the caller flags the run);
* ``s <= S_REL_TOL * scale`` (``scale`` the largest of ``|LSL|``, ``|USL|``,
  ``|mean|`` and ``USL - LSL``): the spread is zero to round-off; ``Cp``
  becomes ``cap`` and ``Cpk`` becomes ``+cap`` / ``-cap`` / ``0.0`` for a mean
  strictly inside / outside / exactly on the limit;
* otherwise the ratio is clipped to ``[-cap, cap]`` (``Cp`` is never negative).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["S_REL_TOL", "capability", "capability_upper", "weighted_stats"]

#: relative threshold below which the sample standard deviation counts as zero
S_REL_TOL = 1e-12


def weighted_stats(x: ArrayLike, w: ArrayLike | None = None) -> tuple[float, float, float]:
    """``(n, mean, s)`` of a sample, each value counted ``w`` times (frequency weights, e.g. metres).

    ``n`` is the total weight and ``s`` the sample standard deviation with
    Bessel's correction, ``sqrt(sum w (x - mean)^2 / (n - 1))``: with unit
    weights, ``numpy.std(x, ddof=1)``. With ``n < 2`` there is no spread:
    ``s = 0``.
    """
    a = np.asarray(x, dtype=float).ravel()
    wt = np.ones_like(a) if w is None else np.asarray(w, dtype=float).ravel()
    n = float(wt.sum())
    if a.size == 0 or n <= 0.0:
        return 0.0, 0.0, 0.0
    mean = float(np.dot(wt, a) / n)
    if n < 2.0:
        return n, mean, 0.0
    return n, mean, float(np.sqrt(max(np.dot(wt, (a - mean) ** 2), 0.0) / (n - 1.0)))


def _stats(x: ArrayLike, w: ArrayLike | None = None) -> tuple[float, float, float]:
    return weighted_stats(x, w)


def _ratio(margin: float, s: float, scale: float, cap: float) -> float:
    """``margin / (3 s)`` clipped to ``[-cap, cap]``, with the zero-spread rule."""
    if s <= S_REL_TOL * scale:
        return float(np.sign(margin) * cap)
    return float(np.clip(margin / (3.0 * s), -cap, cap))


def capability(x: ArrayLike, lsl: float, usl: float, cap: float = 5.0,
               weights: ArrayLike | None = None) -> tuple[float, float]:
    """Two-sided capability of a sample against ``[lsl, usl]``.

    Parameters
    ----------
    x : array_like
        The sample (plant truth, e.g. one value per metre).
    lsl, usl : float
        Specification limits, ``lsl < usl``.
    cap : float, optional
        Bound on the magnitude of both indices (default 5.0).
    weights : array_like, optional
        Frequency weights (e.g. metres of web per value; :func:`weighted_stats`);
        ``None``: one per value.

    Returns
    -------
    cp, cpk : float
        ``Cp = (USL - LSL) / (6 s)`` in ``[0, cap]`` and
        ``Cpk = min(USL - mean, mean - LSL) / (3 s)`` in ``[-cap, cap]``, with
        ``s`` the sample standard deviation (``ddof=1``): Pp and Ppk.
        ``(0.0, 0.0)`` for fewer than 2 values.
    """
    n, mean, s = _stats(x, weights)
    if n < 2:
        return 0.0, 0.0
    scale = max(abs(lsl), abs(usl), abs(mean), usl - lsl)
    cp = _ratio(0.5 * (usl - lsl), s, scale, cap)
    cpk = _ratio(min(usl - mean, mean - lsl), s, scale, cap)
    return max(cp, 0.0), cpk


def capability_upper(x: ArrayLike, usl: float, cap: float = 5.0) -> float:
    """One-sided (upper-limit-only) capability ``Cpk = (USL - mean) / (3 s)``.

    Parameters
    ----------
    x : array_like
        The sample.
    usl : float
        Upper specification limit.
    cap : float, optional
        Bound on the magnitude (default 5.0).

    Returns
    -------
    float
        In ``[-cap, cap]``; ``0.0`` for fewer than 2 values (Ppk, ``ddof=1``).
    """
    n, mean, s = _stats(x)
    if n < 2:
        return 0.0
    scale = max(abs(usl), abs(mean))
    return _ratio(usl - mean, s, scale, cap)
