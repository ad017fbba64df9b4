"""Regularised (TC kernel) impulse-response estimation, realised as a state-space model.

The impulse response from every input to one output is a finite impulse
response of length ``L``, ``y_t = sum_j sum_{k=1..L} g_{jk} u_{j,t-k} + v_t``,
estimated as the posterior mean under a Gaussian prior with the TC ("tuned /
correlated") kernel of Pillonetto & De Nicolao (2010) and Chen, Ohlsson &
Ljung (2012),

.. math::

    \\operatorname{cov}(g_{jk}, g_{jl}) = c \\, \\lambda^{\\max(k, l)},
    \\qquad 0 < \\lambda < 1,

(independent blocks per input, one ``c, lambda`` per output), which
encodes a stable, smooth, exponentially decaying response. The
hyper-parameters maximise the marginal likelihood of the data (empirical
Bayes), with the noise variance fixed at that of the least-squares FIR fit;
everything works on ``(mL) x (mL)`` matrices. The impulse response is
realised by the Ho-Kalman/ERA construction (SVD of its block-Hankel matrix)
at the requested order, and ``B, D`` are re-estimated by the simulation-error
least squares of :func:`mpc.sysid._subspace.estimate_bd`, which is what
free-run fit judges.

References
----------
G. Pillonetto, G. De Nicolao, "A new kernel-based approach for linear system
identification", *Automatica* 46(1), 81-93, 2010.

T. Chen, H. Ohlsson, L. Ljung, "On the estimation of transfer functions,
regularizations and Gaussian processes - Revisited", *Automatica* 48(8),
1525-1535, 2012.

B. L. Ho, R. E. Kalman, "Effective construction of linear state-variable
models from input/output functions", *Regelungstechnik* 14, 545-548, 1966.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.optimize

from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import StateSpaceModel
from mpc.sysid._segments import as_segments
from mpc.sysid._subspace import enforce_stability, estimate_bd

__all__ = ["TcImpulseResponse", "tc_impulse_response"]

#: largest number of FIR coefficients per output (all inputs together)
_MAX_COEFFICIENTS = 300


class TcImpulseResponse:
    """A TC-regularised impulse response and its realisations.

    Attributes
    ----------
    g : numpy.ndarray
        ``(p, m, L)``: ``g[i, j, k - 1]`` is the response of output ``i`` to
        a unit pulse on input ``j``, ``k`` samples later.
    scale, decay : numpy.ndarray
        ``(p,)`` hyper-parameters ``c`` and ``lambda`` per output.
    """

    def __init__(self, g: np.ndarray, scale: np.ndarray, decay: np.ndarray) -> None:
        self.g, self.scale, self.decay = g, scale, decay
        p, m, L = g.shape
        r = L // 2
        hankel = np.zeros((p * r, m * (L - r - 1)))
        for a in range(r):
            for b in range(L - r - 1):
                hankel[a * p : (a + 1) * p, b * m : (b + 1) * m] = g[:, :, a + b]
        self._U, self._s, _ = np.linalg.svd(hankel, full_matrices=False)

    @property
    def max_order(self) -> int:
        """Largest order the Hankel matrix supports."""
        return int(min(self._U.shape[1], self.g.shape[2] // 2 - 1))

    def model(self, order: int, y: np.ndarray | list[np.ndarray], u: np.ndarray | list[np.ndarray],
              *, dt: float = 1.0, stability: str = "reflect") -> StateSpaceModel:
        """Realisation of order ``order`` (ERA ``A, C``; ``B, D = 0`` by simulation least squares).

        Raises
        ------
        IdentificationError
            ``order`` outside ``1..max_order``.
        """
        if not 1 <= order <= self.max_order:
            raise IdentificationError(
                f"kernel realisation order {order}: must be between 1 and {self.max_order}")
        p = self.g.shape[0]
        obs = self._U[:, :order] * np.sqrt(self._s[:order])
        C = obs[:p]
        A = np.linalg.lstsq(obs[:-p], obs[p:], rcond=None)[0]
        if stability != "none" and np.max(np.abs(np.linalg.eigvals(A))) > 0.9995:
            A = enforce_stability(A, mode=stability)
        B, D, x0s = estimate_bd(A, C, y, u)
        return StateSpaceModel(A, B, C, D, np.zeros((order, p)), x0s[0], dt)


def _regressors(segs: list[tuple[np.ndarray, np.ndarray]], L: int) -> tuple[np.ndarray, np.ndarray]:
    """FIR regressors ``[u_j(t-1) .. u_j(t-L)]_j`` and targets, no regressor across segments."""
    rows, targets = [], []
    for ys, us in segs:
        N, m = us.shape
        if N <= L:
            continue
        win = np.lib.stride_tricks.sliding_window_view(us, L, axis=0)[: N - L]  # (N-L, m, L)
        rows.append(win[:, :, ::-1].reshape(N - L, m * L))  # u(t-1) first
        targets.append(ys[L:])
    if not rows:
        raise IdentificationError(f"kernel impulse response of length {L}: every segment is shorter")
    return np.concatenate(rows), np.concatenate(targets)


def tc_impulse_response(
    y: np.ndarray | list[np.ndarray], u: np.ndarray | list[np.ndarray], length: int | None = None
) -> TcImpulseResponse:
    """TC-kernel regularised impulse response with empirical-Bayes hyper-parameters.

    Parameters
    ----------
    y, u : numpy.ndarray or list of numpy.ndarray
        Detrended outputs and inputs (or segments).
    length : int, optional
        FIR length ``L`` (default: the longest up to ``min(150, 300 // m)``
        that leaves at least two regression rows per coefficient).

    Raises
    ------
    IdentificationError
        Too few samples for the FIR length.
    """
    segs = as_segments(y, u)
    m = segs[0][1].shape[1]
    n_rows = sum(ys.shape[0] for ys, _ in segs)
    if length is None:
        # the longest response up to 150 samples (and 300 coefficients) with at least two
        # regression rows per coefficient
        L = min(150, _MAX_COEFFICIENTS // m)
        while L >= 8 and sum(max(ys.shape[0] - L, 0) for ys, _ in segs) < 2 * m * L:
            L -= 1
    else:
        L = int(length)
    if L < 8:
        raise IdentificationError(f"kernel impulse response: {n_rows} samples are too few")
    Phi, Y = _regressors(segs, L)
    N, nth = Phi.shape
    if N <= nth:
        raise IdentificationError(
            f"kernel impulse response: {N} regression rows for {nth} coefficients")
    R = Phi.T @ Phi
    k = np.arange(1, L + 1)
    p = Y.shape[1]
    g = np.zeros((p, m, L))
    scales, decays = np.zeros(p), np.zeros(p)
    for i in range(p):
        yi = Y[:, i]
        th_ls = np.linalg.lstsq(Phi, yi, rcond=None)[0]
        s2 = max(float(np.sum((yi - Phi @ th_ls) ** 2)) / (N - nth), 1e-300)
        py, yy = Phi.T @ yi, float(yi @ yi)

        def prior(params: np.ndarray) -> np.ndarray:
            c, lam = np.exp(params[0]), 1.0 / (1.0 + np.exp(-params[1]))
            return scipy.linalg.block_diag(*([c * lam ** np.maximum.outer(k, k)] * m))

        def neg_log_likelihood(params: np.ndarray, py: np.ndarray = py, yy: float = yy,
                               s2: float = s2) -> float:
            P = prior(params)
            try:
                Lp = np.linalg.cholesky(P + 1e-10 * np.trace(P) / nth * np.eye(nth))
                Mc = np.linalg.cholesky(s2 * np.eye(nth) + Lp.T @ R @ Lp)
            except np.linalg.LinAlgError:
                return 1e300
            z = scipy.linalg.solve_triangular(Mc, Lp.T @ py, lower=True)
            return float((yy - z @ z) / s2 + 2.0 * np.sum(np.log(np.diag(Mc)))
                         + (N - nth) * np.log(s2))

        start_c = np.log(max(float(np.mean(th_ls ** 2)), 1e-300))
        best = min((scipy.optimize.minimize(neg_log_likelihood, np.array([start_c, b]),
                                            method="Nelder-Mead",
                                            options={"maxiter": 200, "xatol": 1e-3, "fatol": 1e-3})
                    for b in (2.0, 4.0)), key=lambda r: r.fun)
        P = prior(best.x)
        # posterior mean: P Phi' (Phi P Phi' + s2 I)^-1 y = (P R + s2 I)^-1 P Phi' y
        g[i] = np.linalg.solve(P @ R + s2 * np.eye(nth), P @ py).reshape(m, L)
        scales[i], decays[i] = np.exp(best.x[0]), 1.0 / (1.0 + np.exp(-best.x[1]))
    return TcImpulseResponse(g, scales, decays)
