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
* :class:`GaugeBiasFilter`: the coat-weight gauge sees web coated
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

from collections import deque
from collections.abc import Mapping

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel
from mpc.edge import KalmanCore, Outputs, Step, StepValue, SubstepEkf
from plants.simulate import n_substeps

__all__ = ["DisturbanceEKF", "GaugeBiasFilter", "augmented_rank_condition"]


class DisturbanceEKF:
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
        self.lower, self.upper = lower, upper
        self.core = KalmanCore(z0, P0, Q, self.R, self.names, lower, upper, self.jacobian_every)
        """State, covariance and tuning (:class:`mpc.edge.KalmanCore`, the edge's too)."""
        self.filter = SubstepEkf(self.core, _CasadiModel(self), dt_s, n_substeps(dt_s, m.substep_s), self.n,
                                 self.ne, self.check_every)
        """The filter's logic (:class:`mpc.edge.SubstepEkf`, the edge's too)."""

    def _stepper(self, n_sub: int) -> tuple[ca.Function, ca.Function]:
        if n_sub not in self._steppers:
            zs, us, solids, est = self._sym
            F = self.m.scaled_step(self.dt_s, n_sub)
            zn = ca.vertcat(F(zs[: self.n], us, est), zs[self.n :])  # the disturbances and biases: random walks
            self._steppers[n_sub] = (
                ca.Function("ekf_F", [zs, us, solids], [zn, ca.jacobian(zn, zs)]),
                ca.Function("ekf_F0", [zs, us, solids], [zn]),
            )
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
    def xs(self) -> np.ndarray:
        return self.z[: self.n]

    @property
    def e(self) -> np.ndarray:
        """The input-disturbance estimates ``[htf, heater_eff (N), fan_factor (N)]``."""
        return self.z[self.n : self.n + self.ne]

    def output_bias(self) -> np.ndarray:
        """The additive output biases in physical units, ordered as :attr:`NmpcModel.bias_outputs` (0 where no
        sensor, and for the zones, whose corrections are relative: :meth:`output_gain`)."""
        out = np.zeros(self.m.n_bias)
        add = ~self.relative
        out[self.bias_index[add]] = self.z[self.n + self.ne :][add] * self.m.bias_scale[self.bias_index[add]]
        return out

    def output_gain(self) -> np.ndarray:
        """The zones' relative corrections (the plant's LEL or exhaust humidity is the model's times ``1 + gain``),
        in zone order (0 where no sensor)."""
        out = np.zeros(self.m.layout.n_zones)
        rel = self.relative
        out[self.bias_index[rel] - 1] = self.gain_scale * self.z[self.n + self.ne :][rel]
        return out

    @property
    def z(self) -> np.ndarray:
        """Scaled line states, disturbance estimates and output biases (the filter's state)."""
        return self.core.z

    @property
    def P(self) -> np.ndarray:
        """The state's covariance."""
        return self.core.P

    @property
    def Q(self) -> np.ndarray:
        """The process-noise covariance per step."""
        return self.core.Q

    @property
    def n_sub(self) -> int:
        """RK4 sub-steps of the time update: raised (never lowered) when the model gets stiffer."""
        return self.filter.n_sub

    @property
    def _F(self) -> ca.Function:
        """The time update with its Jacobian at the present sub-step count (CasADi)."""
        return self._stepper(self.n_sub)[0]

    def predict(self, us: np.ndarray, solids: float) -> None:
        """Time update; the Jacobian is refreshed every ``jacobian_every`` calls (it changes slowly)."""
        self.filter.predict(us, solids)

    def update(self, us: np.ndarray, solids: float, meas: Mapping[str, float], fresh: Mapping[str, bool]) -> None:
        """Measurement update from the fresh readings, then the physical bounds."""
        self.filter.update(us, solids, meas, fresh)


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


class GaugeBiasFilter:
    """Random-walk offset of the slurry solids from the delayed coat-weight gauge.

    A reading more than ``gate_sigma`` standard deviations from its prediction is
    a gross error (a bad scan) and is rejected, unless ``shift_after`` such
    rejections in a row all say the same thing (the same sign): then it is a real,
    persistent shift (an unannounced lot change), the variance is raised to the
    size of that shift and the reading is used. A spike is one rejected scan; a
    step is rejected at most ``shift_after - 1`` times.

    A smaller persistent shift passes the gate but would be learnt only at the
    random walk's slow pace; a two-sided CUSUM of the normalised innovations
    (Page 1954; reference ``cusum_k``, threshold ``cusum_h`` standard
    deviations) detects it, and the variance is raised the same way.
    """

    def __init__(self, gauge_m: float, *, q_per_s: float = (1.7e-5) ** 2, r: float = (0.005) ** 2,
                 p0: float = (0.005) ** 2, gate_sigma: float = 6.0, shift_after: int = 3,
                 cusum_k: float = 0.5, cusum_h: float = 10.0) -> None:
        self.gauge_m = gauge_m
        self.q = q_per_s
        self.r_rel = r
        self.b = 0.0
        self.var = p0
        self.version = 0.0
        self.gate_sigma = gate_sigma
        self.rejected = 0
        self.shift_after = int(shift_after)
        self.shifts = 0
        """Persistent shifts accepted (after ``shift_after`` consistent rejections)."""
        self._run: list[float] = []  # the solids offsets that the rejected readings in a row imply
        self.cusum_k, self.cusum_h = float(cusum_k), float(cusum_h)
        self._cusum = [0.0, 0.0]  # upper and lower CUSUM of the normalised innovations
        self._recent: deque[float] = deque(maxlen=5)  # the offsets the latest accepted readings imply
        self._skip_until_m = -np.inf
        self._pending: list[tuple[float, float]] = []
        self._hist: deque[tuple[float, float, float, float]] = deque()

    def skip_web(self, until_position_m: float) -> None:
        """Ignore readings of web coated before ``until_position_m`` (a restart's settling web).

        At a restart the pump and the speed ramp do not match, and the standing line's
        web is not what the model predicted either: those readings would only teach
        the filter a false solids offset.
        """
        self._skip_until_m = max(self._skip_until_m, until_position_m)

    def record(self, position_m: float, cw_pred: float, sens: float) -> None:
        """Remember the model's die coat weight for the web at ``position_m`` and its d/d(solids)."""
        if self._hist and position_m <= self._hist[-1][0]:
            return
        self._hist.append((position_m, cw_pred, sens, self.b))
        while len(self._hist) > 2 and self._hist[1][0] < position_m - self.gauge_m - 50.0:
            self._hist.popleft()

    def time_update(self, dt_s: float) -> None:
        self.var += self.q * dt_s

    def inflate(self, var: float, at_position_m: float | None = None) -> None:
        """More uncertainty (an announced batch change).

        With ``at_position_m`` (the web position at the die when the new batch arrives) the
        variance is raised when the gauge starts reading that web, not at once: the readings of
        the old batch's web still on the way to the gauge would otherwise spend it before the
        first reading of the new batch.
        """
        if at_position_m is None:
            self.var = max(self.var, var)
        else:
            self._pending.append((at_position_m, var))

    def update(self, position_m: float, measured: float) -> None:
        """A gauge reading of the web that passed the die at ``position_m - gauge_m``."""
        target = position_m - self.gauge_m
        for item in [p for p in self._pending if target >= p[0]]:
            self.var = max(self.var, item[1])
            self._pending.remove(item)
        if len(self._hist) < 2 or target < self._hist[0][0] or target < self._skip_until_m:
            return
        pos = np.array([h[0] for h in self._hist])
        k = int(np.searchsorted(pos, target))
        k = min(max(k, 1), len(pos) - 1)
        p0, c0, s0, b0 = self._hist[k - 1]
        p1, c1, s1, b1 = self._hist[k]
        w = 0.0 if p1 == p0 else (target - p0) / (p1 - p0)
        cw_then = c0 + w * (c1 - c0)
        sens = s0 + w * (s1 - s0)
        b_then = b0 + w * (b1 - b0)
        pred = cw_then + sens * (self.b - b_then)
        r = self.r_rel * measured**2
        innov_var = sens**2 * self.var + r
        if (measured - pred) ** 2 > self.gate_sigma**2 * innov_var:
            # a gross error (a bad scan, web the model never saw) ... or a real step, if it persists
            implied = (measured - pred) / sens if sens != 0.0 else 0.0
            if self._run and np.sign(implied) != np.sign(self._run[-1]):
                self._run = []
            self._run.append(implied)
            if len(self._run) < self.shift_after:
                self.rejected += 1
                return
            # a persistent shift: as uncertain as the shift is large, then learn it from this reading
            self._shift(float(np.mean(self._run)))
            innov_var = sens**2 * self.var + r
        else:
            self._run = []
            z = (measured - pred) / np.sqrt(innov_var)
            self._recent.append((measured - pred) / sens if sens != 0.0 else 0.0)
            self._cusum = [max(0.0, self._cusum[0] + z - self.cusum_k), min(0.0, self._cusum[1] + z + self.cusum_k)]
            if max(self._cusum[0], -self._cusum[1]) > self.cusum_h:
                self._shift(float(np.mean(self._recent)))
                innov_var = sens**2 * self.var + r
        gain = self.var * sens / innov_var
        self.b += gain * (measured - pred)
        self.var *= 1.0 - gain * sens

    def _shift(self, offset: float) -> None:
        """A persistent shift of about ``offset`` (solids fraction): as uncertain as it is large."""
        self.shifts += 1
        self.var = max(self.var, offset**2)
        self._run = []
        self._recent.clear()
        self._cusum = [0.0, 0.0]


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
