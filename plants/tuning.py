"""SIMC tuning of PI loops from step tests (Skogestad 2003).

A step test moves one input of a line model at its operating point and
records one output; a first-order-plus-dead-time (FOPDT) model
``k exp(-theta s)/(tau s + 1)`` is fitted by least squares, and the SIMC
rules give ``Kc = tau / (k (tau_c + theta))``, ``tau_I = min(tau, 4 (tau_c + theta))``.
``tau_c`` is the closed-loop time constant; calmline uses the "smooth"
choice ``tau_c = max(theta, tau / 3)`` unless a loop says otherwise.

Reference: S. Skogestad, "Simple analytic rules for model reduction and PID
controller tuning", J. Process Control 13 (2003) 291-309.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import least_squares

from plants.line import LineModel
from plants.params import LineParams
from plants.simulate import AdaptiveStepper
from plants.steady import OperatingPoint, steady_state

__all__ = ["Fopdt", "fit_fopdt", "simc_pi", "step_test"]


@dataclass(frozen=True)
class Fopdt:
    """First-order plus dead time: gain, time constant, dead time."""

    gain: float
    tau_s: float
    theta_s: float


def fit_fopdt(t_s: np.ndarray, dy: np.ndarray, du: float) -> Fopdt:
    """Least-squares FOPDT fit to a step response ``dy(t)`` of an input step ``du`` at t = 0."""
    t = np.asarray(t_s, float)
    y = np.asarray(dy, float)
    k0 = y[-1] / du
    # initial guesses from the 28 % / 63 % times (Smith's method)
    yn = y / (y[-1] if y[-1] != 0 else 1.0)
    t28 = float(np.interp(0.283, yn, t)) if np.all(np.diff(yn) >= -1e-9) else t[-1] / 5
    t63 = float(np.interp(0.632, yn, t)) if np.all(np.diff(yn) >= -1e-9) else t[-1] / 3
    tau0 = max(1.5 * (t63 - t28), 1e-3)
    th0 = max(t63 - tau0, 0.0)

    def model(p: np.ndarray) -> np.ndarray:
        k, tau, th = p
        return k * du * np.where(t > th, 1.0 - np.exp(-(t - th) / max(tau, 1e-6)), 0.0)

    fit = least_squares(lambda p: model(p) - y, [k0, tau0, th0],
                        bounds=([-np.inf, 1e-3, 0.0], [np.inf, np.inf, t[-1]]))
    k, tau, th = fit.x
    return Fopdt(float(k), float(tau), float(th))


def simc_pi(m: Fopdt, tau_c_s: float | None = None, extra_dead_time_s: float = 0.0) -> tuple[float, float]:
    """SIMC PI settings ``(Kc, tau_I)`` for a FOPDT model (plus known sensor dead time)."""
    theta = m.theta_s + extra_dead_time_s
    tc = max(theta, m.tau_s / 3.0) if tau_c_s is None else tau_c_s
    kc = m.tau_s / (m.gain * (tc + theta))
    tau_i = min(m.tau_s, 4.0 * (tc + theta))
    return float(kc), float(tau_i)


@lru_cache(maxsize=64)
def step_test(params: LineParams, op: OperatingPoint, input_name: str, output_name: str, rel_step: float,
              duration_s: float = 1200.0, dt_s: float = 2.0) -> Fopdt:
    """Step one input of the model at its steady state by ``rel_step`` (relative) and fit a FOPDT."""
    model = LineModel(params)
    ss = steady_state(model, op)
    names = model.layout.input_names()
    j = names.index(input_name)
    u = ss.u.copy()
    du = rel_step * (abs(u[j]) if u[j] != 0 else 1.0)
    u[j] += du
    step = AdaptiveStepper(model, dt_s, ss.x, u, ss.d)
    _, g = model.casadi_functions()
    k_out = model.output_names().index(output_name)
    y0 = float(np.asarray(g(ss.x, ss.u, ss.d)).ravel()[k_out])
    x = ss.x.copy()
    n = int(duration_s / dt_s)
    ys = np.empty(n)
    for i in range(n):
        x = np.asarray(step(x, u, ss.d)).ravel()
        ys[i] = float(np.asarray(g(x, u, ss.d)).ravel()[k_out]) - y0
    t = np.arange(1, n + 1) * dt_s
    return fit_fopdt(t, ys, du)
