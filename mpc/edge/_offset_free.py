"""Offset-free estimation for the lmpc's identified model: output disturbances and a Kalman filter.

One copy for the design machine (:class:`controllers.lmpc.LmpcController`) and the edge (an lmpc artifact
builds it from its copy of the model file): numpy only.

The identified model is augmented with one integrating disturbance per
measured output (Pannocchia & Rawlings 2003; Muske & Badgwell 2002)::

    x[k+1] = A x[k] + B u[k],   d[k+1] = d[k],   y[k] = C x[k] + d[k]

which is detectable, so that the closed loop is offset-free, exactly when
``(A, C)`` is detectable and ``rank [[I - A, 0], [C, I]] = n + p``, i.e. ``A``
has no eigenvalue at 1 (:func:`augmented_rank`). The filter is the
time-varying Kalman filter (measurements that are stale or unhealthy, such as
a failed analyser, are left out of the update), with process noise ``q_x`` on
the model states and ``q_d`` on the disturbances, and measurement noise from
the sensors' specification, all in scaled units.

References
----------
G. Pannocchia, J. B. Rawlings, "Disturbance models for offset-free model-predictive
control", AIChE J. 49 (2003) 426-437.
K. R. Muske, T. A. Badgwell, "Disturbance modeling for offset-free linear model
predictive control", J. Process Control 12 (2002) 617-632.
"""

from __future__ import annotations

import numpy as np

from mpc.errors import CalmlineError

__all__ = ["OffsetFreeKalman", "augmented_rank"]


def augmented_rank(A: np.ndarray, C: np.ndarray) -> tuple[int, int]:
    """``(rank, n + p)`` of ``[[I - A, 0], [C, I]]`` for the output-disturbance model."""
    n, p = A.shape[0], C.shape[0]
    M = np.block([[np.eye(n) - A, np.zeros((n, p))], [C, np.eye(p)]])
    return int(np.linalg.matrix_rank(M)), n + p


class OffsetFreeKalman:
    """Kalman filter of the output-disturbance-augmented identified model (scaled units)."""

    def __init__(self, A: np.ndarray, B: np.ndarray, C: np.ndarray, r: np.ndarray, *, q_x: float = 1e-2,
                 q_d: float | np.ndarray = 1e-3) -> None:
        n, p = A.shape[0], C.shape[0]
        rank, need = augmented_rank(A, C)
        if rank < need:
            raise CalmlineError(f"the augmented model is not detectable (rank {rank} < {need}): "
                             "the identified model has an integrator; offset-free estimation needs I - A invertible")
        self.n, self.p = n, p
        self.Aa = np.block([[A, np.zeros((n, p))], [np.zeros((p, n)), np.eye(p)]])
        self.Ba = np.vstack([B, np.zeros((p, B.shape[1]))])
        self.Ca = np.hstack([C, np.eye(p)])
        self.Q = np.diag(np.r_[np.full(n, q_x), np.broadcast_to(np.asarray(q_d, float), (p,))])
        self.R = np.diag(np.asarray(r, float))
        self.z = np.zeros(n + p)
        self.P = np.eye(n + p)

    @property
    def x(self) -> np.ndarray:
        """Model-state estimate."""
        return self.z[: self.n]

    @property
    def d(self) -> np.ndarray:
        """Output-disturbance estimate."""
        return self.z[self.n :]

    def reset(self, u_s: np.ndarray, y_s: np.ndarray) -> None:
        """Start at the model's steady state for inputs ``u_s``; the disturbance takes up the rest of ``y_s``."""
        A, B = self.Aa[: self.n, : self.n], self.Ba[: self.n]
        x = np.linalg.solve(np.eye(self.n) - A, B @ u_s)
        C = self.Ca[:, : self.n]
        d = np.where(np.isfinite(y_s), y_s - C @ x, 0.0)
        self.z = np.r_[x, d]
        self.P = np.diag(np.r_[np.full(self.n, 1e-2), np.full(self.p, 1e-1)])

    def predict(self, u_s: np.ndarray) -> None:
        """Time update over one model step with the inputs applied during it."""
        self.z = self.Aa @ self.z + self.Ba @ u_s
        self.P = self.Aa @ self.P @ self.Aa.T + self.Q

    def update(self, y_s: np.ndarray, available: np.ndarray) -> None:
        """Measurement update with the outputs flagged ``available``."""
        rows = np.flatnonzero(np.asarray(available, bool) & np.isfinite(y_s))
        if rows.size == 0:
            return
        Ca = self.Ca[rows]
        S = Ca @ self.P @ Ca.T + self.R[np.ix_(rows, rows)]
        K = np.linalg.solve(S, Ca @ self.P).T
        self.z = self.z + K @ (y_s[rows] - Ca @ self.z)
        self.P = (np.eye(len(self.z)) - K @ Ca) @ self.P
        self.P = 0.5 * (self.P + self.P.T)

    def outputs(self) -> np.ndarray:
        """Filtered outputs ``C x + d`` (scaled)."""
        return self.Ca @ self.z

