"""Quality charts: coat-weight I-MR chart (per metre of web or per time) and exit residual solvent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
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
    shade_time,
    side_legend,
    to_png,
)
from mpc.report._kpis import format_kpi, kpi_text
from mpc.report._series import MAX_LINE_POINTS, minmax_decimate
from mpc.report._spc import D2, D4, E2, ImrLimits, imr_limits, moving_ranges
from mpc.report._view import RunView

__all__ = ["coat_weight_spc", "residual_solvent"]

#: Colour of the I-MR centre line and control limits.
CONTROL_COLOR = "#1f3b73"


def _cap(kpis: dict[str, Any], key: str) -> str:
    return format_kpi(key, kpis.get(key))[0]


def _spec_lines(ax: Axes, lsl: float | None, usl: float | None, *, label: bool = True) -> None:
    if lsl is not None:
        ax.axhline(
            u.kg_m2_to_mg_cm2(lsl),
            color=LIMIT_COLOR,
            ls="--",
            lw=1.2,
            label="LSL" if label else None,
        )
    if usl is not None:
        ax.axhline(
            u.kg_m2_to_mg_cm2(usl),
            color=LIMIT_COLOR,
            ls="--",
            lw=1.2,
            label="USL" if label else None,
        )


@dataclass(frozen=True)
class _Individuals:
    """The points of the SPC chart and which of them are the I-MR chart's individuals."""

    x: np.ndarray  # abscissa: web position (m) or time (axis units)
    y: np.ndarray  # coat weight, mg/cm2
    scrap: np.ndarray  # per-metre scrap (all False over time)
    sample: np.ndarray  # an individual of the I-MR chart
    breaks: np.ndarray  # over the individuals: does not follow the one before (a gap)
    where: str  # what the individuals are, for the caption


def _warmup_position(view: RunView) -> float | None:
    pos = view.col("web_position_m")
    if pos is None or view.warmup_s <= 0 or not len(view.t_s):
        return None
    ok = np.isfinite(pos)
    return float(np.interp(view.warmup_s, view.t_s[ok], pos[ok]))


def _flag(pm: pd.DataFrame, name: str, default: bool) -> np.ndarray:
    if name in pm.columns:
        return pm[name].to_numpy(dtype=bool)
    return np.full(len(pm), default)


def _per_metre_individuals(pm: pd.DataFrame, warm_pos: float | None) -> _Individuals:
    """Per metre of web: the individuals are the web made after the warm-up, scrap included."""
    pm = pm.sort_values("position_m")
    x = pm["position_m"].to_numpy(dtype=float)
    y = u.kg_m2_to_mg_cm2(pd.to_numeric(pm["coat_weight_kg_m2"], errors="coerce").to_numpy(float))
    made = _flag(pm, "made", True) & ~_flag(pm, "settling", False)
    sample = made & np.isfinite(y) & (x >= warm_pos if warm_pos is not None else True)
    xs = x[sample]
    breaks = np.concatenate([[True], np.diff(xs) > 1.5]) if len(xs) else np.zeros(0, bool)
    return _Individuals(
        x, y, ~_flag(pm, "good", True), sample, breaks,
        "the coat weight of each metre of web made after the warm-up, scrap included, settling web "
        "after a restart excluded, in web order (each metre's coat weight is the die's when it "
        "was laid, interpolated between control intervals)",
    )


def _time_individuals(view: RunView, cw: np.ndarray) -> _Individuals:
    """Per control interval: the individuals are the intervals after the warm-up with the line running."""
    running = view.col("line_running")
    y = u.kg_m2_to_mg_cm2(cw)
    sample = (view.t_s > view.warmup_s) & np.isfinite(y)
    if running is not None:
        sample &= running >= 0.5
    idx = np.flatnonzero(sample)
    breaks = np.concatenate([[True], np.diff(idx) > 1]) if len(idx) else np.zeros(0, bool)
    return _Individuals(
        view.tx, y, np.zeros(len(y), bool), sample, breaks,
        "the coat weight at the die in each control interval after the warm-up with the line "
        "running (no per-metre data given: settling web after a restart is not known here)",
    )


#: Individuals outside the control limits are circled up to this many (more would hide the chart).
MAX_CIRCLED = 300


def _control_lines(ax: Axes, axmr: Axes, ind: _Individuals) -> tuple[ImrLimits | None, int, bool]:
    """Draw the I-MR centre line, control limits and the moving-range panel.

    Returns the limits, the number of individuals outside them, and whether a line was decimated.
    """
    xs, ys = ind.x[ind.sample], ind.y[ind.sample]
    lim = imr_limits(ys, ind.breaks)
    axmr.set_ylabel("moving range\n(mg/cm²)")
    axmr.grid(alpha=0.3)
    if lim is None:
        return None, 0, False
    ax.axhline(lim.centre, color=CONTROL_COLOR, lw=1.0, ls="-.", label="centre line (mean)")
    ax.axhline(lim.ucl, color=CONTROL_COLOR, lw=1.0, ls=":", label="I-MR control limits")
    ax.axhline(lim.lcl, color=CONTROL_COLOR, lw=1.0, ls=":")
    out = (ys > lim.ucl) | (ys < lim.lcl)
    if 0 < out.sum() <= MAX_CIRCLED:
        ax.plot(xs[out], ys[out], ls="none", marker="o", mfc="none", ms=5, color=LIMIT_COLOR,
                label="outside the control limits")
    mr = moving_ranges(ys, ind.breaks)
    dec = plot_line(axmr, xs, mr, color="#5b6b8c", lw=0.6)
    axmr.axhline(lim.mr_bar, color=CONTROL_COLOR, lw=1.0, ls="-.")
    axmr.axhline(lim.mr_ucl, color=CONTROL_COLOR, lw=1.0, ls=":")
    axmr.set_ylim(bottom=0.0)
    return lim, int(out.sum()), dec


def _y_range(ax: Axes, ind: _Individuals, lim: ImrLimits | None, lsl: float | None, usl: float | None) -> int:
    """Scale the y-axis to the individuals, the control and the specification limits.

    Returns how many points that are not individuals (settling web, warm-up, stops) fall off the scale.
    """
    ys = ind.y[ind.sample]
    vals = [float(np.nanmin(ys)), float(np.nanmax(ys))] if ys.size else []
    vals += [u.kg_m2_to_mg_cm2(v) for v in (lsl, usl) if v is not None]
    vals += [lim.lcl, lim.ucl] if lim is not None else []
    if not vals:
        return 0
    lo, hi = min(vals), max(vals)
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.01
    lo, hi = lo - pad, hi + pad
    ax.set_ylim(lo, hi)
    y = ind.y[~ind.sample]
    return int(((y < lo) | (y > hi)).sum())


def _histogram(ax: Axes, basis: np.ndarray, lsl: float | None, usl: float | None) -> None:
    basis = basis[np.isfinite(basis)]
    if len(basis):
        ax.hist(basis, bins=40, orientation="horizontal", color="#5b8bd0", alpha=0.85)
    _spec_lines(ax, lsl, usl, label=False)
    ax.set_xlabel("count")
    ax.tick_params(labelleft=False)
    ax.set_title("distribution", fontsize=9)


def _target(view: RunView) -> tuple[np.ndarray | None, float | None]:
    """Target coat weight (kg/m2) as a series on the run's time grid, or a constant."""
    tgt = view.col("coat_weight_target_kg_m2")
    if tgt is not None:
        return tgt, None
    return None, view.meta_float("coat_weight_target_kg_m2")


def _draw_target(ax: Axes, view: RunView, abscissa: np.ndarray | None) -> None:
    """The target line over web position or time (``abscissa``: the run's grid in the chart's unit)."""
    tgt_t, tgt_c = _target(view)
    if tgt_t is not None and abscissa is not None:
        ok = np.isfinite(abscissa) & np.isfinite(tgt_t)
        plot_steps(ax, abscissa[ok], u.kg_m2_to_mg_cm2(tgt_t[ok]), color="k", lw=1.0, label="target")
    elif tgt_t is not None:
        ax.axhline(u.kg_m2_to_mg_cm2(float(np.nanmedian(tgt_t))), color="k", lw=1.0, label="target")
    elif tgt_c is not None:
        ax.axhline(u.kg_m2_to_mg_cm2(tgt_c), color="k", lw=1.0, label="target")


def coat_weight_spc(view: RunView, per_metre: pd.DataFrame | None) -> Chart | Note:
    """I-MR (individuals / moving-range) chart of plant-truth coat weight with target, LSL/USL and Cpk.

    Per metre of web when ``per_metre`` has ``position_m`` and
    ``coat_weight_kg_m2`` (``good`` marks scrap, ``made`` / ``settling`` the
    settling web after a restart, left out of the individuals), otherwise
    per control interval over time from ``coat_weight_die_kg_m2``. Control
    limits: :func:`mpc.report._spc.imr_limits` of the individuals.
    """
    lsl = view.meta_float("coat_weight_lsl_kg_m2")
    usl = view.meta_float("coat_weight_usl_kg_m2")
    title = (
        f"Coat weight (plant truth) — Cp {_cap(view.kpis, 'coat_weight_cp')}, "
        f"Cpk {_cap(view.kpis, 'coat_weight_cpk')}, yield {kpi_text(view.kpis, 'yield_frac')}"
    )
    notes: list[str] = []
    if lsl is None or usl is None:
        notes.append(
            "Spec limits missing from meta (coat_weight_lsl_kg_m2 / coat_weight_usl_kg_m2)."
        )

    use_metre = (
        per_metre is not None
        and isinstance(per_metre, pd.DataFrame)
        and {"position_m", "coat_weight_kg_m2"} <= set(per_metre.columns)
        and len(per_metre) > 0
    )
    if per_metre is not None and not use_metre:
        notes.append(
            "per_metre given without position_m / coat_weight_kg_m2 rows: plotted per time instead."
        )
    cw_t = view.col("coat_weight_die_kg_m2")
    if not use_metre and cw_t is None:
        return Note(
            "coat_weight_spc",
            "Coat weight SPC chart",
            "No coat-weight data: neither per_metre nor the column coat_weight_die_kg_m2.",
        )

    fig = new_figure(10.0, 5.6)
    gs = fig.add_gridspec(2, 2, width_ratios=[5, 1], height_ratios=[3, 1.3])
    ax = fig.add_subplot(gs[0, 0])
    axh = fig.add_subplot(gs[0, 1], sharey=ax)
    axmr = fig.add_subplot(gs[1, 0], sharex=ax)
    decimated = False

    if use_metre:
        assert per_metre is not None
        warm_pos = _warmup_position(view)
        ind = _per_metre_individuals(per_metre, warm_pos)
        x, y = ind.x, ind.y
        if warm_pos is not None and len(x) and warm_pos > float(np.nanmin(x)):
            # per-metre data may already start after the warm-up: shade only what is shown
            ax.axvspan(float(np.nanmin(x)), warm_pos, color=WARMUP_COLOR, alpha=0.6, lw=0, zorder=0,
                       label="warm-up")
        decimated |= plot_line(
            ax,
            x,
            np.where(ind.scrap, np.nan, y),
            color="#1f77b4",
            lw=0.7,
            marker="." if len(x) <= 600 else None,
            ms=3,
            label="good web (per metre)",
        )
        for mask, marker, label in (
            (ind.scrap & ind.sample, "x", "scrap (per metre)"),
            (~ind.sample, "+", "not an individual (warm-up, settling web)"),
        ):
            if mask.any():
                xs, ys, dec = minmax_decimate(x[mask], y[mask], MAX_LINE_POINTS)
                decimated |= dec
                ax.plot(xs, ys, ls="none", marker=marker, ms=3, color="0.5", label=label)
        _draw_target(ax, view, view.col("web_position_m"))
        axmr.set_xlabel("web position (m)")
    else:
        assert cw_t is not None
        ind = _time_individuals(view, cw_t)
        shade_time(ax, view)
        shade_time(axmr, view, label=False)
        decimated |= plot_line(
            ax, view.tx, ind.y, color="#1f77b4", lw=0.9, label="coat weight at die (truth)"
        )
        meas = view.col("meas_coat_weight_kg_m2")
        if meas is not None:
            ok = np.isfinite(meas)
            xs, ys, dec = minmax_decimate(view.tx[ok], u.kg_m2_to_mg_cm2(meas[ok]), MAX_LINE_POINTS)
            decimated |= dec
            ax.plot(
                xs,
                ys,
                ls="none",
                marker=".",
                ms=2.5,
                color="#ff7f0e",
                alpha=0.7,
                label="gauge (after dryer, delayed by web travel)",
            )
        _draw_target(ax, view, view.tx)
        axmr.set_xlabel(view.t_label)

    _spec_lines(ax, lsl, usl)
    lim, n_out, dec = _control_lines(ax, axmr, ind)
    decimated |= dec
    off_scale = _y_range(ax, ind, lim, lsl, usl)
    ax.set_ylabel("coat weight (mg/cm²)")
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=7.5, frameon=False)
    _histogram(axh, ind.y[ind.sample], lsl, usl)
    png = to_png(fig)

    caption = (
        f"Individuals / moving-range (I-MR) chart. Individuals: {ind.where}. "
        "Dash-dot: centre line, the mean of the individuals; dotted: control limits, "
        f"mean ± {E2} × MR̄, MR̄ the mean moving range |xᵢ − xᵢ₋₁| of consecutive individuals "
        f"(none across a gap in the web or the time); lower panel: the moving ranges, MR̄ and their "
        f"upper control limit {D4} × MR̄. Dashed red: specification limits. "
    )
    if lim is None:
        caption += "Fewer than two consecutive individuals: no control limits. "
    else:
        caption += (
            f"{lim.n} individuals, MR̄ = {lim.mr_bar:.4f} mg/cm², control limits "
            f"{lim.lcl:.3f}–{lim.ucl:.3f} mg/cm²; {n_out} individuals outside them"
            + (" (circled). " if n_out <= MAX_CIRCLED else f" (not circled: more than {MAX_CIRCLED}). ")
        )
        short = lim.mr_bar / D2
        overall = float(np.std(ind.y[ind.sample], ddof=1))
        if short > 0:
            caption += (
                f"Overall s / short-term σ (MR̄ / {D2}) = {overall / short:.1f}: "
                + ("about 1, the variation is mostly from one sample to the next. "
                   if overall / short < 1.5 else
                   "the coat weight wanders more slowly than from one sample to the next (the samples are "
                   "autocorrelated), which control limits from the moving range flag as out of control. ")
            )
    if off_scale:
        caption += (
            f"The y-axis covers the individuals, the control and the specification limits: {off_scale} "
            "points that are not individuals (settling web, warm-up, stops) fall outside it. "
        )
    caption += (
        "Control limits say what the process does from one sample to the next; Cp/Cpk (from the "
        "KPI record) set the overall spread of all web made against the specification."
    )
    if decimated:
        caption += DECIMATION_NOTE
    if notes:
        caption += " " + " ".join(notes)
    return Chart(
        "coat_weight_spc",
        "Coat weight I-MR chart with control limits, target, LSL/USL and Cpk",
        caption,
        png,
    )


def residual_solvent(view: RunView) -> Chart | Note:
    """Residual solvent at the dryer exit (% dry basis) against its upper specification limit."""
    y = view.col("exit_residual_kg_kg")
    if y is None:
        return Note(
            "residual_solvent",
            "Residual solvent at dryer exit",
            "Column exit_residual_kg_kg missing or empty.",
        )
    usl = view.meta_float("residual_usl_kg_kg")
    fig = new_figure(10.0, 3.6)
    ax = fig.add_subplot()
    shade_time(ax, view)
    dec = plot_line(
        ax, view.tx, u.kg_kg_to_pct(y), color="#2c7d3f", lw=0.9, label="exit residual (truth)"
    )
    meas = view.col("meas_exit_residual_kg_kg")
    if meas is not None:
        ok = np.isfinite(meas)
        xs, ys, d2 = minmax_decimate(view.tx[ok], u.kg_kg_to_pct(meas[ok]))
        dec |= d2
        ax.plot(
            xs, ys, ls="none", marker=".", ms=2.5, color="#ff7f0e", alpha=0.7, label="NIR gauge"
        )
    if usl is not None:
        ax.axhline(u.kg_kg_to_pct(usl), color=LIMIT_COLOR, ls="--", lw=1.2, label="USL")
    ax.set_ylabel("residual solvent (% dry basis)")
    ax.set_xlabel(view.t_label)
    ax.set_title(
        f"Residual solvent at dryer exit — Cpk {_cap(view.kpis, 'residual_solvent_cpk')} (upper limit only)",
        fontsize=11,
        loc="left",
    )
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0.0)
    side_legend(ax)
    caption = (
        "Solvent content of the film leaving the last zone, kg solvent per kg dry coating, in %."
    )
    if usl is None:
        caption += " USL missing from meta (residual_usl_kg_kg)."
    if dec:
        caption += DECIMATION_NOTE
    return Chart(
        "residual_solvent", "Residual solvent at dryer exit versus USL", caption, png=to_png(fig)
    )
