"""The dynamic optimal-control problem, built with do-mpc, in two configurations.

Objective (scaled variables): track the economic steady-state target
``(xt, ut)`` with the coat weight weighted by its specification, plus move
suppression (do-mpc ``rterm``) and a terminal penalty; soft constraints as
exact L1 penalties on slacks (do-mpc ``soft_constraint=True``): every zone's
LEL fraction under a margin of the limit in force (or exhaust humidity for
water), exit residual under its USL margin, per-cell critical-stage drying
rate under its limit, per-cell film temperature under its maximum, the
coating-window (low-flow) margin. Hard input bounds, and hard move limits on
the executed move set per step through do-mpc's bounds on the first stage
(:meth:`DynamicOcp.set_stage_bounds`).

``"default"``: do-mpc's defaults on the same continuous model (orthogonal
collocation of degree 2 on one finite element per step, IPOPT with MUMPS),
output suppressed, nothing else changed. ``"tuned"``: Radau collocation of
degree 1 (implicit Euler, L-stable for the stiff film-temperature modes and
a third of the variables), IPOPT warm-started from the previous solution's
primal and dual values with a small initial barrier parameter, and MUMPS's
own scaling and permutation scaling off (the model is scaled already; they
cost a quarter of the solve time). ``"sqp"``: the tuned problem (same
discretisation and NLP) solved by CasADi's ``sqpmethod`` with the ``qrqp``
active-set QP solver (the objective's Hessian, a Gauss-Newton-type
approximation: the exact Lagrangian Hessian is indefinite; warm-started from
the previous primal-dual solution; the collocation's unused variables fixed
through their bounds), and the tuned IPOPT from the same point whenever the
SQP fails (counted in :attr:`DynamicOcp.fallbacks`). Experimental: on this
problem it is slower than ``"tuned"`` (``docs/nmpc.md``, "Solve speed").
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel

__all__ = ["DynamicOcp", "OcpSettings"]


@dataclass(frozen=True)
class OcpSettings:
    """Settings of the dynamic problem (each a documented default)."""

    t_step_s: float = 20.0
    """NMPC step, s (the harness interval must divide it)."""
    n_horizon: int = 6
    """Steps in the horizon; 6 x 20 s = 120 s covers the 96 s residence at nominal speed."""
    config: str = "tuned"
    """``"tuned"``, ``"default"`` or ``"sqp"`` (experimental; see the module docstring)."""
    lel_margin: float = 0.9
    residual_frac_of_usl: float = 0.8
    humidity_max_kg_kg: float = 0.09
    film_margin_K: float = 2.0
    window_margin_min: float = 1.05
    state_weight: float = 0.1
    input_weight: float = 1.0
    speed_weight: float = 1e4
    """Weight on (v / v_target - 1)^2: speed stays at the plan unless a constraint needs it lower."""
    coat_weight_weight: float = 10.0
    terminal_weight: float = 10.0
    move_weight: float = 0.5
    soft_penalty: float = 1e3
    exhaust_close_rate_m3_s2: float = 0.01
    """Largest exhaust reduction per second (dampers close slowly: LEL rises within seconds)."""


class DynamicOcp:
    """do-mpc MPC of the scaled line model tracking the steady-state target."""

    def __init__(self, m: NmpcModel, cw_tol_frac: float, usl_residual: float, film_max_K: float,
                 u_lb_s: np.ndarray, u_ub_s: np.ndarray, s: OcpSettings) -> None:
        import do_mpc

        self.m, self.s = m, s
        L = m.layout
        model = m.do_mpc_model()
        self.model = model
        mpc = do_mpc.controller.MPC(model)
        mpc.settings.n_horizon = s.n_horizon
        mpc.settings.t_step = s.t_step_s
        mpc.settings.store_full_solution = True
        mpc.settings.supress_ipopt_output()
        if s.config in ("tuned", "sqp"):
            mpc.settings.collocation_deg = 1
        elif s.config != "default":
            raise ValueError(f"OcpSettings.config = {s.config!r}: expected 'tuned', 'default' or 'sqp'")
        xs, us = model.x["xs"], model.u["us"]
        tv = model.tvp
        y = model.aux["y"]
        ix = m.output_index
        cw = y[ix["coat_weight_die_kg_m2"]]
        track = (
            s.state_weight * ca.sumsqr(xs - tv["xt"])
            + s.input_weight * ca.sumsqr(us - tv["ut"])
            + s.coat_weight_weight * ((cw / tv["cw_target"] - 1.0) / cw_tol_frac) ** 2
            + s.speed_weight * (us[L.u_speed] * m.u_scale[L.u_speed] / tv["speed_target"] - 1.0) ** 2
        )
        mpc.set_objective(lterm=track, mterm=s.terminal_weight * ca.sumsqr(xs - tv["xt"]))
        mpc.set_rterm(us=np.full(L.n_inputs, s.move_weight))
        flammable = m.params.solvent.lel_vol_frac > 0
        for i in range(1, L.n_zones + 1):
            if flammable:
                expr = (y[ix[f"zone{i}_lel_frac"]] + tv["lel_bias"][i - 1]) / tv["lel_limit"] - s.lel_margin
            else:
                expr = y[ix[f"zone{i}_humidity_ratio_kg_kg"]] / s.humidity_max_kg_kg - 1.0
            mpc.set_nl_cons(f"zone{i}_limit", expr, ub=0.0, soft_constraint=True, penalty_term_cons=s.soft_penalty)
        mpc.set_nl_cons("residual", y[ix["exit_residual_kg_kg"]] / usl_residual - s.residual_frac_of_usl, ub=0.0,
                        soft_constraint=True, penalty_term_cons=s.soft_penalty)
        crit = ca.vertcat(*[y[ix[f"cell{j}_critical_rate_ratio"]] for j in range(1, L.n_cells + 1)])
        mpc.set_nl_cons("critical", crit - 1.0, ub=0.0, soft_constraint=True, penalty_term_cons=s.soft_penalty / 10)
        film = ca.vertcat(*[y[ix[f"cell{j}_film_temp_K"]] for j in range(1, L.n_cells + 1)])
        mpc.set_nl_cons("film", (film - (film_max_K - s.film_margin_K)) / 10.0, ub=0.0, soft_constraint=True,
                        penalty_term_cons=s.soft_penalty / 10)
        mpc.set_nl_cons("window", s.window_margin_min - y[ix["coating_window_margin"]], ub=0.0,
                        soft_constraint=True, penalty_term_cons=s.soft_penalty / 10)
        mpc.bounds["lower", "_u", "us"] = u_lb_s
        mpc.bounds["upper", "_u", "us"] = u_ub_s
        self._tvp = mpc.get_tvp_template()
        self._tvp_values: dict[str, object] = {
            "est": m.nominal_estimate(),
            "xt": m.ss.x / m.x_scale,
            "ut": m.ss.u / m.u_scale,
            "lel_limit": 0.25,
            "cw_target": m.recipe.coat_weight_kg_m2,
            "speed_target": np.full(s.n_horizon + 1, m.recipe.speed_m_s),
            "lel_bias": np.zeros(L.n_zones),
        }
        mpc.set_tvp_fun(self._tvp_fun)
        mpc.setup()
        if s.config in ("tuned", "sqp"):
            opts = {
                "ipopt.print_level": 0,
                "ipopt.sb": "yes",
                "print_time": False,
                "ipopt.warm_start_init_point": "yes",
                "ipopt.warm_start_bound_push": 1e-6,
                "ipopt.warm_start_mult_bound_push": 1e-6,
                "ipopt.mu_init": 1e-5,
                "ipopt.tol": 1e-6,
                "ipopt.acceptable_tol": 1e-4,
                "ipopt.max_iter": 80,
                # the model is scaled already; MUMPS's own scaling costs a quarter of the solve
                "ipopt.mumps_permuting_scaling": 0,
                "ipopt.mumps_scaling": 0,
            }
            mpc.S = ca.nlpsol("S", "ipopt", mpc.nlp, opts)
        if s.config == "sqp":
            mpc.S = _SqpWithFallback(mpc.nlp, mpc.S)
        self.mpc = mpc
        self._g_fun = ca.Function("ocp_g", [mpc.nlp["x"], mpc.nlp["p"]], [mpc.nlp["g"]])
        self.last_violation = 0.0
        self.u_lb_s, self.u_ub_s = u_lb_s.copy(), u_ub_s.copy()

    def _tvp_fun(self, t_now: float):
        v = self._tvp_values
        for k in range(self.s.n_horizon + 1):
            for name in ("est", "xt", "ut", "lel_limit", "cw_target", "lel_bias"):
                self._tvp["_tvp", k, name] = v[name]
            self._tvp["_tvp", k, "speed_target"] = v["speed_target"][k]
        return self._tvp

    def set_parameters(self, **values: object) -> None:
        """Estimates, targets and schedule for the next solve (``speed_target`` per stage)."""
        self._tvp_values.update(values)

    def set_stage_bounds(self, u_prev_s: np.ndarray, rate_up_s: np.ndarray, rate_down_s: np.ndarray,
                         cap_s: np.ndarray) -> None:
        """Hard move limits on the executed move, cumulative limits on later moves, per-stage speed cap.

        ``rate_up_s`` / ``rate_down_s`` are the largest rise / fall of each scaled
        input in one NMPC step (exhaust may open fast but closes slowly).
        """
        mpc = self.mpc
        L = self.m.layout
        for k in range(self.s.n_horizon):
            lo = np.maximum(self.u_lb_s, u_prev_s - (k + 1) * rate_down_s)
            hi = np.minimum(self.u_ub_s, u_prev_s + (k + 1) * rate_up_s)
            hi[L.u_speed] = min(hi[L.u_speed], cap_s[k])
            lo = np.minimum(lo, hi)
            mpc._lb_opt_x["_u", k, 0] = lo
            mpc._ub_opt_x["_u", k, 0] = hi

    def set_initial_guess(self, xs0: np.ndarray, us0: np.ndarray, *, reset_duals: bool = False) -> None:
        """Every stage at ``(xs0, us0)``; ``reset_duals`` also drops the last solution's multipliers.

        Used at the hand-back after a restart: the previous solution's multipliers belong to
        the line that ran before the stop (a precaution; the tuned problem warm-starts from them
        with a small initial barrier).
        """
        self.mpc.x0 = xs0
        self.mpc.u0 = us0
        self.mpc.set_initial_guess()
        if reset_duals:
            mpc = self.mpc
            mpc.lam_x_num = ca.DM.zeros(*ca.DM(mpc.lam_x_num).shape)
            mpc.lam_g_num = ca.DM.zeros(*ca.DM(mpc.lam_g_num).shape)

    def solve(self, xs0: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        """Solve from ``xs0``; return ``(first move, success, planned moves (n_horizon, nu))``.

        Success needs the solver's own flag *and* a primal check of the
        returned point (some solvers report success on failure).
        """
        mpc = self.mpc
        u0 = np.asarray(mpc.make_step(np.asarray(xs0, float))).ravel()
        ok = bool(mpc.solver_stats.get("success", False))
        g = np.asarray(self._g_fun(mpc.opt_x_num.cat, mpc.opt_p_num.cat)).ravel()
        lb = np.asarray(mpc.nlp_cons_lb).ravel()
        ub = np.asarray(mpc.nlp_cons_ub).ravel()
        viol = float(np.max(np.r_[0.0, lb - g, g - ub]))
        plan = np.array([np.asarray(mpc.opt_x_num["_u", k, 0]).ravel() for k in range(self.s.n_horizon)])
        finite = bool(np.all(np.isfinite(u0)) and np.all(np.isfinite(plan)))
        self.last_violation = viol
        return u0, ok and finite and viol <= 1e-4, plan

    @property
    def fallbacks(self) -> int:
        """Solves of the ``"sqp"`` configuration that IPOPT had to finish (0 otherwise)."""
        return getattr(self.mpc.S, "fallbacks", 0)


def _vec(v: object) -> np.ndarray:
    return np.asarray(ca.DM(v.cat if hasattr(v, "cat") else v), float).ravel()


class _SqpWithFallback:
    """``sqpmethod`` + ``qrqp`` in place of do-mpc's solver, IPOPT from the same point when it fails.

    do-mpc calls ``S(x0, lbx, ubx, lbg, ubg, p[, lam_x0, lam_g0])`` and ``S.stats()``; this
    object answers both. Variables that appear in neither the objective nor the constraints
    (collocation leaves the first stage's start points unused) are fixed at zero through their
    bounds: ``qrqp`` would otherwise meet a singular KKT system. Multipliers under
    ``lam_tol`` in magnitude on inequalities and bounds are dropped from the warm start (an
    interior point's multipliers are never exactly zero, and ``qrqp`` reads a nonzero
    multiplier as an active constraint). A solve counts as an SQP success only with the
    solver's flag *and* a primal check of its result (``primal_tol``).
    """

    def __init__(self, nlp: dict, ipopt: ca.Function, *, max_iter: int = 10, qp_max_iter: int = 100,
                 hess_reg: float = 1e-6, lam_tol: float = 1e-6, primal_tol: float = 1e-6) -> None:
        x = nlp["x"]
        used = np.zeros(x.shape[0], bool)
        used[ca.jacobian(nlp["g"], x).sparsity().get_triplet()[1]] = True
        used[ca.jacobian(nlp["f"], x).sparsity().get_triplet()[1]] = True
        self.unused = ~used
        # the objective's Hessian only (plus hess_reg * I): positive semidefinite here (sums of
        # squares, linear slack penalties), so qrqp's QPs are convex; the constraints' curvature
        # makes the exact Lagrangian Hessian indefinite (qrqp then returns a zero step, and
        # sqpmethod's convexification either fails or takes steps too short to converge)
        lam_f = type(x).sym("lam_f")
        lam_g = type(x).sym("lam_g", nlp["g"].shape[0])
        hf, _ = ca.hessian(nlp["f"], x)
        hess = ca.Function("hess_lag", [x, nlp["p"], lam_f, lam_g], [lam_f * hf + hess_reg * ca.DM.eye(x.shape[0])],
                           ["x", "p", "lam:f", "lam:g"], ["hess:gamma:x:x"])
        qp_opts = {"print_iter": False, "print_header": False, "print_info": False,
                   "max_iter": qp_max_iter, "error_on_fail": False}
        self.sqp = ca.nlpsol("S_sqp", "sqpmethod", nlp, {
            "qpsol": "qrqp", "qpsol_options": qp_opts, "max_iter": max_iter, "hess_lag": hess,
            "tol_pr": 1e-6, "tol_du": 1e-6, "print_header": False, "print_iteration": False,
            "print_status": False, "print_time": False, "error_on_fail": False,
        })
        self.ipopt = ipopt
        self.lam_tol, self.primal_tol = lam_tol, primal_tol
        self.fallbacks = 0
        self.sqp_iterations = 0
        self.sqp_status = ""
        self._stats: dict = {}

    def __call__(self, **kw: object) -> dict:
        a = {k: _vec(v) for k, v in kw.items()}
        fixed = self.unused
        q = dict(a)
        q["x0"] = np.where(fixed, 0.0, a["x0"])
        q["lbx"] = np.where(fixed, 0.0, a["lbx"])
        q["ubx"] = np.where(fixed, 0.0, a["ubx"])
        if "lam_x0" in a:
            q["lam_x0"] = np.where(fixed | (np.abs(a["lam_x0"]) < self.lam_tol), 0.0, a["lam_x0"])
            eq = a["lbg"] == a["ubg"]
            q["lam_g0"] = np.where(~eq & (np.abs(a["lam_g0"]) < self.lam_tol), 0.0, a["lam_g0"])
        r = self.sqp(**q)
        try:
            st = self.sqp.stats()
        except RuntimeError:  # CasADi 3.8 cannot name some of sqpmethod's return codes
            st = {"success": False, "return_status": "unnamed", "iter_count": -1}
        self.sqp_iterations = int(st.get("iter_count", -1))
        self.sqp_status = str(st.get("return_status", ""))
        xr, gr = _vec(r["x"]), _vec(r["g"])
        viol = float(np.max(np.r_[0.0, a["lbx"] - xr, xr - a["ubx"], a["lbg"] - gr, gr - a["ubg"]]))
        finite = bool(np.all(np.isfinite(xr)) and np.all(np.isfinite(_vec(r["lam_g"]))))
        if bool(st.get("success", False)) and finite and viol <= self.primal_tol:
            self._stats = {"success": True, "iter_count": self.sqp_iterations, "fallback": 0,
                           "return_status": st.get("return_status", "")}
            return r
        self.fallbacks += 1
        r = self.ipopt(**kw)
        self._stats = dict(self.ipopt.stats())
        self._stats["fallback"] = 1
        return r

    def stats(self) -> dict:
        return self._stats
