"""``--controller lmpc``: linear MPC on a line model identified from step tests.

What a plant's own MPC engineer builds when no physics model is at hand:

* the model comes from a step-test campaign on the line
  (``calmline lmpc identify``, :mod:`controllers.lmpc._identify`), never from
  the physics equations; it is read from ``model_file`` (default
  ``models/lmpc_<preset>.json`` beside the scenario file);
* offset-free estimation: one integrating disturbance per measured output and
  a Kalman filter (:class:`mpc.edge.OffsetFreeKalman`), on block means of the
  readings over the model's sample time (as the model was identified);
* an economic steady-state target on the identified gains
  (:mod:`controllers.lmpc._target`) and a do-mpc tracking problem with soft
  output limits, hard input bounds and move limits, and the announced speed
  plan as per-stage caps (:mod:`controllers.lmpc._ocp`);
* the moves it makes: line speed, the pump ratio station's set point, every
  zone's air-temperature set point (the PLC's PI loop holds it) and exhaust
  flow; nozzle velocities stay at the recipe (they were not tested). The
  model was identified on those set points, so the loops' closed-loop
  dynamics are in it; the loops' heater powers (the PLC's readback) are
  outputs of the model: its energy, and kept inside the heaters' range;
* success is checked on every solve; a failed solve takes the next move of
  the last good plan, else steps toward the target within the move limits
  (:func:`mpc.edge.fallback_move`, shared with the NMPC);
* the supervisor (:mod:`mpc.edge`, shared with the NMPC) says
  when the line is stopped or in its start-up phase (``restart_guard_s``
  after a restart): then the recipe runs (the linear model knows nothing of a
  standing film), and the estimator restarts from the readings at the
  hand-back; it also gives the LEL limit to plan for and the speed preview.

Settings: ``[controllers.lmpc]`` and ``[controllers.lmpc.supervisor]``
(:class:`mpc.scenario.LmpcSettings`, ``docs/controllers.md``), checked when
the scenario is loaded and again at :meth:`LmpcController.reset`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from pathlib import Path

import numpy as np

from controllers._common import setpoints_from_inputs
from controllers.lmpc._modelfile import LineModelFile, load_model_file
from controllers.lmpc._ocp import LinearOcp, _Weights
from controllers.lmpc._target import LinearTarget, rows_of
from controllers.recipe import RecipeController
from mpc.edge import Decision, OffsetFreeKalman, PlanMemory, Supervisor, fallback_move
from mpc.errors import CalmlineError
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import LmpcSettings
from plants.line import LineLayout, LineModel
from plants.steady import steady_state

__all__ = ["LmpcController"]


def resolve_model_file(settings: LmpcSettings, source: str, preset: str) -> Path:
    """Where the model file is: the setting (relative to the scenario's folder) or the default."""
    base = Path(source).parent if source and not source.startswith("<") else Path(".")
    rel = Path(settings.model_file) if settings.model_file else Path("models") / f"lmpc_{preset}.json"
    return rel if rel.is_absolute() else base / rel


class LmpcController(Controller):
    """Offset-free linear MPC (do-mpc) on an identified model; see the module docstring."""

    name = "lmpc"

    def __init__(self, settings: LmpcSettings | None = None, model: LineModelFile | None = None, *,
                 force_failure_every: int = 0) -> None:
        """``model`` overrides the model file; ``force_failure_every`` > 0 treats every n-th solve as
        failed (to prove the fallback in tests and commissioning)."""
        self.base_settings = settings or LmpcSettings()
        self.given_model = model
        self.force_failure_every = int(force_failure_every)
        self.solves = 0

    def reset(self, ctx: ControllerContext) -> None:
        s = LmpcSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]", source=ctx.source,
                                      base=self.base_settings)
        self.settings = s
        p = ctx.model_params
        self.L = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        self.model_path = None if self.given_model is not None else resolve_model_file(s, ctx.source, p.name)
        """The model file read (``None``: the model was given)."""
        mdl = self.given_model or load_model_file(self.model_path)
        self._check_model(mdl, ctx)
        self.mdl, self.ctx = mdl, ctx
        self.recipe_speed_m_s = float(ctx.recipe.speed_m_s)
        self.k_every = round(mdl.dt_s / ctx.dt_s)
        if self.k_every < 1 or abs(self.k_every * ctx.dt_s - mdl.dt_s) > 1e-9:
            raise CalmlineError(f"lmpc model sample time {mdl.dt_s} s is not a multiple of the control interval "
                             f"{ctx.dt_s} s")
        self.r = rows_of(mdl)
        self.sp_loops = {lp.setpoint_key: lp for lp in ctx.plc_loops if lp.kind in ("pi", "ratio")}
        # where each model input is read back: a plant input (index into ``applied``) or a loop's set point
        self.in_idx = np.array([ctx.input_names.index(n) if n in ctx.input_names else -1 for n in mdl.input_names])
        self.in_loop = [self.sp_loops[n].name if n in self.sp_loops else "" for n in mdl.input_names]
        self.out_applied = {j: ctx.input_names.index(n) for j, n in enumerate(mdl.output_names)
                            if n not in ctx.measurement_names}
        self.flammable = p.solvent.lel_vol_frac > 0
        # sensor noise (scaled) for the Kalman filter
        # measurement noise as the step test showed it (block means, scaled)
        r_meas = np.maximum((mdl.y_noise / mdl.y_scale) ** 2, 1e-4)
        q_d = np.full(len(mdl.output_names), s.q_d)
        q_d[self.r.cw] = s.q_d_coat_weight  # a lot change is a step in the coat weight's disturbance
        self.kf = OffsetFreeKalman(mdl.A, mdl.B, mdl.C, r_meas, q_x=s.q_x, q_d=q_d)
        hmax = p.dryer.heater_max_W
        heater_range = (s.heater_margin_frac * hmax, (1.0 - s.heater_margin_frac) * hmax)
        self.target = LinearTarget(mdl, speed_weight=s.speed_weight, energy_ref_W=s.energy_ref_W,
                                   move_weight=s.target_move_weight, slack_weight=s.slack_weight,
                                   pump_trim_max=s.pump_trim_max, heater_range_W=heater_range)
        self._heater_range = heater_range
        self.ocp = self.build_ocp()
        rate = np.array([self._setpoint_rate(self.sp_loops[n]) if loop else ctx.input_rate_limit[i]
                         for n, i, loop in zip(mdl.input_names, self.in_idx, self.in_loop, strict=True)])
        # the line speed no faster than the ratio station's pump can follow: it lags the drive by its time
        # constant, so a speed ramp a leaves the coat weight off by about tau a / v; half the tolerance at the
        # lowest speed the lmpc may choose
        sp = self.r.speed
        v_low = max(s.speed_min_frac * ctx.recipe.speed_m_s, 1e-3)
        rate[sp] = min(rate[sp], 0.5 * ctx.spec.coat_weight_tolerance_frac * v_low
                       / max(p.coater.pump_time_constant_s, 1e-6))
        self.rate_s = rate * mdl.dt_s / mdl.u_scale
        # the drive follows a written speed within a second or two, so a plan's move written at once would
        # be a step the pump cannot follow: the speed is written as a ramp at that rate, one control
        # interval at a time, across the model step
        self.speed_step_m_s = float(rate[sp]) * ctx.dt_s
        self.speed_w = math.nan
        # inputs the lmpc does not move: the recipe's steady state on the controller's model
        self.u_fixed = steady_state(LineModel(p), ctx.recipe).u.copy()
        self.recipe = RecipeController()
        self.recipe.reset(dataclasses.replace(ctx, settings={}))
        self.u = self.u_fixed.copy()
        self.v = np.asarray(mdl.u0, float).copy()  # the plan's model inputs (physical units)
        self.k = 0
        self.need_reset = True
        self.supervisor = Supervisor(s.supervisor, ctx.schedule, ctx.spec.lel_limit_frac)
        self.plan = PlanMemory()
        self.lot_ratio: float | None = None
        self.ratio_history: deque[float] = deque(maxlen=64)
        self._clear()

    def build_ocp(self, solver: str = "tuned") -> LinearOcp:
        """The tracking OCP of this scenario's settings (``solver``: :class:`LinearOcp`'s)."""
        s, ctx = self.settings, self.ctx
        lb, ub = self._limits(ctx.recipe.speed_m_s)
        w = _Weights(s.state_weight, s.input_weight, s.coat_weight_weight, s.terminal_weight, s.move_weight,
                     s.soft_penalty)
        return LinearOcp(self.mdl, s.n_horizon, ctx.spec.coat_weight_tolerance_frac, w, lb, ub, self._heater_range,
                         solver=solver)

    # -- helpers -------------------------------------------------------------------------------
    def _check_model(self, mdl: LineModelFile, ctx: ControllerContext) -> None:
        if mdl.preset and mdl.preset != ctx.model_params.name:
            raise CalmlineError(f"lmpc model was identified on preset {mdl.preset!r}, the scenario runs "
                             f"{ctx.model_params.name!r}")
        setpoints = {lp.setpoint_key for lp in ctx.plc_loops if lp.kind in ("pi", "ratio")}
        loop_outputs = {lp.output for lp in ctx.plc_loops if lp.kind == "pi"}
        older = [n for n in mdl.input_names if n in loop_outputs or n == "pump_flow_cmd_m3_s"]
        if older:
            raise CalmlineError(f"lmpc model was identified on {', '.join(older)} (an older model file): identify it "
                                "again on the PLC's air-temperature and pump-ratio set points (calmline lmpc identify)")
        bad_in = [n for n in mdl.input_names if n not in ctx.input_names and n not in setpoints]
        bad_out = [n for n in mdl.output_names if n not in ctx.measurement_names and n not in loop_outputs]
        if bad_in or bad_out:
            raise CalmlineError(f"lmpc model names signals the line lacks: {', '.join(bad_in + bad_out)}")

    def _setpoint_rate(self, lp) -> float:
        """A loop's set-point move per second: its ramp; a temperature loop's also no faster than
        ``setpoint_rate_K_s`` and the proportional kick the heater's rate limit can follow (as the NMPC's)."""
        if lp.kind != "pi":
            return lp.setpoint_rate_per_s
        heater_rate = float(self.ctx.input_rate_limit[self.ctx.input_names.index(lp.output)])
        rate = min(lp.setpoint_rate_per_s, self.settings.setpoint_rate_K_s)
        return min(rate, heater_rate / lp.kc) if lp.kc > 0.0 else rate

    def _clear(self) -> None:
        p = len(self.mdl.output_names)
        self.y_sum, self.y_cnt = np.zeros(p), np.zeros(p)
        self.u_sum, self.u_cnt = np.zeros(len(self.in_idx)), 0

    def _limits(self, v_target: float, v_cap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        mdl, ctx, s = self.mdl, self.ctx, self.settings
        lo = np.empty(len(mdl.input_names))
        hi = np.empty(len(mdl.input_names))
        for j, name in enumerate(mdl.input_names):
            if self.in_loop[j]:  # a set point: the PLC's range (the ratio's trim window is a constraint of its own)
                lp = self.sp_loops[name]
                lo[j], hi[j] = lp.lower, lp.upper
                if lp.kind == "pi":  # and the model's trust region around the test
                    lo[j] = max(lo[j], mdl.u0[j] - s.setpoint_trust_K)
                    hi[j] = min(hi[j], mdl.u0[j] + s.setpoint_trust_K)
                continue
            lo[j], hi[j] = ctx.input_lower[self.in_idx[j]], ctx.input_upper[self.in_idx[j]]
            if name.endswith("_exhaust_flow_m3_s"):
                lo[j] = max(lo[j], mdl.u0[j] * (1.0 - s.trust_rel))
                hi[j] = min(hi[j], mdl.u0[j] * (1.0 + s.trust_rel))
        sp = self.r.speed
        # a floor under the plan's speed, but never above the recipe's share of it: a plan asking for more than
        # the line can hold (nmc_nmp_exhaust_saturated: 1.2 m/s) put the floor at 0.6 m/s, above what the
        # saturated exhausts could ventilate, and the lmpc sat there 9576 s above the LEL limit
        lo[sp] = max(lo[sp], s.speed_min_frac * min(v_target, self.recipe_speed_m_s))
        if v_cap is not None:
            hi[sp] = min(hi[sp], v_cap)
        lo = np.minimum(lo, hi)
        return (lo - mdl.u0) / mdl.u_scale, (hi - mdl.u0) / mdl.u_scale

    def _ub(self, d: Decision, target: bool) -> np.ndarray:
        s, spec, r = self.settings, self.ctx.spec, self.r
        ub = np.ones(len(self.mdl.output_names))
        for j in r.conc:
            if self.flammable:
                ub[j] = (s.lel_margin_target if target else s.lel_margin) * d.lel_limit_frac
            else:
                ub[j] = s.humidity_max_kg_kg
        ub[r.residual] = (s.residual_frac_of_usl_target if target else s.residual_frac_of_usl) * spec.residual_usl_kg_kg
        ub[r.film] = spec.film_temp_max_K - s.film_margin_K
        for j in r.air:  # a dry film heats to the air: the air stays under the film's limit too
            ub[j] = spec.film_temp_max_K - s.film_margin_K
        # an output the model cannot predict (the water residual is a hinge at its equilibrium floor)
        # must not be pushed to its limit on the model's word: hold it at the step test's level
        mdl = self.mdl
        for j in (r.residual, r.film):
            if mdl.fit_percent.get(mdl.output_names[j], 100.0) < s.min_fit_percent:
                ub[j] = min(ub[j], float(mdl.y0[j]))
        return ub

    LOT_FILTER_S = 300.0
    """Time constant of the lot's pump-to-speed ratio estimate, s (a few gauge transport times)."""

    def _learn_lot(self, cw_mean: float, u_mean: np.ndarray) -> None:
        """Update the lot's pump-to-speed ratio from a block of gauge readings and applied inputs.

        At a given lot the coat weight is proportional to pump flow over speed (the ratio station's set point),
        so the ratio that gives the target is the ratio set one gauge transport time ago times target over
        measured coat weight: model-free, so the plan's own ratio moves do not move it (a window centred on the model's coat-weight disturbance ratchets with the
        model's gain error). Low-pass filtered over :attr:`LOT_FILTER_S`, within [0.8, 1.25] of the step
        test's ratio; the pump's trim window is centred on it."""
        mdl, r = self.mdl, self.r
        speed, applied = float(u_mean[r.speed]), float(u_mean[r.ratio])
        self.ratio_history.append(applied if speed > 1e-3 else np.nan)
        if not (np.isfinite(cw_mean) and cw_mean > 0.0 and speed > 1e-3 and applied > 0.0):
            return
        # the gauge reads web coated one transport time ago: compare it with the ratio applied then
        lag = round(self.ctx.model_params.coater.coater_to_gauge_m / speed / mdl.dt_s)
        if lag >= len(self.ratio_history) or not np.isfinite(self.ratio_history[-1 - lag]):
            return
        inst = self.ratio_history[-1 - lag] * self.ctx.spec.coat_weight_target_kg_m2 / cw_mean
        base = float(mdl.pump_per_speed)
        inst = min(max(inst, 0.8 * base), 1.25 * base)
        if self.lot_ratio is None:
            self.lot_ratio = inst
        else:
            a = mdl.dt_s / (self.LOT_FILTER_S + mdl.dt_s)
            self.lot_ratio += a * (inst - self.lot_ratio)

    def _inputs_now(self, obs: Observation) -> np.ndarray:
        """The model's inputs as the line has them: plant inputs applied, the loops' working set points."""
        v = np.empty(len(self.in_idx))
        for j, (i, loop) in enumerate(zip(self.in_idx, self.in_loop, strict=True)):
            st = obs.loops.get(loop) if loop else None
            v[j] = obs.applied[i] if not loop else (st.setpoint if st is not None else self.v[j])
        return v

    def _accumulate(self, obs: Observation) -> None:
        for j, name in enumerate(self.mdl.output_names):
            if j in self.out_applied:  # a loop's heater power: the PLC's readback
                self.y_sum[j] += float(obs.applied[self.out_applied[j]])
                self.y_cnt[j] += 1
                continue
            v = obs.measurements.get(name, np.nan)
            if obs.healthy.get(name, True) and np.isfinite(v):
                self.y_sum[j] += v
                self.y_cnt[j] += 1
        self.u_sum += self._inputs_now(obs)
        self.u_cnt += 1

    # -- the step ------------------------------------------------------------------------------
    def step(self, obs: Observation) -> Command:
        mdl = self.mdl
        d = self.supervisor.update(obs)
        if d.mode in ("stopped", "startup"):  # the recipe runs; the lmpc starts afresh at the hand-back
            cmd = self.recipe.step(obs)
            cmd.release = tuple(lp.name for lp in self.ctx.plc_loops)
            self.u = np.asarray(obs.applied, float).copy()
            self.v = self._inputs_now(obs)
            self.speed_w = math.nan
            self.need_reset = True
            self.plan.clear()
            self.ratio_history.clear()  # the recipe runs the pump meanwhile: no ratio to align with the gauge
            self.k = 0
            self._clear()
            return cmd
        self._accumulate(obs)
        failure = fallback = False
        boundary = self.k % self.k_every == 0  # a model step ends: one block of readings is complete
        if boundary or d.health_changed:
            with np.errstate(invalid="ignore", divide="ignore"):
                y_mean = self.y_sum / self.y_cnt
            y_s = (y_mean - mdl.y0) / mdl.y_scale
            avail = self.y_cnt > 0
            u_mean = self.u_sum / max(self.u_cnt, 1)
            u_s_applied = (u_mean - mdl.u0) / mdl.u_scale
            if boundary:  # every block enters the ratio history, so its lag counts blocks of time
                self._learn_lot(float(y_mean[self.r.cw]) if avail[self.r.cw] else np.nan, u_mean)
            if self.need_reset:
                self.v = self._inputs_now(obs)
                u_s_now = (self.v - mdl.u0) / mdl.u_scale
                self.kf.reset(u_s_now, y_s)
                self.ocp.set_initial_guess(self.kf.x, u_s_now)
                self.need_reset = False
            elif boundary:
                self.kf.update(y_s, avail)
                self.kf.predict(u_s_applied)
            if boundary:
                self._clear()
            failure, fallback = self._solve(obs, d)
        solved = boundary or d.health_changed
        self.k += 1
        sp = setpoints_from_inputs(self.ctx, self._ramped(obs))  # speed, ratio, fans (the recipe's), exhausts
        sp.update({n: float(self.v[j]) for j, n in enumerate(self.mdl.input_names) if self.in_loop[j]})
        return Command(setpoints=sp, solver_failure=failure, fallback=fallback, solved=solved)

    def _ramped(self, obs: Observation) -> np.ndarray:
        """The plan's plant inputs with the line speed ramped toward the plan's at the speed rate limit
        (never above the plan's speed cap now), and the pump at the plan's ratio of that speed."""
        L = self.L
        u = self.u.copy()
        v_plan = float(u[L.u_speed])
        w = float(obs.applied[L.u_speed]) if not math.isfinite(self.speed_w) else self.speed_w
        w += min(max(v_plan - w, -self.speed_step_m_s), self.speed_step_m_s)
        if math.isfinite(obs.speed_cap_m_s):
            w = min(w, float(obs.speed_cap_m_s))
        self.speed_w = w
        u[L.u_speed] = w
        u[L.u_pump] = self.v[self.r.ratio] * w
        return u

    def _solve(self, obs: Observation, d: Decision) -> tuple[bool, bool]:
        mdl, s, ctx = self.mdl, self.settings, self.ctx
        n = s.n_horizon
        targets, caps = self.supervisor.speed_preview(obs.t_s, obs.speed_cap_m_s, mdl.dt_s, n)
        v_tgt, v_cap = float(targets[-1]), float(caps[-1])
        sp = self.r.speed
        u_prev_s = (self.v - mdl.u0) / mdl.u_scale
        lb, ub = self._limits(max(v_tgt, 1e-3), v_cap)
        dist = self.kf.d.copy()
        ratio = float(self.mdl.pump_per_speed) if self.lot_ratio is None else self.lot_ratio
        xt, ut, ok_t, _ = self.target.solve(dist, max(v_tgt, 1e-3), ctx.spec.coat_weight_target_kg_m2,
                                            self._ub(d, True), u_prev_s, lb, ub, ratio=ratio)
        caps_s = (caps[:n] - mdl.u0[sp]) / mdl.u_scale[sp]
        self.ocp.set_parameters(d=dist, xt=xt, ut=ut, y_ub=self._ub(d, False))
        # the ratio station's set point within +/- pump_trim_max of the lot's ratio: bounds of the plan's inputs
        lo, hi = lb.copy(), ub.copy()
        j, trim = self.r.ratio, s.pump_trim_max
        lo[j] = max(lo[j], (ratio * (1.0 - trim) - mdl.u0[j]) / mdl.u_scale[j])
        hi[j] = min(hi[j], (ratio * (1.0 + trim) - mdl.u0[j]) / mdl.u_scale[j])
        self.ocp.set_stage_bounds(u_prev_s, self.rate_s, self.rate_s, caps_s, lower=np.minimum(lo, hi), upper=hi)
        failure = fallback = False
        try:
            u_s, ok, plan = self.ocp.solve(self.kf.x)
        except RuntimeError:
            u_s, ok, plan = u_prev_s, False, None
        self.solves += 1
        if self.force_failure_every and self.solves % self.force_failure_every == 0:
            ok = False
        if ok:
            self.plan.store(plan)
        else:
            failure = fallback = True
            u_s = fallback_move(self.plan.next_move(), ut, u_prev_s, lb, ub, self.rate_s, self.rate_s, sp,
                                float(caps_s[0]))
        failure = failure or not ok_t
        self.v = mdl.u0 + mdl.u_scale * u_s
        u = self.u_fixed.copy()
        plant = self.in_idx >= 0
        u[self.in_idx[plant]] = self.v[plant]
        u[self.L.u_pump] = self.v[self.r.ratio] * u[self.L.u_speed]  # what the ratio station will give
        self.u = u
        return failure, fallback

