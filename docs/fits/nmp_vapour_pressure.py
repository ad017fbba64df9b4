"""Refit the NMP saturation-pressure coefficients used in plants.properties.NMP_WAGNER.

Data: INRS FT213 (39 Pa at 20 degC, taken as 37 Pa, the middle of the
published 32-39 Pa; 133 Pa at 40 degC), 15 points of the Landolt-Boernstein
Antoine equation over its validity range 336-477 K, and the normal boiling
point 203 degC (INRS: 202-204 degC). Form: Wagner 3-6 anchored at the
critical point (Tc = 721.7 K, pc = 4.52 MPa).

Run: python docs/fits/nmp_vapour_pressure.py
"""

import numpy as np
from scipy.optimize import brentq, least_squares

T_l = np.linspace(336.0, 477.0, 15)
lnP_l = 21.13775 - 3811.446 / (T_l - 80.355)
T = np.r_[293.15, 313.15, T_l, 476.15]
lnP = np.r_[np.log(37.0), np.log(133.0), lnP_l, np.log(101325.0)]
w = np.r_[2.0, 2.0, np.full(T_l.size, 1.5), 4.0]
Tc, Pc = 721.7, 4.52e6


def model(p, t):
    a, b, c, d = p
    tau = 1.0 - t / Tc
    return np.log(Pc) + (Tc / t) * (a * tau + b * tau**1.5 + c * tau**3 + d * tau**6)


fit = least_squares(lambda p: w * (model(p, T) - lnP), [-8.0, 2.0, -3.0, -3.0])
psat = lambda t: np.exp(model(fit.x, t))  # noqa: E731
print("coefficients:", fit.x.tolist())
print(f"20 degC {psat(293.15):.1f} Pa, 40 degC {psat(313.15):.1f} Pa, 80 degC {psat(353.15):.0f} Pa")
print(f"normal boiling point {brentq(lambda t: psat(t) - 101325.0, 400, 560) - 273.15:.2f} degC")
print(f"max deviation from Landolt-Boernstein: {np.max(np.abs(model(fit.x, T_l) - lnP_l)) * 100:.2f} %")
