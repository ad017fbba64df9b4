"""Impingement dryer: heat and mass transfer, drying kinetics, zone air.

Equations (symbols as in ``docs/theory.md``):

* heat transfer of slot-nozzle arrays (Martin 1977)
  ``Nu = (2/3) f0**(3/4) (2 Re / (f/f0 + f0/f))**(2/3) Pr**0.42``, with
  ``Re = w 2S / nu``, ``Nu = h 2S / k``, ``f0 = (60 + 4 (H/2S - 2)**2)**(-1/2)``,
  so ``h ~ w**(2/3)``; a free-convection floor of 3 W/(m2 K) (assumption);
* mass transfer by the Chilton-Colburn analogy ``beta = h / (rho cp Le**(2/3))``;
* constant-rate evaporation ``m = beta M/(R T_f) (p_sat(T_f) - p_zone)``, or the
  Stefan (high-flux) form ``m = beta p M/(R T_f) ln((p - p_zone)/(p - p_sat))``
  for water; falling rate ``m = m_CRP min(1, (x - x_eq)/(x_cr - x_eq))`` with
  ``x = S/m_A`` on a dry basis, and ``x_eq = x_eq0 + K p_zone/p_sat(T_f)`` (a linear
  sorption isotherm);
* binder migration: the drying rate inside the critical stage (solvent content
  between ``x_cr`` and ``x_cr + dx_crit``) against its named limit.

References
----------
.. [M1977] H. Martin, "Heat and mass transfer between impinging gas jets and
   solid surfaces", Adv. Heat Transfer 13 (1977) 1-60.
.. [CC1934] T. H. Chilton, A. P. Colburn, Ind. Eng. Chem. 26 (1934) 1183.
.. [J2017] S. Jaiser et al., "Microstructure formation of lithium-ion battery
   electrodes during drying", J. Power Sources 345 (2017) 97-107 (binder
   migration during the critical stage).
"""

from __future__ import annotations

from typing import Any

from plants.backend import ArrayOps
from plants.params import DryerParams, SolventParams
from plants.properties import (
    AIR_CP_J_KGK,
    GAS_CONSTANT_J_MOLK,
    air_conductivity_W_mK,
    air_density_kg_m3,
    air_viscosity_Pa_s,
    nmp_p_sat_Pa,
    water_p_sat_Pa,
)

__all__ = [
    "critical_stage_weight",
    "equilibrium_content_kg_kg",
    "evaporation_flux_kg_m2_s",
    "falling_rate_factor",
    "heat_transfer_coeff_W_m2K",
    "mass_transfer_coeff_m_s",
    "rounded_max",
    "rounded_min",
    "solvent_p_sat_Pa",
]


def solvent_p_sat_Pa(ops: ArrayOps, T_K: Any, solvent: SolventParams) -> Any:
    """Saturation pressure of the solvent at ``T_K``."""
    if solvent.vapour_pressure == "nmp":
        return nmp_p_sat_Pa(T_K, ops=ops)
    return water_p_sat_Pa(T_K, ops=ops)


def heat_transfer_coeff_W_m2K(
    ops: ArrayOps, nozzle_velocity_m_s: Any, air_temp_K: Any, dryer: DryerParams
) -> Any:
    """Heat-transfer coefficient of one web side under the slot-nozzle array, W/(m2 K)."""
    d_h = 2.0 * dryer.slot_width_m
    f = dryer.open_area_frac
    f0 = (60.0 + 4.0 * (dryer.nozzle_to_web_m / d_h - 2.0) ** 2) ** -0.5
    k = air_conductivity_W_mK(air_temp_K)
    mu = air_viscosity_Pa_s(air_temp_K)
    rho = air_density_kg_m3(air_temp_K, dryer.pressure_Pa)
    pr = mu * AIR_CP_J_KGK / k
    re = rho * ops.maximum(nozzle_velocity_m_s, 0.05) * d_h / mu
    nu = (2.0 / 3.0) * f0**0.75 * (2.0 * re / (f / f0 + f0 / f)) ** (2.0 / 3.0) * pr**0.42
    return dryer.heat_transfer_multiplier * nu * k / d_h + 3.0


def mass_transfer_coeff_m_s(h_W_m2K: Any, air_temp_K: Any, dryer: DryerParams, solvent: SolventParams) -> Any:
    """Chilton-Colburn mass-transfer coefficient, m/s (diffusivity ~ T**1.75, Fuller)."""
    rho = air_density_kg_m3(air_temp_K, dryer.pressure_Pa)
    k = air_conductivity_W_mK(air_temp_K)
    diff = solvent.diffusivity_air_m2_s * (air_temp_K / 298.15) ** 1.75 * (101325.0 / dryer.pressure_Pa)
    lewis = k / (rho * AIR_CP_J_KGK * diff)
    return h_W_m2K / (rho * AIR_CP_J_KGK * lewis ** (2.0 / 3.0))


def rounded_min(ops: ArrayOps, a: Any, c: float, half_width: Any) -> Any:
    """``min(a, c)`` with its corner rounded by a quadratic over ``[c - w, c + w]`` (``w = half_width``).

    Exact outside that interval, continuously differentiable everywhere, at most
    ``w / 4`` below ``min(a, c)`` (at ``a = c``). ``w`` may be symbolic (a calibrated
    parameter enters it); a plain number ``w <= 0`` gives the exact minimum.
    The Huber-type rounding used to make piecewise-linear laws fit for Newton-type
    solvers (e.g. Chen & Mangasarian, "Smoothing methods for convex inequalities and
    linear complementarity problems", Math. Programming 71, 1995, use the smooth
    plus function in the same role).
    """
    if isinstance(half_width, int | float) and half_width <= 0.0:
        return ops.minimum(a, c)
    w = ops.clip(a - (c - half_width), 0.0, 2.0 * half_width)
    return ops.minimum(a, c - half_width) + w - w * w / (4.0 * half_width)


def rounded_max(ops: ArrayOps, a: Any, c: float, half_width: Any) -> Any:
    """``max(a, c)`` rounded like :func:`rounded_min` (at most ``w / 4`` above it)."""
    return -rounded_min(ops, -a, -c, half_width)


def falling_rate_factor(ops: ArrayOps, content_kg_kg: Any, dryer: DryerParams,
                        equilibrium_kg_kg: Any = None, critical_kg_kg: Any = None) -> Any:
    """``min(1, max(0, (x - x_eq)/(x_cr - x_eq)))**n`` on a dry basis (``n``: ``dryer.falling_rate_exponent``).

    ``equilibrium_kg_kg`` is the local equilibrium content (default: the
    constant ``dryer.equilibrium_content_kg_kg``; see :func:`equilibrium_content_kg_kg`);
    ``critical_kg_kg`` the film's critical content (default ``dryer.critical_content_kg_kg``).
    With ``dryer.rate_law_smoothing_kg_kg > 0`` the corner at the critical content
    is rounded (:func:`rounded_min`); the one at the equilibrium content stays exact
    (the film approaches it but never crosses it, and the exit residual sits just
    above it, where a rounding would change the drying rate).
    """
    x_eq = dryer.equilibrium_content_kg_kg if equilibrium_kg_kg is None else equilibrium_kg_kg
    x_cr = dryer.critical_content_kg_kg if critical_kg_kg is None else critical_kg_kg
    span = x_cr - x_eq
    z = (content_kg_kg - x_eq) / span
    if dryer.rate_law_smoothing_kg_kg <= 0.0:
        f = ops.clip(z, 0.0, 1.0)
    else:
        f = ops.maximum(rounded_min(ops, z, 1.0, dryer.rate_law_smoothing_kg_kg / span), 0.0)
    n = dryer.falling_rate_exponent
    if isinstance(n, int | float) and n == 1.0:  # the linear law (n may be symbolic in a calibration)
        return f
    return f**n


def critical_stage_weight(ops: ArrayOps, content_kg_kg: Any, dryer: DryerParams,
                          critical_kg_kg: Any = None) -> Any:
    """1 inside the critical stage ``[x_cr, x_cr + dx]``, falling linearly to 0 over ``dx/2`` each side.

    ``critical_kg_kg`` is the film's critical content ``x_cr`` (default ``dryer.critical_content_kg_kg``).
    With ``dryer.rate_law_smoothing_kg_kg > 0`` its four corners are rounded
    (:func:`rounded_min`, :func:`rounded_max`).
    """
    lo = dryer.critical_content_kg_kg if critical_kg_kg is None else critical_kg_kg
    hi = lo + dryer.critical_window_kg_kg
    ramp = 0.5 * dryer.critical_window_kg_kg
    up = (content_kg_kg - (lo - ramp)) / ramp
    down = ((hi + ramp) - content_kg_kg) / ramp
    if dryer.rate_law_smoothing_kg_kg <= 0.0:
        return ops.clip(ops.minimum(up, down), 0.0, 1.0)
    w = dryer.rate_law_smoothing_kg_kg / ramp
    # min(up, down) has its corner at 2 (mid-window), inside the flat top: it needs no rounding
    return rounded_max(ops, rounded_min(ops, ops.minimum(up, down), 1.0, w), 0.0, w)


def evaporation_flux_kg_m2_s(
    ops: ArrayOps,
    film_temp_K: Any,
    zone_p_Pa: Any,
    beta_m_s: Any,
    content_kg_kg: Any,
    dryer: DryerParams,
    solvent: SolventParams,
    critical_kg_kg: Any = None,
) -> Any:
    """Evaporation flux per coated area, kg/(m2 s): constant rate times the falling-rate factor.

    ``critical_kg_kg`` is the film's critical content (default ``dryer.critical_content_kg_kg``).

    The falling rate runs down to the local equilibrium content
    (:func:`equilibrium_content_kg_kg`), which rises with the zone air's
    relative saturation at the film temperature.
    """
    p_sat_pure = solvent_p_sat_Pa(ops, film_temp_K, solvent)
    p_sat = dryer.solvent_activity * p_sat_pure  # at the film surface
    c_mol = solvent.molar_mass_kg_mol / (GAS_CONSTANT_J_MOLK * film_temp_K)
    if solvent.stefan_correction:
        p = dryer.pressure_Pa
        p_sat_c = ops.minimum(p_sat, 0.95 * p)
        p_zone_c = ops.minimum(zone_p_Pa, 0.95 * p)
        crp = beta_m_s * p * c_mol * ops.log((p - p_zone_c) / (p - p_sat_c))
    else:
        crp = beta_m_s * c_mol * (p_sat - zone_p_Pa)
    x_eq = equilibrium_content_kg_kg(ops, zone_p_Pa / p_sat_pure, dryer)
    return crp * falling_rate_factor(ops, content_kg_kg, dryer, x_eq, critical_kg_kg)


def equilibrium_content_kg_kg(ops: ArrayOps, relative_saturation: Any, dryer: DryerParams) -> Any:
    """Equilibrium solvent content of the film (dry basis), kg/kg: ``x_eq0 + K phi``.

    ``phi = p_zone / p_sat(T_film)``, clipped to [0, 1], is the relative
    saturation of the zone air at the film temperature (the relative humidity
    of a water dryer); ``x_eq0`` (``dryer.equilibrium_content_kg_kg``) is the
    content left in solvent-free air and ``K`` (``dryer.sorption_slope_kg_kg``)
    the slope of a linear (Henry-law) sorption isotherm, which holds at the low
    relative saturations of a dryer's last zones. So the exit residual depends
    on the last zones' film temperature and solvent partial pressure: a hotter
    film or a leaner zone air dries further. The film only desorbs: below the
    local equilibrium the falling-rate factor is 0, not negative.
    """
    phi = ops.clip(relative_saturation, 0.0, 1.0)
    return dryer.equilibrium_content_kg_kg + dryer.sorption_slope_kg_kg * phi
