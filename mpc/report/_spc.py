"""Individuals / moving-range (I-MR) control limits of an SPC chart.

For individuals ``x_1 .. x_n`` in production order, the moving ranges are
``MR_i = |x_i - x_(i-1)|`` of consecutive individuals and ``MR_bar`` is their
mean. Then (Montgomery, *Introduction to Statistical Quality Control*,
individuals chart):

* centre line: the mean of the individuals;
* control limits: ``mean +- E2 * MR_bar`` with ``E2 = 3 / d2 = 2.66``
  (``d2 = 1.128`` for ranges of two);
* moving-range chart: centre ``MR_bar``, upper limit ``D4 * MR_bar`` with
  ``D4 = 3.267`` (lower limit 0).

Control limits say what the process does from one sample to the next, not
what the product needs (the specification limits), and not the overall
spread behind Pp/Ppk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["D2", "D4", "E2", "ImrLimits", "imr_limits", "moving_ranges"]

#: Mean range of two normal samples in units of sigma: the short-term sigma is ``MR_bar / D2``.
D2 = 1.128
#: Individuals-chart factor 3 / d2 (d2 = 1.128 for moving ranges of two).
E2 = 2.66
#: Moving-range chart factor for the upper control limit (ranges of two).
D4 = 3.267


@dataclass(frozen=True)
class ImrLimits:
    """I-MR limits of a series of individuals.

    Attributes
    ----------
    centre : float
        Mean of the individuals (centre line).
    lcl, ucl : float
        Lower and upper control limits, ``centre -+ E2 * mr_bar``.
    mr_bar : float
        Mean moving range of consecutive individuals.
    mr_ucl : float
        Upper control limit of the moving range, ``D4 * mr_bar``.
    n : int
        Individuals used.
    n_mr : int
        Moving ranges used.
    """

    centre: float
    lcl: float
    ucl: float
    mr_bar: float
    mr_ucl: float
    n: int
    n_mr: int


def moving_ranges(x: ArrayLike, breaks: ArrayLike | None = None) -> np.ndarray:
    """``|x_i - x_(i-1)|`` of consecutive individuals; NaN where there is none.

    Parameters
    ----------
    x : array_like
        Individuals in production order (non-finite values are not samples).
    breaks : array_like of bool, optional
        True where an individual does not follow the one before it (a gap in
        the web, a restart): no moving range ends there.

    Returns
    -------
    numpy.ndarray
        Same length as ``x``; element 0 and every break are NaN.
    """
    x = np.asarray(x, dtype=float)
    mr = np.full(x.shape, np.nan)
    if x.size < 2:
        return mr
    mr[1:] = np.abs(np.diff(x))
    if breaks is not None:
        mr[np.asarray(breaks, dtype=bool)] = np.nan
    mr[0] = np.nan
    return mr


def imr_limits(x: ArrayLike, breaks: ArrayLike | None = None) -> ImrLimits | None:
    """I-MR control limits of individuals in production order.

    Parameters
    ----------
    x : array_like
        Individuals in production order; non-finite values are not samples
        (no moving range starts or ends at one).
    breaks : array_like of bool, optional
        True where an individual does not follow the one before it.

    Returns
    -------
    ImrLimits or None
        None with fewer than two finite individuals or no moving range.

    Examples
    --------
    >>> lim = imr_limits([10.0, 12.0, 11.0, 15.0, 13.0])
    >>> round(lim.centre, 3), round(lim.mr_bar, 3), round(lim.ucl, 3), round(lim.lcl, 3)
    (12.2, 2.25, 18.185, 6.215)
    """
    x = np.asarray(x, dtype=float)
    mr = moving_ranges(x, breaks)
    ok = np.isfinite(x)
    mr = mr[np.isfinite(mr)]
    if ok.sum() < 2 or mr.size == 0:
        return None
    centre = float(np.mean(x[ok]))
    mr_bar = float(np.mean(mr))
    return ImrLimits(
        centre=centre,
        lcl=centre - E2 * mr_bar,
        ucl=centre + E2 * mr_bar,
        mr_bar=mr_bar,
        mr_ucl=D4 * mr_bar,
        n=int(ok.sum()),
        n_mr=int(mr.size),
    )
