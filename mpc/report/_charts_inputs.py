"""Input-side charts: manipulated variables, the announced schedule, controller health."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes

from mpc.report import _units as u
from mpc.report._charts_dryer import zone_colors
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
from mpc.report._view import RunView

__all__ = ["controller_health", "manipulated_variables", "schedule"]

# A panel draws onto an axis and returns (drew_something, decimated).
Panel = Callable[[Axes], tuple[bool, bool]]


def _speed_panel(view: RunView) -> Panel | None:
    v = view.col("speed_m_s")
    tgt = view.col("sched_speed_target_m_s")
    cap = view.col("sched_speed_cap_m_s")
    if v is None and tgt is None and cap is None:
        return None

    def draw(ax: Axes) -> tuple[bool, bool]:
        dec = False
        if v is not None:
            dec |= plot_line(
                ax, view.tx, u.m_s_to_m_min(v), color="k", lw=1.1, label="applied speed"
            )
        if tgt is not None:
            plot_steps(
                ax,
                view.tx,
                u.m_s_to_m_min(tgt),
                color="#1f77b4",
                ls="--",
                lw=1.1,
                label="schedule target",
            )
        if cap is not None:
            plot_steps(
                ax,
                view.tx,
                u.m_s_to_m_min(cap),
                color=LIMIT_COLOR,
                ls=":",
                lw=1.3,
                label="schedule cap",
            )
        ax.set_ylabel("speed\n(m/min)")
        return True, dec

    return draw


def _single_panel(
    view: RunView, name: str, conv: Callable, ylabel: str, label: str
) -> Panel | None:
    y = view.col(name)
    if y is None:
        return None

    def draw(ax: Axes) -> tuple[bool, bool]:
        dec = plot_line(ax, view.tx, conv(y), color="k", lw=1.0, label=label)
        ax.set_ylabel(ylabel)
        return True, dec

    return draw


def _zone_panel(
    view: RunView, pattern: str, conv: Callable, ylabel: str, dashed: str | None = None
) -> Panel | None:
    cols = {z: view.col(pattern.format(z=z)) for z in view.zones}
    cols = {z: c for z, c in cols.items() if c is not None}
    if not cols:
        return None
    colors = dict(zip(view.zones, zone_colors(len(view.zones)), strict=True))

    def draw(ax: Axes) -> tuple[bool, bool]:
        dec = has_dashed = False
        for z, y in cols.items():
            dec |= plot_line(ax, view.tx, conv(y), color=colors[z], lw=1.0, label=f"zone {z}")
            if dashed is not None:
                d = view.col(dashed.format(z=z))
                if d is not None:
                    dec |= plot_line(ax, view.tx, conv(d), color=colors[z], lw=0.8, ls="--")
                    has_dashed = True
        if has_dashed:
            ax.plot([], [], color="0.4", lw=0.8, ls="--", label="delivered (dashed)")
        ax.set_ylabel(ylabel)
        return True, dec

    return draw


def _stack(
    view: RunView, panels: list[tuple[str, Panel | None]], title: str
) -> tuple[bytes, bool, list[str]]:
    present = [(n, p) for n, p in panels if p is not None]
    missing = [n for n, p in panels if p is None]
    fig = new_figure(10.0, 0.7 + 1.85 * len(present))
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    dec = False
    for i, (ax, (_, draw)) in enumerate(zip(axes, present, strict=True)):
        shade_time(ax, view, label=(i == 0))
        _, d = draw(ax)
        dec |= d
        ax.grid(alpha=0.3)
        side_legend(ax)
    axes[0].set_title(title, fontsize=11, loc="left")
    axes[-1].set_xlabel(view.t_label)
    return to_png(fig), dec, missing


def manipulated_variables(view: RunView) -> Chart | Note:
    """Applied inputs: speed with schedule target and cap, pump flow, nozzle velocity, heaters, exhaust."""
    panels: list[tuple[str, Panel | None]] = [
        ("speed (speed_m_s / sched_speed_*)", _speed_panel(view)),
        (
            "pump flow (pump_flow_cmd_m3_s)",
            _single_panel(
                view,
                "pump_flow_cmd_m3_s",
                u.m3_s_to_l_min,
                "pump flow\n(L/min)",
                "pump flow command",
            ),
        ),
        (
            "nozzle velocity (zone{i}_nozzle_velocity_cmd_m_s)",
            _zone_panel(
                view,
                "zone{z}_nozzle_velocity_cmd_m_s",
                lambda x: x,
                "nozzle velocity\n(m/s)",
                dashed="zone{z}_nozzle_velocity_m_s",
            ),
        ),
        (
            "heater power (zone{i}_heater_power_cmd_W)",
            _zone_panel(
                view, "zone{z}_heater_power_cmd_W", u.W_to_kW, "heater power\ncommand (kW)"
            ),
        ),
        (
            "exhaust flow (zone{i}_exhaust_flow_m3_s)",
            _zone_panel(view, "zone{z}_exhaust_flow_m3_s", lambda x: x, "exhaust flow\n(m³/s)"),
        ),
    ]
    if all(p is None for _, p in panels):
        return Note(
            "manipulated_variables",
            "Manipulated variables",
            "No applied-input columns in the time series.",
        )
    png, dec, missing = _stack(view, panels, "Manipulated variables (applied inputs)")
    caption = (
        "Speed in m/min with the announced target (dashed) and cap (dotted red); nozzle velocity: "
        "solid the command, dashed the delivered velocity (they part when fans foul)."
    )
    if missing:
        caption += " Not shown (columns missing): " + "; ".join(missing) + "."
    if dec:
        caption += DECIMATION_NOTE
    return Chart("manipulated_variables", "Manipulated variables over time", caption, png)


def schedule(view: RunView) -> Chart | Note:
    """The announced production schedule: speed target and cap, coat-weight target, line stops."""
    tgt = view.col("sched_speed_target_m_s")
    cap = view.col("sched_speed_cap_m_s")
    cw = view.col("coat_weight_target_kg_m2")

    def speed(ax: Axes) -> tuple[bool, bool]:
        if tgt is not None:
            plot_steps(
                ax, view.tx, u.m_s_to_m_min(tgt), color="#1f77b4", lw=1.3, label="speed target"
            )
        if cap is not None:
            plot_steps(
                ax,
                view.tx,
                u.m_s_to_m_min(cap),
                color=LIMIT_COLOR,
                ls=":",
                lw=1.3,
                label="speed cap",
            )
        ax.set_ylabel("speed\n(m/min)")
        ax.set_ylim(bottom=0.0)
        return True, False

    def coat(ax: Axes) -> tuple[bool, bool]:
        assert cw is not None
        plot_steps(
            ax, view.tx, u.kg_m2_to_mg_cm2(cw), color="k", lw=1.3, label="coat-weight target"
        )
        ax.set_ylabel("coat weight\n(mg/cm²)")
        return True, False

    panels: list[tuple[str, Panel | None]] = [
        (
            "speed target/cap (sched_speed_target_m_s / sched_speed_cap_m_s)",
            speed if (tgt is not None or cap is not None) else None,
        ),
        ("coat-weight target (coat_weight_target_kg_m2)", coat if cw is not None else None),
    ]
    if all(p is None for _, p in panels):
        return Note(
            "schedule",
            "Announced schedule",
            "No schedule columns (sched_speed_*, coat_weight_target_kg_m2).",
        )
    png, _, missing = _stack(view, panels, "Announced production schedule")
    caption = (
        "What the plan announced ahead (controllers may read it); the target is what the plan asks "
        "for, not a floor, and the line never runs above the cap. Line stops shaded."
    )
    if missing:
        caption += " Not shown (columns missing): " + "; ".join(missing) + "."
    return Chart("schedule", "Announced production schedule", caption, png)


def controller_health(view: RunView) -> Chart | Note:
    """Controller step time over the run, with median/p95 lines and solver failures/fallbacks marked."""
    st = view.col("step_time_ms")
    if st is None:
        return Note(
            "controller_health", "Controller step time", "Column step_time_ms missing or empty."
        )
    fig = new_figure(10.0, 3.2)
    ax = fig.add_subplot()
    shade_time(ax, view)
    dec = plot_line(ax, view.tx, st, color="0.3", lw=0.7, label="step time")
    fin = st[np.isfinite(st)]
    med = float(np.median(fin)) if len(fin) else np.nan
    p95 = float(np.percentile(fin, 95)) if len(fin) else np.nan
    if np.isfinite(med):
        ax.axhline(med, color="#1f77b4", lw=1.0, ls="--", label=f"median {med:.2f} ms")
        ax.axhline(p95, color="#ff7f0e", lw=1.0, ls="--", label=f"p95 {p95:.2f} ms")
    if len(fin) and med > 0 and float(fin.max()) / med > 30.0:
        ax.set_yscale("log")
    top = float(np.nanmax(st)) if len(fin) else 1.0
    for name, color, marker, label in (
        ("solver_failure", LIMIT_COLOR, "x", "solver failure"),
        ("fallback", "#9467bd", "v", "fallback"),
    ):
        flag = view.col(name)
        if flag is not None and (flag > 0.5).any():
            ax.plot(
                view.tx[flag > 0.5],
                np.full(int((flag > 0.5).sum()), top),
                ls="none",
                marker=marker,
                color=color,
                ms=5,
                label=label,
            )
    ax.set_ylabel("step time (ms)")
    ax.set_xlabel(view.t_label)
    ax.set_title(
        "Controller step time (machine noise: compare only on one machine)", fontsize=11, loc="left"
    )
    ax.grid(alpha=0.3)
    side_legend(ax)
    caption = (
        "Wall-clock time of each controller step; median and p95 over the whole run. "
        "Solver failures and fallbacks marked at the top."
    )
    if dec:
        caption += DECIMATION_NOTE
    return Chart(
        "controller_health",
        "Controller step time with failures and fallbacks",
        caption,
        to_png(fig),
    )
