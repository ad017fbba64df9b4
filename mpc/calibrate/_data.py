"""Calibration data: a calmline run log read, windowed and resampled.

A log is the ``timeseries.parquet`` (or a CSV export of it) that
``calmline run``, ``calmline compare`` or ``calmline steptest run`` writes:
a ``time_s`` index or column, the applied inputs under the model's input
names (``speed_m_s``, ``zone1_heater_power_cmd_W``, ...), the measurements
as ``meas_<sensor>`` and, where recorded, disturbances as ``dist_<name>``.

Timing convention of those logs: the row stamped ``T`` holds the inputs
and disturbances applied over ``[T - h, T)`` (``h`` the log's step) and the
measurements read at ``T - h``. :func:`resample` turns that into a grid
``t_k = t_start + k dt``: ``u_k`` and ``d_k`` are the means over
``[t_k, t_k + dt)``, ``y_k`` the reading taken at ``t_k`` (NaN where none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mpc.calibrate._errors import CalibrationError

__all__ = ["CalibrationData", "load_log", "resample"]

# Disturbances taken from the log when recorded (as dist_<name> or <name>);
# every other disturbance is the model's nominal value (see docs/calibration.md).
LOGGED_DISTURBANCES = ("outdoor_temp_K", "outdoor_rh_frac", "slurry_solids_frac")


@dataclass(frozen=True)
class CalibrationData:
    """Resampled calibration data on the grid ``t_s`` (``N + 1`` nodes, ``N`` intervals)."""

    source: str
    t_s: np.ndarray  # (N + 1,)
    u: np.ndarray  # (N, n_inputs), held over [t_k, t_k+1)
    d: np.ndarray  # (N, n_disturbances)
    y: np.ndarray  # (N + 1, n_outputs), NaN where no reading
    output_names: tuple[str, ...]
    log_step_s: float
    disturbances_from_log: tuple[str, ...]

    @property
    def dt_s(self) -> float:
        return float(self.t_s[1] - self.t_s[0])

    @property
    def n_intervals(self) -> int:
        return len(self.t_s) - 1


def load_log(path: str | Path) -> pd.DataFrame:
    """Read a calmline log (Parquet or CSV) indexed by ``time_s`` (s)."""
    p = Path(path)
    if not p.is_file():
        raise CalibrationError(f"log file {str(p)!r} not found")
    try:
        if p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
        elif p.suffix.lower() == ".csv":
            df = pd.read_csv(p)
        else:
            raise CalibrationError(f"{p}: unknown log format {p.suffix!r}; expected .parquet or .csv")
    except CalibrationError:
        raise
    except Exception as exc:  # unreadable file: say which
        raise CalibrationError(f"{p}: cannot read the log ({type(exc).__name__}: {exc})") from None
    if "time_s" in df.columns:
        df = df.set_index("time_s")
    elif df.index.name != "time_s":
        raise CalibrationError(f"{p}: no time column 'time_s' (seconds) and the index is not time_s")
    t = pd.to_numeric(pd.Series(df.index), errors="coerce").to_numpy(float)
    if len(t) < 3 or not np.all(np.isfinite(t)):
        raise CalibrationError(f"{p}: column 'time_s' must hold at least 3 finite times in seconds")
    if not np.all(np.diff(t) > 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise CalibrationError(f"{p}: column 'time_s' must increase; row {i + 1} has {t[i + 1]!r} after {t[i]!r}")
    df.index = pd.Index(t, name="time_s")
    return df


def _column(df: pd.DataFrame, name: str, source: str, what: str) -> np.ndarray:
    if name not in df.columns:
        raise CalibrationError(f"{source}: missing column {name!r} ({what})")
    col = pd.to_numeric(df[name], errors="coerce").to_numpy(float)
    return col


def parse_window(text: str | None) -> tuple[float | None, float | None]:
    """``"START:STOP"`` in seconds (either side may be empty) -> ``(start, stop)``."""
    if text is None or text.strip() in ("", ":"):
        return None, None
    parts = text.split(":")
    if len(parts) != 2:
        raise CalibrationError(f"--window {text!r}: expected START:STOP in seconds, e.g. 1800:7200")
    out: list[float | None] = []
    for s in parts:
        s = s.strip()
        if not s:
            out.append(None)
            continue
        try:
            out.append(float(s))
        except ValueError:
            raise CalibrationError(f"--window {text!r}: {s!r} is not a number of seconds") from None
    return out[0], out[1]


def resample(
    df: pd.DataFrame,
    *,
    source: str,
    input_names: list[str],
    disturbance_names: list[str],
    nominal_d: np.ndarray,
    output_names: list[str],
    window: tuple[float | None, float | None],
    dt_s: float,
) -> CalibrationData:
    """Window and resample a log onto the calibration grid (see the module docstring)."""
    t_row = df.index.to_numpy(float)
    h = float(np.median(np.diff(t_row)))
    t_read = t_row - h  # when the row's inputs started and its readings were taken
    lo_log, hi_log = float(t_read[0]), float(t_row[-1])
    start, stop = window
    start = lo_log if start is None else float(start)
    stop = hi_log if stop is None else float(stop)
    if not (np.isfinite(start) and np.isfinite(stop)) or stop <= start:
        raise CalibrationError(f"--window {start:g}:{stop:g}: STOP must be after START (seconds)")
    if start < lo_log - 1e-9 or stop > hi_log + 1e-9:
        raise CalibrationError(
            f"--window {start:g}:{stop:g} s is outside the log {source} (it covers {lo_log:g}:{hi_log:g} s)"
        )
    if not np.isfinite(dt_s) or dt_s < h - 1e-9:
        raise CalibrationError(f"--dt {dt_s!r}: expected at least the log's step, {h:g} s")
    n = int(np.floor((stop - start) / dt_s + 1e-9))
    if n < 5:
        raise CalibrationError(
            f"--window {start:g}:{stop:g} with --dt {dt_s:g} gives {n} intervals; expected at least 5"
        )
    grid = start + dt_s * np.arange(n + 1)
    u_cols = np.column_stack([_column(df, c, source, "applied input") for c in input_names])
    bins = np.floor((t_read - start) / dt_s + 1e-9).astype(int)
    u = np.full((n, len(input_names)), np.nan)
    d = np.tile(np.asarray(nominal_d, float), (n, 1))
    from_log: list[str] = []
    d_cols: dict[int, np.ndarray] = {}
    for j, name in enumerate(disturbance_names):
        if name not in LOGGED_DISTURBANCES:
            continue
        for col in (f"dist_{name}", name):
            if col in df.columns:
                d_cols[j] = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
                from_log.append(col)
                break
    for k in range(n):
        rows = bins == k
        if not rows.any():
            raise CalibrationError(f"{source}: no log rows between {grid[k]:g} and {grid[k + 1]:g} s")
        u[k] = np.nanmean(u_cols[rows], axis=0) if np.isfinite(u_cols[rows]).any() else np.nan
        for j, col in d_cols.items():
            vals = col[rows]
            if np.isfinite(vals).any():
                d[k, j] = float(np.nanmean(vals))
    bad = ~np.isfinite(u)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        raise CalibrationError(
            f"{source}: column {input_names[j]!r} has no finite value between {grid[k]:g} and {grid[k + 1]:g} s"
        )
    y = np.full((n + 1, len(output_names)), np.nan)
    y_cols = [_column(df, f"meas_{c}", source, "measured output") for c in output_names]
    idx = np.searchsorted(t_read, grid)
    for k, i in enumerate(idx):
        for cand in (i, i - 1):
            if 0 <= cand < len(t_read) and abs(t_read[cand] - grid[k]) <= 0.5 * h + 1e-9:
                y[k] = [c[cand] for c in y_cols]
                break
    for j, name in enumerate(output_names):
        if np.isfinite(y[:, j]).sum() < 3:
            raise CalibrationError(f"{source}: column 'meas_{name}' has fewer than 3 finite readings in the window")
    return CalibrationData(
        source=source,
        t_s=grid,
        u=u,
        d=d,
        y=y,
        output_names=tuple(output_names),
        log_step_s=h,
        disturbances_from_log=tuple(from_log),
    )
