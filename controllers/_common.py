"""Pieces the baseline controllers share: the recipe's steady state and local zone-temperature loops."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from controllers._pi import PI
from controllers.tuning import simc_pi, step_test
from mpc.interfaces import ControllerContext, Observation
from plants.line import LineModel
from plants.params import LineParams
from plants.steady import OperatingPoint, SteadyState, steady_state

__all__ = ["RecipePoint", "ZoneTemperatureLoops", "recipe_point"]


@dataclass(frozen=True)
class RecipePoint:
    """The recipe's steady state on the controller's (nominal) model."""

    ss: SteadyState
    pump_per_speed: float  # m3/s of pump flow per m/s of line speed at the target coat weight
    heater_W: np.ndarray


@lru_cache(maxsize=32)
def _recipe_ss(params: LineParams, op: OperatingPoint) -> SteadyState:
    return steady_state(LineModel(params), op)


def recipe_point(ctx: ControllerContext) -> RecipePoint:
    """Steady state of the controller's model at the recipe (nominal disturbances)."""
    ss = _recipe_ss(ctx.model_params, ctx.recipe)
    L = LineModel(ctx.model_params).layout
    return RecipePoint(
        ss=ss,
        pump_per_speed=float(ss.u[L.u_pump] / ss.u[L.u_speed]),
        heater_W=np.asarray(ss.u[L.u_heater], float).copy(),
    )


class ZoneTemperatureLoops:
    """One PI per zone: heater power on the measured zone air temperature (SIMC from step tests).

    The heater power of the recipe's steady state is the loop's bias (feedforward);
    tuning is from a +10 % heater step on the controller's model at the recipe,
    with the thermocouple's lag added as dead time (half rule).
    """

    def __init__(self, ctx: ControllerContext, rp: RecipePoint, setpoints_K: np.ndarray,
                 thermocouple_lag_s: float = 10.0) -> None:
        n = len(setpoints_K)
        self.setpoints_K = np.asarray(setpoints_K, float).copy()
        self.loops: list[PI] = []
        self.models = []
        dr = ctx.model_params.dryer
        for i in range(1, n + 1):
            m = step_test(ctx.model_params, ctx.recipe, f"zone{i}_heater_power_cmd_W", f"zone{i}_air_temp_K", 0.1)
            kc, ti = simc_pi(m, extra_dead_time_s=thermocouple_lag_s / 2.0)
            self.models.append(m)
            self.loops.append(PI(kc=kc, tau_i_s=ti, lower=0.0, upper=dr.heater_max_W, bias=float(rp.heater_W[i - 1])))
        self.dt_s = ctx.dt_s

    def update(self, obs: Observation) -> np.ndarray:
        out = np.empty(len(self.loops))
        for i, loop in enumerate(self.loops):
            y = obs.measurements.get(f"zone{i + 1}_air_temp_K", np.nan)
            if np.isfinite(y):
                out[i] = loop.update(self.setpoints_K[i] - y, self.dt_s)
            else:
                out[i] = loop.hold(0.0)
        return out
