"""``calmline sweep``: draws, the local and Dask backends, failures recorded, resume, and the folder rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpc.errors import OutputExistsError
from mpc.runner import _prepare
from mpc.sweep import (
    SweepError,
    Task,
    default_dispersion,
    make_draws,
    parse_dist,
    parse_vary,
    run_local,
    run_sweep,
)

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("sweep")

SCENARIO = "nmc_nmp_nominal"
DURATION = 600.0
TIMING = ("kpi_step_time_ms_median", "kpi_step_time_ms_p95", "kpi_step_time_ms_max", "kpi_solve_time_ms_median",
          "kpi_solve_time_ms_p95", "kpi_solve_time_ms_max", "wall_s")


@pytest.fixture(scope="module")
def base():
    return _prepare(SCENARIO).scenario


@pytest.mark.parametrize("text, match", [
    ("gauss(1,2)", "expected normal"),
    ("normal(1)", "normal takes two numbers"),
    ("normal(1,0)", "standard deviation must be > 0"),
    ("uniform(2,1)", "expected a < b"),
    ("integer(1.5,3)", "two whole numbers"),
    ("choice()", "at least one value"),
    ("choice(a b,c)", "neither a number nor a plain word"),
])
def test_a_wrong_distribution_is_an_error_naming_it(text, match):
    with pytest.raises(SweepError, match=match):
        parse_dist(text, where="--vary x")


def test_distributions_draw_what_they_say():
    rng = np.random.default_rng(1)
    x = np.array([parse_dist("normal(2,0.5)").sample(rng) for _ in range(4000)])
    assert abs(x.mean() - 2.0) < 0.03 and abs(x.std() - 0.5) < 0.03
    k = {parse_dist("integer(1,3)").sample(rng) for _ in range(200)}
    assert k == {1, 2, 3}
    assert {parse_dist("choice(greensboro,sand_point)").sample(rng) for _ in range(50)} == {"greensboro", "sand_point"}
    with pytest.raises(SweepError, match="given twice"):
        parse_vary(["a=normal(1,1)", "a=normal(1,1)"])


def test_draws_are_valid_scenarios_and_do_not_depend_on_the_sample_count(base):
    vary = default_dispersion(base)
    five = make_draws(base, vary, 5, seed=11, duration_s=DURATION)
    three = make_draws(base, vary, 3, seed=11, duration_s=DURATION)
    assert [d.values for d in three] == [d.values for d in five[:3]]
    assert len({d.values["seeds.sensors"] for d in five}) == 5
    d0 = five[0]
    assert d0.scenario.mismatch.plant["dryer"]["heat_transfer_multiplier"] == d0.values[
        "mismatch.plant.dryer.heat_transfer_multiplier"]
    assert d0.scenario.disturbances.weather.source == d0.values["disturbances.weather.source"]
    other = make_draws(base, vary, 3, seed=12, duration_s=DURATION)
    assert [d.values for d in other] != [d.values for d in three]
    faults = make_draws(base, parse_vary(["analyser_fault=choice(fail)"]), 2, seed=1, duration_s=DURATION)
    assert all(len(d.scenario.disturbances.analyser_faults) == 1 for d in faults)


def test_a_key_the_scenario_does_not_have_is_an_error_naming_it(base):
    with pytest.raises(SweepError, match=r"disturbances\.slurry\.solidz"):
        make_draws(base, parse_vary(["disturbances.slurry.solidz=normal(0.6,0.01)"]), 1, 0, duration_s=DURATION)
    with pytest.raises(SweepError, match="solids_frac"):  # out of the schema's range
        make_draws(base, parse_vary(["disturbances.slurry.solids_frac=uniform(0.95,0.99)"]), 1, 0,
                   duration_s=DURATION)


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    res = run_sweep(SCENARIO, ["recipe", "pid"], 2, out_dir=out, seed=5, duration_s=DURATION, workers=2)
    return res


def test_a_local_sweep_writes_a_row_per_run_and_its_report(local_sweep):
    df = local_sweep.runs
    assert len(df) == 4 and set(df["status"]) == {"ok"} and local_sweep.ran == 4
    assert list(df["controller"]) == ["recipe", "pid", "recipe", "pid"]
    for col in ("draw_id", "sweep_seed", "seeds.sensors", "disturbances.slurry.solids_frac", "analyser_fault",
                "error", "kpi_yield_frac", "kpi_time_above_lel_limit_s", "kpi_coat_weight_cpk"):
        assert col in df.columns, col
    # identical disturbances: both controllers of a draw saw the same draw
    for _, g in df.groupby("draw_id"):
        assert g["disturbances.slurry.solids_frac"].nunique() == 1
    folder = local_sweep.folder
    assert pd.read_parquet(folder / "runs.parquet").equals(df)
    html = (folder / "report.html").read_text()
    assert "calmline run" in html and str(folder / "draws") in html
    draw_files = sorted((folder / "draws").glob("*.toml"))
    assert draw_files  # the worst draws, each runnable alone
    from mpc.scenario import load_scenario

    sc = load_scenario(draw_files[0])
    d = int(draw_files[0].stem.split("_")[1])
    assert sc.seeds.sensors == int(df.loc[df["draw_id"] == d, "seeds.sensors"].iloc[0])


def test_the_same_draw_gives_the_same_kpis_as_calmline_run(local_sweep):
    from mpc.runner import run_scenario

    folder = local_sweep.folder
    f = sorted((folder / "draws").glob("*.toml"))[0]
    d = int(f.stem.split("_")[1])
    k = run_scenario(f, "pid", duration_s=DURATION).kpis
    runs = local_sweep.runs
    row = runs[(runs["draw_id"] == d) & (runs["controller"] == "pid")].iloc[0]
    for key in ("yield_frac", "energy_kwh_per_m2", "coat_weight_cpk", "max_lel_fraction"):
        assert row[f"kpi_{key}"] == pytest.approx(k[key], rel=0, abs=0), key


@pytest.mark.filterwarnings("ignore")
def test_dask_gives_the_local_backends_results(local_sweep, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        res = run_sweep(SCENARIO, ["recipe", "pid"], 2, out_dir=tmp_path / "dask", seed=5, duration_s=DURATION,
                        scheduler=cluster.scheduler_address)
    a = local_sweep.runs.drop(columns=list(TIMING))
    b = res.runs.drop(columns=list(TIMING))
    pd.testing.assert_frame_equal(a, b)


def test_an_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path, monkeypatch):
    import mpc.sweep._sweep as sw

    real = sw.run_local

    def one_then_crash(tasks, workers):
        gen = real(tasks, workers)
        yield next(gen)
        raise KeyboardInterrupt

    monkeypatch.setattr(sw, "run_local", one_then_crash)
    out = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SCENARIO, ["recipe"], 3, out_dir=out, seed=2, duration_s=DURATION)
    assert len((out / "runs.jsonl").read_text().splitlines()) == 1
    monkeypatch.setattr(sw, "run_local", real)
    res = run_sweep(SCENARIO, ["recipe"], 3, out_dir=out, seed=2, duration_s=DURATION)
    assert res.resumed == 1 and res.ran == 2 and len(res.runs) == 3 and list(res.runs["draw_id"]) == [0, 1, 2]
    # other arguments: refused without --force, naming what differs
    with pytest.raises(SweepError, match="samples"):
        run_sweep(SCENARIO, ["recipe"], 4, out_dir=out, seed=2, duration_s=DURATION)
    # a folder of someone else's files: refused
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        run_sweep(SCENARIO, ["recipe"], 1, out_dir=other, seed=2, duration_s=DURATION)
    assert (other / "notes.txt").read_text() == "mine"


def test_a_run_that_raises_is_recorded_failed_and_the_sweep_completes(tmp_path, monkeypatch):
    import controllers.registry as reg

    real = reg.make_controller

    def broken(name):
        c = real(name)
        c.step = lambda obs: (_ for _ in ()).throw(RuntimeError("solver exploded"))
        return c

    monkeypatch.setattr(reg, "make_controller", broken)
    res = run_sweep(SCENARIO, ["pid"], 2, out_dir=tmp_path / "f", seed=1, duration_s=DURATION, workers=1)
    assert list(res.runs["status"]) == ["failed", "failed"]
    assert all("solver exploded" in e for e in res.runs["error"])
    assert "solver exploded" in (tmp_path / "f" / "report.html").read_text()


def _die_on_draw_1(task: Task) -> dict:
    if task.draw_id == 1:
        os._exit(3)
    return {"draw_id": task.draw_id, "controller": task.controller, "status": "ok", "error": "", "wall_s": 0.0}


def test_a_worker_that_dies_is_recorded_and_the_others_complete():
    tasks = [Task(i, "pid", "{}", "<x>", 1.0) for i in range(4)]
    rows = list(run_local(tasks, 2, runner=_die_on_draw_1))
    by = {r["draw_id"]: r for r in rows}
    assert sorted(by) == [0, 1, 2, 3] and len(rows) == 4
    assert by[1]["status"] == "failed" and "worker died" in by[1]["error"]
    assert all(by[i]["status"] == "ok" for i in (0, 2, 3))


def test_sweep_json_records_the_arguments(local_sweep):
    man = json.loads((Path(local_sweep.folder) / "sweep.json").read_text())
    assert man["args"]["samples"] == 2 and man["args"]["controllers"] == ["recipe", "pid"]
    assert man["args"]["default_dispersion"] is True and "analyser_fault" in man["args"]["vary"]


def test_the_order_of_vary_options_does_not_change_a_draw(base):
    a = ["disturbances.slurry.solids_frac=normal(0.65,0.01)", "mismatch.plant.dryer.heat_transfer_multiplier=uniform(0.9,1)"]
    d1 = make_draws(base, parse_vary(a), 3, seed=4, duration_s=DURATION)
    d2 = make_draws(base, parse_vary(a[::-1]), 3, seed=4, duration_s=DURATION)
    assert [d.values for d in d1] == [d.values for d in d2]
