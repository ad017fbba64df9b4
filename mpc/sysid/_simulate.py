"""Fast linear state recursions, free-run simulation, prediction and x0 estimation.

All identified models are discrete-time innovation-form state-space models

.. math::

    x_{t+1} = A x_t + B u_t + K e_t, \\qquad y_t = C x_t + D u_t + e_t .

The free-run simulation sets :math:`e_t = 0`; the one-step predictor is
:math:`x_{t+1} = (A - KC) x_t + (B - KD) u_t + K y_t`.

The recursion :math:`x_{t+1} = F x_t + f_t` is evaluated in blocks of ``L``
samples: inside a block the states are a matrix product with the
block-Toeplitz matrix of powers of ``F``, and only the block boundaries are
iterated in Python. This is exact (no truncation of impulse responses) and
handles many right-hand sides at once (used for x0 regressors and the PEM
Jacobian).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "estimate_x0",
    "observability_sequence",
    "output_weights",
    "predict",
    "propagate",
    "simulate",
]

_BLOCK_MAX = 32


def _block_length(n: int, K: int, N: int) -> int:
    """Block length balancing in-block flops (``L n^2 K N``) and Python loop overhead (``N / L``).

    Wide problems (many right-hand sides) on short records are fastest with
    the plain recursion (``L = 1``): the block form's reshapes then cost more
    than the loop saves (measured on the development machine).
    """
    if n * K >= 100:
        return 1
    return int(max(2, min(_BLOCK_MAX, N, round(170.0 / (n * np.sqrt(K))))))


def propagate(F: np.ndarray, forcing: np.ndarray, x0: np.ndarray, *, block: int | None = None) -> np.ndarray:
    """States of :math:`x_{t+1} = F x_t + f_t` for many right-hand sides.

    Parameters
    ----------
    F : numpy.ndarray
        ``(n, n)`` state matrix.
    forcing : numpy.ndarray
        ``(N, n, K)`` forcing :math:`f_t` for ``K`` independent recursions.
    x0 : numpy.ndarray
        ``(n, K)`` initial states.

    Returns
    -------
    numpy.ndarray
        ``(N + 1, n, K)`` states :math:`x_0, \\dots, x_N`. Unstable ``F`` may
        give ``inf``/``nan``; callers check.
    """
    N, n, K = forcing.shape
    if n == 0:
        return np.zeros((N + 1, 0, K))
    L = _block_length(n, K, N) if block is None else max(1, min(block, N))
    if L == 1:
        out = np.empty((N + 1, n, K))
        out[0] = x0
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(N):
                out[t + 1] = F @ out[t] + forcing[t]
        return out
    nb = -(-N // L)
    pad = nb * L - N
    f = forcing if pad == 0 else np.concatenate([forcing, np.zeros((pad, n, K))], axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        powers = np.empty((L + 1, n, n))
        powers[0] = np.eye(n)
        for k in range(1, L + 1):
            powers[k] = F @ powers[k - 1]
        # in-block map: X[b, k] = F^k x_b + sum_{j<k} F^{k-1-j} f[b, j]
        kk, jj = np.tril_indices(L, -1)
        toep = np.zeros((L, L, n, n))
        toep[kk, jj] = powers[kk - 1 - jj]
        toep = toep.transpose(0, 2, 1, 3).reshape(L * n, L * n)
        # one GEMM for all blocks: columns are (block, right-hand side)
        fb = f.reshape(nb, L * n, K).transpose(1, 0, 2).reshape(L * n, nb * K)
        inner = toep @ fb  # (L n, nb K)
        ends = (np.concatenate(powers[L - 1 :: -1][:L], axis=1) @ fb).reshape(n, nb, K)
        FL = powers[L]
        xb = np.empty((nb + 1, n, K))
        xb[0] = x0
        for b in range(nb):
            xb[b + 1] = FL @ xb[b] + ends[:, b]
        pw = powers[:L].reshape(L * n, n)
        X = pw @ xb[:nb].transpose(1, 0, 2).reshape(n, nb * K) + inner
        X = X.reshape(L, n, nb, K).transpose(2, 0, 1, 3).reshape(nb * L, n, K)
    out = np.empty((N + 1, n, K))
    out[:N] = X[:N]
    out[N] = X[N] if pad else xb[nb]
    return out


def simulate(
    A: np.ndarray,
    B: np.ndarray,
    C: np.ndarray,
    D: np.ndarray,
    u: np.ndarray,
    x0: np.ndarray | None = None,
) -> np.ndarray:
    """Free-run (output-error) simulation, ``(N, p)`` outputs.

    Parameters
    ----------
    A, B, C, D : numpy.ndarray
        State-space matrices.
    u : numpy.ndarray
        ``(N, m)`` inputs.
    x0 : numpy.ndarray, optional
        Initial state (zeros by default).
    """
    n = A.shape[0]
    x0v = np.zeros(n) if x0 is None else np.asarray(x0, float)
    X = propagate(A, (u @ B.T)[:, :, None], x0v[:, None])[:-1, :, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        return X @ C.T + u @ D.T


def predict(
    A: np.ndarray,
    B: np.ndarray,
    C: np.ndarray,
    D: np.ndarray,
    K: np.ndarray,
    u: np.ndarray,
    y: np.ndarray,
    *,
    k: int = 1,
    x0: np.ndarray | None = None,
) -> np.ndarray:
    """k-step-ahead predictions :math:`\\hat y_{t|t-k}` of the Kalman predictor.

    The one-step predictor runs through the data; for ``k > 1`` the predicted
    state :math:`\\hat x_{t-k+1|t-k}` is propagated ``k - 1`` steps with the
    measured inputs only. The first ``k - 1`` samples, for which no
    ``k``-step prediction exists, use the free-run prediction from ``x0``.

    Returns
    -------
    numpy.ndarray
        ``(N, p)`` predictions.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    n = A.shape[0]
    x0v = np.zeros(n) if x0 is None else np.asarray(x0, float)
    F = A - K @ C
    forcing = u @ (B - K @ D).T + y @ K.T
    X = propagate(F, forcing[:, :, None], x0v[:, None])[:-1, :, 0]  # x_{t|t-1}
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(k - 1):
            shifted = np.empty_like(X)
            shifted[1:] = X[:-1] @ A.T + u[:-1] @ B.T
            shifted[0] = x0v
            X = shifted
        return X @ C.T + u @ D.T


def observability_sequence(F: np.ndarray, C: np.ndarray, N: int) -> np.ndarray:
    """``(N, p, n)`` array of :math:`C F^t`, t = 0..N-1."""
    n = F.shape[0]
    X = propagate(F, np.zeros((N, n, n)), np.eye(n))[:-1]  # (N, n, n): F^t
    with np.errstate(over="ignore", invalid="ignore"):
        return np.einsum("pi,tij->tpj", C, X)


def estimate_x0(
    A: np.ndarray,
    B: np.ndarray,
    C: np.ndarray,
    D: np.ndarray,
    u: np.ndarray,
    y: np.ndarray,
    *,
    K: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Least-squares initial state of the free-run simulation (or predictor).

    The simulated output is affine in the initial state,
    :math:`\\hat y_t(x_0) = \\hat y_t(0) + C A^t x_0`, so

    .. math::

        \\hat x_0 = \\arg\\min_{x_0} \\sum_t \\| W (y_t - \\hat y_t(0) - C A^t x_0) \\|^2

    is a linear least-squares problem over all ``N`` samples (solved with
    :func:`numpy.linalg.lstsq`, minimum-norm for unobservable directions).
    With ``K`` given the one-step predictor (``A - KC``) is used instead.

    Parameters
    ----------
    weights : numpy.ndarray, optional
        ``(p,)`` output weights ``W`` (default: ``1 / ||y_j - mean(y_j)||`` so
        that every output counts equally, independent of its units).
    """
    N, p = y.shape
    n = A.shape[0]
    if n == 0:
        return np.zeros(0)
    if weights is None:
        weights = output_weights(y)
    if K is None:
        F = A
        base = simulate(A, B, C, D, u)
    else:
        F = A - K @ C
        base = predict(A, B, C, D, K, u, y)
    obs = observability_sequence(F, C, N)  # (N, p, n)
    resid = (y - base) * weights
    reg = obs * weights[None, :, None]
    reg = reg.reshape(N * p, n)
    rhs = resid.reshape(N * p)
    if not (np.all(np.isfinite(reg)) and np.all(np.isfinite(rhs))):
        return np.zeros(n)
    x0, *_ = np.linalg.lstsq(reg, rhs, rcond=None)
    return x0


def output_weights(y: np.ndarray) -> np.ndarray:
    """``1 / ||y_j - mean(y_j)||`` per output (1 for a constant output)."""
    scale = np.linalg.norm(y - y.mean(axis=0), axis=0)
    return 1.0 / np.where(scale > 0, scale, 1.0)
