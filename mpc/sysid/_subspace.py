"""Subspace identification: N4SID, MOESP and CVA weightings.

All three start from the block-Hankel matrices of past inputs/outputs
``W_p = [U_p; Y_p]`` (``p`` block rows) and future inputs/outputs
``U_f, Y_f`` (``f`` block rows) and the oblique projection

.. math::

    \\mathcal{O} = Y_f \\, /_{U_f} \\, W_p ,

and differ in the weights of the SVD :math:`W_1 \\mathcal{O} W_2 = U S V^T`
(Van Overschee & De Moor 1995, 1996):

* ``n4sid``: :math:`W_1 = I`, :math:`W_2 = I`;
* ``moesp`` (PO-MOESP): :math:`W_1 = I`, :math:`W_2 = \\Pi_{U_f^\\perp}`
  (Verhaegen 1994);
* ``cva``: :math:`W_1 = (Y_f \\Pi_{U_f^\\perp} Y_f^T)^{-1/2}`,
  :math:`W_2 = \\Pi_{U_f^\\perp}` (Larimore 1990).

The extended observability matrix is
:math:`\\Gamma_f = W_1^{-1} U_n S_n^{1/2}`; the state sequences
:math:`X_i = \\Gamma_f^\\dagger \\mathcal{O}_i`,
:math:`X_{i+1} = \\Gamma_{f-1}^\\dagger \\mathcal{O}_{i+1}` give ``A, B, C, D``
and the noise covariances by least squares (Van Overschee & De Moor 1996,
Algorithm 2), and the Kalman gain ``K`` from the Riccati equation. ``B``
and ``D`` can instead be re-estimated by linear least squares on the
free-run simulation error given ``A`` and ``C`` (``bd="simulation"``, the
MOESP route of Verhaegen 1994), which is what free-run fit judges.

Everything after one factorisation of the data is done on ``r x r``
matrices (``r = (p + f)(m + l)``): only inner products of Hankel rows are
needed, and they are those of the columns of a square factor ``Z`` with
``Z^T Z = H H^T / j`` (``R`` of a QR decomposition of ``H^T``, or a
symmetric square root of the Gram matrix for long records).

References
----------
P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems:
Theory, Implementation, Applications*, Kluwer, 1996.

P. Van Overschee, B. De Moor, "A unifying theorem for three subspace system
identification algorithms", *Automatica* 31(12), 1853-1864, 1995.

M. Verhaegen, "Identification of the deterministic part of MIMO state space
models given in innovations form from input-output data", *Automatica*
30(1), 61-74, 1994.

W. E. Larimore, "Canonical variate analysis in identification, filtering
and adaptive control", Proc. 29th IEEE CDC, 596-604, 1990.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.linalg.blas

from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import StateSpaceModel
from mpc.sysid._segments import as_segments
from mpc.sysid._simulate import estimate_x0, output_weights, propagate
from mpc.sysid._threads import blas_threads

__all__ = [
    "SUBSPACE_METHODS",
    "SubspaceProjections",
    "enforce_stability",
    "estimate_bd",
    "kalman_gain",
    "subspace",
]

SUBSPACE_METHODS: tuple[str, ...] = ("n4sid", "moesp", "cva")
#: largest eigenvalue modulus accepted as stable after enforcement
_RHO_MAX = 0.9995
#: above this many Hankel columns the factor comes from the Gram matrix
_GRAM_THRESHOLD = 20_000
#: up to this many samples B, D come from the simulation-error least squares by default
_BD_SIMULATION_MAX = 20_000


def _lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(a, b, rcond=None)[0]


def default_horizon(order: int, n_outputs: int) -> int:
    """Default past = future horizon ``max(order + 1, 2 ceil(order / n_outputs) + 2, 5)``, at most 30."""
    return int(min(30, max(order + 1, 2 * (-(-order // n_outputs)) + 2, 5)))


class SubspaceProjections:
    """The data factorisation and weighted SVDs shared by all orders.

    Parameters
    ----------
    y, u : numpy.ndarray
        ``(N, l)`` outputs and ``(N, m)`` inputs (detrended).
    future, past : int
        Horizons ``f`` and ``p`` (block rows).

    Raises
    ------
    IdentificationError
        Fewer Hankel columns than rows (too few samples for the horizons).
    """

    def __init__(self, y: np.ndarray | list[np.ndarray], u: np.ndarray | list[np.ndarray],
                 future: int, past: int) -> None:
        segs = as_segments(y, u)
        ny, m = segs[0][0].shape[1], segs[0][1].shape[1]
        N = sum(ys.shape[0] for ys, _ in segs)
        f, p = int(future), int(past)
        if f < 2 or p < 1:
            raise IdentificationError(f"subspace horizons f={f}, p={p}: need f >= 2 and p >= 1")
        w = p + f
        j = sum(max(ys.shape[0] - w + 1, 0) for ys, _ in segs)
        r = w * (m + ny)
        if j < r + 1:
            raise IdentificationError(
                f"subspace identification with horizons f={f}, p={p} on {N} samples: "
                f"{j} Hankel columns for {r} rows; need at least {r + w} samples "
                "(use fewer horizons or a lower order, or more estimation rows)"
            )
        self.N, self.ny, self.m, self.f, self.p, self.j = N, ny, m, f, p, j
        # Hankel rows interleaved by window position: [u_k; y_k] for k = 0..w-1
        blocks = []
        for ys, us in segs:
            js = ys.shape[0] - w + 1
            if js <= 0:
                continue
            z = np.concatenate([us, ys], axis=1)  # (N_s, m + ny)
            win = np.lib.stride_tricks.sliding_window_view(z, w, axis=0)[:js]  # (js, m+ny, w)
            blocks.append(np.transpose(win, (0, 2, 1)).reshape(js, r))  # one copy
        ht = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)
        if j <= _GRAM_THRESHOLD:
            self.Z = np.linalg.qr(ht, mode="r") / np.sqrt(j)
        else:
            # long records: a square root of the Gram matrix (same inner products)
            gram = scipy.linalg.blas.dsyrk(1.0 / j, ht, trans=1, lower=0)
            gram = np.triu(gram) + np.triu(gram, 1).T
            evals, evecs = np.linalg.eigh(gram)
            self.Z = np.sqrt(np.clip(evals, 0.0, None))[:, None] * evecs.T
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._obl: np.ndarray | None = None
        self._obl_next: np.ndarray | None = None

    # --- row index sets of the Hankel matrix -------------------------------------------
    def _u(self, k0: int, k1: int) -> np.ndarray:
        c = self.m + self.ny
        return (np.arange(k0, k1)[:, None] * c + np.arange(self.m)[None, :]).ravel()

    def _y(self, k0: int, k1: int) -> np.ndarray:
        c = self.m + self.ny
        return (np.arange(k0, k1)[:, None] * c + self.m + np.arange(self.ny)[None, :]).ravel()

    def _oblique(self, split: int) -> np.ndarray:
        """Coefficients of ``Y_f /_{U_f} W_p`` with the past/future split at ``split``."""
        w = self.p + self.f
        uf, yf = self._u(split, w), self._y(split, w)
        wp = np.concatenate([self._u(0, split), self._y(0, split)])
        Z = self.Z
        theta = _lstsq(Z[:, np.concatenate([uf, wp])], Z[:, yf])
        return Z[:, wp] @ theta[uf.size :]

    def _perp_uf(self, M: np.ndarray) -> np.ndarray:
        uf = self.Z[:, self._u(self.p, self.p + self.f)]
        return M - uf @ _lstsq(uf, M)

    @property
    def oblique(self) -> np.ndarray:
        """Coefficients ``(r, f l)`` of the oblique projection O_i."""
        if self._obl is None:
            self._obl = self._oblique(self.p)
        return self._obl

    @property
    def oblique_next(self) -> np.ndarray:
        """Coefficients ``(r, (f-1) l)`` of O_{i+1} (past p+1, future f-1)."""
        if self._obl_next is None:
            self._obl_next = self._oblique(self.p + 1)
        return self._obl_next

    def svd(self, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U, s, W1^{-1})`` of the weighted oblique projection."""
        if method not in SUBSPACE_METHODS:
            raise IdentificationError(
                f"subspace method {method!r}: expected one of " + ", ".join(SUBSPACE_METHODS)
            )
        if method not in self._cache:
            fl = self.f * self.ny
            if method == "n4sid":
                M = self.oblique.T
                w1_inv = np.eye(fl)
            else:
                M = self._perp_uf(self.oblique).T
                w1_inv = np.eye(fl)
                if method == "cva":
                    yf_perp = self._perp_uf(self.Z[:, self._y(self.p, self.p + self.f)])
                    G = yf_perp.T @ yf_perp
                    evals, evecs = np.linalg.eigh((G + G.T) / 2)
                    evals = np.clip(evals, 1e-12 * max(evals.max(), 1e-300), None)
                    w1 = (evecs / np.sqrt(evals)) @ evecs.T
                    w1_inv = (evecs * np.sqrt(evals)) @ evecs.T
                    M = w1 @ M
            U, s, _ = np.linalg.svd(M, full_matrices=False)
            self._cache[method] = (U, s, w1_inv)
        return self._cache[method]

    def singular_values(self, method: str = "moesp") -> np.ndarray:
        """Singular values of the weighted projection (for order selection)."""
        return self.svd(method)[1].copy()

    @property
    def max_order(self) -> int:
        """Largest order the horizons support."""
        return min(self.f * self.ny, self.p * (self.m + self.ny)) - 1

    def model(
        self, order: int, method: str = "moesp", *, feedthrough: bool = False
    ) -> tuple[np.ndarray, ...]:
        """``(A, B, C, D, Q, R, S)`` from the state sequences (VODM Algorithm 2)."""
        if not 1 <= order <= self.max_order:
            raise IdentificationError(
                f"subspace order {order}: must be between 1 and {self.max_order} for horizons "
                f"f={self.f}, p={self.p} with {self.l} output(s) (raise the horizons)"
            )
        U, s, w1_inv = self.svd(method)
        gamma = w1_inv @ (U[:, :order] * np.sqrt(s[:order]))
        ny, m, Z = self.ny, self.m, self.Z
        x_i = self.oblique @ np.linalg.pinv(gamma).T  # (r, n)
        x_next = self.oblique_next @ np.linalg.pinv(gamma[:-ny]).T
        u_i = Z[:, self._u(self.p, self.p + 1)]
        y_i = Z[:, self._y(self.p, self.p + 1)]
        reg = np.concatenate([x_i, u_i], axis=1)
        theta = _lstsq(reg, x_next)
        A, B = theta[:order].T, theta[order:].T
        w_res = x_next - reg @ theta
        if feedthrough:
            th = _lstsq(reg, y_i)
            C, D = th[:order].T, th[order:].T
            v_res = y_i - reg @ th
        else:
            th = _lstsq(x_i, y_i)
            C, D = th.T, np.zeros((ny, m))
            v_res = y_i - x_i @ th
        Q = w_res.T @ w_res
        R = v_res.T @ v_res
        S = w_res.T @ v_res
        return A, B, C, D, Q, R, S


def kalman_gain(A: np.ndarray, C: np.ndarray, Q: np.ndarray, R: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Steady-state Kalman gain of the innovation form (zeros if the DARE fails).

    Solves :math:`P = APA^T + Q - (APC^T + S)(CPC^T + R)^{-1}(APC^T + S)^T`
    and returns :math:`K = (APC^T + S)(CPC^T + R)^{-1}`; falls back to
    ``K = 0`` when the Riccati equation has no stabilising solution or the
    predictor ``A - KC`` is not stable.
    """
    n, ny = A.shape[0], C.shape[0]
    Rr = (R + R.T) / 2 + 1e-10 * max(np.trace(R), 1e-300) * np.eye(ny)
    Qr = (Q + Q.T) / 2
    try:
        with np.errstate(all="ignore"):
            P = scipy.linalg.solve_discrete_are(A.T, C.T, Qr, Rr, s=S)
            K = np.linalg.solve((C @ P @ C.T + Rr).T, (A @ P @ C.T + S).T).T
    except (np.linalg.LinAlgError, ValueError):
        return np.zeros((n, ny))
    if not np.all(np.isfinite(K)) or np.max(np.abs(np.linalg.eigvals(A - K @ C))) >= 1.0:
        return np.zeros((n, ny))
    return K


def enforce_stability(A: np.ndarray, *, mode: str = "reflect", rho_max: float = _RHO_MAX) -> np.ndarray:
    """Move eigenvalues of ``A`` with modulus above ``rho_max`` inside the unit circle.

    The real Schur form ``A = Q T Q^T`` is used: scaling a 1x1 or 2x2
    diagonal block of ``T`` scales its eigenvalue(s) and leaves the other
    eigenvalues unchanged (``T`` is block upper triangular), so the change is
    exact even for defective matrices.

    Parameters
    ----------
    mode : {"reflect", "shrink"}
        ``reflect`` maps an eigenvalue ``lambda`` to ``1 / conj(lambda)``
        (the stable spectral factor, same power spectrum up to a constant),
        then clips the modulus at ``rho_max``; ``shrink`` scales it to
        modulus ``rho_max``.
    """
    T, Qs = scipy.linalg.schur(A, output="real")
    n = A.shape[0]
    k = 0
    while k < n:
        size = 2 if k + 1 < n and abs(T[k + 1, k]) > 0.0 else 1
        blk = slice(k, k + size)
        rho = float(np.max(np.abs(np.linalg.eigvals(T[blk, blk]))))
        if rho > rho_max:
            target = min(1.0 / rho, rho_max) if mode == "reflect" else rho_max
            T[blk, blk] *= target / rho
        k += size
    return Qs @ T @ Qs.T


def estimate_bd(
    A: np.ndarray,
    C: np.ndarray,
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    *,
    feedthrough: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``B``, ``D`` and initial states minimising the free-run simulation error, given ``A, C``.

    The simulated output
    :math:`\\hat y_t = C A^t x_0 + \\sum_{s<t} C A^{t-1-s} B u_s + D u_t`
    is linear in ``(x0, B, D)``, so this is one weighted linear least-squares
    problem (Verhaegen 1994; Ljung 1999 sec. 10.6); with several segments
    each has its own ``x0``.

    Returns
    -------
    (B, D, x0s)
        ``x0s`` holds one initial state per segment.
    """
    segs = as_segments(y, u)
    ny, m = segs[0][0].shape[1], segs[0][1].shape[1]
    n = A.shape[0]
    S = len(segs)
    w = output_weights(np.concatenate([ys for ys, _ in segs])) if weights is None else weights
    nb = n * m
    n_col = nb + n * S + (ny * m if feedthrough else 0)
    regs, rhs = [], []
    for k, (ys, us) in enumerate(segs):
        N = ys.shape[0]
        forcing = np.zeros((N, n, nb + n))
        for i in range(n):
            forcing[:, i, i * m : (i + 1) * m] = us  # B[i, j] is column i*m + j (row-major vec)
        x_init = np.zeros((n, nb + n))
        x_init[:, nb:] = np.eye(n)
        X = propagate(A, forcing, x_init)[:-1]  # (N, n, nb + n)
        part = np.einsum("li,tik->tlk", C, X)
        reg = np.zeros((N, ny, n_col))
        reg[:, :, :nb] = part[:, :, :nb]
        reg[:, :, nb + k * n : nb + (k + 1) * n] = part[:, :, nb:]
        if feedthrough:
            d0 = nb + n * S
            for i in range(ny):
                reg[:, i, d0 + i * m : d0 + (i + 1) * m] = us
        regs.append((reg * w[None, :, None]).reshape(N * ny, n_col))
        rhs.append((ys * w).reshape(N * ny))
    reg_all = np.concatenate(regs, axis=0)
    if not np.all(np.isfinite(reg_all)):
        raise IdentificationError("B/D estimation: the model's free response overflows")
    theta = _lstsq(reg_all, np.concatenate(rhs))
    B = theta[:nb].reshape(n, m)
    x0s = [theta[nb + k * n : nb + (k + 1) * n] for k in range(S)]
    D = theta[nb + n * S :].reshape(ny, m) if feedthrough else np.zeros((ny, m))
    return B, D, x0s


@dataclass(frozen=True)
class SubspaceFit:
    """A subspace model with the information used to select it."""

    model: StateSpaceModel
    method: str
    singular_values: np.ndarray
    future: int
    past: int
    stabilised: bool


def subspace(
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    order: int,
    *,
    method: str = "moesp",
    future: int | None = None,
    past: int | None = None,
    feedthrough: bool = False,
    stability: str = "reflect",
    bd: str = "auto",
    dt: float = 1.0,
    projections: SubspaceProjections | None = None,
) -> SubspaceFit:
    """Identify an innovation-form state-space model by a subspace method.

    Parameters
    ----------
    y, u : numpy.ndarray
        ``(N, l)`` outputs and ``(N, m)`` inputs (detrended), or lists of
        segments (:mod:`mpc.sysid._segments`).
    order : int
        State dimension ``n``.
    method : {"n4sid", "moesp", "cva"}
        SVD weighting (module docstring).
    future, past : int, optional
        Horizons ``f`` and ``p`` (default :func:`default_horizon`).
    feedthrough : bool
        Estimate ``D`` (default False: ``D = 0``, usual for sampled physical
        processes, whose output cannot react within the sample).
    stability : {"reflect", "shrink", "none"}
        Enforcement for eigenvalues of ``A`` with modulus above 0.9995
        (:func:`enforce_stability`); ``B, D`` are then re-estimated.
    bd : {"auto", "simulation", "state"}
        ``B, D`` from the simulation-error least squares or from the
        state-sequence regression; ``auto`` (default) uses the first up to
        20,000 samples and the second beyond (where the state regression is
        accurate and the simulation regressors are costly).
    dt : float
        Sample time in seconds.
    projections : SubspaceProjections, optional
        Re-use a factorisation (same data and horizons) across orders.

    Returns
    -------
    SubspaceFit
        ``model.x0`` is the least-squares initial state of the (first
        segment of the) data.

    References
    ----------
    Van Overschee & De Moor (1996); Verhaegen (1994); Larimore (1990).
    """
    segs = as_segments(y, u)
    if stability not in ("reflect", "shrink", "none"):
        raise IdentificationError(f"stability {stability!r}: expected reflect, shrink or none")
    if bd not in ("auto", "simulation", "state"):
        raise IdentificationError(f"bd {bd!r}: expected 'auto', 'simulation' or 'state'")
    ys_list = [ys for ys, _ in segs]
    us_list = [us for _, us in segs]
    # BLAS threads only wait for each other here, even on 100,000 samples (mpc.sysid._threads)
    with blas_threads(1):
        return _subspace(ys_list, us_list, order, method, future, past, feedthrough,
                         stability, bd, dt, projections)


def _subspace(
    ys_list: list[np.ndarray], us_list: list[np.ndarray], order: int, method: str,
    future: int | None, past: int | None, feedthrough: bool, stability: str, bd: str,
    dt: float, projections: SubspaceProjections | None,
) -> SubspaceFit:
    ny = ys_list[0].shape[1]
    if projections is None:
        f = future or default_horizon(order, ny)
        projections = SubspaceProjections(ys_list, us_list, f, past or f)
    A, B, C, D, Q, R, S = projections.model(order, method, feedthrough=feedthrough)
    stabilised = False
    if stability != "none" and np.max(np.abs(np.linalg.eigvals(A))) > _RHO_MAX:
        A = enforce_stability(A, mode=stability)
        stabilised = True
    if bd == "auto":
        bd = "simulation" if projections.N <= _BD_SIMULATION_MAX else "state"
    if bd == "simulation" or stabilised:
        B, D, x0s = estimate_bd(A, C, ys_list, us_list, feedthrough=feedthrough)
        x0 = x0s[0]
    else:
        # the free response of a stable model has died out long before 5000 samples
        head = slice(0, min(ys_list[0].shape[0], 5000))
        x0 = estimate_x0(A, B, C, D, us_list[0][head], ys_list[0][head])
    K = kalman_gain(A, C, Q, R, S)
    model = StateSpaceModel(A, B, C, D, K, x0, dt)
    return SubspaceFit(model, method, projections.singular_values(method), projections.f,
                       projections.p, stabilised)
