"""The regression suite: file validation, verdicts, the committed goldens, a degraded controller, the CLI.

``test_suite_passes_against_committed_goldens`` is the suite itself (marker
``regression``, selected by default, so CI runs it): every case of
``scenarios/regression/suite.toml`` replayed with the real controllers must
match its golden file within the tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from controllers.pid import PidController
from mpc.cli._regress import regress
from mpc.interfaces import ControllerContext
from mpc.kpis import KPI_DIRECTIONS
from mpc.regress import (
    GOLDEN_VERSION_PACKAGES,
    RegressionSuiteError,
    Tolerance,
    check_case,
    compare_kpis,
    default_suite_path,
    load_suite,
    read_golden,
    run_case,
)

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "scenarios" / "data" / "logs"


class NoCoatWeightLoopPid(PidController):
    """The PID baseline with its coat-weight loop disabled (pump ratio stuck at the recipe's)."""

    def reset(self, ctx: ControllerContext) -> None:
        super().reset(ctx)
        self.cw.loop.kc = 0.0


def _suite_text(golden_dir: Path, window_s: float = 600.0, extra: str = "") -> str:
    return f"""
description = "test suite"
golden_dir = "{golden_dir.as_posix()}"
[tolerances]
coat_weight_cpk = {{ direction = "higher", abs = 0.05, rel = 0.05 }}
scrap_m = {{ abs = 10.0, rel = 0.05 }}
time_above_lel_limit_s = {{ direction = "zero" }}
{extra}
[[cases]]
name = "jan_recipe"
log = "{(LOGS / 'greensboro_january_nmc.csv').as_posix()}"
base = "{(ROOT / 'scenarios' / 'nmc_nmp_nominal.toml').as_posix()}"
controller = "recipe"
window_s = {window_s}
"""


def _write_suite(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.toml"
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------ the suite file
def test_committed_suite_is_valid() -> None:
    suite = load_suite()
    assert suite.path == default_suite_path()
    assert len(suite.cases) >= 10 and {c.controller for c in suite.cases} == {"recipe", "pid", "nmpc", "lmpc"}
    assert len({c.log for c in suite.cases}) >= 3
    for c in suite.cases:
        assert c.window_s is not None and c.window_s <= 2 * 3600  # shortened windows
        assert suite.golden_path(c).is_file(), c.name
    for key, tol in suite.tolerances.items():
        assert tol.direction == KPI_DIRECTIONS[key] and not key.startswith("step_time")
    assert suite.tolerances["time_above_lel_limit_s"].direction == "zero"


def test_golden_files_record_the_versions() -> None:
    suite = load_suite()
    for c in suite.cases:
        g = read_golden(suite.golden_path(c))
        assert g is not None
        assert set(GOLDEN_VERSION_PACKAGES) <= set(g["versions"])
        assert {"calmline", "casadi", "numpy"} <= set(g["versions"])
        assert not any(k.startswith("step_time") for k in g["kpis"])
        assert g["case"]["name"] == c.name and g["kpis"]["controller"] == c.controller


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("step_time_ms_p95 = { abs = 1.0 }", "step- and solve-time KPIs are machine noise"),
        ("solve_time_ms_max = { abs = 1.0 }", "step- and solve-time KPIs are machine noise"),
        ("solves = { abs = 1.0 }", "not a figure of merit"),
        ("total_m = { abs = 1.0 }", "not a figure of merit"),
        ("coat_weight_cp = { direction = 'lower' }", r"KPI_DIRECTIONS says 'higher'"),
        ("no_such_kpi = { abs = 1.0 }", "not a numeric KPI"),
        ("good_m2 = { rel = -0.1 }", "greater than or equal to 0"),
        ("good_m2 = { relative = 0.1 }", "unknown key 'tolerances.good_m2.relative'"),
    ],
)
def test_suite_validation_errors(tmp_path: Path, extra: str, match: str) -> None:
    p = _write_suite(tmp_path, _suite_text(tmp_path, extra=extra))
    with pytest.raises(RegressionSuiteError, match=match) as info:
        load_suite(p)
    assert str(p) in str(info.value) and isinstance(info.value, ValueError)


def test_suite_case_errors(tmp_path: Path) -> None:
    text = _suite_text(tmp_path)
    dup = text + text[text.index("[[cases]]"):]
    with pytest.raises(RegressionSuiteError, match=r"duplicate case name\(s\) \['jan_recipe'\]"):
        load_suite(_write_suite(tmp_path, dup))
    missing = text.replace("greensboro_january_nmc.csv", "nope.csv")
    with pytest.raises(RegressionSuiteError, match=r"'cases\[0\].log' = .*nope.csv.*not found"):
        load_suite(_write_suite(tmp_path, missing))
    with pytest.raises(RegressionSuiteError, match="not found"):
        load_suite(tmp_path / "none.toml")
    with pytest.raises(RegressionSuiteError, match="no case 'x'"):
        load_suite(_write_suite(tmp_path, text)).case("x")


# ------------------------------------------------------------------ verdicts
def test_verdicts_count_only_the_worse_direction() -> None:
    tol = {
        "coat_weight_cpk": Tolerance(direction="higher", abs=0.05, rel=0.05),
        "energy_kwh_per_m2": Tolerance(direction="lower", rel=0.01),
        "time_above_lel_limit_s": Tolerance(direction="zero"),
    }
    golden = {"coat_weight_cpk": 1.6, "energy_kwh_per_m2": 0.2, "time_above_lel_limit_s": 0.0}

    def verdicts(**now: float) -> dict[str, str]:
        return {c.kpi: c.verdict for c in compare_kpis({**golden, **now}, golden, tol)}

    assert set(verdicts().values()) == {"ok"}
    assert verdicts(coat_weight_cpk=1.55)["coat_weight_cpk"] == "ok"  # within 0.08
    assert verdicts(coat_weight_cpk=1.5)["coat_weight_cpk"] == "regression"
    assert verdicts(coat_weight_cpk=2.0)["coat_weight_cpk"] == "better"
    assert verdicts(energy_kwh_per_m2=0.203)["energy_kwh_per_m2"] == "regression"
    assert verdicts(energy_kwh_per_m2=0.15)["energy_kwh_per_m2"] == "better"
    assert verdicts(time_above_lel_limit_s=2.0)["time_above_lel_limit_s"] == "regression"
    checks = compare_kpis({"coat_weight_cpk": 1.6}, golden, tol)
    assert checks[1].verdict == "regression" and "run" in checks[1].note
    had = {**golden, "time_above_lel_limit_s": 10.0}
    assert compare_kpis(golden, had, tol)[2].verdict == "better"
    assert compare_kpis(had, had, tol)[2].verdict == "regression"  # any excursion counts


# ------------------------------------------------------------------ the suite itself
@pytest.mark.regression
@pytest.mark.parametrize("name", [c.name for c in load_suite().cases])
def test_suite_passes_against_committed_goldens(name: str) -> None:
    """Every committed case passes against its golden file (one test a case, so that pytest -n spreads them)."""
    suite = load_suite()
    c = check_case(suite, suite.case(name), *run_case(suite, suite.case(name)))
    assert c.verdict == "pass", (c.verdict, [k.kpi for k in c.regressions], c.notes)


@pytest.mark.regression
def test_suite_catches_a_degraded_controller() -> None:
    suite = load_suite()
    case = suite.case("greensboro_january_nmc_pid")  # its real run passes: test_suite_passes_against_committed_goldens
    degraded = check_case(suite, case, *run_case(suite, case, NoCoatWeightLoopPid()))
    assert degraded.verdict == "regression"
    worse = {k.kpi for k in degraded.regressions}
    assert {"coat_weight_cpk", "scrap_coat_weight_m", "scrap_m"} <= worse
    assert not any(k.startswith("step_time") for k in (c.kpi for c in degraded.checks))


@pytest.mark.regression
def test_suite_catches_a_degraded_nmpc() -> None:
    """The NMPC without its disturbance estimates (``disturbance_states=False``: heat-transfer, heater and fan
    factors frozen at nominal, the gauge filter off) fails its case: the binder-migration index rises beyond its
    tolerance (0.517 -> 0.571 when measured). The committed golden itself passes in
    ``test_suite_passes_against_committed_goldens``."""
    from controllers.nmpc import NmpcController

    suite = load_suite()
    case = suite.case("greensboro_july_nmc_nmpc")
    degraded = check_case(suite, case, *run_case(suite, case, NmpcController(disturbance_states=False)))
    assert degraded.verdict == "regression"
    assert "binder_migration_index" in {k.kpi for k in degraded.regressions}


# ------------------------------------------------------------------ CLI
def test_cli_regress_update_and_detect(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    suite = _write_suite(tmp_path, _suite_text(golden))
    runner = CliRunner()
    res = runner.invoke(regress, ["--suite", str(suite)])
    assert res.exit_code == 1 and "NO GOLDEN" in res.output and "--update" in res.output
    assert not golden.exists()
    res = runner.invoke(regress, ["--suite", str(suite), "--update"])
    assert res.exit_code == 0, res.output
    gfile = golden / "jan_recipe.json"
    assert gfile.is_file() and "+++" in res.output and "updated 1 golden file(s)" in res.output
    before = gfile.read_bytes()
    res = runner.invoke(regress, ["--suite", str(suite)])
    assert res.exit_code == 0 and "PASS" in res.output and "coat_weight_cpk" in res.output
    assert gfile.read_bytes() == before
    # a golden that was better than this run: a regression, and the golden file is left alone
    data = json.loads(before)
    data["kpis"]["coat_weight_cpk"] += 1.0
    gfile.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tampered = gfile.read_bytes()
    res = runner.invoke(regress, ["--suite", str(suite), "--json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["passed"] is False and out["cases"][0]["verdict"] == "regression"
    cpk = next(c for c in out["cases"][0]["checks"] if c["kpi"] == "coat_weight_cpk")
    assert cpk["verdict"] == "regression" and cpk["direction"] == "higher"
    assert "cpu_count" in out["machine"]
    assert gfile.read_bytes() == tampered
    res = runner.invoke(regress, ["--suite", str(suite), "--update"])
    assert res.exit_code == 0 and "coat_weight_cpk" in res.output and gfile.read_bytes() == before
    res = runner.invoke(regress, ["--suite", str(suite), "--case", "nope"])
    assert res.exit_code == 2 and "no case 'nope'" in res.output
