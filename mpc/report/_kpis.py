"""KPI display: labels, display units, formatting, order and better-direction.

The KPI record keeps SI values with the unit in the key name. This module
says how each key reads for people (label, unit, number format) and which way
is better when controllers are compared. Keys it does not know are still
shown: the unit is inferred from the key's suffix, or the raw value is shown.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mpc.report import _units as u

__all__ = [
    "ENERGY_KEYS",
    "HEADLINE_KEYS",
    "IDENTITY_KEYS",
    "KpiSpec",
    "as_float",
    "direction_name",
    "format_kpi",
    "kpi_direction",
    "kpi_groups",
    "kpi_spec",
    "kpi_text",
    "ordered_keys",
]

HIGHER_IS_BETTER = 1
LOWER_IS_BETTER = -1
NO_DIRECTION = 0


@dataclass(frozen=True)
class KpiSpec:
    """How one KPI key is shown.

    Attributes
    ----------
    label : str
        Human label.
    unit : str
        Display unit ("" for dimensionless, "count" for counts).
    convert : callable
        SI value -> display value (a function of :mod:`mpc.report._units`).
    fmt : str
        ``str.format`` pattern for the display value.
    """

    label: str
    unit: str
    convert: Callable[[Any], Any]
    fmt: str


def _ident(x: Any) -> Any:
    return x


_SPECS: dict[str, KpiSpec] = {
    "scenario": KpiSpec("Scenario", "", _ident, "{}"),
    "controller": KpiSpec("Controller", "", _ident, "{}"),
    "preset": KpiSpec("Preset", "", _ident, "{}"),
    "duration_s": KpiSpec("Duration", "h", u.s_to_h, "{:.2f}"),
    "warmup_s": KpiSpec("Warm-up (quality and energy assessed after it)", "s", _ident, "{:.0f}"),
    "coat_weight_cp": KpiSpec("Coat weight Cp", "", _ident, "{:.2f}"),
    "coat_weight_cpk": KpiSpec("Coat weight Cpk", "", _ident, "{:.2f}"),
    "residual_solvent_cpk": KpiSpec(
        "Residual solvent Cpk (upper limit only)", "", _ident, "{:.2f}"
    ),
    "total_m": KpiSpec("Web assessed (after warm-up)", "m", _ident, "{:,.1f}"),
    "good_m": KpiSpec("Good web", "m", _ident, "{:,.1f}"),
    "yield_frac": KpiSpec("Yield (good / all web assessed)", "%", u.frac_to_pct, "{:.2f}"),
    "scrap_m": KpiSpec("Scrap", "m", _ident, "{:,.1f}"),
    "scrap_coat_weight_m": KpiSpec("Scrap: coat weight out of spec", "m", _ident, "{:,.1f}"),
    "scrap_residual_m": KpiSpec("Scrap: residual solvent above USL", "m", _ident, "{:,.1f}"),
    "scrap_film_temp_m": KpiSpec("Scrap: film too hot", "m", _ident, "{:,.1f}"),
    "scrap_lel_m": KpiSpec("Scrap: made above the LEL limit", "m", _ident, "{:,.1f}"),
    "scrap_settling_m": KpiSpec("Scrap: settling after restarts", "m", _ident, "{:,.1f}"),
    "good_m2": KpiSpec("Good electrode", "m²", _ident, "{:,.1f}"),
    "throughput_m2_h": KpiSpec("Throughput (good)", "m²/h", _ident, "{:,.1f}"),
    "energy_kwh": KpiSpec("Dryer final energy, all carriers", "kWh", _ident, "{:,.1f}"),
    "heater_energy_kwh": KpiSpec("Heaters (their carrier)", "kWh", _ident, "{:,.1f}"),
    "fan_energy_kwh": KpiSpec("Fans (electricity)", "kWh", _ident, "{:,.1f}"),
    "solvent_recovery_energy_kwh": KpiSpec(
        "Solvent recovery (electricity)", "kWh", _ident, "{:,.1f}"
    ),
    "makeup_air_heat_kwh": KpiSpec(
        "Make-up-air heat carried off (part of the heaters' duty)", "kWh", _ident, "{:,.1f}"
    ),
    "energy_kwh_per_m2": KpiSpec("Dryer energy per m² good", "kWh/m²", _ident, "{:.3f}"),
    "energy_kwh_per_m2_total": KpiSpec(
        "Dryer energy per m² of all web", "kWh/m²", _ident, "{:.3f}"
    ),
    "energy_kwh_per_kwh_cell": KpiSpec(
        "Dryer energy per kWh of cell", "kWh/kWh cell", _ident, "{:.3f}"
    ),
    "primary_energy_kwh_per_m2": KpiSpec(
        "Primary energy per m² good", "kWh/m²", _ident, "{:.3f}"
    ),
    "binder_migration_index": KpiSpec("Binder-migration index", "", _ident, "{:.3f}"),
    "resistance_proxy_cv": KpiSpec("Cell-resistance proxy CV", "%", u.frac_to_pct, "{:.2f}"),
    "max_lel_fraction": KpiSpec("Max zone LEL", "% LEL", u.frac_to_pct, "{:.1f}"),
    "time_above_lel_limit_s": KpiSpec("Time above LEL limit in force", "s", _ident, "{:.0f}"),
    "max_film_temp_K": KpiSpec("Max film temperature", "°C", u.K_to_degC, "{:.1f}"),
    "step_time_ms_median": KpiSpec("Controller step time, median", "ms", _ident, "{:.2f}"),
    "step_time_ms_p95": KpiSpec("Controller step time, p95", "ms", _ident, "{:.2f}"),
    "step_time_ms_max": KpiSpec("Controller step time, max", "ms", _ident, "{:.2f}"),
    "solves": KpiSpec("Online solves", "count", _ident, "{:.0f}"),
    "solve_time_ms_median": KpiSpec("Solve step time, median", "ms", _ident, "{:.2f}"),
    "solve_time_ms_p95": KpiSpec("Solve step time, p95", "ms", _ident, "{:.2f}"),
    "solve_time_ms_max": KpiSpec("Solve step time, max", "ms", _ident, "{:.2f}"),
    "solver_failures": KpiSpec("Solver failures", "count", _ident, "{:.0f}"),
    "fallbacks": KpiSpec("Fallbacks", "count", _ident, "{:.0f}"),
}

#: Keys naming the run (shown first, never compared).
IDENTITY_KEYS: tuple[str, ...] = ("scenario", "controller", "preset", "duration_s")

#: The plant's three figures and their companions, in display order.
HEADLINE_KEYS: tuple[str, ...] = (
    "coat_weight_cp",
    "coat_weight_cpk",
    "residual_solvent_cpk",
    "yield_frac",
    "scrap_m",
    "energy_kwh_per_kwh_cell",
    "energy_kwh_per_m2",
    "energy_kwh_per_m2_total",
    "primary_energy_kwh_per_m2",
    "resistance_proxy_cv",
    "good_m2",
    "throughput_m2_h",
    "max_lel_fraction",
    "time_above_lel_limit_s",
)

#: The final energy and its split by carrier (and the make-up-air heat, information), in display order.
ENERGY_KEYS: tuple[str, ...] = (
    "energy_kwh",
    "heater_energy_kwh",
    "fan_energy_kwh",
    "solvent_recovery_energy_kwh",
    "makeup_air_heat_kwh",
)

# Suffix -> (unit, conversion, format) for keys without an explicit spec.
# Longer suffixes first: "_kg_m2" must win over "_m2".
_SUFFIX_UNITS: tuple[tuple[str, str, Callable[[Any], Any], str], ...] = (
    ("_kwh_per_kwh_cell", "kWh/kWh cell", _ident, "{:.3f}"),
    ("_kwh_per_m2", "kWh/m²", _ident, "{:.3f}"),
    ("_kg_m2", "mg/cm²", u.kg_m2_to_mg_cm2, "{:.3f}"),
    ("_kg_kg", "% (dry basis)", u.kg_kg_to_pct, "{:.3f}"),
    ("_m2_h", "m²/h", _ident, "{:.1f}"),
    ("_m3_s", "L/min", u.m3_s_to_l_min, "{:.3f}"),
    ("_m_s", "m/min", u.m_s_to_m_min, "{:.2f}"),
    ("_kwh", "kWh", _ident, "{:.1f}"),
    ("_kw", "kW", _ident, "{:.1f}"),
    ("_W", "kW", u.W_to_kW, "{:.1f}"),
    ("_K", "°C", u.K_to_degC, "{:.1f}"),
    ("_ms", "ms", _ident, "{:.2f}"),
    ("_m2", "m²", _ident, "{:.1f}"),
    ("_frac", "%", u.frac_to_pct, "{:.2f}"),
    ("_fraction", "%", u.frac_to_pct, "{:.2f}"),
    ("_pct", "%", _ident, "{:.2f}"),
    ("_cv", "%", u.frac_to_pct, "{:.2f}"),
    ("_kg_s", "kg/s", _ident, "{:.4g}"),
    ("_kg", "kg", _ident, "{:,.1f}"),
    ("_s", "s", _ident, "{:.1f}"),
    ("_m", "m", _ident, "{:.1f}"),
)


def _humanise(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def kpi_spec(key: str) -> KpiSpec:
    """Display spec of a KPI key (explicit, else inferred from the key's unit suffix).

    Parameters
    ----------
    key : str
        KPI key, e.g. ``"coat_weight_cpk"``.

    Returns
    -------
    KpiSpec
        Label, display unit, conversion and format.
    """
    if key in _SPECS:
        return _SPECS[key]
    for suffix, unit, conv, fmt in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return KpiSpec(_humanise(key[: -len(suffix)]) or key, unit, conv, fmt)
    if key.endswith(("_cp", "_cpk", "_ppk", "_index")):
        return KpiSpec(_humanise(key), "", _ident, "{:.2f}")
    return KpiSpec(_humanise(key), "", _ident, "{:.4g}")


def as_float(value: Any) -> float | None:
    """Finite float of a KPI value, or None (text, None, NaN, inf, bools count as numbers)."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def format_kpi(key: str, value: Any) -> tuple[str, str]:
    """Display text and unit of one KPI value.

    Parameters
    ----------
    key : str
        KPI key.
    value : Any
        SI value as stored in the KPI record.

    Returns
    -------
    text : str
        Formatted value (``"n/a"`` for None or a non-finite number).
    unit : str
        Display unit.
    """
    spec = kpi_spec(key)
    if value is None:
        return "n/a", spec.unit
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), ""
    if (
        isinstance(value, int | np.integer)
        and spec.convert is _ident
        and spec.unit in ("", "count")
    ):
        return f"{int(value):d}", spec.unit
    f = as_float(value)
    if f is None:
        if isinstance(value, float | np.floating):
            return "n/a", spec.unit
        return str(value), ""
    try:
        return spec.fmt.format(float(spec.convert(f))), spec.unit
    except (ValueError, TypeError):
        return str(value), spec.unit


def kpi_text(kpis: dict[str, Any], key: str) -> str:
    """``"<value> <unit>"`` of a KPI for chart titles, or ``"n/a"`` (no unit) if missing."""
    text, unit = format_kpi(key, kpis.get(key))
    if text == "n/a" or unit in ("", "count"):
        return text
    return f"{text} {unit}"


@functools.cache
def _project_directions() -> dict[str, Any]:
    """``mpc.kpis.KPI_DIRECTIONS`` (the KPI definitions' own table), or {} without it."""
    try:
        from mpc.kpis import KPI_DIRECTIONS
    except ImportError:
        return {}
    return dict(KPI_DIRECTIONS)


def _fallback_direction(key: str) -> str | None:
    if key in ("good_m", "good_m2", "yield_frac", "throughput_m2_h") or key.endswith(("_cp", "_cpk", "_ppk")):
        return "higher"
    if key in ("time_above_lel_limit_s", "scrap_lel_m"):
        return "zero"
    if key == "scrap_settling_m":  # set by the scenario's stops, not by the controller
        return None
    if key.startswith(("energy_", "primary_energy_", "scrap")) or key.endswith(("_cv", "_std_kg_m2")):
        return "lower"
    if key in (
        "max_lel_fraction",
        "max_film_temp_K",
        "binder_migration_index",
        "solver_failures",
        "fallbacks",
    ):
        return "lower"
    return None


def direction_name(key: str) -> str | None:
    """``"higher"``, ``"lower"``, ``"zero"`` (must be zero) or None (not a figure of merit).

    Taken from :data:`mpc.kpis.KPI_DIRECTIONS` where that table has the key
    (the KPI definitions are the authority, ``docs/kpis.md``), otherwise
    from rules on the key's name. Step times are never ranked: timing is
    machine noise.
    """
    table = _project_directions()
    if key in table:
        return table[key]
    return _fallback_direction(key)


def kpi_direction(key: str) -> int:
    """Which way is better for a KPI.

    Parameters
    ----------
    key : str
        KPI key.

    Returns
    -------
    int
        +1 higher is better (capability, throughput, good m2), -1 lower is
        better (energy, scrap, spread, time above limit, max LEL, binder
        migration, solver failures, fallbacks; "must be zero" keys too),
        0 not ranked: identity keys, descriptive values, step times
        (machine noise, ``docs/kpis.md``) and anything unknown.
    """
    name = direction_name(key)
    if name == "higher":
        return HIGHER_IS_BETTER
    if name in ("lower", "zero"):
        return LOWER_IS_BETTER
    return NO_DIRECTION


def kpi_groups(keys: Iterable[str]) -> list[tuple[str, list[str]]]:
    """KPI keys in the groups the report's tables show: run, headline, energy by carrier, other.

    Each group's keys in display order (the rest in first-seen order, no
    duplicates); empty groups are left out.
    """
    seen = list(dict.fromkeys(keys))
    groups = [
        ("Run", [k for k in IDENTITY_KEYS if k in seen]),
        ("Headline", [k for k in HEADLINE_KEYS if k in seen]),
        ("Energy by carrier (after warm-up)", [k for k in ENERGY_KEYS if k in seen]),
    ]
    shown = {k for _, ks in groups for k in ks}
    groups.append(("Other KPIs", [k for k in seen if k not in shown]))
    return [(title, ks) for title, ks in groups if ks]


def ordered_keys(keys: Iterable[str]) -> list[str]:
    """Every key once, in the order of :func:`kpi_groups`."""
    return [k for _, ks in kpi_groups(keys) for k in ks]
