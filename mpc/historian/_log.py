"""A plant log in SI on the harness's time grid: :class:`HistorianLog`, :func:`load_log`, :func:`read_log`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mpc.historian._columns import extract_columns
from mpc.historian._errors import HistorianError, LogDataError
from mpc.historian._mapping import LogMapping, load_mapping
from mpc.historian._read import parse_times, read_raw
from mpc.historian._resample import find_segments, resample_segment

__all__ = ["HistorianLog", "load_log", "read_log"]


@dataclass(frozen=True)
class HistorianLog:
    """A plant log (or one segment of it), resampled to a uniform grid, SI columns.

    Attributes
    ----------
    name : str
        The log's name: its file stem (``stem:segN`` for a segment of a
        split log).
    source : pathlib.Path
        The log file (never modified).
    start_utc : pandas.Timestamp
        Time of ``time_s = 0``.
    step_s : float
        Grid step, s.
    frame : pandas.DataFrame
        Index ``time_s`` (0, step_s, ...); columns: ``outdoor_temp_K``,
        ``outdoor_rh_frac``, ``slurry_solids_frac``, ``speed_request_m_s``,
        ``inlet_air_rh_frac``, ``heater_efficiency`` / ``fan_flow_factor``
        (all zones) and ``zone{i}_heater_efficiency`` /
        ``zone{i}_fan_flow_factor`` (one zone), whichever the log has.
    mapping : LogMapping
        The mapping it was read with.
    columns : dict
        SI column -> ``(file column, declared unit)``.
    rows : int
        Data rows of the file in this log (segment).
    sha256 : str
        Checksum of the file's bytes.
    notes : tuple of str
        What was done (bridged gaps, dropped segments, windows).
    """

    name: str
    source: Path
    start_utc: pd.Timestamp
    step_s: float
    frame: pd.DataFrame
    mapping: LogMapping
    columns: dict[str, tuple[str, str]]
    rows: int
    sha256: str
    notes: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        """Length of the log on its grid, s (last grid time)."""
        return float(self.frame.index[-1])

    def has(self, si_column: str) -> bool:
        """The log carries ``si_column``."""
        return si_column in self.frame.columns

    def window(self, start_s: float = 0.0, length_s: float | None = None) -> HistorianLog:
        """The part ``[start_s, start_s + length_s]`` of the log, its time restarting at 0.

        Raises
        ------
        HistorianError
            The window is empty or reaches past the log's end.
        """
        if length_s is None:
            length_s = self.duration_s - start_s
        end = start_s + length_s
        if not (start_s >= 0.0 and length_s > 0.0):
            raise HistorianError(f"{self.source}: window start_s = {start_s:g}, length {length_s:g} s: "
                                 "expected start_s >= 0 and a length > 0")
        if end > self.duration_s + 1e-9:
            raise HistorianError(
                f"{self.source}: window {start_s:g}-{end:g} s reaches past the end of the log "
                f"({self.duration_s:g} s)"
            )
        t = self.frame.index.to_numpy()
        keep = (t >= start_s - 1e-9) & (t <= end + 1e-9)
        sub = self.frame.loc[keep].copy()
        if len(sub) < 2:
            raise HistorianError(f"{self.source}: window {start_s:g}-{end:g} s holds fewer than 2 grid points")
        t0 = float(sub.index[0])
        sub.index = pd.Index(sub.index.to_numpy() - t0, name="time_s")
        note = f"window {t0:g}-{t0 + float(sub.index[-1]):g} s of the log"
        return replace(
            self,
            frame=sub,
            start_utc=self.start_utc + pd.Timedelta(seconds=t0),
            notes=(*self.notes, note),
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_log(
    path: str | Path, mapping: LogMapping | str | Path | None = None, *, step_s: float = 2.0
) -> list[HistorianLog]:
    """Read, check, convert and resample a plant log; one :class:`HistorianLog` per segment.

    Parameters
    ----------
    path : str or path
        A ``.csv`` / ``.csv.gz`` / ``.parquet`` log (read only, never modified).
    mapping : LogMapping, str, path or None, optional
        The column mapping, or the path of its TOML file (None: the default
        columns and units, ``docs/historian.md``).
    step_s : float, optional
        Grid step, s: the harness's control interval (default 2 s).

    Returns
    -------
    list of HistorianLog
        One element, unless ``[gaps] on_long_gap = "split"`` and the log
        has gaps longer than ``max_gap_s``.

    Raises
    ------
    HistorianError
        (a ``ValueError``) for any problem with the file or the mapping; a
        :class:`LogDataError` names the file, row and column.
    """
    if not (np.isfinite(step_s) and step_s > 0):
        raise HistorianError(f"step_s = {step_s!r}: expected a grid step > 0 s")
    mp = mapping if isinstance(mapping, LogMapping) else load_mapping(mapping)
    raw = read_raw(path)
    times = parse_times(raw, mp.time)
    t_s = (times - times[0]).total_seconds().to_numpy(dtype=float)
    cols = extract_columns(raw, mp, t_s)
    gaps = mp.gaps
    bounds = find_segments(raw, times, t_s, gaps.max_gap_s, gaps.on_long_gap)
    d = np.diff(t_s)
    bridged = int((d > np.median(d) * 1.5).sum())
    base_notes: list[str] = []
    if bridged:
        base_notes.append(f"{bridged} time gap(s) up to {gaps.max_gap_s:g} s bridged by interpolation")
    for c in cols:
        n = int(np.isnan(c.values).sum())
        if n:
            base_notes.append(f"{n} missing value(s) of column {c.source_column!r} interpolated")
    sha = _sha256(raw.path)
    columns = {c.si_name: (c.source_column, c.unit) for c in cols}
    stem = raw.path.name.split(".")[0]
    shortest = max(gaps.min_segment_s, step_s) if len(bounds) > 1 else step_s
    segs = [(a, b) for a, b in bounds if t_s[b - 1] - t_s[a] >= shortest]
    dropped = len(bounds) - len(segs)
    if not segs:
        raise LogDataError(
            raw.path, f"no part of the log is at least {shortest:g} s long ([gaps] min_segment_s, step_s)"
        )
    out = []
    for i, (a, b) in enumerate(segs, 1):
        frame = resample_segment(t_s, cols, a, b, step_s)
        notes = list(base_notes)
        if len(segs) > 1 or dropped:
            notes.append(f"segment {i} of {len(segs)}: rows {a + 1}-{b}"
                         + (f"; {dropped} segment(s) shorter than {gaps.min_segment_s:g} s left out" if dropped else ""))
        out.append(
            HistorianLog(
                name=stem if len(segs) == 1 else f"{stem}:seg{i}",
                source=raw.path,
                start_utc=times[a],
                step_s=float(step_s),
                frame=frame,
                mapping=mp,
                columns=columns,
                rows=b - a,
                sha256=sha,
                notes=tuple(notes),
            )
        )
    return out


def load_log(
    path: str | Path, mapping: LogMapping | str | Path | None = None, *, step_s: float = 2.0
) -> HistorianLog:
    """:func:`read_log` for a log in one piece.

    Raises
    ------
    HistorianError
        As :func:`read_log`, or the log splits into several segments.
    """
    logs = read_log(path, mapping, step_s=step_s)
    if len(logs) > 1:
        raise HistorianError(
            f"{path}: the log splits into {len(logs)} segments at gaps longer than max_gap_s; "
            "use read_log to get them one by one"
        )
    return logs[0]
