"""The extended Kalman filter's arithmetic, numpy only: one copy for the design machine and the edge.

The NMPC's estimator (:class:`controllers.nmpc.DisturbanceEKF`) evaluates its model with CasADi; the edge
runtime evaluates the same functions compiled to C (:class:`mpc.edge.CompiledFunction`). Both hand the values
to :class:`KalmanCore`, which holds the state, its covariance and every number of the filter's tuning, so that
the two differ only in how the model is evaluated.

Reference: D. Simon, *Optimal State Estimation* (Wiley 2006), sections 5.1 (Joseph form of the covariance
update, right for any gain) and 13.2 (the extended Kalman filter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["KalmanCore"]

Step = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
"""``(z, us, solids) -> (z_next, dz_next/dz)``: the time update and its Jacobian (dense)."""
StepValue = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
"""``(z, us, solids) -> z_next``: the time update alone."""
Outputs = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
"""``(z, us, solids) -> (h, dh/dz)``: every measured output and its Jacobian (dense)."""


class KalmanCore:
    """State, covariance and tuning of an extended Kalman filter on a discrete-time model.

    Parameters
    ----------
    z0, P0 : ndarray
        Initial state and covariance.
    Q : ndarray
        Process-noise covariance (per step).
    R : ndarray
        Measurement-noise variances, one per name of ``names``.
    names : sequence of str
        The measured outputs, in the order the output function returns them.
    lower, upper : ndarray
        Box bounds the state is clipped to after every measurement update (``-inf``/``inf`` where none).
    jacobian_every : int
        The time update's Jacobian is refreshed every this many calls (it changes slowly); in between the
        last one is used.
    """

    def __init__(self, z0: np.ndarray, P0: np.ndarray, Q: np.ndarray, R: np.ndarray, names: Sequence[str],
                 lower: np.ndarray, upper: np.ndarray, jacobian_every: int = 5) -> None:
        self.z = np.asarray(z0, float).copy()
        self.P = np.asarray(P0, float).copy()
        self.Q = np.asarray(Q, float)
        self.R = np.asarray(R, float)
        self.names = list(names)
        self.lower = np.asarray(lower, float)
        self.upper = np.asarray(upper, float)
        if jacobian_every < 1:
            raise ValueError(f"jacobian_every = {jacobian_every!r}: expected a whole number of calls >= 1")
        self.jacobian_every = int(jacobian_every)
        self.calls = 0
        """Time updates so far."""
        self.A: np.ndarray | None = None
        """The last time-update Jacobian (None: refreshed at the next call)."""

    def predict(self, step: Step, step_value: StepValue, us: np.ndarray, solids: float) -> None:
        """Time update: ``z <- F(z)``, ``P <- A P A' + Q``; ``A`` refreshed every :attr:`jacobian_every` calls."""
        if self.A is None or self.calls % self.jacobian_every == 0:
            zn, A = step(self.z, us, solids)
            self.A = np.asarray(A, float)
        else:
            zn = step_value(self.z, us, solids)
        self.calls += 1
        A = self.A
        self.z = np.asarray(zn, float).ravel()
        self.P = A @ self.P @ A.T + self.Q

    def update(self, outputs: Outputs, us: np.ndarray, solids: float, meas: Mapping[str, float],
               fresh: Mapping[str, bool]) -> None:
        """Measurement update from the fresh, finite readings of :attr:`names` (Joseph form), then the bounds."""
        use = [i for i, n in enumerate(self.names) if fresh.get(n, False) and np.isfinite(meas.get(n, np.nan))]
        if not use:
            return
        h, H = outputs(self.z, us, solids)
        h = np.asarray(h, float).ravel()[use]
        H = np.asarray(H, float)[use]
        yv = np.array([meas[self.names[i]] for i in use])
        Rk = np.diag(self.R[use])
        S = H @ self.P @ H.T + Rk
        K = np.linalg.solve(S, H @ self.P).T
        self.z = self.z + K @ (yv - h)
        IKH = np.eye(self.P.shape[0]) - K @ H
        self.P = IKH @ self.P @ IKH.T + K @ Rk @ K.T  # Joseph form: right for any gain
        self.P = 0.5 * (self.P + self.P.T)
        self.z = np.clip(self.z, self.lower, self.upper)
