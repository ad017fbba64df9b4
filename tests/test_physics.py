"""Conservation, line stops, gradients and the physics report."""

from __future__ import annotations

import numpy as np
import pytest

from plants.backend import ops_by_name
from plants.line import LineModel
from plants.presets import get_preset, nominal_operating_point, preset_names
from plants.steady import steady_state
from plants.validate import validate_preset

NP = ops_by_name("numpy")


def _perturbed(name: str, seed: int = 0):
    m = LineModel(get_preset(name))
    ss = steady_state(m, nominal_operating_point(name))
    rng = np.random.default_rng(seed)
    x = ss.x * (1 + 0.2 * rng.uniform(-1, 1, ss.x.size))
    return m, ss, x


@pytest.mark.parametrize("name", preset_names())
def test_transient_mass_balance_is_exact(name: str) -> None:
    """d/dt(solvent held in the dryer) = laid - carried out - evaporated, at any state."""
    m, ss, x = _perturbed(name)
    L = m.layout
    p = m.params
    xdot = m.rhs(NP, x, ss.u, ss.d)
    w, dz = p.coater.width_m, m.cell_length_m
    held_rate = np.sum(xdot[L.solvent_load]) * w * dz
    a = m._algebra(NP, x, ss.u, ss.d)
    laid = a["flux_solv"] * a["stop_gate"] * w
    out = a["v_pos"] * x[L.solvent_load][-1] * w
    evap = np.sum(a["evap_zone"])
    assert held_rate == pytest.approx(laid - out - evap, rel=1e-12, abs=1e-15)
    dry_rate = np.sum(xdot[L.dry_loading]) * w * dz
    assert dry_rate == pytest.approx(a["flux_dry"] * w - a["v_pos"] * x[L.dry_loading][-1] * w, rel=1e-12)


@pytest.mark.parametrize("name", preset_names())
def test_transient_web_energy_balance_is_exact(name: str) -> None:
    m, ss, x = _perturbed(name, seed=1)
    L = m.layout
    p = m.params
    xdot = m.rhs(NP, x, ss.u, ss.d)
    w, dz = p.coater.width_m, m.cell_length_m
    b = m.balances(x, ss.u, ss.d)
    held_rate = np.sum(xdot[L.enthalpy]) * w * dz
    expected = b["heat_to_web_W"] - b["latent_and_vapour_W"] - b["web_enthalpy_out_W"]
    assert held_rate == pytest.approx(expected, rel=1e-10)


def test_line_stop_is_a_state_not_a_division_by_zero() -> None:
    m = LineModel(get_preset("nmc_nmp"))
    ss = steady_state(m, nominal_operating_point("nmc_nmp"))
    L = m.layout
    u = ss.u.copy()
    u[L.u_speed] = 0.0  # web stops, pump still running for a moment
    xdot = m.rhs(NP, ss.x, u, ss.d)
    y = m.outputs(NP, ss.x, u, ss.d)
    assert np.all(np.isfinite(xdot)) and np.all(np.isfinite(y))
    # nothing is transported: dry loading stays where it is, the standing film keeps drying
    assert np.allclose(xdot[L.dry_loading], 0.0)
    assert np.all(xdot[L.solvent_load] <= 1e-15)


@pytest.mark.slow
def test_jax_gradient_is_finite_and_matches_casadi() -> None:
    import casadi as ca
    import jax
    import jax.numpy as jnp

    m = LineModel(get_preset("nmc_nmp").replace(dryer={"cells_per_zone": 2}))
    ss = steady_state(m, nominal_operating_point("nmc_nmp"))
    _, g_j = m.jax_functions()
    names = m.output_names()
    k = names.index("exit_residual_kg_kg")
    grad = jax.grad(lambda x: g_j(x, jnp.asarray(ss.u), jnp.asarray(ss.d))[k])(jnp.asarray(ss.x))
    _, g_c = m.casadi_functions()
    xs = ca.SX.sym("x", m.layout.n_states)
    jac = ca.Function("gjac", [xs], [ca.jacobian(g_c(xs, ss.u, ss.d)[k], xs)])
    ref = np.asarray(jac(ss.x)).ravel()
    assert np.all(np.isfinite(np.asarray(grad)))
    np.testing.assert_allclose(np.asarray(grad), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", preset_names())
def test_physics_report_passes(name: str) -> None:
    rep = validate_preset(name)
    failed = [(c.name, c.value, c.note) for c in rep.checks if not c.passed]
    assert rep.passed, failed
    names = {c.name for c in rep.checks}
    assert {"solvent_mass_balance", "web_energy_balance", "more_airflow_dries_faster",
            "hotter_air_dries_faster", "higher_speed_leaves_more_solvent",
            "drying_time_ratio_nmp_to_water", "staged_profile_saves_energy"} <= names


def test_solids_step_raises_coat_weight_in_proportion() -> None:
    """Pre-metered coating: +1 wt% solids at the same pump flow lays more dry mass."""
    from plants.openloop import simulate_recipe

    run = simulate_recipe("nmc_nmp", duration_s=400.0, solids_step_frac=0.01, step_at_s=100.0)
    # m_A = rho(w) Q w /(W v): hand-computed ratio for w 0.65 -> 0.66 (water uptake 0.33 %)
    p = get_preset("nmc_nmp")
    from plants.coater import slurry_density_kg_m3

    water = run.timeseries["slurry_solids_frac"].iloc[0] / 0.65
    w0, w1 = 0.65 * water, 0.66 * water
    ratio = (slurry_density_kg_m3(w1, p.coater, p.solvent) * w1) / (slurry_density_kg_m3(w0, p.coater, p.solvent) * w0)
    cw = run.timeseries["coat_weight_die_kg_m2"]
    assert cw.iloc[-1] / cw.iloc[0] == pytest.approx(ratio, rel=1e-6)


def test_theory_parameter_table_is_current() -> None:
    from pathlib import Path

    from plants.doctables import parameter_table_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "theory.md").read_text()
    assert parameter_table_markdown() in text, "regenerate with: python -m plants.doctables"


def test_critical_content_factor_moves_the_exit_residual() -> None:
    """A film whose falling rate starts later (higher critical content) leaves the dryer wetter."""
    from plants.simulate import AdaptiveStepper
    from plants.steady import steady_state

    name = "nmc_nmp"
    model = LineModel(get_preset(name))
    L = model.layout
    ss = steady_state(model, nominal_operating_point(name))
    _, g = model.casadi_functions()
    i_res = model.output_names().index("exit_residual_kg_kg")
    residual = {}
    for factor in (0.9, 1.0, 1.1):
        d = ss.d.copy()
        d[L.D_XCR] = factor
        step = AdaptiveStepper(model, 10.0, ss.x, ss.u, d)
        x = ss.x.copy()
        for _ in range(30):  # 300 s: three dryer residence times
            x = np.asarray(step(x, ss.u, d)).ravel()
        residual[factor] = float(np.asarray(g(x, ss.u, d)).ravel()[i_res])
    assert residual[0.9] < residual[1.0] < residual[1.1]
    assert residual[1.0] == pytest.approx(float(ss.y["exit_residual_kg_kg"]), rel=1e-3)
