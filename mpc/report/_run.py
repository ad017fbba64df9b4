"""The run report: one self-contained HTML page (plus its PNG charts) for one closed-loop run."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mpc.report._cards import headline_cards, verdict_html
from mpc.report._charts_dryer import dryer_energy, film_temperatures, zone_lel
from mpc.report._charts_inputs import controller_health, manipulated_variables, schedule
from mpc.report._charts_quality import coat_weight_spc, residual_solvent
from mpc.report._energy import energy_table
from mpc.report._figure import Chart, Note
from mpc.report._html import chart_block, page, section
from mpc.report._output import REPORT_NAME, report_folder
from mpc.report._tables import health_table, kpi_table, metadata_footer
from mpc.report._view import RunView, check_ts, make_view
from mpc.report._violations import run_verdict

if TYPE_CHECKING:
    from mpc.outputs import OutputFolder

__all__ = ["CHART_NAMES", "RUN_REPORT_FILES", "render_run_charts", "write_run_report"]

#: File stems of every chart a run report may write (``<name>.png``).
CHART_NAMES: tuple[str, ...] = (
    "coat_weight_spc",
    "residual_solvent",
    "zone_lel",
    "film_temperature",
    "dryer_energy",
    "manipulated_variables",
    "schedule",
    "controller_health",
)

#: Every file a run report may write: ``report.html`` and its charts.
RUN_REPORT_FILES: tuple[str, ...] = (REPORT_NAME, *(f"{n}.png" for n in CHART_NAMES))


def _safe(fn: Callable[[], Chart | Note], name: str, title: str) -> Chart | Note:
    """Draw one chart; an unexpected data problem becomes a note, never a crashed report."""
    try:
        return fn()
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        return Note(
            name, title, f"could not be drawn from this data ({type(exc).__name__}: {exc})."
        )


def render_run_charts(view: RunView, per_metre: pd.DataFrame | None) -> dict[str, Chart | Note]:
    """Every chart of a run report, by name (a :class:`Note` where a chart is skipped)."""
    makers: list[tuple[str, str, Callable[[], Chart | Note]]] = [
        ("coat_weight_spc", "Coat weight SPC chart", lambda: coat_weight_spc(view, per_metre)),
        ("residual_solvent", "Residual solvent", lambda: residual_solvent(view)),
        ("zone_lel", "Zone LEL fractions", lambda: zone_lel(view)),
        ("film_temperature", "Film temperatures", lambda: film_temperatures(view)),
        ("dryer_energy", "Dryer energy", lambda: dryer_energy(view)),
        ("manipulated_variables", "Manipulated variables", lambda: manipulated_variables(view)),
        ("schedule", "Announced schedule", lambda: schedule(view)),
        ("controller_health", "Controller step time", lambda: controller_health(view)),
    ]
    if len(view.t_s) == 0:
        return {n: Note(n, t, "the time series has no rows.") for n, t, _ in makers}
    return {n: _safe(f, n, t) for n, t, f in makers}


def _title(kpis: Mapping[str, Any], meta: Mapping[str, Any]) -> tuple[str, str]:
    scen = meta.get("scenario", kpis.get("scenario", "?"))
    ctrl = meta.get("controller", kpis.get("controller", "?"))
    preset = meta.get("preset", kpis.get("preset", "?"))
    dur = kpis.get("duration_s")
    sub = f"scenario {scen} · controller {ctrl} · preset {preset}"
    if isinstance(dur, int | float):
        sub += f" · {float(dur) / 3600.0:.2f} h simulated"
    warm = meta.get("warmup_s")
    if isinstance(warm, int | float) and warm > 0:
        sub += (f" · warm-up {float(warm):.0f} s (shaded grey on time charts; quality and energy KPIs "
                "start after it, safety KPIs cover the whole run)")
    return f"calmline run report — {scen} · {ctrl} · {preset}", sub


def write_run_report(
    out_dir: str | os.PathLike[str] | OutputFolder,
    ts: pd.DataFrame,
    kpis: Mapping[str, Any],
    meta: Mapping[str, Any],
    per_metre: pd.DataFrame | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the self-contained HTML report of one run, and its charts as PNG files.

    The page opens with the verdict on the fixed targets
    (:func:`mpc.report.run_verdict`), then the headline cards, the charts
    and every KPI (``docs/report.md``).

    Parameters
    ----------
    out_dir : path-like or mpc.outputs.OutputFolder
        Folder for ``report.html`` and ``<chart>.png`` (created if missing),
        or the output folder of a command that writes the report among its
        files.
    ts : pandas.DataFrame
        The run's time series, indexed by ``time_s`` (float s), columns with
        units in their names (plant truth, applied inputs, measurements,
        limits and schedule, controller health). Missing optional columns
        skip their chart with a note.
    kpis : mapping
        The run's KPI record (SI values, units in key names); every key is
        listed in the KPI table.
    meta : mapping
        ``scenario``, ``controller``, ``preset``, spec limits
        (``coat_weight_lsl_kg_m2``, ``coat_weight_usl_kg_m2``,
        ``residual_usl_kg_kg``, ``film_temp_max_K``), ``warmup_s``, seeds,
        versions; a ``per_metre`` DataFrame here is used when the argument
        is not given.
    per_metre : pandas.DataFrame, optional
        Per-metre samples (``position_m``, ``coat_weight_kg_m2``,
        ``residual_kg_kg``, ``good``): the SPC chart is then drawn per metre
        of web, the KPI basis; otherwise per control interval over time.
    overwrite : bool
        Write into a folder that already holds files, replacing only the
        report files calmline wrote there (:mod:`mpc.outputs`); by default a
        folder holding files is refused.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    OutputExistsError
        (a ``FileExistsError``) If ``out_dir`` holds files and ``overwrite``
        is False, or a report file there is not calmline's or was edited.
    TypeError
        If ``ts`` is not a DataFrame indexed by time in seconds.

    Examples
    --------
    >>> from mpc.report import write_run_report
    >>> path = write_run_report("runs/nominal/nmpc", ts, kpis, meta)  # doctest: +SKIP
    """
    ts = check_ts(ts)
    kpis = dict(kpis)
    meta = dict(meta)
    if per_metre is None and isinstance(meta.get("per_metre"), pd.DataFrame):
        per_metre = meta["per_metre"]
    with report_folder(out_dir, RUN_REPORT_FILES, overwrite) as out:
        view = make_view(ts, kpis, meta)
        charts = render_run_charts(view, per_metre)
        for item in charts.values():
            if isinstance(item, Chart):
                out.write_bytes(f"{item.name}.png", item.png)
        return out.write_bytes(REPORT_NAME, _page(view, charts, kpis, meta).encode("utf-8"))


def _page(view: RunView, charts: Mapping[str, Chart | Note], kpis: dict[str, Any], meta: dict[str, Any]) -> str:
    """The report page's HTML."""
    c = charts
    body = "".join(
        [
            verdict_html(run_verdict(kpis, view.ts)),
            section("Headline", headline_cards(view), "headline"),
            section(
                "Quality",
                chart_block(c["coat_weight_spc"]) + chart_block(c["residual_solvent"]),
                "quality",
            ),
            section(
                "Dryer safety",
                chart_block(c["zone_lel"]) + chart_block(c["film_temperature"]),
                "safety",
            ),
            section("Energy", energy_table(kpis, meta) + chart_block(c["dryer_energy"]), "energy"),
            section("Manipulated variables", chart_block(c["manipulated_variables"]), "inputs"),
            section("Announced schedule", chart_block(c["schedule"]), "schedule"),
            section(
                "Controller health",
                health_table(kpis) + chart_block(c["controller_health"]),
                "health",
            ),
            section("All KPIs", kpi_table(kpis), "kpis"),
        ]
    )
    title, subtitle = _title(kpis, meta)
    return page(title, subtitle, body, metadata_footer(meta))
