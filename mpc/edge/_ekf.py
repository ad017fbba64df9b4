"""The NMPC's extended Kalman filter around any evaluation of its model: CasADi here, compiled C on the edge.

:class:`SubstepEkf` is the filter's logic (when the time update's Jacobian is refreshed, when the RK4
sub-steps are raised as the model stiffens, the measurement update); an :class:`EkfModel` evaluates the
model. :class:`controllers.nmpc.DisturbanceEKF` gives it CasADi functions; :class:`mpc.edge.EdgeEstimator`
gives it the same functions generated as C by ``calmline export``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue
from plants.simulate import n_substeps, substep_bound_s

__all__ = ["BiasLayout", "EkfModel", "FilterView", "SubstepEkf"]


class EkfModel(Protocol):
    """How the filter evaluates its model (scaled states ``z`` = line states, disturbance estimates, biases)."""

    def step(self, n_sub: int) -> tuple[Step, StepValue]:
        """The time update over the filter's interval with ``n_sub`` RK4 sub-steps, with and without Jacobian."""
        ...

    def outputs(self) -> Outputs:
        """The measured outputs and their Jacobian."""
        ...

    def state_jacobian(self, xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> np.ndarray:
        """The Jacobian of the model's scaled right-hand side in its line states (its eigenvalues set the
        stable RK4 sub-step)."""
        ...


@dataclass(frozen=True)
class BiasLayout:
    """Where the filter's output-bias states act: each state's correction and whether it is relative.

    The corrections are the exit residual's (additive) and one per zone (its LEL or exhaust humidity), the
    order of :attr:`controllers.nmpc.NmpcModel.bias_outputs`.
    """

    index: np.ndarray
    """Each bias state's correction (index into the ``n_bias`` corrections)."""
    relative: np.ndarray
    """Whether each bias state is a zone's relative correction (else additive)."""
    scale: np.ndarray
    """Each correction's unit for an additive bias state (physical units per unit of state)."""
    gain_scale: float
    """A relative bias state's unit: the zone's output is the model's times ``1 + gain_scale * b``."""
    n_bias: int
    n_zones: int


class SubstepEkf:
    """An EKF whose time update integrates its model with RK4 sub-steps, raised (never lowered) as it stiffens.

    Parameters
    ----------
    core : KalmanCore
        State, covariance and tuning.
    model : EkfModel
        The model's evaluation.
    dt_s : float
        The filter's interval, s.
    n_sub : int
        RK4 sub-steps to start with.
    n_states : int
        Line states at the head of ``z`` (then ``n_est`` disturbance estimates, then output biases).
    n_est : int
        Disturbance estimates after the line states.
    check_every : int
        The stable sub-step is checked every this many time updates.
    biases : BiasLayout
        Where the bias states (after the estimates) act.
    """

    def __init__(self, core: KalmanCore, model: EkfModel, dt_s: float, n_sub: int, n_states: int, n_est: int,
                 check_every: int, biases: BiasLayout) -> None:
        self.core = core
        self.model = model
        self.dt_s = float(dt_s)
        self.n_sub = int(n_sub)
        self.n = int(n_states)
        self.ne = int(n_est)
        self.check_every = max(1, int(check_every))
        self.biases = biases
        self._outputs = model.outputs()

    @property
    def xs(self) -> np.ndarray:
        """The scaled line states."""
        return self.core.z[: self.n]

    @property
    def e(self) -> np.ndarray:
        """The input-disturbance estimates ``[htf, heater_eff (N), fan_factor (N)]``."""
        return self.core.z[self.n : self.n + self.ne]

    @property
    def nb(self) -> int:
        """Output-bias states."""
        return len(self.biases.index)

    def output_bias(self) -> np.ndarray:
        """The additive output corrections in physical units (0 where no bias state, and for the zones, whose
        corrections are relative: :meth:`output_gain`)."""
        b = self.biases
        out = np.zeros(b.n_bias)
        add = ~b.relative
        out[b.index[add]] = self.core.z[self.n + self.ne :][add] * b.scale[b.index[add]]
        return out

    def output_gain(self) -> np.ndarray:
        """The zones' relative corrections (the plant's level is the model's times ``1 + gain``), zone order."""
        b = self.biases
        out = np.zeros(b.n_zones)
        out[b.index[b.relative] - 1] = b.gain_scale * self.core.z[self.n + self.ne :][b.relative]
        return out

    def _check_substeps(self, us: np.ndarray, solids: float) -> None:
        z = self.core.z
        est = np.r_[solids, z[self.n : self.n + self.ne]]
        need = n_substeps(self.dt_s, substep_bound_s(self.model.state_jacobian(z[: self.n], us, est)))
        if need > self.n_sub:
            self.n_sub = need
            self.core.A = None

    def predict(self, us: np.ndarray, solids: float) -> None:
        """Time update over ``dt_s`` at the applied inputs ``us`` (scaled) and the slurry's solids."""
        if self.core.calls % self.check_every == 0:
            self._check_substeps(us, solids)
        step, step_value = self.model.step(self.n_sub)
        self.core.predict(step, step_value, us, solids)

    def update(self, us: np.ndarray, solids: float, meas: Mapping[str, float], fresh: Mapping[str, bool]) -> None:
        """Measurement update from the fresh readings."""
        self.core.update(self._outputs, us, solids, meas, fresh)


class FilterView:
    """The state and updates of an owned :class:`SubstepEkf` (``self.filter``): the design machine's
    :class:`controllers.nmpc.DisturbanceEKF` and the edge's :class:`mpc.edge.EdgeEstimator` are both one."""

    filter: SubstepEkf

    @property
    def z(self) -> np.ndarray:
        """Scaled line states, disturbance estimates and output biases (the filter's state)."""
        return self.filter.core.z

    @property
    def P(self) -> np.ndarray:
        """The state's covariance."""
        return self.filter.core.P

    @property
    def Q(self) -> np.ndarray:
        """The process-noise covariance per step."""
        return self.filter.core.Q

    @property
    def xs(self) -> np.ndarray:
        """The scaled line states."""
        return self.filter.xs

    @property
    def e(self) -> np.ndarray:
        """The input-disturbance estimates ``[htf, heater_eff (N), fan_factor (N)]``."""
        return self.filter.e

    @property
    def n_sub(self) -> int:
        """RK4 sub-steps of the time update: raised (never lowered) when the model gets stiffer."""
        return self.filter.n_sub

    def output_bias(self) -> np.ndarray:
        """The additive output corrections in physical units (:meth:`SubstepEkf.output_bias`)."""
        return self.filter.output_bias()

    def output_gain(self) -> np.ndarray:
        """The zones' relative corrections (:meth:`SubstepEkf.output_gain`)."""
        return self.filter.output_gain()

    def predict(self, us: np.ndarray, solids: float) -> None:
        """Time update over one control interval at the applied inputs ``us`` (scaled) and the solids."""
        self.filter.predict(us, solids)

    def update(self, us: np.ndarray, solids: float, meas: Mapping[str, float], fresh: Mapping[str, bool]) -> None:
        """Measurement update from the fresh, finite readings, then the state's bounds."""
        self.filter.update(us, solids, meas, fresh)
