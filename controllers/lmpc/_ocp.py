"""The lmpc's dynamic problem: do-mpc on the identified discrete-time model.

States are the identified model's (scaled); the output disturbance ``d`` of
the offset-free estimator, the steady-state target ``(xt, ut)`` and the
output limits enter as time-varying parameters. Objective: track the target
(the coat weight weighted by its tolerance), move suppression (do-mpc
``rterm``), terminal penalty; soft (exact L1) upper limits on the zone LEL or
humidity, the exit residual, the exit film temperature and every zone's air
temperature (under the film's limit: a dry film heats to the air), every temperature
loop's heater power within the heaters' range (upper and lower), and a band of half
the coat-weight tolerance around its target (penalised ten times harder, so
the plan does not trade coat weight for residual); hard input bounds, hard move
limits and the per-stage speed cap of the announced schedule on the input bounds
of each stage (:func:`mpc.edge.stage_input_bounds`, as in the NMPC); the pump
ratio station's set point within a trim of the lot's pump-to-speed ratio is
part of those bounds (the controller's :meth:`LmpcController._limits`).

The problem is a QP; ``calmline export --controller lmpc`` exports it as it stands
(:mod:`controllers._export_ocp`): the stage cost is :attr:`LinearOcp.track_terms`,
and no constraint is hard but the bounds (the edge QP's general constraints are
soft).
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from controllers.lmpc._modelfile import LineModelFile
from controllers.lmpc._target import rows_of
from mpc.edge import stage_input_bounds

__all__ = ["LinearOcp"]


@dataclass(frozen=True)
class _Weights:
    state: float
    input: float
    coat_weight: float
    terminal: float
    move: float
    soft_penalty: float


class LinearOcp:
    """do-mpc MPC of the identified model tracking the linear target."""

    def __init__(self, mdl: LineModelFile, n_horizon: int, cw_tol_frac: float, w: _Weights,
                 u_lb_s: np.ndarray, u_ub_s: np.ndarray, heater_range_W: tuple[float, float], *,
                 solver: str = "tuned") -> None:
        """``solver``: ``"tuned"`` (IPOPT warm-started, the lmpc's) or ``"default"`` (do-mpc's own IPOPT with its
        default options, output suppressed: the reference ``calmline edge verify`` times)."""
        import do_mpc

        if solver not in ("tuned", "default"):
            raise ValueError(f"solver {solver!r}: expected 'tuned' or 'default'")

        self.mdl, self.n_horizon = mdl, n_horizon
        r = rows_of(mdl)
        n, m, p = mdl.n_states, len(mdl.input_names), len(mdl.output_names)
        model = do_mpc.model.Model("discrete", "SX")
        x = model.set_variable("_x", "x", (n, 1))
        u = model.set_variable("_u", "u", (m, 1))
        d = model.set_variable("_tvp", "d", (p, 1))
        model.set_variable("_tvp", "xt", (n, 1))
        model.set_variable("_tvp", "ut", (m, 1))
        model.set_variable("_tvp", "y_ub", (p, 1))
        model.set_rhs("x", ca.mtimes(ca.DM(mdl.A), x) + ca.mtimes(ca.DM(mdl.B), u))
        model.set_expression("y", ca.mtimes(ca.DM(mdl.C), x) + d)
        model.setup()
        # do-mpc's own symbols after setup
        x, u = model.x["x"], model.u["u"]
        d, xt, ut, y_ub = model.tvp["d"], model.tvp["xt"], model.tvp["ut"], model.tvp["y_ub"]
        ys = model.aux["y"]
        mpc = do_mpc.controller.MPC(model)
        mpc.settings.n_horizon = n_horizon
        mpc.settings.t_step = mdl.dt_s
        mpc.settings.store_full_solution = True
        mpc.settings.supress_ipopt_output()
        # the coat weight in units of its tolerance
        cw_w = (mdl.y_scale[r.cw] / (cw_tol_frac * max(abs(mdl.y0[r.cw]), 1e-12))) ** 2
        yt = ca.mtimes(ca.DM(mdl.C), xt) + d
        self.track_terms = [(w.state, x - xt), (w.input, u - ut), (w.coat_weight * cw_w, ys[r.cw] - yt[r.cw])]
        """The stage cost as weighted sums of squares ``[(weight, residual), ...]``: do-mpc's ``lterm`` and the
        edge's Gauss-Newton Hessian (:mod:`controllers._export_ocp`) are both built from it."""
        lterm = sum((wt * ca.sumsqr(e) for wt, e in self.track_terms[1:]), self.track_terms[0][0]
                    * ca.sumsqr(self.track_terms[0][1]))
        mpc.set_objective(lterm=lterm, mterm=w.terminal * ca.sumsqr(x - xt))
        mpc.set_rterm(u=np.full(m, w.move))
        y_phys = ca.DM(mdl.y0) + ca.DM(mdl.y_scale) * ys
        # the coat weight is a quality specification too: a soft band of half its tolerance around the
        # target, penalised harder than the dryer's limits, so the plan never buys residual with coat weight
        cw_dev = (ys[r.cw] - yt[r.cw]) * mdl.y_scale[r.cw] / (cw_tol_frac * abs(mdl.y0[r.cw]))
        mpc.set_nl_cons("coat_weight_high", cw_dev - 0.5, ub=0.0, soft_constraint=True,
                        penalty_term_cons=10 * w.soft_penalty)
        mpc.set_nl_cons("coat_weight_low", -cw_dev - 0.5, ub=0.0, soft_constraint=True,
                        penalty_term_cons=10 * w.soft_penalty)
        for j in [*r.conc, r.residual, r.film, *r.air]:
            name = mdl.output_names[j]
            mpc.set_nl_cons(name, (y_phys[j] - y_ub[j]) / ca.fabs(y_ub[j]), ub=0.0, soft_constraint=True,
                            penalty_term_cons=w.soft_penalty)
        # the temperature loops' heater powers within the heaters' range (soft): a saturated loop loses its set point
        h_lo, h_hi = heater_range_W
        for j in r.heaters:
            name = mdl.output_names[j]
            mpc.set_nl_cons(f"{name}_high", (y_phys[j] - h_hi) / h_hi, ub=0.0, soft_constraint=True,
                            penalty_term_cons=w.soft_penalty)
            mpc.set_nl_cons(f"{name}_low", (h_lo - y_phys[j]) / h_hi, ub=0.0, soft_constraint=True,
                            penalty_term_cons=w.soft_penalty)
        mpc.bounds["lower", "_u", "u"] = u_lb_s
        mpc.bounds["upper", "_u", "u"] = u_ub_s
        self._tvp = mpc.get_tvp_template()
        self._tvp_values: dict[str, object] = {"d": np.zeros(p), "xt": np.zeros(n), "ut": np.zeros(m),
                                               "y_ub": np.ones(p)}
        mpc.set_tvp_fun(self._tvp_fun)
        mpc.setup()
        self.mpc = mpc
        self._g_fun = ca.Function("lmpc_g", [mpc.nlp["x"], mpc.nlp["p"]], [mpc.nlp["g"]])
        self.u_lb_s, self.u_ub_s = u_lb_s.copy(), u_ub_s.copy()
        self.speed_index = r.speed
        """The line speed's index among the inputs."""
        self.lqr = False
        """The terminal weight is a fixed multiple of the identity (exported as it is)."""
        if solver == "default":
            return
        opts = {
            "ipopt.print_level": 0, "ipopt.sb": "yes", "print_time": False,
            "ipopt.warm_start_init_point": "yes", "ipopt.warm_start_bound_push": 1e-6,
            "ipopt.warm_start_mult_bound_push": 1e-6, "ipopt.mu_init": 1e-4,
            "ipopt.tol": 1e-8, "ipopt.acceptable_tol": 1e-6, "ipopt.max_iter": 100,
        }
        mpc.S = ca.nlpsol("S", "ipopt", mpc.nlp, opts)

    def _tvp_fun(self, t_now: float):
        for k in range(self.n_horizon + 1):
            for name, val in self._tvp_values.items():
                self._tvp["_tvp", k, name] = val
        return self._tvp

    def set_parameters(self, **values: np.ndarray) -> None:
        """Disturbance estimate, target and output limits (scaled; limits in SI) for the next solve."""
        self._tvp_values.update(values)

    def set_stage_bounds(self, u_prev_s: np.ndarray, rate_up_s: np.ndarray, rate_down_s: np.ndarray,
                         cap_s: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> None:
        """Move limits (cumulative over the stages), the per-stage speed cap and the input limits ``lower``,
        ``upper`` (scaled; default: those it was built with)."""
        lo, hi = stage_input_bounds(np.asarray(u_prev_s, float), rate_up_s, rate_down_s,
                                    np.asarray(cap_s, float)[: self.n_horizon],
                                    self.u_lb_s if lower is None else lower, self.u_ub_s if upper is None else upper,
                                    self.speed_index)
        for k in range(self.n_horizon):
            self.mpc._lb_opt_x["_u", k, 0] = lo[k]
            self.mpc._ub_opt_x["_u", k, 0] = hi[k]

    def stage_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The inputs' bounds per stage the next solve has, ``(lower, upper)``, each ``(n_horizon, n_inputs)``."""
        mpc, n = self.mpc, self.n_horizon
        lo = np.array([np.asarray(mpc._lb_opt_x["_u", k, 0], float).ravel() for k in range(n)])
        hi = np.array([np.asarray(mpc._ub_opt_x["_u", k, 0], float).ravel() for k in range(n)])
        return lo, hi

    def set_initial_guess(self, x0: np.ndarray, u0: np.ndarray, *, reset_duals: bool = False) -> None:
        """Initial guess of the whole horizon: the current state and inputs held (``reset_duals`` is ignored: it
        is there for the NMPC's OCP interface)."""
        del reset_duals
        self.mpc.x0 = np.asarray(x0, float)
        self.mpc.u0 = np.asarray(u0, float)
        self.mpc.set_initial_guess()

    def solve(self, x0: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        """``(first move, success, planned moves)``; success = IPOPT's flag and a primal check."""
        mpc = self.mpc
        u0 = np.asarray(mpc.make_step(np.asarray(x0, float))).ravel()
        ok = bool(mpc.solver_stats.get("success", False))
        g = np.asarray(self._g_fun(mpc.opt_x_num.cat, mpc.opt_p_num.cat)).ravel()
        viol = float(np.max(np.r_[0.0, np.asarray(mpc.nlp_cons_lb).ravel() - g, g - np.asarray(mpc.nlp_cons_ub).ravel()]))
        plan = np.array([np.asarray(mpc.opt_x_num["_u", k, 0]).ravel() for k in range(self.n_horizon)])
        finite = bool(np.all(np.isfinite(u0)) and np.all(np.isfinite(plan)))
        return u0, ok and finite and viol <= 1e-4, plan
