"""The dynamic optimal-control problem, built with do-mpc, in two configurations.

Objective (scaled variables): track the economic steady-state target
``(xt, ut)`` with the coat weight weighted by its specification, plus move
suppression (do-mpc ``rterm``) and a terminal penalty; soft constraints as
exact L1 penalties on slacks (do-mpc ``soft_constraint=True``), each measured
output corrected as the plant shows it (the zones' relative corrections
``out_gain`` and the biases ``out_bias``, :meth:`NmpcModel.biased_outputs`): every zone's
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
``"fatrop"``: the tuned problem solved by CasADi's ``fatrop`` interface (a
structure-exploiting interior point, Riccati-based linear algebra) on the same
NLP with its variables and constraints permuted into stage order (see
:class:`_StageOrderedFatrop`), and the tuned IPOPT from the same point whenever
fatrop fails (counted as for ``"sqp"``). Experimental: slower than ``"tuned"``
on this problem (``docs/nmpc.md``, "Solve speed").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel
from mpc.edge import stage_input_bounds
from mpc.scenario import OcpSettings

__all__ = ["HEATER_MARGIN", "DynamicOcp"]

HEATER_MARGIN = 0.01
"""How far inside the heaters' range the OCP keeps the PLC loops' heater powers, fraction of the maximum."""


class DynamicOcp:
    """do-mpc MPC of the scaled line model tracking the steady-state target."""

    def __init__(self, m: NmpcModel, cw_tol_frac: float, usl_residual: float, film_max_K: float,
                 u_lb_s: np.ndarray, u_ub_s: np.ndarray, s: OcpSettings) -> None:
        import do_mpc

        self.m, self.s = m, s
        L = m.layout
        self.speed_index = L.u_speed
        """The line speed's index among the inputs."""
        self.lqr = s.terminal_cost == "lqr"
        model = m.do_mpc_model(terminal_matrix=self.lqr)
        self.model = model
        mpc = do_mpc.controller.MPC(model)
        mpc.settings.n_horizon = s.n_horizon
        mpc.settings.t_step = s.t_step_s
        mpc.settings.store_full_solution = True
        mpc.settings.supress_ipopt_output()
        if s.config in ("tuned", "sqp", "fatrop"):  # OcpSettings admits these and "default"
            mpc.settings.collocation_deg = s.collocation_degree
        mpc.settings.collocation_ni = s.collocation_elements
        # the soft path constraints at every collocation point of every interval, the terminal state's included
        # (do-mpc's default checks each interval's start only: the fixed initial state and never the last one)
        mpc.settings.nl_cons_check_colloc_points = s.path_constraints == "collocation_points"
        xs, us = model.x["xs"], model.u["us"]
        tv = model.tvp
        y = model.aux["y"]
        ix = m.output_index
        cw = y[ix["coat_weight_die_kg_m2"]]
        # the line's states are tracked; the PLC loops' integrals (augmented model) are not: at the target they
        # settle where the tracked heater powers put them
        n = L.n_states
        self.track_terms = [
            (s.state_weight, xs[:n] - tv["xt"][:n]),
            (s.input_weight, us - tv["ut"]),
            (s.coat_weight_weight, (cw / tv["cw_target"] - 1.0) / cw_tol_frac),
            (s.speed_weight, us[L.u_speed] * m.u_scale[L.u_speed] / tv["speed_target"] - 1.0),
        ]
        """The stage cost as weighted sums of squares ``[(weight, residual), ...]``: do-mpc's ``lterm`` and the
        edge's Gauss-Newton Hessian (:mod:`controllers._export_ocp`) are both built from it."""
        track = self.track_terms[0][0] * ca.sumsqr(self.track_terms[0][1])
        for w, e in self.track_terms[1:]:
            track = track + w * ca.sumsqr(e)
        if self.lqr:
            dx = xs - tv["xt"]
            mterm = ca.bilin(tv["P_term"], dx, dx)
        else:
            mterm = s.terminal_weight * ca.sumsqr(xs[:n] - tv["xt"][:n])
        mpc.set_objective(lterm=track, mterm=mterm)
        mpc.set_rterm(us=np.full(m.n_v, s.move_weight))
        flammable = m.params.solvent.lel_vol_frac > 0
        yb = m.biased_outputs(y, tv["out_bias"], tv["out_gain"])  # the constrained outputs as the plant shows them
        for i, zone_y in enumerate(yb["zone"], start=1):
            if flammable:
                expr = zone_y / tv["lel_limit"] - s.lel_margin
            else:
                expr = zone_y / s.humidity_max_kg_kg - 1.0
            mpc.set_nl_cons(f"zone{i}_limit", expr, ub=0.0, soft_constraint=True, penalty_term_cons=s.soft_penalty)
        mpc.set_nl_cons("residual", yb["exit_residual_kg_kg"] / usl_residual - s.residual_frac_of_usl, ub=0.0,
                        soft_constraint=True, penalty_term_cons=s.soft_penalty)
        crit = ca.vertcat(*[y[ix[f"cell{j}_critical_rate_ratio"]] for j in range(1, L.n_cells + 1)])
        mpc.set_nl_cons("critical", crit - 1.0, ub=0.0, soft_constraint=True, penalty_term_cons=s.soft_penalty / 10)
        film = ca.vertcat(*[y[ix[f"cell{j}_film_temp_K"]] for j in range(1, L.n_cells + 1)])
        mpc.set_nl_cons("film", (film - (film_max_K - s.film_margin_K)) / 10.0, ub=0.0, soft_constraint=True,
                        penalty_term_cons=s.soft_penalty / 10)
        mpc.set_nl_cons("window", s.window_margin_min - y[ix["coating_window_margin"]], ub=0.0,
                        soft_constraint=True, penalty_term_cons=s.soft_penalty / 10)
        if m.loops is not None:  # the PLC's temperature loops: their heater outputs within the heaters' range, kept
            # HEATER_MARGIN inside it (the physics clips the heater at its limits: a kink IPOPT does not converge on)
            heater = model.aux["heater_W"] / m.params.dryer.heater_max_W
            mpc.set_nl_cons("heater_max", heater - (1.0 - HEATER_MARGIN), ub=0.0, soft_constraint=True,
                            penalty_term_cons=s.soft_penalty)
            mpc.set_nl_cons("heater_min", HEATER_MARGIN - heater, ub=0.0, soft_constraint=True,
                            penalty_term_cons=s.soft_penalty)
        mpc.bounds["lower", "_u", "us"] = u_lb_s
        mpc.bounds["upper", "_u", "us"] = u_ub_s
        self._tvp = mpc.get_tvp_template()
        self._tvp_values: dict[str, object] = {
            "est": m.nominal_estimate(),
            "xt": m.ocp_state(m.ss.x / m.x_scale),
            "ut": m.ocp_inputs(m.ss.u / m.u_scale, np.asarray(m.ss.x[L.air_temp], float)),
            "lel_limit": 0.25,
            "cw_target": m.recipe.coat_weight_kg_m2,
            "speed_target": np.full(s.n_horizon + 1, m.recipe.speed_m_s),
            "out_bias": np.zeros(m.n_bias),
            "out_gain": np.zeros(L.n_zones),
        }
        if self.lqr:
            self._tvp_values["P_term"] = s.terminal_weight * np.eye(m.n_aug)
            xa, va, e = ca.SX.sym("xa", m.n_aug), ca.SX.sym("va", m.n_v), ca.SX.sym("est", m.n_est)
            f = m.closed_loop(xa, va, e)[0]
            self._AB = ca.Function("ocp_AB", [xa, va, e], [ca.jacobian(f, xa), ca.jacobian(f, va)])
        mpc.set_tvp_fun(self._tvp_fun)
        tuned = s.config in ("tuned", "sqp", "fatrop")
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
        if tuned:  # do-mpc builds its solver (IPOPT on its NLP) with these options: built once, not twice
            mpc.settings.nlpsol_opts = {**mpc.settings.nlpsol_opts, **opts}
        mpc.setup()
        if s.config == "tuned" and s.retry_max_iter > 0:
            retry = {**opts, "ipopt.warm_start_init_point": "no", "ipopt.mu_init": 0.1,
                     "ipopt.mu_strategy": "adaptive", "ipopt.max_iter": s.retry_max_iter}
            nlp = mpc.nlp
            mpc.S = _IpoptRetry(mpc.S, lambda: ca.nlpsol("S_retry", "ipopt", nlp, retry))
        if s.config == "sqp":
            mpc.S = _SqpWithFallback(mpc.nlp, mpc.S)
        if s.config == "fatrop":
            mpc.S = _StageOrderedFatrop(mpc, mpc.S)
        self.mpc = mpc
        self._g_fun = ca.Function("ocp_g", [mpc.nlp["x"], mpc.nlp["p"]], [mpc.nlp["g"]])
        self.last_violation = 0.0
        self._solved = False
        self.u_lb_s, self.u_ub_s = u_lb_s.copy(), u_ub_s.copy()

    def _tvp_fun(self, t_now: float):
        v = self._tvp_values
        for k in range(self.s.n_horizon + 1):
            for name in ("est", "xt", "ut", "lel_limit", "cw_target", "out_bias", "out_gain",
                         *(("P_term",) if self.lqr else ())):
                self._tvp["_tvp", k, name] = v[name]
            self._tvp["_tvp", k, "speed_target"] = v["speed_target"][k]
        return self._tvp

    def set_parameters(self, **values: object) -> None:
        """Estimates, targets and schedule for the next solve (``speed_target`` per stage)."""
        self._tvp_values.update(values)

    def lqr_terminal(self, xt: np.ndarray, ut: np.ndarray, est: np.ndarray) -> np.ndarray:
        """The terminal cost matrix of ``terminal_cost = "lqr"``: the discrete Riccati solution of the model
        linearised at the target ``(xt, ut)`` (zero-order hold over ``t_step_s``) with the stage cost's weights
        (``state_weight`` on the line states, ``input_weight`` on the inputs; the loop states 1e-6)."""
        from scipy.linalg import expm, solve_discrete_are

        A, B = (np.asarray(a, float) for a in self._AB(xt, ut, est))
        nx, nv = A.shape[0], B.shape[1]
        M = np.zeros((nx + nv, nx + nv))
        M[:nx, :nx], M[:nx, nx:] = A, B
        E = expm(M * self.s.t_step_s)
        Ad, Bd = E[:nx, :nx], E[:nx, nx:]
        q = np.full(nx, 1e-6)
        q[: self.m.layout.n_states] += self.s.state_weight
        P = solve_discrete_are(Ad, Bd, np.diag(q), self.s.input_weight * np.eye(nv))
        return 0.5 * (P + P.T)

    def set_stage_bounds(self, u_prev_s: np.ndarray, rate_up_s: np.ndarray, rate_down_s: np.ndarray,
                         cap_s: np.ndarray) -> None:
        """Hard move limits on the executed move, cumulative limits on later moves, per-stage speed cap.

        ``rate_up_s`` / ``rate_down_s`` are the largest rise / fall of each scaled
        input in one NMPC step (exhaust may open fast but closes slowly).
        """
        mpc = self.mpc
        lo, hi = stage_input_bounds(u_prev_s, rate_up_s, rate_down_s, np.asarray(cap_s, float)[: self.s.n_horizon],
                                    self.u_lb_s, self.u_ub_s, self.m.layout.u_speed)
        for k in range(self.s.n_horizon):
            mpc._lb_opt_x["_u", k, 0] = lo[k]
            mpc._ub_opt_x["_u", k, 0] = hi[k]

    def stage_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The inputs' bounds per stage the next solve has, ``(lower, upper)``, each ``(n_horizon, n_v)``."""
        mpc, n = self.mpc, self.s.n_horizon
        lo = np.array([np.asarray(mpc._lb_opt_x["_u", k, 0], float).ravel() for k in range(n)])
        hi = np.array([np.asarray(mpc._ub_opt_x["_u", k, 0], float).ravel() for k in range(n)])
        return lo, hi

    def set_initial_guess(self, xs0: np.ndarray, us0: np.ndarray, *, reset_duals: bool = False) -> None:
        """Every stage at ``(xs0, us0)``; ``reset_duals`` also drops the last solution's multipliers.

        Used at the hand-back after a restart: the previous solution's multipliers belong to
        the line that ran before the stop (a precaution; the tuned problem warm-starts from them
        with a small initial barrier).
        """
        self.mpc.x0 = xs0
        self.mpc.u0 = us0
        self.mpc.set_initial_guess()
        if reset_duals and hasattr(self.mpc, "lam_x_num"):  # do-mpc keeps multipliers after its first solve only
            mpc = self.mpc
            mpc.lam_x_num = ca.DM.zeros(*ca.DM(mpc.lam_x_num).shape)
            mpc.lam_g_num = ca.DM.zeros(*ca.DM(mpc.lam_g_num).shape)

    def solve(self, xs0: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        """Solve from ``xs0``; return ``(first move, success, planned moves (n_horizon, nu))``.

        Success needs the solver's own flag *and* a primal check of the
        returned point (some solvers report success on failure).
        """
        mpc = self.mpc
        if self.s.warm_start == "shift" and self._solved:
            self._shift_warm_start()
        u0 = np.asarray(mpc.make_step(np.asarray(xs0, float))).ravel()
        self._solved = True
        ok = bool(mpc.solver_stats.get("success", False))
        g = np.asarray(self._g_fun(mpc.opt_x_num.cat, mpc.opt_p_num.cat)).ravel()
        lb = np.asarray(mpc.nlp_cons_lb).ravel()
        ub = np.asarray(mpc.nlp_cons_ub).ravel()
        viol = float(np.max(np.r_[0.0, lb - g, g - ub]))
        plan = np.array([np.asarray(mpc.opt_x_num["_u", k, 0]).ravel() for k in range(self.s.n_horizon)])
        finite = bool(np.all(np.isfinite(u0)) and np.all(np.isfinite(plan)))
        self.last_violation = viol
        return u0, ok and finite and viol <= 1e-4, plan

    def _shift_warm_start(self) -> None:
        """Move every stage's primal values of the last solution one stage earlier, the last stage repeated
        (``[controllers.nmpc.ocp] warm_start = "shift"``); the multipliers stay as they are."""
        x = self.mpc.opt_x_num
        n = self.s.n_horizon
        for k in range(n):
            for j in range(len(x["_x", k, 0])):
                x["_x", k, 0, j] = x["_x", k + 1, 0, j]
        for name in ("_u", "_eps"):
            for k in range(n - 1):
                x[name, k, 0] = x[name, k + 1, 0]

    @property
    def fallbacks(self) -> int:
        """Solves the first solver did not finish and handed on: ``"sqp"`` or ``"fatrop"`` to IPOPT, ``"tuned"`` to its
        retry, whether that converged or not (0 otherwise)."""
        return getattr(self.mpc.S, "fallbacks", 0)


def _vec(v: object) -> np.ndarray:
    return np.asarray(ca.DM(v.cat if hasattr(v, "cat") else v), float).ravel()


class _IpoptFallback:
    """Base of the solver objects put in ``mpc.S``'s place: the tuned IPOPT solves when they fail."""

    ipopt: Any
    fallbacks: int
    _stats: dict

    def _ipopt_fallback(self, kw: dict) -> dict:
        self.fallbacks += 1
        r = self.ipopt(**kw)
        self._stats = dict(self.ipopt.stats())
        self._stats["fallback"] = 1
        return r

    def stats(self) -> dict:
        return self._stats


class _IpoptRetry(_IpoptFallback):
    """The tuned IPOPT, and when it fails a second IPOPT from the same primal point without its warm start.

    The tuned solver starts from the last solution with its multipliers and a small barrier
    parameter (``mu_init`` 1e-5): fast while the active set stays, but when it changes much
    (exhausts reaching their limit while the LEL limit binds and the speed must give way) it
    can run out of its 80 iterations. The retry starts afresh from the same point (barrier 0.1,
    adaptive), up to ``[controllers.nmpc.ocp] retry_max_iter`` iterations; counted in
    :attr:`fallbacks` (``docs/nmpc.md``, "Where speed gives way").
    """

    def __init__(self, tuned: ca.Function, make_ipopt: Callable[[], ca.Function]) -> None:
        self.tuned = tuned
        self._make_ipopt = make_ipopt
        self._ipopt: ca.Function | None = None
        self.fallbacks = 0
        self._stats = {}

    @property
    def ipopt(self) -> ca.Function:  # type: ignore[override]
        """The retry's IPOPT, built when first needed (most runs never retry; it took 0.4-0.56 s a reset)."""
        if self._ipopt is None:
            self._ipopt = self._make_ipopt()
        return self._ipopt

    def __call__(self, **kw: object) -> dict:
        r = self.tuned(**kw)
        self._stats = dict(self.tuned.stats())
        if bool(self._stats.get("success", False)):
            return r
        return self._ipopt_fallback({k: v for k, v in kw.items() if k not in ("lam_x0", "lam_g0")})


class _SqpWithFallback(_IpoptFallback):
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
        return self._ipopt_fallback(kw)


class _StageOrderedFatrop(_IpoptFallback):
    """CasADi's ``fatrop`` on do-mpc's NLP in stage order, IPOPT from the same point when it fails.

    fatrop needs the NLP as an optimal-control problem: variables ordered stage by stage,
    ``(x_k, u_k)``, with ``nx[k+1]`` "gap" rows ``x_{k+1} - F(x_k, u_k) = 0`` (coefficient
    exactly +1 on ``x_{k+1}``) followed by the stage's own constraints, and a Lagrangian
    Hessian that is block diagonal by stage (entries outside the blocks are dropped, not
    rejected). do-mpc's NLP orders its variables by kind (all states, all inputs, all
    slacks), so this object solves an equivalent NLP built from do-mpc's ``f`` and ``g``:

    * stage ``k < N``: states ``x_k`` (do-mpc's ``_x[k, 0, -1]``) and, for ``1 <= k < N``,
      ``v_k``, a copy of ``u_{k-1}``; "controls" ``u_k``, the slacks ``eps_k`` and the
      interval's collocation points ``_x[k+1, 0, :-1]`` (the last of them the interval's
      end state); stage ``N``: ``x_N``.
    * rows of stage ``k``: the gap ``x_{k+1} - (end state of interval k)`` (do-mpc's
      continuity row with its sign flipped) and ``v_{k+1} - u_k``; then the initial
      condition (stage 0), the collocation equations and the soft path constraints.
    * objective: do-mpc's, with each move-suppression term ``r (u_k - u_{k-1})^2`` replaced
      by ``r (u_k - v_k)^2`` (it couples two stages; the copy ``v_k`` makes the Hessian
      block diagonal). Equal to do-mpc's objective wherever ``v_k = u_{k-1}``, which the
      gap rows enforce; the other multipliers are those of do-mpc's NLP.
    * dropped: the first stage's collocation points, which appear in neither ``f`` nor ``g``
      (returned unchanged from the initial guess).

    Only the primal point warm-starts fatrop (CasADi's interface passes no multipliers).
    A solve counts as fatrop's only with its success flag *and* a primal check of the
    result on do-mpc's own NLP (``primal_tol``); otherwise the tuned IPOPT solves again
    from do-mpc's point (counted in :attr:`fallbacks`).
    """

    DEFAULT_OPTIONS: ClassVar[dict[str, float]] = {"mu_init": 1e-5, "tol": 1e-6, "max_iter": 80, "bound_push": 1e-8, "bound_frac": 1e-8}

    def __init__(self, mpc, ipopt: ca.Function, *, fatrop_options: dict | None = None,
                 primal_tol: float = 1e-6) -> None:
        st = mpc.settings
        if (mpc.model.n_z or st.n_robust or st.state_discretization != "collocation"
                or st.nl_cons_check_colloc_points or st.nl_cons_single_slack or mpc.flags["rterm_fun"]):
            raise ValueError("the stage-ordered fatrop problem supports do-mpc's collocation NLP without algebraic "
                             "states, scenarios, per-point path constraints, a single slack or a custom rterm")
        nlp = mpc.nlp
        x, p = nlp["x"], nlp["p"]
        n, n_g = x.shape[0], nlp["g"].shape[0]
        N, nx, nu = st.n_horizon, mpc.model.n_x, mpc.model.n_u
        n_coll = (st.collocation_deg + 1) * st.collocation_ni
        n_nl = mpc._nl_cons_fun.size1_out(0)
        if n_g != nx + N * ((n_coll + 1) * nx + n_nl):
            raise ValueError(f"unexpected do-mpc constraint layout: {n_g} rows")
        num = mpc.opt_x(ca.DM(np.arange(n)))

        def ix(*key: object) -> np.ndarray:
            return np.asarray(num[key], float).ravel().astype(int)

        # the stage-ordered variables: do-mpc variables by index, copies v_k as -1 - (k - 1)
        order: list[int] = []
        v_at: list[np.ndarray] = []
        nxs, nus, ngs = [], [], []
        for k in range(N + 1):
            order += list(ix("_x", k, 0, n_coll))
            if 1 <= k < N:
                v_at.append(np.arange(len(order), len(order) + nu))
                order += [-1] * nu
            nxs.append(nx + (nu if 1 <= k < N else 0))
            if k < N:
                ctrl = [ix("_u", k, 0), ix("_eps", k, 0)] + [ix("_x", k + 1, 0, j) for j in range(n_coll)]
                order += list(np.concatenate(ctrl))
                nus.append(sum(c.size for c in ctrl))
            else:
                nus.append(0)
        order_a = np.array(order)
        n_w = order_a.size
        placed = order_a >= 0
        self.w_of_x = np.full(n, -1)
        self.w_of_x[order_a[placed]] = np.flatnonzero(placed)
        used = np.zeros(n, bool)
        used[ca.jacobian(nlp["g"], x).sparsity().get_triplet()[1]] = True
        used[ca.jacobian(nlp["f"], x).sparsity().get_triplet()[1]] = True
        if np.any(used & (self.w_of_x < 0)) or len(set(order_a[placed])) != placed.sum():
            raise ValueError("the stage order misses or repeats a variable of do-mpc's NLP")
        self.placed = self.w_of_x >= 0
        # the u_{k-1} that each copy v_k stands for, k = 1..N-1
        self.v_pos = np.concatenate(v_at) if v_at else np.zeros(0, int)
        self.v_src = np.concatenate([ix("_u", k - 1, 0) for k in range(1, N)]) if N > 1 else np.zeros(0, int)

        w = ca.SX.sym("w", n_w)
        x_of_w = ca.vertcat(*[w[int(self.w_of_x[i])] if self.placed[i] else ca.SX(0) for i in range(n)])
        f_do, g_do = ca.Function("dompc_fg", [x, p], [nlp["f"], nlp["g"]])(x_of_w, p)
        r = np.asarray(ca.DM(mpc.rterm_factor.cat), float).ravel()
        v_all = w[self.v_pos] if self.v_pos.size else ca.SX(0, 1)
        f_w = f_do
        for k in range(1, N):
            u_k, u_km = x_of_w[ix("_u", k, 0)], x_of_w[ix("_u", k - 1, 0)]
            v_k = v_all[(k - 1) * nu:k * nu]
            f_w += ca.dot(r, (u_k - v_k) ** 2) - ca.dot(r, (u_k - u_km) ** 2)
        # do-mpc's rows: x0 (nx), then per interval: collocation (n_coll * nx), continuity, path (n_nl)
        src, sign, parts = [], [], []
        for k in range(N):
            b = nx + k * ((n_coll + 1) * nx + n_nl)
            coll = np.arange(b, b + n_coll * nx)
            cont = np.arange(b + n_coll * nx, b + (n_coll + 1) * nx)
            path = np.arange(b + (n_coll + 1) * nx, b + (n_coll + 1) * nx + n_nl)
            parts.append(-g_do[cont])
            src += list(cont)
            sign += [-1.0] * nx
            if k + 1 < N:
                parts.append(v_all[k * nu:(k + 1) * nu] - x_of_w[ix("_u", k, 0)])
                src += [-1] * nu
                sign += [0.0] * nu
            own = np.r_[np.arange(nx), coll, path] if k == 0 else np.r_[coll, path]
            parts.append(g_do[own])
            src += list(own)
            sign += [1.0] * own.size
            ngs.append(own.size)
        ngs.append(0)
        self.g_src, self.g_sign = np.array(src), np.array(sign)
        self.g_rows = self.g_src >= 0
        self.stage = {"N": N, "nx": nxs, "nu": nus, "ng": ngs}
        self.nlp_w = {"x": w, "p": p, "f": f_w, "g": ca.vertcat(*parts)}
        fopts = dict(self.DEFAULT_OPTIONS, print_level=0)
        fopts.update(fatrop_options or {})
        self.fatrop = ca.nlpsol("S_fatrop", "fatrop", self.nlp_w, {
            "structure_detection": "manual", **self.stage, "fatrop": fopts,
            "print_time": False, "error_on_fail": False,
        })
        self._g_fun = ca.Function("dompc_g", [x, p], [nlp["g"]])
        self.ipopt = ipopt
        self.primal_tol = primal_tol
        self.fallbacks = 0
        self.iterations = 0
        self.status = ""
        self._stats: dict = {}

    def to_stage_order(self, x_do: np.ndarray) -> np.ndarray:
        """do-mpc's variable vector in stage order (``v_k = u_{k-1}``)."""
        w = np.zeros(self.nlp_w["x"].shape[0])
        w[self.w_of_x[self.placed]] = x_do[self.placed]
        w[self.v_pos] = x_do[self.v_src]
        return w

    def __call__(self, **kw: object) -> dict:
        a = {k: _vec(v) for k, v in kw.items()}
        n_w = self.nlp_w["x"].shape[0]
        lbw, ubw = np.full(n_w, -np.inf), np.full(n_w, np.inf)
        lbw[self.w_of_x[self.placed]] = a["lbx"][self.placed]
        ubw[self.w_of_x[self.placed]] = a["ubx"][self.placed]
        rows, s = self.g_src[self.g_rows], self.g_sign[self.g_rows]
        lbg_w, ubg_w = np.zeros(self.g_src.size), np.zeros(self.g_src.size)
        lbg_w[self.g_rows] = np.where(s > 0, a["lbg"][rows], -a["ubg"][rows])
        ubg_w[self.g_rows] = np.where(s > 0, a["ubg"][rows], -a["lbg"][rows])
        r = self.fatrop(x0=self.to_stage_order(a["x0"]), lbx=lbw, ubx=ubw, lbg=lbg_w, ubg=ubg_w, p=a["p"])
        st = self.fatrop.stats()
        self.iterations = int(st.get("iter_count", -1))
        self.status = str(st.get("return_status", ""))
        xw = _vec(r["x"])
        xr = a["x0"].copy()
        xr[self.placed] = xw[self.w_of_x[self.placed]]
        gr = np.asarray(self._g_fun(xr, a["p"]), float).ravel()
        viol = float(np.max(np.r_[0.0, a["lbx"] - xr, xr - a["ubx"], a["lbg"] - gr, gr - a["ubg"]]))
        lam_gw, lam_xw = _vec(r["lam_g"]), _vec(r["lam_x"])
        finite = bool(np.all(np.isfinite(xw)) and np.all(np.isfinite(lam_gw)))
        if bool(st.get("success", False)) and finite and viol <= self.primal_tol:
            lam_g = np.zeros(gr.size)
            lam_g[rows] = s * lam_gw[self.g_rows]
            lam_x = np.zeros(xr.size)
            lam_x[self.placed] = lam_xw[self.w_of_x[self.placed]]
            self._stats = {"success": True, "iter_count": self.iterations, "fallback": 0,
                           "return_status": self.status}
            return {"x": ca.DM(xr), "g": ca.DM(gr), "lam_g": ca.DM(lam_g), "lam_x": ca.DM(lam_x), "f": r["f"]}
        return self._ipopt_fallback(kw)
