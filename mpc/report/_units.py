"""Display units for people: every SI -> engineering-unit conversion the report uses.

SI stays inside calmline (``docs/theory.md``, units); the report converts only at
the point of display, and only through the functions here, so a reader who
doubts a figure has one place to check.

Each function accepts a float or a NumPy array (or anything NumPy can
broadcast) and returns the same shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "K_to_degC",
    "W_to_kW",
    "frac_to_pct",
    "kg_kg_to_g_kg",
    "kg_kg_to_pct",
    "kg_m2_to_mg_cm2",
    "m3_s_to_l_min",
    "m_s_to_m_min",
    "s_to_h",
    "time_axis",
    "ws_to_kwh",
]

_ZERO_CELSIUS_K = 273.15


def kg_m2_to_mg_cm2(x: Any) -> Any:
    """Areal loading kg/m2 -> mg/cm2 (1 kg/m2 = 1e6 mg / 1e4 cm2 = 100 mg/cm2)."""
    return np.multiply(x, 100.0)


def K_to_degC(x: Any) -> Any:
    """Temperature K -> degC."""
    return np.subtract(x, _ZERO_CELSIUS_K)


def m_s_to_m_min(x: Any) -> Any:
    """Speed m/s -> m/min."""
    return np.multiply(x, 60.0)


def W_to_kW(x: Any) -> Any:
    """Power W -> kW."""
    return np.multiply(x, 1e-3)


def frac_to_pct(x: Any) -> Any:
    """Fraction (0-1) -> percent (0-100): % LEL, coefficient of variation, ..."""
    return np.multiply(x, 100.0)


def kg_kg_to_pct(x: Any) -> Any:
    """Solvent content kg/kg (dry basis) -> % (dry basis)."""
    return np.multiply(x, 100.0)


def kg_kg_to_g_kg(x: Any) -> Any:
    """Humidity ratio kg/kg (dry air) -> g/kg."""
    return np.multiply(x, 1e3)


def m3_s_to_l_min(x: Any) -> Any:
    """Volume flow m3/s -> L/min (slurry pump flow)."""
    return np.multiply(x, 60e3)


def s_to_h(x: Any) -> Any:
    """Duration s -> h."""
    return np.divide(x, 3600.0)


def ws_to_kwh(x: Any) -> Any:
    """Energy J (W s) -> kWh."""
    return np.divide(x, 3.6e6)


def time_axis(span_s: float) -> tuple[float, str]:
    """Choose a readable unit for a time axis.

    Parameters
    ----------
    span_s : float
        Length of the plotted period, s.

    Returns
    -------
    divisor : float
        Divide seconds by this to get the axis value.
    label : str
        Axis label with the unit, e.g. ``"time (h)"``.
    """
    if span_s > 3.0 * 3600.0:
        return 3600.0, "time (h)"
    if span_s > 600.0:
        return 60.0, "time (min)"
    return 1.0, "time (s)"
