"""State and disturbance estimation for the NMPC: an EKF plus a delayed-gauge bias filter.

* :class:`DisturbanceEKF`: extended Kalman filter on the controller's model,
  discretised at the harness interval, augmented with random-walk disturbance
  states towards an offset-free loop despite plant-model mismatch
  (Pannocchia & Rawlings 2003; Maeder, Borrelli & Morari 2009): input
  disturbances that the scenarios' faults have the shape of (heat-transfer
  factor, per-zone heater efficiency and fan flow factor) and, with
  ``output_biases=True`` (the NMPC's experimental ``"ekf"`` mode), a
  correction of every measured output the economic target constrains
  (:attr:`NmpcModel.bias_outputs`: the exit residual's additive, each zone's
  LEL or exhaust humidity relative; the heat-transfer factor takes the exit
  film temperature's). A structural error (a critical content, a cell count,
  an analyser's calibration) has the shape of no parameter; the corrections
  are meant to take it, so that the target and the OCP hold the plant's value
  of each constrained output, not the model's (not reached yet in closed
  loop: ``docs/nmpc.md``, "Offset-free"). It uses the
  sensors that report without transport delay (zone air temperatures, nozzle
  velocities, LEL analysers or exhaust humidity, exit residual (NIR) and film
  temperature, room RH, pump flow); only fresh readings update it, so
  sample-and-hold sensors are not counted twice, and a failed analyser simply
  drops out (its bias is kept).
* :class:`mpc.edge.GaugeBiasFilter` (in :mod:`mpc.edge`, the edge's too): the coat-weight gauge sees web coated
  ``coater_to_gauge_m`` of web ago (a speed-dependent delay, zero while the
  line stands). The filter keeps, per web position, the coat weight the model
  predicted at the die and its sensitivity to the slurry-solids estimate;
  a reading is compared with the prediction for the web it actually sees,
  corrected for every bias update made since (a Smith-predictor-like
  correction, so old prediction errors are not counted twice). The state is
  a random-walk offset of the slurry solids, whose variance is raised at an
  announced batch change.

References
----------
.. [PR2003] G. Pannocchia, J. B. Rawlings, "Disturbance models for offset-free
   model-predictive control", AIChE J. 49 (2003) 426-437.
.. [MBM2009] U. Maeder, F. Borrelli, M. Morari, "Linear offset-free model predictive
   control", Automatica 45 (2009) 2214-2222.
.. [MB2002] K. R. Muske, T. A. Badgwell, "Disturbance modeling for offset-free linear
   model predictive control", J. Process Control 12 (2002) 617-632.
"""

from __future__ import annotations

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel
from mpc.edge import BiasLayout, FilterView, KalmanCore, Outputs, Step, StepValue, SubstepEkf
from plants.simulate import n_substeps, rk4_step

__all__ = ["DisturbanceEKF", "augmented_rank_condition"]


class DisturbanceEKF(FilterView):
    """EKF on ``z = [xs; e; b]`` (random walks ``e`` and ``b``).

    ``e = [htf, heater_eff (N), fan_factor (N)]`` are the model's input disturbances; ``b`` the output corrections
    of the measured :attr:`NmpcModel.bias_outputs`, each in its own measurement row only: the exit residual's
    additive (scaled by :attr:`NmpcModel.bias_scale`), each zone's LEL or exhaust humidity relative (the plant's is
    the model's times ``1 + 0.1 b``: the LEL's mismatch is one of evaporation or exhaust flow, so it scales with
    the model's LEL when the exhaust moves; learnt additive at the high-LEL point, a bias kept the NMPC's
    exhaust too far closed after an analyser failure, measured in ``docs/nmpc.md``). Each correction's random
    walk is set so that, alone, it would follow a step in its output's mismatch with the time constant
    ``bias_tau_s`` (variance per step ``r (dt / tau)^2``, ``r`` the measurement's); it starts ten measurement
    standard deviations uncertain. ``output_biases=False``: no bias states (``z = [xs; e]``; the NMPC's default,
    ``docs/nmpc.md``).

    How fast the biases learn a persistent mismatch depends on how much of each reading the states take at once:
    the states carry process noise ``state_noise_frac * state_q``, the film's solvent-load states
    ``solvent_noise_frac`` of that. A reading that only
    corrected the biases (the output disturbance model of DMC, Muske & Badgwell 2002) made the closed loop
    oscillate on ``nmc_nmp_structural_mismatch`` (zone 4's LEL between 0.15 and 0.69): the model alone does not
    hold the plant's transients; ``docs/nmpc.md`` ("Offset-free") has the measured trade-off.

    The exit film temperature has no bias of its own: the heat-transfer factor is its disturbance (an output
    bias on it as well makes the augmented model undetectable, rank one short in
    :func:`augmented_rank_condition`: the air temperatures tell the heater efficiencies, and a heat-transfer
    change then shows only in outputs that all have biases). With one integrating disturbance per measured
    output (air temperature: heater efficiency, nozzle velocity: fan factor, LEL: its bias, residual: its bias,
    film temperature: heat-transfer factor) every innovation vanishes at a steady state and the estimate is the
    model's steady state there (Pannocchia & Rawlings 2003), so in that theory the plant settles at the target's
    values; how near the closed loop comes is measured in ``docs/nmpc.md``, "Offset-free".
    """

    def __init__(self, m: NmpcModel, dt_s: float, measurement_names: list[str], *,
                 state_q: float = 1e-4, disturbance_q: float = 4e-6, bias_tau_s: float = 60.0,
                 solvent_noise_frac: float = 1.0, output_biases: bool = True,
                 state_noise_frac: float = 1.0) -> None:
        self.m = m
        L = m.layout
        self.n = L.n_states
        self.ne = m.n_est - 1
        self.bias_names = [b for b in m.bias_outputs if b in measurement_names] if output_biases else []
        """The biased outputs that a sensor measures (the others keep a zero bias)."""
        self.bias_index = np.array([m.bias_outputs.index(b) for b in self.bias_names], int)
        self.nb = len(self.bias_names)
        b_scale = m.bias_scale[self.bias_index].copy()
        self.relative = np.array([b != "exit_residual_kg_kg" for b in self.bias_names], bool)
        """Which bias states are relative corrections (the zones': the plant's LEL or humidity over the model's,
        less one, over ``gain_scale``); the exit residual's is additive."""
        self.gain_scale = 0.1
        nz = self.n + self.ne + self.nb
        zs = ca.SX.sym("z", nz)
        us = ca.SX.sym("us", L.n_inputs)
        solids = ca.SX.sym("solids")
        est = ca.vertcat(solids, zs[self.n : self.n + self.ne])
        self._sym = (zs, us, solids, est)
        self.dt_s = dt_s
        self._steppers: dict[int, tuple[ca.Function, ca.Function]] = {}
        self._substep: tuple[ca.Function, ca.Function] | None = None
        self._jac = m.scaled_jacobian_fn()
        self.check_every = max(1, round(10.0 / dt_s))
        self.jacobian_every = 5
        y = m.outputs_fn()(zs[: self.n], us, est)
        ix = m.output_index
        rows, self.names, r_diag = [], [], []
        for name in measurement_names:
            if name == "pump_flow_m3_s":
                rows.append(zs[L.pump] * m.x_scale[L.pump])
                r_diag.append((0.002 * m.ss.x[L.pump] + 1e-9) ** 2)
            elif name in ix and name != "coat_weight_kg_m2":
                row = y[ix[name]]
                if name in self.bias_names:
                    j = self.bias_names.index(name)
                    if self.relative[j]:
                        row = row * (1.0 + self.gain_scale * zs[self.n + self.ne + j])
                    else:
                        row = row + b_scale[j] * zs[self.n + self.ne + j]
                rows.append(row)
                r_diag.append(self._noise_var(name, float(m.ss.y.get(name, 1.0))))
            else:
                continue
            self.names.append(name)
        h = ca.vertcat(*rows)
        self._H = ca.Function("ekf_H", [zs, us, solids], [h, ca.jacobian(h, zs)])
        self.R = np.asarray(r_diag)
        state_q = state_q * state_noise_frac
        q = np.full(self.n, state_q)
        # Unmeasured and transported-only states follow the model: slurry water has no sensor
        # (its effect on coat weight belongs to the gauge's solids filter) and the dry loading in
        # the cells is what the die laid; process noise there would only let them drift.
        q[L.slurry_water] = 0.0
        q[L.dry_loading] = 1e-3 * state_q
        q[L.pump] = 1e-3 * state_q  # the pump follows its command; the flow meter is noisier than the lag
        q[L.solvent_load] = solvent_noise_frac * state_q
        typical = np.array([max(abs(float(m.ss.y.get(b, 1.0))), 0.02) for b in self.bias_names])
        b_unit = np.where(self.relative, self.gain_scale * typical, b_scale)  # a bias state's unit in its output
        r_bias = np.array([self.R[self.names.index(b)] for b in self.bias_names]) / b_unit**2
        self.bias_q = r_bias * (dt_s / bias_tau_s) ** 2 if bias_tau_s > 0 else np.zeros(self.nb)
        Q = np.diag(np.r_[q, np.full(self.ne, disturbance_q), self.bias_q])
        z0 = np.r_[m.ss.x / m.x_scale, m.nominal_estimate()[1:], np.zeros(self.nb)]
        p0 = np.full(self.n, 1e-3)
        p0[L.slurry_water] = 0.0
        # the biases' initial uncertainty: ten measurement standard deviations (they learn the recipe's mismatch
        # within the hand-back, before the NMPC moves the line far)
        P0 = np.diag(np.r_[p0, np.full(self.ne, 1e-3), 100.0 * r_bias])
        # physical bounds, applied after every measurement update: the disturbance factors', a zone's correction
        # within a halving and a quadrupling, and no negative loading, solvent or vapour
        lower, upper = np.full(nz, -np.inf), np.full(nz, np.inf)
        n, nzones = self.n, L.n_zones
        lower[n], upper[n] = 0.3, 3.0
        lower[n + 1 : n + 1 + 2 * nzones], upper[n + 1 : n + 1 + 2 * nzones] = 0.05, 1.2
        rel = n + self.ne + np.flatnonzero(self.relative)
        lower[rel], upper[rel] = -0.5 / self.gain_scale, 3.0 / self.gain_scale
        for blk in (L.dry_loading, L.solvent_load, L.zone_conc):
            lower[blk] = 0.0
        self.core = KalmanCore(z0, P0, Q, self.R, self.names, lower, upper, self.jacobian_every)
        """State, covariance and tuning (:class:`mpc.edge.KalmanCore`, the edge's too)."""
        self.filter = SubstepEkf(self.core, _CasadiModel(self), dt_s, n_substeps(dt_s, m.substep_s), self.n,
                                 self.ne, self.check_every,
                                 BiasLayout(self.bias_index, self.relative, m.bias_scale, self.gain_scale, m.n_bias,
                                            L.n_zones))
        """The filter's logic (:class:`mpc.edge.SubstepEkf`, the edge's too)."""

    def substep_functions(self) -> tuple[ca.Function, ca.Function]:
        """``(ekf_substep, ekf_substep_value)``: one RK4 sub-step of ``h`` seconds of the filter's state
        (:func:`plants.simulate.rk4_step`; the disturbances and biases as random walks), ``(z, us, solids, h) ->
        (z_next, dz_next/dz)``, and the same without the Jacobian. Built once; the interval's update
        (:meth:`_stepper`) and the edge's (``calmline export``) call them."""
        if self._substep is None:
            zs, us, solids, est = self._sym
            h = ca.SX.sym("h")
            zn = ca.vertcat(rk4_step(self.m.scaled_rhs(), zs[: self.n], us, est, h, 1), zs[self.n :])
            self._substep = (ca.Function("ekf_substep", [zs, us, solids, h], [zn, ca.jacobian(zn, zs)]),
                             ca.Function("ekf_substep_value", [zs, us, solids, h], [zn]))
        return self._substep

    def _stepper(self, n_sub: int) -> tuple[ca.Function, ca.Function]:
        """The interval's time update at ``n_sub`` sub-steps, with its Jacobian and without: the sub-step called
        ``n_sub`` times and the Jacobians multiplied (chain rule). Differentiating the unrolled expression instead
        took 0.8-1.3 s to build at each count and 5.6 ms a call on the anode's model, against 0.08 s once and
        2.6 ms (the same values within 2e-15)."""
        if n_sub not in self._steppers:
            sub, sub_value = self.substep_functions()
            zs, us, solids, _ = sub.mx_in()
            h = self.dt_s / n_sub  # as rk4_step divides the interval
            z, zv, A = zs, zs, None
            for _ in range(n_sub):
                z, J = sub(z, us, solids, h)
                zv = sub_value(zv, us, solids, h)
                A = J if A is None else ca.mtimes(J, A)
            self._steppers[n_sub] = (ca.Function("ekf_F", [zs, us, solids], [z, A]),
                                     ca.Function("ekf_F0", [zs, us, solids], [zv]))
        return self._steppers[n_sub]

    @staticmethod
    def _noise_var(name: str, typical: float) -> float:
        """Measurement variances: sensor noise plus what the EKF does not model (lags, coarse cells)."""
        if name.endswith("_air_temp_K"):
            return 0.5**2
        if name.endswith("_nozzle_velocity_m_s"):
            return (0.05 + 0.02 * abs(typical)) ** 2
        if name.endswith("_lel_frac"):
            return 0.02**2  # analyser noise 0.005 plus its 15 s lag, unmodelled
        if name.endswith("_humidity_ratio_kg_kg"):
            return (0.05 * abs(typical) + 1e-3) ** 2
        if name == "exit_residual_kg_kg":
            return (0.05 * abs(typical) + 2e-4) ** 2
        if name.endswith("_film_temp_K"):
            return 2.0**2
        if name == "room_rh_frac":
            return 0.02**2
        return (0.05 * abs(typical) + 1e-6) ** 2

    @property
    def _F(self) -> ca.Function:
        """The time update with its Jacobian at the present sub-step count (CasADi)."""
        return self._stepper(self.n_sub)[0]


class _CasadiModel:
    """:class:`mpc.edge.EkfModel` on the estimator's CasADi functions."""

    def __init__(self, ekf: DisturbanceEKF) -> None:
        self.ekf = ekf

    def step(self, n_sub: int) -> tuple[Step, StepValue]:
        return self.ekf._stepper(n_sub)

    def outputs(self) -> Outputs:
        return self.ekf._H

    def state_jacobian(self, xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> np.ndarray:
        return np.asarray(self.ekf._jac(xs, us, est), float)


def augmented_rank_condition(m: NmpcModel, measurement_names: list[str], dt_s: float, *,
                             output_biases: bool = True) -> tuple[int, int]:
    """Pannocchia-Rawlings detectability test of the disturbance-augmented model at the recipe.

    Returns ``(rank, required)`` of ``[[I - A, -B_d], [C, C_d]]`` for the
    discrete linearisation, ``required = n_x + n_d`` (``n_d``: the input disturbances and the output biases);
    offset-free estimation needs them equal (and ``(A, C)`` detectable).
    """
    ekf = DisturbanceEKF(m, dt_s, measurement_names, output_biases=output_biases)
    solids = m.params.coater.solids_frac_nominal
    us = m.ss.u / m.u_scale
    _, J = ekf._F(ekf.z, us, solids)
    _, H = ekf._H(ekf.z, us, solids)
    J, H = np.asarray(J), np.asarray(H)
    n = ekf.n
    top = np.hstack([np.eye(n) - J[:n, :n], -J[:n, n:]])
    M = np.vstack([top, H])
    return int(np.linalg.matrix_rank(M, tol=1e-9 * np.abs(M).max())), M.shape[1]
