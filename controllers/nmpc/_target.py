"""Economic steady-state target: where the line should sit, given what the estimator knows.

Solves, at every NMPC step, the steady-state problem of the controller's model
with the current disturbance estimates (Muske & Rawlings 1993 target
calculation, here economic):

    min  w_v (v_target - v) / v_recipe + (P_heaters + P_fans) / P_ref + w_reg |u - u_prev|^2 + rho |s|_1
    s.t. f(x, u, d_hat) = 0                       (building states fixed at their estimates)
         coat weight at the die = target
         LEL_i + b_i <= margin * limit in force - s      (or exhaust humidity for water)
         residual at exit + b_r <= r_frac * USL - s
         critical-stage rate ratio <= 0.95 - s,  film temperature <= max - 5 K - s

with ``b`` the estimator's output biases (offset-free on the exit residual and the zones' LEL; on the film
temperature through the estimated heat-transfer factor, ``d_hat``).
         coating-window margin >= 1.1,  v <= min(target, cap),  input bounds

This is where "airflow tied to drying kinetics" happens: nozzle velocity,
air temperature (through heater power) and exhaust are chosen from the
drying-kinetics model to hold residual solvent at its margin, the critical
stage under its limit and the film under its maximum at the least energy;
and where speed gives way when the LEL limit (or quality) would otherwise
be broken. The slacks ``s`` are exact (L1) penalties so the target exists
even when a disturbance makes the limits unreachable.

Reference: K. R. Muske, J. B. Rawlings, "Model predictive control with
linear models", AIChE J. 39 (1993) 262-287 (target calculation).
"""

from __future__ import annotations

from collections.abc import Sequence

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel
from mpc.scenario import TargetSettings

__all__ = ["SteadyTarget"]


class SteadyTarget:
    """The economic target problem, built once, solved warm-started at every step."""

    def __init__(self, m: NmpcModel, usl_residual: float, film_max_K: float, settings: TargetSettings, *,
                 primary_factors: tuple[float, float] = (1.0, 1.0)) -> None:
        """``primary_factors``: primary energy per kWh of the heaters' carrier and of electricity (fans,
        solvent recovery); the objective's energy term is the dryer's primary power."""
        self.m = m
        self.s = settings
        L = m.layout
        n, nu = L.n_states, L.n_inputs
        xs = ca.SX.sym("xs", n)
        us = ca.SX.sym("us", nu)
        sl = ca.SX.sym("slack", 4)
        est = ca.SX.sym("est", m.n_est)
        # speed target, cap, lel limit, cw target, output biases (NmpcModel.bias_outputs), u_prev (scaled)
        nb, nz = m.n_bias, L.n_zones
        par = ca.SX.sym("par", 4 + nb + nz + nu)
        v_tgt, v_cap, lel_lim, cw_tgt = par[0], par[1], par[2], par[3]
        out_bias = par[4 : 4 + nb]
        out_gain = par[4 + nb : 4 + nb + nz]
        u_prev = par[4 + nb + nz :]
        f = m.scaled_rhs()(xs, us, est)
        y = m.outputs_fn()(xs, us, est)
        yb = m.biased_outputs(y, out_bias, out_gain)  # the constrained outputs as the plant shows them
        ix = m.output_index
        self._plant_outputs = ca.Function("target_outputs", [xs, us, est, out_bias],
                                          [yb["exit_residual_kg_kg"], y[ix["exit_film_temp_K"]]])
        free = [i for i in range(n) if i not in (L.room_w, L.slurry_water)]
        v = us[L.u_speed] * m.u_scale[L.u_speed]
        f_heater, f_el = primary_factors
        power = f_heater * y[ix["heater_power_W"]] + f_el * (y[ix["fan_power_W"]] + y[ix["solvent_recovery_power_W"]])
        flammable = m.params.solvent.lel_vol_frac > 0
        g, lbg, ubg = [f[free]], [np.zeros(len(free))], [np.zeros(len(free))]
        g.append(y[ix["coat_weight_die_kg_m2"]] / cw_tgt - 1.0)
        lbg.append([0.0])
        ubg.append([0.0])
        for zone_y in yb["zone"]:  # each zone's LEL fraction, or exhaust humidity ratio for water
            if flammable:
                g.append(zone_y / lel_lim - sl[0])
                ubg.append([settings.lel_margin])
            else:
                g.append(zone_y / settings.humidity_max_kg_kg - sl[0])
                ubg.append([1.0])
            lbg.append([-np.inf])
        g.append(yb["exit_residual_kg_kg"] / usl_residual - sl[1])
        lbg.append([-np.inf])
        ubg.append([settings.residual_frac_of_usl])
        cells = range(1, L.n_cells + 1)
        # per-cell constraints: smooth, unlike the max over cells
        g.append(ca.vertcat(*[y[ix[f"cell{j}_critical_rate_ratio"]] for j in cells]) - sl[2])
        lbg.append(np.full(L.n_cells, -np.inf))
        ubg.append(np.full(L.n_cells, settings.critical_ratio_max))
        film = ca.vertcat(*[y[ix[f"cell{j}_film_temp_K"]] for j in cells])
        g.append((film - (film_max_K - settings.film_margin_K)) / 10.0 - sl[3])
        lbg.append(np.full(L.n_cells, -np.inf))
        ubg.append(np.zeros(L.n_cells))
        g.append(y[ix["coating_window_margin"]])
        lbg.append([settings.window_margin_min])
        ubg.append([np.inf])
        g.append(v - v_tgt)
        lbg.append([-np.inf])
        ubg.append([0.0])
        g.append(v - v_cap)
        lbg.append([-np.inf])
        ubg.append([0.0])
        obj = (
            settings.speed_weight * (v_tgt - v) / float(m.recipe.speed_m_s)
            + power / settings.energy_ref_W
            + settings.move_weight * ca.sumsqr(us - u_prev)
            + settings.slack_weight * ca.sum1(sl)
        )
        z = ca.vertcat(xs, us, sl)
        self.n, self.nu = n, nu
        self._g_bounds = (np.concatenate([np.ravel(a) for a in lbg]), np.concatenate([np.ravel(a) for a in ubg]))
        nlp = {"x": z, "f": obj, "g": ca.vertcat(*g), "p": ca.vertcat(est, par)}
        opts = {
            "ipopt.print_level": 0,
            "print_time": False,
            "ipopt.sb": "yes",
            "ipopt.max_iter": 200,
            "ipopt.tol": 1e-7,
            "ipopt.mu_strategy": "adaptive",
        }
        self.solver = ca.nlpsol("steady_target", "ipopt", nlp, opts)
        # IPOPT's adaptive barrier update cycled on the kinks of the exact falling-rate and critical-stage
        # laws (measured on a calibrated model, critical content 0.100: 1000 iterations without convergence
        # from the recipe, where the monotone (Fiacco-McCormick) update converged in 57); the controller's
        # model now rounds them (ModelSettings), and the monotone retry stays as the fallback for a first
        # target that still fails. The monotone update is used only until the first good target: mid-run it can land in another
        # local optimum (measured on the cathode: zone 1 switched off, nozzles 8 m/s and full exhaust,
        # then a jump back that put zone 3 over its LEL limit), where keeping the last good target is safe.
        # built when first needed: most runs never ask for it
        self._monotone_nlp, self._monotone_opts = nlp, {**opts, "ipopt.mu_strategy": "monotone", "ipopt.max_iter": 500}
        self._solver_monotone: ca.Function | None = None
        self.has_target = False
        """Whether a solve has succeeded yet (until then the recipe's steady state stands in)."""
        self.retries = 0
        """Solves the monotone update redid (only before the first good target)."""
        self.failures = 0
        """Solves that did not converge (the last good target is kept)."""
        self.objective = float("nan")
        """The objective of the last good target."""
        self.start_wins = 0
        """Solves where one of the ``starts`` gave a lower objective than the warm start (or the only converged solve)."""
        self.z = np.r_[m.ss.x / m.x_scale, m.ss.u / m.u_scale, np.zeros(4)]
        self.lam_g = None
        self.lam_x = None

    def bounds(self, u_lb: np.ndarray, u_ub: np.ndarray, x_fixed: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Variable bounds: states free (building states fixed), inputs in [u_lb, u_ub] (scaled), slacks >= 0."""
        m, L = self.m, self.m.layout
        lbx = np.r_[np.full(self.n, -np.inf), u_lb, np.zeros(4)]
        ubx = np.r_[np.full(self.n, np.inf), u_ub, np.full(4, np.inf)]
        lbx[L.dry_loading] = 0.0
        lbx[L.solvent_load] = 0.0
        lbx[: self.n][L.nozzle] = self.s.nozzle_min_m_s / m.x_scale[L.nozzle]
        for i, val in x_fixed.items():
            lbx[i] = ubx[i] = val
        nz = slice(self.n + L.u_nozzle.start, self.n + L.u_nozzle.stop)
        lbx[nz] = np.maximum(lbx[nz], self.s.nozzle_min_m_s / m.u_scale[L.u_nozzle])
        return lbx, ubx

    @property
    def solver_monotone(self) -> ca.Function:
        """The monotone-barrier IPOPT of the first target's retry, built on first use."""
        if self._solver_monotone is None:
            self._solver_monotone = ca.nlpsol("steady_target_monotone", "ipopt", self._monotone_nlp,
                                              self._monotone_opts)
        return self._solver_monotone

    @solver_monotone.setter
    def solver_monotone(self, solver: ca.Function) -> None:
        self._solver_monotone = solver

    def solve(self, est: np.ndarray, speed_target: float, speed_cap: float, lel_limit: float, cw_target: float,
              u_prev_s: np.ndarray, u_lb: np.ndarray, u_ub: np.ndarray, x_fixed: dict[int, float],
              out_bias: np.ndarray | None = None, trust: bool = False, out_gain: np.ndarray | None = None,
              starts: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
        """Return ``(xs_target, us_target, success, slacks)``; warm-started from the last target.

        IPOPT with the adaptive barrier update; if it fails before any solve has succeeded, again from
        the same start with the monotone update. On failure the last good target (at first the recipe's
        steady state) is returned with ``success`` False. With ``trust`` (and a good target in hand) the
        inputs stay within ``max_move_scaled`` of the last good target's. ``out_bias``: the estimator's output
        biases (:attr:`NmpcModel.bias_outputs`, physical units; default zero), added to the model's outputs in
        the constraints; ``out_gain``: the zones' relative corrections (default zero), the zones' outputs
        multiplied by ``1 + out_gain`` first. ``starts``: further initial points (scaled states and inputs, as
        :attr:`OptimisedPoint.x` and ``u`` over the model's scales), tried only where the trust region does not
        apply; of the converged solves the one of least objective is taken (:attr:`start_wins` counts the solves
        a start won).
        """
        lbx, ubx = self.bounds(u_lb, u_ub, x_fixed)
        if trust and self.has_target and np.isfinite(self.s.max_move_scaled):
            iu = slice(self.n, self.n + self.nu)
            last = self.z[iu]
            lo, hi = lbx[iu].copy(), ubx[iu].copy()
            lbx[iu] = np.minimum(np.maximum(lo, last - self.s.max_move_scaled), hi)
            ubx[iu] = np.maximum(np.minimum(hi, last + self.s.max_move_scaled), lo)
        bias = np.zeros(self.m.n_bias) if out_bias is None else np.asarray(out_bias, float)
        gain = np.zeros(self.m.layout.n_zones) if out_gain is None else np.asarray(out_gain, float)
        p = np.r_[est, speed_target, speed_cap, lel_limit, cw_target, bias, gain, u_prev_s]
        z0 = np.clip(self.z, lbx, ubx)
        kw = {"x0": z0, "p": p, "lbx": lbx, "ubx": ubx, "lbg": self._g_bounds[0], "ubg": self._g_bounds[1]}
        r = self.solver(**kw)
        ok = bool(self.solver.stats()["success"])
        if not ok and not self.has_target:
            self.retries += 1
            r = self.solver_monotone(**kw)
            ok = bool(self.solver_monotone.stats()["success"])
        z = np.asarray(r["x"]).ravel()
        ok = ok and bool(np.all(np.isfinite(z)))
        if not (trust and self.has_target):
            won = False
            for start in starts:
                zs = np.clip(np.r_[np.asarray(start, float), np.zeros(len(self.z) - len(start))], lbx, ubx)
                rs = self.solver(**{**kw, "x0": zs})
                good = bool(self.solver.stats()["success"]) and bool(np.all(np.isfinite(np.asarray(rs["x"]))))
                if good and (not ok or float(rs["f"]) < float(r["f"])):
                    r, z, ok, won = rs, np.asarray(rs["x"]).ravel(), True, True
            self.start_wins += won
        if not ok:
            self.failures += 1
        if ok:
            self.has_target = True
            self.z = z
            self.objective = float(r["f"])
            self.lam_x = np.asarray(r["lam_x"]).ravel()
            self.lam_g = np.asarray(r["lam_g"]).ravel()
        else:
            self.lam_x = self.lam_g = None
        return self.z[: self.n], self.z[self.n : self.n + self.nu], ok, self.z[self.n + self.nu :]

    def plant_outputs(self, est: np.ndarray, out_bias: np.ndarray) -> tuple[float, float]:
        """The exit residual (kg/kg) and exit film temperature (K) the plant should settle at on the last good
        target: the model's value there (with the disturbance estimates ``est``) plus the output bias (the
        residual's); what offset-free means for them."""
        r, t = self._plant_outputs(self.z[: self.n], self.z[self.n : self.n + self.nu], est, out_bias)
        return float(r), float(t)
