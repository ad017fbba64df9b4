"""Grey-box calibration: recovery of known parameters, CIs, plant data, parameter files, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mpc.calibrate import (
    CalibrationData,
    CalibrationError,
    ShootingProblem,
    calibrate,
    default_outputs,
    output_models,
    parse_params,
)
from mpc.cli import main
from mpc.scenario import build_setup, load_scenario
from plants import LineModel, ParameterError, get_preset, load_params_file, write_params_file
from plants.steady import nominal_disturbances, steady_state

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("calibrate")

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
CELLS = 1  # a coarse model keeps the synthetic tests fast
DT = 20.0
TRUE = {"dryer.heat_transfer_multiplier": 0.90, "dryer.critical_content_kg_kg": 0.17}


def _synthetic_log(path: Path, n_intervals: int, seed: int = 0) -> Path:
    """A log simulated by the 1-cell controller model itself with the TRUE parameters and sensor noise."""
    setup = build_setup(load_scenario(NOMINAL), source=str(NOMINAL))
    base = setup.model_params.replace(dryer={"cells_per_zone": CELLS})
    model = LineModel(base)
    L = model.layout
    ss = steady_state(model, setup.recipe)
    rng = np.random.default_rng(seed)
    u = np.tile(ss.u, (n_intervals, 1))
    # GBN-like steps of heater power and nozzle velocity (+/- 10 %) held 100 s, speed +/- 1 %
    for j in [*range(L.u_nozzle.start, L.u_nozzle.stop), *range(L.u_heater.start, L.u_heater.stop), L.u_speed]:
        amp = 0.01 if j == L.u_speed else 0.10
        levels = rng.choice([-1.0, 1.0], size=n_intervals // 5 + 1)
        u[:, j] = ss.u[j] * (1.0 + amp * np.repeat(levels, 5)[:n_intervals])
    d = np.tile(nominal_disturbances(model, setup.recipe), (n_intervals, 1))
    names = default_outputs(setup)
    stub = CalibrationData("synthetic", np.arange(n_intervals + 1) * DT, u, d,
                           np.zeros((n_intervals + 1, len(names))), tuple(names), DT, ())
    typical = {n: 1.0 for n in names}
    specs = parse_params(list(TRUE), base)
    prob = ShootingProblem(base, specs, output_models(setup, names, typical), stub)
    theta = np.array(list(TRUE.values()))
    xa = prob.augment(np.asarray(ss.x, float), theta)
    hold = prob.F.mapaccum(60)
    xa = np.asarray(hold(xa, np.tile(u[0][:, None], (1, 60)), np.tile(d[0][:, None], (1, 60)),
                         np.tile(theta[:, None], (1, 60))))[:, -1]
    y = prob.predict(prob.simulate(xa, theta), theta)
    typical = {n: float(np.mean(np.abs(y[:, j]))) for j, n in enumerate(names)}
    sigma = np.array([o.sigma for o in output_models(setup, names, typical)])
    y = y + rng.normal(size=y.shape) * sigma
    # calmline log convention: row T holds the inputs over [T - h, T) and the readings taken at T - h
    rows = {"time_s": (np.arange(n_intervals + 1) + 1) * DT}
    u_rows = np.vstack([u, u[-1:]])
    for j, n in enumerate(L.input_names()):
        rows[n] = u_rows[:, j]
    for j, n in enumerate(names):
        rows[f"meas_{n}"] = y[:, j]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synthetic_log(tmp_path_factory.mktemp("cal") / "synthetic.csv", 60)


@pytest.fixture(scope="module")
def long_fit(synthetic: Path):
    return calibrate(synthetic, NOMINAL, list(TRUE), dt_s=DT, cells_per_zone=CELLS)


@pytest.mark.slow
def test_recovers_known_parameters_with_cis_that_cover_them(long_fit) -> None:
    res = long_fit
    assert res.success, res.status
    for i, name in enumerate(res.names):
        lo, hi = res.ci95[i]
        assert lo <= TRUE[name] <= hi, (name, res.estimate[i], res.ci95[i])
        assert res.std_error[i] > 0
    assert abs(res.estimate[0] - TRUE["dryer.heat_transfer_multiplier"]) < 0.02
    assert res.cost < res.cost_before
    assert 0.5 < res.residual_variance_factor < 2.0  # the noise model is right: s2 near 1
    assert res.correlation.shape == (2, 2) and np.allclose(np.diag(res.correlation), 1.0)
    for name, fit in res.fit_after.items():
        assert fit["rmse"] <= res.fit_before[name]["rmse"] * 1.05 + 1e-12, name


@pytest.mark.slow
def test_ci_shrinks_with_more_data(synthetic: Path, long_fit) -> None:
    short = calibrate(synthetic, NOMINAL, list(TRUE), dt_s=DT, cells_per_zone=CELLS, window=f":{20 * DT}")
    assert short.info["n_intervals"] == 20 and long_fit.info["n_intervals"] == 61  # the last row adds one
    w_short = short.ci95[:, 1] - short.ci95[:, 0]
    w_long = long_fit.ci95[:, 1] - long_fit.ci95[:, 0]
    assert np.all(w_long < w_short), (w_short, w_long)


@pytest.mark.slow
def test_plant_data_moves_the_heat_transfer_multiplier_towards_the_plant(tmp_path: Path) -> None:
    """The nominal scenario's plant has heat_transfer_multiplier 0.92 (model 1.0) and 8 cells per zone."""
    from controllers.steptest import StepTestController, design_steptest
    from mpc.runner import run_setup, save_run

    setup = build_setup(load_scenario(NOMINAL), source=str(NOMINAL))
    inputs = [f"zone{i}_heater_power_cmd_W" for i in range(1, 5)] + [f"zone{i}_nozzle_velocity_cmd_m_s" for i in range(1, 5)]
    sched, _ = design_steptest(setup, inputs, duration_s=2400.0, min_switch_s=60.0, amplitude_rel=0.1, seed=1)
    res = run_setup(setup, StepTestController(sched), duration_s=2400.0)
    save_run(res, tmp_path / "st")
    # a 1-cell model keeps the test fast; docs/calibration.md has the 2-cell model on a 1 h window
    fit = calibrate(tmp_path / "st" / "timeseries.parquet", NOMINAL, list(TRUE), window="1200:2400", dt_s=30.0,
                    cells_per_zone=1, max_iter=60)
    assert fit.success, fit.status
    est = fit.estimate[0]
    assert 0.85 < est < 0.98, est  # from the model's 1.0 towards the plant's 0.92 (an effective value)


def test_params_file_round_trip_and_scenario_loading(tmp_path: Path) -> None:
    base = get_preset("nmc_nmp")
    f = write_params_file(tmp_path / "p.toml", {"dryer": {"heat_transfer_multiplier": 0.93}},
                          {"preset": "nmc_nmp", "window_s": [0.0, 60.0], "estimates": {"dryer.x": {"ci95": [1.0, 2.0]}}})
    p = load_params_file(f, base)
    assert p.dryer.heat_transfer_multiplier == 0.93 and p.dryer.critical_content_kg_kg == 0.15
    with pytest.raises(FileExistsError):
        write_params_file(f, {"dryer": {"heat_transfer_multiplier": 0.9}})
    # a scenario loads it for the controllers' model only, before the explicit model overrides
    sc_dir = tmp_path / "sc"
    sc_dir.mkdir()
    text = NOMINAL.read_text().replace(
        "[mismatch.plant.dryer]", 'model_params_file = "../p.toml"\n\n[mismatch.model.dryer]\n'
        "critical_content_kg_kg = 0.155\n\n[mismatch.plant.dryer]")
    (sc_dir / "s.toml").write_text(text)
    setup = build_setup(load_scenario(sc_dir / "s.toml"))
    assert setup.model_params.dryer.heat_transfer_multiplier == 0.93
    assert setup.model_params.dryer.critical_content_kg_kg == 0.155
    assert setup.model_params.dryer.cells_per_zone == 2
    assert setup.plant_params.dryer.heat_transfer_multiplier == 0.92


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[dryer]\nnot_a_field = 1.0\n", "unknown parameter dryer.not_a_field"),
        ("[oven]\nheat_transfer_multiplier = 1.0\n", "unknown table or key 'oven'"),
        ('[dryer]\nheat_transfer_multiplier = "high"\n', "heat_transfer_multiplier = 'high'"),
        ("[dryer]\nheat_transfer_multiplier = 9.0\n", "outside the plausible range"),
        ('[dryer]\nheat_transfer_multiplier = 1.0\n[calibration]\npreset = "graphite_water"\n', "calibrated for preset"),
    ],
)
def test_params_file_errors_name_file_and_field(tmp_path: Path, text: str, match: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ParameterError, match=match) as exc:
        load_params_file(f, get_preset("nmc_nmp"))
    assert str(f) in str(exc.value)


def test_scenario_with_missing_params_file_names_it(tmp_path: Path) -> None:
    text = NOMINAL.read_text().replace("[mismatch.plant.dryer]", 'model_params_file = "nope.toml"\n\n[mismatch.plant.dryer]')
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ValueError, match=r"nope\.toml"):
        build_setup(load_scenario(tmp_path / "s.toml"), source=str(tmp_path / "s.toml"))


def test_bad_inputs_give_clear_errors(synthetic: Path, tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match=r"dryer\.heat_transfer_multipler"):
        calibrate(synthetic, NOMINAL, "dryer.heat_transfer_multipler", dt_s=DT)
    with pytest.raises(CalibrationError, match=r"non-calibratable parameter 'dryer\.n_zones'"):
        calibrate(synthetic, NOMINAL, "dryer.n_zones", dt_s=DT)
    df = pd.read_csv(synthetic).drop(columns=["zone2_heater_power_cmd_W"])
    df.to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(CalibrationError, match=r"missing.csv: missing column 'zone2_heater_power_cmd_W'"):
        calibrate(tmp_path / "missing.csv", NOMINAL, "dryer.heat_transfer_multiplier", dt_s=DT)
    with pytest.raises(CalibrationError, match="outside the log"):
        calibrate(synthetic, NOMINAL, "dryer.heat_transfer_multiplier", dt_s=DT, window="0:99999")
    with pytest.raises(CalibrationError, match="not found"):
        calibrate(tmp_path / "nope.parquet", NOMINAL, "dryer.heat_transfer_multiplier")


def test_cli_refuses_to_overwrite_and_reports_errors_in_one_line(synthetic: Path, tmp_path: Path) -> None:
    out = tmp_path / "params.toml"
    out.write_text("# mine\n")
    r = CliRunner().invoke(main, ["calibrate", str(synthetic), "--scenario", str(NOMINAL), "--params",
                                  "dryer.heat_transfer_multiplier", "--out", str(out)])
    assert r.exit_code == 2 and "exists" in r.output and out.read_text() == "# mine\n"
    r = CliRunner().invoke(main, ["calibrate", str(synthetic), "--scenario", str(NOMINAL), "--params",
                                  "dryer.bogus", "--out", str(tmp_path / "x.toml")])
    assert r.exit_code == 2 and "Error:" in r.output and "dryer.bogus" in r.output
    assert "Traceback" not in r.output


def test_written_file_loads_back(long_fit, tmp_path: Path) -> None:
    f = long_fit.write(tmp_path / "cal.toml")
    p = load_params_file(f, get_preset("nmc_nmp"))
    assert p.dryer.heat_transfer_multiplier == pytest.approx(long_fit.estimate[0])
    text = f.read_text()
    assert "[calibration]" in text and "ci95" in text and "source_log" in text
    with pytest.raises(FileExistsError):
        long_fit.write(f)
    assert dataclasses.is_dataclass(p)


@pytest.mark.slow
def test_exact_hessian_finds_the_same_estimates(synthetic: Path, long_fit) -> None:
    res = calibrate(synthetic, NOMINAL, list(TRUE), dt_s=DT, cells_per_zone=CELLS, hessian="exact")
    assert res.success, res.status
    assert res.info["hessian"] == "exact" and long_fit.info["hessian"] == "gauss-newton"
    np.testing.assert_allclose(res.estimate, long_fit.estimate, rtol=1e-3)
    assert res.cost == pytest.approx(long_fit.cost, rel=1e-4)


def test_unknown_hessian_is_a_clear_error(synthetic: Path, tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="--hessian 'newton': expected one of gauss-newton, exact"):
        calibrate(synthetic, NOMINAL, list(TRUE), dt_s=DT, cells_per_zone=CELLS, hessian="newton")
    r = CliRunner().invoke(main, ["calibrate", str(synthetic), "--scenario", str(NOMINAL), "--params",
                                  "dryer.heat_transfer_multiplier", "--hessian", "newton",
                                  "--out", str(tmp_path / "p.toml")])
    assert r.exit_code == 2 and "newton" in r.output
