"""The PID baseline: the loops a well-run line has, tuned by a documented rule.

* zone air temperature: PI on heater power (as the recipe);
* coat weight: PI on the pump-to-speed ratio from the scanning gauge, with
  speed-ratio feedforward (pump flow follows line speed) and the gauge's
  transport delay in the tuning (``L_gauge / v`` plus half a scan);
* exhaust: per zone, PI on the zone's LEL fraction (NMP) at a set point
  ``lel_setpoint_of_limit`` (default 0.6) of the limit in force, or on the
  exhaust humidity ratio (water, set point ``humidity_setpoint_kg_kg``, by default each
  zone's humidity at the recipe's steady state); a zone
  whose analyser has failed falls back to at least the recipe's exhaust.

Every loop is tuned by SIMC (Skogestad 2003) from step tests on the
controller's model at the recipe (``controllers/tuning.py``); anti-windup by
back-calculation; rate limits are the actuators'. Line speed stays at the
plan's target: a PID line does not trade speed against the LEL limit.
Settings: ``[controllers.pid]`` (:class:`mpc.scenario.PidSettings`).
"""

from __future__ import annotations

import numpy as np

from controllers._common import ZoneTemperatureLoops, recipe_point
from controllers._pi import PI
from controllers.tuning import Fopdt, simc_pi, step_test
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import PidSettings
from plants.line import LineLayout

__all__ = ["PidController"]


class PidController(Controller):
    """PI loops on zone temperature, coat weight and zone LEL / exhaust humidity."""

    name = "pid"

    def __init__(self, settings: PidSettings | None = None) -> None:
        self.base_settings = settings or PidSettings()
        """The settings given here; a scenario's ``[controllers.pid]`` table changes them at :meth:`reset`."""

    def reset(self, ctx: ControllerContext) -> None:
        self.settings = s = PidSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]",
                                                     source=ctx.source, base=self.base_settings)
        p = ctx.model_params
        self.ctx = ctx
        self.L = layout = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        self.rp = recipe_point(ctx)
        self.temps = ZoneTemperatureLoops(ctx, self.rp, np.asarray(ctx.recipe.air_temp_K))
        self.target = ctx.spec.coat_weight_target_kg_m2
        self.scan_s = s.gauge_scan_s
        self.gauge_m = p.coater.coater_to_gauge_m
        # coat-weight loop on the relative pump ratio: gain 1 (pre-metered), pump lag, gauge delay
        v0 = ctx.recipe.speed_m_s
        self.cw_model = Fopdt(gain=1.0, tau_s=p.coater.pump_time_constant_s, theta_s=self.gauge_m / v0 + self.scan_s / 2)
        kc, ti = simc_pi(self.cw_model, tau_c_s=self.cw_model.theta_s)
        self.cw_loop = PI(kc=kc, tau_i_s=ti, lower=0.8, upper=1.2, bias=1.0)
        self.last_cw_t: float | None = None
        # exhaust loops
        self.flammable = p.solvent.lel_vol_frac > 0
        self.lel_sp = s.lel_setpoint_of_limit
        # water: hold each zone's exhaust humidity where the recipe runs it (unless a set point is given)
        if s.humidity_setpoint_kg_kg is not None:
            self.hum_sp = np.full(layout.n_zones, s.humidity_setpoint_kg_kg)
        else:
            self.hum_sp = np.array([self.rp.ss.y[f"zone{i}_humidity_ratio_kg_kg"]
                                    for i in range(1, layout.n_zones + 1)])
        sensor_delay = s.analyser_delay_s
        self.ex_loops: list[PI] = []
        self.ex_models: list[Fopdt] = []
        recipe_ex = np.asarray(ctx.recipe.exhaust_m3_s, float)
        lo = ctx.input_lower[layout.u_exhaust]
        hi = ctx.input_upper[layout.u_exhaust]
        for i in range(1, layout.n_zones + 1):
            out = f"zone{i}_lel_frac" if self.flammable else f"zone{i}_humidity_ratio_kg_kg"
            m = step_test(p, ctx.recipe, f"zone{i}_exhaust_flow_m3_s", out, 0.1)
            kc, ti = simc_pi(m, extra_dead_time_s=sensor_delay)
            self.ex_models.append(m)
            self.ex_loops.append(PI(kc=kc, tau_i_s=ti, lower=float(lo[i - 1]), upper=float(hi[i - 1]),
                                    bias=float(recipe_ex[i - 1])))
        self.recipe_ex = recipe_ex

    def tuning_table(self) -> list[dict[str, float | str]]:
        """The loops' FOPDT models and SIMC settings (for the docs)."""
        rows: list[dict[str, float | str]] = []
        for i, (m, loop) in enumerate(zip(self.temps.models, self.temps.loops, strict=True), 1):
            rows.append({"loop": f"zone{i} air temperature <- heater", "k": m.gain, "tau_s": m.tau_s,
                         "theta_s": m.theta_s, "kc": loop.kc, "tau_i_s": loop.tau_i_s})
        m = self.cw_model
        rows.append({"loop": "coat weight <- pump ratio", "k": m.gain, "tau_s": m.tau_s, "theta_s": m.theta_s,
                     "kc": self.cw_loop.kc, "tau_i_s": self.cw_loop.tau_i_s})
        for i, (m, loop) in enumerate(zip(self.ex_models, self.ex_loops, strict=True), 1):
            what = "LEL" if self.flammable else "humidity"
            rows.append({"loop": f"zone{i} {what} <- exhaust", "k": m.gain, "tau_s": m.tau_s,
                         "theta_s": m.theta_s, "kc": loop.kc, "tau_i_s": loop.tau_i_s})
        return rows

    def step(self, obs: Observation) -> Command:
        L = self.L
        u = np.empty(L.n_inputs)
        speed = 0.0 if obs.line_stopped else min(obs.speed_target_m_s, obs.speed_cap_m_s)
        # coat weight: integrate on each new gauge reading while the line runs
        cw = obs.measurements.get("coat_weight_kg_m2", np.nan)
        if obs.fresh.get("coat_weight_kg_m2", False) and np.isfinite(cw) and not obs.line_stopped and speed > 0:
            dt = self.scan_s if self.last_cw_t is None else obs.t_s - self.last_cw_t
            self.last_cw_t = obs.t_s
            ratio = self.cw_loop.update((self.target - cw) / self.target, dt)
        else:
            ratio = self.cw_loop.hold(0.0)
        u[L.u_speed] = speed
        u[L.u_pump] = self.rp.pump_per_speed * ratio * speed
        u[L.u_nozzle] = self.ctx.recipe.nozzle_velocity_m_s
        u[L.u_heater] = self.temps.update(obs)
        ex = np.empty(L.n_zones)
        for i, loop in enumerate(self.ex_loops):
            name = f"zone{i + 1}_lel_frac" if self.flammable else f"zone{i + 1}_humidity_ratio_kg_kg"
            y = obs.measurements.get(name, np.nan)
            ok = obs.healthy.get(name, True) and np.isfinite(y)
            sp = self.lel_sp * obs.lel_limit_frac if self.flammable else self.hum_sp[i]
            if ok:
                ex[i] = loop.update(sp - y, self.ctx.dt_s)
            else:
                ex[i] = max(loop.hold(0.0), self.recipe_ex[i])
        u[L.u_exhaust] = ex
        return Command(u=u)
