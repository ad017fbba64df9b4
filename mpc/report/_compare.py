"""The comparison report: controllers side by side on one scenario."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from mpc.report._cards import cpk_status, verdict_html, yield_status
from mpc.report._charts_compare import COMPARE_CHART_NAMES, overlay_charts
from mpc.report._figure import Chart, Note
from mpc.report._html import card, chart_block, esc, page, section
from mpc.report._kpis import (
    as_float,
    direction_name,
    format_kpi,
    kpi_direction,
    kpi_groups,
    kpi_spec,
    ordered_keys,
)
from mpc.report._output import REPORT_NAME, report_folder
from mpc.report._run import RUN_REPORT_FILES, write_run_report
from mpc.report._tables import metadata_footer
from mpc.report._view import RunView, check_ts, make_view
from mpc.report._violations import Verdict, run_verdict, targets_text

if TYPE_CHECKING:
    from mpc.outputs import OutputFolder

__all__ = [
    "COMPARE_REPORT_FILES",
    "VERDICT_COLUMNS",
    "VIOLATION_COLUMNS",
    "best_per_kpi",
    "comparison_table",
    "write_compare_report",
]

#: The columns :func:`comparison_table` adds beside the KPIs for what a run broke.
VIOLATION_COLUMNS: tuple[str, ...] = ("violation", "violation_reason")
#: The columns :func:`comparison_table` adds beside the KPIs for the verdict on the fixed targets.
VERDICT_COLUMNS: tuple[str, ...] = ("targets_met", "targets_missed")
_ADDED_COLUMNS = (*VIOLATION_COLUMNS, *VERDICT_COLUMNS)

#: Every file a comparison report may write beside each controller's own report.
COMPARE_REPORT_FILES: tuple[str, ...] = (REPORT_NAME, *(f"{n}.png" for n in COMPARE_CHART_NAMES))

#: A run as passed in: (ts, kpis, meta) or (ts, kpis, meta, per_metre).
Run = tuple[Any, ...]

_CARD_KEYS = (
    "coat_weight_cpk",
    "residual_solvent_cpk",
    "yield_frac",
    "energy_kwh_per_kwh_cell",
    "resistance_proxy_cv",
)


def _unpack(
    name: str, run: Any
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any], pd.DataFrame | None]:
    if not isinstance(run, tuple | list) or len(run) not in (3, 4):
        raise TypeError(
            f"runs[{name!r}]: expected a tuple (ts, kpis, meta) or (ts, kpis, meta, per_metre), "
            f"got {type(run).__name__}"
        )
    ts, kpis, meta = run[0], run[1], run[2]
    per_metre = run[3] if len(run) == 4 else None
    if not isinstance(kpis, Mapping) or not isinstance(meta, Mapping):
        raise TypeError(f"runs[{name!r}]: kpis and meta must be dicts")
    return check_ts(ts, f"runs[{name!r}] ts"), dict(kpis), dict(meta), per_metre


def _check_runs(runs: Any) -> None:
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs: expected a non-empty dict {controller name: (ts, kpis, meta)}")


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Each column in its own type: numbers numeric, booleans boolean (nullable when one is missing), text text."""
    out = table.copy()
    for col in out.columns:
        values = [v for v in out[col] if not (isinstance(v, float) and math.isnan(v)) and v is not None]
        if values and all(isinstance(v, bool | np.bool_) for v in values):
            out[col] = out[col].astype("boolean" if len(values) < len(out) else bool)
        elif values and all(isinstance(v, int | float | np.integer | np.floating) for v in values):
            out[col] = pd.to_numeric(out[col])
    return out


def comparison_table(runs: Mapping[str, Run]) -> pd.DataFrame:
    """KPIs of several runs, one row per controller.

    Parameters
    ----------
    runs : mapping
        ``{controller name: (ts, kpis, meta)}`` (a 4th element, ``per_metre``,
        is allowed and ignored here).

    Returns
    -------
    pandas.DataFrame
        One row per controller in the given order; columns ``controller``,
        ``violation`` (bool: the run spent time above the LEL limit in force
        or made no good web), ``violation_reason`` (text, empty when none;
        see :func:`mpc.report.run_violations`), ``targets_met`` (bool: every
        fixed target of :data:`mpc.report.TARGETS` met), ``targets_missed``
        (text, empty when met; see :func:`mpc.report.run_verdict`), then one column per KPI key
        (run identity, headline KPIs, then the rest in first-seen order; the
        record's own ``controller`` key is the row's name). Values as stored
        (SI, units in the key names), each column in its own type (numbers
        numeric, booleans boolean, text only where it is text); a KPI a run
        lacks is missing (NaN).
    """
    _check_runs(runs)
    records: dict[str, tuple[Any, Mapping[str, Any]]] = {}
    for name, run in runs.items():
        if not isinstance(run, tuple | list) or len(run) < 2 or not isinstance(run[1], Mapping):
            raise TypeError(f"runs[{name!r}]: expected a tuple (ts, kpis, meta) with kpis a dict")
        ts = run[0] if isinstance(run[0], pd.DataFrame) else None
        records[str(name)] = (ts, run[1])
    keys = [k for k in ordered_keys(k for _, rec in records.values() for k in rec) if k != "controller"]
    rows = []
    for name, (ts, rec) in records.items():
        verdict = run_verdict(rec, ts)
        row: dict[str, Any] = {
            "controller": name,
            "violation": bool(verdict.violations),
            "violation_reason": "; ".join(verdict.violations),
            "targets_met": verdict.met,
            "targets_missed": "; ".join(verdict.missed),
        }
        row.update({k: rec.get(k, math.nan) for k in keys})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["controller", *_ADDED_COLUMNS, *keys], dtype=object)
    return _typed(table)


def best_per_kpi(table: pd.DataFrame) -> dict[str, list[str]]:
    """Best controller(s) per KPI column, by the KPI's better-direction.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`comparison_table`.

    Returns
    -------
    dict
        ``{kpi key: [controller, ...]}`` for KPIs with a direction (see
        :func:`mpc.report.kpi_direction`), at least two finite values and
        not all equal; ties are all listed.
    """
    out: dict[str, list[str]] = {}
    names = [str(c) for c in table["controller"]]
    for key in table.columns:
        direction = kpi_direction(str(key))
        if direction == 0 or key in ("controller", *_ADDED_COLUMNS):
            continue
        vals = {c: as_float(v) for c, v in zip(names, table[key], strict=True)}
        vals = {c: v for c, v in vals.items() if v is not None}
        if len(vals) < 2:
            continue
        best = max(vals.values()) if direction > 0 else min(vals.values())
        worst = min(vals.values()) if direction > 0 else max(vals.values())
        if math.isclose(best, worst, rel_tol=1e-12, abs_tol=0.0):
            continue
        out[str(key)] = [
            c for c, v in vals.items() if math.isclose(v, best, rel_tol=1e-12, abs_tol=0.0)
        ]
    return out


def _wide(table: pd.DataFrame) -> pd.DataFrame:
    """The KPIs as rows and controllers as columns: how the report lays them out."""
    kpis = table.drop(columns=list(_ADDED_COLUMNS)).set_index("controller")
    wide = kpis.astype(object).T
    wide.index.name = "kpi"
    return wide


def _href(name: str) -> str:
    return f"{quote(name, safe='')}/{REPORT_NAME}"


def _badge(reason: str) -> str:
    """The mark of a controller whose run broke the LEL limit in force or made no good web."""
    what = " + ".join(r.split(":", 1)[0] for r in reason.split("; "))
    return f' <span class="badge bad" title="{esc(reason)}">{esc(what)}</span>'


def _violations_html(table: pd.DataFrame) -> str:
    bad = table[table["violation"].fillna(False).astype(bool)]
    if bad.empty:
        return ""
    items = "".join(
        f'<li data-controller="{esc(c)}"><b>{esc(c)}</b>: {esc(r)}</li>'
        for c, r in zip(bad["controller"], bad["violation_reason"], strict=True)
    )
    return f'<div class="note violations" id="violations"><b>Runs that broke a limit:</b><ul>{items}</ul></div>'


def _verdicts_html(verdicts: Mapping[str, Verdict]) -> str:
    """One verdict line per controller, and the fixed targets they are judged on."""
    items = "".join(f"<li>{verdict_html(v, name)}</li>" for name, v in verdicts.items())
    return (
        f"<p>Fixed targets (<code>mpc.report.TARGETS</code>, <code>docs/report.md</code>): "
        f"{esc(targets_text())}.</p>"
        f'<ul class="verdicts" id="verdicts">{items}</ul>'
    )


def _table_html(table: pd.DataFrame, best: dict[str, list[str]], reasons: Mapping[str, str]) -> str:
    cols = [str(c) for c in table.columns]
    head = "".join(
        f'<th data-controller="{esc(c)}"><a href="{esc(_href(c))}">{esc(c)}</a>'
        f"{_badge(reasons[c]) if reasons.get(c) else ''}</th>"
        for c in cols
    )
    groups = kpi_groups(str(k) for k in table.index)
    arrows = {"higher": "↑ higher", "lower": "↓ lower", "zero": "must be 0", None: ""}
    rows = []
    for title, ks in groups:
        rows.append(f'<tr class="group"><th colspan="{3 + len(cols)}">{esc(title)}</th></tr>')
        for k in ks:
            spec = kpi_spec(k)
            cells = []
            for c in cols:
                value = table.at[k, c]
                if isinstance(value, float) and math.isnan(value):
                    value = None
                text, _ = format_kpi(k, value)
                cls = ["num"] if as_float(value) is not None else []
                if c in best.get(k, []):
                    cls.append("best")
                cells.append(
                    f'<td class="{" ".join(cls)}" data-controller="{esc(c)}">{esc(text)}</td>'
                )
            rows.append(
                f'<tr data-key="{esc(k)}"><td>{esc(spec.label)}<br><code>{esc(k)}</code></td>'
                f"<td>{esc(spec.unit)}</td><td>{arrows.get(direction_name(k), '')}</td>{''.join(cells)}</tr>"
            )
    return (
        f'<table id="compare-table"><thead><tr><th>KPI</th><th>unit</th><th>better</th>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


_STATUS_RANK = {"bad": 3, "warn": 2, "good": 1, "": 0}


def _column(table: pd.DataFrame, controller: str) -> dict[str, Any]:
    """One controller's KPIs from the wide table (missing values as None)."""
    col = table[controller]
    return {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in col.items()}


def _card_status(key: str, kpis: Mapping[str, Any]) -> str:
    """A controller's colour on a comparison card: the run report's rule (``docs/report.md``)."""
    if key in ("coat_weight_cpk", "residual_solvent_cpk"):
        return cpk_status(kpis, key)
    if key == "yield_frac":
        return yield_status(as_float(kpis.get(key)), bool(kpis.get("no_good_web")))
    return "info"


def _card_part(key: str, controller: str, kpis: Mapping[str, Any]) -> str:
    """A controller's value on a card, with what belongs beside it (scrap beside capability)."""
    text = f"{controller} {format_kpi(key, kpis.get(key))[0]}"
    if key in ("coat_weight_cpk", "residual_solvent_cpk"):
        text += f" (yield {format_kpi('yield_frac', kpis.get('yield_frac'))[0]} %, scrap " \
                f"{format_kpi('scrap_m', kpis.get('scrap_m'))[0]} m)"
    elif key == "yield_frac":
        text += f" % (scrap {format_kpi('scrap_m', kpis.get('scrap_m'))[0]} m)"
    elif key == "energy_kwh_per_kwh_cell":
        text += (f" ({format_kpi('energy_kwh_per_m2', kpis.get('energy_kwh_per_m2'))[0]} final, "
                 f"{format_kpi('primary_energy_kwh_per_m2', kpis.get('primary_energy_kwh_per_m2'))[0]} "
                 "primary kWh/m² good)")
    return text


def _cards_html(table: pd.DataFrame, best: dict[str, list[str]]) -> str:
    """The headline cards: each the best controller's value, coloured by the run report's rule."""
    runs = {str(c): _column(table, str(c)) for c in table.columns}
    cards = []
    for key in _CARD_KEYS:
        if key not in table.index:
            continue
        spec = kpi_spec(key)
        winners = best.get(key, [])
        parts = [_card_part(key, c, k) for c, k in runs.items()]
        texts = {format_kpi(key, k.get(key))[0] for k in runs.values()}
        statuses = {c: _card_status(key, k) for c, k in runs.items()}
        if winners:
            value = format_kpi(key, runs[winners[0]].get(key))[0]
            label = f"{spec.label} — best: {', '.join(winners)}"
            status = max((statuses[w] for w in winners), key=lambda x: _STATUS_RANK.get(x, 0))
        elif len(texts) == 1:
            value, label = texts.pop(), f"{spec.label} — all equal"
            status = max(statuses.values(), key=lambda x: _STATUS_RANK.get(x, 0))
        else:
            value, label, status = "—", f"{spec.label} — not ranked", "info"
        cards.append(card(key, label, value, spec.unit, " · ".join(parts), status))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _safe_dir_name(name: str) -> str:
    if not name or name in (".", "..") or any(ch in name for ch in "/\\\0"):
        raise ValueError(
            f"controller name {name!r} cannot be a folder name for its report "
            "(no '/', '\\\\', '.' or '..')"
        )
    return name


def write_compare_report(
    out_dir: str | os.PathLike[str] | OutputFolder,
    runs: Mapping[str, Run],
    *,
    overwrite: bool = False,
    run_reports: bool = False,
) -> Path:
    """Write one self-contained HTML page comparing controllers on a scenario.

    The page opens with each controller's verdict on the fixed targets
    (:func:`mpc.report.run_verdict`) and the runs that broke a limit, then
    the headline cards, the KPI table and the overlaid charts
    (``docs/report.md``).

    Parameters
    ----------
    out_dir : path-like or mpc.outputs.OutputFolder
        Folder for ``report.html`` and the overlay PNGs, or the output folder
        of a command that writes the report among its files.
    runs : mapping
        ``{controller name: (ts, kpis, meta)}``, optionally with a 4th
        element ``per_metre``; the order sets the column order and colours.
    overwrite : bool
        Write into a folder that already holds files, replacing only the
        report files calmline wrote there (:mod:`mpc.outputs`); by default a
        folder holding files is refused.
    run_reports : bool
        Also write each controller's own report to
        ``out_dir/<controller>/report.html`` (the page links there either way).

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    OutputExistsError
        (a ``FileExistsError``) If ``out_dir`` holds files and ``overwrite``
        is False, or a report file there is not calmline's or was edited.
    ValueError
        If ``runs`` is empty (or, with ``run_reports``, a controller name is
        not a usable folder name).
    """
    _check_runs(runs)
    unpacked = {str(n): _unpack(str(n), r) for n, r in runs.items()}
    if run_reports:
        for n in unpacked:
            _safe_dir_name(n)
    names = list(COMPARE_REPORT_FILES)
    if run_reports:
        names += [f"{n}/{f}" for n in unpacked for f in RUN_REPORT_FILES]
    with report_folder(out_dir, names, overwrite) as out:
        if run_reports:
            for n, (ts, kpis, meta, pm) in unpacked.items():
                write_run_report(out.sub(n), ts, kpis, meta, pm)
        views: dict[str, RunView] = {n: make_view(ts, k, m) for n, (ts, k, m, _) in unpacked.items()}
        charts = overlay_charts(views)
        for item in charts:
            if isinstance(item, Chart):
                out.write_bytes(f"{item.name}.png", item.png)
        checked = {n: (ts, k, m) for n, (ts, k, m, _) in unpacked.items()}
        html = _page(unpacked, comparison_table(checked), charts)
        return out.write_bytes(REPORT_NAME, html.encode("utf-8"))


def _page(unpacked: Mapping[str, tuple[Any, ...]], table: pd.DataFrame, charts: list[Chart | Note]) -> str:
    """The comparison page's HTML."""
    best = best_per_kpi(table)
    reasons = {str(c): str(r) for c, r in zip(table["controller"], table["violation_reason"], strict=True) if r}
    wide = _wide(table)
    first_meta = next(iter(unpacked.values()))[2]
    scen = first_meta.get("scenario", "?")
    preset = first_meta.get("preset", "?")
    scenarios = {str(m.get("scenario")) for (_, _, m, _) in unpacked.values()}
    links = "".join(f'<li><a href="{esc(_href(n))}">{esc(n)}</a></li>' for n in unpacked)
    warn = ""
    if len(scenarios) > 1:
        warn = (
            '<p class="note"><b>Different scenarios:</b> '
            f"{esc(', '.join(sorted(scenarios)))} — the comparison is not like for like.</p>"
        )
    verdicts = {n: run_verdict(k, ts) for n, (ts, k, _, _) in unpacked.items()}
    body = "".join(
        [
            warn,
            section("Verdict per controller", _verdicts_html(verdicts), "verdict"),
            _violations_html(table),
            section("Headline", _cards_html(wide, best), "headline"),
            section(
                "KPI comparison",
                '<p>Best value per row highlighted (direction in the "better" column; rows without '
                "a direction, such as temperatures, are not ranked). Timing is machine noise: "
                "compare it only between runs on one machine.</p>" + _table_html(wide, best, reasons),
                "kpis",
            ),
            section("Overlaid time series", "".join(chart_block(c) for c in charts), "charts"),
            section("Each controller's report", f"<ul>{links}</ul>", "links"),
        ]
    )
    foot_meta = {
        n: {k: v for k, v in m.items() if k != "per_metre"} for n, (_, _, m, _) in unpacked.items()
    }
    title = f"calmline comparison — {scen} · {preset}"
    subtitle = f"{len(unpacked)} controllers: {', '.join(unpacked)}"
    return page(title, subtitle, body, metadata_footer(foot_meta))
