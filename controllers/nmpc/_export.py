"""Generate and compile the C of the NMPC's estimator for the edge (``calmline export``).

From the estimator's own CasADi expressions (:class:`controllers.nmpc.DisturbanceEKF`, on the controller's
model: no second copy of an equation) CasADi's code generator writes dense functions (every output densified):

* ``ekf_substep(z, us, solids, h) -> (z_next, dz_next/dz)``: one RK4 sub-step of ``h`` seconds (the
  disturbances and biases as random walks), the integrator of :func:`plants.simulate.rk4_step`;
* ``ekf_substep_value``: the same without the Jacobian;
* ``ekf_outputs(z, us, solids) -> (h, dh/dz)``: the measured outputs, biases applied;
* ``ekf_state_jacobian(xs, us, est)``: the model's scaled Jacobian, whose eigenvalues set the stable sub-step;
* ``model_outputs(xs, us, est)``: every output of the model (the estimation block's output corrections);
* ``cw_sens(xs, us, est)``: the die coat weight and its derivative in the solids (the gauge filter's).

and, at the estimator's sub-step count when exported, the whole interval's time update
``ekf_step_n{n_sub}`` (and ``ekf_step_value_n{n_sub}``): the design machine's own expression. The edge uses
it at that count and runs the sub-step otherwise (:class:`mpc.edge.EdgeEstimator`), so an artifact serves
whatever sub-step count the model's stiffness asks for. The C is compiled by :mod:`controllers._codegen`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np

from controllers._codegen import generate_c
from controllers.nmpc._estimator import DisturbanceEKF
from mpc.edge import EstimationStep

__all__ = [
    "ESTIMATOR_FUNCTIONS",
    "SOURCE",
    "estimation_manifest",
    "estimator_manifest",
    "generate_estimator_c",
    "step_names",
]

SOURCE = "estimator.c"
"""The generated C's file name in the artifact."""
ESTIMATOR_FUNCTIONS = {"substep": "ekf_substep", "substep_value": "ekf_substep_value", "outputs": "ekf_outputs",
                       "state_jacobian": "ekf_state_jacobian", "model_outputs": "model_outputs",
                       "cw_sens": "cw_sens"}
"""The generated functions, by their role in :class:`mpc.edge.EdgeEstimator`."""


def step_names(n_sub: int) -> dict[str, str]:
    """The generated names of the whole interval's time update at ``n_sub`` sub-steps (with its Jacobian, and
    without)."""
    return {"step": f"ekf_step_n{n_sub}", "step_value": f"ekf_step_value_n{n_sub}"}


def _functions(ekf: DisturbanceEKF) -> list[ca.Function]:
    m, n = ekf.m, ekf.n
    zs, us, solids, _ = ekf._sym
    h = ca.SX.sym("h")
    sub, sub_value = ekf.substep_functions()
    zn, Jn = sub(zs, us, solids, h)
    hy, Hy = ekf._H(zs, us, solids)
    xs = ca.SX.sym("xs", n)
    e = ca.SX.sym("est", m.n_est)
    y = m.outputs_fn()(xs, us, e)  # every output (the estimation block's) and the die coat weight (the gauge's)
    cw = y[m.output_index["coat_weight_die_kg_m2"]]
    names = ESTIMATOR_FUNCTIONS
    # the interval's time update at the estimator's sub-step count, the very expressions the design machine
    # evaluates: the filter is sensitive enough (its innovation covariance spans many decades) that the
    # sub-step loop's Jacobian product, different from the expression's own in the last bit, moved the states
    # by 1e-10 of their scales within ten steps
    F, F0 = ekf._stepper(ekf.n_sub)
    whole = step_names(ekf.n_sub)
    zm = F.mx_in()
    return [
        ca.Function(whole["step"], zm, [ca.densify(o) for o in F(*zm)]),
        ca.Function(whole["step_value"], zm, [ca.densify(F0(*zm))]),
        ca.Function(names["substep"], [zs, us, solids, h], [ca.densify(zn), ca.densify(Jn)]),
        ca.Function(names["substep_value"], [zs, us, solids, h], [ca.densify(sub_value(zs, us, solids, h))]),
        ca.Function(names["outputs"], [zs, us, solids], [ca.densify(hy), ca.densify(Hy)]),
        ca.Function(names["state_jacobian"], [xs, us, e], [ca.densify(ekf._jac(xs, us, e))]),
        ca.Function(names["model_outputs"], [xs, us, e], [ca.densify(y)]),
        ca.Function(names["cw_sens"], [xs, us, e], [ca.densify(cw), ca.densify(ca.jacobian(cw, e)[0])]),
    ]


def generate_estimator_c(ekf: DisturbanceEKF, out_dir: Path) -> Path:
    """Write the estimator's generated C into ``out_dir`` (:data:`SOURCE`); return its path."""
    return generate_c(SOURCE, _functions(ekf), out_dir)


def _bounds(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in a]


def estimation_manifest(est: EstimationStep) -> dict[str, Any]:
    """The manifest's ``estimation`` section: the estimation block's settings and the gauge filter's tuning and
    initial state (the batch plan is the line's, given at run time)."""
    g = est.gauge
    return {
        "output_index": dict(est.output_index),
        "n_bias": len(est.out_bias),
        "n_zones": est.n_zones,
        "flammable": est.flammable,
        "dt_s": est.dt_s,
        "solids_nominal": est.solids_nominal,
        "lel_bias_tau_s": est.lel_bias_tau_s,
        "gauge": {"gauge_m": float(g.gauge_m), "q_per_s": float(g.q), "r": float(g.r_rel), "p0": float(g.var),
                  "gate_sigma": float(g.gate_sigma), "shift_after": int(g.shift_after),
                  "cusum_k": float(g.cusum_k), "cusum_h": float(g.cusum_h)},
    }


def estimator_manifest(ekf: DisturbanceEKF, u_scale: np.ndarray, input_names: list[str]) -> dict[str, Any]:
    """The manifest's ``estimator`` section: everything the edge filter needs besides the library."""
    b = ekf.filter.biases
    return {
        "biases": {"index": [int(i) for i in b.index], "relative": [bool(r) for r in b.relative],
                   "scale": [float(v) for v in b.scale], "gain_scale": float(b.gain_scale),
                   "n_bias": int(b.n_bias), "n_zones": int(b.n_zones)},
        "dt_s": float(ekf.dt_s),
        "n_sub": int(ekf.n_sub),
        "n_states": int(ekf.n),
        "n_est": int(ekf.ne),
        "n_bias": int(ekf.nb),
        "check_every": int(ekf.check_every),
        "jacobian_every": int(ekf.jacobian_every),
        "names": list(ekf.names),
        "bias_names": list(ekf.bias_names),
        "R": [float(v) for v in ekf.R],
        "Q": np.asarray(ekf.Q, float).tolist(),
        "P0": np.asarray(ekf.P, float).tolist(),
        "z0": [float(v) for v in ekf.z],
        "bounds": {"lower": _bounds(ekf.core.lower), "upper": _bounds(ekf.core.upper)},
        "x_scale": [float(v) for v in ekf.m.x_scale],
        "u_scale": [float(v) for v in u_scale],
        "input_names": list(input_names),
        "functions_note": "z = line states / x_scale, disturbance estimates, output biases; us = inputs / u_scale",
    }
