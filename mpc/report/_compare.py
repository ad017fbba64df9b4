"""The comparison report: controllers side by side on one scenario."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from mpc.report._charts_compare import COMPARE_CHART_NAMES, overlay_charts
from mpc.report._figure import Chart
from mpc.report._html import card, chart_block, esc, page, section
from mpc.report._kpis import (
    HEADLINE_KEYS,
    IDENTITY_KEYS,
    as_float,
    direction_name,
    format_kpi,
    kpi_direction,
    kpi_spec,
    ordered_keys,
)
from mpc.report._output import REPORT_NAME, prepare_out_dir, write_bytes
from mpc.report._run import write_run_report
from mpc.report._tables import metadata_footer
from mpc.report._view import RunView, check_ts, make_view

__all__ = ["best_per_row", "comparison_table", "write_compare_report"]

#: A run as passed in: (ts, kpis, meta) or (ts, kpis, meta, per_metre).
Run = tuple[Any, ...]

_CARD_KEYS = (
    "coat_weight_cpk",
    "residual_solvent_cpk",
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


def comparison_table(runs: Mapping[str, Run]) -> pd.DataFrame:
    """KPIs of several runs side by side.

    Parameters
    ----------
    runs : mapping
        ``{controller name: (ts, kpis, meta)}`` (a 4th element, ``per_metre``,
        is allowed and ignored here).

    Returns
    -------
    pandas.DataFrame
        Rows: KPI keys (run identity, headline KPIs, then the rest in
        first-seen order); columns: controller names in the given order;
        values as stored (SI, units in the key names); missing entries NaN.
    """
    _check_runs(runs)
    kpis: dict[str, Mapping[str, Any]] = {}
    for name, run in runs.items():
        if not isinstance(run, tuple | list) or len(run) < 2 or not isinstance(run[1], Mapping):
            raise TypeError(f"runs[{name!r}]: expected a tuple (ts, kpis, meta) with kpis a dict")
        kpis[str(name)] = run[1]
    keys = ordered_keys(k for rec in kpis.values() for k in rec)
    data = {name: [rec.get(k, math.nan) for k in keys] for name, rec in kpis.items()}
    table = pd.DataFrame(data, index=pd.Index(keys, name="kpi"), dtype=object)
    return table.infer_objects()


def best_per_row(table: pd.DataFrame) -> dict[str, list[str]]:
    """Best controller(s) per KPI row, by the KPI's better-direction.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`comparison_table`.

    Returns
    -------
    dict
        ``{kpi key: [controller, ...]}`` for rows with a direction (see
        :func:`mpc.report.kpi_direction`), at least two finite values and
        not all equal; ties are all listed.
    """
    out: dict[str, list[str]] = {}
    for key in table.index:
        direction = kpi_direction(str(key))
        if direction == 0:
            continue
        vals = {c: as_float(table.at[key, c]) for c in table.columns}
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


def _href(name: str) -> str:
    return f"{quote(name, safe='')}/{REPORT_NAME}"


def _table_html(table: pd.DataFrame, best: dict[str, list[str]]) -> str:
    cols = [str(c) for c in table.columns]
    head = "".join(f'<th><a href="{esc(_href(c))}">{esc(c)}</a></th>' for c in cols)
    keys = [str(k) for k in table.index]
    groups = [
        ("Run", [k for k in keys if k in IDENTITY_KEYS]),
        ("Headline", [k for k in keys if k in HEADLINE_KEYS]),
        ("Other KPIs", [k for k in keys if k not in IDENTITY_KEYS and k not in HEADLINE_KEYS]),
    ]
    arrows = {"higher": "↑ higher", "lower": "↓ lower", "zero": "must be 0", None: ""}
    rows = []
    for title, ks in groups:
        if not ks:
            continue
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


def _cards_html(table: pd.DataFrame, best: dict[str, list[str]]) -> str:
    cards = []
    for key in _CARD_KEYS:
        if key not in table.index:
            continue
        spec = kpi_spec(key)
        winners = best.get(key, [])
        parts = [f"{c} {format_kpi(key, table.at[key, c])[0]}" for c in table.columns]
        texts = {format_kpi(key, table.at[key, c])[0] for c in table.columns}
        if winners:
            value = format_kpi(key, table.at[key, winners[0]])[0]
            label = f"{spec.label} — best: {', '.join(winners)}"
        elif len(texts) == 1:
            value, label = texts.pop(), f"{spec.label} — all equal"
        else:
            value, label = "—", f"{spec.label} — not ranked"
        cards.append(card(key, label, value, spec.unit, " · ".join(parts), "info"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _safe_dir_name(name: str) -> str:
    if not name or name in (".", "..") or any(ch in name for ch in "/\\\0"):
        raise ValueError(
            f"controller name {name!r} cannot be a folder name for its report "
            "(no '/', '\\\\', '.' or '..')"
        )
    return name


def write_compare_report(
    out_dir: str | os.PathLike[str],
    runs: Mapping[str, Run],
    *,
    overwrite: bool = False,
    run_reports: bool = False,
) -> Path:
    """Write one self-contained HTML page comparing controllers on a scenario.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``report.html`` and the overlay PNGs.
    runs : mapping
        ``{controller name: (ts, kpis, meta)}``, optionally with a 4th
        element ``per_metre``; the order sets the column order and colours.
    overwrite : bool
        Replace an existing comparison report; by default refuse.
    run_reports : bool
        Also write each controller's own report to
        ``out_dir/<controller>/report.html`` (the page links there either way).

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    FileExistsError
        If ``out_dir/report.html`` exists and ``overwrite`` is False.
    ValueError
        If ``runs`` is empty (or, with ``run_reports``, a controller name is
        not a usable folder name).
    """
    _check_runs(runs)
    unpacked = {str(n): _unpack(str(n), r) for n, r in runs.items()}
    if run_reports:
        for n in unpacked:
            _safe_dir_name(n)
    out = prepare_out_dir(out_dir, overwrite, [f"{n}.png" for n in COMPARE_CHART_NAMES])
    if run_reports:
        for n, (ts, kpis, meta, pm) in unpacked.items():
            write_run_report(out / n, ts, kpis, meta, pm, overwrite=overwrite)

    views: dict[str, RunView] = {n: make_view(ts, k, m) for n, (ts, k, m, _) in unpacked.items()}
    table = comparison_table(runs)
    best = best_per_row(table)
    charts = overlay_charts(views)
    for item in charts:
        if isinstance(item, Chart):
            write_bytes(out / f"{item.name}.png", item.png)

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
    body = "".join(
        [
            warn,
            section("Headline", _cards_html(table, best), "headline"),
            section(
                "KPI comparison",
                '<p>Best value per row highlighted (direction in the "better" column; rows without '
                "a direction, such as temperatures, are not ranked). Timing is machine noise: "
                "compare it only between runs on one machine.</p>" + _table_html(table, best),
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
    html = page(title, subtitle, body, metadata_footer(foot_meta))
    path = out / REPORT_NAME
    write_bytes(path, html.encode("utf-8"))
    return path
