"""Measured outdoor weather for disturbance logs (typical-year files shipped with pvlib).

:func:`load_weather` reads a TMY3 file with pvlib's own reader
(:func:`pvlib.iotools.read_tmy3`, ``map_variables=True``) and returns a
DataFrame with a UTC time index and the columns

- ``outdoor_temp_K``: dry-bulb temperature;
- ``outdoor_rh_frac``: relative humidity (with respect to liquid water, the
  meteorological convention, also below 0 degC);
- ``outdoor_dew_point_K``: dew point computed from the vapour pressure
  ``rh * p_sat(T)`` with :func:`water_p_sat_Pa` (so that it is consistent
  with the humidity ratio; the file's own dew-point column agrees within
  1 K for 95 % of the hours, but its dew-point and RH columns disagree by
  several kelvin in a few hours, Greensboro up to about 6 K);
- ``humidity_ratio_kg_kg``: kg water vapour per kg dry air, from the
  file's dry-bulb, RH and station pressure (:func:`humidity_ratio_kg_kg`);
- ``pressure_Pa``: station pressure.

Conventions of the files and how they are handled (checked against pvlib
0.16):

- *Hour 24:00.* NREL TMY3 stamps hours 01:00-24:00 local standard time;
  ``read_tmy3`` turns 24:00 into 00:00 of the next day.
- *Stitched months.* A typical meteorological year strings together months
  taken from different years (Greensboro: January 1988, December 1980, ...),
  so the raw index jumps back and forth in time. ``coerce_year`` puts every
  month in one (non-leap) year; the final 24:00 row then falls on 1 January
  of the next year. The result is 8760 strictly hourly rows from
  ``year``-01-01 01:00 to ``year+1``-01-01 00:00 local standard time. The
  seams between months come from different years and may show jumps.
- *Time stamps.* Temperature, humidity and pressure are values at the stamped
  time (Wilcox & Marion 2008); only the irradiance columns (unused here)
  are sums over the preceding hour.
- *Time zone.* Local standard time, no daylight saving, offset from the
  file header; the index is converted to UTC.
- *Sand Point* (703165): its pressure column is a constant 1012 mbar (a
  filled value); its humidity ratio therefore uses that pressure.
- *TMY2* (only the reserved Miami file): ``read_tmy2`` labels hour h as
  h-1 (start of hour) and gives every row the first row's year; this module
  rebuilds the stamps from month/day/hour so that they follow the same
  end-of-hour convention as TMY3, in the chosen year.

The Miami file ``12839.tm2`` is reserved for acceptance checks: loading it
needs ``allow_reserved=True``.

References
----------
W. Wagner, A. Pruss, "The IAPWS formulation 1995 for the thermodynamic
properties of ordinary water substance for general and scientific use",
J. Phys. Chem. Ref. Data 31 (2002) 387-535, eq. (2.5).

ASHRAE Handbook - Fundamentals (2017), chapter 1, Psychrometrics, eq. (20).

S. Wilcox, W. Marion, "Users Manual for TMY3 Data Sets", NREL/TP-581-43156
(2008), doi:10.2172/928611.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from plants import properties as _props
from plants.errors import CalmlineError

__all__ = [
    "RESERVED_WEATHER_FILES",
    "WEATHER_COLUMNS",
    "WEATHER_FILES",
    "ReservedDataError",
    "WeatherFileError",
    "dew_point_K",
    "humid_stretch",
    "humidity_ratio_kg_kg",
    "load_weather",
    "resample_to_step",
    "water_p_sat_Pa",
]

WEATHER_FILES = {"greensboro": "723170TYA.CSV", "sand_point": "703165TY.csv"}
"""Names accepted by :func:`load_weather` and their files in ``pvlib/data``."""

RESERVED_WEATHER_FILES = {"miami": "12839.tm2"}
"""Files kept for acceptance checks; :func:`load_weather` refuses them by default."""

_RESERVED_STATION_IDS = frozenset({"12839"})  # WBAN of Miami in the TMY2 header

WEATHER_COLUMNS = (
    "outdoor_temp_K",
    "outdoor_rh_frac",
    "outdoor_dew_point_K",
    "humidity_ratio_kg_kg",
    "pressure_Pa",
)
"""Columns of the frame :func:`load_weather` returns."""

# Wagner & Pruss (2002), eq. (2.5): the coefficients live once, in plants.properties.
_T_C_K, _P_C_PA, _WP_A, _WP_N = _props.WATER_WAGNER


class WeatherFileError(CalmlineError):
    """A weather file or name cannot be used (unknown, unreadable or implausible)."""


class ReservedDataError(WeatherFileError):
    """A reserved (acceptance-only) weather file was asked for without ``allow_reserved=True``."""


def water_p_sat_Pa(T_K: ArrayLike) -> Any:
    """Saturation pressure of water over liquid, Pa (Wagner & Pruss 2002, IAPWS-95).

    ``ln(p/p_c) = (T_c/T) * (a1 tau + a2 tau^1.5 + a3 tau^3 + a4 tau^3.5 +
    a5 tau^4 + a6 tau^7.5)``, ``tau = 1 - T/T_c``, with ``T_c = 647.096 K``,
    ``p_c = 22.064 MPa``. Valid from the triple point (273.16 K) to the
    critical point; below 273.16 K it is the extrapolated line over
    supercooled liquid, the reference of meteorological relative humidity.
    Gives 3169.9 Pa at 298.15 K.

    Parameters
    ----------
    T_K : float or array_like
        Temperature, K (0 < T <= 647.096).

    Returns
    -------
    float or numpy.ndarray
        Saturation pressure, Pa (a float for a scalar input).
    """
    T = np.asarray(T_K, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T <= 0.0) or np.any(T > _T_C_K):
        bad = float(T[~(np.isfinite(T) & (T > 0.0) & (T <= _T_C_K))].ravel()[0])
        raise ValueError(
            f"water_p_sat_Pa: T_K = {bad!r} is outside the valid range (0, {_T_C_K}] K"
        )
    p = np.asarray(_props.water_p_sat_Pa(T))
    return float(p) if p.ndim == 0 else p


def _dln_psat_dT(T: NDArray[np.float64]) -> NDArray[np.float64]:
    tau = 1.0 - T / _T_C_K
    s = sum(a * tau**n for a, n in zip(_WP_A, _WP_N, strict=True))
    ds = sum(a * n * tau ** (n - 1.0) for a, n in zip(_WP_A, _WP_N, strict=True))
    return -_T_C_K / T**2 * s - ds / T


def dew_point_K(vapour_pressure_Pa: ArrayLike) -> Any:
    """Dew point (over liquid water), K: the inverse of :func:`water_p_sat_Pa`.

    Newton iteration on ``ln p_sat(T) = ln p_w`` from a Magnus first guess;
    converged to round-off.

    Parameters
    ----------
    vapour_pressure_Pa : float or array_like
        Partial pressure of water vapour, Pa (> 0).

    Returns
    -------
    float or numpy.ndarray
    """
    pw = np.asarray(vapour_pressure_Pa, dtype=float)
    if np.any(~(np.isfinite(pw) & (pw > 0.0))):
        bad = float(pw[~(np.isfinite(pw) & (pw > 0.0))].ravel()[0])
        raise ValueError(
            f"dew_point_K: vapour_pressure_Pa = {bad!r} is invalid: expected a finite number > 0"
        )
    g = np.log(pw / 610.94)  # Magnus (Alduchov & Eskridge 1996) as first guess
    T = 273.15 + 243.04 * g / (17.625 - g)
    T = np.clip(T, 150.0, _T_C_K - 1.0)
    ln_pw = np.log(pw)
    for _ in range(50):
        f = np.log(np.asarray(water_p_sat_Pa(T))) - ln_pw
        step = f / _dln_psat_dT(T)
        T = np.clip(T - step, 100.0, _T_C_K)
        if np.all(np.abs(step) < 1e-10):
            break
    return float(T) if T.ndim == 0 else T


def humidity_ratio_kg_kg(temp_K: ArrayLike, rh_frac: ArrayLike, pressure_Pa: ArrayLike) -> Any:
    """Humidity ratio of moist air, kg water vapour per kg dry air.

    ``W = 0.621945 * p_w / (p - p_w)`` with ``p_w = rh * p_sat(T)``
    (ASHRAE Fundamentals 2017, ch. 1, eq. 20; 0.621945 = 18.015268/28.966,
    enhancement factor neglected).

    Parameters
    ----------
    temp_K : float or array_like
        Dry-bulb temperature, K.
    rh_frac : float or array_like
        Relative humidity, fraction in [0, 1].
    pressure_Pa : float or array_like
        Total (station) pressure, Pa.

    Returns
    -------
    float or numpy.ndarray
    """
    rh = np.asarray(rh_frac, dtype=float)
    p = np.asarray(pressure_Pa, dtype=float)
    if np.any(~((rh >= 0.0) & (rh <= 1.0))):
        raise ValueError(f"humidity_ratio_kg_kg: rh_frac = {rh_frac!r} is outside [0, 1]")
    pw = rh * np.asarray(water_p_sat_Pa(temp_K))
    if np.any(~(p > pw)):
        raise ValueError(
            f"humidity_ratio_kg_kg: pressure_Pa = {pressure_Pa!r} must exceed the vapour pressure"
        )
    w = np.asarray(_props.humidity_ratio_kg_kg(temp_K, rh, p))
    return float(w) if w.ndim == 0 else w


def _pvlib_data_dir() -> Path:
    import pvlib

    return Path(pvlib.__file__).parent / "data"


def _is_reserved(path: Path) -> bool:
    if path.name.lower() in {f.lower() for f in RESERVED_WEATHER_FILES.values()}:
        return True
    try:
        with open(path, encoding="latin-1") as fh:
            first = fh.readline().split()
    except OSError:
        return False
    return bool(first) and first[0].strip('"').strip(",") in _RESERVED_STATION_IDS


def _resolve(name: str | os.PathLike[str], allow_reserved: bool) -> Path:
    key = str(name).strip().lower()
    if key in WEATHER_FILES:
        path = _pvlib_data_dir() / WEATHER_FILES[key]
    elif key in RESERVED_WEATHER_FILES:
        path = _pvlib_data_dir() / RESERVED_WEATHER_FILES[key]
    else:
        path = Path(name)
        if not path.is_file():
            raise WeatherFileError(
                f"load_weather: name = {str(name)!r} is neither a known weather set "
                f"{sorted(WEATHER_FILES)} nor an existing file"
            )
    if _is_reserved(path) and not allow_reserved:
        raise ReservedDataError(
            f"load_weather: {str(name)!r} ({path.name}, Miami) is reserved for acceptance checks; "
            "pass allow_reserved=True only in an acceptance check"
        )
    return path


def _read_tmy3(path: Path, year: int) -> tuple[pd.DataFrame, str]:
    import pvlib

    data, meta = pvlib.iotools.read_tmy3(str(path), coerce_year=year, map_variables=True)
    needed = ("temp_air", "relative_humidity", "pressure")
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise WeatherFileError(
            f"load_weather: {path} lacks column(s) {missing} after pvlib's read_tmy3"
        )
    out = pd.DataFrame(
        {
            "outdoor_temp_K": data["temp_air"].to_numpy(float) + 273.15,
            "outdoor_rh_frac": data["relative_humidity"].to_numpy(float) / 100.0,
            "pressure_Pa": data["pressure"].to_numpy(float) * 100.0,
        },
        index=data.index.tz_convert("UTC"),
    )
    return out, str(meta.get("Name", "")).strip('"')


def _read_tmy2(path: Path, year: int) -> tuple[pd.DataFrame, str]:
    import pvlib

    data, meta = pvlib.iotools.read_tmy2(str(path))
    local = pd.to_datetime(
        pd.DataFrame(
            {"year": year, "month": data["month"].astype(int), "day": data["day"].astype(int)}
        )
    ) + pd.to_timedelta(data["hour"].astype(int).to_numpy(), unit="h")
    idx = pd.DatetimeIndex(local).tz_localize(int(meta["TZ"] * 3600)).tz_convert("UTC")
    out = pd.DataFrame(
        {
            "outdoor_temp_K": data["DryBulb"].to_numpy(float) / 10.0 + 273.15,
            "outdoor_rh_frac": data["RHum"].to_numpy(float) / 100.0,
            "pressure_Pa": data["Pressure"].to_numpy(float) * 100.0,
        },
        index=idx,
    )
    return out, str(meta.get("City", "")).strip()


def _check_plausible(df: pd.DataFrame, path: Path) -> None:
    # column -> (lower, upper, lower bound included); RH must be > 0 for a dew point
    limits = {
        "outdoor_temp_K": (180.0, 340.0, True),
        "outdoor_rh_frac": (0.0, 1.0, False),
        "pressure_Pa": (50e3, 110e3, True),
    }
    for col, (lo, hi, closed) in limits.items():
        v = df[col].to_numpy()
        bad = ~(((v >= lo) if closed else (v > lo)) & (v <= hi))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            rng = f"{'[' if closed else '('}{lo}, {hi}]"
            raise WeatherFileError(
                f"load_weather: {path.name}: column {col} has {int(bad.sum())} value(s) outside "
                f"the plausible range {rng}, first {float(v[k])!r} at {df.index[k]} "
                "(missing-value codes are not filled here)"
            )
    if not df.index.is_monotonic_increasing or df.index.has_duplicates:
        raise WeatherFileError(
            f"load_weather: {path.name}: time stamps are not strictly increasing"
        )


def load_weather(
    name: str | os.PathLike[str], *, year: int = 1990, allow_reserved: bool = False
) -> pd.DataFrame:
    """Hourly outdoor weather of a typical meteorological year.

    Parameters
    ----------
    name : str or path
        ``"greensboro"`` (TMY3 723170, Greensboro NC), ``"sand_point"``
        (TMY3 703165, Sand Point AK), or the path of a TMY3 CSV file.
    year : int, optional
        Non-leap year every month is put in (default 1990; see the module
        notes on stitched months).
    allow_reserved : bool, optional
        The Miami file (``"miami"``, ``12839.tm2``) is reserved for
        acceptance checks and refused unless this is True.

    Returns
    -------
    pandas.DataFrame
        UTC ``DatetimeIndex`` named ``time_utc``; columns
        :data:`WEATHER_COLUMNS`. ``attrs`` holds ``source_file``, ``station``
        and ``year``.

    Raises
    ------
    ReservedDataError
        For the Miami file without ``allow_reserved=True``.
    WeatherFileError
        For an unknown name, a missing file or implausible values.
    """
    leap = isinstance(year, int) and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if isinstance(year, bool) or not isinstance(year, int) or leap:
        raise WeatherFileError(
            f"load_weather: year = {year!r} is invalid: expected a non-leap year (int)"
        )
    path = _resolve(name, allow_reserved)
    st = path.stat()
    df = _parsed(path.resolve(), st.st_mtime_ns, st.st_size, year)
    out = df.copy()
    out.attrs = dict(df.attrs)
    return out


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int, year: int) -> pd.DataFrame:
    """The parsed file, once per process (keyed on its modification time and size, so an edited file is
    read again); :func:`load_weather` hands out copies."""
    try:
        if path.suffix.lower() == ".tm2":
            df, station = _read_tmy2(path, year)
        else:
            df, station = _read_tmy3(path, year)
    except WeatherFileError:
        raise
    except Exception as exc:  # a parser error: say which file
        raise WeatherFileError(f"load_weather: cannot read {path} as a TMY file: {exc}") from exc
    _check_plausible(df, path)
    pw = df["outdoor_rh_frac"].to_numpy() * water_p_sat_Pa(df["outdoor_temp_K"].to_numpy())
    df["outdoor_dew_point_K"] = dew_point_K(pw)
    df["humidity_ratio_kg_kg"] = humidity_ratio_kg_kg(
        df["outdoor_temp_K"].to_numpy(),
        df["outdoor_rh_frac"].to_numpy(),
        df["pressure_Pa"].to_numpy(),
    )
    df = df[list(WEATHER_COLUMNS)]
    df.index.name = "time_utc"
    df.attrs.update({"source_file": path.name, "station": station, "year": year})
    return df


def _uniform_step_s(df: pd.DataFrame, what: str) -> float:
    if not isinstance(df.index, pd.DatetimeIndex) or len(df) < 2:
        raise ValueError(f"{what}: expected a DataFrame with a DatetimeIndex of at least 2 rows")
    d = np.diff((df.index - df.index[0]).total_seconds().to_numpy())
    if not (d[0] > 0 and np.allclose(d, d[0], rtol=0, atol=1e-6)):
        raise ValueError(
            f"{what}: the time index is not uniformly spaced (steps from {d.min()} to {d.max()} s)"
        )
    return float(d[0])


def humid_stretch(
    df: pd.DataFrame, hours: float, column: str = "humidity_ratio_kg_kg"
) -> pd.DataFrame:
    """The contiguous window of ``hours`` with the highest mean humidity ratio.

    The window is ``n + 1`` consecutive rows spanning ``n`` sampling steps,
    ``n = ceil(hours / step)``, so it covers at least ``hours`` with both end
    points (what a resampling of the window to a harness step needs). Its
    score is the plain mean of ``column`` over those rows; ties go to the
    earliest window. The window may straddle a month seam of a typical year.

    Parameters
    ----------
    df : pandas.DataFrame
        Uniformly spaced weather with a DatetimeIndex (e.g. from
        :func:`load_weather`).
    hours : float
        Window length, h (> 0, no longer than the record).
    column : str, optional
        Column to maximise (default ``"humidity_ratio_kg_kg"``).

    Returns
    -------
    pandas.DataFrame
        A copy of the rows of the window.
    """
    step_s = _uniform_step_s(df, "humid_stretch")
    if column not in df.columns:
        raise KeyError(f"humid_stretch: column {column!r} not in {list(df.columns)}")
    h = float(hours)
    if not (math.isfinite(h) and h > 0.0):
        raise ValueError(
            f"humid_stretch: hours = {hours!r} is invalid: expected a finite number > 0"
        )
    n = math.ceil(h * 3600.0 / step_s - 1e-9)
    if n + 1 > len(df):
        raise ValueError(
            f"humid_stretch: hours = {hours!r} needs {n + 1} rows, the record has {len(df)}"
        )
    v = df[column].to_numpy(float)
    c = np.concatenate(([0.0], np.cumsum(v)))
    means = (c[n + 1 :] - c[: len(v) - n]) / (n + 1)
    i = int(np.argmax(means))
    return df.iloc[i : i + n + 1].copy()


def resample_to_step(df: pd.DataFrame, step_s: float) -> pd.DataFrame:
    """Linear interpolation of every column onto a harness time grid.

    Parameters
    ----------
    df : pandas.DataFrame
        Weather with a DatetimeIndex (e.g. a :func:`humid_stretch` window).
    step_s : float
        Harness step, s (> 0).

    Returns
    -------
    pandas.DataFrame
        Index ``time_s``: seconds from the first row, ``0, step_s, ...`` up to
        the last row's time; same columns. ``attrs["start_utc"]`` is the
        time of the first row. Each column is interpolated on its own, so
        derived columns (dew point, humidity ratio) are exactly consistent
        with the others only at the original time stamps.
    """
    dt = float(step_s)
    if not (math.isfinite(dt) and dt > 0.0):
        raise ValueError(
            f"resample_to_step: step_s = {step_s!r} is invalid: expected a finite number > 0"
        )
    if (
        not isinstance(df.index, pd.DatetimeIndex)
        or len(df) < 2
        or not df.index.is_monotonic_increasing
    ):
        raise ValueError(
            "resample_to_step: expected a DataFrame with an increasing DatetimeIndex of >= 2 rows"
        )
    src_s = (df.index - df.index[0]).total_seconds().to_numpy()
    n = math.floor(src_s[-1] / dt + 1e-9)
    t = dt * np.arange(n + 1)
    out = pd.DataFrame(
        {c: np.interp(t, src_s, df[c].to_numpy(float)) for c in df.columns},
        index=pd.Index(t, name="time_s"),
    )
    out.attrs.update(df.attrs)
    out.attrs["start_utc"] = df.index[0]
    return out
