"""The multiple-shooting least-squares NLP and its Gauss-Newton covariance.

Decision variables ``w = (theta / theta_nom, X_0 / s, ..., X_N / s)``: the
named parameters scaled by their nominal values and the (augmented) model
state at every node of the calibration grid, scaled by its typical size.
Constraints: continuity ``F(X_k, u_k, d_k, theta) = X_{k+1}`` over every
interval (``F``: RK4 sub-steps of the controller model,
:func:`plants.simulate.rk4_step`). Objective: ``0.5 sum_k sum_j r_kj**2`` with
``r_kj = (y_kj - h_j(X_k, u_k, d_k, theta)) / sigma_j``. The model state is
augmented with one first-order lag per lagged sensor (time constant: the
sensor's lag plus its dead time), so ``h`` is what the instrument reads.

Covariance (Gauss-Newton, constrained, Bock 1987): with ``J = dr/dw`` and
``C = dc/dw`` at the solution, the covariance of ``w`` is
``s2 * [I 0] K^-1 [I 0]^T`` with ``K = [[J^T J, C^T], [C, 0]]``; the
parameter block is the covariance of ``theta`` with the initial state
estimated along with it. ``s2 = 2 Phi / (m - p)`` (``m`` weighted residuals,
``p`` = parameters + states of one node) rescales the assumed sensor noise
to the residuals actually left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mpc.calibrate._data import CalibrationData
from mpc.calibrate._errors import CalibrationError
from mpc.calibrate._params import ParamSpec, symbolic_params
from plants.backend import ops_by_name
from plants.line import LineModel
from plants.params import LineParams
from plants.simulate import rk4_step

__all__ = ["HESSIANS", "PRIOR_REL", "OutputModel", "ShootingProblem", "Solution"]

HESSIANS = ("gauss-newton", "exact")
"""Hessian approximations of :meth:`ShootingProblem.solve`."""

_DEBUG = bool(__import__("os").environ.get("CALMLINE_CALIBRATE_DEBUG"))
PRIOR_REL = 0.2
"""Standard deviation of the arrival-cost prior on the initial node, relative to each state's scale."""

_LM = 1e-8
"""Levenberg-Marquardt term of the Gauss-Newton Hessian (scaled variables); it
damps steps along initial states the outputs do not see; the solution is unchanged."""
_RIDGE = 1e-9
"""Relative ridge on the shooting-state block of J^T J (a vanishing prior on
initial states the outputs do not see; it keeps K invertible)."""


@dataclass(frozen=True)
class OutputModel:
    """A measured output: its model output, noise standard deviation and lag."""

    name: str
    sigma: float
    lag_s: float


@dataclass
class Solution:
    theta: np.ndarray
    x_nodes: np.ndarray  # (N + 1, n_aug)
    cost: float
    success: bool
    status: str
    iterations: int
    solve_s: float
    cov: np.ndarray
    s2: float
    n_residuals: int
    dof: int


class ShootingProblem:
    """Build and solve the calibration NLP for one model, data set and parameter list."""

    def __init__(
        self,
        base: LineParams,
        specs: list[ParamSpec],
        outputs: list[OutputModel],
        data: CalibrationData,
        *,
        max_substep_s: float = 1.5,
    ) -> None:
        import casadi as ca

        self.base = base
        self.specs = specs
        self.outputs = outputs
        self.data = data
        self.np = len(specs)
        th = ca.SX.sym("theta", self.np)
        try:
            model = LineModel(symbolic_params(base, specs, [th[i] for i in range(self.np)]))
            L = model.layout
            ops = ops_by_name("casadi")
            x = ca.SX.sym("x", L.n_states)
            u = ca.SX.sym("u", L.n_inputs)
            d = ca.SX.sym("d", L.n_disturbances)
            xdot = model.rhs(ops, x, u, d)
            y_all = model.outputs(ops, x, u, d)
        except (TypeError, RuntimeError, NotImplementedError) as exc:
            names = ", ".join(s.name for s in specs)
            raise CalibrationError(
                f"--params {names}: a parameter enters the model in a structural decision and cannot be "
                f"estimated ({type(exc).__name__})"
            ) from None
        names = model.output_names()
        self.layout = L
        self.nx = L.n_states
        idx = []
        for o in outputs:
            if o.name not in names:
                raise CalibrationError(f"output {o.name!r} is not an output of the model")
            idx.append(names.index(o.name))
        lagged = [j for j, o in enumerate(outputs) if o.lag_s > 0]
        self.lagged = lagged
        nz = len(lagged)
        self.nxa = self.nx + nz
        z = ca.SX.sym("z", nz)
        ysel = ca.vertcat(*[y_all[i] for i in idx])
        xa = ca.vertcat(x, z)
        f = ca.Function("f", [x, u, d, th], [xdot])
        hsel = [z[lagged.index(j)] if j in lagged else ysel[j] for j in range(len(outputs))]
        self.h = ca.Function("h", [xa, u, d, th], [ca.vertcat(*hsel)])
        self.y_fn = ca.Function("y", [x, u, d, th], [ysel])
        dt = data.dt_s
        # RK4 sub-step within the stability bound |lambda| h <= 1.8 at the nominal recipe (set by
        # the caller through max_substep_s), at most max_substep_s.
        self.n_sub = max(1, int(np.ceil(dt / max_substep_s - 1e-9)))
        hstep = dt / self.n_sub
        xs_, us_, ds_, ts_ = (ca.SX.sym(n, m) for n, m in (("x", self.nx), ("u", L.n_inputs),
                                                         ("d", L.n_disturbances), ("t", self.np)))
        zs_ = ca.SX.sym("z", nz)
        xk = rk4_step(lambda a, b, c: f(a, b, c, ts_), xs_, us_, ds_, hstep, self.n_sub)
        # Sensor lags as exact discretisations of first-order lags driven by the output at the
        # start of the interval (held over it): z+ = a z + (1 - a) y_k, a = exp(-dt / lag).
        a = np.array([np.exp(-dt / outputs[j].lag_s) for j in lagged])
        yk = self.y_fn(xs_, us_, ds_, ts_)
        zk = ca.vertcat(*[a[k] * zs_[k] + (1 - a[k]) * yk[j] for k, j in enumerate(lagged)]) if nz else zs_
        self.F = ca.Function("F", [ca.vertcat(xs_, zs_), us_, ds_, ts_], [ca.vertcat(xk, zk)])
        self.f = f
        self.sigma = np.array([o.sigma for o in outputs], float)

    # ------------------------------------------------------------------
    def simulate(self, xa0: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Free run from ``xa0`` over the data's inputs; states at every node ``(N + 1, nxa)``."""
        N = self.data.n_intervals
        acc = self.F.mapaccum(N)
        xs = np.asarray(acc(xa0, self.data.u.T, self.data.d.T, np.tile(theta[:, None], (1, N))))
        return np.column_stack([np.asarray(xa0, float).reshape(-1, 1), xs]).T

    def predict(self, x_nodes: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """What the instruments read at every node, ``(N + 1, n_outputs)``."""
        u, d = self._node_inputs()
        hm = self.h.map(len(x_nodes))
        return np.asarray(hm(x_nodes.T, u.T, d.T, np.tile(theta[:, None], (1, len(x_nodes))))).T

    def _node_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        u = np.vstack([self.data.u, self.data.u[-1:]])
        d = np.vstack([self.data.d, self.data.d[-1:]])
        return u, d

    def augment(self, x0: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Model state plus sensor-lag states at their steady value."""
        y = np.asarray(self.y_fn(x0, self.data.u[0], self.data.d[0], theta)).ravel()
        return np.concatenate([x0, y[self.lagged]])

    # ------------------------------------------------------------------
    def solve(self, x_guess: np.ndarray, *, max_iter: int = 200, hessian: str = "gauss-newton") -> Solution:
        """Solve the NLP from the node guess ``x_guess`` ``(N + 1, nxa)`` and nominal parameters.

        ``hessian``: ``"gauss-newton"`` (``J^T J``, no second derivatives of the model: cheap per
        iteration, fast when the residuals are small) or ``"exact"`` (CasADi's exact Hessian of the
        Lagrangian: for large residuals, where Gauss-Newton can oscillate without converging,
        Nocedal & Wright 2006, sec. 10.3; IPOPT may then also stop at its acceptable level, 1e-3 for
        10 iterations, since such problems are flat at the optimum).
        """
        if hessian not in HESSIANS:
            raise CalibrationError(f"--hessian {hessian!r}: expected one of {', '.join(HESSIANS)}")
        import casadi as ca

        data = self.data
        N = data.n_intervals
        nxa, npar = self.nxa, self.np
        nom = np.array([s.nominal for s in self.specs])
        xscale = np.maximum(np.max(np.abs(x_guess), axis=0), 1e-9)
        w = ca.MX.sym("w", npar + nxa * (N + 1))
        th = w[:npar] * nom
        Xs = ca.reshape(w[npar:], nxa, N + 1)
        X = Xs * ca.repmat(ca.DM(xscale), 1, N + 1)
        # One call node per interval (not F.map): CasADi then colours the banded
        # constraint Jacobian and evaluates each interval's sensitivities once per colour.
        xn = ca.horzcat(*[self.F(X[:, k], ca.DM(data.u[k]), ca.DM(data.d[k]), th) for k in range(N)])
        cont = (xn - X[:, 1:]) / ca.repmat(ca.DM(xscale), 1, N)
        u, d = self._node_inputs()
        Y = self.h.map(N + 1)(X, u.T, d.T, ca.repmat(th, 1, N + 1))
        mask = np.isfinite(data.y)
        ymeas = np.where(mask, data.y, 0.0)
        wgt = mask / self.sigma[None, :]
        r = ca.vec((ca.DM(ymeas.T) - Y) * ca.DM(wgt.T))
        keep = np.flatnonzero(wgt.T.ravel(order="F") > 0)
        r = r[keep.tolist()]
        # Arrival cost: a weak prior on the initial node (PRIOR_REL of each state's scale)
        # so that initial states the outputs do not see stay where the guess put them.
        r = ca.vertcat(r, (Xs[:, 0] - ca.DM(x_guess[0] / xscale)) / PRIOR_REL)
        g = ca.vec(cont)
        f = 0.5 * ca.sumsqr(r)
        lbw = np.full(w.shape[0], -np.inf)
        ubw = np.full(w.shape[0], np.inf)
        lbw[:npar] = [s.lower / s.nominal for s in self.specs]
        ubw[:npar] = [s.upper / s.nominal for s in self.specs]
        w0 = np.concatenate([np.ones(npar), (x_guess / xscale).ravel()])
        # Physical states are non-negative (film enthalpy relative to the room may dip below).
        lo_state = np.zeros(nxa)
        lo_state[self.layout.enthalpy] = -np.inf
        lbw[npar:] = np.tile(lo_state, N + 1)
        # Gauss-Newton Hessian of the Lagrangian: lam_f J^T J (no second derivatives
        # of the model; quadratic convergence for small residuals, see the docs).
        jac_r = ca.jacobian(r, w)
        lam_f = ca.MX.sym("lam_f")
        lam_g = ca.MX.sym("lam_g", g.shape[0])
        p_sym = ca.MX.sym("p", 0)
        hess = ca.Function("nlp_hess_l", [w, p_sym, lam_f, lam_g], [ca.triu(lam_f * (ca.mtimes(jac_r.T, jac_r) + _LM * ca.MX.eye(w.shape[0])))],
                           ["x", "p", "lam_f", "lam_g"], ["triu_hess_gamma_x_x"])
        opts: dict[str, Any] = {
            "hess_lag": hess,
            "print_time": False,
            "ipopt.max_iter": max_iter,
            "ipopt.tol": 1e-6,
            "ipopt.mu_strategy": "adaptive",
            "ipopt.sb": "yes",
            "ipopt.print_level": 5 if _DEBUG else 0,
        }
        if hessian == "exact":
            del opts["hess_lag"]
            opts.update({"ipopt.acceptable_tol": 1e-3, "ipopt.acceptable_iter": 10})
        solver = ca.nlpsol("calibration", "ipopt", {"x": w, "f": f, "g": g}, opts)
        t0 = time.perf_counter()
        sol = solver(x0=w0, lbx=lbw, ubx=ubw, lbg=0.0, ubg=0.0)
        solve_s = time.perf_counter() - t0
        stats = solver.stats()
        if _DEBUG:
            print({k: v for k, v in stats.items() if k.startswith("t_wall")})
        wopt = np.asarray(sol["x"]).ravel()
        cost = float(sol["f"]) - 0.5 * float(ca.sumsqr((wopt[npar:npar + nxa] - x_guess[0] / xscale) / PRIOR_REL))
        # Gauss-Newton covariance of the constrained problem.
        jr = ca.Function("jr", [w], [jac_r])
        jc = ca.Function("jc", [w], [ca.jacobian(g, w)])
        J = _to_scipy(jr(wopt))
        C = _to_scipy(jc(wopt))
        m = len(keep)  # measured residuals only (the prior adds information, not data)
        dof = npar + nxa
        s2 = 2.0 * cost / max(m - dof, 1)
        cov_s = _constrained_cov(J, C, npar)
        cov = s2 * cov_s * np.outer(nom, nom)
        return Solution(
            theta=wopt[:npar] * nom,
            x_nodes=wopt[npar:].reshape(N + 1, nxa) * xscale,
            cost=cost,
            success=bool(stats.get("success", False)),
            status=str(stats.get("return_status", "")),
            iterations=int(stats.get("iter_count", -1)),
            solve_s=solve_s,
            cov=cov,
            s2=s2,
            n_residuals=m,
            dof=dof,
        )


def _to_scipy(M: Any) -> Any:
    import scipy.sparse as sp

    if hasattr(M, "tocsc") and not hasattr(M, "sparsity"):
        return M.tocsc()
    sp_ = M.sparsity()
    rows, cols = sp_.get_triplet()
    vals = np.asarray(M.nonzeros(), float)
    return sp.csc_matrix((vals, (rows, cols)), shape=(M.size1(), M.size2()))


def _constrained_cov(J: Any, C: Any, npar: int) -> np.ndarray:
    """Parameter block of ``[I 0] K^-1 [I 0]^T``, ``K = [[J^T J, C^T], [C, 0]]`` (unit noise)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    H = (J.T @ J).tocsc()
    n = H.shape[0]
    diag = H.diagonal()
    ridge = np.zeros(n)
    ridge[npar:] = _RIDGE * max(float(diag.max()), 1.0)
    H = H + sp.diags(ridge)
    K = sp.bmat([[H, C.T], [C, None]], format="csc")
    rhs = np.zeros((K.shape[0], npar))
    rhs[:npar, :npar] = np.eye(npar)
    try:
        Z = splu(K).solve(rhs)
    except RuntimeError:
        return np.full((npar, npar), np.nan)
    cov = Z[:npar, :npar]
    cov = 0.5 * (cov + cov.T)
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return np.full((npar, npar), np.nan)
    return cov
