"""``--controller nmpc``: do-mpc NMPC on the physics model.

Every harness interval the estimator (EKF with disturbance states, plus the
delayed-gauge solids filter) takes the sensor readings; every ``t_step_s``
the controller

1. solves the economic steady-state target (:mod:`controllers.nmpc._target`)
   with the current estimates, the announced speed target and cap, and the
   LEL limit in force: this is where speed gives way before the LEL limit does
   and where airflow and air temperature are chosen from the drying kinetics;
   if IPOPT fails on it (also after a retry with the monotone barrier
   update), the last good target is kept and the step counts as a solver
   failure;
2. solves the dynamic problem (:mod:`controllers.nmpc._ocp`) from the
   estimated state, with the announced schedule previewed over the horizon;
3. checks the solution (solver flag and a primal feasibility check, since
   some solvers report success on failure); on failure it falls back to the
   previous plan's next move, and without one to the steady target's inputs
   reached within the move limits, counting ``solver_failures`` and
   ``fallbacks``.

Line stop, start-up phase, hand-back, the LEL limit to plan for and analyser
health are the supervisor's (:mod:`mpc.edge`, shared with the
lmpc); the NMPC decides what the line gets in each mode. Its settings are
``[controllers.nmpc.ocp]``, ``.target``, ``.model``, ``.estimator`` and
``.supervisor`` (:class:`mpc.scenario.NmpcSettings`, ``docs/controllers.md``),
checked when the scenario is loaded and again at :meth:`NmpcController.reset`.

Manipulated variables: line speed, pump flow, per-zone nozzle velocity, heater
power and exhaust (= make-up) air, written to the line PLC's loops
(:mod:`plants.plc`): the line-speed reference, the pump-to-speed ratio, fan
speeds, exhaust flows, and each zone air-temperature loop's set point and
feedforward. By default (``[controllers.nmpc.model] temperature_loops =
"model"``) the dynamic problem plans them on a model that holds the PLC's PI
loops and the thermocouples they read (:class:`controllers.nmpc.TemperatureLoops`:
heater power = feedforward + Kc (set point - reading + integral), smoothly
clamped to the heater's range, one integral and one thermocouple state per
zone, initialised every step from the PLC's readback and the thermocouple
readings so that the model's heater power starts at the plant's): the
feedforward carries the plan's heat at once, the loop corrects what the model
gets wrong. With ``"manual"`` the plan's heater powers are written as the
loops' manual outputs instead. The economic target and the estimator stay in
heater power (the estimator reads the heater power the PLC gives). While
the line stands the temperature loops are handed back to the PLC's recipe and
the fans held no faster than they ran (faster air on a standing wet film raises
the LEL); during the start-up phase the fans follow the recipe too.
Unannounced disturbances are never previewed: only the announced schedule
enters the horizon.
"""

from __future__ import annotations

import numpy as np

from controllers.nmpc._estimator import DisturbanceEKF
from controllers.nmpc._logic import NmpcLogic
from controllers.nmpc._model import NmpcModel
from controllers.nmpc._ocp import DynamicOcp
from controllers.nmpc._scaling import TemperatureLoops
from controllers.nmpc._supervisory import InProcessTargets, SupervisoryTarget
from mpc.edge import EstimationStep, GaugeBiasFilter
from mpc.interfaces import ControllerContext
from mpc.scenario import NmpcSettings

__all__ = ["NmpcController"]


class NmpcController(NmpcLogic):
    """NMPC with an economic steady-state target, a tracking do-mpc OCP and an EKF.

    Parameters
    ----------
    ocp : OcpSettings, optional
        Dynamic-problem settings (``config="tuned"`` by default).
    target : TargetSettings, optional
        Economic-target settings.
    model : ModelSettings, optional
        Settings of the controller's copy of the physics (rounded rate-law corners).
    estimator : EstimatorSettings, optional
        Settings of the delayed-gauge filter.
    supervisor : SupervisorSettings, optional
        Start-up phase and hand-back window after a line stop.
    disturbance_states : bool
        Estimate the disturbance states (offset-free). ``False`` freezes them at
        their nominal values: a deliberately degraded controller for tests.
    force_failure_every : int
        Test hook: declare every n-th solve failed (0 = never).
    """

    name = "nmpc"

    def _build_model(self, ctx: ControllerContext, st: NmpcSettings, loops: TemperatureLoops | None) -> NmpcModel:
        return NmpcModel(st.model.apply(ctx.model_params), ctx.recipe, loops=loops)

    def _build_parts(self, ctx: ControllerContext, st: NmpcSettings) -> None:
        m, L = self.m, self.L
        spec = ctx.spec
        self.ocp = DynamicOcp(m, spec.coat_weight_tolerance_frac, spec.residual_usl_kg_kg, spec.film_temp_max_K,
                              self.v_lb, self.v_ub, st.ocp)
        layer = SupervisoryTarget(m, ctx, st.target)
        self.targets = InProcessTargets(layer)
        self.target = layer.target
        """The economic target's NLP (solved in this process: :class:`controllers.nmpc.InProcessTargets`)."""
        self.ekf = DisturbanceEKF(m, ctx.dt_s, list(ctx.measurement_names),
                                  disturbance_q=4e-6 if self.disturbance_states else 0.0,
                                  bias_tau_s=st.estimator.output_bias_tau_s,
                                  solvent_noise_frac=st.estimator.solvent_state_noise_frac,
                                  output_biases=st.estimator.output_biases == "ekf",
                                  state_noise_frac=st.estimator.state_noise_frac)
        if not self.disturbance_states:  # input disturbances and output biases frozen at zero
            self.ekf.P[self.ekf.n :, self.ekf.n :] = 0.0
            self.ekf.Q[self.ekf.n :, self.ekf.n :] = 0.0
        gauge = GaugeBiasFilter(ctx.model_params.coater.coater_to_gauge_m)
        if not self.disturbance_states:
            gauge.q = 0.0
            gauge.var = 0.0
        import casadi as ca

        xs, us = ca.SX.sym("xs", L.n_states), ca.SX.sym("us", L.n_inputs)
        est = ca.SX.sym("est", m.n_est)
        cw = m.outputs_fn()(xs, us, est)[m.output_index["coat_weight_die_kg_m2"]]
        cw_fn = ca.Function("cw_sens", [xs, us, est], [cw, ca.jacobian(cw, est)[0]])
        y_fn = m.outputs_fn()

        def cw_sens(xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> tuple[float, float]:
            c, dc = cw_fn(xs, us, est)
            return float(c), float(dc)

        flammable = ctx.model_params.solvent.lel_vol_frac > 0
        self.est = EstimationStep(
            self.ekf, gauge, lambda xs, us, est: np.asarray(y_fn(xs, us, est)).ravel(), cw_sens,
            m.output_index, m.n_bias, L.n_zones, flammable, ctx.dt_s,
            ctx.model_params.coater.solids_frac_nominal, ctx.schedule.batch_changes, lel_bias_tau_s=60.0)
        """The estimation block of every step (:class:`mpc.edge.EstimationStep`, the edge's too)."""
