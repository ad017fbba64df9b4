"""``calmline plant validate``: the physics report.

Each check computes a value from the model, sets it against a reference
(a published figure or a conservation law) with a stated tolerance, and
gives a verdict. The report fails when any check fails.

Dryer settings used by the comparison checks are stated in each check's
``note``; the Susarla, Ahmed & Dees (2018) shapes are compared "on the same
dryer settings and the same wet film thickness" as described there.

References
----------
.. [SAD2018] N. Susarla, S. Ahmed, D. W. Dees, "Modeling and analysis of
   solvent removal during Li-ion battery electrode drying", J. Power Sources
   378 (2018) 660-670.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from plants.coater import slurry_density_kg_m3
from plants.design import ventilated_steady_state
from plants.line import LineModel
from plants.presets import get_preset, nominal_operating_point
from plants.properties import (
    nmp_p_sat_Pa,
    water_p_sat_Pa,
)
from plants.steady import OperatingPoint, SteadyState, steady_state

__all__ = ["Check", "ValidationReport", "validate_preset"]

WET_THICKNESS_M = 150e-6
"""Wet film thickness of the Susarla comparison (both slurries), m."""
COMPARE_AIR_TEMP_K = 343.15
"""Air temperature of the drying-time comparison (all zones), K."""
COMPARE_NOZZLE_M_S = 15.0
"""Nozzle velocity of the drying-time comparison (all zones), m/s."""
WATER_EXHAUST_HUMIDITY = 0.10
"""Exhaust humidity ratio a water dryer is ventilated to (assumption: about 52 degC dew point), kg/kg."""
NMP_EXHAUST_LEL = 0.25
"""LEL fraction an NMP dryer is ventilated to without an analyser (NFPA 86)."""


@dataclass(frozen=True)
class Check:
    """One line of the physics report."""

    name: str
    value: float
    reference: float | str
    unit: str
    tolerance: str
    passed: bool
    note: str = ""


@dataclass
class ValidationReport:
    """All checks for one preset."""

    preset: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        return {"preset": self.preset, "passed": self.passed, "checks": [asdict(c) for c in self.checks]}


# --- helpers -----------------------------------------------------------------


def _model(name: str, cells: int | None = None) -> LineModel:
    p = get_preset(name)
    if cells is not None:
        p = p.replace(dryer={"cells_per_zone": cells})
    return LineModel(p)


def _ventilated(model: LineModel, op: OperatingPoint) -> SteadyState:
    """Steady state with each zone's exhaust sized by the solvent's ventilation rule.

    NMP: the exhaust holding the zone at ``NMP_EXHAUST_LEL`` of the
    temperature-corrected LEL; water: at ``WATER_EXHAUST_HUMIDITY``
    (:func:`plants.design.ventilated_steady_state`, exhausts within 0.02 m3/s and ten
    times the preset's largest).
    """
    flammable = model.params.solvent.lel_vol_frac > 0
    return ventilated_steady_state(
        model, op, lel_frac=NMP_EXHAUST_LEL if flammable else None,
        humidity_ratio_kg_kg=None if flammable else WATER_EXHAUST_HUMIDITY,
        exhaust_min_m3_s=0.02, exhaust_max_m3_s=model.params.dryer.exhaust_max_m3_s * 10,
    )


def _coat_weight_for_wet_thickness(name: str) -> float:
    p = get_preset(name)
    w = p.coater.solids_frac_nominal
    return WET_THICKNESS_M * float(slurry_density_kg_m3(w, p.coater, p.solvent)) * w


@lru_cache(maxsize=8)
def _drying_time_s(name: str) -> float:
    """Time for the solvent load to fall to 5 % of its initial value, uniform dryer settings."""
    model = _model(name, cells=16)
    L = model.layout
    cw = _coat_weight_for_wet_thickness(name)
    n = L.n_zones
    for speed in (0.2, 0.08, 0.03):
        op = OperatingPoint(
            speed_m_s=speed,
            coat_weight_kg_m2=cw,
            air_temp_K=(COMPARE_AIR_TEMP_K,) * n,
            nozzle_velocity_m_s=(COMPARE_NOZZLE_M_S,) * n,
            exhaust_m3_s=(4.0,) * n,
        )
        ss = steady_state(model, op)
        s_in = cw * (1.0 - model.params.coater.solids_frac_nominal) / model.params.coater.solids_frac_nominal
        frac = np.r_[1.0, ss.x[L.solvent_load] / s_in]
        z = np.arange(L.n_cells + 1) * model.cell_length_m
        below = np.flatnonzero(frac < 0.05)
        if below.size:
            k = int(below[0])
            z_dry = float(np.interp(0.05, [frac[k], frac[k - 1]], [z[k], z[k - 1]]))
            return z_dry / speed
    return math.inf


@lru_cache(maxsize=8)
def _energy_per_kg(name: str) -> tuple[float, float]:
    """(total dryer energy, make-up-air heating) per kg of solvent evaporated, J/kg.

    Same air temperature and nozzle velocity for both solvents, same wet film
    thickness; line speed set so the film is dry (5 % of its solvent left)
    at the dryer exit; exhaust by each solvent's ventilation rule.
    """
    model = _model(name)
    n = model.layout.n_zones
    t_dry = _drying_time_s(name)
    speed = model.dryer_length_m / t_dry
    op = OperatingPoint(
        speed_m_s=speed,
        coat_weight_kg_m2=_coat_weight_for_wet_thickness(name),
        air_temp_K=(COMPARE_AIR_TEMP_K,) * n,
        nozzle_velocity_m_s=(COMPARE_NOZZLE_M_S,) * n,
        exhaust_m3_s=(1.0,) * n,
    )
    ss = _ventilated(model, op)
    b = model.balances(ss.x, ss.u, ss.d)
    evap = b["solvent_evaporated_kg_s"]
    return ss.y["dryer_power_W"] / evap, b["makeup_heat_W"] / evap


def _remaining_after_zone(ss: SteadyState, model: LineModel, zone: int) -> float:
    return float(ss.y[f"zone{zone}_residual_kg_kg"])


# --- checks ------------------------------------------------------------------


def _rel_check(name: str, value: float, ref: float, unit: str, rel_tol: float, note: str) -> Check:
    ok = abs(value - ref) <= rel_tol * abs(ref)
    return Check(name, float(value), ref, unit, f"+/-{rel_tol * 100:g} %", bool(ok), note)


def _property_checks(name: str) -> list[Check]:
    p = get_preset(name)
    out: list[Check] = []
    if p.solvent.vapour_pressure == "nmp":
        out.append(
            _rel_check("nmp_p_sat_20C", float(nmp_p_sat_Pa(293.15)), 39.0, "Pa", 0.15,
                       "INRS FT213 (published 32-39 Pa at 20 degC)")
        )
        out.append(_rel_check("nmp_p_sat_40C", float(nmp_p_sat_Pa(313.15)), 133.0, "Pa", 0.15, "INRS FT213"))
        tb = brentq(lambda t: float(nmp_p_sat_Pa(t)) - 101325.0, 400.0, 560.0)
        ok = 475.15 - 2.0 <= tb <= 477.15 + 2.0
        out.append(Check("nmp_normal_boiling_point", tb, "475.15-477.15", "K", "+/-2 K", bool(ok),
                         "INRS FT213: 202-204 degC"))
        vol = float(nmp_p_sat_Pa(353.15)) / 101325.0
        out.append(_rel_check("nmp_saturated_vol_frac_80C", vol, 0.013, "1", 0.10,
                              "saturated vapour at 80 degC near the LEL 1.3 vol% (flash point 86-91 degC)"))
    out.append(_rel_check("water_p_sat_25C", float(water_p_sat_Pa(298.15)), 3169.9, "Pa", 0.01, "IAPWS-95"))
    return out


def _balance_checks(name: str) -> list[Check]:
    model = _model(name)
    op = nominal_operating_point(name)
    ss = steady_state(model, op)
    b = model.balances(ss.x, ss.u, ss.d)
    mass_in = b["solvent_in_kg_s"]
    mass_err = abs(mass_in - b["solvent_evaporated_kg_s"] - b["solvent_out_kg_s"]) / mass_in
    web_energy_err = abs(
        b["heat_to_web_W"] - (b["web_enthalpy_out_W"] - b["web_enthalpy_in_W"]) - b["latent_and_vapour_W"]
    ) / b["heat_to_web_W"]
    air_in = b["heater_delivered_W"] + b["fan_power_W"]
    air_err = abs(air_in - b["makeup_heat_W"] - b["wall_loss_W"] - b["heat_to_web_W"]) / air_in
    dry_err = abs(b["dry_in_kg_s"] - b["dry_out_kg_s"]) / b["dry_in_kg_s"]
    note = f"nominal operating point, steady state (residual {ss.residual_norm:.1e})"
    return [
        Check("solvent_mass_balance", mass_err, 0.0, "relative", "<= 1e-6", bool(mass_err <= 1e-6),
              note + f"; in {mass_in:.5g} kg/s"),
        Check("dry_mass_balance", dry_err, 0.0, "relative", "<= 1e-6", bool(dry_err <= 1e-6), note),
        Check("web_energy_balance", web_energy_err, 0.0, "relative", "<= 1e-3", bool(web_energy_err <= 1e-3),
              note + f"; heat to web {b['heat_to_web_W'] / 1e3:.1f} kW"),
        Check("dryer_air_energy_balance", air_err, 0.0, "relative", "<= 1e-3", bool(air_err <= 1e-3),
              note + f"; heaters delivered + fans {air_in / 1e3:.1f} kW"),
    ]


def _susarla_checks() -> list[Check]:
    settings = (
        f"air {COMPARE_AIR_TEMP_K - 273.15:.0f} degC and {COMPARE_NOZZLE_M_S:g} m/s nozzles in every zone, "
        f"wet film {WET_THICKNESS_M * 1e6:.0f} um for both slurries"
    )
    t_nmp = _drying_time_s("nmc_nmp")
    t_w = _drying_time_s("graphite_water")
    ratio = t_nmp / t_w
    out = [
        Check("drying_time_ratio_nmp_to_water", ratio, 4.5, "1", "2.25-9 (factor 2)", bool(2.25 <= ratio <= 9.0),
              f"time to 5 % solvent left: NMP {t_nmp:.0f} s, water {t_w:.0f} s; {settings}; exhaust 4 m3/s per zone")
    ]
    e_nmp, air_nmp = _energy_per_kg("nmc_nmp")
    e_w, air_w = _energy_per_kg("graphite_water")
    vent = (
        f"{settings}; speed set so each film is dry at the exit; exhaust sized to {NMP_EXHAUST_LEL:.0%} LEL "
        f"(NMP) or {WATER_EXHAUST_HUMIDITY * 1e3:.0f} g/kg exhaust humidity (water)"
    )
    out.append(
        Check("ventilation_energy_per_kg_water_to_nmp", air_w / air_nmp, 0.1, "1", "< 1/3",
              bool(air_w / air_nmp < 1.0 / 3.0),
              f"make-up-air heating per kg solvent (the energy Susarla et al. compare): water "
              f"{air_w / 1e6:.2f} MJ/kg, NMP {air_nmp / 1e6:.2f} MJ/kg; {vent}")
    )
    out.append(
        Check("dryer_energy_per_kg_water_to_nmp", e_w / e_nmp, "< 1", "1", "< 1", bool(e_w / e_nmp < 1.0),
              f"whole dryer (heaters, fans and solvent recovery; latent heat included): water {e_w / 1e6:.2f} MJ/kg, "
              f"NMP {e_nmp / 1e6:.2f} MJ/kg; water's latent heat alone is 2.33 MJ/kg")
    )
    out.append(_staged_vs_single())
    return out


@lru_cache(maxsize=1)
def _staged_vs_single() -> Check:
    name = "nmc_nmp"
    model = _model(name)
    n = model.layout.n_zones
    # Gentle while most of the solvent leaves (where the LEL-bound exhaust is
    # large), hot in the falling-rate zone where little exhaust is needed.
    staged = (363.15, 363.15, 363.15, 403.15)
    speed = 0.7
    noz = (20.0,) * n

    def run(temps: tuple[float, ...]) -> SteadyState:
        op = OperatingPoint(speed_m_s=speed, coat_weight_kg_m2=0.2, air_temp_K=temps,
                            nozzle_velocity_m_s=noz, exhaust_m3_s=(1.0,) * n)
        return _ventilated(model, op)

    ss_staged = run(staged)
    target = ss_staged.y["exit_residual_kg_kg"]

    def gap(t: float) -> float:
        return math.log(run((t,) * n).y["exit_residual_kg_kg"]) - math.log(target)

    t_single = brentq(gap, 340.0, staged[-1], xtol=0.05)
    ss_single = run((t_single,) * n)
    e_st = ss_staged.y["dryer_power_W"]
    e_si = ss_single.y["dryer_power_W"]
    return Check(
        "staged_profile_saves_energy",
        e_st / e_si,
        "< 1",
        "1",
        "< 1",
        bool(e_st < e_si),
        f"NMP at {speed} m/s, exit residual {target:.4f} kg/kg: staged {tuple(round(t - 273.15) for t in staged)} "
        f"degC uses {e_st / 1e3:.0f} kW, one temperature {t_single - 273.15:.1f} degC in every zone "
        f"uses {e_si / 1e3:.0f} kW (exhaust at {NMP_EXHAUST_LEL:.0%} LEL)",
    )


def _monotonic_checks(name: str) -> list[Check]:
    model = _model(name)
    op = nominal_operating_point(name)
    base = steady_state(model, op)
    is_nmp = model.params.solvent.lel_vol_frac > 0
    z = 2
    out = []

    def remaining(ss: SteadyState) -> float:
        return _remaining_after_zone(ss, model, z)

    faster_air = steady_state(model, OperatingPoint(**{**op.__dict__, "nozzle_velocity_m_s": tuple(
        1.2 * v for v in op.nozzle_velocity_m_s)}))
    hotter = steady_state(model, OperatingPoint(**{**op.__dict__, "air_temp_K": tuple(
        t + 10.0 for t in op.air_temp_K)}))
    speeds = [1.0, 1.1, 1.2, 1.3]
    by_speed = [
        steady_state(model, OperatingPoint(**{**op.__dict__, "speed_m_s": op.speed_m_s * k})) for k in speeds
    ]
    faster_line = by_speed[1]
    out.append(Check("more_airflow_dries_faster", remaining(faster_air), remaining(base), "kg/kg",
                     "< reference", remaining(faster_air) < remaining(base),
                     f"solvent content after zone {z}, nozzle velocity +20 % vs nominal"))
    out.append(Check("hotter_air_dries_faster", remaining(hotter), remaining(base), "kg/kg",
                     "< reference", remaining(hotter) < remaining(base),
                     f"solvent content after zone {z}, air +10 K vs nominal"))
    res = [ss.y["exit_residual_kg_kg"] for ss in by_speed]
    mono = all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(res)) and res[-1] > res[0] * (1 + 1e-6)
    out.append(Check("higher_speed_leaves_more_solvent", res[-1], res[0], "kg/kg", "non-decreasing, > reference",
                     bool(mono),
                     "exit residual at 1.0/1.1/1.2/1.3 x nominal speed, same coat weight: "
                     + ", ".join(f"{r:.5f}" for r in res)))
    key = "lel_frac" if is_nmp else "humidity_ratio_kg_kg"
    n = model.layout.n_zones
    hi = max(faster_line.y[f"zone{i}_{key}"] for i in range(1, n + 1))
    lo = max(base.y[f"zone{i}_{key}"] for i in range(1, n + 1))
    out.append(Check(f"higher_speed_raises_zone_{'lel' if is_nmp else 'humidity'}", hi, lo,
                     "1" if is_nmp else "kg/kg", "> reference", hi > lo,
                     "highest zone value, speed +10 % at the same coat weight and exhaust"))
    return out


def validate_preset(name: str) -> ValidationReport:
    """Run every physics check for the preset ``name``."""
    get_preset(name)  # clear error for an unknown name
    rep = ValidationReport(preset=name)
    rep.checks += _property_checks(name)
    rep.checks += _balance_checks(name)
    rep.checks += _susarla_checks()
    rep.checks += _monotonic_checks(name)
    return rep
