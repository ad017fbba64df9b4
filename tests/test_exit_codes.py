"""Exit codes that tell the truth: 3 when plant truth broke the LEL limit in force or made no good web.

The violating scenarios are the nominal one with a recipe whose exhaust is far too small for
the LEL limit (every zone above it from the start), and one whose coat-weight target the
recipe never makes (every metre scrap). Runs are 600 s of the recipe; charts are drawn once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from _quick_charts import draw_charts_once
from click.testing import CliRunner, Result

from mpc.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
LOG = ROOT / "scenarios" / "data" / "logs" / "greensboro_january_nmc.csv"
SAFETY = re.compile(r"safety: \d+ s above the LEL limit in force \(worst: zone \d at LEL fraction [\d.]+ "
                    r"against a limit of 0\.50 at t = \d+ s\)")


@pytest.fixture(autouse=True)
def _charts(monkeypatch: pytest.MonkeyPatch) -> None:
    draw_charts_once(monkeypatch)


NOZZLES = "nozzle_velocity_m_s = [18.0, 20.0, 20.0, 15.0]\n"
"""The nominal recipe's nozzle line: a listed exhaust goes after it."""


def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = NOMINAL.read_text()
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture
def starved(tmp_path: Path) -> Path:
    """The nominal line with a recipe that lists far too little exhaust: the LEL limit in force is broken at once."""
    return _variant(tmp_path, "starved", NOZZLES, NOZZLES + "exhaust_m3_s = [0.4, 0.6, 0.5, 0.2]\n")


@pytest.fixture
def off_target(tmp_path: Path) -> Path:
    """A coat-weight target of 25 mg/cm2 that the 20 mg/cm2 recipe never makes: no good web."""
    return _variant(tmp_path, "off_target", "coat_weight_target_kg_m2 = 0.200", "coat_weight_target_kg_m2 = 0.250")


def cli(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_normal_run_exits_0(tmp_path: Path) -> None:
    r = cli("run", NOMINAL, "--controller", "recipe", "--duration", 600, "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "safety:" not in r.stderr and "no good web" not in r.stderr


def test_run_above_the_lel_limit_exits_3_and_writes_its_outputs(tmp_path: Path, starved: Path) -> None:
    out = tmp_path / "o"
    r = cli("run", starved, "--controller", "recipe", "--duration", 600, "--out", out, "--json")
    assert r.exit_code == 3, r.output
    kpis = json.loads(r.stdout)  # stdout stays one JSON object
    assert kpis["time_above_lel_limit_s"] > 0
    said = [ln for ln in r.stderr.splitlines() if ln.startswith(("safety:", "no good web:"))]
    assert len(said) == 1, r.stderr  # one line says which
    first, *rest = said[0].split("; ")
    assert SAFETY.fullmatch(first) and f"safety: {kpis['time_above_lel_limit_s']:.0f} s above" in first
    assert rest == ([f"no good web: every metre after warm-up ({kpis['total_m']:.0f} m) was scrap"]
                    if kpis["no_good_web"] else [])
    assert "Traceback" not in r.output
    for name in ("kpis.json", "timeseries.parquet", "report.html"):
        assert (out / name).is_file(), name
    assert json.loads((out / "kpis.json").read_text()) == kpis


def test_run_without_good_web_exits_3(tmp_path: Path, off_target: Path) -> None:
    r = cli("run", off_target, "--controller", "recipe", "--duration", 600, "--out", tmp_path / "o")
    assert r.exit_code == 3, r.output
    kpis = json.loads((tmp_path / "o" / "kpis.json").read_text())
    assert kpis["no_good_web"] is True and kpis["time_above_lel_limit_s"] == 0
    assert f"no good web: every metre after warm-up ({kpis['total_m']:.0f} m) was scrap" in r.stderr.splitlines()
    assert "safety:" not in r.stderr


def test_replay_on_a_base_above_the_lel_limit_exits_3(tmp_path: Path, starved: Path) -> None:
    r = cli("replay", LOG, "--controller", "recipe", "--scenario", starved, "--window", 600, "--out", tmp_path / "o")
    assert r.exit_code == 3, r.output
    assert any(SAFETY.match(ln) for ln in r.stderr.splitlines()), r.stderr
    assert (tmp_path / "o" / "kpis.json").is_file()


def test_compare_marks_violations_and_strict_exits_3(tmp_path: Path, starved: Path) -> None:
    out = tmp_path / "cmp"
    r = cli("compare", starved, "--controllers", "recipe,pid", "--duration", 600, "--out", out)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "comparison.csv", keep_default_na=False)
    assert table["violation"].dtype == bool
    for row in table.itertuples():
        kpis = json.loads((out / row.controller / "kpis.json").read_text())
        broke = kpis["time_above_lel_limit_s"] > 0 or kpis["no_good_web"]
        assert row.violation == broke and bool(row.violation_reason) == broke
        said = [ln for ln in r.stderr.splitlines() if ln.startswith(f"{row.controller}: ")]
        assert said == ([f"{row.controller}: {row.violation_reason}"] if broke else [])
    recipe = table.set_index("controller").loc["recipe"]
    assert recipe["violation"] and SAFETY.match(recipe["violation_reason"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r'<th data-controller="recipe">.*?class="badge bad"', html)
    assert 'id="violations"' in html
    # the same comparison, --strict (both runs reused: nothing runs again)
    r = cli("compare", starved, "--controllers", "recipe,pid", "--duration", 600, "--out", out, "--force",
            "--reuse", "recipe,pid", "--strict", "--json")
    assert r.exit_code == 3, r.output
    got = json.loads(r.stdout)["kpis"]
    assert got["recipe"]["violation"] is True and got["recipe"]["violation_reason"] == recipe["violation_reason"]


def test_a_duplicated_controller_is_a_user_error(tmp_path: Path) -> None:
    r = cli("compare", NOMINAL, "--controllers", "pid,pid", "--out", tmp_path / "o")
    assert r.exit_code == 2 and "pid named more than once" in r.output and not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [["run"], ["replay"], ["compare"], []])
def test_help_lists_the_exit_codes(command: list[str]) -> None:
    r = cli(*command, "--help")
    assert r.exit_code == 0
    assert "Exit codes:" in r.output and re.search(r"^\s+3\s+", r.output, re.M)
    if command == ["compare"]:
        assert "--strict" in r.output
