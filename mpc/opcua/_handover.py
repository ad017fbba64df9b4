"""Hand-overs between the PLC's recipe and a remote controller, measured on a served run.

A hand-over is an interval in which loops change between recipe mode and remote (or manual) mode.
For each, :func:`handovers` gives when it happened, why (the PLC's event: ``watchdog``, ``stale``,
``released``, or a controller's take-over), how long after the cause (a hand-back: simulated
seconds since the controller's last heartbeat; a take-over: since the heartbeat came back), and
the largest step of any loop's working set point and of any plant input over the hand-over and
the ramp after it, as a fraction of that loop's move limit over one control interval (the PLC's
set-point rate, the actuator's rate): 1.0 is a move at the limit, above 1.0 a bump.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpc.opcua._events import Event
from plants.plc import LoopSpec

__all__ = ["Handover", "handovers"]


@dataclass(frozen=True)
class Handover:
    """One hand-over.

    Attributes
    ----------
    kind : {"to_recipe", "to_remote"}
        Which way.
    t_s : float
        The end of the interval in which it happened, simulated s.
    cause : str
        The PLC's event (``watchdog``, ``stale``, ``released``) or ``remote`` (a controller's write).
    loops : tuple of str
        The loops that changed.
    latency_s : float
        ``to_recipe`` by the watchdog: seconds from the last heartbeat to the hand-back (the trip's
        scan); ``to_remote``: seconds from the heartbeat's return to the take-over; NaN otherwise.
    max_setpoint_step_frac : float
        Largest step of a loop's working set point over one interval, from the hand-over to
        ``window_s`` after it, as a fraction of that loop's set-point rate x the interval.
    max_input_step_frac : float
        The same for the plant inputs (the interval means), against the actuators' rates.
    worst_loop : str
        The loop of the largest set-point step.
    """

    kind: str
    t_s: float
    cause: str
    loops: tuple[str, ...]
    latency_s: float
    max_setpoint_step_frac: float
    max_input_step_frac: float
    worst_loop: str


def handovers(ts: pd.DataFrame, events: Sequence[Event], specs: Sequence[LoopSpec], *,
              window_s: float = 60.0) -> list[Handover]:
    """The hand-overs of a served run (its time series, its event log, the PLC's loops)."""
    dt = float(ts.index[1] - ts.index[0]) if len(ts) > 1 else 1.0
    modes = ts[[s.mode_key for s in specs]].to_numpy() != 0
    sp = ts[[s.setpoint_key for s in specs]].to_numpy(float)
    u = ts[[s.output for s in specs]].to_numpy(float)
    sp_lim = np.array([s.setpoint_rate_per_s * dt for s in specs])
    u_lim = np.array([s.output_rate_per_s * dt for s in specs])
    with np.errstate(divide="ignore", invalid="ignore"):
        sp_frac = np.abs(np.diff(sp, axis=0)) / sp_lim
        u_frac = np.abs(np.diff(u, axis=0)) / u_lim
    sp_frac = np.nan_to_num(sp_frac, nan=0.0, posinf=0.0)
    u_frac = np.nan_to_num(u_frac, nan=0.0, posinf=0.0)
    plc = [e for e in events if e.source == "plc"]
    beats = [e.t_s for e in plc if e.what == "heartbeat"]
    trips = [e for e in plc if e.what == "watchdog"]
    t_end = ts.index.to_numpy(float)
    out: list[Handover] = []
    n_win = max(round(window_s / dt), 1)
    was = np.vstack([np.zeros((1, len(specs)), bool), modes])  # the line starts in recipe mode
    for i in range(len(ts)):
        off = was[i] & ~modes[i]
        on = ~was[i] & modes[i]
        for kind, mask in (("to_recipe", off), ("to_remote", on)):
            if not mask.any():
                continue
            t0, t1 = t_end[i] - dt, t_end[i]
            loops = tuple(s.name for s, m in zip(specs, mask, strict=True) if m)
            latency = math.nan
            if kind == "to_recipe":
                causes = [e for e in plc if t0 - 1e-9 <= e.t_s <= t1 + 1e-9
                          and e.what in ("watchdog", "stale", "released")]
                cause = causes[0].what if causes else "unknown"
                trip = next((e for e in trips if t0 - 1e-9 <= e.t_s <= t1 + 1e-9), None)
                if trip is not None:
                    latency = trip.value
            else:
                cause = "remote"
                since = max((h.t_s for h in out if h.kind == "to_recipe"), default=-math.inf)
                back = [b for b in beats if since - dt - 1e-9 <= b <= t1 + 1e-9]
                if back:
                    latency = max(t0 - back[-1], 0.0)
            lo, hi = max(i - 1, 0), min(max(i - 1, 0) + n_win, len(sp_frac))
            win_sp = sp_frac[lo:hi]
            win_u = u_frac[lo:hi]
            j = int(np.argmax(win_sp.max(axis=0))) if win_sp.size else 0
            out.append(Handover(kind, float(t1), cause, loops, latency,
                                float(win_sp.max()) if win_sp.size else 0.0,
                                float(win_u.max()) if win_u.size else 0.0, specs[j].name))
    return out

