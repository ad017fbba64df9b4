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


def test_mismatch_override_errors_name_the_parameter() -> None:
    d = _data()
    d["mismatch"]["plant"] = {"dryer": {"heat_transfr_multiplier": 0.9}}
    with pytest.raises(ValueError, match=r"\[mismatch\]: unknown parameter dryer.heat_transfr_multiplier"):
        build_setup(scenario_from_dict(d), source="x.toml")


def test_scenario_reference_page_is_current() -> None:
    from mpc.scenario.docs import scenario_reference_markdown

    text = (ROOT / "docs" / "scenarios.md").read_text()
    assert text.strip() == scenario_reference_markdown().strip(), "regenerate: python -m mpc.scenario.docs"
