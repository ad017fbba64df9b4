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
the plan does not trade coat weight for residual); the pump within a trim of
the lot's pump-to-speed ratio (hard); hard input bounds,
hard move limits and the per-stage speed cap of the announced schedule on the
input bounds of each stage (as in the NMPC).
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from controllers.lmpc._modelfile import LineModelFile
from controllers.lmpc._target import rows_of

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
                 u_lb_s: np.ndarray, u_ub_s: np.ndarray, pump_trim_max: float,
                 heater_range_W: tuple[float, float]) -> None:
        import do_mpc

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
        model.set_variable("_tvp", "ratio", (1, 1))
        model.set_rhs("x", ca.mtimes(ca.DM(mdl.A), x) + ca.mtimes(ca.DM(mdl.B), u))
        model.set_expression("y", ca.mtimes(ca.DM(mdl.C), x) + d)
        model.setup()
        # do-mpc's own symbols after setup
        x, u = model.x["x"], model.u["u"]
        d, xt, ut, y_ub = model.tvp["d"], model.tvp["xt"], model.tvp["ut"], model.tvp["y_ub"]
        ratio = model.tvp["ratio"]
        ys = model.aux["y"]
        mpc = do_mpc.controller.MPC(model)
        mpc.settings.n_horizon = n_horizon
        mpc.settings.t_step = mdl.dt_s
        mpc.settings.store_full_solution = True
        mpc.settings.supress_ipopt_output()
        # the coat weight in units of its tolerance
        cw_w = (mdl.y_scale[r.cw] / (cw_tol_frac * max(abs(mdl.y0[r.cw]), 1e-12))) ** 2
        yt = ca.mtimes(ca.DM(mdl.C), xt) + d
        lterm = (w.state * ca.sumsqr(x - xt) + w.input * ca.sumsqr(u - ut)
                 + w.coat_weight * cw_w * (ys[r.cw] - yt[r.cw]) ** 2)
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
        # the ratio station's set point within +/- trim of the lot's ratio (hard)
        u_phys = ca.DM(mdl.u0) + ca.DM(mdl.u_scale) * u
        mpc.set_nl_cons("pump_trim_high", (u_phys[r.ratio] - ratio * (1 + pump_trim_max)) / ratio, ub=0.0)
        mpc.set_nl_cons("pump_trim_low", (ratio * (1 - pump_trim_max) - u_phys[r.ratio]) / ratio, ub=0.0)
        mpc.bounds["lower", "_u", "u"] = u_lb_s
        mpc.bounds["upper", "_u", "u"] = u_ub_s
        self._tvp = mpc.get_tvp_template()
        self._values = {"d": np.zeros(p), "xt": np.zeros(n), "ut": np.zeros(m), "y_ub": np.ones(p),
                        "ratio": np.array([mdl.pump_per_speed])}
        mpc.set_tvp_fun(self._tvp_fun)
        mpc.setup()
        opts = {
            "ipopt.print_level": 0, "ipopt.sb": "yes", "print_time": False,
            "ipopt.warm_start_init_point": "yes", "ipopt.warm_start_bound_push": 1e-6,
            "ipopt.warm_start_mult_bound_push": 1e-6, "ipopt.mu_init": 1e-4,
            "ipopt.tol": 1e-6, "ipopt.acceptable_tol": 1e-4, "ipopt.max_iter": 100,
        }
        mpc.S = ca.nlpsol("S", "ipopt", mpc.nlp, opts)
        self.mpc = mpc
        self._g_fun = ca.Function("lmpc_g", [mpc.nlp["x"], mpc.nlp["p"]], [mpc.nlp["g"]])
        self.u_lb_s, self.u_ub_s = u_lb_s.copy(), u_ub_s.copy()
        self.speed = r.speed

    def _tvp_fun(self, t_now: float):
        for k in range(self.n_horizon + 1):
            for name, val in self._values.items():
                self._tvp["_tvp", k, name] = val
        return self._tvp

    def set_parameters(self, **values: np.ndarray) -> None:
        """Disturbance estimate, target and output limits (scaled; limits in SI) for the next solve."""
        self._values.update(values)

    def set_stage_bounds(self, u_prev_s: np.ndarray, rate_s: np.ndarray, cap_s: np.ndarray,
                         lb_s: np.ndarray, ub_s: np.ndarray) -> None:
        """Move limits (cumulative over the stages), the per-stage speed cap and the input limits."""
        for k in range(self.n_horizon):
            lo = np.maximum(lb_s, u_prev_s - (k + 1) * rate_s)
            hi = np.minimum(ub_s, u_prev_s + (k + 1) * rate_s)
            hi[self.speed] = min(hi[self.speed], cap_s[k])
            lo = np.minimum(lo, hi)
            self.mpc._lb_opt_x["_u", k, 0] = lo
            self.mpc._ub_opt_x["_u", k, 0] = hi

    def set_initial_guess(self, x0: np.ndarray, u0: np.ndarray) -> None:
        """Initial guess of the whole horizon: the current state and inputs held."""
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
