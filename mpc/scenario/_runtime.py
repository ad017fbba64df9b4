"""Turn a validated :class:`Scenario` into the objects a closed-loop run uses.

* :class:`AnnouncedSchedule`: what controllers may read ahead (speed target
  and cap, announced batch changes and stops).
* :class:`PlantDisturbances`: the plant's disturbance vector at any time
  (weather through the building, slurry drift and batch changes, heater and
  fan degradation, process noise, line stops). Controllers never get it.
* :func:`build_setup`: plant and controller-model parameters (the mismatch),
  the recipe (its exhausts by the design rule where it lists none,
  :mod:`mpc.scenario._recipe`), sensors and actuators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mpc.errors import CalmlineError
from mpc.scenario._load import resolve_scenario_path
from mpc.scenario._plant import actuator_specs, apply_overrides
from mpc.scenario._recipe import recipe_operating_point
from mpc.scenario._schema import BatchChange, LineStop, Scenario, ZoneEvent
from plants.actuators import ActuatorBank, ActuatorSpec
from plants.disturbances import Constant, Event, EventList, Profile, RandomWalk, Signal, Step, Sum
from plants.line import LineLayout
from plants.noise import OrnsteinUhlenbeck, PumpPulsation
from plants.params import CRITICAL_CONTENT_FACTOR_RANGE, LineParams
from plants.plc import LoopSpec, Plc, line_plc_loops
from plants.presets import get_preset
from plants.sensors import (
    Sensor,
    SensorFault,
    SensorSpec,
    coat_weight_gauge,
    film_temperature_pyrometer,
    lel_analyser,
    nir_solvent_gauge,
    nozzle_velocity_sensor,
    zone_air_thermocouple,
)
from plants.steady import OperatingPoint

__all__ = ["AnnouncedSchedule", "PlantDisturbances", "ScenarioSetup", "build_setup"]


@dataclass(frozen=True)
class AnnouncedSchedule:
    """The production schedule controllers may read ahead."""

    speed_target_m_s: float
    speed_cap_m_s: float
    speed_changes: tuple[tuple[float, float, float, float], ...] = ()
    batch_changes: tuple[tuple[float, float], ...] = ()
    planned_stops: tuple[tuple[float, float], ...] = ()

    def target_m_s(self, t_s: float) -> float:
        """Speed target of the plan at ``t_s`` (linear ramps between changes)."""
        v = self.speed_target_m_s
        for t0, target, _cap, ramp in self.speed_changes:
            if t_s >= t0 + ramp:
                v = target
            elif t_s > t0:
                v = v + (target - v) * (t_s - t0) / ramp
        return v

    def cap_m_s(self, t_s: float) -> float:
        """Speed cap at ``t_s`` (never exceeded)."""
        c = self.speed_cap_m_s
        for t0, _target, cap, _ramp in self.speed_changes:
            if t_s >= t0:
                c = cap
        return c

    def stopped(self, t_s: float) -> bool:
        """A planned stop is in progress at ``t_s``."""
        return any(t0 <= t_s < t0 + dur for t0, dur in self.planned_stops)


def _zone_profile(events: list[ZoneEvent], zone: int, initial: float = 1.0) -> Signal:
    times = [0.0]
    values = [initial]
    for ev in sorted((e for e in events if e.zone == zone), key=lambda e: e.t_s):
        times += [ev.t_s, ev.t_s + max(ev.ramp_s, 1e-6)]
        values += [values[-1], ev.value]
    if len(times) == 1:
        return Constant(initial)
    return Profile(times, values, interpolation="linear")


class PlantDisturbances:
    """The plant's disturbance vector ``d(t)`` (layout of :class:`plants.line.LineLayout`).

    The scenario's :class:`mpc.interfaces.DisturbanceSource`.
    """

    def __init__(self, sc: Scenario, layout: LineLayout, base_solids: float, dt_s: float,
                 duration_s: float | None = None) -> None:
        """``duration_s``: the run's effective length (default the scenario's); it sizes the weather
        window, the solids drift and the random walk, so that a longer run does not freeze them."""
        self.layout = layout
        dist = sc.disturbances
        seeds = sc.seeds
        duration = float(sc.duration_s if duration_s is None else duration_s)
        # Outdoor air.
        w = dist.weather
        if w.source == "constant":
            self.outdoor_temp: Signal = Constant(w.temp_K)
            self.outdoor_rh: Signal = Constant(w.rh_frac)
            self.weather_note = f"constant {w.temp_K - 273.15:.1f} degC, {w.rh_frac * 100:.0f} % RH"
        else:
            from plants.weather import humid_stretch, load_weather

            df = load_weather(w.source)
            hours = duration / 3600.0
            if w.window == "humid":
                win = humid_stretch(df, hours)
            else:
                start = (w.start_day - 1) * 24
                n = int(np.ceil(hours)) + 1
                win = df.iloc[start : start + n]
            t = (win.index - win.index[0]).total_seconds().to_numpy(float)
            self.outdoor_temp = Profile(t, win["outdoor_temp_K"].to_numpy(float))
            self.outdoor_rh = Profile(t, win["outdoor_rh_frac"].to_numpy(float))
            self.weather_note = f"{w.source} weather from {win.index[0]} ({w.window} window)"
        # Slurry solids: base + drift + random walk + batch steps (true values).
        sl = dist.slurry
        solids0 = sl.solids_frac if sl.solids_frac is not None else base_solids
        parts: list[Signal] = [Constant(solids0)]
        if sl.drift_per_h:
            parts.append(Profile([0.0, duration], [0.0, sl.drift_per_h * duration / 3600.0]))
        if sl.random_walk_std_per_sqrt_h:
            parts.append(
                RandomWalk(
                    std_per_sqrt_s=sl.random_walk_std_per_sqrt_h / 60.0,
                    seed=seeds.disturbances,
                    t_end_s=duration + 60.0,
                    grid_step_s=60.0,
                )
            )
        level = solids0
        for bc in sorted(sl.batch_changes, key=lambda b: b.t_s):
            parts.append(Step(bc.t_s, bc.solids_frac - level))
            level = bc.solids_frac
        self.solids = Sum(*parts)
        self.heater_eff = [_zone_profile(dist.heater_efficiency, z) for z in range(1, layout.n_zones + 1)]
        self.fan_factor = [_zone_profile(dist.fan_flow_factor, z) for z in range(1, layout.n_zones + 1)]
        pn = dist.process_noise
        ss = np.random.SeedSequence(seeds.process_noise).spawn(4)
        self.pump_noise = PumpPulsation(
            freq_Hz=pn.pump_frequency_hz,
            rel_amplitude=pn.pump_pulsation_rel,
            jitter_rel_std=pn.pump_pulsation_rel * 0.5,
            jitter_corr_time_s=5.0,
            seed=ss[0],
        )
        self.coat_noise = OrnsteinUhlenbeck(std=pn.coat_variation_rel, corr_time_s=pn.coat_variation_corr_s, seed=ss[1])
        self.heat_transfer_noise = OrnsteinUhlenbeck(std=pn.heat_transfer_variation_rel,
                                                     corr_time_s=pn.heat_transfer_corr_s, seed=ss[2])
        self.critical_content_noise = OrnsteinUhlenbeck(std=pn.critical_content_variation_rel,
                                                        corr_time_s=pn.critical_content_corr_s, seed=ss[3])
        self.stops = EventList([Event(start_s=s.t_s, end_s=s.t_s + s.duration_s) for s in dist.line_stops])
        self.dt_s = dt_s

    def reset(self) -> None:
        self.pump_noise.reset()
        self.coat_noise.reset()
        self.heat_transfer_noise.reset()
        self.critical_content_noise.reset()

    def vector(self, t_s: float) -> np.ndarray:
        """Disturbance vector at ``t_s`` (process noise sampled at ``t_s``; call with non-decreasing t)."""
        t = np.array([float(t_s)])
        return self._rows(t, np.array([self.pump_noise.sample(t_s)]), np.array([self.coat_noise.sample(t_s)]),
                          np.array([self.heat_transfer_noise.sample(t_s)]),
                          np.array([self.critical_content_noise.sample(t_s)]))[0]

    def matrix(self, n_steps: int) -> np.ndarray:
        """The rows :meth:`vector` gives at ``t = k * dt_s``, ``k = 0 .. n_steps - 1``, in one call
        (``(n_steps, n_disturbances)``; the same values). The process-noise paths restart (:meth:`reset`)
        before and after."""
        self.reset()
        t = np.arange(n_steps) * self.dt_s
        d = self._rows(t, self.pump_noise.sample_many(t), self.coat_noise.sample_many(t),
                       self.heat_transfer_noise.sample_many(t), self.critical_content_noise.sample_many(t))
        self.reset()
        return d

    def _rows(self, t: np.ndarray, pump: np.ndarray, coat: np.ndarray, htf: np.ndarray,
              xcr: np.ndarray) -> np.ndarray:
        """Disturbance rows at the times ``t`` from the process-noise samples there (one assembly for
        :meth:`vector` and :meth:`matrix`)."""
        L = self.layout
        d = np.empty((t.size, L.n_disturbances))
        d[:, L.D_OUT_T] = self.outdoor_temp(t)
        d[:, L.D_OUT_RH] = np.clip(self.outdoor_rh(t), 0.0, 1.0)
        d[:, L.D_SOLIDS] = self.solids(t)
        # the plant holds d over the interval: the pulsation enters as its interval mean plus jitter
        jitter = pump - self.pump_noise.sinusoid(t)
        d[:, L.D_PUMP_NOISE] = self.pump_noise.interval_mean_sinusoid(t, t + self.dt_s) + jitter
        d[:, L.D_COAT_NOISE] = coat
        d[:, L.D_HTF] = np.maximum(1.0 + htf, 0.5)
        # held in the range DryerParams checks against the equilibrium content (5 std of the largest variation)
        lo, hi = CRITICAL_CONTENT_FACTOR_RANGE
        d[:, L.D_XCR] = np.clip(1.0 + xcr, lo, hi)
        d[:, L.d_heater_eff] = np.column_stack([s(t) for s in self.heater_eff])
        d[:, L.d_fan_factor] = np.column_stack([s(t) for s in self.fan_factor])
        return d

    def stopped(self, t_s: float) -> bool:
        """The line is stopped by an event (planned stop or web break) at ``t_s``."""
        return bool(self.stops.stopped(t_s))


@dataclass
class ScenarioSetup:
    """Everything a closed-loop run of one scenario needs."""

    scenario: Scenario
    plant_params: LineParams
    model_params: LineParams
    recipe: OperatingPoint
    schedule: AnnouncedSchedule
    sensor_specs: dict[str, SensorSpec]
    actuator_specs: list[ActuatorSpec]
    source: str = "<scenario>"
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def layout(self) -> LineLayout:
        return LineLayout(self.plant_params.dryer.n_zones, self.plant_params.dryer.cells_per_zone)

    def disturbances(self, duration_s: float | None = None) -> PlantDisturbances:
        """A fresh disturbance source (same seeds, same values) for a run of ``duration_s``
        (default: the scenario's duration)."""
        return PlantDisturbances(
            self.scenario, self.layout, self.plant_params.coater.solids_frac_nominal, self.scenario.control_interval_s,
            duration_s,
        )

    def sensors(self) -> dict[str, Sensor]:
        """Fresh sensors, each with its own seeded generator."""
        seeds = np.random.SeedSequence(self.scenario.seeds.sensors).spawn(len(self.sensor_specs))
        return {name: Sensor(spec, np.random.default_rng(s)) for (name, spec), s in zip(
            self.sensor_specs.items(), seeds, strict=True)}

    def actuators(self) -> ActuatorBank:
        return ActuatorBank(list(self.actuator_specs))

    def plc_loops(self) -> list[LoopSpec]:
        """The line PLC's loops: recipe values and tuning from the nominal model (``docs/plc.md``)."""
        return line_plc_loops(self.model_params, self.recipe, self.actuator_specs, self.scenario.plc)

    def plc(self) -> Plc:
        """A fresh line PLC, every loop in recipe mode."""
        cfg = self.scenario.plc
        return Plc(self.plc_loops(), [a.name for a in self.actuator_specs], cfg.stale_after_s, cfg.watchdog_s)


def _sensor_specs(sc: Scenario, plant: LineParams) -> dict[str, SensorSpec]:
    s = sc.sensors
    n = plant.dryer.n_zones
    faults: dict[int, list[SensorFault]] = {}
    for f in sc.disturbances.analyser_faults:
        faults.setdefault(f.zone, []).append(
            SensorFault(kind=f.kind, start_s=f.t_s, end_s=f.end_s, drift_per_s=f.drift_per_s)
        )
    specs: dict[str, SensorSpec] = {
        "coat_weight_kg_m2": coat_weight_gauge(
            plant.coater.coater_to_gauge_m, noise_rel=s.coat_weight_noise_rel, sample_period_s=s.coat_weight_scan_s
        ),
        "exit_residual_kg_kg": nir_solvent_gauge(noise_rel=s.residual_noise_rel),
        "exit_film_temp_K": film_temperature_pyrometer(),
        "speed_m_s": SensorSpec(name="speed_m_s", unit="m/s", noise_std=1e-4),
        "pump_flow_m3_s": SensorSpec(name="pump_flow_m3_s", unit="m3/s", noise_rel=0.002),
        "room_rh_frac": SensorSpec(name="room_rh_frac", unit="1", noise_std=0.01, sample_period_s=10.0,
                                   range_min=0.0, range_max=1.0),
    }
    for i in range(1, n + 1):
        specs[f"zone{i}_air_temp_K"] = zone_air_thermocouple(noise_std=s.air_temp_noise_K)
        specs[f"zone{i}_nozzle_velocity_m_s"] = nozzle_velocity_sensor()
        if plant.solvent.lel_vol_frac > 0:
            specs[f"zone{i}_lel_frac"] = lel_analyser(
                noise_std=s.lel_noise, lag_s=s.lel_lag_s, bias=s.lel_bias, faults=tuple(faults.get(i, ()))
            )
        else:
            specs[f"zone{i}_humidity_ratio_kg_kg"] = SensorSpec(
                name=f"zone{i}_humidity_ratio_kg_kg", unit="kg/kg", noise_rel=0.02, lag_s=20.0,
                sample_period_s=1.0, range_min=0.0, range_max=1.0,
            )
    return specs


def build_setup(sc: Scenario, *, source: str = "<scenario>") -> ScenarioSetup:
    """Plant and model parameters, recipe, schedule, sensors and actuators of a scenario.

    ``source`` is the scenario file (or a shipped scenario's name); files the
    scenario names by relative path are found from its folder.
    """
    if not source.startswith("<"):
        source = str(resolve_scenario_path(source))
    base = get_preset(sc.preset)
    mm = sc.mismatch
    try:
        plant = apply_overrides(base, mm.plant_cells_per_zone, mm.plant)
        model_base = base
        if mm.model_params_file is not None:
            from plants.params_file import load_params_file

            model_base = load_params_file(_params_path(mm.model_params_file, source), base)
        model = apply_overrides(model_base, mm.model_cells_per_zone, mm.model)
    except ValueError as exc:
        raise CalmlineError(f"{source}: [mismatch]: {exc}") from None
    layout = LineLayout(plant.dryer.n_zones, plant.dryer.cells_per_zone)
    specs = actuator_specs(plant, layout)
    recipe = recipe_operating_point(sc, specs, source)
    schedule = AnnouncedSchedule(
        speed_target_m_s=sc.schedule.speed_target_m_s,
        speed_cap_m_s=sc.schedule.speed_cap_m_s,
        speed_changes=tuple((c.t_s, c.target_m_s, c.cap_m_s, c.ramp_s) for c in sc.schedule.speed_changes),
        batch_changes=tuple(
            (b.t_s, b.nominal_solids_frac if b.nominal_solids_frac is not None else base.coater.solids_frac_nominal)
            for b in _announced(sc.disturbances.slurry.batch_changes)
        ),
        planned_stops=tuple((s.t_s, s.duration_s) for s in _announced_stops(sc.disturbances.line_stops)),
    )
    return ScenarioSetup(
        scenario=sc,
        plant_params=plant,
        model_params=model,
        recipe=recipe,
        schedule=schedule,
        sensor_specs=_sensor_specs(sc, plant),
        actuator_specs=specs,
        source=source,
    )


def _params_path(path: str, source: str) -> Path:
    """A parameter file's path: as given if absolute, else relative to the scenario file ``source``."""
    p = Path(path)
    if p.is_absolute():
        return p
    src = Path(source)
    if source.startswith("<") or not src.suffix:
        return p
    return src.parent / p


def _announced(changes: list[BatchChange]) -> list[BatchChange]:
    return [b for b in changes if b.announced]


def _announced_stops(stops: list[LineStop]) -> list[LineStop]:
    return [s for s in stops if s.announced]
