"""Rounded corners of the drying-rate laws (a controller-model setting; the plants keep the exact laws)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from plants.backend import ops_by_name
from plants.dryer import critical_stage_weight, falling_rate_factor, rounded_max, rounded_min
from plants.params import ParameterError
from plants.presets import get_preset

DATA = Path(__file__).parent / "data" / "nmpc" / "target_corner.json"


def test_rounded_min_is_exact_outside_its_window_and_continuously_differentiable() -> None:
    ops = ops_by_name("numpy")
    a = np.linspace(-1.0, 3.0, 40001)
    w = 0.1
    r = rounded_min(ops, a, 1.0, w)
    outside = np.abs(a - 1.0) >= w
    np.testing.assert_array_equal(r[outside], np.minimum(a, 1.0)[outside])
    dev = np.minimum(a, 1.0) - r
    assert dev.min() >= 0.0
    assert dev.max() == pytest.approx(w / 4.0, rel=1e-6)
    slope = np.diff(r) / np.diff(a)
    assert np.max(np.abs(np.diff(slope))) < 1e-2  # no jump in the derivative (a kink would jump by 1)
    np.testing.assert_array_equal(rounded_min(ops, a, 1.0, 0.0), np.minimum(a, 1.0))
    np.testing.assert_allclose(rounded_max(ops, a, 0.5, w), -rounded_min(ops, -a, -0.5, w))


@pytest.mark.parametrize("law", [falling_rate_factor, critical_stage_weight])
def test_smoothed_laws_agree_across_backends_and_stay_close_to_the_exact_ones(law) -> None:
    import casadi as ca

    dryer = get_preset("nmc_nmp").dryer
    smooth = replace(dryer, rate_law_smoothing_kg_kg=0.005)
    c = np.linspace(0.0, 0.5, 2001)
    corners = [dryer.critical_content_kg_kg, dryer.critical_content_kg_kg - 0.5 * dryer.critical_window_kg_kg,
               dryer.critical_content_kg_kg + dryer.critical_window_kg_kg,
               dryer.critical_content_kg_kg + 1.5 * dryer.critical_window_kg_kg]
    c = np.sort(np.r_[c, corners])
    ref = law(ops_by_name("numpy"), c, smooth)
    sym = ca.SX.sym("c", c.size)
    cas = np.asarray(ca.Function("f", [sym], [law(ops_by_name("casadi"), sym, smooth)])(c)).ravel()
    jx = np.asarray(law(ops_by_name("jax"), c, smooth))
    np.testing.assert_allclose(cas, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(jx, ref, rtol=0, atol=1e-12)
    exact = law(ops_by_name("numpy"), c, dryer)
    span = min(dryer.critical_content_kg_kg - dryer.equilibrium_content_kg_kg, 0.5 * dryer.critical_window_kg_kg)
    assert np.max(np.abs(ref - exact)) <= 0.005 / span / 4.0 + 1e-12
    far = np.min(np.abs(c[:, None] - np.array(corners)[None, :]), axis=1) >= 0.005
    np.testing.assert_array_equal(ref[far], exact[far])


def test_a_smoothing_wider_than_the_corners_allow_is_a_clear_error() -> None:
    dryer = get_preset("nmc_nmp").dryer
    with pytest.raises(ParameterError, match=r"dryer\.rate_law_smoothing_kg_kg = 0\.04 kg/kg: expected at most"):
        replace(dryer, rate_law_smoothing_kg_kg=0.04)
    with pytest.raises(ParameterError, match=r"dryer\.rate_law_smoothing_kg_kg"):
        replace(dryer, rate_law_smoothing_kg_kg=-0.001)


def _target(smoothing: float):
    from controllers.nmpc import ModelSettings, NmpcModel, SteadyTarget, TargetSettings
    from mpc.scenario import build_setup, load_scenario

    sc = load_scenario(Path(__file__).parents[1] / "scenarios" / "nmc_nmp_nominal.toml")
    setup = build_setup(sc)
    m = NmpcModel(ModelSettings(smoothing).apply(setup.model_params), setup.recipe)
    return m, SteadyTarget(m, sc.spec.residual_usl_kg_kg, sc.spec.film_temp_max_K, TargetSettings())


def test_the_economic_target_converges_where_the_exact_laws_made_it_cycle() -> None:
    """Recorded cathode target problems (nominal shift, the first minutes) whose solves with the exact laws
    ended at IPOPT's iteration limit: with the controller's default rounding each converges, warm-started
    from the previous one, in a few dozen iterations, at a point with a cell inside the rounded corner;
    with the exact laws each of them still fails."""
    rec = json.loads(DATA.read_text())
    m, target = _target(0.005)
    target.z = np.asarray(rec["z_start"], float)
    target.has_target = True
    iters = []
    for p in rec["problems"]:
        args = {k: (np.asarray(v, float) if isinstance(v, list) else v) for k, v in p.items()}
        args["x_fixed"] = {int(k): float(v) for k, v in p["x_fixed"].items()}
        args["out_bias"] = np.r_[0.0, args.pop("lel_bias")]  # recorded with the zones' LEL biases only
        _, _, ok, _ = target.solve(**args)
        assert ok
        iters.append(target.solver.stats()["iter_count"])
    assert max(iters) <= 60, iters
    L = m.layout
    x = target.z[: L.n_states] * m.x_scale
    content = x[L.solvent_load] / x[L.dry_loading]
    x_cr = m.params.dryer.critical_content_kg_kg
    assert np.min(np.abs(content - x_cr)) <= 0.005  # the optimum sits on the (rounded) corner
    _, exact = _target(0.0)
    exact.z = np.asarray(rec["z_start"], float)
    exact.has_target = True
    for p in rec["problems"]:
        args = {k: (np.asarray(v, float) if isinstance(v, list) else v) for k, v in p.items()}
        args["x_fixed"] = {int(k): float(v) for k, v in p["x_fixed"].items()}
        args["out_bias"] = np.r_[0.0, args.pop("lel_bias")]
        _, _, ok, _ = exact.solve(**args)
        assert not ok and exact.solver.stats()["iter_count"] >= 200


def test_the_nmpc_rounds_its_own_model_only_and_a_scenario_can_set_the_width() -> None:
    from _closed_loop import short_setup

    from controllers.nmpc import NmpcController
    from mpc.harness import run_closed_loop

    setup = short_setup("nmc_nmp_nominal.toml", 40.0)
    ctrl = NmpcController()
    run_closed_loop(setup, ctrl)
    assert ctrl.m.params.dryer.rate_law_smoothing_kg_kg == 0.005
    assert setup.model_params.dryer.rate_law_smoothing_kg_kg == 0.0  # the scenario's parameters are not changed
    assert setup.plant_params.dryer.rate_law_smoothing_kg_kg == 0.0
    setup = short_setup("nmc_nmp_nominal.toml", 40.0, controllers={"nmpc": {"model": {"rate_law_smoothing_kg_kg": 0.0}}})
    ctrl = NmpcController()
    run_closed_loop(setup, ctrl)
    assert ctrl.m.params.dryer.rate_law_smoothing_kg_kg == 0.0


def test_bad_nmpc_model_and_target_settings_name_the_setting() -> None:
    from controllers.nmpc import ModelSettings, TargetSettings

    with pytest.raises(ValueError, match=r"rate_law_smoothing_kg_kg = -0\.1"):
        ModelSettings(-0.1)
    with pytest.raises(ValueError, match="max_move_scaled = 0"):
        TargetSettings(max_move_scaled=0)
    assert TargetSettings(max_move_scaled=float("inf")).max_move_scaled == float("inf")
    # too wide for the preset's corners: the dryer parameter check names it when the model is built
    with pytest.raises(ParameterError, match=r"dryer\.rate_law_smoothing_kg_kg = 0\.03"):
        ModelSettings(0.03).apply(get_preset("nmc_nmp"))


def test_the_rounded_laws_take_a_symbolic_critical_content_and_the_width_is_not_calibratable() -> None:
    import casadi as ca

    from controllers.nmpc import ModelSettings
    from mpc.calibrate import calibratable_names, parse_params, symbolic_params

    base = ModelSettings().apply(get_preset("nmc_nmp"))  # the NMPC's default rounding
    dryer = base.dryer
    x_cr = ca.SX.sym("x_cr")
    # as calibration builds its model: the critical content a symbol, the rounding width a number
    sym = symbolic_params(base, parse_params("dryer.critical_content_kg_kg", base), [x_cr]).dryer
    c = np.linspace(0.05, 0.35, 31)
    for law in (falling_rate_factor, critical_stage_weight):
        f = ca.Function("f", [x_cr], [law(ops_by_name("casadi"), ca.DM(c), sym)])
        np.testing.assert_allclose(np.asarray(f(0.15)).ravel(), law(ops_by_name("numpy"), c, dryer), atol=1e-12)
    assert "dryer.rate_law_smoothing_kg_kg" not in calibratable_names(get_preset("nmc_nmp"))
    assert "dryer.critical_content_kg_kg" in calibratable_names(get_preset("nmc_nmp"))
