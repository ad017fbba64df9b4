"""The recipe's exhausts from one design rule (``plants.design``, ``mpc/scenario/_recipe.py``).

Every zone at one design level at the recipe's temperatures and nozzle velocities, nominal
conditions, on the nominal model: 0.8 (the NMPC target's ``lel_margin``) of the LEL limit
without an analyser for NMP, one exhaust humidity ratio for water; the physics report sizes its
comparison dryers with the same function.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mpc.scenario import (
    ScenarioError,
    TargetSettings,
    build_setup,
    load_scenario,
    scenario_from_dict,
)
from mpc.scenario._recipe import nominal_model_params
from mpc.scenario._schema import DESIGN_HUMIDITY_RATIO_KG_KG
from plants import (
    LineModel,
    OperatingPoint,
    ParameterError,
    get_preset,
    nominal_operating_point,
    steady_state,
)
from plants.design import ventilated_steady_state
from plants.validate import NMP_EXHAUST_LEL, WATER_EXHAUST_HUMIDITY, _ventilated

ROOT = Path(__file__).resolve().parents[1]


def _levels(ss, kind: str, n: int = 4) -> np.ndarray:
    return np.array([ss.y[f"zone{i}_{kind}"] for i in range(1, n + 1)])


def test_every_zone_sits_at_the_design_lel() -> None:
    model = LineModel(get_preset("nmc_nmp"))
    op = nominal_operating_point("nmc_nmp")
    ss = ventilated_steady_state(model, op, lel_frac=0.2)
    np.testing.assert_allclose(_levels(ss, "lel_frac"), 0.2, rtol=1e-3)
    # the returned exhausts are a steady state of the line: recomputed from scratch, the same levels
    again = steady_state(model, dataclasses.replace(op, exhaust_m3_s=tuple(ss.u[model.layout.u_exhaust])))
    np.testing.assert_allclose(_levels(again, "lel_frac"), 0.2, rtol=1e-3)
    # a leaner design level needs more air in every zone, half the level about twice as much in all
    lean = ventilated_steady_state(model, op, lel_frac=0.1)
    ex, ex_lean = ss.u[model.layout.u_exhaust], lean.u[model.layout.u_exhaust]
    assert np.all(ex_lean > ex) and ex_lean.sum() > 1.8 * ex.sum()
    np.testing.assert_allclose(_levels(lean, "lel_frac"), 0.1, rtol=1e-3)


def test_a_water_line_sits_at_the_design_humidity_or_at_the_exhausts_lower_limit() -> None:
    model = LineModel(get_preset("graphite_water"))
    op = nominal_operating_point("graphite_water")
    ss = ventilated_steady_state(model, op, humidity_ratio_kg_kg=0.03, exhaust_min_m3_s=0.05)
    hum = _levels(ss, "humidity_ratio_kg_kg")
    ex = ss.u[model.layout.u_exhaust]
    at_floor = np.isclose(ex, 0.05)
    assert at_floor.any() and not at_floor.all()  # the last zone evaporates too little for 30 g/kg
    np.testing.assert_allclose(hum[~at_floor], 0.03, rtol=1e-3)
    assert np.all(hum[at_floor] < 0.03)


def test_the_exhaust_fans_delivery_is_taken_into_account() -> None:
    """A fan that delivers 90 % of its command needs a command 1/0.9 larger for the same level."""
    p = get_preset("nmc_nmp")
    op = nominal_operating_point("nmc_nmp")
    full = ventilated_steady_state(LineModel(p), op, lel_frac=0.2)
    worn_model = LineModel(p.replace(dryer={"exhaust_flow_factor": 0.9}))
    worn = ventilated_steady_state(worn_model, op, lel_frac=0.2)
    np.testing.assert_allclose(worn.u[worn_model.layout.u_exhaust] * 0.9, full.u[worn_model.layout.u_exhaust], rtol=1e-4)
    np.testing.assert_allclose(_levels(worn, "lel_frac"), 0.2, rtol=1e-3)


def test_a_design_level_of_the_wrong_kind_is_refused() -> None:
    op = nominal_operating_point("nmc_nmp")
    with pytest.raises(ParameterError, match="flammable: size its exhausts by lel_frac"):
        ventilated_steady_state(LineModel(get_preset("nmc_nmp")), op, humidity_ratio_kg_kg=0.03)
    with pytest.raises(ParameterError, match="not flammable: size its exhausts by humidity_ratio_kg_kg"):
        ventilated_steady_state(LineModel(get_preset("graphite_water")), nominal_operating_point("graphite_water"),
                                lel_frac=0.2)
    with pytest.raises(ParameterError, match="expected a positive number"):
        ventilated_steady_state(LineModel(get_preset("nmc_nmp")), op, lel_frac=-0.2)


@pytest.mark.parametrize(("preset", "kind", "level"), [
    ("nmc_nmp", "lel_frac", NMP_EXHAUST_LEL), ("graphite_water", "humidity_ratio_kg_kg", WATER_EXHAUST_HUMIDITY)])
def test_the_physics_report_ventilates_with_the_same_function(preset: str, kind: str, level: float) -> None:
    model = LineModel(get_preset(preset))
    n = model.layout.n_zones
    op = OperatingPoint(speed_m_s=0.5, coat_weight_kg_m2=0.15, air_temp_K=(343.15,) * n,
                        nozzle_velocity_m_s=(15.0,) * n, exhaust_m3_s=(1.0,) * n)
    ss = _ventilated(model, op)
    ex = ss.u[model.layout.u_exhaust]
    inside = ex > 0.02 * (1 + 1e-9)
    np.testing.assert_allclose(_levels(ss, kind, n)[inside], level, rtol=1e-4)


# ---- the shipped scenarios' recipes -------------------------------------------------------------


def test_the_cathode_recipe_holds_every_zone_at_the_nmpc_targets_fraction_of_the_limit() -> None:
    sc = load_scenario(ROOT / "scenarios" / "nmc_nmp_nominal.toml")
    assert sc.recipe.exhaust_m3_s is None  # the shipped scenarios use the rule
    setup = build_setup(sc)
    design = TargetSettings().lel_margin * sc.spec.lel_limit_frac
    model = LineModel(nominal_model_params(sc))
    ss = steady_state(model, setup.recipe)
    np.testing.assert_allclose(_levels(ss, "lel_frac"), design, rtol=1e-4)
    assert design == pytest.approx(0.2)


def test_the_anode_recipe_holds_every_zone_at_the_design_humidity_or_its_lowest_exhaust() -> None:
    setup = build_setup(load_scenario(ROOT / "scenarios" / "graphite_water_nominal.toml"))
    model = LineModel(nominal_model_params(setup.scenario))
    ss = steady_state(model, setup.recipe)
    hum = _levels(ss, "humidity_ratio_kg_kg")
    lowest = np.array([a.lower for a in setup.actuator_specs if a.name.endswith("_exhaust_flow_m3_s")])
    at_floor = np.isclose(np.asarray(setup.recipe.exhaust_m3_s), lowest)
    np.testing.assert_allclose(hum[~at_floor], DESIGN_HUMIDITY_RATIO_KG_KG, rtol=1e-4)
    assert np.all(hum[at_floor] <= DESIGN_HUMIDITY_RATIO_KG_KG)


def test_the_recipe_is_designed_on_the_nominal_model_not_the_controllers() -> None:
    """A calibrated controllers' model (a parameter file) does not move the line's recipe."""
    nominal = build_setup(load_scenario(ROOT / "scenarios" / "nmc_nmp_nominal.toml"))
    calibrated = build_setup(load_scenario(ROOT / "scenarios" / "calibrated" / "nmc_nmp_nominal_calibrated.toml"))
    assert calibrated.model_params != nominal.model_params
    assert calibrated.recipe.exhaust_m3_s == nominal.recipe.exhaust_m3_s


def _data(name: str = "nmc_nmp_nominal.toml") -> dict:
    return load_scenario(ROOT / "scenarios" / name).model_dump()


def test_a_listed_exhaust_is_run_as_given_and_the_rules_parameter_moves_the_design() -> None:
    d = _data()
    d["recipe"]["exhaust_m3_s"] = [2.0, 3.5, 2.5, 0.6]
    assert build_setup(scenario_from_dict(d)).recipe.exhaust_m3_s == (2.0, 3.5, 2.5, 0.6)
    d = _data()
    d["recipe"]["design_lel_of_limit"] = 0.9
    sc = scenario_from_dict(d)
    setup = build_setup(sc)
    ss = steady_state(LineModel(nominal_model_params(sc)), setup.recipe)
    np.testing.assert_allclose(_levels(ss, "lel_frac"), 0.9 * 0.25, rtol=1e-4)
    assert np.all(np.asarray(setup.recipe.exhaust_m3_s) < np.asarray(build_setup(load_scenario(
        ROOT / "scenarios" / "nmc_nmp_nominal.toml")).recipe.exhaust_m3_s))


@pytest.mark.parametrize(("name", "key", "value", "message"), [
    ("nmc_nmp_nominal.toml", "design_humidity_ratio_kg_kg", 0.04,
     r"x\.toml: 'recipe\.design_humidity_ratio_kg_kg' = 0\.04: preset nmc_nmp's solvent 'NMP' is a flammable "
     r"solvent: its rule is design_lel_of_limit"),
    ("graphite_water_nominal.toml", "design_lel_of_limit", 0.7,
     r"'recipe\.design_lel_of_limit' = 0\.7: preset graphite_water's solvent 'water' is not flammable"),
    ("nmc_nmp_nominal.toml", "design_lel_of_limit", 1.5, r"'recipe\.design_lel_of_limit' = 1\.5: .*less than or equal to 1"),
])
def test_a_design_parameter_that_does_not_apply_or_is_out_of_range_is_refused(name: str, key: str, value: float,
                                                                             message: str) -> None:
    d = _data(name)
    d["recipe"][key] = value
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(d, source="x.toml")


def test_a_listed_exhaust_and_a_design_parameter_together_are_refused() -> None:
    d = _data()
    d["recipe"]["exhaust_m3_s"] = [2.0, 3.5, 2.5, 0.6]
    d["recipe"]["design_lel_of_limit"] = 0.8
    with pytest.raises(ScenarioError, match=r"exhaust_m3_s lists the exhausts and design_lel_of_limit = 0\.8 asks "
                                            r"for the design rule: give one of them"):
        scenario_from_dict(d, source="x.toml")


def test_a_rule_that_needs_more_exhaust_than_the_actuator_gives_is_a_user_error(tmp_path: Path) -> None:
    """5 % LEL needs about 13 m3/s in zone 2, beyond the 4 m3/s exhaust: the command line exits 2, naming it."""
    from mpc.cli import main

    text = (ROOT / "scenarios" / "nmc_nmp_nominal.toml").read_text(encoding="utf-8")
    p = tmp_path / "lean.toml"
    p.write_text(text.replace("[recipe]\n", "[recipe]\ndesign_lel_of_limit = 0.2\n"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"lean\.toml: \[recipe\]: the design rule \(0\.05 LEL in every zone"):
        build_setup(load_scenario(p), source=str(p))
    r = CliRunner().invoke(main, ["run", str(p), "--controller", "recipe", "--duration", "60", "--out",
                                  str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "Error:" in r.output and "zone 2 at" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
