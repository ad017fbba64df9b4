"""Dryer charts: zone LEL (or exhaust humidity) vs the limit in force, film temperatures, energy."""

from __future__ import annotations

import numpy as np

from mpc.report import _units as u
from mpc.report._energy import heater_carrier
from mpc.report._figure import (
    DECIMATION_NOTE,
    LIMIT_COLOR,
    Chart,
    Note,
    new_figure,
    plot_line,
    plot_steps,
    shade_time,
    side_legend,
    to_png,
)
from mpc.report._kpis import kpi_text
from mpc.report._view import RunView

__all__ = ["dryer_energy", "energy_after_warmup_kwh", "film_temperatures", "zone_colors", "zone_lel"]

#: Meta key for the exhaust-humidity limit of a non-flammable solvent (optional).
HUMIDITY_LIMIT_KEY = "exhaust_humidity_max_kg_kg"


def zone_colors(n: int) -> list[str]:
    """One colour per zone, first zone coolest (viridis-like order, readable on white)."""
    palette = [
        "#1b9e77",
        "#d95f02",
        "#7570b3",
        "#e7298a",
        "#66a61e",
        "#e6ab02",
        "#a6761d",
        "#666666",
    ]
    return [palette[i % len(palette)] for i in range(n)]


def _non_flammable(view: RunView) -> bool:
    vals = [view.col(f"zone{z}_lel_frac") for z in view.zones]
    vals = [v for v in vals if v is not None]
    return bool(vals) and all(np.nanmax(np.abs(v)) <= 1e-12 for v in vals)


def _humidity_chart(view: RunView) -> Chart | Note:
    cols = {z: view.col(f"zone{z}_humidity_ratio_kg_kg") for z in view.zones}
    cols = {z: v for z, v in cols.items() if v is not None}
    if not cols:
        return Note(
            "zone_lel",
            "Zone exhaust humidity",
            "Solvent is non-flammable (all LEL fractions zero) and no zone{i}_humidity_ratio_kg_kg columns.",
        )
    fig = new_figure(10.0, 3.8)
    ax = fig.add_subplot()
    shade_time(ax, view)
    dec = False
    for (z, v), c in zip(cols.items(), zone_colors(len(cols)), strict=True):
        dec |= plot_line(ax, view.tx, u.kg_kg_to_g_kg(v), color=c, lw=1.0, label=f"zone {z}")
    lim = view.meta_float(HUMIDITY_LIMIT_KEY)
    if lim is not None:
        ax.axhline(u.kg_kg_to_g_kg(lim), color=LIMIT_COLOR, ls="--", lw=1.3, label="humidity limit")
    ax.set_ylabel("humidity ratio (g/kg dry air)")
    ax.set_xlabel(view.t_label)
    ax.set_title(
        "Zone exhaust humidity (non-flammable solvent: LEL is zero)", fontsize=11, loc="left"
    )
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0.0)
    side_legend(ax)
    caption = (
        "Non-flammable solvent (every zone LEL fraction is zero, e.g. water): shown instead is the "
        "exhaust humidity, whose limit is what the dryer needs to keep its driving force."
    )
    if lim is None:
        caption += f" No humidity limit in meta ({HUMIDITY_LIMIT_KEY})."
    if dec:
        caption += DECIMATION_NOTE
    return Chart("zone_lel", "Zone exhaust humidity ratio per zone", caption, to_png(fig))


def zone_lel(view: RunView) -> Chart | Note:
    """Zone LEL fractions (% LEL) against the limit in force; exhaust humidity for water."""
    cols = {z: view.col(f"zone{z}_lel_frac") for z in view.zones}
    cols = {z: v for z, v in cols.items() if v is not None}
    if not cols:
        return Note("zone_lel", "Zone LEL fractions", "No zone{i}_lel_frac columns with data.")
    if _non_flammable(view):
        return _humidity_chart(view)
    fig = new_figure(10.0, 3.8)
    ax = fig.add_subplot()
    shade_time(ax, view)
    dec = False
    for (z, v), c in zip(cols.items(), zone_colors(len(cols)), strict=True):
        dec |= plot_line(ax, view.tx, u.frac_to_pct(v), color=c, lw=1.0, label=f"zone {z}")
    lim = view.col("lel_limit_frac")
    caption = "True zone solvent concentration as % of the (temperature-corrected) LEL."
    if lim is not None:
        plot_steps(
            ax,
            view.tx,
            u.frac_to_pct(lim),
            color=LIMIT_COLOR,
            ls="--",
            lw=1.4,
            label="limit in force",
        )
        caption += (
            " Dashed red: the LEL limit in force (50 % with a healthy analyser where the scenario "
            "allows it, 25 % after an analyser failure and purge allowance)."
        )
    else:
        caption += " Column lel_limit_frac missing: no limit drawn."
    top = max(float(np.nanmax(u.frac_to_pct(v))) for v in cols.values())
    if lim is not None:
        top = max(top, float(np.nanmax(u.frac_to_pct(lim))))
    ax.set_ylim(0.0, top * 1.15 if top > 0 else 1.0)
    ax.set_ylabel("zone LEL (%)")
    ax.set_xlabel(view.t_label)
    mx = kpi_text(view.kpis, "max_lel_fraction")
    above = kpi_text(view.kpis, "time_above_lel_limit_s")
    ax.set_title(
        f"Zone LEL — max {mx}, time above the limit in force {above}", fontsize=11, loc="left"
    )
    ax.grid(alpha=0.3)
    side_legend(ax)
    if dec:
        caption += DECIMATION_NOTE
    return Chart("zone_lel", "Zone LEL fractions versus the limit in force", caption, to_png(fig))


def film_temperatures(view: RunView) -> Chart | Note:
    """Per-zone film temperature (max in zone) and air temperature against the film limit, degC."""
    film: dict[int, np.ndarray] = {}
    for z in view.zones:
        v = view.col(f"zone{z}_max_film_temp_K")
        if v is None:
            v = view.col(f"zone{z}_film_temp_K")
        if v is not None:
            film[z] = v
    overall = view.col("max_film_temp_K")
    if not film and overall is None:
        return Note(
            "film_temperature",
            "Film temperatures",
            "No zone film-temperature columns and no max_film_temp_K.",
        )
    fig = new_figure(10.0, 3.8)
    ax = fig.add_subplot()
    shade_time(ax, view)
    dec = False
    colors = zone_colors(max(len(view.zones), 1))
    for i, z in enumerate(view.zones):
        c = colors[i]
        if z in film:
            dec |= plot_line(
                ax, view.tx, u.K_to_degC(film[z]), color=c, lw=1.1, label=f"zone {z} film"
            )
        air = view.col(f"zone{z}_air_temp_K")
        if air is not None:
            dec |= plot_line(
                ax, view.tx, u.K_to_degC(air), color=c, lw=0.8, ls=":", label=f"zone {z} air"
            )
    if not film and overall is not None:
        dec |= plot_line(ax, view.tx, u.K_to_degC(overall), color="k", lw=1.1, label="max film")
    lim = view.meta_float("film_temp_max_K")
    caption = (
        "Solid: highest film temperature in each zone; dotted: zone air temperature (same colour)."
    )
    if lim is not None:
        ax.axhline(u.K_to_degC(lim), color=LIMIT_COLOR, ls="--", lw=1.3, label="film max")
    else:
        caption += " Film limit missing from meta (film_temp_max_K)."
    ax.set_ylabel("temperature (°C)")
    ax.set_xlabel(view.t_label)
    mx = kpi_text(view.kpis, "max_film_temp_K")
    ax.set_title(f"Film and air temperatures per zone — max film {mx}", fontsize=11, loc="left")
    ax.grid(alpha=0.3)
    side_legend(ax)
    if dec:
        caption += DECIMATION_NOTE
    return Chart(
        "film_temperature",
        "Film and air temperatures per zone versus the film limit",
        caption,
        to_png(fig),
    )


def energy_after_warmup_kwh(view: RunView, power_W: np.ndarray) -> np.ndarray:
    """Cumulative energy (kWh) of a power column from the end of the warm-up, as the KPIs count it.

    Row ``i`` holds over ``(t_i - dt, t_i]``: rectangle rule, the row that
    straddles the end of the warm-up for its part only (``docs/kpis.md``).
    """
    t = view.t_s
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    if dt > 0:
        weight = np.clip((t - view.warmup_s) / dt, 0.0, 1.0) * dt
    else:
        weight = np.zeros(len(t))
    return np.asarray(u.ws_to_kwh(np.cumsum(np.nan_to_num(power_W) * weight)), dtype=float)


def dryer_energy(view: RunView) -> Chart | Note:
    """Dryer power by carrier (kW) and the energy after the warm-up, cumulative by carrier (kWh)."""
    total = view.col("dryer_power_W")
    parts = [
        (view.col("heater_power_W"), f"heaters ({heater_carrier(view.meta) or 'their carrier'})", "#d62728"),
        (view.col("fan_power_W"), "fans (electricity)", "#1f77b4"),
        (view.col("solvent_recovery_power_W"), "solvent recovery (electricity)", "#2ca02c"),
    ]
    parts = [(y, label, color) for y, label, color in parts if y is not None]
    derived = False
    if total is None and parts:
        total, derived = np.sum([np.nan_to_num(y) for y, _, _ in parts], axis=0), True
    if total is None:
        return Note(
            "dryer_energy",
            "Dryer energy",
            "Column dryer_power_W missing (and no heater_power_W, fan_power_W, solvent_recovery_power_W).",
        )
    fig = new_figure(10.0, 5.4)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    shade_time(ax1, view)
    shade_time(ax2, view, label=False)
    dec = plot_line(ax1, view.tx, u.W_to_kW(total), color="k", lw=1.1, label="dryer total")
    for y, label, color in parts:
        dec |= plot_line(ax1, view.tx, u.W_to_kW(y), color=color, lw=0.9, label=label)
    heat = view.col("makeup_air_heat_W")
    if heat is not None:
        dec |= plot_line(ax1, view.tx, u.W_to_kW(heat), color="0.45", lw=0.9, ls="--",
                         label="make-up-air heat carried off\n(part of the heaters' duty)")
    ax1.set_ylabel("power (kW)")
    ax1.set_ylim(bottom=0.0)
    ax1.grid(alpha=0.3)
    side_legend(ax1)
    if parts:
        cums = [energy_after_warmup_kwh(view, y) for y, _, _ in parts]
        ax2.stackplot(view.tx, *cums, colors=[c for _, _, c in parts], alpha=0.75,
                      labels=[lbl for _, lbl, _ in parts])
        side_legend(ax2)
    cum = energy_after_warmup_kwh(view, total)
    dec |= plot_line(ax2, view.tx, cum, color="k", lw=1.2)
    ax2.set_ylabel("after warm-up,\ncumulative (kWh)")
    ax2.set_xlabel(view.t_label)
    ax2.grid(alpha=0.3)
    per_cell = kpi_text(view.kpis, "energy_kwh_per_kwh_cell")
    per_m2 = kpi_text(view.kpis, "energy_kwh_per_m2")
    ax1.set_title(
        f"Dryer energy — {float(cum[-1]) if len(cum) else 0.0:,.0f} kWh after the warm-up; "
        f"{per_cell}, {per_m2} good",
        fontsize=11,
        loc="left",
    )
    caption = (
        "Inside the energy boundary: what the heaters draw of their carrier, the fans' and the solvent "
        "recovery's electricity (the dryer total is their sum); the make-up-air heat (dashed) is the heat "
        "the exhaust carries off after heat recovery, a part of the heaters' duty shown for information, "
        "not a carrier. Lower panel: energy by carrier (stacked) from the end of the warm-up, by the "
        "rectangle rule over control intervals as the KPIs count it; the per-m² and per-kWh figures are "
        "the KPI record's (the energy table gives the primary energy)."
    )
    if derived:
        caption += " dryer_power_W missing: the total is the sum of the carriers."
    if dec:
        caption += DECIMATION_NOTE
    return Chart("dryer_energy", "Dryer power by carrier and cumulative energy", caption, to_png(fig))
