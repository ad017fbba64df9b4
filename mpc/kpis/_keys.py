"""The keys of a KPI record, and which way each numeric KPI is better."""

from __future__ import annotations

from typing import Literal

__all__ = ["KPI_DIRECTIONS", "KPI_KEYS", "Direction"]

Direction = Literal["higher", "lower", "zero"] | None

#: every key of the record :func:`~mpc.kpis.compute_kpis` returns, in order
KPI_KEYS: tuple[str, ...] = (
    "scenario",
    "controller",
    "duration_s",
    "total_m",
    "good_m",
    "good_m2",
    "scrap_m",
    "scrap_coat_weight_m",
    "scrap_residual_m",
    "scrap_film_temp_m",
    "scrap_lel_m",
    "scrap_settling_m",
    "restarts",
    "no_good_web",
    "coat_weight_cp",
    "coat_weight_cpk",
    "coat_weight_mean_kg_m2",
    "coat_weight_std_kg_m2",
    "residual_solvent_cpk",
    "residual_mean_kg_kg",
    "throughput_m2_h",
    "energy_kwh",
    "energy_kwh_per_m2",
    "energy_kwh_per_kwh_cell",
    "binder_migration_index",
    "resistance_proxy_mean",
    "resistance_proxy_cv",
    "max_lel_fraction",
    "time_above_lel_limit_s",
    "max_film_temp_K",
    "step_time_ms_median",
    "step_time_ms_p95",
    "step_time_ms_max",
    "solver_failures",
    "fallbacks",
)

#: for each numeric KPI: "higher" / "lower" is better, "zero" must be zero,
#: None: not a figure of merit (timing is machine noise; descriptive values)
KPI_DIRECTIONS: dict[str, Direction] = {
    "duration_s": None,
    "total_m": None,
    "good_m": "higher",
    "good_m2": "higher",
    "scrap_m": "lower",
    "scrap_coat_weight_m": "lower",
    "scrap_residual_m": "lower",
    "scrap_film_temp_m": "lower",
    "scrap_lel_m": "zero",
    "scrap_settling_m": None,
    "restarts": None,
    "coat_weight_cp": "higher",
    "coat_weight_cpk": "higher",
    "coat_weight_mean_kg_m2": None,
    "coat_weight_std_kg_m2": "lower",
    "residual_solvent_cpk": "higher",
    "residual_mean_kg_kg": None,
    "throughput_m2_h": "higher",
    "energy_kwh": "lower",
    "energy_kwh_per_m2": "lower",
    "energy_kwh_per_kwh_cell": "lower",
    "binder_migration_index": "lower",
    "resistance_proxy_mean": None,
    "resistance_proxy_cv": "lower",
    "max_lel_fraction": "lower",
    "time_above_lel_limit_s": "zero",
    "max_film_temp_K": "lower",
    "step_time_ms_median": None,
    "step_time_ms_p95": None,
    "step_time_ms_max": None,
    "solver_failures": "lower",
    "fallbacks": "lower",
}
