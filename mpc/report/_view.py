"""What every chart of one run needs: the checked time series and its time axis.

:class:`RunView` is built once per run from the caller's ``ts``, ``kpis``
and ``meta`` (validated here, with errors that name the problem) and passed
to every chart function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mpc.report._series import column, true_intervals, zone_ids
from mpc.report._units import time_axis

__all__ = ["RunView", "check_ts", "make_view"]


@dataclass
class RunView:
    """One run, ready to plot.

    Attributes
    ----------
    ts : pandas.DataFrame
        Time series indexed by ``time_s``.
    kpis, meta : dict
        KPI record and run metadata as given.
    t_s : numpy.ndarray
        Time, s.
    t_div : float
        Divisor from seconds to the time-axis unit.
    t_label : str
        Time-axis label with its unit.
    warmup_s : float
        End of the warm-up period, s (0 if none).
    stops_s : list of (float, float)
        Intervals with the line stopped, s.
    zones : list of int
        Zone numbers.
    """

    ts: pd.DataFrame
    kpis: dict[str, Any]
    meta: dict[str, Any]
    t_s: np.ndarray
    t_div: float
    t_label: str
    warmup_s: float
    stops_s: list[tuple[float, float]] = field(default_factory=list)
    zones: list[int] = field(default_factory=list)

    @property
    def tx(self) -> np.ndarray:
        """Time in axis units."""
        return self.t_s / self.t_div

    def col(self, name: str) -> np.ndarray | None:
        """Float values of a column, or None when missing or empty."""
        return column(self.ts, name)

    def meta_float(self, key: str) -> float | None:
        """A finite float from ``meta``, or None."""
        v = self.meta.get(key)
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return f if np.isfinite(f) else None


def check_ts(ts: Any, what: str = "ts") -> pd.DataFrame:
    """Validate a run's time series and return it indexed by float seconds.

    Parameters
    ----------
    ts : pandas.DataFrame
        Index ``time_s`` (float s), or a ``time_s`` column.
    what : str
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        The frame, indexed by float time (a copy only if re-indexed).

    Raises
    ------
    TypeError
        If ``ts`` is not a DataFrame or its time cannot be read as seconds.
    ValueError
        If the time is not non-decreasing.
    """
    if not isinstance(ts, pd.DataFrame):
        raise TypeError(
            f"{what}: expected a pandas DataFrame indexed by time_s, got {type(ts).__name__}"
        )
    if ts.index.name != "time_s" and "time_s" in ts.columns:
        ts = ts.set_index("time_s")
    try:
        t = np.asarray(ts.index, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what}: index {ts.index.name!r} of type {ts.index.dtype} is not time in seconds; "
            "expected a float index named time_s"
        ) from None
    if len(t) > 1 and np.any(np.diff(t) < 0):
        raise ValueError(f"{what}: index time_s must be non-decreasing")
    return ts


def make_view(ts: pd.DataFrame, kpis: dict[str, Any], meta: dict[str, Any]) -> RunView:
    """Build the :class:`RunView` of one run (``ts`` already checked)."""
    t = np.asarray(ts.index, dtype=float)
    span = float(t[-1] - min(t[0], 0.0)) if len(t) else 0.0
    t_div, t_label = time_axis(span)
    try:
        warmup = float(meta.get("warmup_s") or 0.0)
    except (TypeError, ValueError):
        warmup = 0.0
    running = column(ts, "line_running")
    stops = true_intervals(t, running < 0.5) if running is not None else []
    return RunView(
        ts=ts,
        kpis=kpis,
        meta=meta,
        t_s=t,
        t_div=t_div,
        t_label=t_label,
        warmup_s=warmup if np.isfinite(warmup) else 0.0,
        stops_s=stops,
        zones=zone_ids(ts.columns),
    )
