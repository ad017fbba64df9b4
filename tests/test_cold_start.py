"""A cold start-up (``[start] state = "cold"``, ``nmc_nmp_cold_start``): from an empty, cold dryer to production.

The plant starts with every zone at room temperature, heaters off, no coating on the web and the line
standing (an announced stop from t = 0); the controllers heat the dryer and start the line when the plan
says. The PID family's coat-weight loop holds until web coated after the start reaches the gauge (the bare
foil between die and gauge reads zero and wound the loop to its limit).
"""

from __future__ import annotations

import numpy as np
import pytest
from _closed_loop import ROOT, max_lel, short_setup

from controllers._common import CoatWeightLoop
from controllers.registry import make_controller
from mpc.harness import controller_context, run_closed_loop
from mpc.interfaces import Observation
from mpc.scenario import ScenarioError, load_scenario, scenario_from_dict

SCENARIO = "nmc_nmp_cold_start.toml"


def test_a_cold_start_needs_the_line_standing_from_t0() -> None:
    data = load_scenario(ROOT / "scenarios" / SCENARIO).model_dump()
    data["disturbances"]["line_stops"] = []
    with pytest.raises(ScenarioError, match=r"start\.state = 'cold': expected an announced line stop from t_s = 0"):
        scenario_from_dict(data)
    with pytest.raises(ScenarioError, match=r"found: none"):
        scenario_from_dict(data)
    data["disturbances"]["line_stops"] = [{"t_s": 0.0, "duration_s": 600.0, "announced": False}]
    with pytest.raises(ScenarioError, match=r"announced line stop from t_s = 0 .*found: t_s = 0 \(not announced\)"):
        scenario_from_dict(data)


def test_the_plant_starts_cold_and_empty() -> None:
    setup = short_setup(SCENARIO, 20.0)
    ts = run_closed_loop(setup, make_controller("recipe")).timeseries
    first = ts.iloc[0]
    room = setup.plant_params.building.room_temp_K
    for i in range(1, 5):
        assert first[f"zone{i}_air_temp_K"] == pytest.approx(room, abs=0.5)
        assert first[f"zone{i}_lel_frac"] == pytest.approx(0.0, abs=1e-9)
    assert first["coat_weight_die_kg_m2"] == 0.0
    assert ts["speed_m_s"].max() == 0.0
    film = first[[c for c in ts.columns if c.startswith("cell") and c.endswith("_film_temp_K")]].to_numpy()
    assert np.all(film < room + 0.5)  # the bare foil, at room temperature but for the first interval's air


def _obs(t_s: float, speed: float, stopped: bool, cw: float | None) -> Observation:
    applied = np.zeros(14)
    applied[0] = speed
    fresh = {"coat_weight_kg_m2": cw is not None}
    meas = {"coat_weight_kg_m2": np.nan if cw is None else cw}
    return Observation(t_s=t_s, measurements=meas, fresh=fresh, healthy={}, lel_limit_frac=0.5, speed_target_m_s=0.5,
                       speed_cap_m_s=0.6, line_stopped=stopped, applied=applied)


def test_the_coat_weight_loop_holds_until_web_coated_after_the_start_reaches_the_gauge() -> None:
    setup = short_setup(SCENARIO, 20.0)
    ctx = controller_context(setup, "pid")
    loop = CoatWeightLoop(ctx, pump_per_speed=1.0, gauge_scan_s=10.0, restart_skip_m=60.0)
    skip = setup.model_params.coater.coater_to_gauge_m + 60.0
    dt = ctx.dt_s
    t = 0.0
    for _ in range(10):  # standing
        assert loop.ratio(_obs(t, 0.0, True, None)) == 1.0
        t += dt
    run_m = 0.0
    while run_m + 0.5 * dt < skip:  # running: the gauge reads the bare foil (zero), the loop holds
        assert loop.ratio(_obs(t, 0.5, False, 0.0)) == 1.0
        t += dt
        run_m += 0.5 * dt
    # past it, a reading 5 % light raises the ratio
    loop.ratio(_obs(t, 0.5, False, 0.19))
    assert loop.ratio(_obs(t + 10.0, 0.5, False, 0.19)) > 1.0


@pytest.mark.slow
def test_the_nmpc_heats_the_dryer_and_starts_the_line() -> None:
    """1 h: 40 min heat-up, then the line runs up to the plan's speed."""
    setup = short_setup(SCENARIO, 3600.0)
    ctrl = make_controller("nmpc")
    res = run_closed_loop(setup, ctrl)
    ts = res.timeseries
    assert np.all(max_lel(ts) < ts["lel_limit_frac"].to_numpy())
    assert ts.loc[:2398.0, "speed_m_s"].max() == 0.0
    # hot before the line starts: each zone within 10 K of the start-up recipe's air temperature
    at_start = ts.loc[2398.0, [f"zone{i}_air_temp_K" for i in range(1, 5)]].to_numpy()
    np.testing.assert_allclose(at_start, setup.recipe.air_temp_K, atol=10.0)
    late = ts.loc[3300.0:]
    assert late["speed_m_s"].min() > 0.49
    cw = late["coat_weight_die_kg_m2"].to_numpy() / setup.scenario.spec.coat_weight_target_kg_m2
    assert np.max(np.abs(cw - 1.0)) < setup.scenario.spec.coat_weight_tolerance_frac
    assert int(ts["solver_failure"].sum()) == 0


def test_the_coat_weight_loop_acts_at_once_on_a_running_line_and_integrates_one_scan_after_a_restart() -> None:
    """A run that starts running is not held; after a stop the first reading past the hold moves the ratio as one
    scan's reading does (it integrated over the whole stop and hold before: a 1 % error after a 900 s stop stepped
    the ratio by 5 %)."""
    setup = short_setup("nmc_nmp_nominal.toml", 20.0)
    ctx = controller_context(setup, "pid")
    loop = CoatWeightLoop(ctx, pump_per_speed=1.0, gauge_scan_s=10.0, restart_skip_m=60.0)
    dt = ctx.dt_s
    first = loop.ratio(_obs(0.0, 0.5, False, 0.198))  # running from t = 0: acts on its first reading
    assert first > 1.0
    one_scan = first - 1.0
    t = dt
    for _ in range(450):  # a 900 s stop
        loop.ratio(_obs(t, 0.0, True, None))
        t += dt
    before = loop.ratio(_obs(t, 0.5, False, None))
    t += dt
    while loop.position_m + 0.5 * dt < loop.hold_until_m:  # held: the readings (1 % light) are not used
        assert loop.ratio(_obs(t, 0.5, False, 0.198)) == pytest.approx(before)
        t += dt
    after = loop.ratio(_obs(t, 0.5, False, 0.198))  # the first reading used
    assert 0.0 < after - before <= 1.5 * one_scan  # integrated over the stop and the hold: about 0.05
