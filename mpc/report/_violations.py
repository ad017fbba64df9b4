"""What a run broke and which targets it missed, in words.

:func:`run_violations`: the LEL limit in force or no good web (exit code 3,
the comparison's badges); :func:`run_verdict`: those, and every fixed target of
:data:`mpc.report.TARGETS` the run missed (the one-line verdict of the reports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mpc.report._kpis import as_float, kpi_spec
from mpc.report._targets import LEL_TARGET, TARGETS, Target

__all__ = ["Verdict", "run_verdict", "run_violations", "targets_text"]

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
    above_s = as_float(kpis.get(LEL_TARGET.key))
    if above_s is not None and not LEL_TARGET.met_by(above_s):
        out.append(f"safety: {above_s:.0f} s above the LEL limit in force ({_worst_lel(kpis, ts)})")
    flag = kpis.get("no_good_web")
    if isinstance(flag, bool | np.bool_) and bool(flag):
        out.append(_no_good_web(kpis))
    return out


@dataclass(frozen=True)
class Verdict:
    """A run against the fixed targets.

    Attributes
    ----------
    violations : tuple of str
        What the run broke (:func:`run_violations`): the LEL limit in force,
        no good web.
    missed : tuple of str
        Every target not met, in words: the violations first, then each
        other target of :data:`mpc.report.TARGETS` the run missed or whose
        KPI the record lacks.
    """

    violations: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def met(self) -> bool:
        """True when every target is met (and nothing was broken)."""
        return not self.missed

    @property
    def text(self) -> str:
        """The one-line verdict: ``"targets met"`` or ``"targets not met: ..."``."""
        return "targets met" if self.met else "targets not met: " + "; ".join(self.missed)


def _shown(key: str, value: float, bound: float | None = None) -> str:
    """A KPI value in display units: a bound as short as it goes (``0.99`` -> ``99 %``); a value
    as the report formats it, with more digits where that would read as the bound it misses."""
    spec = kpi_spec(key)
    shown = float(spec.convert(value))
    text = f"{shown:.6g}"
    if bound is not None:
        text = spec.fmt.format(shown)
        if text == spec.fmt.format(float(spec.convert(bound))):
            text = f"{shown:.6g}"
    return f"{text} {spec.unit}" if spec.unit not in ("", "count") else text


def _missed(target: Target, value: float) -> str:
    return (
        f"{target.name} {_shown(target.key, value, target.bound)} "
        f"(target {target.relation} {_shown(target.key, target.bound)})"
    )


def targets_text() -> str:
    """The fixed targets in words: ``"time above the LEL limit in force ≤ 0 s, coat-weight Cpk ≥ 1.33, ..."``."""
    return ", ".join(f"{t.name} {t.relation} {_shown(t.key, t.bound)}" for t in TARGETS)


def run_verdict(kpis: Mapping[str, Any], ts: pd.DataFrame | None = None) -> Verdict:
    """The run against the fixed targets of :data:`mpc.report.TARGETS`.

    Parameters
    ----------
    kpis : mapping
        The run's KPI record.
    ts : pandas.DataFrame, optional
        The run's time series, for the words of a safety violation
        (:func:`run_violations`).

    Returns
    -------
    Verdict
        ``text`` such as ``"targets met"`` or ``"targets not met: coat-weight
        Cpk 1.12 (target ≥ 1.33); yield 97.20 % (target ≥ 99.00 %)"``. A
        target whose KPI the record lacks (or holds as a non-number) is not
        met: ``"yield unknown (yield_frac not in the KPI record)"``.
    """
    violations = tuple(run_violations(kpis, ts))
    missed = list(violations)
    for target in TARGETS:
        value = as_float(kpis.get(target.key))
        if value is None:
            missed.append(f"{target.name} unknown ({target.key} not in the KPI record)")
        elif target is not LEL_TARGET and not target.met_by(value):
            missed.append(_missed(target, value))  # the LEL target's miss is a violation above
    return Verdict(violations=violations, missed=tuple(missed))
