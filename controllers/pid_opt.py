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
within its limits at nominal conditions (:func:`best_optimised_point`): then pid_opt writes the line
speed for the whole run, the plan's as it ramps but never above the set's (where the target continued in speed
settles, :func:`steady_speed_by_continuation`), and warns that it does. Settings: ``[controllers.pid_opt]``
(:class:`mpc.scenario.PidOptSettings`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

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
from controllers.nmpc import NmpcModel, SteadyTarget
from mpc.errors import CalmlineWarning
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import ModelSettings, PidOptSettings, TargetSettings
from plants.line import LineLayout
from plants.plc import PI
from plants.steady import OperatingPoint
from plants.tuning import Fopdt, simc_pi, step_test

__all__ = [
    "VIA_SPEED_FACTORS",
    "OptimisedPoint",
    "PidOptController",
    "SetPoints",
    "best_optimised_point",
    "solve_optimised_point",
    "steady_speed_by_continuation",
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


@dataclass(frozen=True)
class OptimisedPoint:
    """One solve of the economic target: the steady state, its outputs and whether IPOPT converged."""

    speed_m_s: float
    lel_limit_frac: float
    via_speed_m_s: float | None
    """The speed of the solve it was continued from (None: solved from the recipe's steady state)."""
    x: np.ndarray
    u: np.ndarray
    y: dict[str, float]
    line_speed_m_s: float
    """The solve's line speed (the target may run below the speed asked)."""
    slacks: np.ndarray
    success: bool

    @property
    def usable(self) -> bool:
        """Converged, at the asked speed, with every limit met (no slack)."""
        return (self.success and self.line_speed_m_s >= self.speed_m_s * (1.0 - 1e-3)
                and bool(np.all(self.slacks <= 1e-6)))


VIA_SPEED_FACTORS = (None, 0.8, 0.9, 0.98, 1.1)
"""The starts of the offline solve: from the recipe's steady state (the NMPC's first target), and continued from
the target at these fractions of the speed. The economic target has several local optima (the anode's at nominal
conditions: 362-368 kW of primary power, by the start, and not every start converges); the one of least primary
power is taken."""


def solve_optimised_point(m: NmpcModel, ctx: ControllerContext, settings: TargetSettings, speed_m_s: float,
                          lel_limit_frac: float, via_speed_m_s: float | None = None) -> OptimisedPoint:
    """The NMPC's economic target at nominal estimates, speed ``speed_m_s`` and LEL limit ``lel_limit_frac``.

    A fresh :class:`SteadyTarget` solved as the NMPC's first target is: from the recipe's steady
    state (also the move term's reference), inputs within the actuators' ranges (nozzles at least
    ``nozzle_min_m_s``, speed at most the speed asked), room humidity and slurry water at the
    recipe's; with ``via_speed_m_s``, first at that speed and then, warm-started from it, at ``speed_m_s``.
    """
    target = _offline_target(m, ctx, settings)
    for v in (speed_m_s,) if via_speed_m_s is None else (via_speed_m_s, speed_m_s):
        xs, us, ok, slacks = _solve_at(target, m, ctx, v, lel_limit_frac, m.ss.u / m.u_scale, trust=False)
    return _point(m, speed_m_s, lel_limit_frac, via_speed_m_s, xs, us, slacks, ok)


def _offline_target(m: NmpcModel, ctx: ControllerContext, settings: TargetSettings) -> SteadyTarget:
    spec = ctx.spec
    return SteadyTarget(m, spec.residual_usl_kg_kg, spec.film_temp_max_K, settings,
                        primary_factors=(ctx.primary_factor_heater, ctx.primary_factor_electricity))


def _solve_at(target: SteadyTarget, m: NmpcModel, ctx: ControllerContext, speed_m_s: float, lel_limit_frac: float,
              u_prev_s: np.ndarray, *, trust: bool) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """One solve of ``target`` at nominal estimates, speed at most ``speed_m_s`` (the plan's target and cap)."""
    L = m.layout
    lower = ctx.input_lower.copy()
    lower[L.u_nozzle] = np.maximum(lower[L.u_nozzle], target.s.nozzle_min_m_s)
    upper = ctx.input_upper.copy()
    upper[L.u_speed] = min(upper[L.u_speed], speed_m_s)
    fixed = {i: float(m.ss.x[i] / m.x_scale[i]) for i in (L.room_w, L.slurry_water)}
    return target.solve(m.nominal_estimate(), speed_m_s, speed_m_s, lel_limit_frac, ctx.spec.coat_weight_target_kg_m2,
                        u_prev_s, lower / m.u_scale, upper / m.u_scale, fixed, trust=trust)


def _point(m: NmpcModel, speed_m_s: float, lel_limit_frac: float, via_speed_m_s: float | None, xs: np.ndarray,
           us: np.ndarray, slacks: np.ndarray, ok: bool) -> OptimisedPoint:
    L = m.layout
    y = np.asarray(m.outputs_fn()(xs, us, m.nominal_estimate()), float).ravel()
    return OptimisedPoint(speed_m_s=speed_m_s, lel_limit_frac=lel_limit_frac, via_speed_m_s=via_speed_m_s,
                          x=xs * m.x_scale, u=us * m.u_scale, y={n: float(y[i]) for n, i in m.output_index.items()},
                          line_speed_m_s=float(us[L.u_speed] * m.u_scale[L.u_speed]),
                          slacks=np.asarray(slacks, float), success=ok)


def steady_speed_by_continuation(m: NmpcModel, ctx: ControllerContext, settings: TargetSettings, speed_m_s: float,
                                 lel_limit_frac: float, *, step_m_s: float = 0.02,
                                 settle_solves: int = 20) -> OptimisedPoint:
    """The economic target continued in speed up to ``speed_m_s``: where it settles, giving way if it must.

    Solved at the plan's first speed (the recipe's in the shipped scenarios) from the recipe's steady state,
    then at every ``step_m_s`` up to ``speed_m_s``, each solve warm-started from the last and within the
    target's trust region around it (``max_move_scaled``; a fresh solve far from the last point finds the
    target's other local optima, some at a third of the speed). Where a solve runs below the speed asked (a
    limit binds: the exhausts saturated at the LEL limit, the residual, the film; or the economics prefer
    less speed) the target is solved again at ``speed_m_s``, up to ``settle_solves`` times, until its speed
    moves less than 1e-5 m/s. The point returned then has ``line_speed_m_s`` below ``speed_m_s`` and is not
    :attr:`OptimisedPoint.usable`. With the default ``speed_weight`` it is where the economics settle; priced
    far above power (``scenarios/speed_gives_way.py``: ten times) it is the highest steady speed.
    ``success`` is False where a solve failed (the continuation stops there), a limit needed slack, or the
    speed had not settled after ``settle_solves`` solves.
    """
    target = _offline_target(m, ctx, settings)
    v0 = min(ctx.schedule.speed_target_m_s, ctx.schedule.speed_cap_m_s, speed_m_s)
    n = max(int(np.ceil((speed_m_s - v0) / step_m_s - 1e-9)), 0)
    speeds = [v0 + (speed_m_s - v0) * k / n for k in range(n + 1)] if n else [speed_m_s]
    u_prev = m.ss.u / m.u_scale
    xs, us, ok, slacks = _solve_at(target, m, ctx, speeds[0], lel_limit_frac, u_prev, trust=False)
    for v in speeds[1:]:
        if not ok:
            break
        xs, us, ok, slacks = _solve_at(target, m, ctx, v, lel_limit_frac, us, trust=True)
        if us[m.layout.u_speed] * m.u_scale[m.layout.u_speed] < v * (1.0 - 1e-3):
            break
    settled = not ok
    for _ in range(settle_solves):
        if not ok:
            break
        before = us[m.layout.u_speed]
        xs, us, ok, slacks = _solve_at(target, m, ctx, speed_m_s, lel_limit_frac, us, trust=True)
        if abs(us[m.layout.u_speed] - before) * m.u_scale[m.layout.u_speed] < 1e-5:
            settled = True
            break
    ok = ok and settled and bool(np.all(np.asarray(slacks) <= 1e-6))
    return _point(m, speed_m_s, lel_limit_frac, None, xs, us, slacks, ok)


def best_optimised_point(m: NmpcModel, ctx: ControllerContext, settings: TargetSettings, speed_m_s: float,
                         lel_limit_frac: float) -> OptimisedPoint:
    """The usable solve of least primary dryer power over the starts :data:`VIA_SPEED_FACTORS`.

    Where no start holds ``speed_m_s`` within every limit, the target where it gives way: the highest steady
    speed the target settles at, continued in speed (:func:`steady_speed_by_continuation`; ``line_speed_m_s`` below
    ``speed_m_s``; what a process engineer with
    the optimisation in hand plans the line at when the plan asks for more than the dryer can hold).

    Raises
    ------
    RuntimeError
        No start gave a usable solve, and the continuation in speed gave no solve within every limit either.
    """
    tried = [solve_optimised_point(m, ctx, settings, speed_m_s, lel_limit_frac,
                                   None if f is None else f * speed_m_s) for f in VIA_SPEED_FACTORS]
    usable = [pt for pt in tried if pt.usable]
    if not usable:
        slower = steady_speed_by_continuation(m, ctx, settings, speed_m_s, lel_limit_frac)
        if slower.success:
            return slower
        raise RuntimeError(f"pid_opt: the economic target at {speed_m_s:g} m/s and LEL limit {lel_limit_frac:g} "
                           f"gave no converged solve at that speed within every limit from any of its "
                           f"{len(tried)} starts, nor at a lower speed by continuation")
    f_h, f_el = ctx.primary_factor_heater, ctx.primary_factor_electricity
    return min(usable, key=lambda pt: f_h * pt.y["heater_power_W"]
               + f_el * (pt.y["fan_power_W"] + pt.y["solvent_recovery_power_W"]))


def _plan_speeds(ctx: ControllerContext) -> list[float]:
    """Every distinct speed the announced plan asks for (each change's target, never above its cap)."""
    sch = ctx.schedule
    speeds = [min(sch.speed_target_m_s, sch.speed_cap_m_s)]
    speeds += [min(target, cap) for _t0, target, cap, _ramp in sch.speed_changes]
    return sorted({round(v, 9) for v in speeds})


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
        for v in _plan_speeds(ctx):
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
