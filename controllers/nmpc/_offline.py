"""The economic target solved offline, at nominal estimates: the optimised points of a plan.

The steady-state problem of :class:`controllers.nmpc.SteadyTarget` has several local optima (on the
anode at nominal conditions they differ by several per cent of primary power, and not every start
converges). Solved before a run from several starts, the one of least primary power is the
optimised point of a plan's speed: ``pid_opt`` runs the line's loops at it, and the NMPC starts
its own target from it wherever the target is solved afresh (:attr:`TargetSettings.offline_starts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers._common import lel_limit_in_force
from controllers.nmpc._model import NmpcModel
from controllers.nmpc._target import SteadyTarget
from mpc.interfaces import ControllerContext
from mpc.scenario import TargetSettings

__all__ = [
    "VIA_SPEED_FACTORS",
    "OptimisedPoint",
    "best_optimised_point",
    "optimised_starts",
    "plan_speeds",
    "solve_optimised_point",
    "steady_speed_by_continuation",
]


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


def plan_speeds(ctx: ControllerContext) -> list[float]:
    """Every distinct speed the announced plan asks for (each change's target, never above its cap)."""
    sch = ctx.schedule
    speeds = [min(sch.speed_target_m_s, sch.speed_cap_m_s)]
    speeds += [min(target, cap) for _t0, target, cap, _ramp in sch.speed_changes]
    return sorted({round(v, 9) for v in speeds})


def optimised_starts(m: NmpcModel, ctx: ControllerContext, settings: TargetSettings) -> list[np.ndarray]:
    """The target's further starts: the optimised point of each speed of the plan at each LEL limit the line can
    have in force (with healthy analysers, and without), scaled states and inputs; a speed and limit at which
    no start converged within every limit, nor at a lower speed, gives none."""
    spec = ctx.spec
    flammable = ctx.model_params.solvent.lel_vol_frac > 0
    limits = sorted({lel_limit_in_force(ctx) if flammable else spec.lel_limit_frac, spec.lel_limit_frac})
    starts = []
    for v in plan_speeds(ctx):
        for limit in limits:
            try:
                pt = best_optimised_point(m, ctx, settings, v, limit)
            except RuntimeError:
                continue
            starts.append(np.r_[pt.x / m.x_scale, pt.u / m.u_scale])
    return starts
