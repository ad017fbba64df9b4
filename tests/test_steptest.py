"""Step-test design (GBN within the line's limits) and running the schedule through the harness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from controllers.steptest import StepTestController, design_steptest
from mpc.cli import main
from mpc.harness import run_closed_loop
from mpc.scenario import build_setup, load_scenario, scenario_from_dict
from mpc.sysid import GbnChannel, IdentificationError, gbn_schedule

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"


def test_gbn_holds_levels_clips_and_is_seeded() -> None:
    ch = [GbnChannel("a", 1.0, 0.5, 0.0, 1.2), GbnChannel("b", 10.0, 1.0)]
    s = gbn_schedule(ch, 1000.0, 2.0, min_switch_s=20.0, seed=3)
    assert len(s) == 500 and list(s.columns) == ["time_s", "a", "b"]
    assert set(np.round(s["a"], 12)) == {0.5, 1.2}  # 1.5 is clipped to the upper limit
    assert set(s["b"]) == {9.0, 11.0}
    for name in ("a", "b"):
        runs = np.diff(np.flatnonzero(np.diff(s[name].to_numpy()) != 0))
        assert runs.min() >= 10  # at least min_switch_s / dt steps between switches
    assert abs(np.corrcoef(s["a"], s["b"])[0, 1]) < 0.2  # independent channels
    s2 = gbn_schedule(ch, 1000.0, 2.0, min_switch_s=20.0, seed=3)
    assert s.equals(s2)


def test_gbn_levels_last_whole_clock_periods_and_channels_are_uncorrelated() -> None:
    """Tulleken's GBN: one switch decision per clock period, mean hold = period / p_switch.

    (A decision at every sample after the minimum hold makes every channel an
    almost periodic square wave of the same period: channels in phase, pump
    and speed moving together, the coat weight never excited.)
    """
    ch = [GbnChannel(n, 1.0, 0.1) for n in "abcd"]
    s = gbn_schedule(ch, 200_000.0, 2.0, min_switch_s=300.0, seed=0)
    for name in "abcd":
        x = s[name].to_numpy()
        edges = np.flatnonzero(np.diff(x) != 0) + 1
        runs = np.diff(np.r_[0, edges])
        assert np.all(runs % 150 == 0)  # whole periods of 150 samples
        assert 1.8 < runs.mean() / 150 < 2.2  # p_switch = 0.5: two periods on average
    c = np.corrcoef(s[list("abcd")].to_numpy().T)
    assert np.max(np.abs(c - np.eye(4))) < 0.1
    with pytest.raises(IdentificationError, match="min_switch_s"):
        gbn_schedule(ch, 1000.0, 2.0, min_switch_s=1.0)


def test_design_respects_coat_weight_and_lel_limits() -> None:
    setup = build_setup(load_scenario(NOMINAL))
    _, rel = design_steptest(setup, ["speed_m_s", "pump_flow_cmd_m3_s", "zone2_exhaust_flow_m3_s"],
                                 duration_s=600.0, min_switch_s=60.0, amplitude_rel=0.1, seed=1)
    tol = setup.scenario.spec.coat_weight_tolerance_frac
    a_q, a_v = rel["pump_flow_cmd_m3_s"], rel["speed_m_s"]
    assert (1 + a_q) / (1 - a_v) - 1 <= tol  # the quality corner stays in specification
    assert rel["zone2_exhaust_flow_m3_s"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown input"):
        design_steptest(setup, ["zone9_exhaust"], duration_s=600.0, min_switch_s=60.0, amplitude_rel=0.1)


def test_schedule_runs_through_the_harness() -> None:
    setup = build_setup(load_scenario(NOMINAL))
    sched, _ = design_steptest(setup, ["zone2_exhaust_flow_m3_s"], duration_s=300.0, min_switch_s=40.0,
                               amplitude_rel=0.1, seed=2)
    ts = run_closed_loop(setup, StepTestController(sched), duration_s=300.0).timeseries
    cmd = ts["zone2_exhaust_setpoint_m3_s"].to_numpy()  # the PLC's exhaust-flow loop in remote mode
    assert ts["zone2_exhaust_mode"].iloc[-1] == 1 and ts["zone1_exhaust_mode"].iloc[-1] == 0
    levels = np.round(sched["zone2_exhaust_flow_m3_s"].to_numpy(), 9)
    assert set(levels) <= set(np.round(cmd, 9))  # each level reached (the loop ramps between them)
    assert cmd.min() >= levels.min() - 1e-9 and cmd.max() <= levels.max() + 1e-9
    assert np.all(ts["zone2_lel_frac"] <= ts["lel_limit_frac"])


def test_cli_design_writes_csv_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    args = ["steptest", "design", str(NOMINAL), "--inputs", "zone3_exhaust_flow_m3_s", "--duration", "200",
            "--out", str(out), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert out.is_file()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists" in again.output


def test_following_pump_excites_the_speed_at_constant_coat_weight() -> None:
    """With the pump following the speed, the speed may move far beyond the coat-weight tolerance;
    only the pump's trim on the recipe ratio is bounded by it.

    On a recipe that lists its exhausts (zones 1 and 4 well under 20 % LEL): the design rule's recipe,
    every zone at 20 % LEL, leaves the nominal model's exit residual at 0.48 % against the 0.5 % USL,
    and the residual limit then bounds the speed's amplitude too."""
    data = load_scenario(NOMINAL).model_dump()
    data["recipe"]["exhaust_m3_s"] = [2.0, 3.5, 2.5, 0.6]
    setup = build_setup(scenario_from_dict(data))
    names = ["speed_m_s", "pump_flow_cmd_m3_s"]
    sched, rel = design_steptest(setup, names, duration_s=7200.0, min_switch_s=120.0, amplitude_rel=0.1,
                                 seed=2, pump_follows_speed=True)
    tol = setup.scenario.spec.coat_weight_tolerance_frac
    assert rel["speed_m_s"] > tol and rel["pump_flow_cmd_m3_s"] < tol
    ratio = sched["pump_flow_cmd_m3_s"] / sched["speed_m_s"]
    r0 = np.median(ratio)
    assert np.max(np.abs(ratio / r0 - 1)) <= 2.05 * rel["pump_flow_cmd_m3_s"]  # the trim, no more
    assert sched["speed_m_s"].std() / sched["speed_m_s"].mean() > 0.5 * rel["speed_m_s"]


def test_setpoint_channels_step_the_plcs_temperature_loops_within_the_heaters_range() -> None:
    """Air-temperature set points as step-test channels: amplitude a fraction of the zone's rise over the outdoor
    air; a zone whose heater is nearly off at the recipe (the anode's zone 4, about 1 kW of 400 kW) is stepped
    upward only, so its loop never saturates at zero heat; the schedule runs with the loops in remote mode."""
    setup = build_setup(load_scenario(ROOT / "scenarios" / "graphite_water_nominal.toml"))
    names = [f"zone{i}_air_temp_setpoint_K" for i in (1, 4)]
    sched, rel = design_steptest(setup, names, duration_s=1200.0, min_switch_s=120.0, amplitude_rel=0.1, seed=3)
    recipe = setup.recipe.air_temp_K
    t_out = setup.recipe.outdoor_temp_K
    assert rel[names[0]] == pytest.approx(0.1)
    z1 = np.unique(np.round(sched[names[0]].to_numpy(), 6))
    assert z1 == pytest.approx([recipe[0] - 0.1 * (recipe[0] - t_out), recipe[0] + 0.1 * (recipe[0] - t_out)])
    z4 = np.unique(np.round(sched[names[1]].to_numpy(), 6))
    assert z4.min() == pytest.approx(recipe[3]) and z4.max() > recipe[3] + 1.0  # upward only
    ts = run_closed_loop(setup, StepTestController(sched), duration_s=600.0).timeseries
    assert set(ts["zone1_air_temp_mode"].iloc[5:]) == {1} and set(ts["zone2_air_temp_mode"]) == {0}
    assert np.all(ts["zone1_air_temp_setpoint_K"] >= z1.min() - 1e-9)
    with pytest.raises(ValueError, match="air-temperature set points: zone1_air_temp_setpoint_K"):
        design_steptest(setup, ["zone9_air_temp_setpoint_K"], duration_s=600.0, min_switch_s=60.0,
                        amplitude_rel=0.1)
