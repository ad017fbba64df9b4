"""The line PLC: modes, checks, stale hand-back without a bump, manual mode, and the harness through it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpc.harness._line import _initial_state
from mpc.scenario import build_setup, load_scenario, scenario_from_dict
from plants.line import LineModel
from plants.plc import MODE_MANUAL, MODE_RECIPE, MODE_REMOTE, Plc, PlcConfig, PlcWriteError

SCENARIO = "nmc_nmp_nominal"


@pytest.fixture(scope="module")
def setup():
    return build_setup(load_scenario(SCENARIO), source=SCENARIO)


def _plc(setup) -> tuple[Plc, np.ndarray]:
    plc = setup.plc()
    d0 = setup.disturbances(600.0).vector(0.0)
    _, u0 = _initial_state(LineModel(setup.plant_params), setup, d0)  # the plant's starting inputs
    plc.reset(u0, setup.recipe.speed_m_s)
    return plc, u0


def _pv(setup, temps=None) -> dict[str, float]:
    t = setup.recipe.air_temp_K if temps is None else temps
    return {f"zone{i + 1}_air_temp_K": float(v) for i, v in enumerate(t)}


def test_every_plant_input_has_one_loop_and_names_carry_units(setup):
    plc = setup.plc()
    assert sorted(s.output for s in plc.specs) == sorted(a.name for a in setup.actuator_specs)
    keys = plc.setpoint_names
    assert keys[0] == "line_speed_setpoint_m_s" and keys[1] == "pump_ratio_setpoint_m3_m"
    assert "zone1_air_temp_setpoint_K" in keys and "zone4_exhaust_setpoint_m3_s" in keys
    assert "zone2_fan_speed_setpoint_m_s" in keys
    pi = [s for s in plc.specs if s.kind == "pi"]
    assert len(pi) == setup.plant_params.dryer.n_zones
    assert all(s.kc > 0 and s.tau_i_s > 0 and s.bias > 0 for s in pi)


def test_recipe_mode_holds_the_plant_where_it_starts(setup):
    plc, u0 = _plc(setup)
    for k in range(20):
        u = plc.scan(float(k), 1.0, _pv(setup), setup.recipe.speed_m_s, False)
    np.testing.assert_allclose(u, u0, rtol=2e-3)
    assert all(st.mode == MODE_RECIPE and st.healthy for st in plc.status().values())


def test_write_puts_a_loop_in_remote_and_checks_values(setup):
    plc, _ = _plc(setup)
    plc.write(0.0, {"zone2_exhaust_setpoint_m3_s": 0.6, "zone1_air_temp_setpoint_K": 1000.0,
                    "zone3_exhaust_setpoint_m3_s": math.nan})
    st = plc.status()
    assert st["zone2_exhaust"].mode == MODE_REMOTE and st["zone2_exhaust"].healthy
    assert st["zone1_air_temp"].mode == MODE_REMOTE and st["zone1_air_temp"].flag == "clamped"
    assert st["zone3_exhaust"].mode == MODE_RECIPE and st["zone3_exhaust"].flag == "rejected"
    plc.scan(0.0, 1.0, _pv(setup), setup.recipe.speed_m_s, False)
    hi = next(s for s in plc.specs if s.name == "zone1_air_temp").upper
    assert plc.status()["zone1_air_temp"].setpoint <= hi
    with pytest.raises(PlcWriteError, match="zone9_exhaust_setpoint_m3_s"):
        plc.write(1.0, {"zone9_exhaust_setpoint_m3_s": 1.0})
    with pytest.raises(PlcWriteError, match="no such loop"):
        plc.write(1.0, {}, release=("zone9_exhaust",))


@pytest.mark.parametrize("loop, key, value", [
    ("zone2_air_temp", "zone2_air_temp_setpoint_K", 330.0),
    ("zone3_exhaust", "zone3_exhaust_setpoint_m3_s", 0.3),
    ("pump_ratio", "pump_ratio_setpoint_m3_m", None),
    ("zone1_fan_speed", "zone1_fan_speed_setpoint_m_s", 8.0),
])
def test_stale_setpoint_returns_to_recipe_without_a_bump(setup, loop, key, value):
    plc, _ = _plc(setup)
    spec = next(s for s in plc.specs if s.name == loop)
    j = plc.input_names.index(spec.output)
    if value is None:
        value = spec.recipe_setpoint * 0.8
    stale = setup.scenario.plc.stale_after_s
    temps = np.array(setup.recipe.air_temp_K, float)
    last = None
    jumps = []
    modes = []
    for k in range(int(stale) + 120):
        t = float(k)
        if k < 60:  # the controller writes, then falls silent
            ff = {"zone2_air_temp_feedforward_W": 0.5 * spec.bias} if spec.kind == "pi" else {}
            plc.write(t, {key: value, **ff})
        if spec.kind == "pi":  # the zone follows its heater, roughly
            temps[1] += 0.02 * (plc.status()[loop].output - spec.bias) / max(spec.bias, 1.0)
        u = plc.scan(t, 1.0, _pv(setup, temps), setup.recipe.speed_m_s, False)
        if last is not None:
            jumps.append(abs(u[j] - last))
        last = u[j]
        modes.append(plc.status()[loop].mode)
    assert MODE_REMOTE in modes and modes[-1] == MODE_RECIPE
    assert plc.status()[loop].flag == "stale"
    switch = modes.index(MODE_RECIPE, modes.index(MODE_REMOTE))
    assert 60 + stale - 1 <= switch <= 60 + stale + 1
    # no output moves more than one scan's rate limit, at the hand-back or anywhere
    assert max(jumps) <= spec.output_rate_per_s * 1.0 * (1 + 1e-9)
    # and the loop is on its way back to the recipe's set point
    assert abs(plc.status()[loop].setpoint - spec.recipe_setpoint) < abs(value - spec.recipe_setpoint)


def test_watchdog_hands_every_loop_back_when_the_heartbeat_stops_and_logs_it(setup):
    plc, _ = _plc(setup)
    wd = setup.scenario.plc.watchdog_s
    assert wd < setup.scenario.plc.stale_after_s  # so that the trip is the watchdog's, not the stale rule's
    keys = {"zone2_exhaust_setpoint_m3_s": 0.6, "zone1_fan_speed_setpoint_m_s": 8.0}
    jumps, last, modes = [], None, []
    for k in range(60):
        t = float(k)
        if k < 30:  # the controller writes and beats every 2 s ...
            if k % 2 == 0:
                plc.heartbeat(t)
            plc.write(t, keys)
        elif k < 40:  # ... then only writes: its set points stay fresh, its heartbeat does not
            plc.write(t, keys)
        u = plc.scan(t, 1.0, _pv(setup), setup.recipe.speed_m_s, False)
        if last is not None:
            jumps.append(np.abs(u - last))
        last = u
        modes.append(plc.status()["zone2_exhaust"].mode)
    trip = next(e for e in plc.events if e.what == "watchdog")
    assert 28.0 + wd < trip.t_s <= 28.0 + wd + 1.0  # the last heartbeat at 28 s
    assert plc.watchdog_tripped
    assert modes[int(trip.t_s)] == MODE_RECIPE and modes[int(trip.t_s) - 1] == MODE_REMOTE
    assert plc.status()["zone1_fan_speed"].flag in ("watchdog", "")
    rates = np.array([s.output_rate_per_s for s in sorted(plc.specs, key=lambda s: plc.input_names.index(s.output))])
    assert (np.max(jumps, axis=0) <= rates * (1 + 1e-9)).all()  # bumpless
    # writes while the watchdog is tripped do not take a loop back (the heartbeat must come first) ...
    assert [e for e in plc.events if e.what == "remote" and e.t_s > trip.t_s] == []
    # ... a heartbeat re-arms it and the next write takes over again
    plc.heartbeat(60.0)
    plc.write(60.0, keys)
    assert plc.status()["zone2_exhaust"].mode == MODE_REMOTE and not plc.watchdog_tripped
    whats = [e.what for e in plc.events]
    assert whats.count("remote") == 4 and "heartbeat" in whats


def test_an_in_process_controller_never_trips_the_watchdog(setup):
    plc, _ = _plc(setup)
    for k in range(30):
        plc.write(float(k), {"zone2_exhaust_setpoint_m3_s": 0.6})
        plc.scan(float(k), 1.0, _pv(setup), setup.recipe.speed_m_s, False)
    assert not plc.watchdog_tripped and plc.status()["zone2_exhaust"].mode == MODE_REMOTE


def test_release_and_manual_mode(setup):
    plc, _ = _plc(setup)
    spec = next(s for s in plc.specs if s.name == "zone1_air_temp")
    plc.write(0.0, {"zone1_air_temp_output_W": 0.5 * spec.bias})
    assert plc.status()["zone1_air_temp"].mode == MODE_MANUAL
    outs = [plc.scan(float(k), 1.0, _pv(setup), setup.recipe.speed_m_s, False)[2 + 4] for k in range(200)]
    plc.write(200.0, {"zone1_air_temp_output_W": 0.5 * spec.bias})
    assert outs[-1] == pytest.approx(0.5 * spec.bias)
    plc.write(200.0, {}, release=("zone1_air_temp",))
    u = plc.scan(200.0, 1.0, _pv(setup), setup.recipe.speed_m_s, False)
    assert plc.status()["zone1_air_temp"].mode == MODE_RECIPE
    assert abs(u[6] - outs[-1]) <= spec.output_rate_per_s * (1 + 1e-9)


def test_interlock_and_ratio_station(setup):
    plc, _ = _plc(setup)
    ratio = next(s for s in plc.specs if s.name == "pump_ratio")
    plc.write(0.0, {"pump_ratio_setpoint_m3_m": ratio.recipe_setpoint * 5})
    assert plc.status()["pump_ratio"].flag == "clamped"
    u = plc.scan(0.0, 1.0, _pv(setup), setup.recipe.speed_m_s, True)
    assert u[0] == 0.0 and u[1] == 0.0


def test_scenario_checks_the_plc_table():
    base = load_scenario(SCENARIO).model_dump()
    for plc, what in [({"scan_s": 3.0}, "whole multiple"), ({"stale_after_s": 1.0}, "at least"),
                      ({"scan_z": 1.0}, "scan_z"), ({"air_temp_setpoint_max_K": 300.0}, "set-point range")]:
        with pytest.raises(Exception, match=what):
            scenario_from_dict({**base, "plc": plc})
    assert PlcConfig().scan_s < load_scenario(SCENARIO).control_interval_s + 1e-9


class _Silent:
    """Writes zone 2's exhaust for the first minute, then falls silent (a stalled controller)."""

    name = "silent"

    def reset(self, ctx) -> None:
        self.key = next(lp.setpoint_key for lp in ctx.plc_loops if lp.name == "zone2_exhaust")

    def step(self, obs):
        from mpc.interfaces import Command

        return Command(setpoints={self.key: 0.5} if obs.t_s < 60.0 else {})


def test_harness_returns_a_silent_controllers_loop_to_the_recipe_without_a_bump(setup):
    import warnings

    from mpc.harness import run_closed_loop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = run_closed_loop(setup, _Silent(), duration_s=240.0).timeseries
    mode = ts["zone2_exhaust_mode"]
    stale = setup.scenario.plc.stale_after_s
    assert (mode[ts.index <= 60.0] == 1).all() and (mode[ts.index > 60.0 + stale + 2.0] == 0).all()
    assert (ts["zone1_exhaust_mode"] == 0).all()
    spec = next(s for s in setup.plc_loops() if s.name == "zone2_exhaust")
    dt = setup.scenario.control_interval_s
    assert np.abs(np.diff(ts["zone2_exhaust_flow_m3_s"])).max() <= spec.output_rate_per_s * dt * (1 + 1e-9)
    assert ts["zone2_exhaust_setpoint_m3_s"].iloc[-1] == pytest.approx(spec.recipe_setpoint)
    assert ts["plc_loops_flagged"].iloc[-1] == 1  # the stale loop is flagged until a controller writes again


def test_controllers_learn_the_plcs_thermocouple_lag_and_pid_opt_tunes_its_cooling_for_it() -> None:
    """``ControllerContext.thermocouple_lag_s`` is the scenario's ``[plc] thermocouple_lag_s``; ``pid_opt`` tunes the
    cooling half of its temperature loops for it (SIMC with half the lag as extra dead time)."""
    from _closed_loop import short_setup

    from controllers.pid_opt import PidOptController
    from mpc.harness import run_closed_loop
    from plants.tuning import simc_pi

    gains = []
    for lag in (10.0, 30.0):
        setup = short_setup("graphite_water_nominal.toml", 20.0, plc__thermocouple_lag_s=lag)
        ctrl = PidOptController()
        run_closed_loop(setup, ctrl)
        assert ctrl.ctx.thermocouple_lag_s == lag
        cooled = [i for i, mc in enumerate(ctrl.cool_models) if mc is not None]
        assert cooled
        for i in cooled:
            kc_cool, _ = simc_pi(ctrl.cool_models[i], extra_dead_time_s=lag / 2.0)
            assert ctrl.cool_m3_s_per_W[i] == pytest.approx(-kc_cool / ctrl.split[i].kc)
        gains.append(ctrl.cool_m3_s_per_W.copy())
    assert not np.allclose(gains[0], gains[1])
