"""Whether a run broke the LEL limit in force or made no good web, in words (exit code 3, report badges)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mpc.report._kpis import as_float

__all__ = ["run_violations"]

_ZONE_LEL = re.compile(r"^zone(\d+)_lel_frac$")


def _worst_lel(kpis: Mapping[str, Any], ts: pd.DataFrame | None) -> str:
    """Where plant truth was furthest above the limit in force, from the time series when it has the columns."""
    if ts is not None and "lel_limit_frac" in ts.columns:
        zones = sorted((int(m.group(1)), c) for c in ts.columns if (m := _ZONE_LEL.match(str(c))))
        if zones:
            lel = ts[[c for _, c in zones]].to_numpy(dtype=float)
            limit = ts["lel_limit_frac"].to_numpy(dtype=float)
            excess = np.where(np.isfinite(lel), lel - limit[:, None], -np.inf)
            i, j = np.unravel_index(int(np.argmax(excess)), excess.shape)
            return (f"worst: zone {zones[j][0]} at LEL fraction {lel[i, j]:.2f} against a limit of "
                    f"{limit[i]:.2f} at t = {float(ts.index[i]):.0f} s")
    peak = as_float(kpis.get("max_lel_fraction"))
    return "max LEL fraction " + ("unknown" if peak is None else f"{peak:.2f}")


def _no_good_web(kpis: Mapping[str, Any]) -> str:
    total = as_float(kpis.get("total_m")) or 0.0
    good = as_float(kpis.get("good_m")) or 0.0
    if total <= 0:
        return "no good web: no web was made after warm-up"
    if good <= 0:
        return f"no good web: every metre after warm-up ({total:.0f} m) was scrap"
    return f"no good web: {good:.0f} of {total:.0f} m after warm-up were good (fewer than 2)"


def run_violations(kpis: Mapping[str, Any], ts: pd.DataFrame | None = None) -> list[str]:
    """What a run broke, one sentence each; empty when it kept the LEL limit and made good web.

    Parameters
    ----------
    kpis : mapping
        The run's KPI record: ``time_above_lel_limit_s`` > 0 is a safety
        violation, ``no_good_web`` True a run that made no good web.
    ts : pandas.DataFrame, optional
        The run's time series (``zone<i>_lel_frac``, ``lel_limit_frac``):
        when given, the sentence names the zone, fraction, limit and time
        of the largest excess.

    Returns
    -------
    list of str
        Such as ``"safety: 42 s above the LEL limit in force (worst: zone 2
        at LEL fraction 0.53 against a limit of 0.50 at t = 5400 s)"`` and
        ``"no good web: every metre after warm-up (3600 m) was scrap"``.
    """
    out = []
    above_s = as_float(kpis.get("time_above_lel_limit_s"))
    if above_s is not None and above_s > 0:
        out.append(f"safety: {above_s:.0f} s above the LEL limit in force ({_worst_lel(kpis, ts)})")
    flag = kpis.get("no_good_web")
    if isinstance(flag, bool | np.bool_) and bool(flag):
        out.append(_no_good_web(kpis))
    return out
