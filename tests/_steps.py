"""Unannounced slurry solids steps and how far past the gauge a controller still makes off-spec web."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.kpis import KpiSpec, per_metre_table
from mpc.scenario import ScenarioSetup, build_setup, load_scenario, scenario_from_dict
from scenarios import shipped_path

STEP_AT_S = 1800.0
"""When the unannounced lot arrives at the die, s (after the warm-up, the line settled)."""


def step_setup(preset: str, step_wt_pct: float, duration_s: float = 3600.0) -> ScenarioSetup:
    """The preset's nominal scenario with one unannounced solids step of ``step_wt_pct`` wt% at :data:`STEP_AT_S`."""
    data = load_scenario(shipped_path(f"{preset}_nominal.toml")).model_dump()
    base = data["disturbances"]["slurry"].get("solids_frac")
    if base is None:
        from plants import get_preset

        base = get_preset(preset).coater.solids_frac_nominal
    data["duration_s"] = duration_s
    data["warmup_s"] = 1200.0
    data["disturbances"]["slurry"] = {"solids_frac": base, "drift_per_h": 0.0, "random_walk_std_per_sqrt_h": 0.0,
                                      "batch_changes": [{"t_s": STEP_AT_S, "solids_frac": base + step_wt_pct / 100.0,
                                                         "announced": False}]}
    data["controllers"] = {k: v for k, v in data.get("controllers", {}).items() if k != "recipe"}
    return build_setup(scenario_from_dict(data), source=str(shipped_path(f"{preset}_nominal.toml")))


@dataclass(frozen=True)
class StepRecovery:
    """What an unannounced step cost: where the last off-spec metre lies past the gauge's first sight of the lot."""

    last_bad_after_gauge_m: float
    """Die position of the last off-spec metre minus the die position when the gauge first read the new lot, m
    (negative: none after that moment)."""
    final_mean_error_frac: float
    """Mean coat weight of the last 600 m against the target, relative."""
    scrap_coat_weight_m: float


def step_recovery(ts, kpi_spec: dict, setup: ScenarioSetup) -> StepRecovery:
    """Measure a run of :func:`step_setup` (its time series and ``meta["kpi_spec"]``)."""
    spec = KpiSpec(**kpi_spec)
    per = per_metre_table(ts, spec)
    t = ts.index.to_numpy(float)
    pos = ts["web_position_m"].to_numpy(float)
    p_step = float(np.interp(STEP_AT_S, t, pos))  # the new lot's first metre
    gauge_m = setup.plant_params.coater.coater_to_gauge_m
    p_seen = p_step + gauge_m  # the die position when the gauge reads that metre
    lo, hi = spec.coat_weight_lsl_kg_m2, spec.coat_weight_usl_kg_m2
    bad = (per["coat_weight_kg_m2"] < lo) | (per["coat_weight_kg_m2"] > hi)
    after = per["position_m"] >= p_step
    last_bad = float(per.loc[bad & after, "position_m"].max()) if (bad & after).any() else p_step
    tail = per["position_m"] > per["position_m"].max() - 600.0
    mean_err = float(per.loc[tail, "coat_weight_kg_m2"].mean() / spec.coat_weight_target_kg_m2 - 1.0)
    return StepRecovery(last_bad - p_seen, mean_err, float(bad.sum()))
