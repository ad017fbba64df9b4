"""The sweep report: one self-contained HTML page over every (draw, controller) run of a sweep.

The page, top to bottom: a summary paragraph (what was run, what was varied, how many runs
failed), a headline table per controller (median and 5th/95th percentiles of the plant
figures, the share of draws with any time above the LEL limit), the KPI distributions as
overlaid empirical CDFs, the paired differences between controllers on the same draws with
percentile-bootstrap confidence intervals, the worst draws with the command that reproduces
each alone, and the failed runs.

Nothing on the page points outside the file: the style sheet is inline and the charts are
inline SVG drawn with :class:`matplotlib.figure.Figure` (never ``pyplot``), so rendering
touches no global matplotlib state. The page is deterministic: the bootstrap is seeded from
the manifest's seed and the SVG element ids are renumbered in document order.

Elements a program may read have stable ids (``<slug>`` is the controller name with every
character outside ``[A-Za-z0-9_-]`` replaced by ``-``):

``share-above-lel-<slug>``
    Text like ``"3 of 200 (1.5 %)"``; ``data-value`` is the fraction (``"nan"`` when the
    controller has no successful run).
``failed-<slug>``, ``ok-<slug>``
    Failed and successful run counts (``data-value``).
``kpi-<metric>-<slug>``
    Headline cell; ``data-median``, ``data-p5``, ``data-p95`` in display units.
``diff-<metric>-<slug b>-vs-<slug a>``
    Paired difference row; ``data-mean``, ``data-lo``, ``data-hi`` (display units), ``data-n``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mpc.report._charts_compare import CONTROLLER_COLORS

__all__ = ["paired_bootstrap", "render_sweep_report"]

_COLORS = CONTROLLER_COLORS  # the run and compare reports' controller colours
#: Failed runs listed on the page at most (``runs.parquet`` holds them all).
_MAX_FAILED_ROWS = 100
#: Bootstrap index matrix entries drawn at once (bounds memory for large sweeps).
_BOOT_CHUNK = 1_000_000


@dataclass(frozen=True)
class _Metric:
    """A KPI column as the page shows it."""

    slug: str
    column: str
    label: str
    unit: str
    diff_unit: str
    scale: float
    higher_better: bool
    decimals: int | None  # None: three significant figures

    def fmt(self, x: float) -> str:
        """Format a display-unit value."""
        return _num(x, self.decimals)

    @property
    def axis_label(self) -> str:
        return f"{self.label} ({self.unit})"


_YIELD = _Metric("yield", "kpi_yield_frac", "yield", "%", "percentage points", 100.0, True, 1)
_E_M2 = _Metric(
    "energy-per-m2",
    "kpi_energy_kwh_per_m2",
    "energy per good m²",
    "kWh/m²",
    "kWh/m²",
    1.0,
    False,
    None,
)
_E_CELL = _Metric(
    "energy-per-kwh-cell",
    "kpi_energy_kwh_per_kwh_cell",
    "energy per kWh of cell",
    "kWh/kWh cell",
    "kWh/kWh cell",
    1.0,
    False,
    None,
)
_CPK = _Metric("cpk", "kpi_coat_weight_cpk", "coat-weight Cpk", "–", "–", 1.0, True, 2)
_LEL = _Metric(
    "max-lel", "kpi_max_lel_fraction", "max LEL", "% LEL", "% LEL points", 100.0, False, 1
)
_T_LEL = _Metric(
    "time-above-lel",
    "kpi_time_above_lel_limit_s",
    "time above LEL limit",
    "s",
    "s",
    1.0,
    False,
    None,
)
#: Headline table rows.
_HEADLINE = (_YIELD, _E_M2, _E_CELL, _CPK, _LEL, _T_LEL)
#: Charted and paired KPIs.
_COMPARED = (_YIELD, _E_M2, _CPK, _LEL, _T_LEL)

_CSS = """
:root { --ink:#1d2330; --muted:#5d6677; --line:#d9dee7; --good:#1e7b34; --bad:#b3261e;
        --bg:#f6f7f9; --card:#ffffff; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans",
       "DejaVu Sans", Arial, sans-serif; color:var(--ink); background:var(--bg); line-height:1.4; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 24px 40px; }
header h1 { font-size: 1.45rem; margin: 0 0 4px; }
header p.sub { margin: 0 0 10px; color: var(--muted); }
p.summary { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
            padding: 10px 14px; margin: 8px 0; }
h2 { font-size: 1.1rem; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: .98rem; margin: 16px 0 6px; }
p.lead { color: var(--muted); font-size: .88rem; margin: 4px 0 10px; }
table { border-collapse: collapse; background: var(--card); font-size: .88rem; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
th small, td small { color: var(--muted); font-weight: 400; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.none { color: var(--muted); font-style: italic; }
td.better { color: var(--good); font-weight: 600; } td.worse { color: var(--bad); font-weight: 600; }
td.flag { color: var(--bad); font-weight: 600; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: 5px;
          vertical-align: -1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px;
         padding: 8px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: .82rem; color: var(--muted); margin: 4px 4px 0; }
.note { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 6px; padding: 8px 12px;
        font-size: .88rem; margin: 10px 0; }
code { font-size: .8rem; color: #44506a; }
code.cmd { display: block; white-space: pre-wrap; overflow-wrap: anywhere; background: #f3f5f8;
           border: 1px solid var(--line); border-radius: 4px; padding: 4px 6px; color: var(--ink); }
ul.kv { list-style: none; margin: 0; padding: 0; font-size: .8rem; }
ul.kv li { white-space: nowrap; } ul.kv .k { color: var(--muted); }
footer { margin-top: 28px; font-size: .8rem; color: var(--muted); }
"""


# --------------------------------------------------------------------------- statistics


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean paired difference ``b - a`` and its percentile-bootstrap confidence interval.

    The pairs (``a[i]``, ``b[i]``) are resampled with replacement ``n_boot`` times; the
    interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (linear
    interpolation) of the resampled means. Pairs where either value is not finite are
    dropped first.

    Parameters
    ----------
    a, b : numpy.ndarray
        Paired values, the same shape (flattened).
    n_boot : int, optional
        Number of bootstrap resamples (>= 1).
    seed : int, optional
        Seed of the :func:`numpy.random.default_rng` generator: the same inputs and seed
        give the same interval.
    level : float, optional
        Confidence level, in (0, 1).

    Returns
    -------
    mean, lo, hi : float
        Mean of ``b - a`` and the interval's bounds; all three NaN when fewer than two
        finite pairs remain.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in shape, ``level`` is outside (0, 1) or ``n_boot < 1``.
    """
    a_arr = np.asarray(a, dtype=float)
    b_arr = np.asarray(b, dtype=float)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired_bootstrap: a has shape {a_arr.shape}, b has {b_arr.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"paired_bootstrap: level must be in (0, 1), got {level!r}")
    if n_boot < 1:
        raise ValueError(f"paired_bootstrap: n_boot must be >= 1, got {n_boot!r}")
    d = (b_arr - a_arr).ravel()
    d = d[np.isfinite(d)]
    n = d.size
    if n < 2:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    rows = max(1, _BOOT_CHUNK // n)
    means = np.empty(n_boot)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return (float(d.mean()), float(lo), float(hi))


def _finite(values: Any) -> np.ndarray:
    """Finite floats of a column (non-numeric entries become NaN and are dropped)."""
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return arr[np.isfinite(arr)]


def _column(df: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (all NaN when the column is missing)."""
    if column not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)


# --------------------------------------------------------------------------- formatting


def _esc(text: object) -> str:
    """Escape for a text node (quotes kept, so commands read as typed)."""
    return escape(str(text), quote=False)


def _attr(text: object) -> str:
    """Escape for an attribute value."""
    return escape(str(text), quote=True)


def _slug(name: str) -> str:
    """An id-safe form of a controller name."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(name)) or "-"


def _num(x: float, decimals: int | None = None) -> str:
    """A display number: fixed decimals, or three significant figures without exponents."""
    if x is None or not math.isfinite(x):
        return "—"
    if decimals is not None:
        s = f"{x:.{decimals}f}"
    elif x == 0.0:
        s = "0"
    elif abs(x) >= 100.0:
        s = f"{x:,.0f}"
    else:
        digits = max(0, 2 - math.floor(math.log10(abs(x))))
        s = f"{x:.{digits}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s.replace(",", "")) == 0.0 else s


def _signed(x: float, decimals: int | None) -> str:
    """A difference with its sign (``+1.2``, ``−0.3``)."""
    s = _num(x, decimals)
    if s == "—":
        return s
    if s.startswith("-"):
        return "−" + s[1:]
    return s if float(s.replace(",", "")) == 0.0 else "+" + s


def _data(x: float) -> str:
    """A float for a data attribute (``repr``, ``nan`` when not finite)."""
    return repr(float(x)) if x is not None and math.isfinite(x) else "nan"


def _duration(seconds: Any) -> str:
    """A duration for people: ``45 s``, ``30 min``, ``2.5 h``."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(s):
        return "?"
    if s < 120.0:
        return f"{s:.1f} s" if s < 10.0 else f"{s:.0f} s"
    if s < 7200.0:
        return f"{s / 60.0:.0f} min"
    h = s / 3600.0
    return f"{h:.0f} h" if abs(h - round(h)) < 0.05 else f"{h:.1f} h"


def _value(v: Any) -> str:
    """A drawn parameter value, compact."""
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    if isinstance(v, float | np.floating):
        return "nan" if not math.isfinite(float(v)) else f"{float(v):.4g}"
    if isinstance(v, int | np.integer):
        return str(int(v))
    return str(v)


def _first_line(text: Any, limit: int = 200) -> str:
    """First non-empty line of an error text, shortened."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    for line in str(text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{color}"></span>'


# --------------------------------------------------------------------------- charts


def _svg(fig: Figure, prefix: str) -> str:
    """A figure as inline SVG: no XML prolog, no external references, ids made unique.

    Every ``id`` (and each reference to it) is renamed ``<prefix><n>`` in order of first
    definition, so several charts on one page never clash and the output is deterministic.
    """
    buf = io.StringIO()
    fig.savefig(
        buf,
        format="svg",
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.DOTALL)
    ids: dict[str, str] = {}
    for m in re.finditer(r'\bid="([^"]+)"', svg):
        ids.setdefault(m.group(1), f"{prefix}{len(ids)}")
    if ids:
        names = "|".join(re.escape(k) for k in sorted(ids, key=len, reverse=True))
        svg = re.sub(
            rf'(\bid="|href="#|url\(#)({names})(?=["\)])',
            lambda m: m.group(1) + ids[m.group(2)],
            svg,
        )
    svg = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)
    return svg.strip()


def _ecdf_figure(
    metric: _Metric,
    ok: Mapping[str, pd.DataFrame],
    controllers: Sequence[str],
    colors: Mapping[str, str],
) -> str:
    """One KPI's empirical CDFs, every controller overlaid, as a captioned ``<figure>``."""
    series = {c: _finite(_column(ok[c], metric.column)) * metric.scale for c in controllers}
    if not any(v.size for v in series.values()):
        return (
            f'<p class="note" data-chart="{_attr(metric.slug)}"><b>{_esc(metric.label)}:</b> '
            "not shown — no successful run has a finite value.</p>"
        )
    fig = Figure(figsize=(4.9, 2.9), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.axhline(0.5, color="0.8", lw=0.8, ls=":", zorder=0)
    dropped: list[str] = []
    for c in controllers:
        v = series[c]
        n_ok = len(ok[c])
        if v.size == 0:
            ax.plot([], [], color=colors[c], label=f"{c} (no data)")
            continue
        if v.size < n_ok:
            dropped.append(f"{c}: {n_ok - v.size}")
        ax.ecdf(v, color=colors[c], lw=1.6, label=f"{c} (n = {v.size})")
    lo = min(float(v.min()) for v in series.values() if v.size)
    hi = max(float(v.max()) for v in series.values() if v.size)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        pad = max(abs(hi) * 0.05, 1e-3 if metric.decimals is None else 10.0**-metric.decimals)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(metric.axis_label)
    ax.set_ylabel("share of draws ≤ x (–)")
    ax.set_title(metric.label, fontsize=10, loc="left")
    ax.grid(True, color="0.92", lw=0.6)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    svg = _svg(fig, f"c-{metric.slug}-")
    better = "higher" if metric.higher_better else "lower"
    caption = f"{metric.axis_label}: empirical CDF over successful runs; {better} is better."
    if metric is _T_LEL:
        caption += " The step at 0 s is the share of draws that never exceeded the limit."
    if dropped:
        caption += f" Runs without a finite value left out ({', '.join(dropped)})."
    empty = [c for c in controllers if series[c].size == 0]
    if empty:
        caption += f" No data for {', '.join(empty)}."
    return (
        f'<figure data-chart="{_attr(metric.slug)}" role="img" '
        f'aria-label="{_attr("ECDF of " + metric.axis_label)}">{svg}'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


# --------------------------------------------------------------------------- sections


def _summary(
    manifest: Mapping[str, Any],
    controllers: Sequence[str],
    counts: Mapping[str, tuple[int, int]],
    n_draws: int,
) -> str:
    """The one-paragraph summary."""
    samples = manifest.get("samples", n_draws)
    parts = [
        f"<b>{_esc(samples)}</b> random draws of scenario <code>{_esc(manifest.get('scenario', '?'))}</code>, "
        f"each run for {_esc(_duration(manifest.get('duration_s')))} per controller "
        f"(seed {_esc(manifest.get('seed', '?'))})."
    ]
    vary = manifest.get("vary") or {}
    varied = "; ".join(f"<code>{_esc(k)}</code> ~ {_esc(v)}" for k, v in vary.items())
    if manifest.get("default_dispersion"):
        parts.append(
            f"Varied (the default dispersion): {varied}."
            if varied
            else "Varied: the default dispersion."
        )
    else:
        parts.append(f"Varied: {varied}." if varied else "Nothing was varied.")
    run_parts = []
    for c in controllers:
        n_ok, n_failed = counts[c]
        run_parts.append(f"<b>{_esc(c)}</b> {n_ok} ok, {n_failed} failed")
    parts.append("Runs: " + "; ".join(run_parts) + ".")
    how = [str(manifest[k]) for k in ("workers", "scheduler") if manifest.get(k) not in (None, "")]
    wall = f"Wall time {_esc(_duration(manifest.get('wall_s')))}"
    parts.append(wall + (f" ({_esc(', '.join(how))})." if how else "."))
    return '<p class="summary" id="summary-text">' + " ".join(parts) + "</p>"


def _headline(
    ok: Mapping[str, pd.DataFrame],
    controllers: Sequence[str],
    counts: Mapping[str, tuple[int, int]],
    colors: Mapping[str, str],
) -> str:
    """Median and 5th/95th percentiles per controller, the LEL share, failed runs."""
    head = "".join(f'<th scope="col">{_swatch(colors[c])}{_esc(c)}</th>' for c in controllers)
    rows = [f'<tr><th scope="col">metric <small>(unit)</small></th>{head}</tr>']

    cells = []
    for c in controllers:
        n_ok, n_failed = counts[c]
        cells.append(
            f'<td class="num" id="ok-{_attr(_slug(c))}" data-value="{n_ok}">'
            f"{n_ok} of {n_ok + n_failed}</td>"
        )
    rows.append(f'<tr><th scope="row">successful runs</th>{"".join(cells)}</tr>')

    for m in _HEADLINE:
        cells = []
        for c in controllers:
            cid = f"kpi-{m.slug}-{_slug(c)}"
            if counts[c][0] == 0:
                cells.append(f'<td class="none" id="{_attr(cid)}">no successful run</td>')
                continue
            v = _finite(_column(ok[c], m.column)) * m.scale
            if v.size == 0:
                cells.append(f'<td class="none" id="{_attr(cid)}">no finite value</td>')
                continue
            p5, med, p95 = (float(x) for x in np.percentile(v, [5.0, 50.0, 95.0]))
            cells.append(
                f'<td class="num" id="{_attr(cid)}" data-median="{_data(med)}" '
                f'data-p5="{_data(p5)}" data-p95="{_data(p95)}">'
                f"<b>{m.fmt(med)}</b> <small>({m.fmt(p5)} – {m.fmt(p95)})</small></td>"
            )
        better = "higher" if m.higher_better else "lower"
        rows.append(
            f'<tr><th scope="row">{_esc(m.label)} <small>({_esc(m.unit)}), '
            f"{better} is better</small></th>{''.join(cells)}</tr>"
        )

    cells = []
    for c in controllers:
        cid = f"share-above-lel-{_slug(c)}"
        t = _finite(_column(ok[c], _T_LEL.column))
        if counts[c][0] == 0 or t.size == 0:
            text = "no successful run" if counts[c][0] == 0 else "no finite value"
            cells.append(f'<td class="none" id="{_attr(cid)}" data-value="nan">{text}</td>')
            continue
        k = int(np.count_nonzero(t > 0.0))
        frac = k / t.size
        cls = "num flag" if k else "num"
        cells.append(
            f'<td class="{cls}" id="{_attr(cid)}" data-value="{_data(frac)}" data-count="{k}" '
            f'data-n="{t.size}">{k} of {t.size} ({100.0 * frac:.1f} %)</td>'
        )
    rows.append(
        '<tr><th scope="row">draws with any time above the LEL limit '
        f"<small>(count, %)</small></th>{''.join(cells)}</tr>"
    )

    cells = []
    for c in controllers:
        n_failed = counts[c][1]
        cls = "num flag" if n_failed else "num"
        cells.append(
            f'<td class="{cls}" id="failed-{_attr(_slug(c))}" data-value="{n_failed}">'
            f"{n_failed}</td>"
        )
    rows.append(f'<tr><th scope="row">failed runs <small>(count)</small></th>{"".join(cells)}</tr>')
    lead = (
        '<p class="lead">Successful runs only: <b>median</b> '
        "<small>(5th – 95th percentile)</small> over draws.</p>"
    )
    return lead + '<table id="headline-table">' + "".join(rows) + "</table>"


def _distributions(
    ok: Mapping[str, pd.DataFrame], controllers: Sequence[str], colors: Mapping[str, str]
) -> str:
    """The KPI ECDF charts."""
    lead = (
        '<p class="lead">Each curve is the empirical CDF of one controller over its successful '
        "runs: its height at x is the share of draws with a value at or below x (dotted line: "
        "the median). A curve further right means larger values.</p>"
    )
    figs = "".join(_ecdf_figure(m, ok, controllers, colors) for m in _COMPARED)
    return lead + f'<div class="charts">{figs}</div>'


def _paired(
    ok: Mapping[str, pd.DataFrame], controllers: Sequence[str], seed: int, n_boot: int
) -> str:
    """Paired differences, every later controller minus the first, on shared ok draws."""
    if len(controllers) < 2:
        return (
            '<p class="note" id="paired-none">Only one controller was run: there is no pair '
            "to compare.</p>"
        )
    base = controllers[0]
    out = [
        '<p class="lead">Differences on the same draws (both runs successful): mean of '
        f"(controller − {_esc(base)}) with a {100 * 0.95:.0f} % percentile-bootstrap "
        f"confidence interval ({n_boot} resamples over draws, seed {seed}).</p>"
    ]
    a_df = ok[base].drop_duplicates("draw_id").set_index("draw_id")
    for other in controllers[1:]:
        b_df = ok[other].drop_duplicates("draw_id").set_index("draw_id")
        shared = a_df.index.intersection(b_df.index).sort_values()
        rows = [
            '<tr><th scope="col">KPI <small>(unit of the difference)</small></th>'
            '<th scope="col">mean difference</th><th scope="col">95 % CI</th>'
            '<th scope="col">n</th><th scope="col">reading</th></tr>'
        ]
        for m in _COMPARED:
            av = _column(a_df.loc[shared], m.column) * m.scale
            bv = _column(b_df.loc[shared], m.column) * m.scale
            mean, lo, hi = paired_bootstrap(av, bv, n_boot=n_boot, seed=seed)
            n = int(np.count_nonzero(np.isfinite(bv - av)))
            rid = f"diff-{m.slug}-{_slug(other)}-vs-{_slug(base)}"
            if n < 2:
                reading, cls = "too few paired runs", "none"
            elif lo > 0.0 or hi < 0.0:
                good = (mean > 0.0) == m.higher_better
                reading = f"{other} {'better' if good else 'worse'}"
                cls = "better" if good else "worse"
            else:
                reading, cls = "no clear difference (CI includes 0)", ""
            ci = "—" if n < 2 else f"[{_signed(lo, m.decimals)}, {_signed(hi, m.decimals)}]"
            rows.append(
                f'<tr id="{_attr(rid)}" data-mean="{_data(mean)}" data-lo="{_data(lo)}" '
                f'data-hi="{_data(hi)}" data-n="{n}"><th scope="row">{_esc(m.label)} '
                f"<small>({_esc(m.diff_unit)})</small></th>"
                f'<td class="num">{_signed(mean, m.decimals)}</td><td class="num">{ci}</td>'
                f'<td class="num">{n}</td><td class="{cls}">{_esc(reading)}</td></tr>'
            )
        out.append(
            f"<h3>{_esc(other)} − {_esc(base)} <small>({len(shared)} draws where both "
            f"ran ok)</small></h3><table>{''.join(rows)}</table>"
        )
    return "".join(out)


def _worst(worst: Sequence[Mapping[str, Any]]) -> str:
    """The worst draws, each with the command that reproduces it alone."""
    if not worst:
        return '<p class="note" id="worst-none">No worst draws were listed.</p>'
    rows = [
        '<tr><th scope="col">controller</th><th scope="col">draw</th><th scope="col">why</th>'
        '<th scope="col">varied values</th><th scope="col">reproduce alone</th></tr>'
    ]
    for w in worst:
        values = w.get("values") or {}
        kv = "".join(
            f'<li><span class="k">{_esc(k)}</span> = {_esc(_value(v))}</li>'
            for k, v in values.items()
        )
        rows.append(
            f"<tr><td>{_esc(w.get('controller', ''))}</td>"
            f'<td class="num">{_esc(w.get("draw_id", ""))}</td><td>{_esc(w.get("why", ""))}</td>'
            f'<td><ul class="kv">{kv}</ul></td>'
            f'<td><code class="cmd">{_esc(w.get("command", ""))}</code></td></tr>'
        )
    return '<table id="worst-table">' + "".join(rows) + "</table>"


def _failed(runs: pd.DataFrame, controllers: Sequence[str]) -> str:
    """The failed runs, or ``none``."""
    if runs.empty or "status" not in runs.columns:
        return '<p id="failed-none">none</p>'
    bad = runs[runs["status"] != "ok"]
    if bad.empty:
        return '<p id="failed-none">none</p>'
    order = {c: i for i, c in enumerate(controllers)}
    bad = bad.assign(_o=bad["controller"].map(order)).sort_values(["draw_id", "_o"])
    rows = [
        '<tr><th scope="col">draw</th><th scope="col">controller</th>'
        '<th scope="col">error (first line)</th></tr>'
    ]
    for r in bad.head(_MAX_FAILED_ROWS).itertuples(index=False):
        err = _first_line(getattr(r, "error", "")) or "(no error text)"
        rows.append(
            f'<tr><td class="num">{_esc(r.draw_id)}</td><td>{_esc(r.controller)}</td>'
            f"<td><code>{_esc(err)}</code></td></tr>"
        )
    more = ""
    if len(bad) > _MAX_FAILED_ROWS:
        more = (
            f'<p class="lead">… and {len(bad) - _MAX_FAILED_ROWS} more failed runs '
            "(runs.parquet holds them all).</p>"
        )
    return f'<table id="failed-table">{"".join(rows)}</table>{more}'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{_attr(sid)}"><h2>{_esc(title)}</h2>{body}</section>\n'


# --------------------------------------------------------------------------- the page


def render_sweep_report(
    runs: pd.DataFrame,
    manifest: dict[str, Any],
    worst: list[dict[str, Any]],
) -> str:
    """Render a sweep's runs as one self-contained HTML page.

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per (draw, controller): ``draw_id``, ``controller``, ``status`` (``"ok"``
        or ``"failed"``), ``error``, ``wall_s``, the varied parameters (one column per
        dotted scenario key) and the KPI record with a ``kpi_`` prefix (NaN on failed
        rows). Missing KPI columns show as missing values, not errors.
    manifest : dict
        The sweep's manifest: ``scenario``, ``controllers`` (their order sets the column
        order, the colours and the paired differences: every later controller minus the
        first), ``samples``, ``seed`` (seeds the bootstrap), ``duration_s``, ``vary``
        (key -> distribution text), ``default_dispersion``, ``calmline`` (version),
        ``workers`` and/or ``scheduler`` (text) and ``wall_s``.
    worst : list of dict
        The worst draws: ``draw_id``, ``controller``, ``why``, ``command`` (the shell
        command that reproduces that run alone) and ``values`` (the draw's varied values).

    Returns
    -------
    str
        The HTML document (no external resources; charts are inline SVG). The same inputs
        give the same text.
    """
    controllers = [str(c) for c in manifest.get("controllers", [])]
    if "controller" in runs.columns:
        for c in pd.unique(runs["controller"].astype(str)):
            if c not in controllers:
                controllers.append(c)
    colors = {c: _COLORS[i % len(_COLORS)] for i, c in enumerate(controllers)}
    seed = int(manifest.get("seed", 0) or 0)
    n_boot = 2000

    df = runs.copy()
    for col, default in (("draw_id", -1), ("controller", ""), ("status", "failed")):
        if col not in df.columns:
            df[col] = default
    df["controller"] = df["controller"].astype(str)
    ok: dict[str, pd.DataFrame] = {}
    counts: dict[str, tuple[int, int]] = {}
    for c in controllers:
        mine = df[df["controller"] == c]
        good = mine[mine["status"] == "ok"]
        ok[c] = good
        counts[c] = (len(good), len(mine) - len(good))
    n_draws = int(df["draw_id"].nunique())

    scenario = str(manifest.get("scenario", "?"))
    name = PurePath(scenario).stem if scenario.endswith(".toml") else scenario
    title = f"Sweep of {name}: {' vs '.join(controllers) or 'no controller'}"
    body = [
        _summary(manifest, controllers, counts, n_draws),
        _section("headline", "Headline per controller", _headline(ok, controllers, counts, colors)),
        _section("distributions", "KPI distributions", _distributions(ok, controllers, colors)),
        _section(
            "paired", "Paired differences on the same draws", _paired(ok, controllers, seed, n_boot)
        ),
        _section("worst", "Worst draws", _worst(worst)),
        _section("failed", "Failed runs", _failed(df, controllers)),
    ]
    footer = (
        f"calmline {_esc(manifest.get('calmline', '?'))} · sweep report · "
        "runs.parquet beside this report holds every row (one per draw and controller). "
        f"Confidence intervals: percentile bootstrap over draws, {n_boot} resamples, seed {seed}."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head>\n"
        f'<body><main><header><h1>{_esc(title)}</h1><p class="sub">calmline sweep report</p>'
        f"{body[0]}</header>\n"
        + "".join(body[1:])
        + f'<footer id="footer">{footer}</footer></main></body></html>\n'
    )
