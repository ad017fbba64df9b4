"""Thermophysical property correlations, written once for every back end.

Each function takes the array back end ``ops`` as a keyword (default: NumPy)
so that the same correlation serves the CasADi model, the JAX simulation and
the reports. Temperatures in K, pressures in Pa.

References
----------
.. [WP2002] W. Wagner, A. Pruss, "The IAPWS formulation 1995 for the
   thermodynamic properties of ordinary water substance", J. Phys. Chem. Ref.
   Data 31 (2002) 387-535, eq. 2.5 (saturation pressure).
.. [INRS] INRS Fiche toxicologique FT 213, N-methyl-2-pyrrolidone: vapour
   pressure 39 Pa at 20 degC, 133 Pa at 40 degC; boiling point 202-204 degC;
   LEL 1.3 vol%, UEL 9.5 vol%.
.. [LB] Landolt-Boernstein Antoine parameters for NMP,
   ``ln(P/Pa) = 21.13775 - 3811.446/(T/K - 80.355)``, valid 336-477 K (as
   tabulated in the ``chemicals`` package).
.. [Z1965] M. G. Zabetakis, "Flammability characteristics of combustible
   gases and vapors", US Bureau of Mines Bulletin 627 (1965): lower limit
   falls linearly with temperature, ``L(T) = L25 (1 - 0.000721 (T - 25 degC))``.
.. [ASHRAE] ASHRAE Handbook Fundamentals (2017), ch. 1, eq. 20: humidity
   ratio ``W = 0.621945 p_w / (p - p_w)``.
.. [FSG1966] E. N. Fuller, P. D. Schettler, J. C. Giddings, Ind. Eng. Chem.
   58 (1966) 18: gas diffusivity scales as ``T**1.75``.
"""

from __future__ import annotations

from typing import Any

from plants.backend import ArrayOps, ops_by_name

__all__ = [
    "AIR_CP_J_KGK",
    "AIR_MOLAR_MASS_KG_MOL",
    "GAS_CONSTANT_J_MOLK",
    "NMP_WAGNER",
    "WATER_MOLAR_MASS_KG_MOL",
    "WATER_WAGNER",
    "air_conductivity_W_mK",
    "air_density_kg_m3",
    "air_viscosity_Pa_s",
    "humidity_ratio_kg_kg",
    "lel_temperature_factor",
    "nmp_p_sat_Pa",
    "relative_humidity_frac",
    "wagner_p_sat_Pa",
    "water_p_sat_Pa",
]

GAS_CONSTANT_J_MOLK = 8.314462618
"""Molar gas constant (CODATA 2018), J/(mol K)."""
AIR_MOLAR_MASS_KG_MOL = 0.0289647
"""Molar mass of dry air (ASHRAE Fundamentals 2017), kg/mol."""
WATER_MOLAR_MASS_KG_MOL = 0.018015268
"""Molar mass of water (IAPWS-95), kg/mol."""
AIR_CP_J_KGK = 1007.0
"""Isobaric heat capacity of air near 300-400 K (about 1006-1014 J/(kg K)); constant, assumption."""

# Wagner & Pruss (2002) eq. 2.5 for water: (Tc K, pc Pa, a1..a6).
WATER_WAGNER = (
    647.096,
    22.064e6,
    (-7.85951783, 1.84408259, -11.7866497, 22.6807411, -15.9618719, 1.80122502),
    (1.0, 1.5, 3.0, 3.5, 4.0, 7.5),
)

NMP_WAGNER = (
    721.7,
    4.52e6,
    (-13.757125588880049, 15.098231411056972, -21.981997273254304, 25.102210775799364),
    (1.0, 1.5, 3.0, 6.0),
)
"""NMP saturation pressure, Wagner 3-6 form anchored at the critical point.

``ln(p/pc) = (Tc/T) (a1 t + a2 t**1.5 + a3 t**3 + a4 t**6)``, ``t = 1 - T/Tc``,
with Tc = 721.7 K and pc = 4.52 MPa (literature critical constants of NMP,
used only as the anchor). The four coefficients were fitted by weighted least
squares to the INRS points (39 Pa at 293.15 K taken as 37 Pa, the middle of
the published 32-39 Pa scatter; 133 Pa at 313.15 K), 15 points of the
Landolt-Boernstein Antoine equation over 336-477 K, and the normal boiling
point 203 degC; the script is ``docs/fits/nmp_vapour_pressure.py``. It gives
36.6 Pa at 20 degC, 136 Pa at 40 degC, 1.28 kPa at 80 degC (1.26 vol%, the
LEL), a normal boiling point of 203.3 degC, and stays within 2.3 % of the
Antoine equation over its range; valid from about 280 K to 480 K.
"""


def _np_ops(ops: ArrayOps | None) -> ArrayOps:
    return ops if ops is not None else ops_by_name("numpy")


def wagner_p_sat_Pa(T_K: Any, coeffs: tuple, *, ops: ArrayOps | None = None) -> Any:
    """Saturation pressure from a Wagner-type equation.

    Parameters
    ----------
    T_K : scalar or vector
        Temperature, K. Clipped to ``[0.3 Tc, 0.999 Tc]`` so the expression stays finite.
    coeffs : tuple
        ``(Tc_K, pc_Pa, a, exponents)``.
    ops : ArrayOps, optional
        Array back end (default NumPy).
    """
    o = _np_ops(ops)
    Tc, pc, a, e = coeffs
    T = o.clip(T_K, 0.3 * Tc, 0.999 * Tc)
    tau = 1.0 - T / Tc
    s = 0.0
    for ai, ei in zip(a, e, strict=True):
        s = s + ai * _power(o, tau, ei)
    return pc * o.exp(Tc / T * s)


def _power(o: ArrayOps, base: Any, exponent: float) -> Any:
    """``base**exponent`` with integer and half-integer exponents as products (cheap in XLA)."""
    whole = int(exponent)
    half = exponent - whole
    if half not in (0.0, 0.5) or whole < 0:
        return base**exponent
    out = o.sqrt(base) if half == 0.5 else None
    for _ in range(whole):
        out = base if out is None else out * base
    return out if out is not None else 0.0 * base + 1.0


def water_p_sat_Pa(T_K: Any, *, ops: ArrayOps | None = None) -> Any:
    """Saturation pressure of water, Pa (Wagner & Pruss 2002, IAPWS-95 saturation line).

    3.1699 kPa at 298.15 K; 101.418 kPa at 373.15 K.
    """
    return wagner_p_sat_Pa(T_K, WATER_WAGNER, ops=ops)


def nmp_p_sat_Pa(T_K: Any, *, ops: ArrayOps | None = None) -> Any:
    """Saturation pressure of N-methyl-2-pyrrolidone, Pa (see :data:`NMP_WAGNER`)."""
    return wagner_p_sat_Pa(T_K, NMP_WAGNER, ops=ops)


def lel_temperature_factor(T_K: Any, *, ops: ArrayOps | None = None) -> Any:
    """Factor on the 25 degC lower explosive limit at temperature ``T_K``.

    Zabetakis (1965) linear correction ``1 - 0.000721 (T - 298.15 K)``
    (about 8 % lower per 100 K), the correction commonly used in oven
    ventilation calculations; floored at 0.5.
    """
    o = _np_ops(ops)
    return o.maximum(1.0 - 0.000721 * (T_K - 298.15), 0.5)


def air_density_kg_m3(T_K: Any, p_Pa: Any = 101325.0) -> Any:
    """Ideal-gas density of dry air, kg/m3."""
    return p_Pa * AIR_MOLAR_MASS_KG_MOL / (GAS_CONSTANT_J_MOLK * T_K)


def air_viscosity_Pa_s(T_K: Any) -> Any:
    """Dynamic viscosity of air, Pa s (Sutherland's law, mu0 = 1.716e-5 Pa s at 273.15 K, S = 110.4 K)."""
    return 1.716e-5 * (T_K / 273.15) ** 1.5 * (273.15 + 110.4) / (T_K + 110.4)


def air_conductivity_W_mK(T_K: Any) -> Any:
    """Thermal conductivity of air, W/(m K) (Sutherland form, k0 = 0.0241 at 273.15 K, S = 194 K)."""
    return 0.0241 * (T_K / 273.15) ** 1.5 * (273.15 + 194.0) / (T_K + 194.0)


def humidity_ratio_kg_kg(
    T_K: Any, rh_frac: Any, p_Pa: Any = 101325.0, *, ops: ArrayOps | None = None
) -> Any:
    """Humidity ratio (kg water per kg dry air) of moist air at ``T_K`` and relative humidity."""
    p_w = rh_frac * water_p_sat_Pa(T_K, ops=ops)
    return 0.621945 * p_w / (p_Pa - p_w)


def relative_humidity_frac(
    T_K: Any, humidity_ratio: Any, p_Pa: Any = 101325.0, *, ops: ArrayOps | None = None
) -> Any:
    """Relative humidity (fraction) of moist air with the given humidity ratio."""
    p_w = p_Pa * humidity_ratio / (0.621945 + humidity_ratio)
    return p_w / water_p_sat_Pa(T_K, ops=ops)
