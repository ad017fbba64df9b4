"""Live web view of a running line: an aiohttp page beside the simulated OPC UA line.

The line (an OPC UA server and the controller talking to it) runs on an
asyncio loop; :func:`start_live_view` serves this page on the same loop. Each
control interval the caller appends one :class:`LiveSample` to a
:class:`LiveHistory`; ``GET /`` renders the latest window of samples and
``GET /data.json`` returns the latest values as JSON.

The page shows

* a coat-weight individuals chart of the fresh gauge samples, with the
  specification limits (LSL/USL), the target and the I-MR control limits
  (centre line = mean, UCL/LCL = mean +- 2.66 x mean moving range,
  :mod:`mpc.report._spc`) computed from the samples shown;
* each zone's measured %LEL against the LEL limit in force (a step line: the
  limit tightens when an analyser fails);
* the drying energy per coated m2 over time;
* the controller's mode and health, the simulated time, the coat-weight Cpk
  and the last few events, as text in elements with stable ids
  (``sim-time``, ``mode``, ``health``, ``energy-kwh-m2``, ``coat-weight``,
  ``lel-limit``, ``cpk``, ``lel-max``); each also carries the SI value in
  ``data-value``.

Charts are :class:`matplotlib.figure.Figure` objects (never ``pyplot``, no
global matplotlib state) written as SVG and inlined in the page; nothing is
loaded from elsewhere. Rendering runs in one worker thread, so the loop that
runs the line is never blocked for a whole render, and a page is rendered
once per appended interval whatever the number of viewers. The page
refreshes itself: a small inline script re-fetches ``/`` every ``refresh_s``
and swaps the content in place (a ``<noscript>`` meta refresh otherwise).

Display units follow the reports (:mod:`mpc.report._units`): coat weight in
mg/cm2 (1 kg/m2 = 100 mg/cm2), LEL in % LEL, energy in kWh/m2; the JSON keeps
SI values with the unit in the key.
"""

from __future__ import annotations

import asyncio
import html
import io
import math
import re
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import web
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from mpc.report._series import change_points, minmax_decimate
from mpc.report._spc import D2, imr_limits
from mpc.report._units import frac_to_pct, kg_m2_to_mg_cm2, time_axis

__all__ = [
    "MIN_SPC_SAMPLES",
    "CoatWeightSpc",
    "LiveHistory",
    "LiveSample",
    "coat_weight_spc",
    "live_view_app",
    "render_page",
    "start_live_view",
]

#: Fewest fresh gauge samples for control limits and Cpk ("too few samples" below).
MIN_SPC_SAMPLES = 5
#: Most points drawn per line (min/max decimation above it); statistics use every sample.
MAX_PLOT_POINTS = 600
#: Events kept for the page (independent of the sample window).
MAX_EVENTS = 100
#: Events listed on the page, newest first.
EVENTS_SHOWN = 8

_LIMIT_COLOR = "#c0392b"
_TARGET_COLOR = "#1e8449"
_CONTROL_COLOR = "#5d6d7e"
_SAMPLE_COLOR = "#1f4e79"
#: Zone lines: tab10 without its red, which is the limits' colour.
_ZONE_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_DPI = 100


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class LiveSample:
    """One control interval of the running line.

    Attributes
    ----------
    t_s : float
        Simulated time, s.
    coat_weight_kg_m2 : float
        The gauge's latest reading, kg/m2 (NaN when there is none yet).
    coat_weight_fresh : bool
        True when the gauge gave a new sample this interval.
    zone_lel_frac : tuple of float
        Each zone's measured LEL use as a fraction of the LEL (NaN where the
        zone's analyser has failed).
    lel_limit_frac : float
        The LEL limit in force, as a fraction of the LEL.
    energy_kWh_m2 : float
        Running total of primary drying energy per coated m2 so far, kWh/m2.
    mode : str
        Controller/PLC mode, e.g. ``"remote"`` or ``"recipe"``.
    controller_healthy : bool
        Heartbeat alive and no solver failure.
    events : tuple of str
        Events logged this interval (e.g. ``"watchdog: recipe mode"``).
    """

    t_s: float
    coat_weight_kg_m2: float
    coat_weight_fresh: bool
    zone_lel_frac: tuple[float, ...]
    lel_limit_frac: float
    energy_kWh_m2: float
    mode: str
    controller_healthy: bool
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoatWeightSpc:
    """Individuals-chart limits and Cpk of the coat-weight samples shown.

    All values but ``n`` are NaN with fewer than :data:`MIN_SPC_SAMPLES`
    samples; ``cpk`` is also NaN when the samples do not vary.

    Attributes
    ----------
    n : int
        Gauge samples used.
    centre_kg_m2 : float
        Centre line: mean of the samples, kg/m2.
    lcl_kg_m2, ucl_kg_m2 : float
        Control limits, ``centre -+ 2.66 * mr_bar``, kg/m2.
    mr_bar_kg_m2 : float
        Mean moving range of consecutive samples, kg/m2.
    sigma_kg_m2 : float
        Short-term standard deviation ``mr_bar / 1.128``, kg/m2.
    cpk : float
        ``min(USL - mean, mean - LSL) / (3 sigma)``.
    """

    n: int
    centre_kg_m2: float
    lcl_kg_m2: float
    ucl_kg_m2: float
    mr_bar_kg_m2: float
    sigma_kg_m2: float
    cpk: float

    @property
    def enough(self) -> bool:
        """True when there were enough samples for limits (:data:`MIN_SPC_SAMPLES`)."""
        return math.isfinite(self.centre_kg_m2)


def coat_weight_spc(
    x_kg_m2: ArrayLike,
    lsl_kg_m2: float,
    usl_kg_m2: float,
    *,
    min_samples: int = MIN_SPC_SAMPLES,
) -> CoatWeightSpc:
    """I-MR control limits and Cpk of coat-weight individuals.

    Parameters
    ----------
    x_kg_m2 : array_like
        Gauge samples in production order, kg/m2 (non-finite values dropped).
    lsl_kg_m2, usl_kg_m2 : float
        Specification limits, kg/m2.
    min_samples : int
        Fewest samples for limits and Cpk.

    Returns
    -------
    CoatWeightSpc
        Limits and Cpk (NaN with too few samples).

    Examples
    --------
    >>> s = coat_weight_spc([0.200, 0.202, 0.199, 0.201, 0.200], 0.196, 0.204)
    >>> round(s.centre_kg_m2, 4), round(s.mr_bar_kg_m2, 4), round(s.cpk, 2)
    (0.2004, 0.002, 0.68)
    """
    x = np.asarray(x_kg_m2, dtype=float).ravel()
    x = x[np.isfinite(x)]
    nan = math.nan
    lim = imr_limits(x) if x.size >= max(2, min_samples) else None
    if lim is None:
        return CoatWeightSpc(int(x.size), nan, nan, nan, nan, nan, nan)
    sigma = lim.mr_bar / D2
    cpk = min(usl_kg_m2 - lim.centre, lim.centre - lsl_kg_m2) / (3.0 * sigma) if sigma > 0 else nan
    return CoatWeightSpc(
        n=lim.n,
        centre_kg_m2=lim.centre,
        lcl_kg_m2=lim.lcl,
        ucl_kg_m2=lim.ucl,
        mr_bar_kg_m2=lim.mr_bar,
        sigma_kg_m2=sigma,
        cpk=cpk,
    )


@dataclass(frozen=True)
class _Snapshot:
    """A consistent copy of a :class:`LiveHistory` window, as arrays."""

    version: int
    scenario: str
    target: float
    lsl: float
    usl: float
    max_samples: int
    t_s: np.ndarray
    coat_weight: np.ndarray
    fresh: np.ndarray
    lel: np.ndarray  # (n, zones)
    limit: np.ndarray
    energy: np.ndarray
    latest: LiveSample | None
    events: tuple[tuple[float, str], ...]

    @property
    def gauge_t(self) -> np.ndarray:
        return self.t_s[self.fresh]

    @property
    def gauge_x(self) -> np.ndarray:
        return self.coat_weight[self.fresh]


def _nan_inf(a: np.ndarray) -> np.ndarray:
    """Non-finite values (an infinite energy per m2 before any is coated) as NaN: gaps."""
    a[~np.isfinite(a)] = np.nan
    return a


class LiveHistory:
    """The latest control intervals of a running line, for the live view.

    Appending is cheap (one deque append under a lock), so the line can call
    :meth:`append` every interval from its loop; readers take a consistent
    snapshot from any thread.

    Parameters
    ----------
    coat_weight_target_kg_m2 : float
        Coat-weight target, kg/m2.
    coat_weight_lsl_kg_m2, coat_weight_usl_kg_m2 : float
        Coat-weight specification limits, kg/m2.
    scenario : str
        Scenario name shown in the page title.
    max_samples : int
        Intervals kept (older ones drop out of the charts and statistics).

    Raises
    ------
    ValueError
        If the limits are not finite with LSL < USL, or ``max_samples < 1``.
    """

    def __init__(
        self,
        *,
        coat_weight_target_kg_m2: float,
        coat_weight_lsl_kg_m2: float,
        coat_weight_usl_kg_m2: float,
        scenario: str,
        max_samples: int = 3600,
    ) -> None:
        lims = (coat_weight_lsl_kg_m2, coat_weight_target_kg_m2, coat_weight_usl_kg_m2)
        if not all(math.isfinite(v) for v in lims) or not lims[0] < lims[2]:
            raise ValueError(f"coat-weight LSL/target/USL must be finite with LSL < USL: {lims}")
        if int(max_samples) < 1:
            raise ValueError(f"max_samples must be at least 1, not {max_samples}")
        self.coat_weight_target_kg_m2 = float(coat_weight_target_kg_m2)
        self.coat_weight_lsl_kg_m2 = float(coat_weight_lsl_kg_m2)
        self.coat_weight_usl_kg_m2 = float(coat_weight_usl_kg_m2)
        self.scenario = str(scenario)
        self.max_samples = int(max_samples)
        self._samples: deque[LiveSample] = deque(maxlen=self.max_samples)
        self._events: deque[tuple[float, str]] = deque(maxlen=MAX_EVENTS)
        self._version = 0
        self._lock = threading.Lock()

    def append(self, s: LiveSample) -> None:
        """Add one control interval (the oldest drops out beyond ``max_samples``).

        Parameters
        ----------
        s : LiveSample
            The interval.

        Raises
        ------
        TypeError
            If ``s`` is not a :class:`LiveSample`.
        """
        if not isinstance(s, LiveSample):
            raise TypeError(f"expected a LiveSample, got {type(s).__name__}")
        with self._lock:
            self._samples.append(s)
            self._events.extend((float(s.t_s), str(e)) for e in s.events)
            self._version += 1

    def __len__(self) -> int:
        """Intervals held (at most ``max_samples``)."""
        with self._lock:
            return len(self._samples)

    @property
    def version(self) -> int:
        """Intervals appended so far (changes whenever the history does)."""
        with self._lock:
            return self._version

    @property
    def latest(self) -> LiveSample | None:
        """The last interval appended, or None before the first."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    def samples(self) -> list[LiveSample]:
        """The intervals held, oldest first (a copy)."""
        with self._lock:
            return list(self._samples)

    def events(self, n: int = EVENTS_SHOWN) -> list[tuple[float, str]]:
        """The last ``n`` events as ``(t_s, text)``, newest first."""
        with self._lock:
            ev = list(self._events)
        return ev[::-1][: max(0, int(n))]

    def coat_weight_spc(self) -> CoatWeightSpc:
        """I-MR limits and Cpk of the fresh gauge samples held (see :func:`coat_weight_spc`)."""
        snap = self._snapshot()
        return coat_weight_spc(snap.gauge_x, snap.lsl, snap.usl)

    def _snapshot(self) -> _Snapshot:
        with self._lock:
            samples = list(self._samples)
            events = tuple(self._events)
            version = self._version
        n = len(samples)
        zones = max((len(s.zone_lel_frac) for s in samples), default=0)
        lel = np.full((n, zones), np.nan)
        for i, s in enumerate(samples):
            lel[i, : len(s.zone_lel_frac)] = s.zone_lel_frac
        return _Snapshot(
            version=version,
            scenario=self.scenario,
            target=self.coat_weight_target_kg_m2,
            lsl=self.coat_weight_lsl_kg_m2,
            usl=self.coat_weight_usl_kg_m2,
            max_samples=self.max_samples,
            t_s=np.fromiter((s.t_s for s in samples), float, n),
            coat_weight=_nan_inf(np.fromiter((s.coat_weight_kg_m2 for s in samples), float, n)),
            fresh=np.fromiter((bool(s.coat_weight_fresh) for s in samples), bool, n),
            lel=_nan_inf(lel),
            limit=_nan_inf(np.fromiter((s.lel_limit_frac for s in samples), float, n)),
            energy=_nan_inf(np.fromiter((s.energy_kWh_m2 for s in samples), float, n)),
            latest=samples[-1] if samples else None,
            events=events,
        )


# ---------------------------------------------------------------- JSON


def _num(x: float) -> float | None:
    """A float for JSON: None where not finite."""
    x = float(x)
    return x if math.isfinite(x) else None


def _data(snap: _Snapshot) -> dict[str, Any]:
    """The latest values as a JSON-ready dict (SI values, unit in the key)."""
    spc = coat_weight_spc(snap.gauge_x, snap.lsl, snap.usl)
    s = snap.latest
    gauge_t = snap.gauge_t
    return {
        "scenario": snap.scenario,
        "waiting": s is None,
        "n_samples": int(snap.t_s.size),
        "version": snap.version,
        "t_s": None if s is None else _num(s.t_s),
        "mode": None if s is None else s.mode,
        "controller_healthy": None if s is None else bool(s.controller_healthy),
        "coat_weight_kg_m2": None if s is None else _num(s.coat_weight_kg_m2),
        "coat_weight_fresh": None if s is None else bool(s.coat_weight_fresh),
        "last_gauge_t_s": _num(gauge_t[-1]) if gauge_t.size else None,
        "zone_lel_frac": [] if s is None else [_num(v) for v in s.zone_lel_frac],
        "lel_limit_frac": None if s is None else _num(s.lel_limit_frac),
        "energy_kWh_m2": None if s is None else _num(s.energy_kWh_m2),
        "coat_weight_spec": {
            "target_kg_m2": snap.target,
            "lsl_kg_m2": snap.lsl,
            "usl_kg_m2": snap.usl,
        },
        "coat_weight_spc": {
            "n": spc.n,
            "centre_kg_m2": _num(spc.centre_kg_m2),
            "lcl_kg_m2": _num(spc.lcl_kg_m2),
            "ucl_kg_m2": _num(spc.ucl_kg_m2),
            "mr_bar_kg_m2": _num(spc.mr_bar_kg_m2),
            "sigma_kg_m2": _num(spc.sigma_kg_m2),
            "cpk": _num(spc.cpk),
        },
        "events": [{"t_s": t, "text": e} for t, e in reversed(snap.events[-EVENTS_SHOWN:])],
    }


# ---------------------------------------------------------------- charts


def _figure(width_in: float, height_in: float, legend_in: float = 0.0) -> tuple[Figure, Axes]:
    """A figure with one axes in fixed margins (inches), ``legend_in`` kept free on the right.

    Fixed margins instead of constrained layout: the layout pass costs a second
    draw, which is most of a render.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    left, right, bottom, top = 0.75, 0.2 + legend_in, 0.5, 0.35
    fig.subplots_adjust(
        left=left / width_in,
        right=1.0 - right / width_in,
        bottom=bottom / height_in,
        top=1.0 - top / height_in,
    )
    return fig, fig.add_subplot()


def _legend(ax: Axes) -> None:
    """Legend outside the axes on the right, so it never hides data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            frameon=False,
        )


def _style(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    ax.grid(True, color="0.9", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _note(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="0.35",
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"},
    )


def _to_svg(fig: Figure, prefix: str, label: str) -> str:
    """Inline SVG of a figure: ids prefixed (several share a page), width follows the page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    label = html.escape(label, quote=True)
    return f'{head} class="chart" role="img" aria-label="{label}">{rest}'


def _coat_weight_chart(snap: _Snapshot, spc: CoatWeightSpc, div: float, xlabel: str) -> str:
    fig, ax = _figure(10.5, 3.2, legend_in=1.75)
    t, x = snap.gauge_t / div, kg_m2_to_mg_cm2(snap.gauge_x)
    mg = kg_m2_to_mg_cm2
    ax.axhline(mg(snap.usl), color=_LIMIT_COLOR, lw=1.2, label=f"USL {mg(snap.usl):.2f}")
    ax.axhline(
        mg(snap.target), color=_TARGET_COLOR, lw=1.2, ls="--", label=f"target {mg(snap.target):.2f}"
    )
    ax.axhline(mg(snap.lsl), color=_LIMIT_COLOR, lw=1.2, label=f"LSL {mg(snap.lsl):.2f}")
    if spc.enough:
        ax.axhline(
            mg(spc.ucl_kg_m2),
            color=_CONTROL_COLOR,
            lw=1.0,
            ls=(0, (4, 3)),
            label=f"UCL {mg(spc.ucl_kg_m2):.3f}",
        )
        ax.axhline(
            mg(spc.centre_kg_m2),
            color=_CONTROL_COLOR,
            lw=1.0,
            label=f"CL (mean) {mg(spc.centre_kg_m2):.3f}",
        )
        ax.axhline(
            mg(spc.lcl_kg_m2),
            color=_CONTROL_COLOR,
            lw=1.0,
            ls=(0, (4, 3)),
            label=f"LCL {mg(spc.lcl_kg_m2):.3f}",
        )
    if x.size:
        td, xd, _ = minmax_decimate(t, x, MAX_PLOT_POINTS)
        ax.plot(
            td,
            xd,
            color=_SAMPLE_COLOR,
            lw=0.7,
            marker="o",
            ms=2.8,
            label=f"gauge sample (n = {x.size})",
        )
        if spc.enough:
            out = (snap.gauge_x > spc.ucl_kg_m2) | (snap.gauge_x < spc.lcl_kg_m2)
            if out.any():
                ax.plot(
                    t[out],
                    x[out],
                    ls="none",
                    marker="o",
                    ms=5,
                    mfc="none",
                    mec=_LIMIT_COLOR,
                    mew=1.2,
                    label="beyond control limits",
                )
    _xlim(ax, snap, div)
    if not spc.enough:
        _note(
            ax,
            "no gauge sample yet"
            if not x.size
            else f"too few samples for control limits (n = {x.size} of {MIN_SPC_SAMPLES})",
        )
    _style(
        ax,
        xlabel,
        "coat weight (mg/cm²)",
        "Coat weight, individuals chart (I-MR limits from the samples shown)",
    )
    _legend(ax)
    return _to_svg(fig, "cw", "coat weight individuals chart with spec and control limits")


def _xlim(ax: Axes, snap: _Snapshot, div: float) -> None:
    """The window's time span (the charts share it), at least one unit wide."""
    t0, t1 = float(snap.t_s[0]) / div, float(snap.t_s[-1]) / div
    ax.set_xlim(t0, t1 if t1 > t0 else t0 + 1.0)


def _lel_chart(snap: _Snapshot, div: float, xlabel: str) -> str:
    fig, ax = _figure(10.5, 3.2, legend_in=1.75)
    t = snap.t_s / div
    now = snap.lel[-1]
    top = 0.0
    for z in range(snap.lel.shape[1]):
        y = frac_to_pct(snap.lel[:, z])
        failed = not np.isfinite(now[z])
        td, yd, _ = minmax_decimate(t, y, MAX_PLOT_POINTS)
        label = f"zone {z + 1}" + (" (analyser failed)" if failed else "")
        ax.plot(td, yd, lw=1.1, color=_ZONE_COLORS[z % len(_ZONE_COLORS)], label=label)
        top = max(top, float(np.nanmax(y, initial=0.0)))
    tc, lc = change_points(t, frac_to_pct(snap.limit))
    ax.plot(tc, lc, drawstyle="steps-post", color=_LIMIT_COLOR, lw=2.0, label="LEL limit in force")
    top = max(top, float(np.nanmax(lc, initial=0.0)))
    ax.set_ylim(bottom=0.0, top=max(5.0, 1.1 * top))
    _xlim(ax, snap, div)
    _style(ax, xlabel, "LEL use (% LEL)", "Zone LEL use (measured) and the LEL limit in force")
    _legend(ax)
    return _to_svg(fig, "lel", "measured percent LEL per zone against the LEL limit in force")


def _energy_chart(snap: _Snapshot, div: float, xlabel: str) -> str:
    fig, ax = _figure(6.0, 3.0)
    td, yd, _ = minmax_decimate(snap.t_s / div, snap.energy, MAX_PLOT_POINTS)
    ax.plot(td, yd, color="#6c3483", lw=1.3)
    if not np.isfinite(snap.energy).any():
        _note(ax, "no coated area yet")
    _xlim(ax, snap, div)
    _style(ax, xlabel, "energy (kWh/m²)", "Drying energy per coated m² (primary, running total)")
    return _to_svg(fig, "en", "drying energy per coated square metre over time")


# ---------------------------------------------------------------- page

_CSS = """
:root { --ink: #1c2833; --muted: #5d6d7e; --line: #d5d8dc; --bg: #f4f6f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color: var(--ink); background: var(--bg); }
header { background: #1c2833; color: #fff; padding: 10px 18px; display: flex; flex-wrap: wrap;
         align-items: center; gap: 10px 18px; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header .time { font-variant-numeric: tabular-nums; }
main { padding: 12px 18px 18px; max-width: 1500px; margin: 0 auto; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 11px; font-weight: 600;
         font-size: 13px; }
.ok { background: #1e8449; color: #fff; } .warn { background: #d68910; color: #fff; }
.bad { background: #c0392b; color: #fff; } .neutral { background: #85929e; color: #fff; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px;
         margin-bottom: 12px; }
.card, .panel { background: #fff; border: 1px solid var(--line); border-radius: 6px;
                padding: 8px 12px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .u { color: var(--muted); font-size: 13px; margin-left: 3px; }
.card .s { color: var(--muted); font-size: 12px; }
.card.alarm { border-color: #c0392b; box-shadow: inset 4px 0 0 #c0392b; }
.grid2 { display: grid; grid-template-columns: 1fr; gap: 12px; margin-top: 12px; }
@media (min-width: 1000px) { .grid2 { grid-template-columns: 3fr 2fr; } }
main > .panel + .panel { margin-top: 12px; }
svg.chart { width: 100%; height: auto; display: block; }
.events ol { margin: 4px 0 0; padding-left: 0; list-style: none; }
.events li { padding: 2px 0; border-bottom: 1px solid #eef0f1; font-size: 13px; }
.events .t { color: var(--muted); font-variant-numeric: tabular-nums; display: inline-block;
             min-width: 80px; }
.waiting { font-size: 18px; color: var(--muted); padding: 40px 0; text-align: center; }
footer { color: var(--muted); font-size: 12px; margin-top: 10px; }
#conn { display: none; background: #c0392b; color: #fff; padding: 6px 18px; }
body[data-connection="lost"] #conn { display: block; }
"""

_SCRIPT = """
(() => {
  const period = %d;
  async function tick() {
    try {
      const r = await fetch(location.pathname, {cache: "no-store"});
      if (!r.ok) throw new Error("HTTP " + r.status);
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("live");
      if (fresh) document.getElementById("live").replaceWith(document.adoptNode(fresh));
      document.body.dataset.connection = "ok";
    } catch (e) {
      document.body.dataset.connection = "lost";
    }
    setTimeout(tick, period);
  }
  setTimeout(tick, period);
})();
"""


def _hms(t_s: float) -> str:
    if not math.isfinite(t_s):
        return ""
    s = round(t_s)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _value(id_: str, text: str, si: float | str | None) -> str:
    """An element with a stable id: display text, and the SI value in ``data-value``."""
    if isinstance(si, float):
        si = repr(si) if math.isfinite(si) else ""
    data = "" if si is None else f' data-value="{html.escape(str(si), quote=True)}"'
    return f'<span class="v" id="{id_}"{data}>{html.escape(text)}</span>'


def _card(key: str, value: str, unit: str = "", sub: str = "", alarm: bool = False) -> str:
    u = f'<span class="u">{html.escape(unit)}</span>' if unit else ""
    s = f'<div class="s">{sub}</div>' if sub else ""
    cls = "card alarm" if alarm else "card"
    return f'<div class="{cls}"><div class="k">{html.escape(key)}</div>{value}{u}{s}</div>'


def _fmt(x: float, spec: str, missing: str = "n/a") -> str:
    return format(x, spec) if math.isfinite(x) else missing


def _mode_class(mode: str) -> str:
    return {"remote": "ok", "recipe": "warn"}.get(mode.lower(), "neutral")


def _header(scenario: str, s: LiveSample | None) -> str:
    """Title bar: scenario, simulated time, mode and health badges."""
    if s is None:
        time_text, mode, mode_cls, health, health_cls = "n/a", "n/a", "neutral", "n/a", "neutral"
        t_si: float | None = None
    else:
        t_si = float(s.t_s)
        time_text = f"{t_si:.1f} s"
        mode, mode_cls = s.mode, _mode_class(s.mode)
        health = "healthy" if s.controller_healthy else "unhealthy"
        health_cls = "ok" if s.controller_healthy else "bad"
    hms = f" ({_hms(t_si)})" if t_si is not None and math.isfinite(t_si) else ""
    return (
        f"<header><h1>calmline live view: {html.escape(scenario)}</h1>"
        f'<span class="time">simulated time {_value("sim-time", time_text, t_si)}{hms}</span>'
        f'<span>mode <span class="badge {mode_cls}" id="mode">{html.escape(mode)}</span></span>'
        f'<span>controller <span class="badge {health_cls}" id="health">{health}</span></span>'
        "</header>"
    )


def _live_body(snap: _Snapshot) -> str:
    """The ``<div id="live">`` content: everything that changes between refreshes."""
    s = snap.latest
    head = _header(snap.scenario, s)
    if s is None:
        return (
            f'<div id="live" data-samples="0" data-version="{snap.version}">{head}'
            '<main><p class="waiting">waiting for the first interval</p></main></div>'
        )
    spc = coat_weight_spc(snap.gauge_x, snap.lsl, snap.usl)
    span = float(snap.t_s[-1] - snap.t_s[0])
    div, xlabel = time_axis(span)
    charts_cw = _coat_weight_chart(snap, spc, div, xlabel)
    charts_lel = _lel_chart(snap, div, xlabel)
    charts_en = _energy_chart(snap, div, xlabel)

    # coat weight: latest gauge reading and its age
    cw = float(s.coat_weight_kg_m2)
    gauge_t = snap.gauge_t
    if gauge_t.size:
        cw_sub = f"gauge sample at {gauge_t[-1]:.0f} s" + (
            " (this interval)" if s.coat_weight_fresh else ""
        )
    else:
        cw_sub = "no gauge sample in the window"
    cw_alarm = math.isfinite(cw) and not snap.lsl <= cw <= snap.usl
    cw_sub += (
        f"<br>spec {kg_m2_to_mg_cm2(snap.lsl):.2f} to {kg_m2_to_mg_cm2(snap.usl):.2f},"
        f" target {kg_m2_to_mg_cm2(snap.target):.2f}"
    )
    if spc.enough:
        cpk_sub = (
            f"I-MR over {spc.n} samples: CL {kg_m2_to_mg_cm2(spc.centre_kg_m2):.3f}, "
            f"σ {kg_m2_to_mg_cm2(spc.sigma_kg_m2):.4f} mg/cm²"
        )
    else:
        cpk_sub = f"too few samples ({spc.n} of {MIN_SPC_SAMPLES})"
    cpk_alarm = math.isfinite(spc.cpk) and spc.cpk < 1.0

    lel_now = np.asarray(s.zone_lel_frac, dtype=float)
    failed = [str(i + 1) for i in np.flatnonzero(~np.isfinite(lel_now))]
    limit = float(s.lel_limit_frac)
    if np.isfinite(lel_now).any():
        z = int(np.nanargmax(lel_now))
        lel_max, lel_zone = float(lel_now[z]), f"zone {z + 1}"
    else:
        lel_max, lel_zone = math.nan, "no analyser reading"
    lel_sub = "analyser failed: zone " + ", ".join(failed) if failed else "all analysers reading"
    energy = float(s.energy_kWh_m2)
    cards = "".join(
        [
            _card(
                "coat weight (latest gauge)",
                _value("coat-weight", _fmt(kg_m2_to_mg_cm2(cw), ".3f"), cw),
                "mg/cm²",
                cw_sub,
                cw_alarm,
            ),
            _card(
                "coat-weight Cpk (samples shown)",
                _value("cpk", _fmt(spc.cpk, ".2f"), spc.cpk),
                "",
                cpk_sub,
                cpk_alarm,
            ),
            _card(
                "LEL limit in force",
                _value("lel-limit", _fmt(frac_to_pct(limit), ".1f"), limit),
                "% LEL",
                lel_sub,
                bool(failed),
            ),
            _card(
                "highest zone LEL now",
                _value("lel-max", _fmt(frac_to_pct(lel_max), ".1f"), lel_max),
                "% LEL",
                lel_zone,
                math.isfinite(lel_max) and lel_max > limit,
            ),
            _card(
                "drying energy (primary)",
                _value("energy-kwh-m2", _fmt(energy, ".3f"), energy),
                "kWh/m²",
                "running total per coated m²",
            ),
        ]
    )
    ev = snap.events[-EVENTS_SHOWN:][::-1]
    items = (
        "".join(f'<li><span class="t">{t:.0f} s</span> {html.escape(e)}</li>' for t, e in ev)
        or '<li class="none">no events yet</li>'
    )
    events = f'<div class="panel events" id="events"><b>Last events</b><ol>{items}</ol></div>'
    n = int(snap.t_s.size)
    foot = (
        f"<footer>{n} interval{'s' if n != 1 else ''} shown ({snap.t_s[0]:.0f} s to "
        f"{snap.t_s[-1]:.0f} s; window {snap.max_samples} intervals). Coat weight in mg/cm² "
        "(1 kg/m² = 100 mg/cm²); lines drawn with at most "
        f"{MAX_PLOT_POINTS} points (min/max per bucket), statistics use every sample. "
        'Latest values as JSON: <a href="data.json">data.json</a>.</footer>'
    )
    return (
        f'<div id="live" data-samples="{n}" data-version="{snap.version}">{head}<main>'
        f'<div class="cards">{cards}</div>'
        f'<div class="panel">{charts_cw}</div>'
        f'<div class="panel">{charts_lel}</div>'
        f'<div class="grid2"><div class="panel">{charts_en}</div>{events}</div>{foot}</main></div>'
    )


def _page(snap: _Snapshot, refresh_s: float) -> str:
    refresh_ms = max(100, round(1000 * refresh_s))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>calmline live: {html.escape(snap.scenario)}</title>"
        f'<noscript><meta http-equiv="refresh" content="{refresh_ms / 1000:g}"></noscript>'
        f"<style>{_CSS}</style></head><body>"
        '<div id="conn">connection to the line lost; retrying</div>'
        f"{_live_body(snap)}<script>{_SCRIPT % refresh_ms}</script></body></html>\n"
    )


def render_page(history: LiveHistory, *, refresh_s: float = 2.0) -> str:
    """The live page of a history as one self-contained HTML document.

    Parameters
    ----------
    history : LiveHistory
        The line's latest intervals.
    refresh_s : float
        Period of the page's self-refresh, s.

    Returns
    -------
    str
        HTML with the charts as inline SVG (no external resources).
    """
    return _page(history._snapshot(), refresh_s)


# ---------------------------------------------------------------- server


class _Renderer:
    """Renders the page once per history version, in one worker thread."""

    def __init__(self, history: LiveHistory, refresh_s: float) -> None:
        self.history = history
        self.refresh_s = refresh_s
        self.executor: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._cache: tuple[int, str] | None = None

    async def page(self) -> str:
        async with self._lock:
            if self._cache is not None and self._cache[0] == self.history.version:
                return self._cache[1]
            snap = self.history._snapshot()
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(self.executor, _page, snap, self.refresh_s)
            self._cache = (snap.version, text)
            return text


_RENDERER = web.AppKey("calmline_live_renderer", _Renderer)
_NO_STORE = {"Cache-Control": "no-store"}


async def _get_page(request: web.Request) -> web.Response:
    text = await request.app[_RENDERER].page()
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=_NO_STORE)


async def _get_data(request: web.Request) -> web.Response:
    data = _data(request.app[_RENDERER].history._snapshot())
    return web.json_response(data, headers=_NO_STORE)


async def _start_executor(app: web.Application) -> None:
    app[_RENDERER].executor = ThreadPoolExecutor(1, thread_name_prefix="calmline-liveview")


async def _stop_executor(app: web.Application) -> None:
    ex = app[_RENDERER].executor
    if ex is not None:
        ex.shutdown(wait=False, cancel_futures=True)


def live_view_app(history: LiveHistory, *, refresh_s: float = 2.0) -> web.Application:
    """The live view as an aiohttp application (``GET /`` and ``GET /data.json``).

    Parameters
    ----------
    history : LiveHistory
        The line's latest intervals (appended to by the caller while it runs).
    refresh_s : float
        Period of the page's self-refresh, s.

    Returns
    -------
    aiohttp.web.Application
        The application; its render thread starts and stops with it.

    Raises
    ------
    ValueError
        If ``refresh_s`` is not positive and finite.
    """
    if not (math.isfinite(refresh_s) and refresh_s > 0):
        raise ValueError(f"refresh_s must be positive, not {refresh_s}")
    app = web.Application()
    app[_RENDERER] = _Renderer(history, float(refresh_s))
    app.router.add_get("/", _get_page)
    app.router.add_get("/data.json", _get_data)
    app.on_startup.append(_start_executor)
    app.on_cleanup.append(_stop_executor)
    return app


async def start_live_view(
    history: LiveHistory, host: str, port: int, *, refresh_s: float = 2.0
) -> web.AppRunner:
    """Serve the live view on the running loop.

    Parameters
    ----------
    history : LiveHistory
        The line's latest intervals.
    host : str
        Address to listen on, e.g. ``"127.0.0.1"``.
    port : int
        TCP port (0: a free one, read back from ``runner.addresses``).
    refresh_s : float
        Period of the page's self-refresh, s.

    Returns
    -------
    aiohttp.web.AppRunner
        The started runner; the caller awaits ``runner.cleanup()`` to stop it.
    """
    runner = web.AppRunner(live_view_app(history, refresh_s=refresh_s), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
