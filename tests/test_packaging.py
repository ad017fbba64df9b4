"""A non-editable install runs the shipped scenarios, mappings, logs and models from any folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

# Run the CLI from the installed copy only: a calmline module loaded from anywhere else (the checkout,
# an editable install's finder) fails the run with exit code 9.
DRIVER = """
import atexit, os, sys
target = os.environ["CALMLINE_TARGET"]
def _only_installed():
    bad = sorted(m.__name__ for m in list(sys.modules.values())
                 if getattr(m, "__name__", "").split(".")[0] in ("mpc", "plants", "controllers", "scenarios")
                 and getattr(m, "__file__", None) and not os.path.realpath(m.__file__).startswith(target))
    if bad:
        print("loaded from outside the install:", bad, file=sys.stderr)
        os._exit(9)
atexit.register(_only_installed)
from mpc.cli import main
main(prog_name="calmline")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target`` of a clean copy of the project (its dependencies are this venv's)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("mpc", "plants", "controllers", "scenarios"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(os.path.realpath(target))


def _calmline(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(target), "CALMLINE_TARGET": str(target)}
    return subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_wheel_carries_every_shipped_file(installed: Path) -> None:
    shipped = installed / "scenarios"
    for rel in ("nmc_nmp_nominal.toml", "graphite_water_line_stop.toml", "models/lmpc_nmc_nmp.json",
                "models/lmpc_graphite_water.json", "calibrated/nmc_nmp_nominal_params.toml",
                "data/mappings/default.toml", "data/logs/greensboro_july_nmc.csv", "regression/suite.toml",
                "regression/golden/greensboro_july_nmc_pid.json"):
        assert (shipped / rel).is_file(), rel
    assert len(list(shipped.glob("*.toml"))) == len(list((ROOT / "scenarios").glob("*.toml")))


def test_installed_cli_lists_and_runs_shipped_scenarios_by_name(installed: Path, tmp_path: Path) -> None:
    res = _calmline(installed, tmp_path, "scenarios", "list", "--json")
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    assert Path(listed["folder"]).resolve() == installed / "scenarios"
    assert {"nmc_nmp_nominal", "graphite_water_nominal"} <= {r["name"] for r in listed["scenarios"]}
    # a shipped scenario by name; the lmpc finds its identified model beside the shipped scenario
    for ctrl in ("recipe", "lmpc"):
        res = _calmline(installed, tmp_path, "run", "graphite_water_nominal", "--controller", ctrl,
                        "--duration", "600", "--out", f"out_{ctrl}", "--json")
        assert res.returncode == 0, res.stderr[-3000:]
        kpis = json.loads(res.stdout)
        assert kpis["controller"] == ctrl and kpis["scenario"] == "graphite_water_nominal"
        assert (tmp_path / f"out_{ctrl}" / "report.html").is_file()


def test_installed_cli_replays_a_shipped_log_and_copies_scenarios(installed: Path, tmp_path: Path) -> None:
    log = installed / "scenarios" / "data" / "logs" / "greensboro_july_nmc.csv"
    res = _calmline(installed, tmp_path, "replay", str(log), "--controller", "recipe", "--window", "900",
                    "--out", "replay", "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    res = _calmline(installed, tmp_path, "scenarios", "copy", "mine")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "mine" / "nmc_nmp_nominal.toml").is_file()
    assert (tmp_path / "mine" / "models" / "lmpc_nmc_nmp.json").is_file()
    res = _calmline(installed, tmp_path, "scenarios", "copy", "mine")
    assert res.returncode == 2 and "exist" in res.stderr
