"""The NMPC's extended Kalman filter around any evaluation of its model: CasADi here, compiled C on the edge.

:class:`SubstepEkf` is the filter's logic (when the time update's Jacobian is refreshed, when the RK4
sub-steps are raised as the model stiffens, the measurement update); an :class:`EkfModel` evaluates the
model. :class:`controllers.nmpc.DisturbanceEKF` gives it CasADi functions; :class:`mpc.edge.EdgeEstimator`
gives it the same functions generated as C by ``calmline export``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue
from plants.simulate import n_substeps, substep_bound_s

__all__ = ["EkfModel", "SubstepEkf"]


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
    """

    def __init__(self, core: KalmanCore, model: EkfModel, dt_s: float, n_sub: int, n_states: int, n_est: int,
                 check_every: int) -> None:
        self.core = core
        self.model = model
        self.dt_s = float(dt_s)
        self.n_sub = int(n_sub)
        self.n = int(n_states)
        self.ne = int(n_est)
        self.check_every = max(1, int(check_every))
        self._outputs = model.outputs()

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
