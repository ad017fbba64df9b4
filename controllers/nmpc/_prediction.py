"""How accurately the NMPC's discretisation predicts the constrained outputs over its horizon.

do-mpc discretises the continuous model by orthogonal collocation on Radau points
(``collocation_deg``, ``collocation_ni`` finite elements per step). This module
integrates the same continuous model with CasADi's collocation integrator on the
same points (Radau IIA, the same degree and elements: the same equations do-mpc
writes into its NLP) and with a fine RK4 reference, for the standard input steps
from the recipe's steady state, and reports per output the largest error over the
horizon as a fraction of the reference step response's largest change.

The model is the controller's physics without the PLC's temperature loops (the
heater powers as inputs): the discretisation error is the continuous model's, and
the loops' PI and thermocouple states are slower than the film and zone modes that
set it.
"""

from __future__ import annotations

from typing import Any

import casadi as ca
import numpy as np

from controllers.nmpc._model import NmpcModel

__all__ = ["STANDARD_STEPS", "prediction_errors"]

STANDARD_STEPS: dict[str, tuple[str, float]] = {
    "exhaust -20 %": ("u_exhaust", 0.8),
    "speed +10 %": ("u_speed", 1.1),
    "nozzles -20 %": ("u_nozzle", 0.8),
    "heaters -20 %": ("u_heater", 0.8),
}
"""The standard steps: every zone's input of a kind (or the line speed) times a factor, held over the horizon."""


def _outputs(m: NmpcModel) -> list[str]:
    n = m.layout.n_zones
    zone = "lel_frac" if m.params.solvent.lel_vol_frac > 0 else "humidity_ratio_kg_kg"
    return [*(f"zone{i}_{zone}" for i in range(1, n + 1)), "exit_residual_kg_kg", "exit_film_temp_K"]


def _collocation_step(m: NmpcModel, t_step_s: float, deg: int, elements: int) -> ca.Function:
    """``F(xs, us, est)`` over one NMPC step by Radau collocation of degree ``deg`` on ``elements`` finite elements."""
    xs, us, est = ca.SX.sym("xs", m.layout.n_states), ca.SX.sym("us", m.layout.n_inputs), ca.SX.sym("est", m.n_est)
    dae = {"x": xs, "p": ca.vertcat(us, est), "ode": m.scaled_rhs()(xs, us, est)}
    opts = {"number_of_finite_elements": elements, "interpolation_order": deg, "collocation_scheme": "radau",
            "rootfinder": "newton", "rootfinder_options": {"error_on_fail": True}}
    F = ca.integrator("colloc", "collocation", dae, 0.0, t_step_s, opts)
    return ca.Function("F_colloc", [xs, us, est], [F(x0=xs, p=ca.vertcat(us, est))["xf"]])


def prediction_errors(m: NmpcModel, *, t_step_s: float = 20.0, n_horizon: int = 6, deg: int = 1,
                      elements: int = 1, fine_substeps: int = 400) -> dict[str, Any]:
    """Largest prediction error over the horizon per standard step and output.

    Parameters
    ----------
    m : NmpcModel
        The controller's model (its recipe's steady state is the starting point).
    t_step_s, n_horizon : float, int
        NMPC step and horizon.
    deg, elements : int
        Radau collocation degree and finite elements per step (do-mpc's ``collocation_deg`` and
        ``collocation_ni``; the NMPC's ``"tuned"`` configuration: degree 1, ``collocation_elements``).
    fine_substeps : int
        RK4 sub-steps per NMPC step of the reference.

    Returns
    -------
    dict
        ``errors[step][output]``: max over the step ends ``k = 1..n_horizon`` of ``|y_pred - y_ref|``
        divided by max over them of ``|y_ref - y_ref(0)|`` (the reference response's largest change);
        ``worst`` the largest of them, and the settings.
    """
    L = m.layout
    est = m.nominal_estimate()
    x0 = m.ss.x / m.x_scale
    u0 = m.ss.u / m.u_scale
    F = _collocation_step(m, t_step_s, deg, elements)
    R = m.scaled_step(t_step_s, fine_substeps)
    g = m.outputs_fn()
    ix = m.output_index
    names = _outputs(m)
    errors: dict[str, dict[str, float]] = {}
    for step, (block, factor) in STANDARD_STEPS.items():
        u = u0.copy()
        sl = getattr(L, block)
        u[sl] = u0[sl] * factor
        xp, xr = x0.copy(), x0.copy()
        y0 = np.asarray(g(x0, u, est)).ravel()
        yp, yr = [], []
        for _ in range(n_horizon):
            xp = np.asarray(F(xp, u, est)).ravel()
            xr = np.asarray(R(xr, u, est)).ravel()
            yp.append(np.asarray(g(xp, u, est)).ravel())
            yr.append(np.asarray(g(xr, u, est)).ravel())
        yp_a, yr_a = np.array(yp), np.array(yr)
        errors[step] = {}
        for name in names:
            j = ix[name]
            change = float(np.max(np.abs(yr_a[:, j] - y0[j])))
            err = float(np.max(np.abs(yp_a[:, j] - yr_a[:, j])))
            errors[step][name] = err / change if change > 0 else 0.0
    worst = max(v for d in errors.values() for v in d.values())
    return {"errors": errors, "worst": worst, "deg": deg, "elements": elements, "t_step_s": t_step_s,
            "n_horizon": n_horizon, "fine_substeps": fine_substeps, "outputs": names}
