"""The NMPC's step logic, without CasADi: one copy for the design-side controller and the edge core.

:class:`NmpcLogic` runs every step: the estimation block, the supervisor's modes (stopped line, start-up phase,
hand-back), the economic target's requests and the stamped targets it tracks (the last good one, the recipe's
steady state once that is older than ``[controllers.nmpc.target] max_age_s``), the tracking OCP and its fallback
chain, the PLC writes. What it runs on is given by its subclass: :class:`controllers.nmpc.NmpcController` builds
do-mpc's OCP, the CasADi EKF and the target on IPOPT in its own process;
:class:`controllers.nmpc.EdgeNmpcController` runs an artifact's compiled estimator and OCP (:mod:`mpc.edge`) and
asks a :class:`mpc.edge.TargetSource` for its targets. Importing this module imports neither CasADi nor do-mpc.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import numpy as np

from controllers._common import plc_loop, setpoints_from_inputs
from controllers.nmpc._scaling import NmpcScaling, TemperatureLoops
from mpc.edge import (
    Decision,
    PlanMemory,
    Supervisor,
    TargetRequest,
    TargetSource,
    fallback_move,
    model_sha256,
)
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import (
    EstimatorSettings,
    ModelSettings,
    NmpcSettings,
    OcpSettings,
    SettingsError,
    SupervisorSettings,
    TargetSettings,
)

__all__ = ["NmpcLogic"]

_BOUND_TOL = 1e-6
"""How far (scaled units) a target's inputs may lie outside their bounds (IPOPT relaxes bounds by 1e-8 relative)."""


class NmpcLogic(Controller):
    """The NMPC's logic on a model, an OCP, an estimation block and a link to the target's layer.

    Parameters: those of :class:`controllers.nmpc.NmpcController`.
    """

    name = "nmpc"
    ocp: Any
    """The tracking OCP (do-mpc's :class:`controllers.nmpc.DynamicOcp` or the edge's :class:`mpc.edge.EdgeOcp`)."""
    ekf: Any
    """The estimator whose ``xs`` is the line state's estimate."""
    est: Any
    """The estimation block (:class:`mpc.edge.EstimationStep`)."""
    targets: TargetSource
    """The link to the economic target's layer."""

    def __init__(self, ocp: OcpSettings | None = None, target: TargetSettings | None = None, *,
                 model: ModelSettings | None = None, estimator: EstimatorSettings | None = None,
                 supervisor: SupervisorSettings | None = None, disturbance_states: bool = True,
                 force_failure_every: int = 0, name: str | None = None) -> None:
        self.base_settings = NmpcSettings(
            ocp=ocp or OcpSettings(), target=target or TargetSettings(), model=model or ModelSettings(),
            estimator=estimator or EstimatorSettings(), supervisor=supervisor or SupervisorSettings(),
        )
        """The settings given here; a scenario's ``[controllers.nmpc]`` tables change them at :meth:`reset`."""
        self.disturbance_states = disturbance_states
        self.force_failure_every = force_failure_every
        if name is not None:
            self.name = name

    # ------------------------------------------------------------------
    @abstractmethod
    def _build_model(self, ctx: ControllerContext, st: NmpcSettings, loops: TemperatureLoops | None) -> NmpcScaling:
        """The model's numbers (the design side's :class:`controllers.nmpc.NmpcModel`, the edge's from its
        artifact)."""

    @abstractmethod
    def _build_parts(self, ctx: ControllerContext, st: NmpcSettings) -> None:
        """Set :attr:`ocp` (the tracking OCP), :attr:`ekf` and :attr:`est` (the estimation block) and
        :attr:`targets` (the link to the economic target's layer)."""

    def reset(self, ctx: ControllerContext) -> None:
        self.settings = st = NmpcSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]",
                                                        source=ctx.source, base=self.base_settings)
        ocp, tgt, mdl = st.ocp, st.target, st.model
        self.ctx = ctx
        self.loops_in_model = mdl.temperature_loops == "model"
        loops = TemperatureLoops.from_plc(ctx.plc_loops, ctx.recipe.air_temp_K, ctx.thermocouple_lag_s)
        self.m = m = self._build_model(ctx, st, loops if self.loops_in_model else None)
        L = m.layout
        self.L = L
        every = ocp.t_step_s / ctx.dt_s
        if abs(every - round(every)) > 1e-9 or every < 1:
            raise SettingsError(
                f"{ctx.source}: [controllers.{ctx.controller_name}.ocp] t_step_s = {ocp.t_step_s!r}: expected a "
                f"whole multiple of the scenario's control_interval_s = {ctx.dt_s!r} s"
            )
        self.every = round(every)
        self.ocp_cfg = ocp
        u_lb = ctx.input_lower.copy()
        u_ub = ctx.input_upper.copy()
        u_lb[L.u_nozzle] = np.maximum(u_lb[L.u_nozzle], tgt.nozzle_min_m_s)
        self.u_lb_s = u_lb / m.u_scale
        self.u_ub_s = u_ub / m.u_scale
        self.rate_s = ctx.input_rate_limit * ocp.t_step_s / m.u_scale
        self.rate_down_s = self.rate_s.copy()
        self.rate_down_s[L.u_exhaust] = np.minimum(
            self.rate_s[L.u_exhaust], ocp.exhaust_close_rate_m3_s2 * ocp.t_step_s / m.u_scale[L.u_exhaust]
        )
        sp_scale = loops.sp_scale_K
        # the OCP's inputs: the line's (with loops: the heater slots as the loops' feedforwards) and, with loops,
        # one set point per zone; a set-point move per step is at most setpoint_rate_K_s (and the PLC's ramp),
        # and no larger than the proportional kick the heater's rate limit can follow
        sp_move = np.minimum(min(loops.sp_rate_K_s, ocp.setpoint_rate_K_s) * ocp.t_step_s,
                             ctx.input_rate_limit[L.u_heater] * ocp.t_step_s / loops.kc_W_K) / sp_scale
        if self.loops_in_model:
            self.v_lb = np.r_[self.u_lb_s, (loops.sp_lower_K - loops.ref_K) / sp_scale]
            self.v_ub = np.r_[self.u_ub_s, (loops.sp_upper_K - loops.ref_K) / sp_scale]
            self.vrate_s = np.r_[self.rate_s, sp_move]
            self.vrate_down_s = np.r_[self.rate_down_s, sp_move]
        else:
            self.v_lb, self.v_ub = self.u_lb_s.copy(), self.u_ub_s.copy()
            self.vrate_s, self.vrate_down_s = self.rate_s.copy(), self.rate_down_s.copy()
        self._build_parts(ctx, st)
        self.target_plant = (np.nan, np.nan)  # the exit residual and film temperature the target settles the plant at
        self.u = m.ss.u.copy()
        self.plan = PlanMemory()
        self.ratio_speed = 0.0
        """The speed the pump-to-speed ratio is written at (see ``_solve``); 0 until the first solve."""
        self.target_speed_m_s = float("nan")  # the last good target's line speed
        self.target_ok = False  # whether the target's last solve converged
        self.v_floor_m_s = max(float(ctx.input_lower[L.u_speed]), 0.01 * float(ctx.recipe.speed_m_s))
        self.k = 0
        self.k_phase = 0  # the NMPC solves at k = k_phase (mod every): re-phased at the hand-back
        self.solves = 0
        self.v = m.ocp_inputs(m.ss.u / m.u_scale, np.asarray(ctx.recipe.air_temp_K, float))
        self.integral = np.zeros(L.n_zones)
        self.reading = np.asarray(ctx.recipe.air_temp_K, float).copy()  # the loops' thermocouple readings
        self.ocp.set_initial_guess(m.ocp_state(m.ss.x / m.x_scale), self.v)
        self.last_target: tuple[np.ndarray, np.ndarray] = (m.ss.x / m.x_scale, m.ss.u / m.u_scale)
        self.target_time_s = math.nan
        """The stamp of the target tracked, s (the recipe's steady state stands for it from the first solve)."""
        # the requests are numbered for the controller's lifetime, across resets (a line's re-initialisation), and
        # an answer to a request made before a reset is never taken after it
        self.target_seq: int = getattr(self, "target_seq", 0)
        """The last target request's number."""
        self.target_seen: int = self.target_seq
        """The number of the last answer taken (or, after a reset, of the last request before it)."""
        self.target_pending = 0
        """The request made for a new plan (speed step, cap, LEL limit, restart) whose answer has not come (0: none):
        until it comes, the target in hand is not this plan's, and its speed is not imposed on the OCP."""
        self.max_age_s = float(st.target.max_age_s)
        """Age beyond which the target is not tracked (``[controllers.nmpc.target] max_age_s``), s."""
        self.model_hash = model_sha256(ctx)
        """The controller model's hash (:func:`mpc.edge.model_sha256`), sent with every request: a layer solving on
        another model refuses it."""
        self.target_aged_out = 0
        """Solves that tracked the recipe's steady state because the last good target was too old."""
        self.supervisor = Supervisor(st.supervisor, ctx.schedule, ctx.spec.lel_limit_frac)
        self.target_every = max(1, round(tgt.every_s / ocp.t_step_s))
        self.target_key: tuple[float, float, float] | None = None
        self.recipe_exhaust = np.asarray(ctx.recipe.exhaust_m3_s, float)
        self.restart_ratio = (float(m.ss.u[L.u_pump] / m.ss.u[L.u_speed]), 0.0)
        # the start-up recipe's dryer: the PLC's fan and air-temperature loops in recipe mode (while the line stands
        # and during the start-up phase), the exhausts written
        n = L.n_zones
        self.recipe_loops = tuple(f"zone{i}_{w}" for w in ("fan_speed", "air_temp") for i in range(1, n + 1))
        self.exhaust_keys = [plc_loop(ctx, f"zone{i}_exhaust").setpoint_key for i in range(1, n + 1)]
        self.fan_keys = [plc_loop(ctx, f"zone{i}_fan_speed").setpoint_key for i in range(1, n + 1)]
        self.ratio_key = plc_loop(ctx, "pump_ratio").setpoint_key
        self.speed_key = plc_loop(ctx, "line_speed").setpoint_key
        self.air_keys = [plc_loop(ctx, f"zone{i}_air_temp").setpoint_key for i in range(1, n + 1)]
        self.ff_keys = [str(plc_loop(ctx, f"zone{i}_air_temp").feedforward_key) for i in range(1, n + 1)]
        self.air_sensors = [plc_loop(ctx, f"zone{i}_air_temp").measurement for i in range(1, n + 1)]

    def _startup_dryer(self, obs: Observation, u: np.ndarray) -> None:
        """Set the dryer inputs of ``u`` to the start-up recipe's: recipe nozzles and exhausts, the heater powers the
        PLC's loops give."""
        L = self.L
        u[L.u_nozzle] = self.m.ss.u[L.u_nozzle]
        u[L.u_heater] = obs.applied[L.u_heater]
        u[L.u_exhaust] = self.recipe_exhaust

    def _startup_command(self, ratio_m3_m: float | None, fans: bool = False) -> Command:
        """The PLC set points of the stopped line and the start-up phase: speed, ratio, exhausts (and, with ``fans``,
        the fan speeds); the air-temperature loops (and the fans otherwise) in recipe mode."""
        L = self.L
        out = {self.speed_key: float(self.u[L.u_speed])}
        if ratio_m3_m is not None:
            out[self.ratio_key] = ratio_m3_m
        out.update({k: float(v) for k, v in zip(self.exhaust_keys, self.u[L.u_exhaust], strict=True)})
        release = self.recipe_loops
        if fans:
            out.update({k: float(v) for k, v in zip(self.fan_keys, self.u[L.u_nozzle], strict=True)})
            release = tuple(n for n in release if not n.endswith("_fan_speed"))
        return Command(setpoints=out, release=release, info=self._info())

    def _readback(self, obs: Observation) -> None:
        """The temperature loops' set points and integrals from the PLC's status (its outputs and set points), the
        heater powers it gives into ``self.u``."""
        L, lp = self.L, self.m.loops
        if lp is None:  # heaters in manual: the plan's powers are what the plant gets
            self.working_sp = np.array([obs.loops[f"zone{i + 1}_air_temp"].setpoint if obs.loops else np.nan
                                        for i in range(L.n_zones)])
            return
        sp = np.empty(L.n_zones)
        out = np.empty(L.n_zones)
        remote = np.zeros(L.n_zones, bool)
        for i in range(L.n_zones):
            st = obs.loops.get(f"zone{i + 1}_air_temp")
            out[i] = obs.applied[L.u_heater][i] if st is None else st.output
            sp[i] = lp.ref_K[i] if st is None else st.setpoint
            remote[i] = st is not None and st.mode == "remote"
        # the feedforward the PLC applies: the one written last while the loop is remote; otherwise its output (the
        # first remote write moves the integral so that the output does not step)
        ff = np.where(remote, self.u[L.u_heater], out)
        est_air = np.asarray(self.ekf.xs[L.air_temp], float) * self.m.x_scale[L.air_temp]
        if lp.lag_s > 0:  # the thermocouple readings the loops act on (the model's air temperature where one is missing)
            tc = np.array([obs.measurements.get(name, np.nan) for name in self.air_sensors], float)
            self.reading = np.where(np.isfinite(tc), tc, est_air)
        else:  # the integral that gives the PLC's output at the model's air temperature
            self.reading = est_air
        self.integral = lp.integral_K(out, ff, sp, self.reading)
        self.working_sp = sp

    def _info(self) -> dict[str, float]:
        """What the run records of the NMPC (``ctrl_*`` columns): the target's line speed, the exit residual and film
        temperature the target settles the plant at and the estimator's present values of them (model plus bias),
        and the estimator's output biases."""
        info = {"target_speed_m_s": self.target_speed_m_s,
                "target_exit_residual_kg_kg": self.target_plant[0], "target_exit_film_temp_K": self.target_plant[1],
                "est_exit_residual_kg_kg": float(self.est.est_plant[0]),
                "est_exit_film_temp_K": float(self.est.est_plant[1])}
        info.update({f"bias_{name}": float(b) for name, b in zip(self.m.bias_outputs, self.out_bias, strict=True)})
        info.update({f"gain_{name}": float(g) for name, g in zip(self.m.bias_outputs[1:], self.out_gain, strict=True)})
        return info

    def _command(self, failure: bool, fallback: bool, solved: bool) -> Command:
        ratio_speed = self._ratio_speed()
        if self.m.loops is None:  # the plan's heater powers as the loops' manual outputs
            sp = setpoints_from_inputs(self.ctx, self.u, heater_manual=True, ratio_speed_m_s=ratio_speed)
        else:
            # the feedforwards first: a loop that turns remote with this write takes its new one without a bump
            sp = {k: float(v) for k, v in zip(self.ff_keys, self.u[self.L.u_heater], strict=True)}
            sp.update(setpoints_from_inputs(self.ctx, self.u, ratio_speed_m_s=ratio_speed))
            sp.update({k: float(v) for k, v in zip(self.air_keys, self.m.setpoints_K(self.v), strict=True)})
        return Command(setpoints=sp, solver_failure=failure, fallback=fallback, solved=solved, info=self._info())

    def _ratio_speed(self) -> float:
        """The speed the pump-to-speed ratio is written at: the plan's next stage's after a good solve (see
        ``_solve``), else the move's own."""
        return self.ratio_speed if self.ratio_speed > 1e-6 else float(self.u[self.L.u_speed])

    @property
    def out_bias(self) -> np.ndarray:
        """The output corrections the target and the OCP plan with (the estimation block's)."""
        return self.est.out_bias

    @property
    def out_gain(self) -> np.ndarray:
        """The zones' relative corrections (the estimation block's)."""
        return self.est.out_gain

    # ------------------------------------------------------------------
    def step(self, obs: Observation) -> Command:
        m, L, ctx = self.m, self.L, self.ctx
        dt = ctx.dt_s
        us_applied = obs.applied / m.u_scale
        self.est.step(obs, us_applied, float(obs.applied[L.u_speed]))
        k = self.k
        self.k += 1
        self._readback(obs)

        d = self.supervisor.update(obs)
        if d.mode == "stopped":
            # a standing line: no web, no pump; exhaust at least the recipe's, ready for the restart,
            # and the dryer at the start-up recipe's air temperatures, so that the restart finds it
            # neither cold (NMP: wet film carried into the last zone, LEL over the limit) nor
            # over-heated by fan power (water: standing film over its temperature limit)
            prev_exhaust = self.u[L.u_exhaust].copy()
            prev_nozzle = self.u[L.u_nozzle].copy()
            if d.stopped_now and self.u[L.u_speed] > 0.0:
                # the pump-to-speed ratio the NMPC ran at (it holds the solids estimate) and that estimate
                self.restart_ratio = (float(self.u[L.u_pump]) / self._ratio_speed(), self.est.gauge.b)
            self.u = self.u.copy()
            self.ratio_speed = 0.0
            self.u[L.u_speed] = 0.0
            self.u[L.u_pump] = 0.0
            self._startup_dryer(obs, self.u)
            self.u[L.u_exhaust] = np.maximum(prev_exhaust, self.recipe_exhaust)
            # and the fans no faster than they ran: faster air on the standing wet film raises the LEL
            self.u[L.u_nozzle] = np.minimum(prev_nozzle, self.m.ss.u[L.u_nozzle])
            self.v = m.ocp_inputs(self.u / m.u_scale, self.working_sp)
            self.plan.clear()
            return self._startup_command(None, fans=True)
        if d.restarted:  # the gauge filter does not learn from the web coated while pump and drive come up
            self.est.restarted(self.settings.estimator.restart_skip_m)
        if d.mode == "startup":
            # restart: run the recipe's steady-state inputs (the line's start-up recipe) while the
            # estimator catches up with a film that stood in the dryer; then hand back to the NMPC
            speed = min(obs.speed_target_m_s, obs.speed_cap_m_s)
            self.u = self.m.ss.u.copy()
            self.ratio_speed = 0.0
            self.u[L.u_speed] = speed
            # the speed the drive will reach this interval (it ramps at its rate limit): the pump follows it
            v_next = min(speed, float(obs.applied[L.u_speed]) + float(ctx.input_rate_limit[L.u_speed]) * dt)
            # pump: the ratio the NMPC ran at before the stop, corrected for what the gauge has said since
            ratio, b0 = self.restart_ratio
            ratio = ratio / (1.0 + self.est.cw_rel_sens * (self.est.gauge.b - b0))
            self.u[L.u_pump] = ratio * v_next
            self._startup_dryer(obs, self.u)
            self.v = m.ocp_inputs(self.u / m.u_scale, self.working_sp)
            self.plan.clear()
            return self._startup_command(ratio)
        failure = fallback = False
        if d.mode == "handback":
            # hand-back: the OCP starts from the estimated state and the start-up inputs, without
            # the multipliers of the line that ran before the stop, with a fresh target, and solves now
            self.ocp.set_initial_guess(m.ocp_state(self.ekf.xs, self.integral, self.reading), self.v,
                                       reset_duals=True)
            self.target_key = None
            self.k_phase = k
        # a solve also when the answer for a new plan has come (on a line it comes between solves; in one process
        # with the request)
        solved = (k - self.k_phase) % self.every == 0 or d.health_changed or self._answer_for_new_plan()
        if solved:
            failure, fallback = self._solve(obs, d)
        return self._command(failure, fallback, solved)

    def _solve(self, obs: Observation, d: Decision) -> tuple[bool, bool]:
        m, L, ctx, s = self.m, self.L, self.ctx, self.ocp_cfg
        t = obs.t_s
        # the plan's target is what it asks for: no stage runs above it (nor above the cap)
        targets, caps = self.supervisor.speed_preview(t, obs.speed_cap_m_s, s.t_step_s, s.n_horizon)
        lel_limit = d.lel_limit_frac
        est = self.est.estimate(t)
        u_prev_s = self.u / m.u_scale
        fixed = ((int(L.room_w), float(self.ekf.xs[L.room_w])), (int(L.slurry_water), float(self.ekf.xs[L.slurry_water])))
        key = (round(float(targets[-1]), 6), round(float(caps[-1]), 6), lel_limit)
        if self.solves % self.target_every == 0 or key != self.target_key:
            # plan and limit unchanged, or the plan's speed moving no more than the trust region since the last solve
            # (a ramp): the target moves within its trust region
            same_key = self._gradual(self.target_key, key)
            self.target_key = key
            self.target_seq += 1
            if not same_key:
                self.target_pending = self.target_seq
            self.targets.request(TargetRequest(
                seq=self.target_seq, t_s=t, est=np.asarray(est, float).copy(), speed_target_m_s=float(targets[-1]),
                speed_cap_m_s=float(caps[-1]), lel_limit_frac=float(lel_limit),
                cw_target_kg_m2=float(ctx.spec.coat_weight_target_kg_m2), u_prev_s=u_prev_s.copy(),
                u_lb_s=self.u_lb_s.copy(), u_ub_s=np.minimum(self.u_ub_s, self._cap_ub(caps[-1])), fixed=fixed,
                out_bias=self.out_bias.copy(), out_gain=self.out_gain.copy(), trust=same_key,
                model_sha256=self.model_hash))
        target_failed = self._take_target()
        xt, ut = self.last_target
        if math.isnan(self.target_time_s):  # the first solve: the recipe's steady state is stamped now
            self.target_time_s = t
        if t - self.target_time_s > self.max_age_s:
            # no good target for longer than its age allows: the recipe's steady state, until a solve converges
            xt, ut = m.ss.x / m.x_scale, m.ss.u / m.u_scale
            self.target_ok = False
            self.target_aged_out += 1
        # where the target gives way (its speed under the plan's, a limit binding), the plan's stages track the
        # target's speed: the OCP's pull toward the plan's speed would otherwise outweigh its soft LEL limit. Only
        # a target whose last solve converged: after a failed solve the last good one may be stale (solved for
        # another plan or limit), and the OCP then pulls toward the plan's speed; never below the drive's lowest
        # speed (the OCP's speed term divides by it)
        v_target = self.target_speed_m_s = float(ut[L.u_speed] * m.u_scale[L.u_speed])
        if self.target_ok and not self.target_pending and v_target < float(targets[-1]) * (1.0 - 1e-3):
            targets = np.minimum(targets, max(v_target, self.v_floor_m_s))
        # the target in the OCP's terms: each loop's set point and thermocouple at the target's air temperature, its
        # feedforward the target's heater power and its integral zero
        if m.loops is None:
            xa_t, va_t = np.asarray(xt, float), np.asarray(ut, float)
        else:
            air_t = np.asarray(xt[L.air_temp], float) * m.x_scale[L.air_temp]
            xa_t = m.ocp_state(xt, np.zeros(L.n_zones), air_t)  # the target's heat is all feedforward
            va_t = m.ocp_inputs(ut, air_t)
        self.ocp.set_parameters(est=est, xt=xa_t, ut=va_t, lel_limit=lel_limit, out_bias=self.out_bias.copy(),
                                out_gain=self.out_gain.copy(), cw_target=ctx.spec.coat_weight_target_kg_m2,
                                speed_target=targets)
        if self.ocp.lqr:  # the terminal cost at this target
            self.ocp.set_parameters(P_term=self.ocp.lqr_terminal(xa_t, va_t, est))
        rate_up, rate_down = self.vrate_s, self.vrate_down_s
        if d.handback_window:
            # from the recipe (at the start of a run, and after a restart's start-up phase) the dryer moves to the
            # NMPC's point slowly: a fast swing of nozzles against hot air overshoots the critical-stage rate in
            # the plant's finer film, and a fast exhaust cut overshoots the LEL where the analyser reads low
            frac = s.handback_rate_frac
            rate_up, rate_down = rate_up * frac, rate_down * frac
            rate_up[L.u_speed] = self.vrate_s[L.u_speed]
            rate_up[L.u_pump] = self.vrate_s[L.u_pump]
            rate_down[L.u_speed] = self.vrate_down_s[L.u_speed]
            rate_down[L.u_pump] = self.vrate_down_s[L.u_pump]
            rate_up[L.u_exhaust] = self.vrate_s[L.u_exhaust]  # exhaust may always open fast
        v_prev = self.v
        self.ocp.set_stage_bounds(v_prev, rate_up, rate_down, caps[:-1] / m.u_scale[L.u_speed])
        self.solves += 1
        x0 = m.ocp_state(self.ekf.xs, self.integral, self.reading)
        v0, ok, plan = self.ocp.solve(x0)
        if self.force_failure_every and self.solves % self.force_failure_every == 0:
            ok = False
        if not ok:  # fallback 1: the previous plan's next move; 2: toward the target within the move limits
            v0 = fallback_move(self.plan.next_move(), va_t, v_prev, self.v_lb, self.v_ub, self.vrate_s,
                               self.vrate_down_s, L.u_speed, caps[0] / m.u_scale[L.u_speed])
            self.ocp.set_initial_guess(x0, v0)
        else:
            self.plan.store(plan)
        self.v = v0
        self.u = v0[: L.n_inputs] * m.u_scale  # with loops, the heater slots are the loops' feedforwards
        # the pump-to-speed ratio is the plan's pump flow over the speed of the plan's next stage: the model's
        # die coat weight at a stage's start is the pump flow the last stage's command reached over the stage's
        # speed, so on a speed ramp the plan's pump leads its speed by a stage; the PLC's ratio station makes
        # the pump follow the drive's speed within its own 2 s lag, and a ratio taken at the same stage's speed
        # coated 5 % heavy on a ramp of 5 % a stage (nmc_nmp_exhaust_saturated)
        self.ratio_speed = float(self.u[L.u_speed])
        if ok and len(plan) > 1:
            self.ratio_speed = float(plan[1][L.u_speed] * m.u_scale[L.u_speed])
        return (target_failed, False) if ok else (True, True)

    def _answer_for_new_plan(self) -> bool:
        """Whether the answer to the request made for a new plan has come (and not yet been taken)."""
        if not self.target_pending:
            return False
        st = self.targets.latest()
        return st is not None and st.seq >= self.target_pending

    def _take_target(self) -> bool:
        """Take the newest answer of the target's layer, if it is new: a converged one becomes the target tracked
        (its stamp the time its age counts from), a failed one (or one whose states and inputs are not this
        model's, not finite, or outside the inputs' bounds) leaves the last good target and counts as a solver
        failure (returns ``True``)."""
        st = self.targets.latest()
        if st is None or st.seq <= self.target_seen:
            return False
        self.target_seen = st.seq
        if st.seq >= self.target_pending:
            self.target_pending = 0
        x_s, u_s = np.asarray(st.x_s, float), np.asarray(st.u_s, float)
        fits = (x_s.shape == self.last_target[0].shape and u_s.shape == self.last_target[1].shape
                and bool(np.all(np.isfinite(x_s)) and np.all(np.isfinite(u_s)))
                and bool(np.all(u_s >= self.u_lb_s - _BOUND_TOL) and np.all(u_s <= self.u_ub_s + _BOUND_TOL)))
        self.target_ok = bool(st.ok) and fits
        if not self.target_ok:  # counted as a solver failure: the plan below tracks the last good target
            return True
        self.last_target = (x_s, u_s)
        self.target_time_s = st.t_s
        self.target_plant = (st.exit_residual_kg_kg, st.exit_film_temp_K)
        return False

    def _gradual(self, before: tuple[float, float, float] | None, now: tuple[float, float, float]) -> bool:
        """Whether the target may stay in its trust region from the plan ``before`` to ``now`` (speed target,
        speed cap, LEL limit): the same LEL limit, and speed target and cap each the same or moved by no more than
        the trust region's scaled move (a speed ramp; a step in the plan frees the target)."""
        if before is None or before[2] != now[2]:
            return False
        step = self.settings.target.max_move_scaled * float(self.m.u_scale[self.L.u_speed])
        return all(a == b or abs(a - b) <= step for a, b in zip(before[:2], now[:2], strict=True))

    def _cap_ub(self, cap: float) -> np.ndarray:
        ub = self.u_ub_s.copy()
        ub[self.L.u_speed] = min(ub[self.L.u_speed], cap / self.m.u_scale[self.L.u_speed])
        return ub
