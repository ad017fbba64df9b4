"""Figure plumbing shared by the chart modules: headless Agg figures to PNG bytes.

Figures are made with :class:`matplotlib.figure.Figure` directly (never
``pyplot``), so the report touches no global matplotlib state and runs
headless whatever backend the caller has selected.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mpc.report._series import MAX_LINE_POINTS, change_points, minmax_decimate
from mpc.report._view import RunView

__all__ = [
    "DECIMATION_NOTE",
    "DPI",
    "Chart",
    "Note",
    "new_figure",
    "plot_line",
    "plot_steps",
    "shade_time",
    "side_legend",
    "to_png",
]

DPI = 100
WARMUP_COLOR = "0.85"
STOP_COLOR = "#f4c7c3"
#: Caption sentence added wherever a line was decimated for plotting.
DECIMATION_NOTE = (
    " Lines are decimated for plotting (min/max per bucket, so peaks stay visible); "
    "KPIs use every sample."
)
LIMIT_COLOR = "#c0392b"


@dataclass(frozen=True)
class Chart:
    """A rendered chart.

    Attributes
    ----------
    name : str
        File stem of the PNG (``<name>.png``).
    alt : str
        Alternative text (what the chart shows).
    caption : str
        Caption under the chart.
    png : bytes
        PNG image.
    """

    name: str
    alt: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Note:
    """A chart that could not be drawn, and why (missing columns, no data)."""

    name: str
    title: str
    text: str


def new_figure(width_in: float = 10.0, height_in: float = 4.0) -> Figure:
    """A constrained-layout Agg figure at the report's resolution."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (no timestamp or version in the file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def plot_line(
    ax: Axes, x: np.ndarray, y: np.ndarray, *, max_points: int = MAX_LINE_POINTS, **kw: object
) -> bool:
    """Plot a line decimated by min/max buckets; return True if it was decimated."""
    xd, yd, dec = minmax_decimate(np.asarray(x), np.asarray(y), max_points)
    ax.plot(xd, yd, **kw)  # type: ignore[arg-type]
    return dec


def plot_steps(ax: Axes, x: np.ndarray, y: np.ndarray, **kw: object) -> None:
    """Plot a piecewise-constant signal (limit, schedule) exactly, as post-steps."""
    xc, yc = change_points(np.asarray(x), np.asarray(y))
    ax.plot(xc, yc, drawstyle="steps-post", **kw)  # type: ignore[arg-type]


def shade_time(ax: Axes, view: RunView, *, label: bool = True) -> None:
    """Shade the warm-up period (grey) and line stops (light red) on a time axis."""
    t0 = float(view.t_s[0]) if len(view.t_s) else 0.0
    if view.warmup_s > t0:
        ax.axvspan(
            t0 / view.t_div,
            view.warmup_s / view.t_div,
            color=WARMUP_COLOR,
            alpha=0.6,
            lw=0,
            zorder=0,
            label="warm-up" if label else None,
        )
    for i, (a, b) in enumerate(view.stops_s):
        ax.axvspan(
            a / view.t_div,
            b / view.t_div,
            color=STOP_COLOR,
            alpha=0.7,
            lw=0,
            zorder=0,
            label="line stopped" if (label and i == 0) else None,
        )


def side_legend(ax: Axes, fontsize: float = 7.5) -> None:
    """Legend outside the axes on the right, so it never hides data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            fontsize=fontsize,
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            borderaxespad=0.0,
            frameon=False,
        )
