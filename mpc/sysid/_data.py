"""Loading and validating identification data.

Three file layouts are read:

* CSV with a header row (``.csv``; also ``.txt``/``.dat`` whose first line is
  not all numbers); the separator is taken from the header line (comma,
  semicolon, tab, else runs of white space);
* Parquet (``.parquet``, ``.pq``);
* a white-space (or comma) separated numeric file without a header, such as
  the DaISy ``.dat`` files; its columns are named ``c0``, ``c1``, ...

Rows are counted from 0 (header excluded) and selected with Python slice
strings (``"0:600"``, ``"3300:"``, ``":500"``, ``"-200:"``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mpc.sysid._errors import IdentificationError

__all__ = [
    "Dataset",
    "check_excitation",
    "load_dataset",
    "parse_names",
    "parse_slice",
    "resample",
    "select_signals",
    "slice_text",
]

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.I)
#: relative tolerance on the sample-time spread of a time column
_DT_RTOL = 1e-3


@dataclass(frozen=True)
class Dataset:
    """A table of measured signals with a uniform sample time.

    Attributes
    ----------
    frame : pandas.DataFrame
        The columns as read (the time column included, if any).
    source : str
        File name (or ``"<DataFrame>"``) used in error messages.
    dt : float
        Sample time in seconds (``1.0`` when neither a time column nor a
        sample time was given; then ``dt_known`` is False).
    dt_known : bool
        Whether ``dt`` came from the user or from the time column.
    time_column : str or None
        Name of the time column, if one was used.
    """

    frame: pd.DataFrame = field(repr=False)
    source: str
    dt: float
    dt_known: bool
    time_column: str | None = None

    @property
    def n_rows(self) -> int:
        """Number of data rows (header excluded)."""
        return len(self.frame)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, in file order."""
        return tuple(str(c) for c in self.frame.columns)


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token))


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return line
    raise IdentificationError(f"{path.name}: the file is empty; expected a table of numbers")


def _separator(line: str) -> str:
    for sep in (",", ";", "\t"):
        if sep in line.strip():
            return sep
    return r"\s+"


def _read_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        line = _first_line(path)
        tokens = [t for t in re.split(r"[,;\s]+", line.strip()) if t]
        if tokens and all(_is_number(t) for t in tokens):
            frame = pd.read_csv(path, sep=_separator(line), header=None, engine="python",
                                skip_blank_lines=True)
            # trailing separators (tab at line end) give an all-empty last column
            frame = frame.dropna(axis=1, how="all")
            frame.columns = [f"c{k}" for k in range(frame.shape[1])]
            return frame
        frame = pd.read_csv(path, sep=_separator(line), engine="python")
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame
    except IdentificationError:
        raise
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IdentificationError(
            f"{path.name}: cannot read the file ({reason}); expected CSV with a header, "
            "Parquet, or white-space separated numbers without a header"
        ) from None


def _numeric(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """The column as float64; names the first row that is not a number."""
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise IdentificationError(
            f"{source}: column '{column}' row {row} holds {series.iloc[row]!r}, "
            "expected a number (rows counted from 0, header excluded)"
        )
    return converted.to_numpy(dtype=float)


def _time_seconds(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    series = frame[column]
    if pd.api.types.is_datetime64_any_dtype(series):
        t = (series - series.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(series):
        t = series.to_numpy(dtype=float)
    else:
        stamps = pd.to_datetime(series, errors="coerce")
        if stamps.isna().any() and not pd.to_numeric(series, errors="coerce").notna().all():
            row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            raise IdentificationError(
                f"{source}: time column '{column}' row {row} holds {series.iloc[row]!r}, "
                "expected a number of seconds or a date-time"
            )
        if stamps.notna().all():
            t = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
        else:
            t = pd.to_numeric(series).to_numpy(dtype=float)
    nan_rows = np.flatnonzero(~np.isfinite(t))
    if nan_rows.size:
        raise IdentificationError(
            f"{source}: time column '{column}' has a gap (NaN/empty) at row {int(nan_rows[0])}; "
            "expected a time stamp on every row"
        )
    return t


def _check_time(t: np.ndarray, column: str, source: str) -> float:
    """Check monotonic, uniform time stamps; return the sample time."""
    if t.size < 2:
        raise IdentificationError(f"{source}: time column '{column}' has fewer than 2 rows")
    step = np.diff(t)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        k = int(bad[0])
        raise IdentificationError(
            f"{source}: time column '{column}' is not strictly increasing at row {k + 1} "
            f"({t[k + 1]!r} after {t[k]!r}); expected monotonic time stamps"
        )
    dt = float(np.median(step))
    off = np.flatnonzero(np.abs(step - dt) > _DT_RTOL * dt)
    if off.size:
        k = int(off[0])
        raise IdentificationError(
            f"{source}: time column '{column}' is not uniform: step {step[k]:.6g} s between rows "
            f"{k} and {k + 1}, expected {dt:.6g} s (relative tolerance {_DT_RTOL:g}); "
            "resample the data first (mpc.sysid.resample)"
        )
    return float(np.mean(step))


def load_dataset(
    source: str | Path | pd.DataFrame,
    *,
    time_column: str | None = None,
    dt: float | None = None,
) -> Dataset:
    """Read a data file (or wrap a DataFrame) and establish the sample time.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        CSV with header, Parquet, or header-less numeric text (columns named
        ``c0``, ``c1``, ...).
    time_column : str, optional
        Column of time stamps (seconds, or date-times). They must be strictly
        increasing and uniform (relative spread below 1e-3); ``dt`` is
        inferred from them.
    dt : float, optional
        Sample time in seconds. With a time column both must agree.

    Returns
    -------
    Dataset

    Raises
    ------
    IdentificationError
        Unreadable file, unknown or bad time column, non-uniform or
        non-monotonic time stamps, disagreeing ``dt``.
    """
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), "<DataFrame>"
        frame.columns = [str(c) for c in frame.columns]
    else:
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise IdentificationError(f"{source}: no such file")
        frame = _read_file(path)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise IdentificationError(f"{name}: no data rows; expected a table of numbers")
    if dt is not None and (not math.isfinite(dt) or dt <= 0):
        raise IdentificationError(f"sample time dt={dt!r} s: expected a positive number")
    dt_known = dt is not None
    dt_value = float(dt) if dt is not None else 1.0
    if time_column is not None:
        if time_column not in frame.columns:
            raise IdentificationError(
                f"{name}: time column '{time_column}' not found; available columns: "
                + ", ".join(str(c) for c in frame.columns)
            )
        t = _time_seconds(frame, time_column, name)
        dt_time = _check_time(t, time_column, name)
        if dt is not None and abs(dt_time - dt) > _DT_RTOL * dt:
            raise IdentificationError(
                f"{name}: --dt {dt:g} s disagrees with time column '{time_column}' "
                f"(sample time {dt_time:.6g} s)"
            )
        dt_value, dt_known = (float(dt) if dt is not None else dt_time), True
    return Dataset(frame=frame, source=name, dt=dt_value, dt_known=dt_known,
                   time_column=time_column)


def parse_names(text: str | list[str] | tuple[str, ...], what: str) -> tuple[str, ...]:
    """Split ``"A,B"`` (or pass a sequence through) into column names."""
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    if not names or any(not s for s in names):
        raise IdentificationError(f"{what} {text!r}: expected comma-separated column names")
    if len(set(names)) != len(names):
        raise IdentificationError(f"{what} {text!r}: a column is named twice")
    return tuple(names)


def parse_slice(text: str | slice, n_rows: int, *, what: str = "rows") -> slice:
    """Parse a Python slice string of rows counted from 0.

    Parameters
    ----------
    text : str or slice
        ``"START:STOP"`` with either end optional (``"3300:"``, ``":500"``);
        negative numbers count from the end as in Python. No step.
    n_rows : int
        Number of rows of the table.
    what : str
        Name used in messages (``"--estimate"``).

    Returns
    -------
    slice
        With non-negative ``start < stop <= n_rows``.

    Raises
    ------
    IdentificationError
        Malformed text, a step, an empty range or an end beyond the table.
    """
    if isinstance(text, slice):
        if text.step not in (None, 1):
            raise IdentificationError(f"{what} {text!r}: steps are not supported")
        start, stop = text.start, text.stop
        shown = f"{'' if start is None else start}:{'' if stop is None else stop}"
    else:
        shown = str(text).strip()
        match = re.fullmatch(r"\s*([+-]?\d+)?\s*:\s*([+-]?\d+)?\s*", shown)
        if match is None:
            raise IdentificationError(
                f"{what} {text!r}: expected START:STOP as a Python slice of rows counted from 0 "
                "(e.g. 0:600, 3300:, :500)"
            )
        start = int(match.group(1)) if match.group(1) is not None else None
        stop = int(match.group(2)) if match.group(2) is not None else None
    for end in (start, stop):
        if end is not None and (end > n_rows or end < -n_rows):
            raise IdentificationError(
                f"{what} {shown}: row {end} is outside the table, which has {n_rows} rows "
                f"(valid rows 0..{n_rows - 1}, slice ends up to {n_rows})"
            )
    lo, hi, _ = slice(start, stop).indices(n_rows)
    if hi <= lo:
        raise IdentificationError(f"{what} {shown}: selects no rows (start {lo} >= stop {hi})")
    return slice(lo, hi)


def slice_text(rows: slice) -> str:
    """``slice(0, 600)`` -> ``"0:600"``."""
    return f"{rows.start}:{rows.stop}"


def select_signals(
    dataset: Dataset, names: tuple[str, ...], rows: slice, *, role: str
) -> np.ndarray:
    """The named columns over ``rows`` as an ``(N, len(names))`` float array.

    Raises
    ------
    IdentificationError
        Unknown column, non-numeric value, NaN/empty value (gap) in the rows.
    """
    out = np.empty((rows.stop - rows.start, len(names)))
    for k, name in enumerate(names):
        if name not in dataset.frame.columns:
            raise IdentificationError(
                f"{dataset.source}: {role} column '{name}' not found; available columns: "
                + ", ".join(dataset.columns)
            )
        if name == dataset.time_column:
            raise IdentificationError(
                f"{dataset.source}: column '{name}' is the time column; it cannot be an {role}"
            )
        values = _numeric(dataset.frame, name, dataset.source)[rows]
        gaps = np.flatnonzero(~np.isfinite(values))
        if gaps.size:
            row = int(rows.start + gaps[0])
            raise IdentificationError(
                f"{dataset.source}: {role} column '{name}' has a gap (value "
                f"{dataset.frame[name].iloc[row]!r}) at row {row} ({gaps.size} non-finite "
                f"value(s) in rows {slice_text(rows)}); expected finite numbers: fill or "
                "interpolate the gap, or choose rows without it"
            )
        out[:, k] = values
    return out


def check_excitation(u: np.ndarray, names: tuple[str, ...], rows: slice, source: str) -> None:
    """Reject an input that is constant over the estimation rows.

    Raises
    ------
    IdentificationError
        Naming the input, its value and the rows.
    """
    for k, name in enumerate(names):
        col = u[:, k]
        scale = max(float(np.max(np.abs(col))), 1.0)
        if float(np.ptp(col)) <= 1e-12 * scale:
            raise IdentificationError(
                f"{source}: input column '{name}' is constant ({col[0]:.6g}) over rows "
                f"{slice_text(rows)}: it does not excite the system, so its effect cannot be "
                "identified; drop it from --inputs or choose rows where it varies"
            )


def resample(
    x: np.ndarray, dt: float, new_dt: float, *, max_denominator: int = 100
) -> tuple[np.ndarray, float]:
    """Resample uniformly sampled signals to a new sample time.

    Uses polyphase filtering (:func:`scipy.signal.resample_poly`, with its
    anti-aliasing FIR filter) with the ratio ``dt / new_dt`` approximated by a
    fraction with denominator at most ``max_denominator``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N,)`` or ``(N, k)`` signals, time along axis 0.
    dt, new_dt : float
        Old and new sample time in seconds.

    Returns
    -------
    (numpy.ndarray, float)
        The resampled signals and the sample time actually achieved.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    if dt <= 0 or new_dt <= 0:
        raise IdentificationError(f"resample: sample times must be positive (got {dt}, {new_dt})")
    ratio = Fraction(dt / new_dt).limit_denominator(max_denominator)
    if ratio.numerator == 0:
        raise IdentificationError(f"resample: ratio {dt}/{new_dt} too small")
    y = resample_poly(np.asarray(x, dtype=float), ratio.numerator, ratio.denominator, axis=0)
    return y, dt * ratio.denominator / ratio.numerator
