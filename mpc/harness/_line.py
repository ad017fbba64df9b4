"""The simulated line, one control interval at a time: plant, sensors, actuators and PLC.

:class:`SimulatedLine` is what a controller talks to, whether in process (the closed-loop harness,
:func:`mpc.harness.run_closed_loop`) or over OPC UA (``calmline line serve``, :mod:`mpc.opcua`). At
every control interval ``dt``, :meth:`SimulatedLine.observe`

1. evaluates the disturbances at ``t`` (weather, slurry, degradation,
   process noise, line stops) — the plant's, never the controller's;
2. reads every sensor from the plant's true outputs (the coat-weight gauge
   by web distance: it sees the web coated ``coater_to_gauge_m`` ago);
3. works out the LEL limit in force (50 % while every analyser is healthy
   and the scenario allows it; 25 % once the purge allowance after an
   analyser failure has passed) and returns an :class:`Observation`
   (including each PLC loop's status);

and :meth:`SimulatedLine.advance` writes the controller's set points to the line PLC
(:mod:`plants.plc`) and, every PLC scan within the interval, scans its loops (their thermocouples
read at the scan), applies the line's interlock (a stopped line has no speed and no pump flow),
passes the loops' outputs through the actuators (limits, rate limits) and integrates the plant over
the scan with its own RK4 sub-steps.

One row of plant truth, applied inputs (their mean over the interval's scans, so that energy
integrates exactly), PLC set points and modes, measurements, disturbances, schedule and controller
health is recorded per interval (:meth:`SimulatedLine.result`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mpc.interfaces import Command, DisturbanceSource, Observation
from mpc.scenario import ScenarioSetup, run_duration_s, warmup_used_s, warn_about_duration
from plants.line import LineModel
from plants.properties import air_density_kg_m3
from plants.sensors import Reading
from plants.simulate import AdaptiveStepper
from plants.steady import OperatingPoint, steady_state

__all__ = ["RunResult", "SimulatedLine", "initial_operating_point", "sensor_truth_map", "start_state"]

_MISC_COLUMNS = (
    "web_position_m",
    "line_running",
    "lel_limit_frac",
    "analysers_healthy",
    "sched_speed_target_m_s",
    "sched_speed_cap_m_s",
    "step_time_ms",
    "solver_failure",
    "fallback",
    "solved",
    "controller_answered",
)


@dataclass
class RunResult:
    """A closed-loop run: the tidy time series and what produced it."""

    timeseries: pd.DataFrame
    meta: dict[str, Any]
    kpis: dict[str, Any] = field(default_factory=dict)


def sensor_truth_map(sensor_names: list[str]) -> dict[str, str]:
    """Which plant output (or ``@state``/``@applied`` signal) each sensor reads."""
    special = {
        "coat_weight_kg_m2": "coat_weight_die_kg_m2",
        "speed_m_s": "@speed",
        "pump_flow_m3_s": "@pump",
    }
    return {n: special.get(n, n) for n in sensor_names}


def initial_operating_point(setup: ScenarioSetup, d0: np.ndarray, layout: Any) -> OperatingPoint:
    """The recipe at the run's first disturbances: the steady state a run starts from (warm start)."""
    L = layout
    r = setup.recipe
    return OperatingPoint(
        speed_m_s=r.speed_m_s,
        coat_weight_kg_m2=r.coat_weight_kg_m2,
        air_temp_K=r.air_temp_K,
        nozzle_velocity_m_s=r.nozzle_velocity_m_s,
        exhaust_m3_s=r.exhaust_m3_s,
        outdoor_temp_K=float(d0[L.D_OUT_T]),
        outdoor_rh_frac=float(d0[L.D_OUT_RH]),
        solids_frac=float(d0[L.D_SOLIDS]),
        heater_efficiency=tuple(d0[L.d_heater_eff]),
        fan_flow_factor=tuple(d0[L.d_fan_factor]),
    )


def start_state(model: LineModel, setup: ScenarioSetup, x_ss: np.ndarray, u_ss: np.ndarray) -> tuple[
        np.ndarray, np.ndarray]:
    """The run's first state and inputs from the recipe's steady state: as they are, or a cold dryer
    (``[start] state = "cold"``)."""
    if setup.scenario.start.state == "cold":
        return _cold_state(model, x_ss, u_ss)
    return x_ss, u_ss


def _initial_state(model: LineModel, setup: ScenarioSetup, d0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ss = steady_state(model, initial_operating_point(setup, d0, model.layout))
    return start_state(model, setup, ss.x, ss.u)


def _cold_state(model: LineModel, x_ss: np.ndarray, u_ss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[start] state = "cold"``: the dryer empty and at room temperature, heaters off, fans at the recipe's
    velocities, no coating on the web, pump and drive stopped (room humidity and slurry as at steady state)."""
    L = model.layout
    p = model.params
    x, u = x_ss.copy(), u_ss.copy()
    room_K = p.building.room_temp_K
    x[L.air_temp] = room_K
    # make-up air fills the zones: a water dryer's carries the room's water vapour, an NMP dryer's none
    rho_room = float(air_density_kg_m3(room_K, p.dryer.pressure_Pa))
    x[L.zone_conc] = x[L.room_w] * rho_room if p.solvent.vapour_pressure == "water" else 0.0
    x[L.heater] = 0.0
    x[L.pump] = 0.0
    x[L.dry_loading] = 0.0
    x[L.solvent_load] = 0.0
    x[L.enthalpy] = 0.0  # the bare foil at room temperature
    u[L.u_speed] = 0.0
    u[L.u_pump] = 0.0
    u[L.u_heater] = 0.0
    return x, u




@dataclass
class _Pending:
    """What :meth:`SimulatedLine.observe` worked out for the interval that :meth:`SimulatedLine.advance` runs."""

    t: float
    d: np.ndarray
    stopped: bool
    meas: dict[str, float]
    limit: float
    all_ok: bool
    target: float
    cap: float


class SimulatedLine:
    """One scenario's line (plant, sensors, actuators, PLC), stepped one control interval at a time.

    Parameters
    ----------
    setup : ScenarioSetup
        The scenario, resolved (:func:`mpc.scenario.load_setup`).
    duration_s : float, optional
        How long to run, s (default: the scenario's own duration).
    stacklevel : int
        Whose line a warning about the duration names (2: the caller's).

    Notes
    -----
    Call :meth:`observe` then :meth:`advance` once per control interval until :attr:`done`; then
    :meth:`result`. The PLC (:attr:`plc`) is the line's own: an OPC UA server hands its heartbeat to
    it (:meth:`plants.plc.Plc.heartbeat`).
    """

    def __init__(self, setup: ScenarioSetup, *, duration_s: float | None = None, stacklevel: int = 2) -> None:
        sc = setup.scenario
        self.setup = setup
        self.dt_s = sc.control_interval_s
        self.duration_s = run_duration_s(sc, duration_s)
        warn_about_duration(sc, self.duration_s, stacklevel=stacklevel)
        self.n_steps = round(self.duration_s / self.dt_s)
        self.model = model = LineModel(setup.plant_params)
        L = model.layout
        self._dist: DisturbanceSource = setup.disturbances(self.duration_s)
        d0 = self._dist.vector(0.0)
        self._dist.reset()
        x, u0 = _initial_state(model, setup, d0)
        self._scan = sc.plc.scan_s
        self._n_scan = round(self.dt_s / self._scan)
        self._step_fn = AdaptiveStepper(model, self._scan, x, u0, d0)
        _, self._g_fn = model.casadi_functions()
        self.output_names = list(model.output_names())
        self._out_idx = {n: i for i, n in enumerate(self.output_names)}
        self.sensors = setup.sensors()
        self.sensor_names = list(self.sensors)
        self._truth = sensor_truth_map(self.sensor_names)
        self._bank = setup.actuators()
        self.input_names = tuple(L.input_names())
        self._lel_sensors = [n for n in self.sensor_names if n.endswith("_lel_frac")]
        self.plc = plc = setup.plc()
        self._plc_sensors = sorted({lp.measurement for lp in plc.specs if lp.measurement})
        missing = [n for n in self._plc_sensors if n not in self.sensors]
        if missing:
            raise RuntimeError(f"the PLC's loops read {missing}, which the line has no sensor for")
        # actuators and the PLC's loops start where the plant sits
        self._bank.apply(0.0, u0, self._scan)
        self._applied = u0.copy()
        plc.reset(u0, min(setup.schedule.target_m_s(0.0), setup.schedule.cap_m_s(0.0)))
        self._x = x
        n, n_specs = self.n_steps, len(plc.specs)
        self._rec_out = np.empty((n, len(self.output_names)))
        self._rec_u = np.empty((n, L.n_inputs))
        self._rec_sp = np.empty((n, n_specs))
        self._rec_mode = np.empty((n, n_specs))
        self._rec_flagged = np.empty(n)
        self._rec_meas = np.empty((n, len(self.sensor_names)))
        self._rec_d = np.empty((n, L.n_disturbances))
        self._rec_misc = np.empty((n, len(_MISC_COLUMNS)))
        self._rec_info: list[dict[str, float]] = []
        self._position = 0.0
        self._first_failure: float | None = None
        self._y = np.asarray(self._g_fn(x, self._applied, d0)).ravel()
        self._pending: _Pending | None = None
        self.k = 0

    # ------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Every interval of the run has been advanced."""
        return self.k >= self.n_steps

    @property
    def t_s(self) -> float:
        """The start of the current interval, s."""
        return self.k * self.dt_s

    @property
    def outputs(self) -> dict[str, float]:
        """The plant's true outputs at the end of the last interval (for a live view, never a controller)."""
        return dict(zip(self.output_names, self._y.tolist(), strict=True))

    @property
    def web_position_m(self) -> float:
        """Web coated so far (the drive's distance), m."""
        return self._position

    @property
    def applied(self) -> np.ndarray:
        """The plant inputs the PLC's loops gave over the last scan (ordered as :attr:`input_names`)."""
        return self._applied.copy()

    def _read(self, name: str, t_read: float) -> Reading:
        src = self._truth[name]
        L = self.model.layout
        if src == "@speed":
            val = self._applied[L.u_speed]
        elif src == "@pump":
            val = self._x[L.pump]
        else:
            val = self._y[self._out_idx[src]]
        return self.sensors[name].measure(t_read, float(val), web_position_m=self._position)

    def observe(self) -> Observation:
        """Read the sensors at the start of the current interval; what a controller sees."""
        if self.done:
            raise RuntimeError(f"the run is over ({self.n_steps} intervals advanced)")
        if self._pending is not None:
            raise RuntimeError(f"interval {self.k} was observed already; advance it first")
        t = self.k * self.dt_s
        d = self._dist.vector(t)
        stopped = self._dist.stopped(t)
        meas: dict[str, float] = {}
        fresh: dict[str, bool] = {}
        healthy: dict[str, bool] = {}
        for name in self.sensor_names:
            r = self._read(name, t)
            meas[name] = r.value
            fresh[name] = r.fresh
            healthy[name] = r.healthy
        self._rec_meas[self.k] = [meas[n] for n in self.sensor_names]
        spec = self.setup.scenario.spec
        all_ok = all(healthy[n] for n in self._lel_sensors)
        if not all_ok and self._first_failure is None:
            self._first_failure = t
        if all_ok:
            self._first_failure = None
        limit = spec.lel_limit_in_force(
            bool(self._lel_sensors), self._first_failure is None or t - self._first_failure < spec.purge_allowance_s)
        schedule = self.setup.schedule
        target = schedule.target_m_s(t)
        cap = schedule.cap_m_s(t)
        self._pending = _Pending(t, d, stopped, meas, limit, all_ok, target, cap)
        return Observation(
            t_s=t,
            measurements=meas,
            fresh=fresh,
            healthy=healthy,
            lel_limit_frac=limit,
            speed_target_m_s=target,
            speed_cap_m_s=cap,
            line_stopped=stopped,
            applied=self._applied.copy(),
            loops=self.plc.status(),
        )

    def advance(self, cmd: Command, step_ms: float = 0.0, *, answered: bool = True) -> None:
        """Write ``cmd`` to the PLC at the interval's start and run the interval's scans.

        ``step_ms``: how long the controller took (recorded as ``step_time_ms``); ``answered``:
        False when no controller answered the interval (over OPC UA: a stall, a lost link; the
        ``controller_answered`` column, whose zeros the step-time KPIs leave out). Raises
        :class:`plants.plc.PlcWriteError` for a set point or loop the PLC does not have (nothing
        is advanced then).
        """
        p = self._pending
        if p is None:
            raise RuntimeError(f"interval {self.k} was not observed; call observe() first")
        self.plc.write(p.t, cmd.setpoints, cmd.release)
        self._pending = None
        L = self.model.layout
        k, t, scan = self.k, p.t, self._scan
        plan_speed = 0.0 if p.stopped else min(p.target, p.cap)
        u_sum = np.zeros(L.n_inputs)
        pv = {name: p.meas[name] for name in self._plc_sensors}
        x, applied = self._x, self._applied
        for j in range(self._n_scan):
            ts = t + j * scan
            if j > 0:
                for name in self._plc_sensors:
                    pv[name] = self._read(name, ts).value
            u_plc = self.plc.scan(ts, scan, pv, plan_speed, p.stopped)
            applied = self._bank.apply(ts, u_plc, scan)
            if p.stopped:  # the line's interlock
                applied[L.u_speed] = 0.0
                applied[L.u_pump] = 0.0
            x = self._step_fn(x, applied, p.d)
            self._position += max(applied[L.u_speed], 0.0) * scan
            self._x, self._applied = x, applied
            self._y = np.asarray(self._g_fn(x, applied, p.d)).ravel()
            u_sum += applied
        self._rec_out[k] = self._y
        self._rec_u[k] = u_sum / self._n_scan
        self._rec_d[k] = p.d
        self._rec_sp[k] = self.plc.setpoints()
        self._rec_mode[k] = self.plc.modes()
        self._rec_flagged[k] = self.plc.flagged()
        running = applied[L.u_speed] > 1e-6
        self._rec_misc[k] = (
            self._position,
            float(running),
            p.limit,
            float(p.all_ok),
            p.target,
            p.cap,
            step_ms,
            float(cmd.solver_failure),
            float(cmd.fallback),
            float(cmd.solved),
            float(answered),
        )
        self._rec_info.append(cmd.info)
        self.k += 1

    def result(self, controller_name: str) -> RunResult:
        """The time series and metadata of the intervals advanced so far (a run cut short keeps what it ran)."""
        setup, sc = self.setup, self.setup.scenario
        spec = sc.spec
        n, dt = self.k, self.dt_s
        L = self.model.layout
        specs = self.plc.specs
        index = pd.Index(np.arange(1, n + 1) * dt, name="time_s")
        frames = [
            pd.DataFrame(self._rec_out[:n], columns=self.output_names, index=index),
            pd.DataFrame(self._rec_u[:n], columns=list(self.input_names), index=index),
            pd.DataFrame(self._rec_sp[:n], columns=[lp.setpoint_key for lp in specs], index=index),
            pd.DataFrame(self._rec_mode[:n].astype(int), columns=[lp.mode_key for lp in specs], index=index),
            pd.DataFrame(self._rec_meas[:n], columns=[f"meas_{s}" for s in self.sensor_names], index=index),
            pd.DataFrame(self._rec_d[:n], columns=[f"dist_{s}" for s in L.disturbance_names()], index=index),
            pd.DataFrame(self._rec_misc[:n], columns=list(_MISC_COLUMNS), index=index),
        ]
        if any(self._rec_info):  # what the controller reports of itself (Command.info), NaN on steps it did not
            frames.append(pd.DataFrame.from_records(self._rec_info, index=index).astype(float).add_prefix("ctrl_"))
        ts = pd.concat(frames, axis=1)
        # the speed column is the applied input; keep both names unambiguous
        ts["line_running"] = ts["line_running"].astype(bool)
        ts["analysers_healthy"] = ts["analysers_healthy"].astype(bool)
        ts["solver_failure"] = ts["solver_failure"].astype(int)
        ts["fallback"] = ts["fallback"].astype(int)
        ts["solved"] = ts["solved"].astype(int)
        ts["controller_answered"] = ts["controller_answered"].astype(int)
        ts["coat_weight_target_kg_m2"] = spec.coat_weight_target_kg_m2
        ts["plc_loops_flagged"] = self._rec_flagged[:n].astype(int)
        duration = n * dt
        meta = {
            "scenario": sc.name,
            "controller": controller_name,
            "preset": sc.preset,
            "duration_s": duration,
            "control_interval_s": dt,
            "warmup_s": warmup_used_s(sc, duration),
            "seeds": sc.seeds.model_dump(),
            "n_plant_states": L.n_states,
            "plant_cells_per_zone": setup.plant_params.dryer.cells_per_zone,
            "model_cells_per_zone": setup.model_params.dryer.cells_per_zone,
            "dryer_length_m": self.model.dryer_length_m,
            "plant_rk4_substeps_initial": self._step_fn.n_sub_initial,
            "plant_rk4_substeps_final": self._step_fn.n_sub,
            "plc_scan_s": self._scan,
            "coat_weight_lsl_kg_m2": spec.coat_weight_target_kg_m2 * (1 - spec.coat_weight_tolerance_frac),
            "coat_weight_usl_kg_m2": spec.coat_weight_target_kg_m2 * (1 + spec.coat_weight_tolerance_frac),
            "residual_usl_kg_kg": spec.residual_usl_kg_kg,
            "film_temp_max_K": spec.film_temp_max_K,
            "mismatch_note": sc.mismatch.note,
            "weather": self._dist.weather_note,
            "heater_carrier": setup.plant_params.dryer.heater_carrier,
            "primary_factor_heater": sc.energy.factor(setup.model_params.dryer.heater_carrier),
            "primary_factor_electricity": sc.energy.primary_factor_electricity,
            "scenario_json": sc.model_dump_json(),
        }
        return RunResult(timeseries=ts, meta=meta)
