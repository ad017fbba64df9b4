"""The PID baseline: the loops a well-run line has, tuned by a documented rule.

Supervisory loops writing the line PLC's set points (:mod:`plants.plc`):

* zone air temperature: the PLC's own PI loops on heater power at the recipe's
  set points (the PID writes none: they are the PLC's loops in recipe mode);
* coat weight: PI on the pump-to-speed ratio from the scanning gauge, written
  to the PLC's ratio station (pump flow follows line speed there) with the gauge's
  transport delay in the tuning (``L_gauge / v`` plus half a scan);
* exhaust: per zone, PI on the zone's LEL fraction (NMP), written as the
  exhaust-flow loop's set point, at a set point
  ``lel_setpoint_of_limit`` of the limit in force (by default the NMPC economic
  target's ``lel_margin``, 0.8: the same basis as the NMPC), or on the
  exhaust humidity ratio (water, set point ``humidity_setpoint_kg_kg``, by default each
  zone's humidity at the recipe's steady state); a zone
  whose analyser has failed falls back to at least the recipe's exhaust, and every exhaust runs at
  least at the recipe's while the line stands and for ``restart_hold_s`` after it restarts;
* residual trim: every zone's exhaust set point moved from the basis towards the level the
  recipe runs the zone at (more exhaust) while the exit residual-solvent gauge reads above
  ``residual_setpoint_of_usl`` of the upper limit (by default the NMPC target's 0.5), integral
  action (``controllers._common.ResidualTrim``): the LEL basis is the fraction of the limit the
  zones may run at, not one that wets the film.

Every loop is tuned by SIMC (Skogestad 2003) from step tests on the
controller's model at the recipe (``plants/tuning.py``); anti-windup by
back-calculation; rate limits are the actuators'. Line speed stays with the
PLC at the plan's target: a PID line does not trade speed against the LEL limit.
Settings: ``[controllers.pid]`` (:class:`mpc.scenario.PidSettings`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from controllers._common import (
    CoatWeightLoop,
    ExhaustLoops,
    ResidualTrim,
    RestartHold,
    lel_limit_in_force,
    plc_loop,
    recipe_point,
    tuning_rows,
    zone_level_names,
)
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import PidSettings, TargetSettings
from plants.design import ventilated_steady_state
from plants.line import LineLayout, LineModel
from plants.steady import SteadyState

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
        self.scan_s = s.gauge_scan_s
        self.cw = CoatWeightLoop(ctx, self.rp.pump_per_speed, s.gauge_scan_s, s.restart_skip_m)
        self.flammable = p.solvent.lel_vol_frac > 0
        # the NMPC's economic target holds its zones at this fraction of the limit in force: the same basis
        self.lel_sp = (s.lel_setpoint_of_limit if s.lel_setpoint_of_limit is not None
                       else TargetSettings().lel_margin)
        # water: hold each zone's exhaust humidity where the recipe runs it (unless a set point is given)
        if s.humidity_setpoint_kg_kg is not None:
            self.hum_sp = np.full(layout.n_zones, s.humidity_setpoint_kg_kg)
        else:
            self.hum_sp = np.array([self.rp.ss.y[f"zone{i}_humidity_ratio_kg_kg"]
                                    for i in range(1, layout.n_zones + 1)])
        self.recipe_ex = np.asarray(ctx.recipe.exhaust_m3_s, float)
        # the exhaust loops are tuned where they run: at the recipe's temperatures and nozzles, with the exhausts
        # that hold the LEL set point at the limit in force with healthy analysers (water: the recipe itself)
        at, ss = ctx.recipe, None
        if self.flammable:
            ss = ventilated_steady_state(LineModel(p), ctx.recipe, lel_frac=self.lel_sp * lel_limit_in_force(ctx),
                                         exhaust_min_m3_s=float(ctx.input_lower[layout.u_exhaust].max()),
                                         exhaust_max_m3_s=float(ctx.input_upper[layout.u_exhaust].min()))
            at = dataclasses.replace(ctx.recipe, exhaust_m3_s=tuple(float(v) for v in ss.u[layout.u_exhaust]))
        self.exhaust = ExhaustLoops(ctx, p, at, self.recipe_ex, s.analyser_delay_s)
        # the residual trim moves the set points towards the recipe's own zone levels
        self.recipe_level = np.array([self.rp.ss.y[n] for n in zone_level_names(p)])
        self.trim = residual_trim(ctx, s, self.rp.ss, ss)
        self.hold = RestartHold(s.restart_hold_s)
        self.ratio_key = plc_loop(ctx, "pump_ratio").setpoint_key
        self.exhaust_keys = [plc_loop(ctx, f"zone{i}_exhaust").setpoint_key for i in range(1, layout.n_zones + 1)]

    def tuning_table(self) -> list[dict[str, float | str]]:
        """The loops' FOPDT models and SIMC settings (for the docs)."""
        return tuning_rows(self.ctx, self.cw, self.exhaust)

    def step(self, obs: Observation) -> Command:
        L = self.L
        sp = np.full(L.n_zones, self.lel_sp * obs.lel_limit_frac) if self.flammable else self.hum_sp
        trim = self.trim.update(obs)
        sp = np.minimum(self.recipe_level, sp) + trim * np.maximum(sp - self.recipe_level, 0.0)
        lower = self.recipe_ex if self.hold.update(obs) else self.exhaust.lower_m3_s
        exhaust = self.exhaust.update(obs, sp, self.recipe_ex, lower_m3_s=lower)
        out = {self.ratio_key: self.cw.ratio(obs)}
        out.update({k: float(v) for k, v in zip(self.exhaust_keys, exhaust, strict=True)})
        return Command(setpoints=out)


def residual_trim(ctx: ControllerContext, s: PidSettings, recipe_ss: SteadyState,
                  basis_ss: SteadyState | None) -> ResidualTrim:
    """The residual trim of a PID whose exhaust loops hold the zones at the state ``basis_ss`` (None: at the
    recipe's own levels, a water line's default); its gain is the exit residual there minus at the recipe
    (steady states of the controller's model)."""
    gain = 0.0 if basis_ss is None else (float(basis_ss.y["exit_residual_kg_kg"])
                                         - float(recipe_ss.y["exit_residual_kg_kg"]))
    frac = s.residual_setpoint_of_usl if s.residual_setpoint_of_usl is not None else TargetSettings().residual_frac_of_usl
    return ResidualTrim(gain, frac * ctx.spec.residual_usl_kg_kg, s.residual_trim_time_s)
