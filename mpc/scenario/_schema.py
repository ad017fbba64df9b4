"""The TOML scenario format, as pydantic models (unknown keys are rejected).

A scenario separates what is **announced** (the production schedule: speed
target and cap, known batch changes, planned stops) from what is **not**
(weather, drift, faults, web breaks). Controllers may read the announced
schedule ahead; they never see unannounced disturbances before they happen.
The reference page ``docs/scenarios.md`` is generated from these models
(``python -m mpc.scenario.docs``).

All quantities are SI with the unit in the key name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plants.plc import PlcConfig

__all__ = [
    "AnalyserFault",
    "BatchChange",
    "Disturbances",
    "Energy",
    "LineStop",
    "Mismatch",
    "ProcessNoise",
    "Recipe",
    "Scenario",
    "Schedule",
    "Seeds",
    "SensorSettings",
    "Slurry",
    "Spec",
    "SpeedChange",
    "Start",
    "Weather",
    "ZoneEvent",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Seeds(_Model):
    """Seeds of every random source (the same scenario on the same machine gives the same numbers)."""

    disturbances: int = Field(1, ge=0, description="slurry drift random walk")
    process_noise: int = Field(2, ge=0, description="pump pulsation and local coating variation")
    sensors: int = Field(3, ge=0, description="sensor noise")


class Spec(_Model):
    """Specification limits and safety limits (plant truth is judged against them)."""

    coat_weight_target_kg_m2: float = Field(gt=0.005, lt=1.0, description="dry coat-weight target")
    coat_weight_tolerance_frac: float = Field(
        0.02, gt=0.0, le=0.2, description="specification half-width as a fraction of target (0.02 = +/-2 %)"
    )
    residual_usl_kg_kg: float = Field(
        gt=0.0, lt=0.5, description="upper specification limit of residual solvent at the dryer exit, dry basis (assumption)"
    )
    film_temp_max_K: float = Field(
        ge=320.0, le=520.0, description="film-temperature limit (assumption; binder and active material)"
    )
    lel_limit_frac: float = Field(0.25, gt=0.0, le=0.25, description="LEL limit without a continuous analyser (NFPA 86: 25 %)")
    analyser_allows_50pct: bool = Field(
        True, description="a healthy continuous LEL analyser with its controller allows 50 % LEL (NFPA 86)"
    )
    purge_allowance_s: float = Field(
        60.0, ge=0.0, le=3600.0, description="time after an analyser failure before the 25 % limit applies"
    )
    settling_after_restart_m: float = Field(
        50.0, ge=0.0, le=5000.0, description="web counted as scrap after each restart"
    )

    def lel_limit_in_force(self, has_analysers: bool, analysers_credited: bool = True) -> float:
        """The LEL limit in force, fraction of the LEL: twice :attr:`lel_limit_frac` where the line has continuous
        LEL analysers, the specification allows 50 % with them (NFPA 86) and they are credited (healthy, or failed
        for less than :attr:`purge_allowance_s`: the caller judges that); else :attr:`lel_limit_frac`. The one
        rule the harness, the controllers and the plant-only sweep apply."""
        if has_analysers and analysers_credited and self.analyser_allows_50pct:
            return 2.0 * self.lel_limit_frac
        return self.lel_limit_frac


_Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

DESIGN_HUMIDITY_RATIO_KG_KG = 0.030
"""A water line's design exhaust humidity ratio when the recipe names none, kg/kg (``docs/baselines.md``)."""


class Recipe(_Model):
    """The fixed recipe: nominal set points with the margins the line uses (the `recipe` baseline).

    The exhausts follow from one design rule unless the recipe lists them: every zone
    at one design level of solvent vapour, at the recipe's air temperatures and nozzle
    velocities, the schedule's speed and the coat-weight target, nominal conditions
    (20 degC, 50 % RH outdoors, the slurry's nominal solids), on the nominal model (the
    preset at `[mismatch]`'s model_cells_per_zone, without overrides or parameter file). A flammable solvent's design
    level is `design_lel_of_limit` of the LEL limit without an analyser
    (`spec.lel_limit_frac`); a water line's is `design_humidity_ratio_kg_kg`. A zone
    that needs less than the exhaust actuator's lower limit runs at it; one that would
    need more than its upper limit is an error. Nozzle velocities and listed exhaust
    flows are checked against the ranges of the line's actuators when the scenario is
    loaded (the preset's limits).
    """

    air_temp_K: list[float] = Field(description="zone air-temperature set points, one per zone")
    nozzle_velocity_m_s: list[_Positive] = Field(
        description="zone nozzle velocities, one per zone; above 0, at most the preset's "
        "dryer.nozzle_velocity_max_m_s"
    )
    exhaust_m3_s: list[_Positive] | None = Field(
        None,
        description="zone exhaust (= make-up) air flows, one per zone, as a line's own recipe states them; "
        "within the exhaust actuator's range (its lower limit to the preset's dryer.exhaust_max_m3_s). Not "
        "given: the design rule sizes every zone's exhaust for one design level (design_lel_of_limit or "
        "design_humidity_ratio_kg_kg) at the recipe's air temperatures and nozzle velocities, the schedule's "
        "speed and the coat-weight target, nominal conditions (20 degC, 50 % RH, nominal solids), on the nominal "
        "model (the preset at mismatch.model_cells_per_zone); a zone that needs less than the actuator's lower "
        "limit runs at it, one that needs more than its upper limit is an error",
    )
    design_lel_of_limit: float | None = Field(
        None, gt=0.0, le=1.0,
        description="flammable solvent, exhausts not listed: every zone's design LEL fraction, as a fraction of "
        "spec.lel_limit_frac. Not given: the NMPC economic target's lel_margin (0.8: 20 % LEL against 25 %)",
    )
    design_humidity_ratio_kg_kg: float | None = Field(
        None, gt=0.0, lt=1.0,
        description=f"water line, exhausts not listed: every zone's design exhaust humidity ratio, kg/kg. Not "
        f"given: {DESIGN_HUMIDITY_RATIO_KG_KG} (dew point about 32 degC; docs/baselines.md)",
    )
    margin_note: str = Field("", description="what margins the recipe keeps, for the report")

    @model_validator(mode="after")
    def _kelvin(self) -> Recipe:
        for t in self.air_temp_K:
            if not 280.0 <= t <= 520.0:
                hint = " (this looks like degC: add 273.15)" if t < 280.0 else ""
                raise ValueError(f"air_temp_K value {t} is outside 280-520 K{hint}")
        if self.exhaust_m3_s is not None:
            given = [k for k in ("design_lel_of_limit", "design_humidity_ratio_kg_kg") if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"exhaust_m3_s lists the exhausts and {given[0]} = {getattr(self, given[0])} asks for the design "
                    "rule: give one of them"
                )
        return self


class SpeedChange(_Model):
    """An announced change of the production plan's speed target and cap."""

    t_s: float = Field(ge=0.0)
    target_m_s: float = Field(gt=0.0, lt=5.0)
    cap_m_s: float = Field(gt=0.0, lt=5.0)
    ramp_s: float = Field(0.0, ge=0.0, description="the plan ramps linearly to the new target over this time")


class BatchChange(_Model):
    """A slurry batch change: the new batch's true solids; announced or not."""

    t_s: float = Field(ge=0.0)
    solids_frac: float = Field(gt=0.2, lt=0.9, description="true solids mass fraction of the new batch")
    announced: bool = Field(True, description="the line knows the time of the change (a known batch change)")
    nominal_solids_frac: float | None = Field(
        None, gt=0.2, lt=0.9, description="solids on the batch sheet (what an announced change tells the line)"
    )


class LineStop(_Model):
    """A line stop and restart (planned: announced; a web break: not)."""

    t_s: float = Field(ge=0.0)
    duration_s: float = Field(gt=0.0)
    announced: bool = False


class Start(_Model):
    """How the run begins.

    ``running``: the line at the recipe's steady state (web coated, dryer hot), the usual start of a
    scenario. ``cold``: a start-up from an empty, cold dryer: every zone's air at the room's temperature
    and without solvent vapour, heaters off, fans at the recipe's nozzle velocities, no coating on the
    threaded web, pump and drive stopped. The line stands until the production plan starts it: a cold
    start needs an announced line stop from ``t_s = 0`` in ``[[disturbances.line_stops]]`` (its
    ``duration_s`` the heat-up time the plan allows); the controllers heat the dryer meanwhile and run
    the line up to the plan's speed when the stop ends.
    """

    state: Literal["running", "cold"] = Field("running", description="the line's state at t = 0")


class Schedule(_Model):
    """The announced production schedule."""

    speed_target_m_s: float = Field(gt=0.0, lt=5.0, description="what the plan asks for (not a floor)")
    speed_cap_m_s: float = Field(gt=0.0, lt=5.0, description="never exceeded")
    speed_changes: list[SpeedChange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cap(self) -> Schedule:
        if self.speed_target_m_s > self.speed_cap_m_s:
            raise ValueError(
                f"speed_target_m_s = {self.speed_target_m_s} exceeds speed_cap_m_s = {self.speed_cap_m_s}"
            )
        return self


class Weather(_Model):
    """Outdoor air: constant, or measured typical-year weather read with pvlib."""

    source: Literal["constant", "greensboro", "sand_point"] = "constant"
    temp_K: float = Field(293.15, ge=220.0, le=330.0, description="constant outdoor temperature")
    rh_frac: float = Field(0.5, ge=0.0, le=1.0, description="constant outdoor relative humidity")
    window: Literal["humid", "start"] = Field(
        "humid", description="for a weather file: the most humid stretch of the scenario's length, or start_day"
    )
    start_day: int = Field(1, ge=1, le=365, description="day of year the window starts (window = 'start')")


class Slurry(_Model):
    """The slurry in the tank (unannounced drift; batch changes)."""

    solids_frac: float | None = Field(None, gt=0.2, lt=0.9, description="initial solids (default: preset nominal)")
    drift_per_h: float = Field(0.0, ge=-0.01, le=0.01, description="slow solids drift in the tank, per hour")
    random_walk_std_per_sqrt_h: float = Field(0.0, ge=0.0, le=0.01, description="random-walk solids variation")
    batch_changes: list[BatchChange] = Field(default_factory=list)


class ZoneEvent(_Model):
    """A per-zone degradation: heater efficiency or fan flow factor moves to ``value`` over ``ramp_s``."""

    zone: int = Field(ge=1, le=64)
    t_s: float = Field(ge=0.0)
    value: float = Field(gt=0.0, le=1.0)
    ramp_s: float = Field(0.0, ge=0.0)


class AnalyserFault(_Model):
    """An LEL-analyser fault (unannounced)."""

    zone: int = Field(ge=1, le=64)
    t_s: float = Field(ge=0.0)
    kind: Literal["fail", "stuck", "drift"] = "fail"
    end_s: float | None = None
    drift_per_s: float = 0.0


class ProcessNoise(_Model):
    """Unmeasured process noise of the plant (the controller never sees it)."""

    pump_pulsation_rel: float = Field(0.003, ge=0.0, le=0.05, description="pump flow pulsation amplitude, relative")
    pump_frequency_hz: float = Field(0.5, gt=0.0, le=50.0)
    coat_variation_rel: float = Field(0.002, ge=0.0, le=0.05, description="local coating variation, std, relative")
    coat_variation_corr_s: float = Field(30.0, gt=0.0, le=3600.0)
    heat_transfer_variation_rel: float = Field(
        0.02, ge=0.0, le=0.2,
        description="variation of the dryer's heat transfer along the web (web flutter, nozzle-plenum pressure), "
        "std, relative (assumption)",
    )
    heat_transfer_corr_s: float = Field(60.0, gt=0.0, le=3600.0, description="its correlation time")
    critical_content_variation_rel: float = Field(
        0.03, ge=0.0, le=0.05,
        description="variation of the film's critical solvent content along the web (slurry packing and binder "
        "distribution from mixing and ageing), std, relative (assumption)",
    )
    critical_content_corr_s: float = Field(
        1800.0, gt=0.0, le=14400.0,
        description="its correlation time (long beside the dryer's residence time, so the film in the dryer shares "
        "one value)",
    )


class Disturbances(_Model):
    """Unannounced disturbances."""

    weather: Weather = Field(default_factory=Weather)
    slurry: Slurry = Field(default_factory=Slurry)
    heater_efficiency: list[ZoneEvent] = Field(default_factory=list)
    fan_flow_factor: list[ZoneEvent] = Field(default_factory=list)
    line_stops: list[LineStop] = Field(default_factory=list)
    analyser_faults: list[AnalyserFault] = Field(default_factory=list)
    process_noise: ProcessNoise = Field(default_factory=ProcessNoise)


class SensorSettings(_Model):
    """Sensor settings (defaults: the presets in plants.sensors)."""

    coat_weight_noise_rel: float = Field(0.003, ge=0.0, le=0.05, description="beta gauge noise, relative")
    coat_weight_scan_s: float = Field(10.0, gt=0.0, le=600.0)
    residual_noise_rel: float = Field(0.02, ge=0.0, le=0.5)
    lel_noise: float = Field(0.005, ge=0.0, le=0.1, description="LEL analyser noise, fraction of LEL")
    lel_lag_s: float = Field(15.0, ge=0.0, le=120.0)
    lel_bias: float = Field(
        0.0, ge=-0.2, le=0.2,
        description="LEL analysers' calibration error, fraction of LEL added to every reading (-0.03 = reads 3 "
        "points of LEL low)",
    )
    air_temp_noise_K: float = Field(0.2, ge=0.0, le=5.0)


class Energy(_Model):
    """Primary-energy factors of the carriers inside the energy boundary (site data; defaults: the EU's).

    A kWh of fan power is not a kWh of gas: ``primary_energy_kwh_per_m2`` weights each
    carrier's final energy by its factor (the heaters' carrier is the preset's
    ``dryer.heater_carrier``; fans and solvent recovery draw electricity).
    """

    primary_factor_electricity: float = Field(
        1.9, gt=0.0, le=5.0,
        description="primary energy per kWh of electricity (EU Energy Efficiency Directive 2023/1791: 1.9)",
    )
    primary_factor_natural_gas: float = Field(
        1.0, gt=0.0, le=5.0, description="per kWh of natural gas (the EU directive's convention for fuels: 1.0)"
    )
    primary_factor_steam: float = Field(
        1.15, gt=0.0, le=5.0, description="per kWh of steam (assumption: a gas boiler at about 87 %)"
    )
    primary_factor_thermal_oil: float = Field(
        1.15, gt=0.0, le=5.0, description="per kWh of thermal oil (assumption: a gas-fired heater at about 87 %)"
    )

    def factor(self, carrier: str) -> float:
        """The primary-energy factor of a carrier (``electricity``, ``natural_gas``, ``steam``, ``thermal_oil``)."""
        return float(getattr(self, f"primary_factor_{carrier}"))


class Mismatch(_Model):
    """Plant-model mismatch: the plant's "true" parameters and discretisation vs the controller's."""

    plant_cells_per_zone: int = Field(8, ge=1, le=64)
    model_cells_per_zone: int = Field(2, ge=1, le=64)
    plant: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="overrides of the preset for the simulated plant, by group"
    )
    model: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="overrides of the preset for the controllers' model, by group"
    )
    model_params_file: str | None = Field(
        None,
        description="parameter file (TOML, e.g. written by calmline calibrate) applied to the controllers' model "
        "before the `model` overrides; a relative path is relative to the scenario file",
    )
    note: str = Field("", description="what the mismatch represents")


class Scenario(_Model):
    """A complete, runnable scenario."""

    name: str = Field(description="scenario name (reports, kpis.json)")
    description: str = Field("", description="what the scenario is about")
    preset: Literal["nmc_nmp", "graphite_water"] = Field(description="plant preset (calmline plant presets)")
    duration_s: float = Field(gt=0.0, le=7 * 86400.0, description="simulated time")
    control_interval_s: float = Field(2.0, ge=0.1, le=60.0, description="controller sample time")
    warmup_s: float = Field(1800.0, ge=0.0, description="start of the KPI window")
    seeds: Seeds = Field(default_factory=Seeds, description="random seeds")
    spec: Spec = Field(description="specification and safety limits")
    recipe: Recipe = Field(description="the fixed recipe")
    start: Start = Field(default_factory=Start, description="how the run begins (at steady state, or cold)")
    schedule: Schedule = Field(description="announced production schedule")
    disturbances: Disturbances = Field(default_factory=Disturbances, description="unannounced disturbances")
    sensors: SensorSettings = Field(default_factory=SensorSettings, description="sensor settings")
    mismatch: Mismatch = Field(default_factory=Mismatch, description="plant-model mismatch")
    energy: Energy = Field(default_factory=Energy, description="primary-energy factors of the energy carriers")
    plc: PlcConfig = Field(default_factory=PlcConfig, description="the line PLC's scan, hand-over and remote ranges")
    controllers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-controller settings tables, [controllers.NAME] and their sub-tables "
        "(e.g. [controllers.nmpc.ocp]); every key is checked against the controller's settings "
        "(docs/controllers.md)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s = {self.warmup_s} must be shorter than duration_s = {self.duration_s}")
        n = len(self.recipe.air_temp_K)
        for key in ("nozzle_velocity_m_s", "exhaust_m3_s"):
            if getattr(self.recipe, key) is not None and len(getattr(self.recipe, key)) != n:
                raise ValueError(f"recipe.{key} has {len(getattr(self.recipe, key))} values, recipe.air_temp_K has {n}")
        if self.start.state == "cold" and not any(
                st.t_s == 0.0 and st.announced for st in self.disturbances.line_stops):
            stops = self.disturbances.line_stops
            found = ("none" if not stops else ", ".join(
                f"t_s = {st.t_s:g}{'' if st.announced else ' (not announced)'}" for st in stops))
            raise ValueError("start.state = 'cold': expected an announced line stop from t_s = 0 in "
                             f"[[disturbances.line_stops]] (found: {found}; the dryer heats up while the line "
                             "stands, the plan starts the line when it ends)")
        plc, dt = self.plc, self.control_interval_s
        ratio = dt / plc.scan_s
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(f"plc.scan_s = {plc.scan_s}: expected control_interval_s = {dt} s to be a whole "
                             "multiple of it")
        if plc.stale_after_s < dt:
            raise ValueError(f"plc.stale_after_s = {plc.stale_after_s}: expected at least control_interval_s = {dt} s "
                             "(a controller writes once an interval)")
        if plc.watchdog_s < dt:
            raise ValueError(f"plc.watchdog_s = {plc.watchdog_s}: expected at least control_interval_s = {dt} s "
                             "(a controller sends one heartbeat an interval)")
        if not plc.air_temp_setpoint_min_K < plc.air_temp_setpoint_max_K:
            raise ValueError(f"plc.air_temp_setpoint_min_K = {plc.air_temp_setpoint_min_K}: expected below "
                             f"plc.air_temp_setpoint_max_K = {plc.air_temp_setpoint_max_K}")
        bad = [t for t in self.recipe.air_temp_K
               if not plc.air_temp_setpoint_min_K <= t <= plc.air_temp_setpoint_max_K]
        if bad:
            raise ValueError(f"recipe.air_temp_K = {bad[0]}: expected within the PLC's set-point range "
                             f"[{plc.air_temp_setpoint_min_K}, {plc.air_temp_setpoint_max_K}] K ([plc])")
        return self
