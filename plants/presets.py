"""Line presets: every parameter of a line in one place, with its source.

``nmc_nmp``: NMC cathode slurry in NMP on 15 um aluminium, coated on one
side per pass. ``graphite_water``: graphite anode slurry in water on 8 um
copper, one side per pass, paired with the cathode at N/P = 1.1.

Every value carries a source or the word "assumption" in ``sources``
(``calmline plant presets --json`` prints them; ``docs/theory.md`` tabulates
them). Values chosen by calmline are assumptions a process engineer would
accept, and each is a parameter a user can change.
"""

from __future__ import annotations

from collections.abc import Callable

from plants.params import (
    BuildingParams,
    CoaterParams,
    DryerParams,
    LineParams,
    ParameterError,
    SolventParams,
)
from plants.steady import OperatingPoint

__all__ = ["PRESETS", "get_preset", "nominal_operating_point", "preset_names"]

_NMP = SolventParams(
    name="NMP",
    vapour_pressure="nmp",
    stefan_correction=False,
    molar_mass_kg_mol=0.09913,
    density_kg_m3=1028.0,
    cp_liquid_J_kgK=1720.0,
    dh_vap_J_kg=535e3,
    diffusivity_air_m2_s=8.6e-6,
    lel_vol_frac=0.013,
)

_WATER = SolventParams(
    name="water",
    vapour_pressure="water",
    stefan_correction=True,
    molar_mass_kg_mol=0.018015,
    density_kg_m3=998.0,
    cp_liquid_J_kgK=4180.0,
    dh_vap_J_kg=2.33e6,
    diffusivity_air_m2_s=2.5e-5,
    lel_vol_frac=0.0,
)

_SOLVENT_SOURCES = {
    "solvent.molar_mass_kg_mol": "NMP C5H9NO 99.13 g/mol; water 18.015 g/mol (IAPWS-95)",
    "solvent.density_kg_m3": "NMP 1028 kg/m3 at 25 degC (INRS FT213); water 998 kg/m3 at 20 degC",
    "solvent.cp_liquid_J_kgK": "NMP about 1.7 kJ/(kg K) near 25 degC (literature); water 4.18 kJ/(kg K)",
    "solvent.dh_vap_J_kg": "NMP about 53 kJ/mol = 535 kJ/kg near 80 degC (NIST Chemistry WebBook, 1-methyl-2-pyrrolidinone); water 2.33 MJ/kg near 70 degC (IAPWS-95 steam tables)",
    "solvent.diffusivity_air_m2_s": "Fuller-Schettler-Giddings (1966) estimate at 298 K: NMP 8.6e-6, water 2.5e-5 m2/s",
    "solvent.lel_vol_frac": "NMP LEL 1.3 vol% (INRS FT213); water non-flammable",
    "solvent.stefan_correction": "water: high-flux (Stefan) form, p_sat about 20 % of p at 60 degC (IAPWS-95: 19.9 kPa); NMP: low-flux form",
    "solvent.vapour_pressure": "NMP: Wagner fit to INRS, Landolt-Boernstein and the boiling point; water: Wagner & Pruss 2002",
}

_BUILDING = BuildingParams(
    room_temp_K=295.15,
    hvac_target_humidity_ratio=0.0055,
    hvac_max_dehumidification=0.008,
    room_time_constant_s=1800.0,
)

_BUILDING_SOURCES = {
    "building.room_temp_K": "assumption: coating room held at 22 degC",
    "building.hvac_target_humidity_ratio": "assumption: 5.5 g/kg (about 33 % RH at 22 degC), a typical coating-room set point",
    "building.hvac_max_dehumidification": "assumption: coil removes at most 8 g/kg; humid summer air then raises room RH",
    "building.room_time_constant_s": "assumption: about 2 air changes per hour",
}


def _nmc_nmp() -> LineParams:
    coater = CoaterParams(
        width_m=1.0,
        sides=1,
        solids_density_kg_m3=4470.0,
        solids_cp_J_kgK=750.0,
        solids_frac_nominal=0.65,
        foil_areal_mass_kg_m2=0.0405,
        foil_cp_J_kgK=900.0,
        binder_solution_viscosity_Pa_s=1.0,
        max_packing_frac=0.6,
        intrinsic_viscosity=2.5,
        gel_viscosity_coeff=60.0,
        surface_tension_N_m=0.038,
        die_gap_m=300e-6,
        pump_time_constant_s=2.0,
        water_uptake_time_constant_s=14400.0,
        water_uptake_per_rh=0.01,
        coater_to_gauge_m=60.0,
        active_frac=0.96,
        specific_capacity_Ah_kg=180.0,
        cell_voltage_V=3.65,
        capacity_ratio_to_cathode=1.0,
    )
    dryer = DryerParams(
        n_zones=4,
        cells_per_zone=8,
        zone_length_m=12.0,
        zone_air_volume_m3=15.0,
        zone_heat_capacity_J_K=5e5,
        wall_UA_W_K=30.0,
        pressure_Pa=101325.0,
        slot_width_m=0.004,
        nozzle_to_web_m=0.025,
        open_area_frac=0.02,
        heat_transfer_multiplier=1.0,
        critical_content_kg_kg=0.15,
        equilibrium_content_kg_kg=0.001,
        sorption_slope_kg_kg=0.01,
        heater_max_W=400e3,
        heater_time_constant_s=20.0,
        heater_rate_W_s=20e3,
        fan_time_constant_s=5.0,
        fan_rate_m_s2=2.0,
        nozzle_velocity_max_m_s=35.0,
        fan_power_ref_W=25e3,
        fan_ref_velocity_m_s=25.0,
        exhaust_max_m3_s=4.0,
        critical_rate_limit_kg_m2_s=3.0e-3,
        critical_window_kg_kg=0.10,
        heater_carrier="natural_gas",
        heater_efficiency_nominal=0.85,
        fan_motor_rating_W=55e3,
        wet_film_nozzle_velocity_max_m_s=20.0,
        heat_recovery_effectiveness=0.5,
        solvent_recovery_cop=3.0,
        solvent_recovery_condense_K=283.15,
    )
    sources = {
        **_SOLVENT_SOURCES,
        **_BUILDING_SOURCES,
        "coater.width_m": "assumption: 1.0 m coated width (industrial lines 0.6-1.4 m)",
        "coater.sides": "assumption: one side per pass (tandem coating doubles the throughput, not the energy per m2)",
        "coater.solids_density_kg_m3": "96 % NMC (4.75 g/cm3), 2 % carbon black (1.9), 2 % PVDF (1.78): 4.47 g/cm3 (assumption on the recipe)",
        "coater.solids_cp_J_kgK": "assumption: NMC about 0.7-0.8 kJ/(kg K)",
        "coater.solids_frac_nominal": "NMC slurry in NMP 64-66 wt% solids (Ouyang et al. 2020)",
        "coater.foil_areal_mass_kg_m2": "15 um aluminium foil, 2700 kg/m3",
        "coater.foil_cp_J_kgK": "aluminium 900 J/(kg K)",
        "coater.binder_solution_viscosity_Pa_s": "assumption: PVDF/NMP binder solution about 1 Pa s; gives slurry 2-4 Pa s",
        "coater.max_packing_frac": "assumption: 0.6 for polydisperse NMC (Krieger-Dougherty)",
        "coater.intrinsic_viscosity": "2.5 for spheres (Einstein)",
        "coater.gel_viscosity_coeff": "assumption: viscosity x1.35 per 0.5 wt% water taken up (PVDF gelation)",
        "coater.surface_tension_N_m": "assumption: NMP 40.8 mN/m at 20 degC; slurry about 38 mN/m",
        "coater.die_gap_m": "assumption: 300 um downstream gap (about twice the wet thickness)",
        "coater.pump_time_constant_s": "assumption: gear/screw pump and feed line lag 2 s",
        "coater.water_uptake_time_constant_s": "assumption: 4 h to equilibrate with the room air",
        "coater.water_uptake_per_rh": "assumption: 1 wt% water at 100 % RH (NMP is hygroscopic)",
        "coater.coater_to_gauge_m": "assumption: dryer (48 m) plus 12 m of web to the beta gauge",
        "coater.active_frac": "96 wt% active material (recipe above)",
        "coater.specific_capacity_Ah_kg": "assumption: NMC622-class 180 mAh/g",
        "coater.cell_voltage_V": "assumption: NMC/graphite nominal 3.65 V",
        "coater.capacity_ratio_to_cathode": "cathode: 1",
        "dryer.n_zones": "assumption: 4 zones (industrial dryers 3-8)",
        "dryer.cells_per_zone": "plant discretisation (a controller model uses fewer)",
        "dryer.zone_length_m": "assumption: 12 m zones, a 48 m dryer (about two minutes of drying at 30 m/min; docs/theory.md)",
        "dryer.zone_air_volume_m3": "assumption: plenum and ducts of one 12 m zone",
        "dryer.zone_heat_capacity_J_K": "assumption: air plus about 1 t of steel in contact",
        "dryer.wall_UA_W_K": "assumption: about 60 m2 of insulated panel at 0.5 W/(m2 K)",
        "dryer.pressure_Pa": "atmospheric",
        "dryer.slot_width_m": "assumption: 4 mm slot nozzles",
        "dryer.nozzle_to_web_m": "assumption: 25 mm nozzle-to-web distance",
        "dryer.open_area_frac": "assumption: 2 % relative nozzle area (Martin's range 0.008-2.5 f0)",
        "dryer.heat_transfer_multiplier": "1: Martin (1977) as published",
        "dryer.critical_content_kg_kg": "assumption: 0.15 kg NMP/kg solids, just below the end of shrinkage (about 0.17 at 42 % porosity)",
        "dryer.equilibrium_content_kg_kg": "assumption: 0.1 % dry basis in NMP-free air",
        "dryer.heater_carrier": "assumption: indirect gas-fired air heaters",
        "dryer.heater_efficiency_nominal": "assumption: 85 % of the gas's energy reaches the zone air (burner and heat-exchanger losses)",
        "dryer.fan_motor_rating_W": "assumption: a 55 kW motor per zone (an IEC size, 2.2x the fan's reference power): a clean fan reaches 32.5 m/s",
        "dryer.wet_film_nozzle_velocity_max_m_s": "assumption: at most 20 m/s over the wet film in zone 1 (faster jets ripple a 150 um film)",
        "dryer.heat_recovery_effectiveness": "assumption: a recuperator ahead of the NMP condenser preheats the make-up air, effectiveness 0.5 (NMP recovery by condensation: Ahmed et al., J. Power Sources 322 (2016) 169-178)",
        "dryer.solvent_recovery_cop": "assumption: an electric chiller with a COP of 3 cools the exhaust past the recuperator",
        "dryer.solvent_recovery_condense_K": "assumption: NMP condensed at 10 degC",
        "dryer.falling_rate_exponent": "1: the linear falling-rate law (a structural-mismatch scenario gives its plant another)",
        "dryer.solvent_activity": "1: the pure solvent's vapour pressure at the film surface (assumption)",
        "dryer.exhaust_flow_factor": "1: the exhaust delivers what it is commanded (a worn fan: below 1)",
        "dryer.sorption_slope_kg_kg": "assumption: 1 % NMP (dry basis) in saturated air, linear (Henry-law) at a dryer's low relative saturations; sized so that a last zone held at 30 % LEL near 105 degC (relative saturation about 0.1) leaves about 0.1 % more NMP, the order of the few hundred ppm real electrodes keep",
        "dryer.heater_max_W": "assumption: 400 kW per zone",
        "dryer.heater_time_constant_s": "assumption: 20 s",
        "dryer.heater_rate_W_s": "assumption: 20 kW/s",
        "dryer.fan_time_constant_s": "assumption: 5 s with a variable-speed drive",
        "dryer.fan_rate_m_s2": "assumption: 2 m/s per s",
        "dryer.nozzle_velocity_max_m_s": "assumption: 35 m/s",
        "dryer.fan_power_ref_W": "assumption: 12 m3/s at 1.5 kPa, 60 % fan efficiency at 25 m/s nozzle velocity",
        "dryer.fan_ref_velocity_m_s": "reference point of the fan power",
        "dryer.exhaust_max_m3_s": "assumption: 4 m3/s exhaust per zone",
        "dryer.critical_rate_limit_kg_m2_s": "assumption (no published threshold): 3 g/(m2 s) during the critical stage",
        "dryer.critical_window_kg_kg": "assumption: the critical stage spans 0.15-0.25 kg/kg (end of shrinkage, Jaiser et al. 2017)",
        "dryer.rate_law_smoothing_kg_kg": "0: the exact piecewise-linear laws (a model setting; the NMPC rounds its own model's corners, `ModelSettings`)",
    }
    return LineParams(
        name="nmc_nmp",
        description="NMC cathode in NMP on 15 um Al, one side per pass, 4-zone impingement dryer",
        solvent=_NMP,
        coater=coater,
        dryer=dryer,
        building=_BUILDING,
        sources=sources,
    )


def _graphite_water() -> LineParams:
    base = _nmc_nmp()
    coater = CoaterParams(
        width_m=1.0,
        sides=1,
        solids_density_kg_m3=2200.0,
        solids_cp_J_kgK=720.0,
        solids_frac_nominal=0.50,
        foil_areal_mass_kg_m2=0.0717,
        foil_cp_J_kgK=385.0,
        binder_solution_viscosity_Pa_s=0.8,
        max_packing_frac=0.6,
        intrinsic_viscosity=2.5,
        gel_viscosity_coeff=0.0,
        surface_tension_N_m=0.05,
        die_gap_m=300e-6,
        pump_time_constant_s=2.0,
        water_uptake_time_constant_s=14400.0,
        water_uptake_per_rh=0.0,
        coater_to_gauge_m=60.0,
        active_frac=0.96,
        specific_capacity_Ah_kg=350.0,
        cell_voltage_V=3.65,
        capacity_ratio_to_cathode=1.1,
    )
    dryer = DryerParams(
        **{
            **base.dryer.__dict__,
            "critical_content_kg_kg": 0.12,
            "equilibrium_content_kg_kg": 0.002,
            "sorption_slope_kg_kg": 0.01,
            "heater_carrier": "electricity",
            "heater_efficiency_nominal": 0.98,
            "heat_recovery_effectiveness": 0.0,
            "solvent_recovery_cop": 0.0,
            "critical_rate_limit_kg_m2_s": 3.0e-3,
            "critical_window_kg_kg": 0.15,
        }
    )
    sources = {
        **base.sources,
        "coater.solids_density_kg_m3": "graphite 96 % (2.26 g/cm3), CMC/SBR/carbon black 4 %: about 2.2 g/cm3 (assumption on the recipe)",
        "coater.solids_cp_J_kgK": "graphite about 0.71 kJ/(kg K)",
        "coater.solids_frac_nominal": "assumption: aqueous graphite slurries 45-55 wt% solids",
        "coater.foil_areal_mass_kg_m2": "8 um copper foil, 8960 kg/m3",
        "coater.foil_cp_J_kgK": "copper 385 J/(kg K)",
        "coater.binder_solution_viscosity_Pa_s": "assumption: CMC solution about 0.8 Pa s",
        "coater.gel_viscosity_coeff": "0: a water slurry does not gel with room humidity",
        "coater.surface_tension_N_m": "assumption: aqueous slurry about 50 mN/m",
        "coater.water_uptake_per_rh": "0: the solvent is water",
        "coater.specific_capacity_Ah_kg": "graphite about 350 mAh/g (theoretical 372)",
        "coater.capacity_ratio_to_cathode": "assumption: N/P = 1.1 against the nmc_nmp cathode",
        "dryer.critical_content_kg_kg": "assumption: 0.12 kg water/kg solids",
        "dryer.equilibrium_content_kg_kg": "assumption: 0.2 % dry basis in dry air",
        "dryer.heater_carrier": "assumption: electric air heaters",
        "dryer.heater_efficiency_nominal": "assumption: 98 % (resistance heaters in the air stream)",
        "dryer.heat_recovery_effectiveness": "assumption: none (the humid exhaust leaves unrecovered)",
        "dryer.solvent_recovery_cop": "0: water is not recovered",
        "dryer.sorption_slope_kg_kg": "assumption: 1 % water (dry basis) at saturation: the CMC binder (about 1.5 % of the solids) holds about half its mass near saturation; linear at low relative humidity",
        "dryer.critical_rate_limit_kg_m2_s": "assumption (no published threshold): 3 g/(m2 s) during the critical stage",
        "dryer.critical_window_kg_kg": "assumption: the critical stage spans 0.12-0.27 kg/kg",
        "dryer.rate_law_smoothing_kg_kg": "0: the exact piecewise-linear laws (a model setting; the NMPC rounds its own model's corners, `ModelSettings`)",
    }
    return LineParams(
        name="graphite_water",
        description="graphite anode in water on 8 um Cu, one side per pass, same 4-zone dryer",
        solvent=_WATER,
        coater=coater,
        dryer=dryer,
        building=_BUILDING,
        sources=sources,
    )


PRESETS: dict[str, Callable[[], LineParams]] = {
    "nmc_nmp": _nmc_nmp,
    "graphite_water": _graphite_water,
}


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(PRESETS)


def get_preset(name: str) -> LineParams:
    """The named preset's parameters (a fresh, validated object)."""
    try:
        factory = PRESETS[name]
    except KeyError:
        raise ParameterError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}") from None
    return factory()


EXHAUST_NMP = (2.0, 3.5, 2.5, 0.6)
EXHAUST_WATER = (0.6, 0.8, 0.3, 0.2)

_NOMINAL = {
    # NMC/NMP: 30 m/min, 20 mg/cm2; staged 75/95/105/105 degC; exhaust so that
    # every zone stays near or below 20 % LEL at nominal conditions (a margin
    # under the 25 % limit without an analyser).
    "nmc_nmp": dict(
        speed_m_s=0.5,
        coat_weight_kg_m2=0.200,
        air_temp_K=(348.15, 368.15, 378.15, 378.15),
        nozzle_velocity_m_s=(18.0, 20.0, 20.0, 15.0),
        exhaust_m3_s=EXHAUST_NMP,
    ),
    # Graphite/water: 30 m/min, 11.3 mg/cm2 (N/P 1.1 to the cathode); exhaust
    # humidity kept below about 60 g/kg.
    "graphite_water": dict(
        speed_m_s=0.5,
        coat_weight_kg_m2=0.113,
        air_temp_K=(328.15, 343.15, 348.15, 348.15),
        nozzle_velocity_m_s=(18.0, 20.0, 20.0, 15.0),
        exhaust_m3_s=EXHAUST_WATER,
    ),
}


def nominal_operating_point(name: str) -> OperatingPoint:
    """The nominal recipe of a preset (speed, coat weight, zone set points)."""
    get_preset(name)
    return OperatingPoint(**_NOMINAL[name])
