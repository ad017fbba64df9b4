"""Build the historical plant logs in ``scenarios/data/logs/`` (seeded, deterministic).

    .venv/bin/python scenarios/data/make_logs.py [--out DIR] [--force]

Each log is one shift of 1-minute rows whose outdoor weather is measured
typical-year weather read with pvlib's own TMY3 reader
(:func:`plants.weather.load_weather`: Greensboro ``723170TYA.CSV``, Sand
Point ``703165TY.csv``), interpolated linearly from the hourly values to
the minute, with a small seeded sensor noise and rounded as a logger
would. Slurry batch changes (about 1 wt% steps), solids drift in the tank,
heater and fan events and speed requests are added as documented in
``scenarios/data/logs/PROVENANCE.md``. The Miami file is reserved for
acceptance checks and is not used.

Running the script twice gives byte-identical files (a test checks that the
committed logs are this script's output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from plants.weather import humid_stretch, load_weather  # noqa: E402

__all__ = ["LOGS", "LogSpec", "build_log", "main", "write_logs"]

STEP_S = 60.0


@dataclass(frozen=True)
class LogSpec:
    """One log: weather window, events, file format."""

    file: str
    site: str
    start_utc: str | None  # None: the most humid stretch of the year
    hours: float
    seed: int
    columns: Callable[[np.ndarray, np.random.Generator], dict[str, np.ndarray]]
    stamp: Callable[[pd.DatetimeIndex], list[str]]
    temp_column: tuple[str, str]  # (name, "degC" | "degF")
    rh_column: str
    drop_rows_min: tuple[int, ...] = ()
    nan_rows_min: dict[str, tuple[int, ...]] | None = None


def _steps(t_h: np.ndarray, start: float, changes: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise-constant level: ``start``, then each ``(t_h, new level)``."""
    out = np.full_like(t_h, start)
    for t0, level in changes:
        out[t_h >= t0] = level
    return out


def _ramp(t_h: np.ndarray, t0_h: float, dur_h: float, frm: float, to: float) -> np.ndarray:
    """0 before ``t0_h``, a linear ramp ``frm -> to`` over ``dur_h``, then ``to`` (as an increment)."""
    x = np.clip((t_h - t0_h) / dur_h, 0.0, 1.0)
    return np.where(t_h < t0_h, 0.0, frm + (to - frm) * x)


def _solids(t_h: np.ndarray, rng: np.random.Generator, start_wt: float, batches: list[tuple[float, float]],
            drift_wt_per_h: float, walk_wt_per_sqrt_h: float) -> np.ndarray:
    """Solids in wt%: batch levels, drift since each batch began, a small random walk."""
    level = _steps(t_h, start_wt, batches)
    since = t_h.copy()
    for t0, _ in batches:
        since = np.where(t_h >= t0, t_h - t0, since)
    dt_h = STEP_S / 3600.0
    walk = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, walk_wt_per_sqrt_h * np.sqrt(dt_h), t_h.size - 1))))
    return level + drift_wt_per_h * since + walk


# ---------------------------------------------------------------- log A
def _greensboro_july(t_h: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    solids = _solids(t_h, rng, 65.0, [(50 / 60, 66.0), (5.5, 64.9), (9.75, 65.7)], 0.05, 0.02)
    heater3 = 1.0 + _ramp(t_h, 7.0, 0.75, 0.0, -0.15)
    speed = _steps(t_h, 30.0, [(3.0, 33.0), (8.5, 30.0)])
    return {
        "slurry_solids_wt_pct": np.round(solids, 2),
        "heater_efficiency_zone3": np.round(heater3, 3),
        "speed_request_m_min": np.round(speed, 1),
    }


# ---------------------------------------------------------------- log B
def _inlet_rh_pct(temp_K: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """Coating-room RH (the dryer's make-up air) through the graphite preset's building model."""
    from plants.backend import NumpyOps
    from plants.building import hvac_supply_humidity_ratio, room_rh_frac
    from plants.presets import get_preset

    bu = get_preset("graphite_water").building
    ops = NumpyOps()
    w_sup = np.asarray(hvac_supply_humidity_ratio(ops, temp_K, rh, bu), dtype=float)
    a = np.exp(-STEP_S / bu.room_time_constant_s)
    w = np.empty_like(w_sup)
    w[0] = w_sup[0]
    for k in range(1, w.size):
        w[k] = a * w[k - 1] + (1 - a) * w_sup[k]
    return 100.0 * np.asarray(room_rh_frac(ops, w, bu), dtype=float)


def _sand_point_graphite(t_h: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    solids = _solids(t_h, rng, 50.0, [(1.0, 51.0), (5.0, 49.8)], 0.04, 0.02) / 100.0
    fan2 = 0.98 - 0.02 * t_h
    fan2 = np.where(t_h >= 4 + 10 / 60, fan2 - 0.07, fan2)  # filter clogging
    fan2 = np.where(t_h >= 6.5, 1.0, fan2)  # filter changed
    speed = _steps(t_h, 30.0, [(2.0, 27.0), (2.5, 30.0)])
    return {
        "SLURRY_SOLIDS_FRAC": np.round(solids, 4),
        "FAN_FACTOR_Z2": np.round(fan2, 3),
        "LINE_SPEED_SP": np.round(speed, 1),
    }


# ---------------------------------------------------------------- log C
def _greensboro_january(t_h: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    solids = _solids(t_h, rng, 64.6, [(0.75, 65.5), (4.5, 64.7)], 0.03, 0.02)
    heater = _steps(t_h, 1.0, [(70 / 60, 0.90), (2 + 40 / 60, 1.0)])
    fan = _steps(t_h, 1.0, [(5.0, 0.93)])
    speed = _steps(t_h, 30.0, [(2.0, 32.0), (6.0, 30.0)])
    return {
        "slurry_solids_wt_pct": np.round(solids, 2),
        "heater_efficiency": np.round(heater, 3),
        "fan_flow_factor": np.round(fan, 3),
        "speed_request_m_min": np.round(speed, 1),
    }


def _iso_offset(offset_h: int) -> Callable[[pd.DatetimeIndex], list[str]]:
    def stamp(idx: pd.DatetimeIndex) -> list[str]:
        loc = idx.tz_convert(f"Etc/GMT{-offset_h:+d}")  # POSIX sign: Etc/GMT+5 is UTC-5
        return [t.isoformat() for t in loc]

    return stamp


def _utc_z(idx: pd.DatetimeIndex) -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in idx]


def _local_naive(zone: str) -> Callable[[pd.DatetimeIndex], list[str]]:
    def stamp(idx: pd.DatetimeIndex) -> list[str]:
        return [t.strftime("%Y-%m-%d %H:%M:%S") for t in idx.tz_convert(zone)]

    return stamp


LOGS: tuple[LogSpec, ...] = (
    LogSpec("greensboro_july_nmc.csv", "greensboro", None, 12.0, 20240701, _greensboro_july,
            _iso_offset(-5), ("ambient_temp_C", "degC"), "ambient_rh_pct"),
    LogSpec("sand_point_graphite.csv", "sand_point", "1990-09-12T14:00:00Z", 8.0, 20240912,
            _sand_point_graphite, _local_naive("America/Anchorage"), ("OAT_degF", "degF"), "OA_RH_pct"),
    LogSpec("greensboro_january_nmc.csv", "greensboro", "1990-01-17T03:00:00Z", 8.0, 20240117,
            _greensboro_january, _utc_z, ("ambient_temp_C", "degC"), "ambient_rh_pct",
            drop_rows_min=(190, 191), nan_rows_min={"ambient_rh_pct": (80, 81, 82)}),
)
"""The logs this script writes (see PROVENANCE.md)."""


def build_log(spec: LogSpec) -> pd.DataFrame:
    """The log of ``spec`` as the table written to its CSV file (text cells)."""
    rng = np.random.default_rng(spec.seed)
    wx = load_weather(spec.site)
    if spec.start_utc is None:
        win = humid_stretch(wx, spec.hours)
        start = win.index[0]
    else:
        start = pd.Timestamp(spec.start_utc)
    n = round(spec.hours * 3600 / STEP_S) + 1
    idx = start + pd.to_timedelta(np.arange(n) * STEP_S, unit="s")
    t_h = np.arange(n) * STEP_S / 3600.0
    x_wx = (wx.index - start).total_seconds().to_numpy(float)
    x = t_h * 3600.0
    temp_K = np.interp(x, x_wx, wx["outdoor_temp_K"].to_numpy(float)) + rng.normal(0.0, 0.05, n)
    rh = np.clip(np.interp(x, x_wx, wx["outdoor_rh_frac"].to_numpy(float)) + rng.normal(0.0, 0.003, n), 0.0, 1.0)
    name, unit = spec.temp_column
    temp = temp_K - 273.15 if unit == "degC" else (temp_K - 273.15) * 9.0 / 5.0 + 32.0
    cols: dict[str, np.ndarray] = {name: np.round(temp, 1), spec.rh_column: np.round(rh * 100.0, 1)}
    cols.update(spec.columns(t_h, rng))
    if spec.site == "sand_point":
        cols["DRYER_INLET_RH"] = np.round(_inlet_rh_pct(temp_K, rh), 1)
    time_col = "Time" if spec.site == "sand_point" else "timestamp"
    table = pd.DataFrame({time_col: spec.stamp(idx)})
    for c, v in cols.items():
        table[c] = [f"{x:g}" for x in v]
    for c, minutes in (spec.nan_rows_min or {}).items():
        for m in minutes:
            table.loc[m, c] = ""
    if spec.drop_rows_min:
        table = table.drop(index=list(spec.drop_rows_min)).reset_index(drop=True)
    return table


def write_logs(out: Path, force: bool = False) -> list[Path]:
    """Write every log of :data:`LOGS` into ``out``; existing files are kept unless ``force``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in LOGS:
        path = out / spec.file
        if path.exists() and not force:
            raise FileExistsError(f"{path} exists; pass --force to rewrite it")
        text = build_log(spec).to_csv(index=False, lineterminator="\n")
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "logs")
    ap.add_argument("--force", action="store_true", help="rewrite existing log files")
    args = ap.parse_args(argv)
    for p in write_logs(args.out, args.force):
        print(f"wrote {p} ({p.stat().st_size / 1024:.1f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
