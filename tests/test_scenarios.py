"""Scenario files: every shipped one loads; mistakes get clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpc.scenario import ScenarioError, build_setup, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def test_required_scenarios_exist() -> None:
    names = {p.stem for p in SCENARIOS}
    for preset in ("nmc_nmp", "graphite_water"):
        for kind in ("nominal", "humid_summer_day", "batch_change", "speed_ramp", "heater_degradation",
                     "fan_fouling", "line_stop"):
            assert f"{preset}_{kind}" in names
    assert "nmc_nmp_analyser_failure" in names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_top_level_scenario_is_complete(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.name == path.stem
    setup = build_setup(sc, source=str(path))
    assert setup.model_params.dryer.cells_per_zone < setup.plant_params.dryer.cells_per_zone


def _data() -> dict:
    return load_scenario(ROOT / "scenarios" / "nmc_nmp_nominal.toml").model_dump()


def _listed() -> dict:
    """The nominal scenario with a recipe that lists its exhausts (as a line's own recipe may)."""
    d = _data()
    d["recipe"]["exhaust_m3_s"] = [2.0, 3.5, 2.5, 0.6]
    return d


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    text = (ROOT / "scenarios" / "nmc_nmp_nominal.toml").read_text().replace(
        "warmup_s = 1800.0", "warmup_s = 1800.0\nwarm_up = 3")
    p.write_text(text)
    with pytest.raises(ScenarioError, match=r"bad.toml: unknown key 'warm_up'"):
        load_scenario(p)


def test_value_out_of_range_names_key_and_value() -> None:
    d = _data()
    d["spec"]["lel_limit_frac"] = 0.6
    with pytest.raises(ScenarioError, match=r"x.toml: 'spec.lel_limit_frac' = 0.6: Input should be less than or equal to 0.25"):
        scenario_from_dict(d, source="x.toml")


def test_celsius_recipe_gets_a_hint() -> None:
    d = _data()
    d["recipe"]["air_temp_K"] = [75.0, 95.0, 105.0, 105.0]
    with pytest.raises(ScenarioError, match=r"looks like degC"):
        scenario_from_dict(d, source="x.toml")


def test_missing_key_and_zone_count() -> None:
    d = _data()
    del d["spec"]["residual_usl_kg_kg"]
    with pytest.raises(ScenarioError, match=r"missing key 'spec.residual_usl_kg_kg'"):
        scenario_from_dict(d, source="x.toml")
    d = _data()
    d["recipe"]["air_temp_K"] = [350.0, 360.0, 370.0]
    d["recipe"]["nozzle_velocity_m_s"] = [20.0] * 3
    d["recipe"]["exhaust_m3_s"] = [1.0] * 3
    with pytest.raises(ScenarioError, match=r"'recipe.air_temp_K' has 3 values; preset nmc_nmp has 4 zones"):
        scenario_from_dict(d, source="x.toml")
    d = _data()
    d["disturbances"]["heater_efficiency"] = [{"zone": 7, "t_s": 0.0, "value": 0.5}]
    with pytest.raises(ScenarioError, match=r"heater_efficiency\[0\].zone' = 7: the line has zones 1-4"):
        scenario_from_dict(d, source="x.toml")


def test_target_above_cap_and_missing_file(tmp_path: Path) -> None:
    d = _data()
    d["schedule"]["speed_target_m_s"] = 0.7
    with pytest.raises(ScenarioError, match=r"exceeds speed_cap_m_s"):
        scenario_from_dict(d)
    with pytest.raises(ScenarioError, match=r"not found"):
        load_scenario(tmp_path / "nope.toml")


def _limits(preset: str = "nmc_nmp") -> dict[str, tuple[float, float]]:
    """The actuator ranges the closed loop builds for a shipped scenario of ``preset`` (read, not copied)."""
    specs = build_setup(load_scenario(ROOT / "scenarios" / f"{preset}_nominal.toml")).actuator_specs
    return {a.name: (a.lower, a.upper) for a in specs}


@pytest.mark.parametrize(("key", "value", "message"), [
    ("exhaust_m3_s", -0.5, r"x.toml: 'recipe.exhaust_m3_s\[2\]' = -0.5: Input should be greater than 0"),
    ("nozzle_velocity_m_s", 0.0, r"'recipe.nozzle_velocity_m_s\[2\]' = 0.0: Input should be greater than 0"),
    ("nozzle_velocity_m_s", float("nan"), r"'recipe.nozzle_velocity_m_s\[2\]' = nan: Input should be a finite number"),
    ("nozzle_velocity_m_s", 1500.0,
     r"x.toml: 'recipe.nozzle_velocity_m_s\[2\]' = 1500.0: outside the zone3_nozzle_velocity_cmd_m_s actuator's "
     r"range \(0, {noz_hi:g}\] m/s \(preset nmc_nmp\)"),
    ("exhaust_m3_s", 0.01,
     r"'recipe.exhaust_m3_s\[2\]' = 0.01: outside the zone3_exhaust_flow_m3_s actuator's range "
     r"\[{ex_lo:g}, {ex_hi:g}\] m3/s"),
    ("exhaust_m3_s", "2 * ex_hi", r"'recipe.exhaust_m3_s\[2\]' = [0-9.]+: outside the zone3_exhaust_flow_m3_s actuator's range"),
])
def test_recipe_values_outside_the_actuator_ranges_are_refused(key: str, value: object, message: str) -> None:
    lim = _limits()
    ex_lo, ex_hi = lim["zone3_exhaust_flow_m3_s"]
    noz_hi = lim["zone3_nozzle_velocity_cmd_m_s"][1]
    d = _listed()
    d["recipe"][key][2] = 2 * ex_hi if value == "2 * ex_hi" else value
    with pytest.raises(ScenarioError, match=message.format(ex_lo=ex_lo, ex_hi=ex_hi, noz_hi=noz_hi)):
        scenario_from_dict(d, source="x.toml")
    d["recipe"][key][2] = (ex_lo + ex_hi) / 2 if key == "exhaust_m3_s" else noz_hi  # in range: loads
    scenario_from_dict(d, source="x.toml")


def test_the_plant_actuators_after_the_mismatch_are_the_ranges() -> None:
    """A plant override of the exhaust capacity moves the exhaust actuator's range, and the check with it."""
    ex_hi = _limits()["zone3_exhaust_flow_m3_s"][1]
    d = _listed()
    d["recipe"]["exhaust_m3_s"][2] = 1.5 * ex_hi
    with pytest.raises(ScenarioError, match=r"recipe.exhaust_m3_s\[2\]"):
        scenario_from_dict(d, source="x.toml")
    d["mismatch"]["plant"] = {"dryer": {"exhaust_max_m3_s": 2.0 * ex_hi}}
    scenario_from_dict(d, source="x.toml")


def test_schedule_speeds_outside_the_speed_actuator_are_refused() -> None:
    v_hi = _limits()["speed_m_s"][1]
    d = _data()
    d["schedule"]["speed_cap_m_s"] = v_hi + 0.5
    with pytest.raises(ScenarioError, match=rf"x.toml: 'schedule.speed_cap_m_s' = {v_hi + 0.5}: outside the speed_m_s "
                                            rf"actuator's range \(0, {v_hi:g}\] m/s"):
        scenario_from_dict(d, source="x.toml")
    d = _data()
    d["schedule"]["speed_changes"] = [{"t_s": 100.0, "target_m_s": v_hi + 0.2, "cap_m_s": v_hi + 0.3}]
    with pytest.raises(ScenarioError, match=r"'schedule.speed_changes\[0\].target_m_s'"):
        scenario_from_dict(d, source="x.toml")


def test_mismatch_override_errors_name_the_parameter() -> None:
    d = _data()
    d["mismatch"]["plant"] = {"dryer": {"heat_transfr_multiplier": 0.9}}
    with pytest.raises(ValueError, match=r"\[mismatch\]: unknown parameter dryer.heat_transfr_multiplier"):
        build_setup(scenario_from_dict(d), source="x.toml")


def test_scenario_reference_page_is_current() -> None:
    from mpc.scenario.docs import scenario_reference_markdown

    text = (ROOT / "docs" / "scenarios.md").read_text()
    assert text.strip() == scenario_reference_markdown().strip(), "regenerate: python -m mpc.scenario.docs"


def test_critical_content_varies_along_the_web_seeded_and_bounded() -> None:
    import numpy as np

    from plants.params import CRITICAL_CONTENT_FACTOR_RANGE

    def factors(data: dict) -> np.ndarray:
        setup = build_setup(scenario_from_dict(data))
        dist = setup.disturbances()
        i = setup.layout.D_XCR
        return np.array([dist.vector(t)[i] for t in np.arange(0.0, 4 * 3600.0, 20.0)])

    d = _data()
    f = factors(d)
    np.testing.assert_array_equal(f, factors(_data()))  # the scenario's process-noise seed fixes it
    lo, hi = CRITICAL_CONTENT_FACTOR_RANGE
    assert np.all((f >= lo) & (f <= hi))
    # an Ornstein-Uhlenbeck path of 3 % std and 30 min correlation: 4 h see several excursions
    assert 0.01 < float(np.std(f)) < 0.06
    # slow beside the dryer's residence time: 20 s steps of an OU path move by about std * sqrt(2 dt / tau)
    assert float(np.std(np.diff(f))) == pytest.approx(0.03 * np.sqrt(2 * 20.0 / 1800.0), rel=0.2)
    d["disturbances"]["process_noise"]["critical_content_variation_rel"] = 0.0
    np.testing.assert_array_equal(factors(d), 1.0)
    d["seeds"]["process_noise"] += 1
    d["disturbances"]["process_noise"]["critical_content_variation_rel"] = 0.03
    assert not np.array_equal(factors(d), f)
