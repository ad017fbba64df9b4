"""Economic steady-state target on the identified model (linear constraints, linear energy cost).

Solved at every lmpc step with the current disturbance estimate ``d``
(Muske & Rawlings 1993 target calculation, made economic as in the NMPC)::

    min  w_v (1 - v / v_target) + sum(heater power) / P_ref + w_move |u - u_prev|^2 + rho |s|_1
    s.t. (I - A) x = B u,  y = C x + d               (scaled; the identified steady state)
         coat weight = target
         zone LEL <= margin * limit in force + s     (exhaust humidity for water)
         exit residual <= frac * USL + s,  exit film and zone air temperatures <= film max - margin + s
         heater powers (the temperature loops' outputs) within the heaters' range + s
         pump ratio set point within +/- trim of the lot's pump-to-speed ratio
         v <= min(target, cap),  inputs in their limits and the model's trust region

Only measured outputs can be constrained: the critical-stage drying rate
and the temperature of the film inside the dryer are not measured, so
the lmpc cannot hold them (the NMPC can; see docs/lmpc.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as ca
import numpy as np

from controllers.lmpc._modelfile import RATIO_SETPOINT, LineModelFile

__all__ = ["LinearTarget"]


@dataclass(frozen=True)
class _Rows:
    cw: int
    conc: list[int]
    residual: int
    film: int
    speed: int
    ratio: int
    """Input row of the pump ratio station's set point."""
    air: list[int]
    heaters: list[int]
    """Output rows of the temperature loops' heater powers."""


def rows_of(model: LineModelFile) -> _Rows:
    """Where the lmpc's named signals sit in the model's inputs and outputs."""
    o, i = list(model.output_names), list(model.input_names)
    return _Rows(
        cw=o.index("coat_weight_kg_m2"),
        conc=[k for k, n in enumerate(o) if n.endswith("_lel_frac") or n.endswith("_humidity_ratio_kg_kg")],
        residual=o.index("exit_residual_kg_kg"),
        film=o.index("exit_film_temp_K"),
        speed=i.index("speed_m_s"),
        ratio=i.index(RATIO_SETPOINT),
        air=[k for k, n in enumerate(o) if n.endswith("_air_temp_K")],
        heaters=[k for k, n in enumerate(o) if n.endswith("_heater_power_cmd_W")],
    )


class LinearTarget:
    """The economic target problem on the identified model, built once, solved warm-started."""

    def __init__(self, model: LineModelFile, *, speed_weight: float, energy_ref_W: float, move_weight: float,
                 slack_weight: float, pump_trim_max: float, heater_range_W: tuple[float, float]) -> None:
        self.mdl = model
        r = rows_of(model)
        self.r = r
        n, m, p = model.n_states, len(model.input_names), len(model.output_names)
        xs, us, sl = ca.SX.sym("xs", n), ca.SX.sym("us", m), ca.SX.sym("s", 4)
        # parameters: d (p), v_target, u_prev (m), output upper bounds (p, physical), the pump-to-speed ratio
        par = ca.SX.sym("par", p + 1 + m + p + 1)
        d, v_tgt, u_prev, y_ub = par[:p], par[p], par[p + 1 : p + 1 + m], par[p + 1 + m : p + 1 + m + p]
        ratio = par[p + 1 + m + p]
        y0, ysc = model.y0, model.y_scale
        u0, usc = model.u0, model.u_scale
        ys = ca.mtimes(ca.DM(model.C), xs) + d
        y = ca.DM(y0) + ca.DM(ysc) * ys
        u = ca.DM(u0) + ca.DM(usc) * us
        g = [ca.mtimes(ca.DM(np.eye(n) - model.A), xs) - ca.mtimes(ca.DM(model.B), us)]
        lbg, ubg = [np.zeros(n)], [np.zeros(n)]
        cw_rows = [r.cw]
        g.append(ys[cw_rows])  # equality to the scaled target, set through lbg/ubg per solve
        lbg.append(np.zeros(1))
        ubg.append(np.zeros(1))
        # upper limits (LEL or humidity, residual, film) scaled by the limit itself: slack in relative terms
        for rows, k in ((r.conc, 0), ([r.residual], 1), ([r.film, *r.air], 2)):
            for j in rows:
                g.append((y[j] - y_ub[j]) / ca.fabs(y_ub[j]) - sl[k])
                lbg.append([-np.inf])
                ubg.append([0.0])
        # the temperature loops' heater powers inside the heaters' range (a saturated loop loses its set point)
        h_lo, h_hi = heater_range_W
        for j in r.heaters:
            g.append((y[j] - h_hi) / h_hi - sl[3])
            g.append((h_lo - y[j]) / h_hi - sl[3])
            lbg.extend([[-np.inf], [-np.inf]])
            ubg.extend([[0.0], [0.0]])
        # the ratio station's set point stays within +/- pump_trim_max of the lot's pump-to-speed ratio: the coat
        # weight cannot be traded for LEL or residual however wrong the model
        g.append((u[r.ratio] - ratio * (1.0 + pump_trim_max)) / ratio)
        lbg.append([-np.inf])
        ubg.append([0.0])
        g.append((ratio * (1.0 - pump_trim_max) - u[r.ratio]) / ratio)
        lbg.append([-np.inf])
        ubg.append([0.0])
        power = ca.sum1(y[r.heaters])
        obj = (speed_weight * (1.0 - u[r.speed] / v_tgt) + power / energy_ref_W
               + move_weight * ca.sumsqr(us - u_prev) + slack_weight * ca.sum1(sl))
        nlp = {"x": ca.vertcat(xs, us, sl), "f": obj, "g": ca.vertcat(*g), "p": par}
        opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes", "ipopt.max_iter": 200,
                "ipopt.tol": 1e-8}
        self.solver = ca.nlpsol("lmpc_target", "ipopt", nlp, opts)
        self.n, self.m, self.p = n, m, p
        self.lbg = np.concatenate([np.ravel(a) for a in lbg])
        self.ubg = np.concatenate([np.ravel(a) for a in ubg])
        self.z = np.zeros(n + m + 4)

    def solve(self, d: np.ndarray, v_target: float, cw_target: float, y_ub: np.ndarray, u_prev_s: np.ndarray,
              u_lb_s: np.ndarray, u_ub_s: np.ndarray,
              ratio: float | None = None) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
        """Return ``(xs, us, success, slacks)`` in scaled units; ``ratio`` centres the pump's trim window (default:
        the step test's pump-to-speed ratio)."""
        n, m = self.n, self.m
        mdl = self.mdl
        lbg, ubg = self.lbg.copy(), self.ubg.copy()
        lbg[n] = ubg[n] = (cw_target - mdl.y0[self.r.cw]) / mdl.y_scale[self.r.cw]
        lbx = np.r_[np.full(n, -np.inf), u_lb_s, np.zeros(4)]
        ubx = np.r_[np.full(n, np.inf), u_ub_s, np.full(4, np.inf)]
        p = np.r_[d, v_target, u_prev_s, y_ub, mdl.pump_per_speed if ratio is None else ratio]
        res = self.solver(x0=np.clip(self.z, lbx, ubx), p=p, lbx=lbx, ubx=ubx, lbg=lbg, ubg=ubg)
        ok = bool(self.solver.stats()["success"])
        z = np.asarray(res["x"]).ravel()
        if ok and np.all(np.isfinite(z)):
            self.z = z
        return self.z[:n], self.z[n : n + m], ok, self.z[n + m :]
