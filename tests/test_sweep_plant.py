"""``calmline sweep --plant-only``: the batched open-loop path against an exact run of each draw's own plant."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mpc.harness import initial_operating_point, start_state
from mpc.runner import _prepare
from mpc.scenario import build_setup
from mpc.sweep import PLANT_ONLY_POLICY, SweepError, make_draws, parse_vary, run_sweep
from mpc.sweep._plant import plant_only_runner
from plants.line import LineModel
from plants.noise import OrnsteinUhlenbeck
from plants.simulate import casadi_stepper
from plants.steady import steady_state

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("sweep_plant")

SCENARIO = "nmc_nmp_batch_change"
DURATION = 600.0
KPIS = ("energy_kwh_per_m2", "max_lel_fraction", "coat_weight_cpk", "residual_mean_kg_kg", "yield_frac",
        "time_above_lel_limit_s")
# The heat-transfer multiplier goes in as the D_HTF factor, which also scales the correlation's 3 W/m2/K floor
# (mpc/sweep/_plant.py): measured at 0.85 against the scenario's 0.92 (the default dispersion's widest, -8 %),
# relative errors 1e-6 on energy, 0.3 % on the largest %LEL, 1.25 % on the mean exit residual, none on coat weight
APPROX_RTOL = {"energy_kwh_per_m2": 1e-5, "max_lel_fraction": 5e-3, "residual_mean_kg_kg": 2e-2}


@pytest.fixture(scope="module")
def base():
    return _prepare(SCENARIO).scenario


def _draws(base, htm: str):
    vary = parse_vary([f"mismatch.plant.dryer.heat_transfer_multiplier=choice({htm})",
                       "mismatch.plant.dryer.critical_content_kg_kg=normal(0.15,0.01)",
                       "disturbances.weather.source=choice(sand_point,greensboro)",
                       "disturbances.weather.start_day=integer(1,365)",
                       "disturbances.slurry.solids_frac=normal(0.7,0.005)"])
    return make_draws(base, vary, 2, 11, duration_s=DURATION)


def _exact(runner, draw):
    """The draw on its own plant (its parameters, not factors), integrated by CasADi, one interval at a time."""
    setup = build_setup(draw.scenario)
    model = LineModel(setup.plant_params)
    case = runner._case(draw)
    d = setup.disturbances(runner.duration_s).matrix(runner.n_steps)
    ss = steady_state(model, initial_operating_point(setup, d[0], model.layout))
    x, _ = start_state(model, setup, ss.x, ss.u)
    u = runner._inputs(case, ss.u)
    step = casadi_stepper(model, runner.dt_s, runner.dt_s / runner.sim.n_sub)
    _, g = model.casadi_functions()
    y = np.empty((runner.n_steps, len(runner.col_idx)))
    for k in range(runner.n_steps):
        x = np.asarray(step(x, u[k], d[k])).ravel()
        y[k] = np.asarray(g(x, u[k], d[k])).ravel()[list(runner.col_idx)]
    return runner._kpis(case, u, y)


@pytest.fixture(scope="module")
def batched(base):
    """Four draws in one batch: two with the scenario's heat-transfer multiplier (0.92), two with 0.85."""
    runner = plant_only_runner(base, DURATION)
    assert build_setup(base).plant_params.dryer.heat_transfer_multiplier == 0.92
    draws = _draws(base, "0.92") + [type(d)(d.draw_id + 2, d.values, d.scenario) for d in _draws(base, "0.85")]
    return runner, draws, runner.rows(draws)


def test_the_batched_path_equals_an_exact_run_of_each_draw(batched):
    runner, draws, rows = batched
    assert [r["status"] for r in rows] == ["ok"] * 4, [r.get("error") for r in rows]
    for dr, row in zip(draws, rows, strict=True):
        exact = _exact(runner, dr)
        htm = dr.values["mismatch.plant.dryer.heat_transfer_multiplier"]
        # critical content, weather, solids: exact (the model multiplies the content by D_XCR)
        for k in KPIS:
            rtol = 1e-9 if htm == 0.92 else APPROX_RTOL.get(k, 1e-9)
            assert row[f"kpi_{k}"] == pytest.approx(exact[k], rel=rtol, abs=1e-9), (dr.draw_id, k)
        assert row["controller"] == PLANT_ONLY_POLICY


def test_the_batch_split_over_threads_gives_the_same_outputs(batched):
    runner, draws, _ = batched
    cases = [runner._case(d) for d in draws]
    x0 = np.stack([runner.start.x] * len(cases))
    us = np.stack([runner._inputs(c, runner.start.u) for c in cases])
    ds = np.stack([c.d for c in cases])
    one = runner.sim.output_trajectories(x0, us, ds, runner.col_idx, threads=1)
    # XLA vectorises a batch of 2 and of 4 differently: equal to rounding
    assert np.allclose(runner.sim.output_trajectories(x0, us, ds, runner.col_idx, threads=2), one, rtol=1e-12,
                       atol=1e-300)


def test_the_batched_steady_states_solve_the_same_equations(batched):
    from plants.steady_batch import steady_states

    runner, draws, _ = batched
    cases = [runner._case(d) for d in draws[:2]]
    got, fallbacks = steady_states(runner.model, [c.op for c in cases], runner.start,
                                   critical_content_factors=[c.xcr for c in cases])
    assert fallbacks == 0
    for c, s in zip(cases, got, strict=True):
        ref = steady_state(runner.model, c.op, critical_content_factor=c.xcr)
        # the same root: the single solve's CVODES settle and Newton polish stop a little short of the batched one
        assert s.residual_norm <= max(ref.residual_norm, 1e-12)
        assert np.allclose(s.x, ref.x, rtol=1e-6, atol=1e-10) and np.allclose(s.u, ref.u, rtol=1e-6, atol=1e-8)


def test_a_plant_only_sweep_writes_its_rows_and_resumes(base, tmp_path):
    out = tmp_path / "po"
    vary = ["mismatch.plant.dryer.heat_transfer_multiplier=uniform(0.9,1.05)",
            "disturbances.weather.source=choice(sand_point,greensboro)", "disturbances.weather.start_day=integer(1,365)"]
    res = run_sweep(SCENARIO, [], 4, out_dir=out, vary=vary, seed=3, duration_s=DURATION, plant_only=True)
    df = pd.read_parquet(out / "runs.parquet")
    assert len(df) == 4 and set(df["controller"]) == {PLANT_ONLY_POLICY} and set(df["status"]) == {"ok"}
    assert np.isfinite(df["kpi_energy_kwh_per_m2"]).all() and (df["kpi_energy_kwh_per_m2"] > 0).all()
    assert json.loads((out / "sweep.json").read_text())["args"]["plant_only"] is True
    html = (out / "report.html").read_text()
    assert PLANT_ONLY_POLICY in html and "--controller recipe" in html
    again = run_sweep(SCENARIO, [], 4, out_dir=out, vary=vary, seed=3, duration_s=DURATION, plant_only=True)
    assert again.ran == 0 and again.resumed == 4 and res.ran == 4
    pd.testing.assert_frame_equal(again.runs, res.runs)


@pytest.mark.parametrize("kwargs, match", [
    ({"controllers": ["pid"]}, "runs no controller"),
    ({"workers": 2}, "leave out --scheduler and --workers"),
    ({"vary": ["analyser_fault=choice(fail)"]}, "reads no sensor"),
    ({"vary": ["mismatch.plant.coater.width_m=choice(1.0)"]}, "varies only"),
    ({"vary": ["controllers.nmpc.horizon_steps=choice(5)"]}, "runs no controller"),
])
def test_what_a_plant_only_sweep_cannot_do_is_an_error(tmp_path, kwargs, match):
    kw = {"controllers": [], **kwargs}
    with pytest.raises(SweepError, match=match):
        run_sweep(SCENARIO, kw.pop("controllers"), 2, out_dir=tmp_path / "x", duration_s=DURATION, plant_only=True,
                  **kw)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["nmc_nmp_line_stop", "graphite_water_humid_summer_day", "nmc_nmp_batch_change"])
def test_the_disturbance_matrix_equals_the_per_interval_vectors(name):
    setup = build_setup(_prepare(name).scenario)
    dist = setup.disturbances(3600.0)
    m = dist.matrix(1800)
    v = np.stack([dist.vector(k * dist.dt_s) for k in range(1800)])
    assert np.allclose(m, v, rtol=1e-13, atol=1e-15)
    assert np.array_equal(dist.matrix(1800), m)  # the paths restart


@pytest.mark.parametrize("start", ["stationary", "mean"])
def test_ornstein_uhlenbeck_sample_many_equals_sample(start):
    times = np.r_[0.0, 0.0, 2.0, 4.0, 4.0, 6.5, 10.0]
    a, b = OrnsteinUhlenbeck(0.3, 20.0, 7, start=start), OrnsteinUhlenbeck(0.3, 20.0, 7, start=start)
    x = [a.sample(t) for t in times] + [a.sample(t) for t in (12.0, 12.0, 20.0)]
    y = [*b.sample_many(times), *b.sample_many([12.0, 12.0, 20.0])]
    assert np.array_equal(x, y)
    with pytest.raises(ValueError, match="goes back in time"):
        b.sample_many([30.0, 25.0])
    with pytest.raises(ValueError, match="goes back in time"):
        b.sample_many([1.0])
