"""Parameter sets of the coating line, validated, with unit and source per field.

Every physical number of a line lives in one :class:`LineParams`; a preset
(:mod:`plants.presets`) fills it in and says for each value where it comes
from or that it is an assumption. A missing field, a NaN or an implausible
value raises :class:`ParameterError` naming the field, the value and the
expected range, so a typo in a parameter file cannot reach the solver.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from plants.errors import CalmlineError

__all__ = [
    "CRITICAL_CONTENT_FACTOR_RANGE",
    "BuildingParams",
    "CoaterParams",
    "DryerParams",
    "LineParams",
    "ParameterError",
    "SolventParams",
    "describe_fields",
    "params_from_dict",
    "params_to_dict",
]


class ParameterError(CalmlineError):
    """A parameter is missing, not finite, or outside its plausible range."""


CRITICAL_CONTENT_FACTOR_RANGE = (0.75, 1.25)
"""Range of the plant's ``critical_content_factor`` (the film's critical content over its nominal value):
the along-web variation is held inside it, and the equilibrium content must stay below its low end."""

HEATER_CARRIERS = ("electricity", "natural_gas", "steam", "thermal_oil")
"""What a dryer's heaters may draw (``dryer.heater_carrier``)."""


def _p(unit: str, lo: float, hi: float, doc: str) -> Any:
    """A required float field with its unit, plausible range and description."""
    return field(metadata={"unit": unit, "range": (lo, hi), "doc": doc})


def _validate(obj: Any, prefix: str) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}"
        meta = f.metadata
        if "range" not in meta:
            continue
        lo, hi = meta["range"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(
                f"{path} = {value!r}: expected a number in {meta['unit']} within [{lo}, {hi}]"
            )
        if not math.isfinite(value):
            raise ParameterError(f"{path} = {value!r}: expected a finite number in [{lo}, {hi}] {meta['unit']}")
        if not lo <= value <= hi:
            hint = ""
            if meta["unit"] == "K" and -60.0 <= value <= 250.0:
                hint = " (this looks like degC; temperatures are in K: add 273.15)"
            raise ParameterError(
                f"{path} = {value!r} {meta['unit']} is outside the plausible range "
                f"[{lo}, {hi}] {meta['unit']}{hint}"
            )


@dataclass(frozen=True)
class SolventParams:
    """Solvent property set."""

    name: str = field(metadata={"doc": "solvent name"})
    vapour_pressure: str = field(metadata={"doc": "saturation-pressure correlation: 'nmp' or 'water'"})
    stefan_correction: bool = field(
        metadata={"doc": "use the high-flux (Stefan) form ln((p-p_zone)/(p-p_sat)) for evaporation"}
    )
    molar_mass_kg_mol: float = _p("kg/mol", 0.01, 0.5, "molar mass")
    density_kg_m3: float = _p("kg/m3", 500.0, 2000.0, "liquid density")
    cp_liquid_J_kgK: float = _p("J/(kg K)", 500.0, 5000.0, "liquid heat capacity")
    dh_vap_J_kg: float = _p("J/kg", 1e5, 3e6, "heat of vaporisation per kg near drying temperature")
    diffusivity_air_m2_s: float = _p("m2/s", 1e-6, 1e-4, "vapour diffusivity in air at 298.15 K")
    lel_vol_frac: float = _p("1", 0.0, 0.2, "lower explosive limit at 25 degC (0 for non-flammable)")

    def __post_init__(self) -> None:
        if self.vapour_pressure not in ("nmp", "water"):
            raise ParameterError(
                f"solvent.vapour_pressure = {self.vapour_pressure!r}: expected 'nmp' or 'water'"
            )
        _validate(self, "solvent")


@dataclass(frozen=True)
class CoaterParams:
    """Slot-die coater, slurry and electrode parameters."""

    width_m: float = _p("m", 0.05, 3.0, "coated width")
    sides: int = field(metadata={"doc": "coated sides per pass through the dryer (1 or 2)"})
    solids_density_kg_m3: float = _p("kg/m3", 1000.0, 6000.0, "density of the dry solids blend")
    solids_cp_J_kgK: float = _p("J/(kg K)", 300.0, 2000.0, "heat capacity of the dry solids")
    solids_frac_nominal: float = _p("1", 0.2, 0.9, "nominal solids mass fraction of the slurry")
    foil_areal_mass_kg_m2: float = _p("kg/m2", 0.005, 0.5, "current-collector foil mass per area")
    foil_cp_J_kgK: float = _p("J/(kg K)", 200.0, 1500.0, "foil heat capacity")
    binder_solution_viscosity_Pa_s: float = _p("Pa s", 1e-3, 50.0, "viscosity of the binder solution (continuous phase)")
    max_packing_frac: float = _p("1", 0.4, 0.74, "maximum packing fraction (Krieger-Dougherty)")
    intrinsic_viscosity: float = _p("1", 2.0, 5.0, "intrinsic viscosity (2.5 for spheres)")
    gel_viscosity_coeff: float = _p("1", 0.0, 1000.0, "viscosity growth per unit water mass fraction, exp(k w)")
    surface_tension_N_m: float = _p("N/m", 0.01, 0.08, "slurry surface tension")
    die_gap_m: float = _p("m", 2e-5, 2e-3, "downstream die-lip gap")
    pump_time_constant_s: float = _p("s", 0.05, 60.0, "pump flow lag")
    water_uptake_time_constant_s: float = _p("s", 60.0, 2e5, "slurry water uptake time constant")
    water_uptake_per_rh: float = _p("1", 0.0, 0.2, "equilibrium water mass fraction per unit room RH")
    coater_to_gauge_m: float = _p("m", 1.0, 500.0, "web length from the die to the dry coat-weight gauge")
    active_frac: float = _p("1", 0.5, 1.0, "active-material mass fraction of the dry coating")
    specific_capacity_Ah_kg: float = _p("Ah/kg", 100.0, 400.0, "reversible specific capacity of the active material")
    cell_voltage_V: float = _p("V", 1.0, 5.0, "nominal cell voltage")
    capacity_ratio_to_cathode: float = _p("1", 0.5, 2.0, "areal capacity relative to the cathode (N/P for an anode, 1 for a cathode)")

    def __post_init__(self) -> None:
        if self.sides not in (1, 2):
            raise ParameterError(f"coater.sides = {self.sides!r}: expected 1 or 2")
        _validate(self, "coater")


@dataclass(frozen=True)
class DryerParams:
    """Multi-zone impingement (floatation) dryer."""

    n_zones: int = field(metadata={"doc": "number of zones"})
    cells_per_zone: int = field(metadata={"doc": "finite-volume cells per zone along the web (discretisation)"})
    zone_length_m: float = _p("m", 0.5, 50.0, "length of one zone")
    zone_air_volume_m3: float = _p("m3", 0.1, 200.0, "well-mixed air volume of one zone")
    zone_heat_capacity_J_K: float = _p("J/K", 1e3, 1e8, "thermal mass of zone air and ducts")
    wall_UA_W_K: float = _p("W/K", 0.0, 1e4, "zone heat loss to the hall per K")
    pressure_Pa: float = _p("Pa", 8e4, 1.2e5, "absolute pressure in the dryer")
    slot_width_m: float = _p("m", 1e-3, 0.05, "nozzle slot width (Martin's S)")
    nozzle_to_web_m: float = _p("m", 5e-3, 0.2, "nozzle-to-web distance (Martin's H)")
    open_area_frac: float = _p("1", 0.005, 0.2, "relative nozzle area f")
    heat_transfer_multiplier: float = _p("1", 0.3, 3.0, "multiplier on the Martin correlation (calibration)")
    critical_content_kg_kg: float = _p("kg/kg", 0.01, 1.0, "critical solvent content (dry basis), end of constant rate")
    equilibrium_content_kg_kg: float = _p("kg/kg", 0.0, 0.05, "equilibrium solvent content (dry basis) in solvent-free air")
    heater_max_W: float = _p("W", 1e3, 5e6, "heater capacity per zone (input power)")
    heater_time_constant_s: float = _p("s", 0.1, 600.0, "heater power lag")
    heater_rate_W_s: float = _p("W/s", 10.0, 1e7, "heater power rate limit")
    fan_time_constant_s: float = _p("s", 0.1, 120.0, "fan lag")
    fan_rate_m_s2: float = _p("m/s2", 0.01, 100.0, "nozzle-velocity rate limit")
    nozzle_velocity_max_m_s: float = _p("m/s", 1.0, 80.0, "highest nozzle velocity")
    fan_power_ref_W: float = _p("W", 100.0, 1e6, "fan power per zone at the reference velocity")
    fan_ref_velocity_m_s: float = _p("m/s", 1.0, 80.0, "reference nozzle velocity of fan_power_ref_W")
    exhaust_max_m3_s: float = _p("m3/s", 0.01, 50.0, "exhaust (= make-up) air capacity per zone")
    critical_rate_limit_kg_m2_s: float = _p("kg/(m2 s)", 1e-5, 0.01, "drying-rate limit in the critical (binder-migration) stage")
    critical_window_kg_kg: float = _p("kg/kg", 0.01, 1.0, "width of the critical stage above the critical content (dry basis)")
    sorption_slope_kg_kg: float = field(
        default=0.0,
        metadata={
            "unit": "kg/kg",
            "range": (0.0, 0.2),
            "doc": "rise of the equilibrium content per unit relative saturation of the zone air at the film "
                   "temperature (a linear, Henry-law sorption isotherm; 0 = a constant equilibrium content)",
        },
    )
    falling_rate_exponent: float = field(
        default=1.0,
        metadata={"unit": "1", "range": (0.5, 3.0),
                  "doc": "exponent n of the falling-rate law ((x - x_eq)/(x_cr - x_eq))**n (1 = linear)"},
    )
    solvent_activity: float = field(
        default=1.0,
        metadata={"unit": "1", "range": (0.3, 1.0),
                  "doc": "activity of the solvent at the film surface (binder and dissolved species lower "
                         "its vapour pressure below the pure solvent's)"},
    )
    exhaust_flow_factor: float = field(
        default=1.0,
        metadata={"unit": "1", "range": (0.3, 1.5),
                  "doc": "exhaust (= make-up) air delivered per unit commanded (a worn fan or a mis-calibrated "
                         "flow loop: below 1)"},
    )
    heater_carrier: str = field(
        default="electricity",
        metadata={"doc": "what the heaters draw: 'electricity', 'natural_gas', 'steam' or 'thermal_oil' (the "
                         "carrier's primary-energy factor is the scenario's, [energy])"},
    )
    heater_efficiency_nominal: float = field(
        default=1.0,
        metadata={"unit": "1", "range": (0.3, 1.0),
                  "doc": "heat delivered to the zone air per unit of carrier energy the heater draws (a scenario's "
                         "heater degradation multiplies it)"},
    )
    fan_motor_rating_W: float = field(
        default=1e6,
        metadata={"unit": "W", "range": (1e3, 1e6),
                  "doc": "fan motor rating per zone: a hard limit on fan power, so on the nozzle velocity a fouled "
                         "fan can reach"},
    )
    wet_film_nozzle_velocity_max_m_s: float = field(
        default=80.0,
        metadata={"unit": "m/s", "range": (1.0, 80.0),
                  "doc": "highest nozzle velocity in zone 1, over the wet film"},
    )
    heat_recovery_effectiveness: float = field(
        default=0.0,
        metadata={"unit": "1", "range": (0.0, 0.9),
                  "doc": "exhaust-to-make-up-air heat recovery: the make-up air enters preheated by this fraction "
                         "of the zone-to-room temperature difference"},
    )
    solvent_recovery_cop: float = field(
        default=0.0,
        metadata={"unit": "1", "range": (0.0, 10.0),
                  "doc": "coefficient of performance of the chiller that cools the exhaust (after the heat recovery) "
                         "to solvent_recovery_condense_K to condense the solvent; 0: no solvent recovery"},
    )
    solvent_recovery_condense_K: float = field(
        default=283.15,
        metadata={"unit": "K", "range": (250.0, 320.0),
                  "doc": "temperature the solvent recovery cools the exhaust air to"},
    )
    rate_law_smoothing_kg_kg: float = field(
        default=0.0,
        metadata={
            "unit": "kg/kg",
            "range": (0.0, 0.05),
            "doc": "half-width of the rounded corners of the falling-rate and critical-stage laws "
                   "(0 = the exact piecewise-linear laws, what the plants use; a model setting, not a property)",
            "calibratable": False,
        },
    )

    def __post_init__(self) -> None:
        for name in ("n_zones", "cells_per_zone"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 64:
                raise ParameterError(f"dryer.{name} = {v!r}: expected an integer in [1, 64]")
        _validate(self, "dryer")
        if self.heater_carrier not in HEATER_CARRIERS:
            raise ParameterError(
                f"dryer.heater_carrier = {self.heater_carrier!r}: expected one of {', '.join(HEATER_CARRIERS)}"
            )
        x_eq_max = self.equilibrium_content_kg_kg + self.sorption_slope_kg_kg
        x_cr_low = CRITICAL_CONTENT_FACTOR_RANGE[0] * self.critical_content_kg_kg
        if x_eq_max >= x_cr_low:
            raise ParameterError(
                f"dryer.equilibrium_content_kg_kg + dryer.sorption_slope_kg_kg = {x_eq_max!r} (the equilibrium "
                f"content in saturated air) must be below {CRITICAL_CONTENT_FACTOR_RANGE[0]} x "
                f"dryer.critical_content_kg_kg = {x_cr_low:.4g} (the lowest critical content the film's "
                f"along-web variation reaches; dryer.critical_content_kg_kg = {self.critical_content_kg_kg!r})"
            )
        corner_gap = min(0.5 * self.critical_window_kg_kg, x_cr_low - x_eq_max)
        if self.rate_law_smoothing_kg_kg > 0.5 * corner_gap:
            raise ParameterError(
                f"dryer.rate_law_smoothing_kg_kg = {self.rate_law_smoothing_kg_kg!r} kg/kg: expected at most "
                f"{0.5 * corner_gap:.4g} kg/kg (half the distance between neighbouring corners of the rate laws)"
            )


@dataclass(frozen=True)
class BuildingParams:
    """The humidity path: outdoor air -> HVAC -> coating room."""

    room_temp_K: float = _p("K", 280.0, 310.0, "coating-room temperature (held by HVAC)")
    hvac_target_humidity_ratio: float = _p("kg/kg", 0.0, 0.02, "humidity ratio the HVAC aims to supply")
    hvac_max_dehumidification: float = _p("kg/kg", 0.0, 0.03, "largest humidity-ratio reduction the HVAC coil achieves")
    room_time_constant_s: float = _p("s", 60.0, 1e5, "room humidity time constant (air changes)")

    def __post_init__(self) -> None:
        _validate(self, "building")


@dataclass(frozen=True)
class LineParams:
    """All parameters of one coating line (a preset, or a calibrated copy of one)."""

    name: str
    description: str
    solvent: SolventParams
    coater: CoaterParams
    dryer: DryerParams
    building: BuildingParams
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def replace(self, **groups: dict[str, Any]) -> LineParams:
        """Return a copy with fields of the named groups replaced (validated).

        Example: ``p.replace(dryer={"cells_per_zone": 2})``.
        """
        kw: dict[str, Any] = {}
        for group, changes in groups.items():
            if group not in ("solvent", "coater", "dryer", "building"):
                raise ParameterError(
                    f"unknown parameter group {group!r}: expected solvent, coater, dryer or building"
                )
            current = getattr(self, group)
            known = {f.name for f in fields(current)}
            for k in changes:
                if k not in known:
                    raise ParameterError(
                        f"unknown parameter {group}.{k}; known: {', '.join(sorted(known))}"
                    )
            kw[group] = dataclasses.replace(current, **changes)
        return dataclasses.replace(self, **kw)


_GROUPS = {
    "solvent": SolventParams,
    "coater": CoaterParams,
    "dryer": DryerParams,
    "building": BuildingParams,
}


def params_to_dict(p: LineParams) -> dict[str, Any]:
    """Plain nested dict (JSON/TOML friendly) of a parameter set."""
    out: dict[str, Any] = {"name": p.name, "description": p.description}
    for g in _GROUPS:
        out[g] = dataclasses.asdict(getattr(p, g))
    return out


def params_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> LineParams:
    """Build a :class:`LineParams` from a nested dict, naming ``source`` in errors."""
    missing_top = [k for k in ("name", *_GROUPS) if k not in data]
    if missing_top:
        raise ParameterError(f"{source}: missing parameter group(s) {', '.join(missing_top)}")
    kw: dict[str, Any] = {}
    for g, cls in _GROUPS.items():
        group = data[g]
        if not isinstance(group, dict):
            raise ParameterError(f"{source}: [{g}] must be a table, got {type(group).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(group) - set(names))
        if unknown:
            raise ParameterError(f"{source}: unknown parameter(s) {', '.join(f'{g}.{u}' for u in unknown)}")
        missing = [n for n in names if n not in group]
        if missing:
            raise ParameterError(f"{source}: missing parameter(s) {', '.join(f'{g}.{m}' for m in missing)}")
        try:
            kw[g] = cls(**group)
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None
    return LineParams(
        name=str(data["name"]),
        description=str(data.get("description", "")),
        sources=dict(data.get("sources", {})),
        **kw,
    )


def describe_fields() -> list[dict[str, Any]]:
    """Unit, range and description of every parameter field (for docs and ``--help``)."""
    rows = []
    for g, cls in _GROUPS.items():
        for f in fields(cls):
            m = f.metadata
            rows.append(
                {
                    "name": f"{g}.{f.name}",
                    "unit": m.get("unit", ""),
                    "range": m.get("range"),
                    "doc": m.get("doc", ""),
                }
            )
    return rows
