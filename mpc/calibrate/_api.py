"""``calibrate``: named physical parameters of the controller model from a log."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from mpc.calibrate._data import load_log, parse_window, resample
from mpc.calibrate._errors import CalibrationError
from mpc.calibrate._params import parse_params
from mpc.calibrate._problem import HESSIANS, OutputModel, ShootingProblem
from mpc.calibrate._result import CalibrationResult, fit_table

__all__ = ["DEFAULT_DT_S", "calibrate", "default_outputs", "output_models"]

DEFAULT_DT_S = 10.0
"""Calibration step (shooting interval), s."""

BURN_IN_S = 1200.0
"""Time the initial guess is held at the first logged inputs before the window, s."""


def default_outputs(setup: Any) -> list[str]:
    """Measured outputs fitted by default: exit residual and film temperature, zone air and LEL/humidity."""
    n = setup.model_params.dryer.n_zones
    names = ["exit_residual_kg_kg", "exit_film_temp_K"]
    names += [f"zone{i}_air_temp_K" for i in range(1, n + 1)]
    for i in range(1, n + 1):
        for cand in (f"zone{i}_lel_frac", f"zone{i}_humidity_ratio_kg_kg"):
            if cand in setup.sensor_specs:
                names.append(cand)
    return names


def output_models(setup: Any, names: list[str], typical: dict[str, float]) -> list[OutputModel]:
    """Noise standard deviation and lag of each fitted output, from the scenario's sensors.

    ``sigma = sqrt(noise_std**2 + (noise_rel * typical)**2 + q**2 / 12)`` (``q`` the
    quantisation step, ``typical`` the mean absolute reading); lag = lag + dead time.
    """
    out = []
    for n in names:
        spec = setup.sensor_specs.get(n)
        if spec is None:
            raise CalibrationError(
                f"--outputs: {n!r} is not a sensor of the scenario; sensors: {', '.join(setup.sensor_specs)}"
            )
        sigma = math.sqrt(spec.noise_std**2 + (spec.noise_rel * typical.get(n, 0.0)) ** 2
                          + spec.quantisation_step**2 / 12.0)
        if not sigma > 0:
            raise CalibrationError(f"sensor {n!r} has no noise in the scenario; cannot weight it")
        out.append(OutputModel(n, sigma, spec.lag_s + spec.delay_s))
    return out


def calibrate(
    log: str | Path,
    scenario: str | Path,
    params: str | list[str],
    *,
    window: str | tuple[float | None, float | None] | None = None,
    dt_s: float = DEFAULT_DT_S,
    cells_per_zone: int | None = None,
    outputs: str | list[str] | None = None,
    max_iter: int = 200,
    hessian: str = "gauss-newton",
) -> CalibrationResult:
    """Estimate ``params`` of the scenario's controller model from the log at ``log``.

    Parameters
    ----------
    log : path
        A calmline run log (``timeseries.parquet`` or a CSV with the same columns).
    scenario : path
        The scenario the controller model comes from (preset, model mismatch,
        sensors for the noise weights, nominal disturbances).
    params : str or list of str
        ``group.field`` names, e.g. ``"dryer.heat_transfer_multiplier,dryer.critical_content_kg_kg"``.
    window : "START:STOP" or (start, stop), optional
        Seconds of the log to use (default: all of it).
    dt_s : float
        Calibration step: shooting interval and output sample time, s.
    cells_per_zone : int, optional
        Dryer discretisation of the calibrated model (default: the scenario's model).
    outputs : str or list of str, optional
        Measured outputs to fit (default :func:`default_outputs` present in the log).
    max_iter : int
        IPOPT iteration limit.
    hessian : {"gauss-newton", "exact"}
        Hessian of the NLP (:meth:`ShootingProblem.solve`): Gauss-Newton (default) for
        small residuals, exact when the model cannot explain the data and Gauss-Newton
        oscillates (e.g. one parameter freed while another that matters stays wrong).
    """
    from mpc.scenario import build_setup, load_scenario
    from plants.line import LineModel
    from plants.steady import nominal_disturbances, steady_state

    if hessian not in HESSIANS:
        raise CalibrationError(f"--hessian {hessian!r}: expected one of {', '.join(HESSIANS)}")
    t_setup = time.perf_counter()
    sc = load_scenario(scenario)
    setup = build_setup(sc, source=str(scenario))
    base = setup.model_params
    if cells_per_zone is not None:
        if isinstance(cells_per_zone, bool) or not isinstance(cells_per_zone, int) or not 1 <= cells_per_zone <= 64:
            raise CalibrationError(f"--cells-per-zone {cells_per_zone!r}: expected an integer in [1, 64]")
        base = base.replace(dryer={"cells_per_zone": cells_per_zone})
    specs = parse_params(params, base)
    if not (isinstance(dt_s, int | float) and math.isfinite(dt_s) and dt_s > 0):
        raise CalibrationError(f"--dt {dt_s!r}: expected a positive number of seconds")
    df = load_log(log)
    src = str(log)
    if outputs is None:
        names = [n for n in default_outputs(setup) if f"meas_{n}" in df.columns]
        if not names:
            raise CalibrationError(
                f"{src}: none of the default measured outputs are in the log (expected columns such as "
                f"'meas_{default_outputs(setup)[0]}')"
            )
    else:
        names = [s.strip() for s in (outputs.split(",") if isinstance(outputs, str) else outputs) if s.strip()]
        if not names:
            raise CalibrationError("--outputs: expected at least one measured output")
    model = LineModel(base)
    w = sc.disturbances.weather
    op = dataclasses.replace(setup.recipe, outdoor_temp_K=w.temp_K, outdoor_rh_frac=w.rh_frac)
    d_nom = nominal_disturbances(model, op)
    win = parse_window(window) if isinstance(window, str) or window is None else window
    data = resample(df, source=src, input_names=model.layout.input_names(),
                    disturbance_names=model.layout.disturbance_names(), nominal_d=d_nom,
                    output_names=names, window=win, dt_s=float(dt_s))
    typical = {n: float(np.nanmean(np.abs(data.y[:, j]))) for j, n in enumerate(names)}
    outs = output_models(setup, names, typical)
    prob = ShootingProblem(base, specs, outs, data)
    nom = np.array([s.nominal for s in specs])
    # Initial guess: the nominal model's steady state at the recipe, held at the
    # first logged inputs for BURN_IN_S, then run free over the window.
    ss = steady_state(model, op)
    xa = prob.augment(np.asarray(ss.x, float), nom)
    n_burn = max(1, round(BURN_IN_S / data.dt_s))
    hold = prob.F.mapaccum(n_burn)
    xa = np.asarray(hold(xa, np.tile(data.u[0][:, None], (1, n_burn)), np.tile(data.d[0][:, None], (1, n_burn)),
                         np.tile(nom[:, None], (1, n_burn))))[:, -1]
    x_guess = prob.simulate(xa, nom)
    if not np.all(np.isfinite(x_guess)):
        raise CalibrationError(f"{src}: the nominal model diverges on the logged inputs; check the window and units")
    y_before = prob.predict(x_guess, nom)
    sigma = np.array([o.sigma for o in outs])
    r0 = (data.y - y_before) / sigma
    cost_before = 0.5 * float(np.nansum(r0**2))
    setup_s = time.perf_counter() - t_setup
    sol = prob.solve(x_guess, max_iter=max_iter, hessian=hessian)
    x_after = prob.simulate(sol.x_nodes[0], sol.theta)
    y_after = prob.predict(x_after, sol.theta)
    from scipy import stats

    tq = float(stats.t.ppf(0.975, max(sol.n_residuals - sol.dof, 1)))
    se = np.sqrt(np.diag(sol.cov)) if np.all(np.isfinite(sol.cov)) else np.full(len(specs), np.nan)
    ci = np.column_stack([sol.theta - tq * se, sol.theta + tq * se])
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = sol.cov / np.outer(se, se)
    info = {
        "preset": sc.preset,
        "scenario": str(scenario),
        "source_log": src,
        "window_s": [float(data.t_s[0]), float(data.t_s[-1])],
        "dt_s": data.dt_s,
        "n_intervals": data.n_intervals,
        "cells_per_zone": base.dryer.cells_per_zone,
        "rk4_substeps": prob.n_sub,
        "hessian": hessian,
        "n_states": prob.nxa,
        "outputs": {o.name: {"sigma": o.sigma, "lag_s": o.lag_s} for o in outs},
        "disturbances_from_log": list(data.disturbances_from_log),
    }
    return CalibrationResult(
        parameters=specs,
        estimate=sol.theta,
        std_error=se,
        ci95=ci,
        correlation=corr,
        covariance=sol.cov,
        t_quantile=tq,
        fit_before=fit_table(data.y, y_before, data.output_names, sigma),
        fit_after=fit_table(data.y, y_after, data.output_names, sigma),
        cost_before=cost_before,
        cost=sol.cost,
        residual_variance_factor=sol.s2,
        n_residuals=sol.n_residuals,
        dof=sol.dof,
        success=sol.success,
        status=sol.status,
        iterations=sol.iterations,
        solve_s=sol.solve_s,
        setup_s=setup_s,
        info=info,
    )
