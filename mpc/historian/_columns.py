"""Pick the mapped columns out of a raw log, convert them to SI and check every value.

The only unit conversion is :func:`mpc.historian._units.to_si`. Checks, each
a :class:`~mpc.historian.LogDataError` naming the file, row and column:
a cell that is not a number, a value outside the channel's range (given in
the column's own unit), a NaN run at the start or end of the log, or one
whose span (last good row to next good row) is longer than ``max_gap_s``.
Shorter NaN runs are left for the resampler to interpolate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpc.historian._mapping import LogMapping
from mpc.historian._read import RawLog
from mpc.historian._units import CHANNELS, ChannelInfo, from_si, to_si

__all__ = ["SiColumn", "extract_columns"]


@dataclass(frozen=True)
class SiColumn:
    """One column of the log in SI.

    Attributes
    ----------
    channel : str
        Channel name (``mpc.historian.CHANNELS``).
    si_name : str
        Column name in the SI frame (``zone3_heater_efficiency`` for a zone).
    source_column : str
        Column of the log file.
    unit : str
        Unit declared for the log column.
    values : numpy.ndarray
        SI values, NaN where the log has none.
    interpolation : {"linear", "hold"}
    zone : int or None
        Zone number of a per-zone column.
    """

    channel: str
    si_name: str
    source_column: str
    unit: str
    values: np.ndarray
    interpolation: str
    zone: int | None = None


def _numeric(raw: RawLog, column: str) -> np.ndarray:
    s = raw.table[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    text = s.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & text.notna() & (text != "")
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise raw.error(f"{text.iloc[k]!r} is not a number", index=k, column=column)
    return num.to_numpy(dtype=float, na_value=np.nan)


def _check_range(raw: RawLog, info: ChannelInfo, column: str, unit: str, v_si: np.ndarray, v_raw: np.ndarray) -> None:
    finite = np.isfinite(v_si)
    nan = np.isnan(v_si)
    bad = ~nan & (~finite | (v_si < info.lower_si - 1e-12) | (v_si > info.upper_si + 1e-12))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        lo, hi = (float(x) for x in from_si(info.quantity, unit, [info.lower_si, info.upper_si]))
        raise raw.error(
            f"value {v_raw[k]:g} {unit} is outside the valid range {lo:g} to {hi:g} {unit} of "
            f"{info.name} ({info.meaning}); {int(bad.sum())} value(s) outside in all",
            index=k,
            column=column,
        )


def _check_nan_runs(raw: RawLog, column: str, v: np.ndarray, t_s: np.ndarray, max_gap_s: float) -> None:
    nan = np.isnan(v)
    if not nan.any():
        return
    if nan.all():
        raise raw.error("the column has no values", column=column)
    edges = np.diff(np.concatenate(([0], nan.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    for a, b in zip(starts, ends, strict=True):
        n = int(b - a)
        if a == 0 or b == len(v):
            where = "start" if a == 0 else "end"
            raise raw.error(
                f"{n} missing value(s) at the {where} of the log (rows {a + 1}-{b}) cannot be interpolated",
                index=int(a),
                column=column,
            )
        span = float(t_s[b] - t_s[a - 1])
        if span > max_gap_s:
            raise raw.error(
                f"a run of {n} missing value(s) (rows {a + 1}-{b}) leaves a gap of {span:g} s, longer than "
                f"[gaps] max_gap_s = {max_gap_s:g} s",
                index=int(a),
                column=column,
            )


def _zone_columns(pattern: str, columns: list[str]) -> dict[int, str]:
    head, tail = pattern.split("{zone}")
    rx = re.compile("^" + re.escape(head) + r"(\d+)" + re.escape(tail) + "$")
    out: dict[int, str] = {}
    for c in columns:
        m = rx.match(c)
        if m:
            out[int(m.group(1))] = c
    return out


def extract_columns(raw: RawLog, mapping: LogMapping, t_s: np.ndarray) -> list[SiColumn]:
    """The mapped channels of ``raw`` in SI, checked (see the module notes).

    Parameters
    ----------
    raw : RawLog
        The file as read.
    mapping : LogMapping
        Which column holds which channel, in which unit.
    t_s : numpy.ndarray
        Seconds of each row from the first (for the span of NaN runs).

    Raises
    ------
    LogDataError
        A required column is missing, or a value is invalid.
    """
    cols = list(raw.table.columns)
    out: list[SiColumn] = []
    for name, info in CHANNELS.items():
        cm = mapping.channel(name)
        picked: list[tuple[str, str, int | None]] = []  # (file column, SI column, zone)
        if cm.column and cm.column in cols:
            picked.append((cm.column, info.si_column, None))
        elif cm.required:
            raise raw.error(
                f"required column {cm.column!r} ({name}: {info.meaning}) not found; the columns are {cols}"
                f"; map it in the mapping's [channels.{name}] table"
            )
        if info.per_zone and cm.zone_columns:
            for zone, col in sorted(_zone_columns(cm.zone_columns, cols).items()):
                if zone < 1:
                    raise raw.error(f"zone number {zone} in the column name: zones are numbered from 1",
                                    column=col)
                picked.append((col, f"zone{zone}_{info.si_column}", zone))
        for col, si_name, zone in picked:
            v_raw = _numeric(raw, col)
            v_si = to_si(info.quantity, cm.unit, v_raw)
            _check_range(raw, info, col, cm.unit, v_si, v_raw)
            _check_nan_runs(raw, col, v_si, t_s, mapping.gaps.max_gap_s)
            out.append(SiColumn(name, si_name, col, cm.unit, v_si, cm.interpolation, zone))
    return out
