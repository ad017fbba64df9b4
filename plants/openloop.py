"""Open-loop simulation of a preset under its nominal recipe.

The simplest end-to-end run of the plant (no controller): the fixed recipe
held while the slurry's solids step up at a batch change. It shows the
plant's figures a report is built around (coat weight, exit residual
solvent, LEL fraction, energy per m2 and per kWh of cell) and is what
``calmline plant simulate`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plants.capacity import cell_energy_kWh_per_m2
from plants.line import LineModel
from plants.params import ParameterError
from plants.presets import get_preset, nominal_operating_point
from plants.simulate import AdaptiveStepper
from plants.steady import steady_state

__all__ = ["OpenLoopRun", "simulate_recipe"]


@dataclass
class OpenLoopRun:
    """Result of :func:`simulate_recipe`: a tidy time series and summary figures."""

    preset: str
    timeseries: pd.DataFrame
    summary: dict[str, Any]


def simulate_recipe(
    preset: str = "nmc_nmp",
    *,
    duration_s: float = 3600.0,
    dt_s: float = 2.0,
    solids_step_frac: float = 0.01,
    step_at_s: float | None = None,
) -> OpenLoopRun:
    """Hold the nominal recipe while the tank solids step by ``solids_step_frac``.

    Parameters
    ----------
    preset : str
        Preset name (``calmline plant presets`` lists them).
    duration_s : float
        Simulated time, s.
    dt_s : float
        Output interval (the plant integrates with stable RK4 sub-steps inside it), s.
    solids_step_frac : float
        Step of the slurry solids mass fraction (0.01 = +1 wt%).
    step_at_s : float, optional
        Time of the step (default: half of ``duration_s``).
    """
    if not 0.0 < duration_s <= 7 * 86400.0:
        raise ParameterError(f"duration_s = {duration_s!r}: expected a positive duration up to a week")
    if not 0.0 < dt_s <= 60.0:
        raise ParameterError(f"dt_s = {dt_s!r}: expected (0, 60] s")
    if not -0.1 <= solids_step_frac <= 0.1:
        raise ParameterError(f"solids_step_frac = {solids_step_frac!r}: expected [-0.1, 0.1]")
    params = get_preset(preset)
    model = LineModel(params)
    L = model.layout
    ss = steady_state(model, nominal_operating_point(preset))
    step = AdaptiveStepper(model, dt_s, ss.x, ss.u, ss.d)
    _, g = model.casadi_functions()
    t_step = duration_s / 2.0 if step_at_s is None else step_at_s
    n = round(duration_s / dt_s)
    x = ss.x.copy()
    names = model.output_names()
    rows = np.empty((n, len(names)))
    times = np.arange(1, n + 1) * dt_s
    for k in range(n):
        d = ss.d.copy()
        if k * dt_s >= t_step:
            d[L.D_SOLIDS] += solids_step_frac
        x = np.asarray(step(x, ss.u, d)).ravel()
        rows[k] = np.asarray(g(x, ss.u, d)).ravel()
    df = pd.DataFrame(rows, columns=names, index=pd.Index(times, name="time_s"))
    speed = float(ss.u[L.u_speed])
    area_m2_s = speed * params.coater.width_m
    energy_kwh_m2 = float(df["dryer_power_W"].mean()) / area_m2_s / 3.6e6
    cw = df["coat_weight_die_kg_m2"]
    lel_cols = [c for c in names if c.endswith("_lel_frac")]
    summary = {
        "preset": preset,
        "duration_s": duration_s,
        "speed_m_s": speed,
        "solids_step_frac": solids_step_frac,
        "step_at_s": t_step,
        "coat_weight_before_kg_m2": float(cw[cw.index < t_step].mean()),
        "coat_weight_after_kg_m2": float(cw.iloc[-1]),
        "coat_weight_change_pct": float(100.0 * (cw.iloc[-1] / cw[cw.index < t_step].mean() - 1.0)),
        "exit_residual_max_kg_kg": float(df["exit_residual_kg_kg"].max()),
        "max_lel_fraction": float(df[lel_cols].to_numpy().max()),
        "max_film_temp_K": float(df["max_film_temp_K"].max()),
        "dryer_power_mean_kW": float(df["dryer_power_W"].mean() / 1e3),
        "energy_kwh_per_m2": energy_kwh_m2,
        "energy_kwh_per_kwh_cell": energy_kwh_m2 / float(cell_energy_kWh_per_m2(float(cw.mean()), params.coater)),
        "n_states": L.n_states,
    }
    return OpenLoopRun(preset=preset, timeseries=df, summary=summary)
