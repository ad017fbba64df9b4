"""``--duration`` means one thing everywhere: validated, and sizing every disturbance of the run."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mpc.cli import main
from mpc.errors import CalmlineError, CalmlineWarning
from mpc.scenario import build_setup, late_events, load_scenario, run_duration_s, warmup_used_s

ROOT = Path(__file__).resolve().parents[1]
HUMID = ROOT / "scenarios" / "nmc_nmp_humid_summer_day.toml"  # 12 h of Greensboro weather, drift, random walk
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"


@pytest.mark.parametrize("bad", [1e9, -5.0, 0.0, math.nan, math.inf, 1.0, "abc"])
def test_bad_durations_are_clear_errors(bad: object) -> None:
    sc = load_scenario(NOMINAL)
    with pytest.raises(CalmlineError, match=r"--duration = .*expected a run length|expected a number"):
        run_duration_s(sc, bad)  # type: ignore[arg-type]


def test_no_duration_is_the_scenario_s() -> None:
    sc = load_scenario(NOMINAL)
    assert run_duration_s(sc, None) == sc.duration_s
    assert run_duration_s(sc, 600.0) == 600.0


@pytest.mark.parametrize("bad", ["1e9", "-5", "nan", "0", "inf"])
def test_cli_refuses_bad_durations_before_running(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(NOMINAL), "--controller", "recipe", "--out", str(out),
                                    f"--duration={bad}"])
    assert res.exit_code == 2, res.output
    assert "--duration" in res.output and "Traceback" not in res.output
    assert not out.exists() or not any(out.iterdir())


def test_a_longer_run_does_not_freeze_its_disturbances() -> None:
    """Weather window, drift and random walk are sized from the run, not from the scenario's 12 h."""
    sc = load_scenario(HUMID)
    setup = build_setup(sc, source=str(HUMID))
    long_s = 3 * sc.duration_s
    short = setup.disturbances()
    long = setup.disturbances(long_s)
    # the long run's weather keeps changing after the scenario's duration; a 12 h window is held
    t_after = np.arange(sc.duration_s + 3600.0, long_s - 3600.0, 3 * 3600.0)
    temps_long = long.outdoor_temp(t_after)  # profiles are pure functions of time
    temps_short = short.outdoor_temp(t_after)
    assert np.ptp(temps_long) > 1.0  # real weather moves by more than a kelvin over a day
    assert np.ptp(temps_short) == 0.0  # the scenario-length source holds its last value (the old behaviour)
    # solids drift 0.05 wt%/h goes on past the scenario's end (random walk off to see the drift alone)
    slurry = sc.disturbances.slurry.model_copy(update={"random_walk_std_per_sqrt_h": 0.0})
    calm = sc.model_copy(update={"disturbances": sc.disturbances.model_copy(update={"slurry": slurry})})
    drift = build_setup(calm, source=str(HUMID)).disturbances(long_s)
    s1, s2 = drift.solids(np.array([sc.duration_s, 2 * sc.duration_s]))
    assert s2 - s1 == pytest.approx(sc.disturbances.slurry.drift_per_h * sc.duration_s / 3600.0, rel=1e-9)
    # the random walk is drawn over the whole run too (it moves after the scenario's end)
    assert np.ptp(long.solids(np.linspace(sc.duration_s, long_s, 50))) > 0.0


def test_warmup_used_is_what_the_metadata_and_kpis_state() -> None:
    from controllers.recipe import RecipeController
    from mpc.runner import run_setup

    sc = load_scenario(NOMINAL)
    setup = build_setup(sc, source=str(NOMINAL))
    with pytest.warns(CalmlineWarning, match="warm-up"):
        res = run_setup(setup, RecipeController(), duration_s=1200.0)
    assert warmup_used_s(sc, 1200.0) == 600.0
    assert res.meta["warmup_s"] == 600.0
    assert res.meta["kpi_spec"]["warmup_s"] == 600.0


def test_late_events_are_named_and_warned() -> None:
    sc = load_scenario(ROOT / "scenarios" / "nmc_nmp_batch_change.toml")
    t_change = sc.disturbances.slurry.batch_changes[0].t_s
    assert late_events(sc, t_change + 1.0) == [] or all("batch_changes" not in e for e in late_events(sc, t_change + 1.0))
    late = late_events(sc, t_change - 60.0)
    assert any(e.startswith("disturbances.slurry.batch_changes[0]") for e in late)
    from mpc.scenario import warn_about_duration

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        warn_about_duration(sc, t_change - 60.0)
    assert any("batch_changes[0]" in str(w.message) for w in rec)
