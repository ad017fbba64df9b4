"""Headline cards of a run and the verdict line: the plant's three figures first, then production and safety.

Colours (``docs/report.md``; thresholds in :mod:`mpc.report._targets`):

* capability card: green at Cpk >= 1.33 with no scrap; any scrap (``scrap_m``
  > 0 or ``yield_frac`` < 1) makes it amber at best; red at Cpk < 1.00, at
  Cpk < 1.33 with scrap, or when the scrap is large (yield < 0.95);
* yield card: green at the yield target (>= 0.99), amber down to 0.95, red
  below or with no good web.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mpc.report import _units as u
from mpc.report._energy import energy_summary
from mpc.report._html import card, esc
from mpc.report._kpis import as_float, format_kpi, kpi_text
from mpc.report._targets import CPK_MIN, CPK_TARGET, YIELD_LARGE_SCRAP, YIELD_TARGET
from mpc.report._view import RunView
from mpc.report._violations import Verdict, targets_text

__all__ = ["capability_status", "cpk_status", "headline_cards", "verdict_html", "yield_status"]


def capability_status(cpk: float | None, yield_frac: float | None = None, scrap_m: float | None = None) -> str:
    """Card status of a capability index beside the run's scrap.

    Parameters
    ----------
    cpk : float or None
        The capability index (None: no status).
    yield_frac : float, optional
        Good web / all web assessed.
    scrap_m : float, optional
        Metres of scrap.

    Returns
    -------
    str
        ``"good"`` (Cpk >= 1.33 and no scrap), ``"warn"`` (1.00 <= Cpk < 1.33
        without scrap, or Cpk >= 1.33 with some scrap), ``"bad"`` (Cpk < 1.00,
        Cpk < 1.33 with scrap, or yield < 0.95), ``""`` without a Cpk.
    """
    if cpk is None:
        return ""
    scrap = (scrap_m is not None and scrap_m > 0) or (yield_frac is not None and yield_frac < 1.0)
    if cpk < CPK_MIN or (yield_frac is not None and yield_frac < YIELD_LARGE_SCRAP):
        return "bad"
    if scrap:
        return "warn" if cpk >= CPK_TARGET else "bad"
    return "good" if cpk >= CPK_TARGET else "warn"


def yield_status(yield_frac: float | None, no_good_web: bool = False) -> str:
    """Card status of the yield: good at the target (>= 0.99), warn down to 0.95, bad below or with no good web."""
    if no_good_web:
        return "bad"
    if yield_frac is None:
        return ""
    if yield_frac >= YIELD_TARGET:
        return "good"
    return "warn" if yield_frac >= YIELD_LARGE_SCRAP else "bad"


def _fmt(view: RunView, key: str) -> str:
    return format_kpi(key, view.kpis.get(key))[0]


_SCRAP_CAUSES = (
    ("scrap_coat_weight_m", "coat weight"),
    ("scrap_residual_m", "residual"),
    ("scrap_film_temp_m", "film temperature"),
    ("scrap_lel_m", "above the LEL limit"),
    ("scrap_settling_m", "settling after restarts"),
)


def _scrap_text(kpis: Mapping[str, Any], cause: str) -> str:
    """``"yield 98.75 % · scrap 50.0 m (coat weight 6.0 m)"``: the scrap beside a capability."""
    text = f"yield {kpi_text(kpis, 'yield_frac')} · scrap {kpi_text(kpis, 'scrap_m')}"
    if cause in kpis:
        text += f" ({dict(_SCRAP_CAUSES)[cause]} {kpi_text(kpis, cause)})"
    return text


def cpk_status(kpis: Mapping[str, Any], key: str) -> str:
    """:func:`capability_status` of a run's capability KPI ``key`` beside its yield and scrap."""
    return capability_status(
        as_float(kpis.get(key)), as_float(kpis.get("yield_frac")), as_float(kpis.get("scrap_m"))
    )


def verdict_html(verdict: Verdict, who: str = "") -> str:
    """The one-line verdict naming the fixed targets.

    A run's (``id="verdict"``), or with ``who`` a controller's in a comparison
    (``data-controller="<who>"``).
    """
    cls = "met" if verdict.met else "missed"
    attr = f'data-controller="{esc(who)}"' if who else 'id="verdict"'
    name = f"<b>{esc(who)}</b>: " if who else "<b>Verdict:</b> "
    targets = "" if who else f" <small>(targets: {esc(targets_text())})</small>"
    return (
        f'<p class="verdict {cls}" {attr} data-met="{str(verdict.met).lower()}">{name}'
        f"{esc(verdict.text)}{targets}</p>"
    )


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
            f"Cp {_fmt(view, 'coat_weight_cp')} · {spec} · {_scrap_text(k, 'scrap_coat_weight_m')}",
            cpk_status(k, "coat_weight_cpk"),
        )
    )
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
            f"{rsub} · {_scrap_text(k, 'scrap_residual_m')}",
            cpk_status(k, "residual_solvent_cpk"),
        )
    )
    no_good = bool(k.get("no_good_web"))
    causes = ", ".join(
        f"{word} {_fmt(view, key)} m" for key, word in _SCRAP_CAUSES if (as_float(k.get(key)) or 0.0) > 0
    )
    ysub = f"good {_fmt(view, 'good_m')} m of {_fmt(view, 'total_m')} m after warm-up"
    if causes:
        ysub += f" · scrap by cause (a metre may have several): {causes}"
    cards.append(
        card(
            "yield_frac",
            "Yield",
            _fmt(view, "yield_frac"),
            "%",
            ysub,
            yield_status(as_float(k.get("yield_frac")), no_good),
        )
    )
    cards.append(
        card(
            "energy_kwh_per_kwh_cell",
            "Dryer energy per kWh of cell",
            _fmt(view, "energy_kwh_per_kwh_cell"),
            "kWh/kWh cell",
            energy_summary(k, view.meta),
            "info wide",
        )
    )
    cards.append(
        card(
            "resistance_proxy_cv",
            "Cell-resistance proxy spread",
            _fmt(view, "resistance_proxy_cv"),
            "% CV",
            "good web; end-of-line resistance proxy model (not a measurement)",
            "info",
        )
    )
    good = as_float(k.get("good_m2"))
    no_good = no_good or (good is not None and good <= 0)
    gsub = f"scrap {_fmt(view, 'scrap_m')} m of web"
    if no_good:
        gsub = "no good web (fewer than 2 good metres) · " + gsub
    cards.append(card("good_m2", "Good electrode", _fmt(view, "good_m2"), "m²", gsub, "bad" if no_good else ""))
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
