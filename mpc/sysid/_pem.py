"""Prediction-error refinement of an innovation-form state-space model.

The model ``x+ = A x + B u + K e``, ``y = C x + D u + e`` is fully
parametrised (all entries of ``A, B, C`` and, as chosen, ``D``, ``K``, plus
the initial state ``x0``) and refined with
:func:`scipy.optimize.least_squares` (trust-region reflective) on one of two
criteria:

``"simulation"`` (output error)
    :math:`\\sum_t \\| W (y_t - \\hat y_t) \\|^2` with :math:`\\hat y` the
    free-run simulation (``K`` not used): what a free-run fit judges;
``"prediction"``
    the same with the one-step-ahead Kalman predictor
    :math:`x_{t+1} = (A - KC) x_t + (B - KD) u_t + K y_t` (the classical
    PEM of Ljung 1999, ch. 7).

``W`` weights each output by ``1 / ||y_j - mean(y_j)||`` so that the
criterion is unit-free and each output counts like its fit. The full
parametrisation is over-parametrised (any similarity transform gives the same
input-output behaviour): the search runs in data-driven local coordinates,
the orthogonal complement of the ``n^2`` similarity directions at the start
(McKelvey et al. 2004), after the states have been scaled to unit
covariance. The Jacobian is exact: the output sensitivities are simulated
through the same state recursion (forward sensitivity equations), all
search directions at once. A barrier rejects trial points whose simulator
(predictor) is not stable enough (spectral radius above 0.9995, resp.
0.9999). Several data segments (cross-validation folds, separate
experiments) are handled with one initial state each.

References
----------
L. Ljung, *System Identification: Theory for the User*, 2nd ed., Prentice
Hall, 1999, chapters 7 and 10.

T. McKelvey, A. Helmersson, T. Ribarits, "Data driven local coordinates for
multivariable linear systems and their application to system identification",
*Automatica* 40(9), 1629-1635, 2004 (full parametrisation with gradient
search).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import StateSpaceModel
from mpc.sysid._segments import Segments, as_segments
from mpc.sysid._simulate import estimate_x0, output_weights, propagate
from mpc.sysid._threads import blas_threads

__all__ = ["PemResult", "estimate_kalman_gain", "pem"]

_GROUPS = ("A", "B", "C", "D", "K", "x0")
#: largest spectral radius an output-error model may reach (as stability enforcement)
_RHO_MAX_OE = 0.9995
#: Jacobians with more entries use LSMR trust-region steps instead of an SVD
_EXACT_MAX = 4_000_000


@dataclass(frozen=True)
class PemResult:
    """Outcome of :func:`pem`."""

    model: StateSpaceModel
    criterion: str
    cost_initial: float
    cost_final: float
    nfev: int
    status: int
    message: str


class _Problem:
    """Residuals and exact Jacobian for a set of free parameter groups, over segments."""

    def __init__(self, model: StateSpaceModel, segs: Segments, x0s: list[np.ndarray], *,
                 criterion: str, free: tuple[str, ...], weights: np.ndarray) -> None:
        self.segs, self.w = segs, weights
        self.n, self.m, self.ny = model.n_states, model.n_inputs, model.n_outputs
        self.predictor = criterion == "prediction"
        # stability barrier: the simulator must stay as stable as the subspace estimates
        # (spectral radius <= 0.9995); the predictor A - KC just stable
        self.rho_max = 0.9999 if self.predictor else _RHO_MAX_OE
        self.base = {g: np.array(getattr(model, g), dtype=float) for g in _GROUPS if g != "x0"}
        self.base["x0"] = np.stack([np.asarray(x, float) for x in x0s])  # (S, n)
        if not self.predictor:
            self.base["K"] = np.zeros_like(self.base["K"])
        self.free = tuple(g for g in _GROUPS if g in free and (g != "K" or self.predictor))
        self.slices: dict[str, slice] = {}
        pos = 0
        for g in self.free:
            size = self.base[g].size
            self.slices[g] = slice(pos, pos + size)
            pos += size
        self.n_par = pos
        self._key: bytes | None = None

    def similarity_directions(self) -> np.ndarray:
        """``(n_par, n^2)`` tangent directions of similarity transforms ``T = I + E``."""
        n = self.n
        M = self.base
        dirs = np.zeros((self.n_par, n * n))
        for i in range(n):
            for j in range(n):
                E = np.zeros((n, n))
                E[i, j] = 1.0
                delta = {"A": M["A"] @ E - E @ M["A"], "B": -E @ M["B"], "C": M["C"] @ E,
                         "D": np.zeros_like(M["D"]), "K": -E @ M["K"], "x0": -M["x0"] @ E.T}
                for g in self.free:
                    dirs[self.slices[g], i * n + j] = delta[g].ravel()
        return dirs

    def pack(self) -> np.ndarray:
        return np.concatenate([self.base[g].ravel() for g in self.free]) if self.free else np.zeros(0)

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        mats = dict(self.base)
        for g in self.free:
            mats[g] = theta[self.slices[g]].reshape(self.base[g].shape)
        return mats

    def _run(self, theta: np.ndarray) -> tuple[dict[str, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
        key = theta.tobytes()
        if key != self._key:
            M = self.unpack(theta)
            F = M["A"] - M["K"] @ M["C"]
            unstable = self.n > 0 and (not np.all(np.isfinite(F))
                                       or np.max(np.abs(np.linalg.eigvals(F))) > self.rho_max)
            runs = []
            for k, (ys, us) in enumerate(self.segs):
                forcing = us @ (M["B"] - M["K"] @ M["D"]).T + ys @ M["K"].T
                with np.errstate(all="ignore"):
                    X = propagate(F, forcing[:, :, None], M["x0"][k][:, None])[:-1, :, 0]
                    e = ys - X @ M["C"].T - us @ M["D"].T
                if unstable:  # stability barrier: reject an unstable simulator/predictor outright
                    e = np.full_like(e, 1e20)
                runs.append((X, e))
            self._key, self._cache = key, (M, runs)
        return self._cache

    def residual(self, theta: np.ndarray) -> np.ndarray:
        _, runs = self._run(theta)
        r = np.concatenate([(e * self.w).ravel() for _, e in runs])
        return np.clip(np.nan_to_num(r, nan=1e20, posinf=1e20, neginf=-1e20), -1e20, 1e20)

    def jacobian(self, theta: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
        """Exact Jacobian of :meth:`residual`, times ``basis`` if given (local coordinates).

        The sensitivity of the states to a parameter obeys the model's own
        recursion driven by a forcing term that is linear in the parameter
        direction, so the directions of ``basis`` are propagated directly
        (cost ``O(N n^2 P')`` for ``P'`` directions).
        """
        M, runs = self._run(theta)
        n, ny, m = self.n, self.ny, self.m
        K, C = M["K"], M["C"]
        V = np.eye(self.n_par) if basis is None else basis
        Pd = V.shape[1]
        sl = self.slices
        F = M["A"] - K @ C

        def rows(group: str, i: int, width: int, offset: int = 0) -> np.ndarray:
            start = sl[group].start + offset + i * width
            return V[start : start + width]

        blocks = []
        for k, ((ys, us), (X, e)) in enumerate(zip(self.segs, runs, strict=True)):
            N = ys.shape[0]
            forcing = np.zeros((N, n, Pd))
            direct = np.zeros((N, ny, Pd))
            s0 = np.zeros((n, Pd))
            # rows i of the forcing: e_i (x_j | u_j | eps_j) for the A, B, K groups, one GEMM each
            sig = [(g, w_) for g, w_ in (("A", X), ("B", us), ("K", e)) if g in sl]
            if sig:
                data = np.concatenate([w_ for _, w_ in sig], axis=1)
                for i in range(n):
                    coef = np.concatenate([rows(g, i, w_.shape[1]) for g, w_ in sig], axis=0)
                    forcing[:, i] = data @ coef
            if "C" in sl:  # direct e_i x_j; predictor: -K[:, i] x_j
                for i in range(ny):
                    xc = X @ rows("C", i, n)
                    direct[:, i] += xc
                    if self.predictor:
                        forcing -= K[None, :, i, None] * xc[:, None, :]
            if "D" in sl:
                for i in range(ny):
                    ud = us @ rows("D", i, m)
                    direct[:, i] += ud
                    if self.predictor:
                        forcing -= K[None, :, i, None] * ud[:, None, :]
            if "x0" in sl:
                s0 = rows("x0", k, n).copy()
            with np.errstate(all="ignore"):
                S = propagate(F, forcing, s0)[:-1]
                dy = np.tensordot(S, -self.w[:, None] * C, axes=([1], [1]))  # (N, Pd, ny)
                dy = dy.transpose(0, 2, 1) - self.w[None, :, None] * direct
            blocks.append(dy.reshape(N * ny, Pd))
        J = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)
        if not np.all(np.isfinite(J)):
            J = np.where(np.isfinite(J), J, 0.0)
        return J


def _states(model: StateSpaceModel, segs: Segments, x0s: list[np.ndarray], predictor: bool) -> np.ndarray:
    K = model.K if predictor else np.zeros_like(model.K)
    F = model.A - K @ model.C
    out = []
    for (ys, us), x0 in zip(segs, x0s, strict=True):
        forcing = us @ (model.B - K @ model.D).T + ys @ K.T
        with np.errstate(all="ignore"):
            out.append(propagate(F, forcing[:, :, None], np.asarray(x0)[:, None])[:-1, :, 0])
    return np.concatenate(out, axis=0)


def _normalise(model: StateSpaceModel, segs: Segments, x0s: list[np.ndarray],
               predictor: bool) -> tuple[StateSpaceModel, list[np.ndarray]]:
    """Similarity transform giving the (simulated or predicted) states unit covariance."""
    if model.n_states == 0:
        return model, x0s
    X = _states(model, segs, x0s, predictor)
    if not np.all(np.isfinite(X)):
        return model, x0s
    cov = X.T @ X / X.shape[0]
    evals, evecs = np.linalg.eigh((cov + cov.T) / 2)
    floor = 1e-8 * max(evals.max(), 1e-300)
    T = evecs * np.sqrt(np.clip(evals, floor, None))
    if np.linalg.cond(T) > 1e12:
        return model, x0s
    Ti = np.linalg.inv(T)
    return model.transform(T), [Ti @ x for x in x0s]


def _initial_states(model: StateSpaceModel, segs: Segments, w: np.ndarray,
                    predictor: bool) -> list[np.ndarray]:
    x0s = [np.array(model.x0, float)]
    for ys, us in segs[1:]:
        K = model.K if predictor else None
        x0s.append(estimate_x0(model.A, model.B, model.C, model.D, us, ys, K=K, weights=w))
    return x0s


def pem(
    model: StateSpaceModel,
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    *,
    criterion: str = "simulation",
    feedthrough: bool | None = None,
    estimate_k: bool = True,
    max_nfev: int = 60,
    weights: np.ndarray | None = None,
    ftol: float = 1e-7,
) -> PemResult:
    """Refine a state-space model by prediction-error minimisation.

    Parameters
    ----------
    model : StateSpaceModel
        Initial model (from :func:`mpc.sysid.subspace` or :func:`mpc.sysid.arx`);
        its ``x0`` is the starting initial state (of the first segment).
    y, u : numpy.ndarray or list of numpy.ndarray
        ``(N, l)`` outputs and ``(N, m)`` inputs (detrended, as for the
        initial model), or lists of segments, each with its own initial
        state.
    criterion : {"simulation", "prediction"}
        Output-error (free-run) or one-step-ahead prediction error.
    feedthrough : bool, optional
        Refine ``D`` too (default: only if the initial ``D`` is non-zero).
    estimate_k : bool
        After an output-error refinement, estimate ``K`` (and nothing else)
        by the one-step criterion so that the model has a Kalman predictor.
    max_nfev : int
        Budget of residual evaluations.
    weights : numpy.ndarray, optional
        Output weights (default ``1 / ||y_j - mean(y_j)||``).
    ftol : float
        Stop when a step lowers the cost by less than this fraction of it
        (``scipy.optimize.least_squares``); model selection screens
        refinements with a looser value than the final fit.

    Returns
    -------
    PemResult
        The refined model is returned only if it lowers the criterion. A
        barrier keeps the simulator's spectral radius at most 0.9995 (the
        predictor ``A - KC`` strictly stable for the one-step criterion):
        trial steps beyond it are rejected.

    References
    ----------
    Ljung (1999), ch. 7 and 10; McKelvey et al. (2004).
    """
    if criterion not in ("simulation", "prediction"):
        raise IdentificationError(f"PEM criterion {criterion!r}: expected simulation or prediction")
    segs = as_segments(y, u)
    if model.n_states == 0:
        raise IdentificationError("PEM needs a model with at least one state")
    if feedthrough is None:
        feedthrough = bool(np.any(model.D != 0))
    y_all = np.concatenate([ys for ys, _ in segs])
    w = output_weights(y_all) if weights is None else np.asarray(weights, float)
    predictor = criterion == "prediction"
    x0s = _initial_states(model, segs, w, predictor)
    start, x0s = _normalise(model, segs, x0s, predictor)
    free = ("A", "B", "C", "K", "x0") + (("D",) if feedthrough else ())
    prob = _Problem(start, segs, x0s, criterion=criterion, free=free, weights=w)
    theta0 = prob.pack()
    # data-driven local coordinates: drop the n^2 similarity directions (McKelvey et al. 2004)
    U, sv, _ = np.linalg.svd(prob.similarity_directions(), full_matrices=True)
    rank = int(np.sum(sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)))
    basis = U[:, rank:]

    def fun(beta: np.ndarray) -> np.ndarray:
        return prob.residual(theta0 + basis @ beta)

    def jac(beta: np.ndarray) -> np.ndarray:
        return prob.jacobian(theta0 + basis @ beta, basis)

    r0 = prob.residual(theta0)
    cost0 = 0.5 * float(r0 @ r0)
    if r0.size <= basis.shape[1] or not np.isfinite(cost0) or cost0 >= 1e30:
        return PemResult(model, criterion, cost0, cost0, 0, 0, "skipped: too few samples or "
                         "non-finite initial residuals")
    # exact (SVD) trust-region steps for ordinary sizes, LSMR for very long records
    solver = "exact" if r0.size * basis.shape[1] <= _EXACT_MAX else "lsmr"
    # BLAS threads only wait for each other here (see mpc.sysid._threads)
    with blas_threads(1):
        sol = scipy.optimize.least_squares(
            fun, np.zeros(basis.shape[1]), jac=jac, method="trf", x_scale="jac",
            tr_solver=solver, max_nfev=max_nfev, ftol=ftol, xtol=1e-8, gtol=1e-10,
        )
    cost = float(sol.cost)
    if not np.isfinite(cost) or cost >= cost0:
        refined, cost = start.replace(x0=x0s[0]), cost0
    else:
        M = prob.unpack(theta0 + basis @ sol.x)
        changes = {g: M[g] for g in free if g not in ("x0",) and (g != "K" or predictor)}
        refined = start.replace(x0=M["x0"][0], **changes)
    if not predictor:
        refined = refined.replace(K=np.zeros_like(refined.K))
        if estimate_k:
            refined = estimate_kalman_gain(refined, [ys for ys, _ in segs],
                                           [us for _, us in segs], weights=w)
    return PemResult(refined, criterion, cost0, cost, int(sol.nfev), int(sol.status),
                     str(sol.message))


def estimate_kalman_gain(
    model: StateSpaceModel,
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    *,
    max_nfev: int = 40,
    weights: np.ndarray | None = None,
) -> StateSpaceModel:
    """Fit ``K`` (and the predictor's ``x0``) by the one-step criterion, ``A, B, C, D`` fixed.

    Starts from ``K = 0`` (a stable predictor when ``A`` is stable) and keeps
    the predictor ``A - KC`` stable; keeps ``K = 0`` if nothing better is
    found. The returned model keeps the free-run ``x0`` of ``model``.
    """
    segs = as_segments(y, u)
    y_all = np.concatenate([ys for ys, _ in segs])
    w = output_weights(y_all) if weights is None else weights
    start = model.replace(K=np.zeros_like(model.K))
    x0s = [np.zeros(model.n_states) for _ in segs]
    prob = _Problem(start, segs, x0s, criterion="prediction", free=("K", "x0"), weights=w)
    theta0 = prob.pack()
    r0 = prob.residual(theta0)
    if r0.size <= theta0.size or not np.all(np.abs(r0) < 1e19):
        return start
    with blas_threads(1):
        sol = scipy.optimize.least_squares(prob.residual, theta0, jac=prob.jacobian,
                                           method="trf", x_scale="jac", max_nfev=max_nfev)
    K = prob.unpack(sol.x)["K"]
    if not np.all(np.isfinite(K)) or sol.cost >= 0.5 * float(r0 @ r0):
        return start
    if np.max(np.abs(np.linalg.eigvals(model.A - K @ model.C))) >= 1.0:
        return start
    return model.replace(K=K)
