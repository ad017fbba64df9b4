"""Identify the line for the lmpc: a GBN step test on the simulated plant, then sub-space and ARX fits.

The campaign an engineer would run on a real line, run here on the simulated
plant of a scenario (its mismatch, disturbances and sensor noise included;
never its equations):

1. :func:`controllers.steptest.design_steptest` excites the test's channels
   (line speed, pump flow, every zone's air-temperature set point and exhaust
   flow, written to the line PLC's loops: the pump as the ratio station's set
   point) with
   generalised binary noise whose amplitudes keep LEL, residual, film
   temperature and coat weight within their limits; the pump follows the
   speed at the recipe's ratio with its own small trim channel, so that the
   speed can be moved far enough to identify its effect on the dryer at
   constant coat weight; nozzle velocities stay at the recipe.
2. The schedule runs through the harness
   (:class:`controllers.steptest.StepTestController`), the sensors'
   readings are logged.
3. Readings and inputs are averaged over blocks of ``dt_s`` (the lmpc's
   sample time; block means are the anti-aliasing filter of a zero-order
   hold), centred on the estimation rows' means and scaled by their
   standard deviations.
4. Two sub-models, each chosen on the first ``estimate_frac`` of the test
   and validated on the rest:

   * **coat weight** (speed, the ratio station's set point -> gauge): MIMO ARX by least
     squares; the dead time of the gauge (web transport, ``nk``) and the
     orders are chosen by free-run fit on the last quarter of the
     estimation rows;
   * **dryer** (every input -> zone LEL or humidity, zone air temperature,
     exit residual, exit film temperature, and every temperature loop's
     heater power, the PLC's readback): subspace identification with
     cross-validated order and weighting (:func:`mpc.sysid.identify`).

   They are stacked block-diagonally into one model.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.linalg import block_diag
from scipy.signal import detrend

from controllers.lmpc._modelfile import RATIO_SETPOINT, LineModelFile
from mpc.errors import CalmlineError
from mpc.scenario import ScenarioSetup
from mpc.sysid import StateSpaceModel, arx, compare, identify

__all__ = ["check_model_dt", "fit_line_model", "heater_outputs", "lmpc_inputs", "lmpc_outputs", "steptest_channels"]


def lmpc_inputs(n_zones: int) -> list[str]:
    """What the lmpc moves: line speed, the pump ratio station's set point (pump flow per line speed), every
    zone's air-temperature set point (the PLC's PI loop holds it) and exhaust flow; nozzle velocities stay at
    the recipe."""
    return (["speed_m_s", RATIO_SETPOINT]
            + [f"zone{i}_air_temp_setpoint_K" for i in range(1, n_zones + 1)]
            + [f"zone{i}_exhaust_flow_m3_s" for i in range(1, n_zones + 1)])


def steptest_channels(n_zones: int) -> list[str]:
    """The step test's channels for the lmpc's campaign (:func:`controllers.steptest.design_steptest` names):
    as :func:`lmpc_inputs`, the pump as its flow (the test's controller writes it as the ratio set point)."""
    return [n if n != RATIO_SETPOINT else "pump_flow_cmd_m3_s" for n in lmpc_inputs(n_zones)]


def heater_outputs(n_zones: int) -> list[str]:
    """The temperature loops' outputs (heater powers, the PLC's readback): outputs of the lmpc's model, for its
    energy and the heaters' range."""
    return [f"zone{i}_heater_power_cmd_W" for i in range(1, n_zones + 1)]


def lmpc_outputs(measurements: list[str] | tuple[str, ...], n_zones: int) -> tuple[list[str], list[str]]:
    """Outputs of the coat-weight block and of the dryer block (sensors, and the loops' heater powers)."""
    conc = "lel_frac" if "zone1_lel_frac" in measurements else "humidity_ratio_kg_kg"
    sensed = ([f"zone{i}_{conc}" for i in range(1, n_zones + 1)]
              + [f"zone{i}_air_temp_K" for i in range(1, n_zones + 1)]
              + ["exit_residual_kg_kg", "exit_film_temp_K"])
    dryer = sensed + heater_outputs(n_zones)
    missing = [n for n in sensed if n not in measurements]
    if missing:
        raise CalmlineError(f"the scenario's sensors lack {', '.join(missing)}, which the lmpc needs")
    return ["coat_weight_kg_m2"], dryer


def _block_means(ts: pd.DataFrame, names: list[str], prefix: str, k: int, skip: int) -> np.ndarray:
    cols = [prefix + n if prefix + n in ts.columns else n for n in names]  # a loop's output has no sensor
    x = ts[cols].ffill().bfill().to_numpy(float)[skip:]
    n = (len(x) // k) * k
    return x[:n].reshape(-1, k, len(names)).mean(axis=1)


def _miso_arx(y: np.ndarray, u: np.ndarray, n_est: int, dt: float,
              nks: range) -> tuple[StateSpaceModel, dict]:
    """One output's ARX model; (na, nb, nk) chosen by free-run fit on the last quarter of the estimation rows."""
    y = detrend(y[:n_est]).reshape(-1, 1)  # drift of unmeasured disturbances (solids) removed
    u = u[:n_est] - u[:n_est].mean(axis=0)
    cut = int(0.75 * n_est)
    best = None
    for nk in nks:
        for na in (1, 2):
            for nb in (1, 2, 3):
                m_fit, _ = arx(y[:cut], u[:cut], na, nb, nk, dt=dt)
                if m_fit.spectral_radius >= 1.0:
                    continue
                fit = float(compare(m_fit, y[cut:n_est], u[cut:n_est]).fit_percent[0])
                if best is None or fit > best[0]:
                    best = (fit, na, nb, nk)
    if best is None:
        raise CalmlineError("no stable ARX structure fits the step test")
    _, na, nb, nk = best
    model, _ = arx(y[:n_est], u[:n_est], na, nb, nk, dt=dt)
    return model, {"method": "arx", "na": na, "nb": nb, "nk": nk, "selection_fit_percent": best[0]}




def check_model_dt(dt_s: float, ctrl_dt: float) -> int:
    """Control intervals per model step; a model step that is not a whole multiple is an error."""
    k = round(dt_s / ctrl_dt)
    if k < 1 or abs(k * ctrl_dt - dt_s) > 1e-9:
        raise CalmlineError(f"dt_s = {dt_s!r}: expected a multiple of the scenario's control interval {ctrl_dt} s")
    return k


def fit_line_model(
    ts: pd.DataFrame,
    setup: ScenarioSetup,
    *,
    dt_s: float = 20.0,
    estimate_frac: float = 0.7,
    skip_s: float = 600.0,
    n_max: int = 12,
    test: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> LineModelFile:
    """Identify the lmpc's model from a step-test log (the timeseries of a ``calmline steptest run``)."""
    from mpc.machine import package_versions

    say = log or (lambda _m: None)
    sc = setup.scenario
    ctrl_dt = sc.control_interval_s
    k = check_model_dt(dt_s, ctrl_dt)
    if not 0.3 <= estimate_frac <= 0.9:
        raise CalmlineError(f"estimate_frac = {estimate_frac!r}: expected 0.3 to 0.9")
    nz = setup.model_params.dryer.n_zones
    inputs = lmpc_inputs(nz)
    cw_out, dryer_out = lmpc_outputs(list(setup.sensor_specs), nz)
    heaters = heater_outputs(nz)
    need = inputs + ["meas_" + n for n in cw_out + dryer_out if n not in heaters] + heaters
    missing = [c for c in need if c not in ts.columns]
    if missing:
        raise CalmlineError(f"step-test log lacks column(s) {', '.join(missing)}")
    run_s = float(ts.index[-1]) if ts.index.name == "time_s" else len(ts) * ctrl_dt
    skip = round(skip_s / ctrl_dt)
    u = _block_means(ts, inputs, "", k, skip)
    y = _block_means(ts, cw_out + dryer_out, "meas_", k, skip)
    n_est = int(estimate_frac * len(u))
    u0, us = u[:n_est].mean(axis=0), u[:n_est].std(axis=0)
    y0, ys = y[:n_est].mean(axis=0), y[:n_est].std(axis=0)
    if np.any(us <= 0) or np.any(ys <= 0):
        raise CalmlineError("a step-test signal did not move; the test cannot identify the line")
    u_s, y_s = (u - u0) / us, (y - y0) / ys

    # coat-weight block (speed and the pump's ratio only; the gauge dead time may be long)
    max_nk = max(2, int(np.ceil(3 * 60.0 / max(sc.schedule.speed_target_m_s, 0.05) / dt_s)))
    blocks: list[tuple[StateSpaceModel, list[int], dict]] = []
    cw_model, cw_info = _miso_arx(y_s[:, 0], u_s[:, :2], n_est, dt_s, range(1, max_nk + 1))
    cw_info["outputs"] = cw_out
    blocks.append((cw_model, [0, 1], {"name": "coat_weight", "inputs": inputs[:2], **cw_info}))
    say(f"{cw_out[0]}: ARX na={cw_info['na']} nb={cw_info['nb']} nk={cw_info['nk']}")
    # dryer block: every input, one MIMO subspace model (order and weighting cross-validated)
    frame = pd.DataFrame(np.c_[u_s, y_s[:, 1:]], columns=inputs + dryer_out)
    dry = identify(frame, inputs, dryer_out, estimate=f"0:{n_est}", validate=f"{n_est}:", dt=dt_s,
                   method="subspace", order="auto", detrend="segment-linear", n_max=n_max, log=say)
    dry_ss = StateSpaceModel(dry.A, dry.B, dry.C, dry.D, dry.K, dry.x0, dt_s)
    blocks.append((dry_ss, list(range(len(inputs))),
                   {"name": "dryer", "outputs": dryer_out, "inputs": inputs, "method": dry.method,
                    "order": int(dry.order)}))
    say(f"dryer: {dry.method} order {dry.order}")
    sizes = [mdl.A.shape[0] for mdl, _, _ in blocks]
    n = int(sum(sizes))
    A = block_diag(*[mdl.A for mdl, _, _ in blocks])
    C = block_diag(*[mdl.C for mdl, _, _ in blocks])
    B = np.zeros((n, len(inputs)))
    start = 0
    for (mdl, cols, info), size in zip(blocks, sizes, strict=True):
        B[start:start + size, cols] = mdl.B
        info["states"] = [start, start + size]
        start += size
    # validation of the stacked model on the validation rows (free run, x0 by least squares)
    whole = StateSpaceModel(A, B, C, np.zeros((C.shape[0], B.shape[1])), np.zeros((n, C.shape[0])),
                            np.zeros(n), dt_s)
    cmp = compare(whole, detrend(y_s[n_est:], axis=0), detrend(u_s[n_est:], axis=0))
    names = cw_out + dryer_out
    fit = dict(zip(names, map(float, cmp.fit_percent), strict=True))
    say("validation fit %: " + ", ".join(f"{n} {v:.1f}" for n, v in fit.items()))
    model = LineModelFile(
        A=A, B=B, C=C, dt_s=dt_s, input_names=tuple(inputs), output_names=tuple(names),
        u0=u0, u_scale=us, y0=y0, y_scale=ys, y_noise=np.maximum(np.diff(y[:n_est], axis=0).std(axis=0) / np.sqrt(2.0), 1e-12),
        preset=sc.preset, fit_percent=fit,
        blocks=[info for _, _, info in blocks],
        provenance={
            "scenario": sc.name, "source": setup.source, "log_duration_s": run_s, "test": test or {},
            "scenario_seeds": sc.seeds.model_dump(), "estimate_rows": [0, n_est], "validate_rows": [n_est, len(u)],
            "skip_s": skip_s, "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "versions": package_versions(),
        },
    )
    return model
