"""Read a plant log file (CSV or Parquet) and its time stamps, never modifying the file.

Rows are numbered from 1 (the first data row); for a CSV file the messages
add the file line (row + 1: one header line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mpc.historian._errors import LogDataError
from mpc.historian._mapping import TimeSettings, resolve_timezone

__all__ = ["RawLog", "parse_times", "read_raw"]

_HAS_OFFSET = re.compile(r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


@dataclass(frozen=True)
class RawLog:
    """The file's table as read (strings for a CSV), with how to name its rows.

    Attributes
    ----------
    path : pathlib.Path
    table : pandas.DataFrame
        One row per data row, default integer index 0..n-1.
    line_offset : int or None
        File line = row + line_offset (CSV: 1); None for Parquet.
    """

    path: Path
    table: pd.DataFrame
    line_offset: int | None

    def error(self, message: str, *, index: int | None = None, column: str | None = None) -> LogDataError:
        """A :class:`LogDataError` at 0-based table position ``index`` (reported 1-based)."""
        return LogDataError(
            self.path,
            message,
            row=None if index is None else int(index) + 1,
            column=column,
            line_offset=self.line_offset,
        )


def read_raw(path: str | Path) -> RawLog:
    """Read a ``.csv`` (or ``.csv.gz``) or ``.parquet`` log.

    CSV cells are kept as text (numbers are parsed later, per column, so a
    bad cell is named); empty cells, ``NaN``, ``NA`` and ``null`` are missing.

    Raises
    ------
    LogDataError
        Missing file, unknown suffix, or a file the reader cannot parse.
    """
    p = Path(path)
    if not p.is_file():
        raise LogDataError(p, "log file not found")
    name = p.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz")):
            table = pd.read_csv(p, dtype=str, keep_default_na=True, skipinitialspace=True)
            offset: int | None = 1
        elif name.endswith((".parquet", ".pq")):
            table = pd.read_parquet(p)
            offset = None
        else:
            raise LogDataError(p, "unknown log format: expected a .csv, .csv.gz or .parquet file")
    except LogDataError:
        raise
    except pd.errors.EmptyDataError:
        raise LogDataError(p, "the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LogDataError(p, f"cannot read the file: {first}") from None
    except Exception as exc:  # pyarrow's own errors for a damaged Parquet file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LogDataError(p, f"cannot read the file: {first}") from None
    table = table.reset_index(drop=True)
    table.columns = [str(c).strip() for c in table.columns]
    dup = table.columns[table.columns.duplicated()].tolist()
    if dup:
        raise LogDataError(p, f"duplicate column name(s) {dup}")
    if len(table) < 2:
        raise LogDataError(p, f"the log has {len(table)} data row(s); at least 2 are needed")
    return RawLog(p, table, offset)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def parse_times(raw: RawLog, settings: TimeSettings) -> pd.DatetimeIndex:
    """UTC time stamps of every row; checked strictly increasing.

    ISO 8601 stamps (or ``settings.format``); a stamp without a UTC offset
    is local time in ``settings.timezone``, which must then be declared.
    Parquet datetimes are accepted as they are (naive ones need the zone).

    Raises
    ------
    LogDataError
        Missing time column; an unparsable, missing, ambiguous or
        non-existent local stamp; a stamp without an offset and no declared
        time zone; duplicate or decreasing stamps (naming the row).
    """
    col = settings.column
    if col not in raw.table.columns:
        raise raw.error(f"time column {col!r} not found; the columns are {list(raw.table.columns)}")
    s = raw.table[col]
    tz = resolve_timezone(settings.timezone) if settings.timezone else None
    if pd.api.types.is_datetime64_any_dtype(s):
        t = pd.Series(pd.to_datetime(s))
        if t.isna().any():
            raise raw.error("missing time stamp", index=_first(t.isna().to_numpy()), column=col)
        if t.dt.tz is None:
            if tz is None:
                raise raw.error(
                    "time stamps have no time zone: declare [time] timezone in the mapping", column=col
                )
            t = _localize(raw, t, tz, col, settings.timezone)
        utc = t.dt.tz_convert("UTC")
    else:
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            raise raw.error(
                f"time stamps of type {s.dtype} are not supported: expected ISO 8601 text or datetimes",
                column=col,
            )
        text = s.astype("string").str.strip()
        missing = text.isna() | (text == "")
        if missing.any():
            raise raw.error("missing time stamp", index=_first(missing.to_numpy()), column=col)
        fmt = settings.format or "ISO8601"
        if settings.format:
            has_off = pd.Series("%z" in settings.format or "%Z" in settings.format, index=text.index)
        else:
            has_off = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).astype(bool)
        utc = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        if has_off.any():
            parsed = pd.to_datetime(text[has_off], format=fmt, utc=True, errors="coerce")
            _check_parsed(raw, text[has_off], parsed, col, fmt)
            utc[has_off] = parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        naive = ~has_off
        if naive.any():
            parsed = pd.to_datetime(text[naive], format=fmt, errors="coerce")
            _check_parsed(raw, text[naive], parsed, col, fmt)
            if tz is None:
                k = _first(naive.to_numpy())
                raise raw.error(
                    f"time stamp {text.iloc[k]!r} has no UTC offset and the mapping declares no "
                    "[time] timezone: give stamps such as '2024-07-01T08:00:00+02:00' or declare the zone",
                    index=k,
                    column=col,
                )
            if getattr(parsed.dt, "tz", None) is not None:  # a format with %z on some rows only
                loc = parsed.dt.tz_convert("UTC")
            else:
                loc = _localize(raw, parsed, tz, col, settings.timezone).dt.tz_convert("UTC")
            utc[naive] = loc.astype("datetime64[us, UTC]")
    idx = pd.DatetimeIndex(utc)
    _check_order(raw, idx, col)
    return idx


def _check_parsed(raw: RawLog, text: pd.Series, parsed: pd.Series, col: str, fmt: str) -> None:
    bad = parsed.isna().to_numpy()
    if bad.any():
        k = _first(bad)
        pos = int(text.index[k])
        expected = "an ISO 8601 time stamp" if fmt == "ISO8601" else f"a time stamp in the format {fmt!r}"
        raise raw.error(f"time stamp {text.iloc[k]!r} is not {expected}", index=pos, column=col)


def _localize(raw: RawLog, t: pd.Series, tz: object, col: str, zone_name: str) -> pd.Series:
    loc = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = loc.isna().to_numpy()
    if bad.any():
        k = _first(bad)
        raise raw.error(
            f"local time {t.iloc[k]} is ambiguous or does not exist in time zone {zone_name!r} "
            "(a daylight-saving change): give stamps with UTC offsets",
            index=int(t.index[k]),
            column=col,
        )
    return loc


def _check_order(raw: RawLog, idx: pd.DatetimeIndex, col: str) -> None:
    ns = idx.asi8
    d = np.diff(ns)
    if (d == 0).any():
        k = _first(d == 0) + 1
        first = int(np.flatnonzero(ns == ns[k])[0])
        raise raw.error(
            f"duplicate time stamp {idx[k].isoformat()} (also row {first + 1}); stamps must be strictly increasing",
            index=k,
            column=col,
        )
    if (d < 0).any():
        k = _first(d < 0) + 1
        raise raw.error(
            f"time stamp {idx[k].isoformat()} is earlier than the row before ({idx[k - 1].isoformat()}); "
            "stamps must be strictly increasing",
            index=k,
            column=col,
        )
