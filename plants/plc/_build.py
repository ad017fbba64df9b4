"""The coating line's PLC loops, built from the recipe and the actuator table, tuned on the nominal model.

The PLC was commissioned on the line as it was designed: its recipe values are the recipe's
steady state on the nominal model (the pump-to-speed ratio for the target coat weight at the
slurry's nominal solids, each zone's heater power as the temperature loop's feedforward), and
each zone air-temperature loop is tuned by SIMC (Skogestad 2003) from a +10 % heater step on
that model, with half the thermocouple's lag and half a scan as extra dead time, by the "tight"
rule (closed-loop time constant = dead time) unless ``[plc] air_temp_tuning = "smooth"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from plants.actuators import ActuatorSpec
from plants.line import LineModel
from plants.params import LineParams
from plants.plc._config import PlcConfig
from plants.plc._loops import LoopSpec
from plants.steady import OperatingPoint, SteadyState, steady_state
from plants.tuning import simc_pi, step_test

__all__ = ["line_plc_loops", "recipe_steady_state"]


@lru_cache(maxsize=32)
def recipe_steady_state(params: LineParams, recipe: OperatingPoint) -> SteadyState:
    """The recipe's steady state on ``params`` (cached: the PLC and every baseline controller share it)."""
    return steady_state(LineModel(params), recipe)


def line_plc_loops(params: LineParams, recipe: OperatingPoint, actuators: Sequence[ActuatorSpec],
                   config: PlcConfig) -> list[LoopSpec]:
    """The line's loops, one per plant input, in the plant inputs' order.

    Parameters
    ----------
    params : LineParams
        The nominal model the PLC was commissioned on (the controllers' model).
    recipe : OperatingPoint
        The recipe: the loops' set points in recipe mode.
    actuators : sequence of ActuatorSpec
        The actuator table (ranges and rate limits), in the plant inputs' order.
    config : PlcConfig
        The scenario's ``[plc]`` settings.
    """
    model = LineModel(params)
    L = model.layout
    ss = recipe_steady_state(params, recipe)
    act = {a.name: a for a in actuators}
    ratio = float(ss.u[L.u_pump] / ss.u[L.u_speed])

    def loop(name: str, unit: str, kind: str, output: str, lower: float, upper: float, sp_rate: float,
             recipe_sp: float, **pi: float | str) -> LoopSpec:
        a = act[output]
        return LoopSpec(name=name, unit=unit, kind=kind, output=output, lower=lower, upper=upper,  # type: ignore[arg-type]
                        setpoint_rate_per_s=sp_rate, recipe_setpoint=recipe_sp, output_lower=a.lower,
                        output_upper=a.upper, output_rate_per_s=a.rate_limit_per_s, **pi)  # type: ignore[arg-type]

    sp = act["speed_m_s"]
    loops = [
        loop("line_speed", "m_s", "direct", "speed_m_s", sp.lower, sp.upper, sp.rate_limit_per_s, float("nan")),
        loop("pump_ratio", "m3_m", "ratio", "pump_flow_cmd_m3_s", ratio * (1 - config.pump_ratio_trim_frac),
             ratio * (1 + config.pump_ratio_trim_frac), config.pump_ratio_setpoint_rate_frac_s * ratio, ratio),
    ]
    n = L.n_zones
    for i in range(1, n + 1):
        a = act[f"zone{i}_nozzle_velocity_cmd_m_s"]
        loops.append(loop(f"zone{i}_fan_speed", "m_s", "direct", a.name, a.lower, a.upper, a.rate_limit_per_s,
                          float(recipe.nozzle_velocity_m_s[i - 1])))
    for i in range(1, n + 1):
        out = f"zone{i}_heater_power_cmd_W"
        m = step_test(params, recipe, out, f"zone{i}_air_temp_K", 0.1)
        extra = config.thermocouple_lag_s / 2.0 + config.scan_s / 2.0
        tau_c = m.theta_s + extra if config.air_temp_tuning == "tight" else None
        kc, ti = simc_pi(m, tau_c_s=tau_c, extra_dead_time_s=extra)
        loops.append(loop(f"zone{i}_air_temp", "K", "pi", out, config.air_temp_setpoint_min_K,
                          config.air_temp_setpoint_max_K, config.air_temp_setpoint_rate_K_s,
                          float(recipe.air_temp_K[i - 1]), kc=kc, tau_i_s=ti, bias=float(ss.u[L.u_heater][i - 1]),
                          measurement=f"zone{i}_air_temp_K"))
    for i in range(1, n + 1):
        a = act[f"zone{i}_exhaust_flow_m3_s"]
        loops.append(loop(f"zone{i}_exhaust", "m3_s", "direct", a.name, a.lower, a.upper, a.rate_limit_per_s,
                          float(recipe.exhaust_m3_s[i - 1])))
    order = L.input_names()
    assert [lp.output for lp in loops] == order
    assert np.isfinite(ratio)
    return loops

