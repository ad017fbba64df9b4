"""Validation of a run's time series into plain NumPy arrays."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mpc.kpis._errors import KpiInputError

__all__ = ["REQUIRED_COLUMNS", "RunArrays", "read_run"]

#: columns every run must hold (plus ``zone1_lel_frac`` ... ``zoneN_lel_frac``)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "web_position_m",
    "coat_weight_die_kg_m2",
    "exit_residual_kg_kg",
    "max_film_temp_K",
    "critical_window_rate_ratio",
    "lel_limit_frac",
    "dryer_power_W",
    "heater_power_W",
    "fan_power_W",
    "solvent_recovery_power_W",
    "makeup_air_heat_W",
    "line_running",
    "step_time_ms",
    "solver_failure",
    "fallback",
)
_FLAGS = ("line_running", "solver_failure", "fallback")
#: optional 0/1 column: the steps on which the controller ran its online optimisation (absent: none did)
SOLVED_COLUMN = "solved"
#: optional 0/1 column: the intervals a controller answered (absent: every one; over OPC UA a stalled or
#: disconnected controller answers none); the step-time KPIs are over the answered ones
ANSWERED_COLUMN = "controller_answered"
_ZONE_LEL = re.compile(r"^zone(\d+)_lel_frac$")
#: relative tolerance on the spread of the time step
_DT_RTOL = 1e-6

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RunArrays:
    """The validated columns of a run (one entry per row)."""

    t: FloatArray
    dt: float
    pos: FloatArray
    coat_weight: FloatArray
    residual: FloatArray
    film_temp: FloatArray
    crit_ratio: FloatArray
    lel: FloatArray  # shape (n, zones)
    lel_limit: FloatArray
    power: FloatArray
    heater_power: FloatArray
    fan_power: FloatArray
    recovery_power: FloatArray
    makeup_heat: FloatArray
    running: NDArray[np.bool_]
    step_ms: FloatArray
    answered: NDArray[np.bool_]
    solver_failure: FloatArray
    fallback: FloatArray
    solved: NDArray[np.bool_]


def _expected() -> str:
    return ", ".join((*REQUIRED_COLUMNS, "zone1_lel_frac ... zoneN_lel_frac"))


def _column(ts: pd.DataFrame, name: str, t: FloatArray) -> FloatArray:
    if name not in ts.columns:
        raise KpiInputError(
            f"column {name!r} is missing from the run's time series; expected columns: {_expected()}"
        )
    col = ts[name]
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise KpiInputError(f"column {name!r} has dtype {col.dtype}: expected numbers")
    a = col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise KpiInputError(
            f"column {name!r} holds {a[i].item()!r} at time_s = {t[i].item()!r} (row {i}): expected finite numbers"
        )
    return a


def _time(ts: pd.DataFrame) -> tuple[FloatArray, float]:
    if ts.index.name != "time_s":
        hint = " (time_s is a column: use ts.set_index('time_s'))" if "time_s" in ts.columns else ""
        raise KpiInputError(
            f"the index of the run's time series is {ts.index.name!r}: expected 'time_s'{hint}"
        )
    if not pd.api.types.is_numeric_dtype(ts.index):
        raise KpiInputError(f"index 'time_s' has dtype {ts.index.dtype}: expected seconds (floats)")
    t = np.asarray(ts.index, dtype=float)
    if t.size < 2:
        raise KpiInputError(f"the run has {t.size} row(s): expected at least 2")
    bad = ~np.isfinite(t)
    if bad.any():
        i = int(np.argmax(bad))
        raise KpiInputError(
            f"index 'time_s' holds {t[i].item()!r} at row {i}: expected finite seconds"
        )
    d = np.diff(t)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0)) + 1
        raise KpiInputError(
            f"index 'time_s' is not increasing at row {i}: time_s = {t[i].item()!r} after {t[i - 1].item()!r}"
        )
    dt = float((t[-1] - t[0]) / (t.size - 1))
    off = np.abs(d - dt) > _DT_RTOL * dt
    if off.any():
        i = int(np.argmax(off)) + 1
        raise KpiInputError(
            f"index 'time_s' is not uniform: step {d[i - 1].item()!r} s at time_s = {t[i].item()!r} (row {i}), "
            f"expected {dt!r} s (one row per control interval)"
        )
    return t, dt


def read_run(ts: pd.DataFrame) -> RunArrays:
    """Check a run's time series and return its columns as arrays.

    Parameters
    ----------
    ts : pandas.DataFrame
        Index ``time_s`` (uniform, increasing), columns :data:`REQUIRED_COLUMNS`
        and ``zone1_lel_frac`` ... ``zoneN_lel_frac`` (N >= 1, no gaps); optionally
        ``solved`` (0/1: the controller ran its online optimisation on that step; absent: never).

    Returns
    -------
    RunArrays

    Raises
    ------
    KpiInputError
        Naming the column (and the first bad row's time) or the index problem.
    """
    if not isinstance(ts, pd.DataFrame):
        raise KpiInputError(
            f"the run's time series is a {type(ts).__name__}: expected a pandas DataFrame"
        )
    t, dt = _time(ts)
    cols = {name: _column(ts, name, t) for name in REQUIRED_COLUMNS}
    zones = sorted(int(m.group(1)) for c in ts.columns if (m := _ZONE_LEL.match(str(c))))
    if not zones:
        raise KpiInputError(
            f"column 'zone1_lel_frac' is missing (no zone LEL columns); expected columns: {_expected()}"
        )
    for k, z in enumerate(zones, start=1):
        if z != k:
            raise KpiInputError(
                f"column 'zone{k}_lel_frac' is missing while zone{z}_lel_frac is present: "
                "expected zone1_lel_frac ... zoneN_lel_frac without gaps"
            )
    lel = np.column_stack([_column(ts, f"zone{z}_lel_frac", t) for z in zones])
    flags = list(_FLAGS)
    for optional in (SOLVED_COLUMN, ANSWERED_COLUMN):
        if optional in ts.columns:
            cols[optional] = _column(ts, optional, t)
            flags.append(optional)
    for name in flags:
        a = cols[name]
        bad = (a != 0.0) & (a != 1.0)
        if bad.any():
            i = int(np.argmax(bad))
            raise KpiInputError(
                f"column {name!r} holds {a[i].item()!r} at time_s = {t[i].item()!r}: expected 0/1 or bool"
            )
    pos = cols["web_position_m"]
    step = np.diff(pos)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(pos))))
    if (step < -tol).any():
        i = int(np.argmax(step < -tol)) + 1
        raise KpiInputError(
            f"column 'web_position_m' decreases at time_s = {t[i].item()!r} ({pos[i - 1].item()!r} -> {pos[i].item()!r}): "
            "expected the cumulative web length past the die (non-decreasing)"
        )
    limit = cols["lel_limit_frac"]
    bad = ~((limit > 0.0) & (limit <= 1.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise KpiInputError(
            f"column 'lel_limit_frac' holds {limit[i].item()!r} at time_s = {t[i].item()!r}: expected a fraction in (0, 1]"
        )
    return RunArrays(
        t=t,
        dt=dt,
        pos=np.maximum.accumulate(pos),
        coat_weight=cols["coat_weight_die_kg_m2"],
        residual=cols["exit_residual_kg_kg"],
        film_temp=cols["max_film_temp_K"],
        crit_ratio=cols["critical_window_rate_ratio"],
        lel=lel,
        lel_limit=limit,
        power=cols["dryer_power_W"],
        heater_power=cols["heater_power_W"],
        fan_power=cols["fan_power_W"],
        recovery_power=cols["solvent_recovery_power_W"],
        makeup_heat=cols["makeup_air_heat_W"],
        running=cols["line_running"] > 0.5,
        step_ms=cols["step_time_ms"],
        solver_failure=cols["solver_failure"],
        fallback=cols["fallback"],
        solved=cols[SOLVED_COLUMN] > 0.5 if SOLVED_COLUMN in cols else np.zeros(t.size, bool),
        answered=cols[ANSWERED_COLUMN] > 0.5 if ANSWERED_COLUMN in cols else np.ones(t.size, bool),
    )
