"""The ``calmline plant`` and ``calmline bench plant`` commands."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mpc.cli import main


def _runner() -> CliRunner:
    return CliRunner()


def test_help_lists_subcommands() -> None:
    res = _runner().invoke(main, ["--help"])
    assert res.exit_code == 0
    assert "plant" in res.output and "bench" in res.output


def test_presets_json_is_one_object_with_sources() -> None:
    res = _runner().invoke(main, ["plant", "presets", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["presets"]) == {"nmc_nmp", "graphite_water"}
    nmc = data["presets"]["nmc_nmp"]
    assert nmc["parameters"]["solvent"]["lel_vol_frac"] == 0.013
    assert "INRS" in nmc["sources"]["solvent.lel_vol_frac"]


def test_validate_json_schema_and_exit_code() -> None:
    res = _runner().invoke(main, ["plant", "validate", "--preset", "graphite_water", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["preset"] == "graphite_water" and data["passed"] is True
    for c in data["checks"]:
        assert set(c) == {"name", "value", "reference", "unit", "tolerance", "passed", "note"}


def test_unknown_preset_is_a_usage_error() -> None:
    res = _runner().invoke(main, ["plant", "validate", "--preset", "lfp"])
    assert res.exit_code == 2
    assert "unknown preset 'lfp'" in res.output and "Traceback" not in res.output


def test_simulate_json_and_refuses_to_overwrite(tmp_path) -> None:
    out = tmp_path / "ts.parquet"
    res = _runner().invoke(main, ["plant", "simulate", "--duration", "200", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["coat_weight_change_pct"] > 2.0  # +1 wt% solids: about +3 % coat weight
    assert out.exists()
    before = out.read_bytes()
    res2 = _runner().invoke(main, ["plant", "simulate", "--duration", "200", "--out", str(out)])
    assert res2.exit_code == 2 and "exists" in res2.output
    assert out.read_bytes() == before


def test_bench_plant_json() -> None:
    res = _runner().invoke(main, ["bench", "plant", "--steps", "3", "--repeats", "1", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["n_states"] == 115 and data["threads"] == 1
    assert [(r["scenarios"], r["threads"]) for r in data["results"]] == [(1, 1), (1000, 1)]
    for r in data["results"]:
        assert r["state_steps_per_s"] == r["scenario_steps_per_s"] * data["n_states"]
    assert set(data["load_average_1min"]) == {"before", "after"}


def test_bench_prediction_reports_each_step_and_output() -> None:
    """``calmline bench prediction``: per standard step and constrained output, the horizon's largest error as a
    fraction of the fine reference's largest change; degree 3 within 5 % on the cathode (docs/nmpc.md)."""
    import json

    res = _runner().invoke(main, ["bench", "prediction", "--preset", "nmc_nmp", "--degree", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (run,) = out["runs"]
    assert run["preset"] == "nmc_nmp" and run["deg"] == 3 and run["elements"] == 1
    assert set(run["errors"]) == {"exhaust -20 %", "speed +10 %", "nozzles -20 %", "heaters -20 %"}
    assert run["outputs"] == [*(f"zone{i}_lel_frac" for i in range(1, 5)), "exit_residual_kg_kg", "exit_film_temp_K"]
    assert 0.0 < run["worst"] <= 0.05
    assert "machine" in out
