"""The harness: determinism, causality, and what a controller can and cannot see."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from controllers.registry import make_controller
from mpc.harness import run_closed_loop
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import build_setup, load_scenario, scenario_from_dict
from plants.line import LineModel

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"


class Spy(Controller):
    """Records everything it is given; holds the recipe's inputs."""

    name = "spy"

    def reset(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.obs: list[Observation] = []
        self.inner = make_controller("recipe")
        self.inner.reset(dataclasses.replace(ctx, controller_name="recipe"))

    def step(self, obs: Observation) -> Command:
        self.obs.append(obs)
        return self.inner.step(obs)


def _objects(obj, depth=0, seen=None):
    """Every object reachable through dataclass fields, dicts, lists and attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    yield obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _objects(getattr(obj, f.name), depth + 1, seen)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _objects(v, depth + 1, seen)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _objects(v, depth + 1, seen)


def test_controller_sees_only_sensors_schedule_and_its_own_model() -> None:
    setup = build_setup(load_scenario(NOMINAL))
    spy = Spy()
    run_closed_loop(setup, spy, duration_s=60.0)
    reachable = list(_objects(spy.ctx)) + [o for ob in spy.obs for o in _objects(ob)]
    # no plant model, no plant parameters, no disturbance source anywhere in what it was given
    assert not any(isinstance(o, LineModel) for o in reachable)
    assert not any(o is setup.plant_params for o in reachable)
    assert spy.ctx.model_params == setup.model_params != setup.plant_params
    assert spy.ctx.model_params.dryer.cells_per_zone == 2
    types = {type(o).__name__ for o in reachable}
    assert "PlantDisturbances" not in types and "Sensor" not in types
    # nor the PLC itself: its loops' configuration and each loop's status, never the plant behind them
    assert "Plc" not in types and "ActuatorBank" not in types
    assert set(spy.obs[0].loops) == {lp.name for lp in setup.plc_loops()}
    assert {type(v).__name__ for v in spy.obs[0].loops.values()} == {"LoopStatus"}
    # the observation carries sensor names only
    assert set(spy.obs[0].measurements) == set(setup.sensor_specs)


def test_unannounced_disturbances_are_not_previewed() -> None:
    """Moves before an unannounced event are identical whether or not it happens."""
    base = load_scenario(NOMINAL).model_dump()
    base["duration_s"] = 400.0
    base["warmup_s"] = 100.0
    with_step = {**base, "disturbances": {**base["disturbances"], "slurry": {
        **base["disturbances"]["slurry"],
        "batch_changes": [{"t_s": 200.0, "solids_frac": 0.67, "announced": False}]}}}
    runs = []
    for data in (base, with_step):
        sc = scenario_from_dict(data)
        runs.append(run_closed_loop(build_setup(sc), make_controller("pid")).timeseries)
    a, b = runs
    cmd_cols = [c for c in a.columns if c.startswith("cmd_")]
    before = a.index <= 200.0
    np.testing.assert_array_equal(a.loc[before, cmd_cols].to_numpy(), b.loc[before, cmd_cols].to_numpy())
    assert not np.allclose(a.loc[~before, "coat_weight_die_kg_m2"], b.loc[~before, "coat_weight_die_kg_m2"])


def test_same_scenario_same_numbers() -> None:
    setup = build_setup(load_scenario(NOMINAL))
    a = run_closed_loop(setup, make_controller("pid"), duration_s=120.0).timeseries
    b = run_closed_loop(setup, make_controller("pid"), duration_s=120.0).timeseries
    cols = [c for c in a.columns if c != "step_time_ms"]
    np.testing.assert_array_equal(a[cols].to_numpy(float), b[cols].to_numpy(float))


def test_timeseries_columns_have_units_and_interlock_stops_the_line() -> None:
    data = load_scenario(NOMINAL).model_dump()
    data["duration_s"] = 300.0
    data["warmup_s"] = 60.0
    data["disturbances"]["line_stops"] = [{"t_s": 100.0, "duration_s": 60.0, "announced": False}]
    ts = run_closed_loop(build_setup(scenario_from_dict(data)), make_controller("recipe")).timeseries
    stopped = (ts.index > 100.0) & (ts.index <= 160.0)
    assert np.all(ts.loc[stopped, "speed_m_s"] == 0.0)
    assert np.all(ts.loc[stopped, "pump_flow_cmd_m3_s"] == 0.0)
    assert not ts.loc[stopped, "line_running"].any()
    pos = ts["web_position_m"].to_numpy()
    assert np.all(np.diff(pos) >= 0)
    assert pos[stopped].max() - pos[stopped].min() == pytest.approx(0.0)
    unitless_ok = {"line_running", "analysers_healthy", "solver_failure", "fallback", "solved", "plc_loops_flagged",
                   "controller_answered"}
    units = ("_K", "_m_s", "_m3_s", "_W", "_kg_m2", "_kg_kg", "_frac", "_Pa", "_m", "_ms", "_Pa_s", "_kg_s", "_rel",
             "_factor", "_efficiency", "_ratio", "_margin", "_kg_m3", "_m3_m")
    setup = build_setup(scenario_from_dict(data))
    for lp in setup.plc_loops():  # every PLC loop's set point and mode (0 = recipe, 1 = remote)
        assert lp.setpoint_key in ts.columns and lp.mode_key in ts.columns
        assert set(ts[lp.mode_key].unique()) <= {0, 1, 2}
    for c in ts.columns:
        if c in unitless_ok or c.endswith("_mode"):
            continue
        assert c.endswith(units), f"column {c!r} has no unit in its name"


def test_analyser_failure_tightens_limit_after_purge() -> None:
    sc = load_scenario(ROOT / "scenarios" / "nmc_nmp_analyser_failure.toml").model_dump()
    sc["duration_s"] = 7400.0
    sc["warmup_s"] = 100.0
    ts = run_closed_loop(build_setup(scenario_from_dict(sc)), make_controller("recipe")).timeseries
    fail_t = 7200.0
    assert np.all(ts.loc[ts.index <= fail_t, "lel_limit_frac"] == 0.5)
    assert np.all(ts.loc[ts.index > fail_t + 62.0, "lel_limit_frac"] == 0.25)
    assert np.all(ts.loc[(ts.index > fail_t + 2.0) & (ts.index < fail_t + 58.0), "lel_limit_frac"] == 0.5)


@pytest.mark.parametrize(("has", "credited", "allows", "limit"), [
    (True, True, True, 0.5), (True, False, True, 0.25), (False, True, True, 0.25), (True, True, False, 0.25),
])
def test_the_lel_limit_in_force_is_one_rule_on_the_spec(has: bool, credited: bool, allows: bool,
                                                         limit: float) -> None:
    """50 % LEL only with analysers, credited (healthy or within the purge allowance) and allowed by the spec."""
    spec = load_scenario(ROOT / "scenarios" / "nmc_nmp_nominal.toml").spec.model_copy(
        update={"analyser_allows_50pct": allows})
    assert spec.lel_limit_in_force(has, credited) == pytest.approx(limit)


def test_scenario_and_log_disturbances_are_disturbance_sources() -> None:
    """Both plant-side sources the harness drives meet the protocol it is typed against."""
    from mpc.historian import build_replay_setup, load_log
    from mpc.interfaces import DisturbanceSource
    from mpc.scenario import build_setup, load_scenario
    from scenarios import shipped_path

    sc = load_scenario(shipped_path("nmc_nmp_nominal.toml"))
    assert isinstance(build_setup(sc).disturbances(), DisturbanceSource)
    log = load_log(shipped_path("data/logs/greensboro_july_nmc.csv"), None, step_s=sc.control_interval_s)
    replay = build_replay_setup(log.window(0.0, 600.0), sc)
    assert isinstance(replay.disturbances(), DisturbanceSource)
    assert not isinstance(object(), DisturbanceSource)
