"""``calmline run`` / ``calmline compare`` / ``calmline bench harness`` end to end (short runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from mpc.cli import main
from mpc.kpis import KPI_KEYS

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = str(ROOT / "scenarios" / "nmc_nmp_nominal.toml")
REQUIRED = [
    "scenario", "controller", "duration_s", "coat_weight_cp", "coat_weight_cpk", "residual_solvent_cpk", "scrap_m",
    "good_m2", "throughput_m2_h", "energy_kwh_per_m2", "energy_kwh_per_kwh_cell", "binder_migration_index",
    "resistance_proxy_cv", "max_lel_fraction", "time_above_lel_limit_s", "max_film_temp_K", "step_time_ms_median",
    "step_time_ms_p95", "step_time_ms_max", "solver_failures", "fallbacks",
]


def test_run_writes_outputs_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", NOMINAL, "--controller", "pid", "--out", str(out), "--duration", "600",
                                    "--json"])
    assert res.exit_code == 0, res.output
    kpis = json.loads(res.stdout)
    assert set(REQUIRED) <= set(kpis) and set(KPI_KEYS) <= set(kpis)
    assert kpis["scenario"] == "nmc_nmp_nominal" and kpis["controller"] == "pid"
    assert isinstance(kpis["solver_failures"], int) and isinstance(kpis["fallbacks"], int)
    for name in ("kpis.json", "timeseries.parquet", "report.html", "coat_weight_spc.png"):
        assert (out / name).is_file(), name
    table = pq.read_table(out / "timeseries.parquet")
    meta = json.loads(table.schema.metadata[b"calmline"])
    assert meta["seeds"] == {"disturbances": 11, "process_noise": 12, "sensors": 13}
    assert "casadi" in meta["versions"]
    assert b"calmline_scenario" in table.schema.metadata
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 300 and ts.index.name == "time_s"
    before = (out / "kpis.json").read_bytes()
    again = CliRunner().invoke(main, ["run", NOMINAL, "--controller", "pid", "--out", str(out), "--duration", "600"])
    assert again.exit_code == 2 and "--force" in again.output
    assert (out / "kpis.json").read_bytes() == before


def test_unknown_controller_lists_known(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["run", NOMINAL, "--controller", "mpc9", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "'mpc9' is not one of" in res.output and "'recipe'" in res.output and "'nmpc'" in res.output
    assert not (tmp_path / "x").exists()  # refused before anything ran or was written
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    assert "[recipe|pid|pid_opt|nmpc|lmpc" in help_text  # --help lists the choices


def test_compare_writes_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(ROOT / "scenarios" / "graphite_water_nominal.toml"),
                                    "--controllers", "recipe,pid", "--out", str(out), "--duration", "600"])
    assert res.exit_code == 0, res.output
    assert (out / "comparison.csv").is_file() and (out / "report.html").is_file()
    for c in ("recipe", "pid"):
        k = json.loads((out / c / "kpis.json").read_text())
        assert k["controller"] == c and k["max_lel_fraction"] == 0.0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["controller"]) == ["recipe", "pid"]
    assert list(table.columns[:3]) == ["controller", "violation", "violation_reason"]
    assert set(KPI_KEYS) - {"controller"} <= set(table.columns)
    assert table["violation"].dtype == bool and not table["violation"].any()
    assert table["no_good_web"].dtype == bool
    for key in ("coat_weight_cpk", "energy_kwh_per_kwh_cell", "scrap_m", "restarts", "solver_failures"):
        assert pd.api.types.is_numeric_dtype(table[key]), key
    assert table.loc[1, "max_lel_fraction"] == k["max_lel_fraction"]


def test_bench_harness_json() -> None:
    res = CliRunner().invoke(main, ["bench", "harness", "--duration", "200", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["steps"] == 100 and data["wall_s"] > 0 and data["plant_states"] == 115


def test_compare_reuses_saved_runs_of_the_same_scenario_and_duration_only(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = CliRunner().invoke(main, ["compare", NOMINAL, "--controllers", "recipe", "--out", str(out),
                                  "--duration", "120"])
    assert r.exit_code == 0, r.output
    saved = (out / "recipe" / "timeseries.parquet").stat().st_mtime_ns
    before = json.loads((out / "recipe" / "kpis.json").read_text())
    r = CliRunner().invoke(main, ["compare", NOMINAL, "--controllers", "recipe,pid", "--out", str(out),
                                  "--duration", "120", "--force", "--reuse", "recipe", "--json"])
    assert r.exit_code == 0, r.output
    assert (out / "recipe" / "timeseries.parquet").stat().st_mtime_ns == saved  # kept, not re-run
    got = json.loads(r.stdout)["kpis"]
    assert got["recipe"]["coat_weight_cpk"] == before["coat_weight_cpk"] and "pid" in got
    # another duration is another run: refused, and nothing is deleted
    r = CliRunner().invoke(main, ["compare", NOMINAL, "--controllers", "recipe,pid", "--out", str(out),
                                  "--duration", "160", "--force", "--reuse", "recipe"])
    assert r.exit_code != 0 and "different scenario or duration" in r.output
    assert (out / "pid" / "kpis.json").is_file()
