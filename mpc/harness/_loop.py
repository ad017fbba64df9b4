"""The closed loop: plant + sensors + actuators + controller, one scenario.

At every control interval ``dt`` the harness

1. evaluates the disturbances at ``t`` (weather, slurry, degradation,
   process noise, line stops) — the plant's, never the controller's;
2. reads every sensor from the plant's true outputs (the coat-weight gauge
   by web distance: it sees the web coated ``coater_to_gauge_m`` ago);
3. works out the LEL limit in force (50 % while every analyser is healthy
   and the scenario allows it; 25 % once the purge allowance after an
   analyser failure has passed);
4. calls the controller with an :class:`Observation` (including each PLC
   loop's status) and times it;
5. writes the controller's set points to the line PLC (:mod:`plants.plc`)
   and, every PLC scan within the interval, scans its loops (their
   thermocouples read at the scan), applies the line's interlock (a stopped
   line has no speed and no pump flow), passes the loops' outputs through the
   actuators (limits, rate limits) and integrates the plant over the scan with
   its own RK4 sub-steps.

One row of plant truth, applied inputs (their mean over the interval's
scans, so that energy integrates exactly), PLC set points and modes,
measurements, disturbances, schedule and controller health is recorded per
interval.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mpc.interfaces import Command, Controller, ControllerContext, DisturbanceSource, Observation
from mpc.scenario import ScenarioSetup, run_duration_s, warmup_used_s, warn_about_duration
from plants.line import LineLayout, LineModel
from plants.plc import LoopSpec, PlcWriteError
from plants.properties import air_density_kg_m3
from plants.sensors import Reading
from plants.simulate import AdaptiveStepper
from plants.steady import OperatingPoint, steady_state

__all__ = ["RunResult", "controller_context", "run_closed_loop", "sensor_truth_map"]


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


def _initial_state(model: LineModel, setup: ScenarioSetup, d0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    L = model.layout
    r = setup.recipe
    op = OperatingPoint(
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
    ss = steady_state(model, op)
    if setup.scenario.start.state == "cold":
        return _cold_state(model, ss.x, ss.u)
    return ss.x, ss.u


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


def controller_context(setup: ScenarioSetup, controller_name: str,
                       plc_loops: Sequence[LoopSpec] | None = None) -> ControllerContext:
    """What the harness tells controller ``controller_name`` of the scenario at its reset (``Controller.reset``).

    ``plc_loops``: the line PLC's loops, where the caller has built them already (building them runs the PLC's
    step tests, about a second); default: built here (:meth:`ScenarioSetup.plc_loops`).
    """
    sc = setup.scenario
    bank = setup.actuators()
    dr = setup.plant_params.dryer
    return ControllerContext(
        controller_name=controller_name,
        dt_s=sc.control_interval_s,
        model_params=setup.model_params,
        recipe=setup.recipe,
        spec=sc.spec,
        schedule=setup.schedule,
        input_names=tuple(LineLayout(dr.n_zones, dr.cells_per_zone).input_names()),
        measurement_names=tuple(setup.sensor_specs),
        input_lower=bank.lower.copy(),
        input_upper=bank.upper.copy(),
        input_rate_limit=np.array([s.rate_limit_per_s for s in setup.actuator_specs], float),
        settings=dict(sc.controllers.get(controller_name, {})),
        source=setup.source,
        primary_factor_heater=sc.energy.factor(setup.model_params.dryer.heater_carrier),
        primary_factor_electricity=sc.energy.primary_factor_electricity,
        plc_loops=tuple(setup.plc_loops() if plc_loops is None else plc_loops),
        thermocouple_lag_s=sc.plc.thermocouple_lag_s,
    )


def run_closed_loop(
    setup: ScenarioSetup,
    controller: Controller,
    *,
    duration_s: float | None = None,
    progress: bool = False,
) -> RunResult:
    """Run ``controller`` on the scenario's plant; return the time series and metadata."""
    sc = setup.scenario
    dt = sc.control_interval_s
    duration = run_duration_s(sc, duration_s)
    warn_about_duration(sc, duration)
    n_steps = round(duration / dt)
    model = LineModel(setup.plant_params)
    L = model.layout
    dist: DisturbanceSource = setup.disturbances(duration)
    d0 = dist.vector(0.0)
    dist.reset()
    x, u0 = _initial_state(model, setup, d0)
    scan = sc.plc.scan_s
    n_scan = round(dt / scan)
    step_fn = AdaptiveStepper(model, scan, x, u0, d0)
    _, g_fn = model.casadi_functions()
    out_names = model.output_names()
    out_idx = {n: i for i, n in enumerate(out_names)}
    sensors = setup.sensors()
    sensor_names = list(sensors)
    truth = sensor_truth_map(sensor_names)
    bank = setup.actuators()
    input_names = tuple(L.input_names())
    lel_sensors = [n for n in sensor_names if n.endswith("_lel_frac")]
    spec = sc.spec
    plc = setup.plc()
    plc_specs = plc.specs
    plc_sensors = sorted({lp.measurement for lp in plc_specs if lp.measurement})
    missing = [n for n in plc_sensors if n not in sensors]
    if missing:
        raise RuntimeError(f"the PLC's loops read {missing}, which the line has no sensor for")

    ctx = controller_context(setup, getattr(controller, "settings_table", None) or controller.name, plc_specs)
    controller.reset(ctx)
    # actuators and the PLC's loops start where the plant sits
    bank.apply(0.0, u0, scan)
    applied = u0.copy()
    plc.reset(u0, min(setup.schedule.target_m_s(0.0), setup.schedule.cap_m_s(0.0)))

    n_meas = len(sensor_names)
    rec_out = np.empty((n_steps, len(out_names)))
    rec_u = np.empty((n_steps, L.n_inputs))
    rec_sp = np.empty((n_steps, len(plc_specs)))
    rec_mode = np.empty((n_steps, len(plc_specs)))
    rec_flagged = np.empty(n_steps)
    rec_meas = np.empty((n_steps, n_meas))
    rec_d = np.empty((n_steps, L.n_disturbances))
    rec_misc = np.empty((n_steps, 10))
    rec_info: list[dict[str, float]] = []
    position = 0.0
    first_failure: float | None = None

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_steps, desc=f"{sc.name} / {controller.name}", unit="step", leave=False, mininterval=0.5)

    y = np.asarray(g_fn(x, applied, d0)).ravel()

    def read(name: str, t_read: float) -> Reading:
        src = truth[name]
        if src == "@speed":
            val = applied[L.u_speed]
        elif src == "@pump":
            val = x[L.pump]
        else:
            val = y[out_idx[src]]
        return sensors[name].measure(t_read, float(val), web_position_m=position)

    for k in range(n_steps):
        t = k * dt
        d = dist.vector(t)
        stopped = dist.stopped(t)
        # sensors read plant truth (the PLC's own sensors once a scan, below)
        meas: dict[str, float] = {}
        fresh: dict[str, bool] = {}
        healthy: dict[str, bool] = {}

        for name in sensor_names:
            r = read(name, t)
            meas[name] = r.value
            fresh[name] = r.fresh
            healthy[name] = r.healthy
        rec_meas[k] = [meas[n] for n in sensor_names]
        # LEL limit in force
        all_ok = all(healthy[n] for n in lel_sensors)
        if not all_ok and first_failure is None:
            first_failure = t
        if all_ok:
            first_failure = None
        if spec.analyser_allows_50pct and lel_sensors and (
            first_failure is None or t - first_failure < spec.purge_allowance_s
        ):
            limit = 2.0 * spec.lel_limit_frac
        else:
            limit = spec.lel_limit_frac
        target = setup.schedule.target_m_s(t)
        cap = setup.schedule.cap_m_s(t)
        obs = Observation(
            t_s=t,
            measurements=meas,
            fresh=fresh,
            healthy=healthy,
            lel_limit_frac=limit,
            speed_target_m_s=target,
            speed_cap_m_s=cap,
            line_stopped=stopped,
            applied=applied.copy(),
            loops=plc.status(),
        )
        t0 = time.perf_counter()
        cmd: Command = controller.step(obs)
        step_ms = (time.perf_counter() - t0) * 1e3
        try:
            plc.write(t, cmd.setpoints, cmd.release)
        except PlcWriteError as exc:
            raise RuntimeError(f"controller {controller.name!r} at t = {t:.0f} s: {exc}") from None
        plan_speed = 0.0 if stopped else min(target, cap)
        u_sum = np.zeros(L.n_inputs)
        pv = {name: meas[name] for name in plc_sensors}
        for j in range(n_scan):
            ts = t + j * scan
            if j > 0:
                for name in plc_sensors:
                    pv[name] = read(name, ts).value
            u_plc = plc.scan(ts, scan, pv, plan_speed, stopped)
            applied = bank.apply(ts, u_plc, scan)
            if stopped:  # the line's interlock
                applied[L.u_speed] = 0.0
                applied[L.u_pump] = 0.0
            x = step_fn(x, applied, d)
            position += max(applied[L.u_speed], 0.0) * scan
            y = np.asarray(g_fn(x, applied, d)).ravel()
            u_sum += applied
        rec_out[k] = y
        rec_u[k] = u_sum / n_scan
        rec_d[k] = d
        rec_sp[k] = plc.setpoints()
        rec_mode[k] = plc.modes()
        rec_flagged[k] = plc.flagged()
        running = applied[L.u_speed] > 1e-6
        rec_misc[k] = (
            position,
            float(running),
            limit,
            float(all_ok),
            target,
            cap,
            step_ms,
            float(cmd.solver_failure),
            float(cmd.fallback),
            float(cmd.solved),
        )
        rec_info.append(cmd.info)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()

    index = pd.Index(np.arange(1, n_steps + 1) * dt, name="time_s")
    frames = [
        pd.DataFrame(rec_out, columns=out_names, index=index),
        pd.DataFrame(rec_u, columns=list(input_names), index=index),
        pd.DataFrame(rec_sp, columns=[lp.setpoint_key for lp in plc_specs], index=index),
        pd.DataFrame(rec_mode.astype(int), columns=[lp.mode_key for lp in plc_specs], index=index),
        pd.DataFrame(rec_meas, columns=[f"meas_{n}" for n in sensor_names], index=index),
        pd.DataFrame(rec_d, columns=[f"dist_{n}" for n in L.disturbance_names()], index=index),
        pd.DataFrame(
            rec_misc,
            columns=[
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
            ],
            index=index,
        ),
    ]
    if any(rec_info):  # what the controller reports of itself (Command.info), NaN on steps it did not
        frames.append(pd.DataFrame.from_records(rec_info, index=index).astype(float).add_prefix("ctrl_"))
    ts = pd.concat(frames, axis=1)
    # the speed column is the applied input; keep both names unambiguous
    ts["line_running"] = ts["line_running"].astype(bool)
    ts["analysers_healthy"] = ts["analysers_healthy"].astype(bool)
    ts["solver_failure"] = ts["solver_failure"].astype(int)
    ts["fallback"] = ts["fallback"].astype(int)
    ts["solved"] = ts["solved"].astype(int)
    ts["coat_weight_target_kg_m2"] = spec.coat_weight_target_kg_m2
    ts["plc_loops_flagged"] = rec_flagged.astype(int)
    meta = {
        "scenario": sc.name,
        "controller": controller.name,
        "preset": sc.preset,
        "duration_s": duration,
        "control_interval_s": dt,
        "warmup_s": warmup_used_s(sc, duration),
        "seeds": sc.seeds.model_dump(),
        "n_plant_states": L.n_states,
        "plant_cells_per_zone": setup.plant_params.dryer.cells_per_zone,
        "model_cells_per_zone": setup.model_params.dryer.cells_per_zone,
        "dryer_length_m": model.dryer_length_m,
        "plant_rk4_substeps_initial": step_fn.n_sub_initial,
        "plant_rk4_substeps_final": step_fn.n_sub,
        "plc_scan_s": scan,
        "coat_weight_lsl_kg_m2": spec.coat_weight_target_kg_m2 * (1 - spec.coat_weight_tolerance_frac),
        "coat_weight_usl_kg_m2": spec.coat_weight_target_kg_m2 * (1 + spec.coat_weight_tolerance_frac),
        "residual_usl_kg_kg": spec.residual_usl_kg_kg,
        "film_temp_max_K": spec.film_temp_max_K,
        "mismatch_note": sc.mismatch.note,
        "weather": dist.weather_note,
        "heater_carrier": setup.plant_params.dryer.heater_carrier,
        "primary_factor_heater": ctx.primary_factor_heater,
        "primary_factor_electricity": ctx.primary_factor_electricity,
        "scenario_json": sc.model_dump_json(),
    }
    return RunResult(timeseries=ts, meta=meta)
