"""The top-level KPI computation of a closed-loop run (:func:`compute_kpis`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mpc.kpis._capability import capability, capability_upper, weighted_stats
from mpc.kpis._errors import KpiInputError
from mpc.kpis._input import read_run
from mpc.kpis._proxy import coefficient_of_variation, resistance_proxy
from mpc.kpis._scrap import restart_positions, settling_mask
from mpc.kpis._spec import KpiSpec
from mpc.kpis._web import RangeMax, sample_metres

__all__ = ["compute_kpis", "primary_energy"]

_J_PER_KWH = 3.6e6


def _mean(x: NDArray[np.float64]) -> float:
    return float(np.mean(x)) if x.size else 0.0


def _std(x: NDArray[np.float64]) -> float:
    return float(np.std(x, ddof=1)) if x.size >= 2 else 0.0


def _stat(f: Any, x: NDArray[np.float64]) -> float:
    """``f(x)`` as a float; 0 for no values (a controller that never solves keeps every KPI finite)."""
    return float(f(x)) if x.size else 0.0


def primary_energy(heater: Any, fan: Any, recovery: Any, primary_factor_heater: float,
                   primary_factor_electricity: float) -> Any:
    """Primary energy (or power) of the drying: the heaters' carrier and the electricity of fans and solvent
    recovery, each times its primary-energy factor (``docs/kpis.md``); arrays or scalars, in their unit."""
    return primary_factor_heater * heater + primary_factor_electricity * (fan + recovery)


def _assess(ts: pd.DataFrame, spec: KpiSpec) -> SimpleNamespace:
    """Per-metre assessment shared by :func:`compute_kpis` and :func:`per_metre_table`."""
    if not isinstance(spec, KpiSpec):
        raise TypeError(f"spec is a {type(spec).__name__}: expected a KpiSpec")
    run = read_run(ts)
    t, dt = run.t, run.dt
    t_begin = float(t[0]) - dt  # the first row ends the interval (t_begin, t[0]]
    t_end = float(t[-1])
    t_start = max(spec.warmup_s, t_begin)
    if not t_start < t_end:
        raise KpiInputError(
            f"KpiSpec.warmup_s = {spec.warmup_s!r} s: the run ends at time_s = {t_end!r}, "
            "before the warm-up does; nothing to assess"
        )

    # --- the web, metre by metre --------------------------------------------
    web = sample_metres(t, run.pos, t_start, spec.die_to_dryer_exit_m)
    cw = np.interp(web.t_die_s, t, run.coat_weight)
    res = np.interp(web.t_exit_s, t, run.residual)
    above = (run.lel > run.lel_limit[:, None]).any(axis=1)
    peaks = RangeMax(np.column_stack([run.crit_ratio, run.film_temp, above.astype(float)]))
    exposure = peaks.query(web.row_die, web.row_exit).reshape(web.n, 3)
    bm, film, lel_hit = exposure[:, 0], exposure[:, 1], exposure[:, 2] > 0.5

    bad_cw = (cw < spec.coat_weight_lsl_kg_m2) | (cw > spec.coat_weight_usl_kg_m2)
    bad_res = res > spec.residual_usl_kg_kg
    bad_film = film > spec.film_temp_max_K
    starts = restart_positions(run.running, run.pos)
    settling = settling_mask(web.position_m, starts, spec.settling_after_restart_m)
    scrap = bad_cw | bad_res | bad_film | lel_hit | settling
    good = ~scrap
    n_good = int(good.sum())
    no_good_web = n_good < 2
    # what the process made: every assessed metre but the settling web after restarts (capability,
    # means, spreads and the binder index are computed on it, scrap included: good web alone cuts
    # the tails off)
    made = ~settling
    # the cells a plant builds come from good web (the resistance proxy); with no good web, all web
    pop = good if not no_good_web else np.ones(web.n, dtype=bool)
    # coat weight as laid at the die, row by row: each row holds the web coated over its interval
    # (after the warm-up, settling web excluded), so that its capability is the web-length-weighted
    # Ppk of the time series itself
    dpos = np.diff(run.pos, prepend=run.pos[0])
    after = np.clip((t - t_start) / dt, 0.0, 1.0)
    row_settling = settling_mask(run.pos - 0.5 * dpos, starts, spec.settling_after_restart_m)
    cw_weight = np.where(row_settling, 0.0, dpos * after)

    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("ts", "spec")})


def per_metre_table(ts: pd.DataFrame, spec: KpiSpec) -> pd.DataFrame:
    """The assessed web, one row per metre: what the capability and scrap KPIs are computed on.

    Columns: ``position_m``, ``t_die_s``, ``t_exit_s``, ``coat_weight_kg_m2``,
    ``residual_kg_kg``, ``binder_exposure``, ``film_temp_max_K``, ``lel_hit``,
    ``settling``, ``made`` (assessed for capability: not settling web), ``good``.
    """
    a = _assess(ts, spec)
    return pd.DataFrame(
        {
            "position_m": a.web.position_m,
            "t_die_s": a.web.t_die_s,
            "t_exit_s": a.web.t_exit_s,
            "coat_weight_kg_m2": a.cw,
            "residual_kg_kg": a.res,
            "binder_exposure": a.bm,
            "film_temp_max_K": a.film,
            "lel_hit": a.lel_hit,
            "settling": a.settling,
            "made": a.made,
            "good": a.good,
        }
    )


def compute_kpis(ts: pd.DataFrame, spec: KpiSpec) -> dict[str, Any]:
    """The plant KPIs of a closed-loop run, from its plant-truth time series.

    Parameters
    ----------
    ts : pandas.DataFrame
        One row per control interval, index ``time_s`` (uniform), plant truth
        at the end of each interval (columns: see ``docs/kpis.md`` and
        :data:`mpc.kpis.REQUIRED_COLUMNS`).
    spec : KpiSpec
        Specification limits and constants.

    Returns
    -------
    dict
        Every key of :data:`~mpc.kpis.KPI_KEYS`, in that order: ``scenario``
        and ``controller`` (str), ``no_good_web`` (bool), counts of events
        (int), every other value a finite float.

    Raises
    ------
    KpiInputError
        A missing column, a NaN, a bad time index, or a run that ends before
        the warm-up does.
    """
    a = _assess(ts, spec)
    t, t_begin, t_end, t_start, dt, run, web = a.t, a.t_begin, a.t_end, a.t_start, a.dt, a.run, a.web
    cw, res, bm, pop, no_good_web, n_good = a.cw, a.res, a.bm, a.pop, a.no_good_web, a.n_good
    scrap, bad_cw, bad_res, bad_film, lel_hit, settling, starts, made = (
        a.scrap, a.bad_cw, a.bad_res, a.bad_film, a.lel_hit, a.settling, a.starts, a.made)
    above = a.above
    cap = spec.capability_cap
    cp, cpk = capability(run.coat_weight, spec.coat_weight_lsl_kg_m2, spec.coat_weight_usl_kg_m2, cap,
                         weights=a.cw_weight)
    _, cw_mean, cw_std = weighted_stats(run.coat_weight, a.cw_weight)
    res_cpk = capability_upper(res[made], spec.residual_usl_kg_kg, cap)

    r_rel = resistance_proxy(
        cw[pop],
        bm[pop],
        res[pop],
        coat_weight_target_kg_m2=spec.coat_weight_target_kg_m2,
        residual_usl_kg_kg=spec.residual_usl_kg_kg,
        a_cw=spec.proxy_coat_weight_coeff,
        a_bm=spec.proxy_binder_coeff,
        a_rs=spec.proxy_residual_coeff,
    )

    # --- energy and throughput (each row holds over (t_i - dt, t_i]) -----------
    weight = np.clip(t - np.maximum(t - dt, t_start), 0.0, dt)
    energy_kwh = float(np.dot(run.power, weight)) / _J_PER_KWH
    heater_kwh = float(np.dot(run.heater_power, weight)) / _J_PER_KWH
    fan_kwh = float(np.dot(run.fan_power, weight)) / _J_PER_KWH
    recovery_kwh = float(np.dot(run.recovery_power, weight)) / _J_PER_KWH
    primary_kwh = primary_energy(heater_kwh, fan_kwh, recovery_kwh, spec.primary_factor_heater,
                                 spec.primary_factor_electricity)
    good_m2 = n_good * spec.width_m
    # denominators floored at one metre of web: finite even when nothing was made
    total_m2 = max(web.n * spec.width_m, spec.width_m)
    area_m2 = max(good_m2, spec.width_m) if not no_good_web else total_m2
    energy_per_m2 = energy_kwh / area_m2
    hours = (t_end - t_start) / 3600.0

    lel_max = float(run.lel.max())
    out: dict[str, Any] = {
        "scenario": spec.scenario,
        "controller": spec.controller,
        "duration_s": t_end - t_begin,
        "warmup_s": float(t_start),
        "total_m": float(web.n),
        "good_m": float(n_good),
        "good_m2": float(good_m2),
        "yield_frac": float(n_good) / web.n if web.n else 0.0,
        "scrap_m": float(scrap.sum()),
        "scrap_coat_weight_m": float(bad_cw.sum()),
        "scrap_residual_m": float(bad_res.sum()),
        "scrap_film_temp_m": float(bad_film.sum()),
        "scrap_lel_m": float(lel_hit.sum()),
        "scrap_settling_m": float(settling.sum()),
        "restarts": int(starts.size),
        "no_good_web": bool(no_good_web),
        "coat_weight_cp": cp,
        "coat_weight_cpk": cpk,
        "coat_weight_mean_kg_m2": cw_mean,
        "coat_weight_std_kg_m2": cw_std,
        "residual_solvent_cpk": res_cpk,
        "residual_mean_kg_kg": _mean(res[made]),
        "throughput_m2_h": good_m2 / hours,
        "energy_kwh": energy_kwh,
        "heater_energy_kwh": heater_kwh,
        "fan_energy_kwh": fan_kwh,
        "solvent_recovery_energy_kwh": recovery_kwh,
        "makeup_air_heat_kwh": float(np.dot(run.makeup_heat, weight)) / _J_PER_KWH,
        "energy_kwh_per_m2": energy_per_m2,
        "energy_kwh_per_m2_total": energy_kwh / total_m2,
        "energy_kwh_per_kwh_cell": energy_per_m2 / spec.cell_kwh_per_m2_at_target,
        "primary_energy_kwh_per_m2": primary_kwh / area_m2,
        "binder_migration_index": _mean(bm[made]),
        "resistance_proxy_mean": _mean(r_rel),
        "resistance_proxy_cv": coefficient_of_variation(r_rel),
        "max_lel_fraction": lel_max,
        "time_above_lel_limit_s": float(above.sum()) * dt,
        "max_film_temp_K": float(run.film_temp.max()),
        "step_time_ms_median": _stat(np.median, run.step_ms[run.answered]),
        "step_time_ms_p95": _stat(lambda a: np.percentile(a, 95.0), run.step_ms[run.answered]),
        "step_time_ms_max": _stat(np.max, run.step_ms[run.answered]),
        "solves": int(run.solved.sum()),
        "solve_time_ms_median": _stat(np.median, run.step_ms[run.solved]),
        "solve_time_ms_p95": _stat(lambda a: np.percentile(a, 95.0), run.step_ms[run.solved]),
        "solve_time_ms_max": _stat(np.max, run.step_ms[run.solved]),
        "solver_failures": int(run.solver_failure.sum()),
        "fallbacks": int(run.fallback.sum()),
    }
    return out
