"""``--controller lmpc``: linear MPC on a line model identified from step tests.

What a plant's own MPC engineer builds when no physics model is at hand:

* the model comes from a step-test campaign on the line
  (``calmline lmpc identify``, :mod:`controllers.lmpc._identify`), never from
  the physics equations; it is read from ``model_file`` (default
  ``models/lmpc_<preset>.json`` beside the scenario file);
* offset-free estimation: one integrating disturbance per measured output and
  a Kalman filter (:mod:`controllers.lmpc._kalman`), on block means of the
  readings over the model's sample time (as the model was identified);
* an economic steady-state target on the identified gains
  (:mod:`controllers.lmpc._target`) and a do-mpc tracking problem with soft
  output limits, hard input bounds and move limits, and the announced speed
  plan as per-stage caps (:mod:`controllers.lmpc._ocp`);
* the moves it makes: line speed, pump flow, every zone's heater power and
  exhaust flow; nozzle velocities stay at the recipe (they were not tested);
* success is checked on every solve; a failed solve takes the next move of
  the last good plan, else steps toward the target within the move limits;
* a stopped line and the first ``restart_guard_s`` after a restart run the
  recipe (the linear model knows nothing of a standing film); the estimator
  restarts from the model's steady state at the hand-back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from controllers.lmpc._kalman import OffsetFreeKalman
from controllers.lmpc._modelfile import LineModelFile, load_model_file
from controllers.lmpc._ocp import LinearOcp, _Weights
from controllers.lmpc._target import LinearTarget, rows_of
from controllers.recipe import RecipeController
from mpc.errors import CalmlineError
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from plants.line import LineLayout, LineModel
from plants.steady import steady_state

__all__ = ["LmpcController", "LmpcSettings"]


@dataclass(frozen=True)
class LmpcSettings:
    """Settings of the lmpc (scenario table ``[controllers.lmpc]``); every default documented."""

    model_file: str = ""
    """Identified model (JSON from ``calmline lmpc identify``); relative paths are taken from the
    scenario file's folder; empty: ``models/lmpc_<preset>.json`` there."""
    n_horizon: int = 12
    """Steps of the model's sample time (12 x 20 s = 240 s: gauge dead time plus dryer residence)."""
    lel_margin_target: float = 0.8
    """Fraction of the LEL limit in force the steady target may use."""
    lel_margin: float = 0.9
    """Fraction of the LEL limit in force the dynamic plan may use (soft)."""
    humidity_max_kg_kg: float = 0.08
    """Highest exhaust humidity ratio for a water dryer (as the NMPC)."""
    residual_frac_of_usl_target: float = 0.5
    """Exit residual of the target, fraction of its USL."""
    residual_frac_of_usl: float = 0.8
    """Exit residual limit of the dynamic plan, fraction of its USL (soft)."""
    film_margin_K: float = 5.0
    """Exit film temperature and every zone's air temperature kept this far under the film's maximum, K."""
    trust_rel: float = 0.3
    """Exhaust flows stay within +/- this fraction of the step test's operating point, heater powers above
    ``1 - trust_rel`` of it (up to the heater's limit): the linear model's trust region."""
    pump_trim_max: float = 0.05
    """The pump stays within +/- this fraction of the step test's pump-to-speed ratio (hard): the coat
    weight can never be traded for LEL or residual, however far the line is from the tested point."""
    min_fit_percent: float = 30.0
    """An upper-limited output (exit residual, exit film temperature) whose validation fit is below this
    is not trusted to move: its limit becomes the step test's mean (the recipe's level), no looser."""
    speed_min_frac: float = 0.5
    """Lowest speed the lmpc may choose, fraction of the plan's target."""
    speed_weight: float = 5.0
    """Target: reward for running at the plan's speed, per unit of v / v_target (as the NMPC)."""
    energy_ref_W: float = 5e5
    """Target: heater power that costs one unit of the objective (full speed earns ``speed_weight`` units), W."""
    target_move_weight: float = 1e-3
    """Target: quadratic weight on target moves (scaled inputs), keeps the target unique."""
    slack_weight: float = 1e3
    """Target: exact-penalty weight on the relative slacks of the output limits."""
    state_weight: float = 0.1
    """Plan: weight on the model states' distance from the target (scaled)."""
    input_weight: float = 1.0
    """Plan: weight on the inputs' distance from the target (scaled)."""
    coat_weight_weight: float = 10.0
    """Plan: weight on the coat weight's distance from its target, in units of its tolerance."""
    terminal_weight: float = 10.0
    """Plan: terminal weight on the states' distance from the target."""
    move_weight: float = 0.5
    """Plan: do-mpc ``rterm`` on every scaled input move."""
    soft_penalty: float = 1e3
    """Plan: exact (L1) penalty of the soft output limits."""
    q_x: float = 1e-2
    """Kalman filter: process noise on the model states (scaled units^2)."""
    q_d: float = 1e-3
    """Kalman filter: random-walk noise on the output disturbances (scaled units^2)."""
    restart_guard_s: float = 600.0
    """After a restart the recipe runs this long before the lmpc takes over, s."""

    @classmethod
    def from_mapping(cls, values: dict, where: str = "[controllers.lmpc]") -> LmpcSettings:
        """Settings from a scenario table; an unknown key or a wrong type is an error naming it."""
        known = {f.name: f for f in fields(cls)}
        out = {}
        for key, val in values.items():
            if key not in known:
                raise CalmlineError(f"{where}: unknown setting {key!r}; known: {', '.join(known)}")
            default = getattr(cls, key)
            try:
                out[key] = type(default)(val)
            except (TypeError, ValueError):
                raise CalmlineError(f"{where}: {key} = {val!r}, expected {type(default).__name__}") from None
        return cls(**out)


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
        s = LmpcSettings.from_mapping({**{f.name: getattr(self.base_settings, f.name)
                                          for f in fields(LmpcSettings)}, **dict(ctx.settings)})
        self.s = s
        p = ctx.model_params
        self.L = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        mdl = self.given_model or load_model_file(resolve_model_file(s, ctx.source, p.name))
        self._check_model(mdl, ctx)
        self.mdl, self.ctx = mdl, ctx
        self.k_every = round(mdl.dt_s / ctx.dt_s)
        if self.k_every < 1 or abs(self.k_every * ctx.dt_s - mdl.dt_s) > 1e-9:
            raise CalmlineError(f"lmpc model sample time {mdl.dt_s} s is not a multiple of the control interval "
                             f"{ctx.dt_s} s")
        self.r = rows_of(mdl)
        self.in_idx = np.array([ctx.input_names.index(n) for n in mdl.input_names])
        self.flammable = p.solvent.lel_vol_frac > 0
        # sensor noise (scaled) for the Kalman filter
        # measurement noise as the step test showed it (block means, scaled)
        r_meas = np.maximum((mdl.y_noise / mdl.y_scale) ** 2, 1e-4)
        self.kf = OffsetFreeKalman(mdl.A, mdl.B, mdl.C, r_meas, q_x=s.q_x, q_d=s.q_d)
        self.target = LinearTarget(mdl, speed_weight=s.speed_weight, energy_ref_W=s.energy_ref_W,
                                   move_weight=s.target_move_weight, slack_weight=s.slack_weight,
                                   pump_trim_max=s.pump_trim_max)
        lb, ub = self._limits(ctx.recipe.speed_m_s)
        w = _Weights(s.state_weight, s.input_weight, s.coat_weight_weight, s.terminal_weight, s.move_weight,
                     s.soft_penalty)
        self.ocp = LinearOcp(mdl, s.n_horizon, ctx.spec.coat_weight_tolerance_frac, w, lb, ub, s.pump_trim_max)
        self.rate_s = ctx.input_rate_limit[self.in_idx] * mdl.dt_s / mdl.u_scale
        # inputs the lmpc does not move: the recipe's steady state on the controller's model
        self.u_fixed = steady_state(LineModel(p), ctx.recipe).u.copy()
        self.recipe = RecipeController()
        self.recipe.reset(dataclasses.replace(ctx, settings={}))
        self.u = self.u_fixed.copy()
        self.k = 0
        self.need_reset = True
        self.guard_until = -np.inf
        self.was_stopped = False
        self.plan: np.ndarray | None = None
        self.plan_pos = 0
        self.analysers_healthy = True
        self._clear()

    # -- helpers -------------------------------------------------------------------------------
    def _check_model(self, mdl: LineModelFile, ctx: ControllerContext) -> None:
        if mdl.preset and mdl.preset != ctx.model_params.name:
            raise CalmlineError(f"lmpc model was identified on preset {mdl.preset!r}, the scenario runs "
                             f"{ctx.model_params.name!r}")
        bad_in = [n for n in mdl.input_names if n not in ctx.input_names]
        bad_out = [n for n in mdl.output_names if n not in ctx.measurement_names]
        if bad_in or bad_out:
            raise CalmlineError(f"lmpc model names signals the line lacks: {', '.join(bad_in + bad_out)}")

    def _clear(self) -> None:
        p = len(self.mdl.output_names)
        self.y_sum, self.y_cnt = np.zeros(p), np.zeros(p)
        self.u_sum, self.u_cnt = np.zeros(len(self.in_idx)), 0

    def _limits(self, v_target: float, v_cap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        mdl, ctx, s = self.mdl, self.ctx, self.s
        lo = ctx.input_lower[self.in_idx].astype(float).copy()
        hi = ctx.input_upper[self.in_idx].astype(float).copy()
        for j, name in enumerate(mdl.input_names):
            if name.endswith("_heater_power_cmd_W") or name.endswith("_exhaust_flow_m3_s"):
                lo[j] = max(lo[j], mdl.u0[j] * (1.0 - s.trust_rel))
                # heat may rise to the heater's limit: air temperature is an energy balance, nearly
                # linear in heater power, and a weakened heater needs it (exhaust is not: LEL ~ 1/flow)
                if not name.endswith("_heater_power_cmd_W"):
                    hi[j] = min(hi[j], mdl.u0[j] * (1.0 + s.trust_rel))
        sp = self.r.speed
        lo[sp] = max(lo[sp], s.speed_min_frac * v_target)
        if v_cap is not None:
            hi[sp] = min(hi[sp], v_cap)
        lo = np.minimum(lo, hi)
        return (lo - mdl.u0) / mdl.u_scale, (hi - mdl.u0) / mdl.u_scale

    def _lel_limit(self, obs: Observation) -> float:
        """The limit in force, or at once the analyser-less limit when an analyser has failed
        (the harness lowers it only after the purge allowance; the plan should not wait)."""
        if not self.analysers_healthy:
            return min(obs.lel_limit_frac, self.ctx.spec.lel_limit_frac)
        return obs.lel_limit_frac

    def _ub(self, obs: Observation, target: bool) -> np.ndarray:
        s, spec, r = self.s, self.ctx.spec, self.r
        ub = np.ones(len(self.mdl.output_names))
        for j in r.conc:
            if self.flammable:
                ub[j] = (s.lel_margin_target if target else s.lel_margin) * self._lel_limit(obs)
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

    def _accumulate(self, obs: Observation) -> None:
        for j, name in enumerate(self.mdl.output_names):
            v = obs.measurements.get(name, np.nan)
            if obs.healthy.get(name, True) and np.isfinite(v):
                self.y_sum[j] += v
                self.y_cnt[j] += 1
        self.u_sum += obs.applied[self.in_idx]
        self.u_cnt += 1

    # -- the step ------------------------------------------------------------------------------
    def step(self, obs: Observation) -> Command:
        mdl = self.mdl
        if obs.line_stopped or obs.t_s < self.guard_until:
            self.was_stopped = self.was_stopped or obs.line_stopped
            cmd = self.recipe.step(obs)
            self.u = cmd.u.copy()
            self.need_reset = True
            self.plan = None
            self.k = 0
            self._clear()
            return cmd
        if self.was_stopped:  # restart: the recipe first, then the lmpc
            self.was_stopped = False
            self.guard_until = obs.t_s + self.s.restart_guard_s
            return self.step(obs)
        self._accumulate(obs)
        healthy = all(v for n, v in obs.healthy.items() if n.endswith("_lel_frac"))
        health_changed = healthy != self.analysers_healthy
        self.analysers_healthy = healthy
        failure = fallback = False
        boundary = self.k % self.k_every == 0  # a model step ends: one block of readings is complete
        if boundary or health_changed:
            with np.errstate(invalid="ignore", divide="ignore"):
                y_mean = self.y_sum / self.y_cnt
            y_s = (y_mean - mdl.y0) / mdl.y_scale
            avail = self.y_cnt > 0
            u_s_applied = ((self.u_sum / max(self.u_cnt, 1)) - mdl.u0) / mdl.u_scale
            if self.need_reset:
                u_s_now = (obs.applied[self.in_idx] - mdl.u0) / mdl.u_scale
                self.kf.reset(u_s_now, y_s)
                self.ocp.set_initial_guess(self.kf.x, u_s_now)
                self.need_reset = False
            elif boundary:
                self.kf.update(y_s, avail)
                self.kf.predict(u_s_applied)
            if boundary:
                self._clear()
            failure, fallback = self._solve(obs)
        self.k += 1
        return Command(u=self.u.copy(), solver_failure=failure, fallback=fallback)

    def _solve(self, obs: Observation) -> tuple[bool, bool]:
        mdl, s, ctx = self.mdl, self.s, self.ctx
        t, n, dt = obs.t_s, s.n_horizon, mdl.dt_s
        sched = ctx.schedule
        targets = np.array([sched.target_m_s(t + j * dt) for j in range(n + 1)])
        caps = np.array([min(sched.cap_m_s(t + j * dt), obs.speed_cap_m_s, targets[j]) for j in range(n + 1)])
        v_tgt, v_cap = float(targets[-1]), float(caps[-1])
        sp = self.r.speed
        u_prev_s = (self.u[self.in_idx] - mdl.u0) / mdl.u_scale
        lb, ub = self._limits(max(v_tgt, 1e-3), v_cap)
        d = self.kf.d.copy()
        xt, ut, ok_t, _ = self.target.solve(d, max(v_tgt, 1e-3), ctx.spec.coat_weight_target_kg_m2,
                                            self._ub(obs, True), u_prev_s, lb, ub)
        caps_s = (caps[:n] - mdl.u0[sp]) / mdl.u_scale[sp]
        self.ocp.set_parameters(d=d, xt=xt, ut=ut, y_ub=self._ub(obs, False))
        self.ocp.set_stage_bounds(u_prev_s, self.rate_s, caps_s, lb, ub)
        failure = fallback = False
        try:
            u_s, ok, plan = self.ocp.solve(self.kf.x)
        except RuntimeError:
            u_s, ok, plan = u_prev_s, False, None
        self.solves += 1
        if self.force_failure_every and self.solves % self.force_failure_every == 0:
            ok = False
        if ok:
            self.plan, self.plan_pos = plan, 1
        else:
            failure = fallback = True
            if self.plan is not None and self.plan_pos < len(self.plan):
                u_s = self.plan[self.plan_pos]
                self.plan_pos += 1
            else:
                u_s = u_prev_s + np.clip(ut - u_prev_s, -self.rate_s, self.rate_s)
            u_s = np.clip(u_s, np.minimum(lb, ub), ub)
            u_s[sp] = min(u_s[sp], float(caps_s[0]))
        failure = failure or not ok_t
        u = self.u_fixed.copy()
        u[self.in_idx] = mdl.u0 + mdl.u_scale * u_s
        self.u = u
        return failure, fallback

