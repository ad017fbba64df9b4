"""Quality charts: coat-weight SPC chart (per metre of web or per time) and exit residual solvent."""

from __future__ import annotations

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
from mpc.report._kpis import format_kpi
from mpc.report._series import MAX_LINE_POINTS, minmax_decimate
from mpc.report._view import RunView

__all__ = ["coat_weight_spc", "residual_solvent"]


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


def _stats_lines(ax: Axes, basis: np.ndarray) -> None:
    """Mean and +/- 3 s of the capability basis (overall s, ddof 1: the Ppk basis)."""
    basis = basis[np.isfinite(basis)]
    if len(basis) < 2:
        return
    m, s = float(basis.mean()), float(basis.std(ddof=1))
    ax.axhline(m, color="#1f3b73", lw=1.0, ls="-.", label="mean (capability basis)")
    for v in (m - 3 * s, m + 3 * s):
        ax.axhline(v, color="#1f3b73", lw=0.8, ls=":")


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


def coat_weight_spc(view: RunView, per_metre: pd.DataFrame | None) -> Chart | Note:
    """SPC (individuals) chart of plant-truth coat weight with target, LSL/USL and Cpk.

    Per metre of web when ``per_metre`` has ``position_m`` and
    ``coat_weight_kg_m2`` (the KPI basis; ``good`` marks scrap), otherwise per
    control interval over time from ``coat_weight_die_kg_m2``.
    """
    lsl = view.meta_float("coat_weight_lsl_kg_m2")
    usl = view.meta_float("coat_weight_usl_kg_m2")
    title = (
        f"Coat weight (plant truth) — Cp {_cap(view.kpis, 'coat_weight_cp')}, "
        f"Cpk {_cap(view.kpis, 'coat_weight_cpk')}"
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

    fig = new_figure(10.0, 4.4)
    gs = fig.add_gridspec(1, 2, width_ratios=[5, 1])
    ax = fig.add_subplot(gs[0, 0])
    axh = fig.add_subplot(gs[0, 1], sharey=ax)
    decimated = False

    if use_metre:
        assert per_metre is not None
        pm = per_metre.sort_values("position_m")
        x = pm["position_m"].to_numpy(dtype=float)
        y = u.kg_m2_to_mg_cm2(
            pd.to_numeric(pm["coat_weight_kg_m2"], errors="coerce").to_numpy(float)
        )
        good = pm["good"].to_numpy(dtype=bool) if "good" in pm.columns else np.ones(len(x), bool)
        pos = view.col("web_position_m")
        warm_pos = None
        if pos is not None and view.warmup_s > 0 and len(view.t_s):
            ok = np.isfinite(pos)
            warm_pos = float(np.interp(view.warmup_s, view.t_s[ok], pos[ok]))
        if warm_pos is not None and len(x) and warm_pos > float(np.nanmin(x)):
            # per-metre data may already start after the warm-up: shade only what is shown
            ax.axvspan(
                float(np.nanmin(x)),
                warm_pos,
                color=WARMUP_COLOR,
                alpha=0.6,
                lw=0,
                zorder=0,
                label="warm-up",
            )
        basis_mask = good & (x >= warm_pos if warm_pos is not None else True)
        yg = np.where(good, y, np.nan)
        decimated |= plot_line(
            ax,
            x,
            yg,
            color="#1f77b4",
            lw=0.7,
            marker="." if len(x) <= 600 else None,
            ms=3,
            label="good web (per metre)",
        )
        if (~good).any():
            xs, ys, dec = minmax_decimate(x[~good], y[~good], MAX_LINE_POINTS)
            decimated |= dec
            ax.plot(xs, ys, ls="none", marker="x", ms=3, color="0.5", label="scrap (per metre)")
        tgt_t, tgt_c = _target(view)
        if tgt_t is not None and pos is not None:
            ok = np.isfinite(pos) & np.isfinite(tgt_t)
            plot_steps(ax, pos[ok], u.kg_m2_to_mg_cm2(tgt_t[ok]), color="k", lw=1.0, label="target")
        elif tgt_t is not None:
            ax.axhline(
                u.kg_m2_to_mg_cm2(float(np.nanmedian(tgt_t))), color="k", lw=1.0, label="target"
            )
        elif tgt_c is not None:
            ax.axhline(u.kg_m2_to_mg_cm2(tgt_c), color="k", lw=1.0, label="target")
        ax.set_xlabel("web position (m)")
        basis = y[basis_mask]
        where = "per metre of web, the KPI basis"
    else:
        assert cw_t is not None
        shade_time(ax, view)
        y = u.kg_m2_to_mg_cm2(cw_t)
        decimated |= plot_line(
            ax, view.tx, y, color="#1f77b4", lw=0.9, label="coat weight at die (truth)"
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
        tgt_t, tgt_c = _target(view)
        if tgt_t is not None:
            plot_steps(ax, view.tx, u.kg_m2_to_mg_cm2(tgt_t), color="k", lw=1.0, label="target")
        elif tgt_c is not None:
            ax.axhline(u.kg_m2_to_mg_cm2(tgt_c), color="k", lw=1.0, label="target")
        ax.set_xlabel(view.t_label)
        running = view.col("line_running")
        mask = view.t_s >= view.warmup_s
        if running is not None:
            mask &= running >= 0.5
        basis = y[mask]
        where = "per control interval over time (no per-metre data given)"

    _spec_lines(ax, lsl, usl)
    _stats_lines(ax, basis)
    ax.set_ylabel("coat weight (mg/cm²)")
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=7, fontsize=7.5, frameon=False)
    _histogram(axh, basis, lsl, usl)
    png = to_png(fig)

    caption = (
        f"Individuals chart of coat weight, {where}. Dashed red: specification limits; "
        "dash-dot: mean, dotted: mean ± 3 s (overall s, ddof = 1 — the Ppk basis) of the web "
        "the capability is computed on (good web after warm-up). Cp/Cpk from the KPI record."
    )
    if decimated:
        caption += DECIMATION_NOTE
    if notes:
        caption += " " + " ".join(notes)
    return Chart(
        "coat_weight_spc", "Coat weight SPC chart with target, LSL/USL and Cpk", caption, png
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
