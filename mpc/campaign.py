"""Step-test campaigns on a scenario's simulated line.

:func:`run_steptest` plays a step-test schedule (``calmline steptest design``)
through the closed-loop harness, with the scenario's plant, disturbances and
sensors; :func:`identify_line` is the lmpc's whole campaign: design the test,
run it, and identify the model from its log
(:func:`controllers.lmpc.fit_line_model`). It lives here, above the
controllers, because running a test is the harness's job.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from controllers.lmpc import (
    LineModelFile,
    check_model_dt,
    fit_line_model,
    lmpc_outputs,
    steptest_channels,
)
from controllers.steptest import StepTestController, design_steptest
from mpc.harness import RunResult
from mpc.runner import run_setup
from mpc.scenario import ScenarioSetup

__all__ = ["identify_line", "run_steptest"]


def run_steptest(setup: ScenarioSetup, schedule: pd.DataFrame, *, duration_s: float | None = None,
                 progress: bool = False) -> RunResult:
    """Run a step-test schedule on the scenario's simulated line; KPIs included.

    ``duration_s`` defaults to the schedule's length (its last ``time_s`` plus
    one control interval), never longer than the scenario.
    """
    sc = setup.scenario
    if duration_s is None:
        duration_s = min(sc.duration_s, float(schedule["time_s"].iloc[-1]) + sc.control_interval_s)
    return run_setup(setup, StepTestController(schedule), duration_s=duration_s, progress=progress,
                     source=setup.source)


def identify_line(
    setup: ScenarioSetup,
    *,
    duration_s: float = 8 * 3600.0,
    min_switch_s: float = 120.0,
    amplitude_rel: float = 0.1,
    dt_s: float = 20.0,
    estimate_frac: float = 0.7,
    skip_s: float = 600.0,
    n_max: int = 12,
    seed: int = 0,
    pump_follows_speed: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[LineModelFile, pd.DataFrame]:
    """Run the step-test campaign on a scenario's simulated line and identify the lmpc's model.

    Parameters
    ----------
    setup : ScenarioSetup
        The scenario (its plant, disturbances, sensors; the test replaces its controller).
    duration_s : float
        Test length, s (default 8 h).
    min_switch_s : float
        Shortest GBN level, s (default 120 s: the dryer's gas and air
        temperatures settle in about that; the coat weight follows at once).
    amplitude_rel : float
        Largest GBN amplitude, fraction of the recipe value (shrunk to respect limits).
    dt_s : float
        Model sample time, s (the lmpc's step); a multiple of the control interval.
    estimate_frac : float
        Fraction of the test used for estimation (the rest validates).
    skip_s : float
        Start of the test dropped (start-up transient), s.
    n_max : int
        Largest dryer sub-model order tried.
    seed : int
        Seed of the GBN schedule.
    pump_follows_speed : bool
        The pump follows the speed at the recipe's ratio with its own trim channel (default), so that
        the speed is excited as far as the dryer allows at constant coat weight; False moves them
        independently, both then bounded by the coat-weight tolerance.

    Returns
    -------
    (LineModelFile, pandas.DataFrame)
        The model and the step-test timeseries (for the record).
    """
    say = log or (lambda _m: None)
    sc = setup.scenario
    nz = setup.model_params.dryer.n_zones
    inputs = steptest_channels(nz)
    lmpc_outputs(list(setup.sensor_specs), nz)  # fail before the test if a sensor is missing
    check_model_dt(dt_s, sc.control_interval_s)
    sched, rel = design_steptest(setup, inputs, duration_s=duration_s, min_switch_s=min_switch_s,
                                 amplitude_rel=amplitude_rel, seed=seed, pump_follows_speed=pump_follows_speed)
    say("step test: " + ", ".join(f"{n} +/-{r * 100:.2f} %" for n, r in rel.items()))
    run_s = min(sc.duration_s, duration_s)
    res = run_steptest(setup, sched, duration_s=run_s, progress=progress)
    test = {"duration_s": run_s, "min_switch_s": min_switch_s, "schedule_seed": seed,
            "pump_follows_speed": pump_follows_speed,
            "amplitude_rel": {n: float(r) for n, r in rel.items()}}
    model = fit_line_model(res.timeseries, setup, dt_s=dt_s, estimate_frac=estimate_frac, skip_s=skip_s,
                           n_max=n_max, test=test, log=say)
    return model, res.timeseries
