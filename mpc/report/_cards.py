"""Headline cards of a run: the plant's three figures first, then production and safety."""

from __future__ import annotations

import numpy as np

from mpc.report import _units as u
from mpc.report._html import card
from mpc.report._kpis import as_float, format_kpi
from mpc.report._view import RunView

__all__ = ["CPK_GOOD", "CPK_MIN", "capability_status", "headline_cards"]

#: Capability thresholds for the card colours (common industry practice).
CPK_GOOD = 1.33
CPK_MIN = 1.0


def capability_status(cpk: float | None) -> str:
    """Card status of a capability index: good >= 1.33, warn >= 1.00, bad below."""
    if cpk is None:
        return ""
    return "good" if cpk >= CPK_GOOD else ("warn" if cpk >= CPK_MIN else "bad")


def _fmt(view: RunView, key: str) -> str:
    return format_kpi(key, view.kpis.get(key))[0]


def _lel_use(view: RunView) -> tuple[str, float | None]:
    """Limit-in-force range text and the peak of (max zone LEL / limit in force)."""
    lim = view.col("lel_limit_frac")
    if lim is None:
        return "limit not recorded", None
    lo, hi = float(np.nanmin(lim)), float(np.nanmax(lim))
    rng = (
        f"{u.frac_to_pct(lo):.0f} %"
        if lo == hi
        else f"{u.frac_to_pct(lo):.0f}–{u.frac_to_pct(hi):.0f} %"
    )
    zones = [view.col(f"zone{z}_lel_frac") for z in view.zones]
    zones = [z for z in zones if z is not None]
    if not zones:
        return f"limit in force {rng}", None
    peak = np.nanmax(np.vstack(zones), axis=0)
    if not np.nanmax(np.abs(peak)) > 0:
        return "non-flammable solvent: no LEL (see exhaust humidity)", None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lim > 0, peak / lim, np.nan)
    use = float(np.nanmax(ratio)) if np.isfinite(ratio).any() else None
    return f"limit in force {rng}", use


def headline_cards(view: RunView) -> str:
    """HTML of the headline cards (``<div class="cards">``)."""
    k = view.kpis
    cards: list[str] = []

    cpk = as_float(k.get("coat_weight_cpk"))
    lsl, usl = view.meta_float("coat_weight_lsl_kg_m2"), view.meta_float("coat_weight_usl_kg_m2")
    spec = (
        f"spec {u.kg_m2_to_mg_cm2(lsl):.2f}–{u.kg_m2_to_mg_cm2(usl):.2f} mg/cm²"
        if lsl is not None and usl is not None
        else "spec limits not given"
    )
    cards.append(
        card(
            "coat_weight_cpk",
            "Coat weight Cpk",
            _fmt(view, "coat_weight_cpk"),
            "",
            f"Cp {_fmt(view, 'coat_weight_cp')} · {spec}",
            capability_status(cpk),
        )
    )
    rcpk = as_float(k.get("residual_solvent_cpk"))
    rusl = view.meta_float("residual_usl_kg_kg")
    rsub = (
        f"upper limit only · USL {u.kg_kg_to_pct(rusl):.2f} % dry basis"
        if rusl is not None
        else "upper limit only"
    )
    cards.append(
        card(
            "residual_solvent_cpk",
            "Residual solvent Cpk",
            _fmt(view, "residual_solvent_cpk"),
            "",
            rsub,
            capability_status(rcpk),
        )
    )
    cards.append(
        card(
            "energy_kwh_per_kwh_cell",
            "Dryer energy per kWh of cell",
            _fmt(view, "energy_kwh_per_kwh_cell"),
            "kWh/kWh cell",
            f"{_fmt(view, 'energy_kwh_per_m2')} kWh per m² good electrode",
            "info",
        )
    )
    cards.append(
        card(
            "resistance_proxy_cv",
            "Cell-resistance proxy spread",
            _fmt(view, "resistance_proxy_cv"),
            "% CV",
            "end-of-line resistance proxy model (not a measurement)",
            "info",
        )
    )
    good = as_float(k.get("good_m2"))
    no_good = bool(k.get("no_good_web")) or (good is not None and good <= 0)
    gstatus = "bad" if no_good else ""
    gsub = f"scrap {_fmt(view, 'scrap_m')} m of web"
    if no_good:
        gsub = "no good web: capability has no basis · " + gsub
    cards.append(card("good_m2", "Good electrode", _fmt(view, "good_m2"), "m²", gsub, gstatus))
    cards.append(
        card(
            "throughput_m2_h",
            "Throughput",
            _fmt(view, "throughput_m2_h"),
            "m²/h",
            "good electrode per hour of run",
            "",
        )
    )
    above = as_float(k.get("time_above_lel_limit_s"))
    lim_text, use = _lel_use(view)
    lsub = f"{lim_text} · {_fmt(view, 'time_above_lel_limit_s')} s above it"
    if use is not None:
        lsub += f" · peak {u.frac_to_pct(use):.0f} % of limit"
    if above is not None and above > 0:
        lstatus = "bad"
    elif use is not None:
        lstatus = "bad" if use > 1.0 else ("warn" if use > 0.9 else "good")
    else:
        lstatus = ""
    cards.append(
        card(
            "max_lel_fraction",
            "Max zone LEL",
            _fmt(view, "max_lel_fraction"),
            "% LEL",
            lsub,
            lstatus,
        )
    )
    return '<div class="cards">' + "".join(cards) + "</div>"
