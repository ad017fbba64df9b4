"""The optimised PID baseline: the PID's loops on set points from the NMPC's own economic target.

What a good process engineer would run with the NMPC's model in hand: the same
steady-state optimisation the NMPC's target solves (:class:`controllers.nmpc.SteadyTarget`
with ``[controllers.nmpc.target]``'s default settings, on the controller's model with the
NMPC's rounded rate-law corners, nominal estimates), solved once before the run at nominal
conditions, gives every set point; the line's ordinary loops hold them:

* zone air temperature: PI on heater power (the recipe's loops and tuning) at the target's
  air temperatures, with the target's heater powers as feedforward;
* nozzle velocities: the target's;
* coat weight: PI on the pump-to-speed ratio from the scanning gauge (the PID's loop);
* exhaust: per zone, PI on the zone's LEL fraction (NMP) or exhaust humidity ratio (water).
  Where the target puts a zone at its limit (the LEL at ``lel_margin`` of the limit in force,
  the humidity at ``humidity_max_kg_kg``) the loop holds it there; where it leaves a zone below,
  the zone runs at the target's exhaust and the loop opens it only if the zone reaches the limit
  level. Tuned by SIMC from step tests at the target's operating point (the LEL's gain to the
  exhaust there is several times the recipe's). A zone whose analyser has failed holds its
  exhaust, but at least the recipe's and the no-analyser target's.

The target is solved for every distinct speed of the announced plan and, on a line whose
healthy analysers allow the higher LEL limit, also at the limit without an analyser (the set
after an analyser failure). Set points move linearly over ``setpoint_ramp_s``: at start-up from
the recipe's, at a change of the plan's speed (over at least the plan's own ramp), and to the
no-analyser set the moment an analyser fails; every LEL set point stays at or below
``lel_margin`` of the limit to plan for (at once the no-analyser limit when an analyser fails).
While an analyser has failed every zone's exhaust is at least the recipe's and the no-analyser
set's, and a healthy zone reading above its set point at least its exhaust times reading over
set point. While the line stands and for ``restart_hold_s`` after it restarts every exhaust is at
least the recipe's (the restart procedure, ``controllers._common.RestartHold``).
Line speed stays at the plan's target, as for the PID, unless the target cannot hold the plan's speed
within its limits at nominal conditions (:func:`controllers.nmpc.best_optimised_point`): then pid_opt writes the line
speed for the whole run, the plan's as it ramps but never above the set's (where the target continued in speed
settles, :func:`controllers.nmpc.steady_speed_by_continuation`), and warns that it does. Settings: ``[controllers.pid_opt]``
(:class:`mpc.scenario.PidOptSettings`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from controllers._common import (
    CoatWeightLoop,
    ExhaustLoops,
    RestartHold,
    lel_limit_in_force,
    plc_loop,
    recipe_point,
    tuning_rows,
    zone_level_names,
)
from mpc.errors import CalmlineWarning
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import ModelSettings, PidOptSettings, TargetSettings
from plants.line import LineLayout
from plants.plc import PI
from plants.steady import OperatingPoint
from plants.tuning import Fopdt, simc_pi, step_test

if TYPE_CHECKING:
    from controllers.nmpc import OptimisedPoint

__all__ = [
    "PidOptController",
    "SetPoints",
]


@dataclass(frozen=True)
class SetPoints:
    """One set of the loops' set points and feedforwards, one value a zone (SI)."""

    air_temp_K: np.ndarray
    nozzle_m_s: np.ndarray
    heater_W: np.ndarray
    """Heater feedforward (each temperature loop's bias)."""
    exhaust_m3_s: np.ndarray
    """Exhaust feedforward (each exhaust loop's bias)."""
    level: np.ndarray
    """Each zone's LEL fraction (NMP) or exhaust humidity ratio (water) set point."""
    exhaust_floor_m3_s: np.ndarray
    """Each exhaust loop's lowest output: the actuator's limit where the zone sits at its limit level, else the
    set's exhaust (the loop then only opens it)."""
    speed_m_s: np.ndarray
    """The line speed of the set (a 0-d array): the plan's, or the target's where it gives way."""

    @classmethod
    def at(cls, air_temp_K: np.ndarray, nozzle_m_s: np.ndarray, heater_W: np.ndarray, exhaust_m3_s: np.ndarray,
           levels: np.ndarray, limit_level: float, lowest_m3_s: np.ndarray, speed_m_s: float) -> SetPoints:
        """The set of an operating point whose zones sit at ``levels``; a zone at ``limit_level`` is held there."""
        at_limit = np.asarray(levels) >= limit_level * (1.0 - 1e-3)
        return cls(
            air_temp_K=np.asarray(air_temp_K, float).copy(), nozzle_m_s=np.asarray(nozzle_m_s, float).copy(),
            heater_W=np.asarray(heater_W, float).copy(), exhaust_m3_s=np.asarray(exhaust_m3_s, float).copy(),
            level=np.where(at_limit, levels, limit_level).astype(float),
            exhaust_floor_m3_s=np.where(at_limit, lowest_m3_s, exhaust_m3_s).astype(float),
            speed_m_s=np.asarray(float(speed_m_s)),
        )

    def toward(self, other: SetPoints, frac: float) -> SetPoints:
        """The set ``frac`` of the way from this one to ``other`` (every value linearly)."""
        f = min(max(frac, 0.0), 1.0)
        return SetPoints(*(a + f * (b - a) for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple[np.ndarray, ...]:
        return (self.air_temp_K, self.nozzle_m_s, self.heater_W, self.exhaust_m3_s, self.level,
                self.exhaust_floor_m3_s, self.speed_m_s)


class PidOptController(Controller):
    """The PID's loops on set points from the NMPC's economic target, solved before the run (see the module)."""

    name = "pid_opt"

    def __init__(self, settings: PidOptSettings | None = None) -> None:
        self.base_settings = settings or PidOptSettings()
        """The settings given here; a scenario's ``[controllers.pid_opt]`` table changes them at :meth:`reset`."""

    def reset(self, ctx: ControllerContext) -> None:
        self.settings = s = PidOptSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]",
                                                        source=ctx.source, base=self.base_settings)
        p = ctx.model_params
        self.ctx = ctx
        self.L = L = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        tgt = TargetSettings()
        if s.lel_setpoint_of_limit is not None:  # the margin the target plans with, and so the LEL loops' set points
            tgt = replace(tgt, lel_margin=s.lel_setpoint_of_limit)
        self.target_settings = tgt
        from controllers.nmpc import (  # CasADi: not for the edge core
            NmpcModel,
            best_optimised_point,
            plan_speeds,
        )

        self.model = m = NmpcModel(ModelSettings().apply(p), ctx.recipe)
        self.flammable = p.solvent.lel_vol_frac > 0
        self.level_names = zone_level_names(p)
        spec = ctx.spec
        # the limit in force with healthy analysers, and without one
        self.limit_healthy = lel_limit_in_force(ctx) if self.flammable else spec.lel_limit_frac
        self.limit_failed = spec.lel_limit_frac
        limits = {True: self.limit_healthy, False: self.limit_failed}
        lowest = ctx.input_lower[L.u_exhaust]
        self.points: dict[tuple[float, bool], OptimisedPoint] = {}
        self.sets: dict[tuple[float, bool], SetPoints] = {}
        for v in plan_speeds(ctx):
            for healthy, limit in limits.items():
                if not healthy and limit == self.limit_healthy:
                    self.points[(v, False)], self.sets[(v, False)] = self.points[(v, True)], self.sets[(v, True)]
                    continue
                pt = best_optimised_point(m, ctx, tgt, v, limit)
                self.points[(v, healthy)] = pt
                self.sets[(v, healthy)] = SetPoints.at(
                    pt.x[L.air_temp], pt.u[L.u_nozzle], pt.u[L.u_heater], pt.u[L.u_exhaust],
                    np.array([pt.y[n] for n in self.level_names]), self._limit_level(limit), lowest,
                    min(v, pt.line_speed_m_s))
        # where a set gives way on speed, pid_opt writes the line speed for the whole run (else the PLC keeps the plan's)
        slower = {v: float(sp.speed_m_s) for (v, _h), sp in self.sets.items() if float(sp.speed_m_s) < v * (1.0 - 1e-3)}
        self.manages_speed = bool(slower)
        for v, run in sorted(slower.items()):
            warnings.warn(CalmlineWarning(
                f"{ctx.source}: pid_opt: the plan's {v:g} m/s cannot be held within the economic target's limits "
                f"at nominal conditions; pid_opt runs the line at {run:.4g} m/s once the plan asks for it"
            ), stacklevel=2)
        # the recipe's set, where the run starts
        self.rp = rp = recipe_point(ctx)
        self.recipe_ex = np.asarray(ctx.recipe.exhaust_m3_s, float)
        recipe_levels = np.array([rp.ss.y[n] for n in self.level_names])
        v0 = min(ctx.schedule.speed_target_m_s, ctx.schedule.speed_cap_m_s)
        self.recipe_set = SetPoints.at(np.asarray(ctx.recipe.air_temp_K), np.asarray(ctx.recipe.nozzle_velocity_m_s),
                                       rp.heater_W, self.recipe_ex, recipe_levels, float(recipe_levels.max()), lowest,
                                       v0)
        # the loops: the recipe's temperature loops, the PID's coat-weight loop, exhaust loops tuned at the target
        first = self.sets[(round(v0, 9), True)]
        # the PLC's temperature loops heat; a shadow of each (same tuning, same thermocouple) extends its range
        # below zero heat, where the split range below opens the exhaust instead
        self.temp_loops = [plc_loop(ctx, f"zone{i}_air_temp") for i in range(1, L.n_zones + 1)]
        self.split = [PI(kc=lp.kc, tau_i_s=lp.tau_i_s, lower=0.0, upper=lp.output_upper, bias=lp.bias)
                      for lp in self.temp_loops]
        self.keys = {
            "ratio": plc_loop(ctx, "pump_ratio").setpoint_key,
            "fan": [plc_loop(ctx, f"zone{i}_fan_speed").setpoint_key for i in range(1, L.n_zones + 1)],
            "exhaust": [plc_loop(ctx, f"zone{i}_exhaust").setpoint_key for i in range(1, L.n_zones + 1)],
            "speed": plc_loop(ctx, "line_speed").setpoint_key,
        }
        self.cw = CoatWeightLoop(ctx, rp.pump_per_speed, s.gauge_scan_s, s.restart_skip_m)
        op = OperatingPoint(speed_m_s=v0, coat_weight_kg_m2=spec.coat_weight_target_kg_m2,
                            air_temp_K=tuple(first.air_temp_K), nozzle_velocity_m_s=tuple(first.nozzle_m_s),
                            exhaust_m3_s=tuple(first.exhaust_m3_s), solids_frac=p.coater.solids_frac_nominal)
        self.exhaust = ExhaustLoops(ctx, m.params, op, self.recipe_ex, s.analyser_delay_s)
        self.hold = RestartHold(s.restart_hold_s)
        # split range: below zero heater power, each temperature loop opens the zone's exhaust (make-up air cools;
        # the target leaves some zones' heaters at zero, where their air is held by fan heat alone); only in a
        # zone where more exhaust does cool its air at the target's point (not in air already at room temperature)
        self.cool_models: list[Fopdt | None] = []
        self.cool_m3_s_per_W = np.zeros(L.n_zones)
        span = ctx.input_upper[L.u_exhaust] - lowest
        for i, loop in enumerate(self.split):
            mc = step_test(m.params, op, f"zone{i + 1}_exhaust_flow_m3_s", f"zone{i + 1}_air_temp_K", 0.1)
            if mc.gain >= 0.0:
                self.cool_models.append(None)
                continue
            kc_cool, _ = simc_pi(mc, extra_dead_time_s=ctx.thermocouple_lag_s / 2.0)  # the PLC's thermocouples
            self.cool_models.append(mc)
            self.cool_m3_s_per_W[i] = -kc_cool / loop.kc
            loop.lower = -float(span[i]) / self.cool_m3_s_per_W[i]
        # the ramp: from the recipe's set to the first optimised one
        self.ramp_from = self.recipe_set
        self.goal_key = (round(v0, 9), True)
        self.ramp_t0_s = 0.0
        self.ramp_s = s.setpoint_ramp_s
        self.current = self.recipe_set

    def _limit_level(self, lel_limit: float) -> float:
        """The level the target holds a zone at, at most: ``lel_margin`` of the LEL limit, or the humidity maximum."""
        tgt = self.target_settings
        return tgt.lel_margin * lel_limit if self.flammable else tgt.humidity_max_kg_kg

    def tuning_table(self) -> list[dict[str, float | str]]:
        """The loops' FOPDT models and SIMC settings (for the docs); the cooling half's gain in m3/s per K."""
        rows = tuning_rows(self.ctx, self.cw, self.exhaust)
        for i, (mc, loop) in enumerate(zip(self.cool_models, self.split, strict=True), 1):
            if mc is None:
                continue
            rows.append({"loop": f"zone{i} air temperature <- exhaust (below zero heat)", "k": mc.gain,
                         "tau_s": mc.tau_s, "theta_s": mc.theta_s, "kc": -loop.kc * self.cool_m3_s_per_W[i - 1],
                         "tau_i_s": loop.tau_i_s})
        return rows

    def _plan_key(self, t_s: float) -> tuple[float, float]:
        """The speed the plan has asked for since its latest change at ``t_s``, and when that change's ramp ends."""
        sch = self.ctx.schedule
        v, end = min(sch.speed_target_m_s, sch.speed_cap_m_s), 0.0
        for t0, target, cap, ramp in sch.speed_changes:
            if t_s >= t0:
                v, end = min(target, cap), t0 + ramp
        return round(v, 9), end

    def setpoints(self, t_s: float) -> SetPoints:
        """The set points in force at ``t_s`` (the ramp from the last set toward the goal)."""
        frac = 1.0 if self.ramp_s <= 0.0 else (t_s - self.ramp_t0_s) / self.ramp_s
        return self.ramp_from.toward(self.sets[self.goal_key], frac)

    def step(self, obs: Observation) -> Command:
        L = self.L
        t = obs.t_s
        healthy = all(ok for n, ok in obs.healthy.items() if n.endswith("_lel_frac"))
        v_key, ramp_end = self._plan_key(t)
        key = (v_key, healthy)
        if key != self.goal_key:
            self.ramp_from = self.setpoints(t)
            self.goal_key = key
            self.ramp_t0_s = t
            self.ramp_s = max(self.settings.setpoint_ramp_s, ramp_end - t)
        sp = self.current = self.setpoints(t)
        w = np.empty(L.n_zones)
        for i, (lp, loop) in enumerate(zip(self.temp_loops, self.split, strict=True)):
            y = obs.measurements.get(lp.measurement, np.nan)
            bias = float(sp.heater_W[i])
            w[i] = (loop.update(float(sp.air_temp_K[i]) - y, self.ctx.dt_s, bias=bias) if np.isfinite(y)
                    else loop.hold(0.0, bias=bias))
        # below zero heat: at least the set's exhaust, and more as the temperature loop asks for cooling
        cooling = np.where(w < 0.0, sp.exhaust_m3_s - w * self.cool_m3_s_per_W, 0.0)
        level = sp.level
        if self.flammable:  # the limit to plan for: the no-analyser limit at once when an analyser fails
            limit = obs.lel_limit_frac if healthy else min(obs.lel_limit_frac, self.limit_failed)
            level = np.minimum(level, self._limit_level(limit))
        no_analyser = self.sets[(v_key, False)].exhaust_m3_s
        failed_floor = np.maximum(self.recipe_ex, no_analyser)
        floor = np.maximum(sp.exhaust_floor_m3_s, cooling)
        if not healthy:  # every zone at once at least at the recipe's and the no-analyser set's exhaust (the
            # set points follow): the failed zone's recipe exhaust cools it and carries its solvent downstream,
            # so the healthy zones need the recipe's exhaust as much as the failed one
            floor = np.maximum(floor, failed_floor)
            if self.flammable:  # and a healthy zone above its set point gets the exhaust its load needs at once:
                # the LEL scales with solvent load over exhaust, so the applied exhaust times measured / set point
                applied = obs.applied[L.u_exhaust]
                for i, name in enumerate(self.level_names):
                    y = obs.measurements.get(name, np.nan)
                    if obs.healthy.get(name, False) and np.isfinite(y) and y > level[i] > 0.0:
                        floor[i] = max(floor[i], applied[i] * y / level[i])
        if self.hold.update(obs):  # the restart procedure: the recipe's exhausts while the line stands and restarts
            floor = np.maximum(floor, self.recipe_ex)
        exhaust = self.exhaust.update(obs, level, failed_floor, sp.exhaust_m3_s, lower_m3_s=floor)
        out = {self.keys["ratio"]: self.cw.ratio(obs)}
        for i, lp in enumerate(self.temp_loops):
            out[lp.setpoint_key] = float(sp.air_temp_K[i])
            out[str(lp.feedforward_key)] = float(sp.heater_W[i])
            out[self.keys["fan"][i]] = float(sp.nozzle_m_s[i])
            out[self.keys["exhaust"][i]] = float(exhaust[i])
        if self.manages_speed:  # the plan's speed (as it ramps), never above the set's
            out[self.keys["speed"]] = min(float(sp.speed_m_s), obs.speed_target_m_s, obs.speed_cap_m_s)
        return Command(setpoints=out)
