"""The NMPC's prediction model: the one physics model, scaled, as CasADi functions and a do-mpc model.

Built from :class:`plants.line.LineModel` with the controller's nominal
parameters and coarse discretisation (no second copy of any equation).
States and inputs are scaled to order one by the recipe's steady state
(``x = S_x xs``, ``u = S_u us``): IPOPT converges in fewer iterations scaled,
and CasADi's ``sqpmethod`` with ``qrqp`` fails on most steps unscaled (``docs/nmpc.md``).

The do-mpc model is continuous (do-mpc discretises it by orthogonal
collocation). Time-varying parameters carry everything that changes from
one solve to the next: the estimator's disturbance estimates (slurry solids,
heat-transfer factor, heater efficiencies, fan flow factors), the announced
speed target, the LEL limit in force, the coat-weight target, and the
steady-state target ``(xt, ut)`` the dynamic problem tracks, and the
estimator's output biases on the constrained outputs (:attr:`NmpcModel.bias_outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import casadi as ca
import numpy as np

from controllers.nmpc._scaling import NmpcScaling, TemperatureLoops, bias_outputs
from plants.backend import ops_by_name
from plants.line import LineModel
from plants.params import LineParams
from plants.simulate import n_substeps, rk4_step, stable_substep_s
from plants.steady import OperatingPoint, SteadyState, steady_state

__all__ = ["HEATER_SMOOTHING_FRAC", "NmpcModel", "TemperatureLoops"]

HEATER_SMOOTHING_FRAC = 0.005
"""Width of the smooth clamp of the temperature loops' heater output to the heater's range in the NMPC's model
(``temperature_loops = "model"``), fraction of the heater's maximum (0.5 %: 2 kW on the shipped dryers)."""


def _softplus(x: Any, width: float) -> Any:
    """``width * log(1 + exp(x / width))``, written so that it cannot overflow: ``max(x, 0) + width * log(1 +
    exp(-|x| / width))`` (smooth: the two kinks cancel)."""
    return ca.fmax(x, 0.0) + width * ca.log1p(ca.exp(-ca.fabs(x) / width))


@dataclass
class NmpcModel(NmpcScaling):
    """Scaled prediction model around a recipe.

    Parameters
    ----------
    params : LineParams
        The controller's model parameters (nominal, coarse discretisation).
    recipe : OperatingPoint
        The operating point used for scaling and the initial guess.
    outdoor_temp_K, outdoor_rh_frac : float
        Outdoor air the model assumes (the controller does not see the weather;
        the estimator corrects the room-humidity state from the room sensor).
    """

    params: LineParams
    recipe: OperatingPoint
    outdoor_temp_K: float = 293.15
    outdoor_rh_frac: float = 0.5
    loops: TemperatureLoops | None = None
    """The PLC's temperature loops: given, :meth:`do_mpc_model` plans their set points (augmented model)."""
    output_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.line = LineModel(self.params)
        L = self.line.layout
        self.layout = L
        op = OperatingPoint(**{**self.recipe.__dict__, "outdoor_temp_K": self.outdoor_temp_K,
                               "outdoor_rh_frac": self.outdoor_rh_frac})
        self.ss: SteadyState = steady_state(self.line, op)
        xs = np.abs(self.ss.x)
        self.x_scale = np.maximum(xs, 1e-6)
        self.x_scale[L.enthalpy] = max(float(xs[L.enthalpy].max()), 1.0)
        self.x_scale[L.zone_conc] = max(float(xs[L.zone_conc].max()), 1e-4)
        self.x_scale[L.solvent_load] = max(float(xs[L.solvent_load].max()), 1e-4)
        self.x_scale[L.heater] = self.params.dryer.heater_max_W / 2.0
        self.x_scale[L.room_w] = 0.01
        self.x_scale[L.slurry_water] = 0.01
        self.u_scale = np.maximum(np.abs(self.ss.u), 1e-6)
        self.u_scale[L.u_exhaust] = max(float(np.max(self.ss.u[L.u_exhaust])), 0.5)
        self.u_scale[L.u_heater] = self.params.dryer.heater_max_W / 2.0
        self.substep_s = stable_substep_s(self.line, self.ss.x, self.ss.u, self.ss.d)
        self.output_index = {n: i for i, n in enumerate(self.line.output_names())}
        self.n_est = 2 + 2 * L.n_zones  # solids, htf, heater efficiency, fan factor
        zone = "lel_frac" if self.params.solvent.lel_vol_frac > 0 else "humidity_ratio_kg_kg"
        self.bias_outputs: tuple[str, ...] = bias_outputs(self.params)
        """The outputs the economic target and the OCP constrain that a sensor measures and no input disturbance
        explains: each has an additive bias and (the zones) a relative correction, from the LEL filter or the
        estimator's states (``[controllers.nmpc.estimator] output_biases``); the order of :meth:`biased_outputs`'
        bias vector. The exit film temperature, the other, has the heat-transfer factor."""
        self.bias_scale = np.r_[1e-3, np.full(L.n_zones, 0.01 if zone == "lel_frac" else 0.005)]
        """Scale of each output bias in the estimator's state (kg/kg, then LEL fraction or kg/kg)."""

    def biased_outputs(self, y: Any, bias: Any, gain: Any = None) -> dict[str, Any]:
        """The constrained outputs as the plant will show them: the model's outputs ``y`` (ordered as the line's
        output names) times ``1 + gain`` (the zones' relative corrections, length ``n_zones``; default none) plus
        the output biases ``bias`` (ordered as :attr:`bias_outputs`, physical units).

        Returns the exit residual and each zone's LEL fraction or exhaust humidity ratio (``"zone"``), corrected;
        works on CasADi symbols and on arrays.
        """
        ix = self.output_index
        zone = [y[ix[name]] * (1.0 + (0.0 if gain is None else gain[i])) + bias[1 + i]
                for i, name in enumerate(self.bias_outputs[1:])]
        return {"exit_residual_kg_kg": y[ix["exit_residual_kg_kg"]] + bias[0], "zone": zone}

    def disturbance(self, est: ca.SX | ca.MX | np.ndarray) -> ca.SX | ca.MX | np.ndarray:
        """Model disturbance vector from the estimate vector ``[solids, htf, heater_eff, fan_factor]``."""
        n = self.layout.n_zones
        head = [self.outdoor_temp_K, self.outdoor_rh_frac, est[0], 0.0, 0.0, est[1], 1.0]
        if isinstance(est, ca.SX | ca.MX):
            return ca.vertcat(*head, est[2 : 2 + n], est[2 + n : 2 + 2 * n])
        e = np.asarray(est, float)
        return np.r_[head, e[2 : 2 + n], e[2 + n : 2 + 2 * n]]

    def nominal_estimate(self) -> np.ndarray:
        """Estimate vector at the recipe's nominal disturbances."""
        n = self.layout.n_zones
        return np.r_[self.params.coater.solids_frac_nominal, 1.0, np.ones(n), np.ones(n)]

    def _sym(self) -> tuple[ca.SX, ca.SX, ca.SX]:
        L = self.layout
        return ca.SX.sym("xs", L.n_states), ca.SX.sym("us", L.n_inputs), ca.SX.sym("est", self.n_est)

    def scaled_rhs(self) -> ca.Function:
        """``f_s(xs, us, est) = f(S_x xs, S_u us, d(est)) / S_x``."""
        xs, us, est = self._sym()
        ops = ops_by_name("casadi")
        f = self.line.rhs(ops, xs * self.x_scale, us * self.u_scale, self.disturbance(est)) / self.x_scale
        return ca.Function("f_scaled", [xs, us, est], [f])

    def scaled_step(self, dt_s: float, n_sub: int | None = None) -> ca.Function:
        """``F(xs, us, est)``: scaled state after ``dt_s`` (RK4; ``n_sub`` sub-steps, default: stable at the recipe)."""
        xs, us, est = self._sym()
        fs = self.scaled_rhs()
        xn = rk4_step(fs, xs, us, est, dt_s, n_sub or n_substeps(dt_s, self.substep_s))
        return ca.Function("F_scaled", [xs, us, est], [xn])

    def scaled_jacobian_fn(self) -> ca.Function:
        """``J(xs, us, est)``: Jacobian of the scaled right-hand side (its eigenvalues are the model's)."""
        xs, us, est = self._sym()
        return ca.Function("J_scaled", [xs, us, est], [ca.jacobian(self.scaled_rhs()(xs, us, est), xs)])

    def outputs_fn(self) -> ca.Function:
        """``y(xs, us, est)``: physical outputs, ordered as the line's output names."""
        xs, us, est = self._sym()
        ops = ops_by_name("casadi")
        y = self.line.outputs(ops, xs * self.x_scale, us * self.u_scale, self.disturbance(est))
        return ca.Function("y_scaled", [xs, us, est], [y])

    def closed_loop(self, xa: Any, v: Any, est: Any) -> tuple[Any, Any, Any]:
        """``(scaled rhs of the augmented state, plant inputs us, heater powers W)`` for OCP inputs ``v``.

        Without loops, ``v`` are the scaled plant inputs and the state is the line's.
        """
        L, lp = self.layout, self.loops
        if lp is None:
            return self.scaled_rhs()(xa, v, est), v, v[L.u_heater] * self.u_scale[L.u_heater]
        n, nz, nu = L.n_states, L.n_zones, L.n_inputs
        xs, zi = xa[:n], xa[n : n + nz]
        t_air = xs[L.air_temp] * self.x_scale[L.air_temp]
        t_tc = lp.ref_K + lp.sp_scale_K * xa[n + nz : n + 2 * nz] if lp.lag_s > 0 else t_air
        t_sp = lp.ref_K + lp.sp_scale_K * v[nu : nu + nz]
        e = t_sp - t_tc
        heater = v[L.u_heater] * self.u_scale[L.u_heater] + lp.kc_W_K * (e + lp.i_scale_K * zi)
        # the PLC clamps the loop's output to the heater's range: a smooth clamp (the physics' own clip is a kink on
        # which IPOPT ran to its iteration limit on a quarter of the anode's solves)
        hmax = self.params.dryer.heater_max_W
        given = _softplus(heater, HEATER_SMOOTHING_FRAC * hmax) - _softplus(heater - hmax, HEATER_SMOOTHING_FRAC * hmax)
        us = ca.vertcat(v[: L.u_heater.start], given / self.u_scale[L.u_heater], v[L.u_heater.stop : nu])
        parts = [self.scaled_rhs()(xs, us, est), e / lp.tau_i_s / lp.i_scale_K]
        if lp.lag_s > 0:
            parts.append((t_air - t_tc) / lp.lag_s / lp.sp_scale_K)
        return ca.vertcat(*parts), us, heater

    def do_mpc_model(self, terminal_matrix: bool = False):
        """The continuous do-mpc ``Model`` of the scaled line (see the module docstring); with :attr:`loops`, the
        PLC's temperature loops closed around it (states ``[xs, integrals, thermocouples]``, inputs ``[line's
        with the heater slots as feedforwards, set points]``)."""
        import do_mpc

        L = self.layout
        model = do_mpc.model.Model("continuous", "SX")
        xs = model.set_variable("_x", "xs", shape=(self.n_aug, 1))
        us = model.set_variable("_u", "us", shape=(self.n_v, 1))
        est = model.set_variable("_tvp", "est", shape=(self.n_est, 1))
        model.set_variable("_tvp", "xt", shape=(self.n_aug, 1))
        model.set_variable("_tvp", "ut", shape=(self.n_v, 1))
        model.set_variable("_tvp", "lel_limit")
        model.set_variable("_tvp", "cw_target")
        model.set_variable("_tvp", "speed_target")
        model.set_variable("_tvp", "out_bias", shape=(self.n_bias, 1))
        model.set_variable("_tvp", "out_gain", shape=(L.n_zones, 1))
        if terminal_matrix:  # the OCP's terminal cost matrix (``terminal_cost = "lqr"``)
            model.set_variable("_tvp", "P_term", shape=(self.n_aug, self.n_aug))
        f, u_plant, heater = self.closed_loop(xs, us, est)
        model.set_expression("y", self.outputs_fn()(xs[: L.n_states], u_plant, est))
        model.set_expression("heater_W", heater)
        model.set_rhs("xs", f)
        model.setup()
        return model
