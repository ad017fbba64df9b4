"""Overlay charts for the comparison report: one line per controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from mpc.report import _units as u
from mpc.report._figure import (
    DECIMATION_NOTE,
    LIMIT_COLOR,
    WARMUP_COLOR,
    Chart,
    Note,
    new_figure,
    plot_line,
    plot_steps,
    side_legend,
    to_png,
)
from mpc.report._units import time_axis
from mpc.report._view import RunView

__all__ = ["COMPARE_CHART_NAMES", "CONTROLLER_COLORS", "overlay_charts"]

CONTROLLER_COLORS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
]

COMPARE_CHART_NAMES: tuple[str, ...] = (
    "compare_coat_weight",
    "compare_residual",
    "compare_max_lel",
    "compare_dryer_power",
    "compare_speed",
)


@dataclass(frozen=True)
class _Overlay:
    name: str
    title: str
    ylabel: str
    alt: str
    series: Callable[[RunView], np.ndarray | None]
    caption: str


def _max_lel(view: RunView) -> np.ndarray | None:
    cols = [view.col(f"zone{z}_lel_frac") for z in view.zones]
    cols = [c for c in cols if c is not None]
    if not cols:
        return None
    with np.errstate(invalid="ignore"):
        return u.frac_to_pct(np.nanmax(np.vstack(cols), axis=0))


def _conv(name: str, fn: Callable) -> Callable[[RunView], np.ndarray | None]:
    def get(view: RunView) -> np.ndarray | None:
        y = view.col(name)
        return None if y is None else fn(y)

    return get


_OVERLAYS = (
    _Overlay(
        "compare_coat_weight",
        "Coat weight at the die (plant truth)",
        "coat weight (mg/cm²)",
        "Coat weight per controller",
        _conv("coat_weight_die_kg_m2", u.kg_m2_to_mg_cm2),
        "Dashed red: LSL/USL.",
    ),
    _Overlay(
        "compare_residual",
        "Residual solvent at dryer exit",
        "residual (% dry basis)",
        "Residual solvent per controller",
        _conv("exit_residual_kg_kg", u.kg_kg_to_pct),
        "Dashed red: USL.",
    ),
    _Overlay(
        "compare_max_lel",
        "Highest zone LEL vs the limit in force",
        "max zone LEL (%)",
        "Maximum zone LEL per controller versus the limit",
        _max_lel,
        "Highest of the zone LEL fractions at each time; dashed: the limit in force (red when all "
        "runs share it, else in each run's colour).",
    ),
    _Overlay(
        "compare_dryer_power",
        "Dryer power",
        "dryer power (kW)",
        "Dryer power per controller",
        _conv("dryer_power_W", u.W_to_kW),
        "Heaters plus fans; the axis is scaled to the data, not from zero.",
    ),
    _Overlay(
        "compare_speed",
        "Line speed",
        "speed (m/min)",
        "Line speed per controller with the schedule",
        _conv("speed_m_s", u.m_s_to_m_min),
        "Grey dashed: schedule target; dotted red: schedule cap (of the first run that has them).",
    ),
)


def _first_meta(views: dict[str, RunView], key: str) -> float | None:
    for v in views.values():
        f = v.meta_float(key)
        if f is not None:
            return f
    return None


def _decorate(ov: _Overlay, ax: Axes, views: dict[str, RunView], div: float) -> None:
    if ov.name == "compare_coat_weight":
        for key in ("coat_weight_lsl_kg_m2", "coat_weight_usl_kg_m2"):
            f = _first_meta(views, key)
            if f is not None:
                ax.axhline(u.kg_m2_to_mg_cm2(f), color=LIMIT_COLOR, ls="--", lw=1.1)
    elif ov.name == "compare_residual":
        f = _first_meta(views, "residual_usl_kg_kg")
        if f is not None:
            ax.axhline(u.kg_kg_to_pct(f), color=LIMIT_COLOR, ls="--", lw=1.1)
        ax.set_ylim(bottom=0.0)
    elif ov.name == "compare_max_lel":
        limits = [(v.t_s, v.col("lel_limit_frac")) for v in views.values()]
        same = all(
            lim is not None
            and len(t) == len(limits[0][0])
            and np.array_equal(t, limits[0][0])
            and np.array_equal(lim, limits[0][1], equal_nan=True)
            for t, lim in limits
        )
        if same:
            t, lim = limits[0]
            plot_steps(
                ax,
                t / div,
                u.frac_to_pct(lim),
                ls="--",
                lw=1.3,
                color=LIMIT_COLOR,
                label="limit in force",
            )
        else:
            for i, (t, lim) in enumerate(limits):
                if lim is not None:
                    plot_steps(
                        ax,
                        t / div,
                        u.frac_to_pct(lim),
                        ls="--",
                        lw=1.0,
                        color=CONTROLLER_COLORS[i % len(CONTROLLER_COLORS)],
                        alpha=0.8,
                    )
        ax.set_ylim(bottom=0.0)
    elif ov.name == "compare_speed":
        for v in views.values():
            tgt, cap = v.col("sched_speed_target_m_s"), v.col("sched_speed_cap_m_s")
            if tgt is not None or cap is not None:
                if tgt is not None:
                    plot_steps(
                        ax,
                        v.t_s / div,
                        u.m_s_to_m_min(tgt),
                        color="0.45",
                        ls="--",
                        lw=1.1,
                        label="schedule target",
                    )
                if cap is not None:
                    plot_steps(
                        ax,
                        v.t_s / div,
                        u.m_s_to_m_min(cap),
                        color=LIMIT_COLOR,
                        ls=":",
                        lw=1.2,
                        label="schedule cap",
                    )
                break


def overlay_charts(views: dict[str, RunView]) -> list[Chart | Note]:
    """The comparison overlays (coat weight, residual, max LEL vs limit, dryer power, speed)."""
    span = max((float(v.t_s[-1]) for v in views.values() if len(v.t_s)), default=0.0)
    div, tlabel = time_axis(span)
    warm = {v.warmup_s for v in views.values()}
    out: list[Chart | Note] = []
    for ov in _OVERLAYS:
        series = {name: ov.series(v) if len(v.t_s) else None for name, v in views.items()}
        if all(s is None for s in series.values()):
            out.append(Note(ov.name, ov.title, "no run has the data for this chart."))
            continue
        fig = new_figure(10.0, 3.6)
        ax = fig.add_subplot()
        if len(warm) == 1 and (w := next(iter(warm))) > 0:
            ax.axvspan(0.0, w / div, color=WARMUP_COLOR, alpha=0.6, lw=0, zorder=0, label="warm-up")
        dec = False
        missing = []
        for i, (name, y) in enumerate(series.items()):
            color = CONTROLLER_COLORS[i % len(CONTROLLER_COLORS)]
            if y is None:
                missing.append(name)
                continue
            dec |= plot_line(ax, views[name].t_s / div, y, color=color, lw=1.0, label=name)
        _decorate(ov, ax, views, div)
        ax.set_title(ov.title, fontsize=11, loc="left")
        ax.set_ylabel(ov.ylabel)
        ax.set_xlabel(tlabel)
        ax.grid(alpha=0.3)
        side_legend(ax)
        caption = ov.caption
        if missing:
            caption += " No data for: " + ", ".join(missing) + "."
        if dec:
            caption += DECIMATION_NOTE
        out.append(Chart(ov.name, ov.alt, caption, to_png(fig)))
    return out
