"""The dryer's energy by carrier, final and primary, as the report shows it (table and card text).

The energy boundary (``docs/kpis.md``) holds three carriers' draws: the heaters
(their carrier: natural gas for the cathode preset, electricity for the
anode's; the preset's ``dryer.heater_carrier``), the fans and the solvent
recovery (both electricity). Final energy adds their kWh; primary energy
weights each carrier by its primary-energy factor. The heat the make-up air
carries off is a part of the heaters' duty, shown for information only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mpc.report._html import esc
from mpc.report._kpis import as_float, format_kpi, kpi_text

__all__ = ["CARRIER_KEYS", "energy_summary", "energy_table", "heater_carrier", "primary_factors"]

#: (KPI key, what draws it, carrier or None for the heaters' own) of each carrier inside the boundary.
CARRIER_KEYS: tuple[tuple[str, str, str | None], ...] = (
    ("heater_energy_kwh", "heaters", None),
    ("fan_energy_kwh", "fans", "electricity"),
    ("solvent_recovery_energy_kwh", "solvent recovery", "electricity"),
)


def _nested(meta: Mapping[str, Any], key: str) -> Any:
    """``meta[key]``, else ``meta["kpi_spec"][key]`` (the run's KPI specification), else None."""
    if key in meta:
        return meta[key]
    spec = meta.get("kpi_spec")
    return spec.get(key) if isinstance(spec, Mapping) else None


def heater_carrier(meta: Mapping[str, Any]) -> str | None:
    """The heaters' carrier in words (``"natural gas"``) from ``meta["heater_carrier"]``, or None."""
    value = meta.get("heater_carrier")
    return value.replace("_", " ") if isinstance(value, str) and value else None


def primary_factors(meta: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Primary-energy factors (heaters' carrier, electricity) from ``meta`` or its ``kpi_spec``."""
    return (
        as_float(_nested(meta, "primary_factor_heater")),
        as_float(_nested(meta, "primary_factor_electricity")),
    )


def _carrier(meta: Mapping[str, Any], carrier: str | None) -> str:
    return carrier or heater_carrier(meta) or "the preset's heater carrier"


def _share(kpis: Mapping[str, Any], key: str) -> float | None:
    part, total = as_float(kpis.get(key)), as_float(kpis.get("energy_kwh"))
    if part is None or total is None or total <= 0:
        return None
    return 100.0 * part / total


def energy_summary(kpis: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """One line for the energy card: per m2 good and of all web, primary, the split by carrier."""
    parts = [
        f"{kpi_text(kpis, 'energy_kwh_per_m2')} good",
        f"{kpi_text(kpis, 'energy_kwh_per_m2_total')} of all web",
        f"primary {kpi_text(kpis, 'primary_energy_kwh_per_m2')} good",
    ]
    split = []
    for key, what, carrier in CARRIER_KEYS:
        share = _share(kpis, key)
        if share is not None:
            split.append(f"{what} {share:.0f} % ({_carrier(meta, carrier)})")
    if split:
        parts.append("final energy: " + ", ".join(split))
    heat = as_float(kpis.get("makeup_air_heat_kwh"))
    if heat is not None:
        parts.append(f"make-up air carried off {heat:,.0f} kWh (part of the heaters' duty)")
    return " · ".join(parts)


def _row(cells: list[str], key: str, num: tuple[int, ...]) -> str:
    tds = "".join(
        f'<td class="num">{esc(c)}</td>' if i in num else f"<td>{esc(c)}</td>" for i, c in enumerate(cells)
    )
    return f'<tr data-key="{esc(key)}">{tds}</tr>'


def energy_table(kpis: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The energy after the warm-up by carrier, final and primary, as an HTML table (``id="energy-table"``)."""
    if not any(k in kpis for k, _, _ in CARRIER_KEYS) and "energy_kwh" not in kpis:
        return '<p class="note">No energy KPIs in the record.</p>'
    rows = []
    for key, what, carrier in CARRIER_KEYS:
        if key not in kpis:
            continue
        share = _share(kpis, key)
        rows.append(
            _row(
                [what, _carrier(meta, carrier), format_kpi(key, kpis[key])[0],
                 "n/a" if share is None else f"{share:.1f}"],
                key,
                (2, 3),
            )
        )
    if "energy_kwh" in kpis:
        rows.append(
            _row(["final energy, all carriers", "—", format_kpi("energy_kwh", kpis["energy_kwh"])[0], "100.0"],
                 "energy_kwh", (2, 3))
        )
    if "makeup_air_heat_kwh" in kpis:
        rows.append(
            _row(["make-up-air heat carried off (information)",
                  "not a carrier: a part of the heaters' duty, after heat recovery",
                  format_kpi("makeup_air_heat_kwh", kpis["makeup_air_heat_kwh"])[0], "—"],
                 "makeup_air_heat_kwh", (2, 3))
        )
    f_heat, f_el = primary_factors(meta)
    factors = (
        f"primary-energy factors: heaters' carrier {f_heat:g}, electricity {f_el:g} (the scenario's [energy] table)"
        if f_heat is not None and f_el is not None
        else "primary-energy factors: the scenario's [energy] table"
    )
    per = (
        f"Per m² of good electrode: final {kpi_text(kpis, 'energy_kwh_per_m2')}, primary "
        f"{kpi_text(kpis, 'primary_energy_kwh_per_m2')} ({factors}); per m² of all web made: "
        f"{kpi_text(kpis, 'energy_kwh_per_m2_total')}; per kWh of cell: "
        f"{kpi_text(kpis, 'energy_kwh_per_kwh_cell')}."
    )
    return (
        '<table id="energy-table"><thead><tr><th>draws</th><th>carrier</th><th>kWh after warm-up</th>'
        f"<th>% of final energy</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p>{esc(per)} Final energy adds the carriers' kWh; primary energy weights each by its "
        "factor, since a kWh of electricity is not a kWh of gas.</p>"
    )
