"""``calmline identify`` and ``calmline bench identify`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from mpc.cli._bench_identify import bench_identify
from mpc.cli._identify import identify

HAIR = str(Path(__file__).parent / "data" / "daisy" / "daisy_dryer.dat")
BASE = [HAIR, "--inputs", "c0", "--outputs", "c1", "--estimate", "0:500", "--validate",
        "500:1000", "--dt", "0.08"]


def _run(args: list[str], command: click.Command = identify) -> Result:
    return CliRunner().invoke(command, args)


def test_identify_json_is_one_object_with_the_keys() -> None:
    res = _run([*BASE, "--method", "moesp", "--order", "3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # exactly one JSON document on stdout
    assert isinstance(data["method"], str) and data["method"] == "moesp"
    assert data["order"] == 3 and isinstance(data["stable"], bool) and data["stable"]
    for key in ("fit_percent", "fit_percent_1step", "rmse"):
        assert set(data[key]) == {"c1"} and isinstance(data[key]["c1"], float)
    assert data["fit_percent"]["c1"] > 80.0
    assert data["dt"] == 0.08 and data["detrend"]["protocol"] == "mean"
    assert "selection" in res.stderr  # progress goes to stderr


def test_identify_table_output_and_arx_orders() -> None:
    res = _run([*BASE, "--method", "arx", "--arx-orders", "2,2,3", "--detrend", "segment-mean"])
    assert res.exit_code == 0, res.output
    assert "ARX(2,2,3)" in res.stdout and "fit %" in res.stdout and "c1" in res.stdout
    assert "whiteness" in res.stdout


def test_identify_save_writes_the_model(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    res = _run([*BASE, "--method", "arx", "--arx-orders", "2,2,3", "--json", "--save",
                str(target)])
    assert res.exit_code == 0
    saved = json.loads(target.read_text())
    assert saved["A"] == json.loads(res.stdout)["A"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [(["--inputs", "c7"], "input column 'c7' not found; available columns: c0, c1"),
     (["--estimate", "0:5000"], "estimate rows 0:5000: row 5000 is outside the table"),
     (["--estimate", "zero:600"], "expected START:STOP"),
     (["--order", "-3"], "order '-3'"),
     (["--arx-orders", "2;2;1", "--method", "arx"], "--arx-orders")],
)
def test_identify_user_errors_exit_2_with_one_line(change: list[str], fragment: str) -> None:
    args = list(BASE)
    for opt, value in zip(change[::2], change[1::2], strict=True):
        if opt in args:
            args[args.index(opt) + 1] = value
        else:
            args += [opt, value]
    res = _run([*args, "--json"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0]
    assert "Traceback" not in res.output and res.stdout == ""


def test_identify_nan_gap_reports_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"u": rng.normal(size=300), "y": rng.normal(size=300)})
    frame.loc[42, "y"] = np.nan
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    res = _run([str(path), "--inputs", "u", "--outputs", "y", "--estimate", "0:200",
                "--validate", "200:300"])
    assert res.exit_code == 2
    assert "'y' has a gap" in res.stderr and "row 42" in res.stderr


def test_bench_identify_json_small() -> None:
    assert bench_identify.name == "identify"
    res = _run(["--samples", "4000", "--pem-nfev", "2", "--auto-samples", "400", "--auto-size", "1",
                "--auto-order", "2", "--json"], bench_identify)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("subspace_s", "pem_s", "machine", "pole_error_max", "subspace_target_s", "auto"):
        assert key in data
    assert {"node", "processor", "cpu_count", "numpy"} <= set(data["machine"])
    assert data["pole_error_max"] < 0.05
    auto = data["auto"]
    assert auto["samples"] == 400 and auto["inputs"] == auto["outputs"] == 1
    assert auto["auto_target_s"] == 60.0 and auto["stable"] and auto["auto_s"] > 0.0
    assert auto["fit_percent_mean"] > 50.0, auto  # a second-order system, 10 % noise


def test_identify_time_column_sets_dt(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    u = rng.normal(size=400)
    y = np.zeros(400)
    for t in range(1, 400):
        y[t] = 0.9 * y[t - 1] + 0.2 * u[t - 1]
    frame = pd.DataFrame({"time_s": 0.5 * np.arange(400), "heater_W": u, "temp_K": y})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    res = _run([str(path), "--inputs", "heater_W", "--outputs", "temp_K", "--time-column",
                "time_s", "--estimate", "0:300", "--validate", "300:", "--method", "arx",
                "--arx-orders", "1,1,1", "--detrend", "none", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["dt"] == 0.5 and data["inputs"] == ["heater_W"]
    assert data["fit_percent"]["temp_K"] > 99.0
