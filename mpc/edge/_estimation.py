"""The estimation block of the NMPC's control step: one copy for the design machine and the edge.

Every control interval, before the supervisor and the planner: the EKF's time and measurement updates at the
applied inputs and the slurry's solids (announced by the batch plan, corrected by the delayed-gauge filter),
the output corrections the target and the OCP plan with (the EKF's own bias states, or each zone's LEL
bias filtered from its analyser), and the gauge filter's record of the model's die coat weight and its
update from a fresh gauge reading. The model is evaluated through callables: CasADi functions on the
design machine (:class:`controllers.nmpc.NmpcController`), compiled ones on the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mpc.edge._gauge import GaugeBiasFilter
from mpc.interfaces import Observation

__all__ = ["EstimationStep"]

ModelOutputs = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``(xs, us, est) -> y``: every output of the model, physical units, in ``output_index`` order."""
CoatWeight = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float]]
"""``(xs, us, est) -> (die coat weight, its derivative in the solids)``."""


class EstimationStep:
    """The NMPC's estimation block (see the module).

    Parameters
    ----------
    ekf
        The filter (:class:`controllers.nmpc.DisturbanceEKF`, or the edge's :class:`mpc.edge.EdgeEstimator`):
        ``predict``, ``update``, ``xs``, ``e``, ``nb``, ``output_bias()``, ``output_gain()``.
    gauge : GaugeBiasFilter
        The delayed-gauge solids filter.
    outputs, cw_sens
        The model's outputs, and its die coat weight with its derivative in the solids.
    output_index : mapping
        Output name to its index in ``outputs``.
    n_bias, n_zones : int
        Output corrections (exit residual, then one per zone) and zones.
    flammable : bool
        Whether the zones' levels are LEL fractions (else exhaust humidity).
    dt_s : float
        The control interval, s.
    solids_nominal : float
        The slurry's solids before the first announced batch change.
    batch_changes : sequence of (t_s, solids)
        The announced batch changes.
    lel_bias_tau_s : float
        Time constant of the zones' LEL bias filter (``output_biases = "lel_filter"``), s.
    """

    def __init__(self, ekf: Any, gauge: GaugeBiasFilter, outputs: ModelOutputs, cw_sens: CoatWeight,
                 output_index: Mapping[str, int], n_bias: int, n_zones: int, flammable: bool, dt_s: float,
                 solids_nominal: float, batch_changes: Sequence[tuple[float, float]],
                 lel_bias_tau_s: float = 60.0) -> None:
        self.ekf = ekf
        self.gauge = gauge
        self.outputs = outputs
        self.cw_sens = cw_sens
        self.output_index = dict(output_index)
        self.n_zones = int(n_zones)
        self.flammable = bool(flammable)
        self.dt_s = float(dt_s)
        self.solids_nominal = float(solids_nominal)
        self.batch_changes = [(float(t), float(s)) for t, s in batch_changes]
        self.batch_times = [t for t, _ in self.batch_changes]
        self.lel_bias_tau_s = float(lel_bias_tau_s)
        self.out_bias = np.zeros(n_bias)
        """Output corrections in physical units: the exit residual's, then each zone's LEL (or humidity)."""
        self.out_gain = np.zeros(n_zones)
        """The zones' relative corrections (``output_biases = "ekf"``)."""
        self.est_plant = (np.nan, np.nan)
        """The exit residual and film temperature as the estimator has them now (model plus bias)."""
        self.position = 0.0
        """Metres of web through the die since the start."""
        self.cw_rel_sens = 0.0
        """The die coat weight's relative sensitivity to the solids at the estimate."""
        self.k = 0

    def announced_solids(self, t_s: float) -> float:
        """The solids the batch plan announces at ``t_s``."""
        val = self.solids_nominal
        for t0, sol in self.batch_changes:
            if t_s >= t0:
                val = sol
        return val

    def estimate(self, t_s: float) -> np.ndarray:
        """The disturbance estimate vector ``[solids, htf, heater_eff (N), fan_factor (N)]`` at ``t_s``."""
        return np.r_[self.announced_solids(t_s) + self.gauge.b, self.ekf.e]

    def _update_lel_bias(self, obs: Observation, y: np.ndarray) -> None:
        """``output_biases = "lel_filter"``: measured-minus-model LEL per zone (after the EKF's update; ``y`` the
        model's outputs at the estimate), low-pass filtered, into the zones' entries of the output biases.

        The coarse model cannot place every gram of evaporation in the right zone; the bias moves each zone's
        LEL constraint by what its analyser says the model misses (a failed analyser keeps its last bias).
        """
        if not self.flammable:
            return
        alpha = self.dt_s / (self.lel_bias_tau_s + self.dt_s)
        lel = self.out_bias[1:]  # a view: the zones' entries
        for i in range(self.n_zones):
            name = f"zone{i + 1}_lel_frac"
            meas = obs.measurements.get(name, np.nan)
            if obs.fresh.get(name, False) and obs.healthy.get(name, True) and np.isfinite(meas):
                err = float(meas) - float(y[self.output_index[name]])
                lel[i] += alpha * (err - lel[i])
        np.clip(lel, -0.1, 0.2, out=lel)

    def restarted(self, skip_m: float) -> None:
        """The line restarted: the gauge filter does not learn from the next ``skip_m`` of web (pump and drive
        come up out of step)."""
        self.gauge.skip_web(self.position + skip_m)

    def step(self, obs: Observation, us_applied: np.ndarray, speed_applied_m_s: float) -> None:
        """One control interval's estimation from ``obs`` at the applied inputs (scaled: ``us_applied``)."""
        dt = self.dt_s
        if self.k > 0:
            self.position += max(speed_applied_m_s, 0.0) * dt
            self.ekf.predict(us_applied, self.announced_solids(obs.t_s - dt) + self.gauge.b)
        self.k += 1
        solids = self.announced_solids(obs.t_s) + self.gauge.b
        self.ekf.update(us_applied, solids, obs.measurements, obs.fresh)
        self.gauge.time_update(dt)
        if any(obs.t_s - dt < tb <= obs.t_s for tb in self.batch_times):
            self.gauge.inflate((0.01) ** 2, at_position_m=self.position)
        est = self.estimate(obs.t_s)
        y_est = self.outputs(self.ekf.xs, us_applied, est)  # the model's outputs at the estimate
        if self.ekf.nb:
            self.out_bias = self.ekf.output_bias()
            self.out_gain = self.ekf.output_gain()
        else:
            self._update_lel_bias(obs, y_est)
        ix = self.output_index
        self.est_plant = (y_est[ix["exit_residual_kg_kg"]] + self.out_bias[0], y_est[ix["exit_film_temp_K"]])
        cw, sens = self.cw_sens(self.ekf.xs, us_applied, est)
        self.gauge.record(self.position, cw, sens)
        if cw > 0.0:
            self.cw_rel_sens = sens / cw
        cw_meas = obs.measurements.get("coat_weight_kg_m2", np.nan)
        if obs.fresh.get("coat_weight_kg_m2", False) and np.isfinite(cw_meas):
            self.gauge.update(self.position, float(cw_meas))
