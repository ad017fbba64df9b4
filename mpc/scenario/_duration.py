"""What ``--duration`` means: one effective run length, used for everything.

A run may be shorter or longer than the scenario's ``duration_s``. The
effective duration then sizes everything that depends on the run's length:
the weather window, the solids drift and random walk
(:class:`mpc.scenario.PlantDisturbances`), the number of steps and the
KPI window. The warm-up actually used is :func:`warmup_used_s`; the run's
metadata and report state that value.
"""

from __future__ import annotations

import math
import warnings

from mpc.errors import CalmlineError, CalmlineWarning
from mpc.scenario._schema import Scenario

__all__ = [
    "MAX_DURATION_S",
    "late_events",
    "run_duration_s",
    "warmup_used_s",
    "warn_about_duration",
]

MAX_DURATION_S = 7 * 86400.0
"""Longest run, s (a week of line time; the scenario format's own limit)."""


def run_duration_s(sc: Scenario, duration_s: float | None = None, *, what: str = "--duration") -> float:
    """The effective run length, s: ``duration_s`` if given, else the scenario's.

    Raises
    ------
    CalmlineError
        ``duration_s`` is not a finite number of seconds from one control
        interval to :data:`MAX_DURATION_S`.
    """
    if duration_s is None:
        return float(sc.duration_s)
    try:
        d = float(duration_s)
    except (TypeError, ValueError):
        raise CalmlineError(f"{what} = {duration_s!r}: expected a number of seconds") from None
    dt = sc.control_interval_s
    if not math.isfinite(d) or not dt <= d <= MAX_DURATION_S:
        raise CalmlineError(
            f"{what} = {duration_s!r}: expected a run length from one control interval ({dt:g} s) to "
            f"{MAX_DURATION_S:.0f} s (7 days)"
        )
    return d


def warmup_used_s(sc: Scenario, duration_s: float) -> float:
    """Start of the KPI window, s: the scenario's warm-up, or half the run if the run is shorter than that."""
    return min(sc.warmup_s, 0.5 * duration_s)


def late_events(sc: Scenario, duration_s: float) -> list[str]:
    """The scheduled events of the scenario at or after the run's end (they will not happen)."""
    out: list[str] = []
    d = sc.disturbances
    groups = (
        ("schedule.speed_changes", sc.schedule.speed_changes),
        ("disturbances.slurry.batch_changes", d.slurry.batch_changes),
        ("disturbances.line_stops", d.line_stops),
        ("disturbances.heater_efficiency", d.heater_efficiency),
        ("disturbances.fan_flow_factor", d.fan_flow_factor),
        ("disturbances.analyser_faults", d.analyser_faults),
    )
    for key, events in groups:
        for i, ev in enumerate(events):
            if ev.t_s >= duration_s:
                out.append(f"{key}[{i}] at {ev.t_s:g} s")
    return out


def warn_about_duration(sc: Scenario, duration_s: float, *, stacklevel: int = 2) -> None:
    """Warn (:class:`CalmlineWarning`) when the run is shorter than the warm-up or ends before scheduled events."""
    if duration_s <= sc.warmup_s:
        warnings.warn(CalmlineWarning(
            f"{sc.name}: the run ({duration_s:g} s) is not longer than the scenario's warm-up "
            f"({sc.warmup_s:g} s); the KPIs start at {warmup_used_s(sc, duration_s):g} s, half the run"
        ), stacklevel=stacklevel + 1)
    late = late_events(sc, duration_s)
    if late:
        warnings.warn(CalmlineWarning(
            f"{sc.name}: the run ends at {duration_s:g} s, before scheduled event(s) {', '.join(late)}"
        ), stacklevel=stacklevel + 1)
