"""Tests for plants.weather: psychrometrics, TMY loading, humid stretch, resampling.

The Miami file (12839.tm2) is reserved for acceptance checks: it appears here
only to check that it is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plants.weather import (
    WEATHER_COLUMNS,
    ReservedDataError,
    WeatherFileError,
    dew_point_K,
    humid_stretch,
    humidity_ratio_kg_kg,
    load_weather,
    resample_to_step,
    water_p_sat_Pa,
)


def _pvlib_data() -> Path:
    import pvlib

    return Path(pvlib.__file__).parent / "data"


@pytest.fixture(scope="module")
def greensboro() -> pd.DataFrame:
    return load_weather("greensboro")


@pytest.fixture(scope="module")
def sand_point() -> pd.DataFrame:
    return load_weather("sand_point")


def test_water_saturation_pressure_reference_points():
    assert water_p_sat_Pa(298.15) == pytest.approx(3169.9, rel=1e-3)  # IAPWS-95, 25 degC
    assert water_p_sat_Pa(273.16) == pytest.approx(611.657, rel=1e-4)  # triple point
    assert water_p_sat_Pa(373.124) == pytest.approx(101325.0, rel=1e-3)  # normal boiling point
    v = water_p_sat_Pa(np.array([290.0, 330.0]))
    assert v.shape == (2,) and v[1] > v[0]
    with pytest.raises(ValueError, match=r"T_K = 700\.0"):
        water_p_sat_Pa(700.0)


def test_water_saturation_pressure_agrees_with_property_module():
    props = pytest.importorskip("plants.properties")
    T = np.array([260.0, 298.15, 350.0, 450.0])
    np.testing.assert_allclose(water_p_sat_Pa(T), props.water_p_sat_Pa(T), rtol=1e-12)


def test_dew_point_inverts_saturation_pressure():
    T = np.array([250.0, 273.16, 288.2, 310.0])
    np.testing.assert_allclose(dew_point_K(water_p_sat_Pa(T)), T, atol=1e-8)
    assert dew_point_K(0.5 * water_p_sat_Pa(298.15)) == pytest.approx(287.0, abs=0.2)  # 13.9 degC


def test_humidity_ratio_hand_computed():
    # 25 degC, 50 %RH, 101325 Pa: p_w = 0.5 * 3169.9 = 1584.95 Pa,
    # W = 0.621945 * 1584.95 / (101325 - 1584.95) = 0.0098832 kg/kg (about 9.9 g/kg on the chart)
    assert humidity_ratio_kg_kg(298.15, 0.5, 101325.0) == pytest.approx(0.0098832, rel=2e-4)
    assert humidity_ratio_kg_kg(298.15, 0.0, 101325.0) == 0.0
    with pytest.raises(ValueError, match="rh_frac"):
        humidity_ratio_kg_kg(298.15, 50.0, 101325.0)


def test_greensboro_layout_and_plausible_values(greensboro):
    df = greensboro
    assert list(df.columns) == list(WEATHER_COLUMNS)
    assert len(df) == 8760
    assert str(df.index.tz) == "UTC" and df.index.name == "time_utc"
    assert (np.diff(df.index.asi8) == np.diff(df.index.asi8)[0]).all()
    assert pd.Timedelta(df.index[1] - df.index[0]) == pd.Timedelta("1h")
    # 01:00 EST on 1 January is 06:00 UTC; the file's final 24:00 is 00:00 EST of 1 January next year
    assert df.index[0] == pd.Timestamp("1990-01-01 06:00", tz="UTC")
    assert df.index[-1] == pd.Timestamp("1991-01-01 05:00", tz="UTC")
    assert 250.0 < df["outdoor_temp_K"].min() and df["outdoor_temp_K"].max() < 315.0
    assert df["outdoor_temp_K"].mean() == pytest.approx(287.6, abs=1.0)  # 14.4 degC annual mean
    assert 0.0 < df["outdoor_rh_frac"].min() and df["outdoor_rh_frac"].max() <= 1.0
    # station at 273 m: about 98.7 kPa
    assert df["pressure_Pa"].mean() == pytest.approx(98.7e3, abs=1.5e3)
    w = df["humidity_ratio_kg_kg"]
    assert 0.0 < w.min() and w.max() < 0.03
    assert (df["outdoor_dew_point_K"] <= df["outdoor_temp_K"] + 1e-9).all()
    # seasons in the right months (would fail if the stitched months were misplaced)
    local = df.index.tz_convert("Etc/GMT+5")
    assert w[local.month == 7].mean() > 3.0 * w[local.month == 1].mean()
    assert df.attrs["source_file"] == "723170TYA.CSV"


def test_humidity_columns_consistent_with_file(greensboro):
    import pvlib

    raw, _ = pvlib.iotools.read_tmy3(
        str(_pvlib_data() / "723170TYA.CSV"), coerce_year=1990, map_variables=True
    )
    df = greensboro
    np.testing.assert_allclose(df["outdoor_temp_K"].to_numpy(), raw["temp_air"].to_numpy() + 273.15)
    w = humidity_ratio_kg_kg(
        df["outdoor_temp_K"].to_numpy(),
        df["outdoor_rh_frac"].to_numpy(),
        df["pressure_Pa"].to_numpy(),
    )
    np.testing.assert_allclose(df["humidity_ratio_kg_kg"].to_numpy(), w)
    # the computed dew point matches the file's (rounded) dew point for nearly every hour
    diff = np.abs(df["outdoor_dew_point_K"].to_numpy() - (raw["temp_dew"].to_numpy() + 273.15))
    assert np.percentile(diff, 95) < 1.0


def test_sand_point(sand_point):
    df = sand_point
    assert len(df) == 8760 and df.index.is_monotonic_increasing
    assert df.index[0] == pd.Timestamp("1990-01-01 10:00", tz="UTC")  # UTC-9
    assert (df["pressure_Pa"] == 101200.0).all()  # the file's filled 1012 mbar
    assert 255.0 < df["outdoor_temp_K"].min() and df["outdoor_temp_K"].max() < 300.0
    assert df["humidity_ratio_kg_kg"].max() < 0.012


def test_humid_stretch_synthetic_picks_highest_mean():
    idx = pd.date_range("2001-01-01", periods=48, freq="h", tz="UTC")
    w = np.full(48, 0.005)
    w[30:34] = 0.02  # a 3-h wide humid spell
    w[10] = 0.04  # a single spike with a lower 3-h mean than the spell
    df = pd.DataFrame({"humidity_ratio_kg_kg": w, "x": np.arange(48.0)}, index=idx)
    win = humid_stretch(df, 3.0)
    assert len(win) == 4  # 3 h with both ends
    assert win.index[0] == idx[30] and win.index[-1] == idx[33]
    win2 = humid_stretch(df, 2.5)  # rounded up to whole steps
    assert len(win2) == 4
    with pytest.raises(ValueError, match="hours = 100"):
        humid_stretch(df, 100)


def test_humid_stretch_real_data_beats_every_other_window(greensboro):
    win = humid_stretch(greensboro, 24.0)
    assert len(win) == 25 and win.index[-1] - win.index[0] == pd.Timedelta("24h")
    means = greensboro["humidity_ratio_kg_kg"].rolling(25).mean().dropna()
    assert win["humidity_ratio_kg_kg"].mean() == pytest.approx(means.max(), rel=1e-12)
    assert means.idxmax() == win.index[-1]
    assert win.index[0].month in (6, 7, 8, 9)  # a humid summer day in North Carolina


def test_resample_to_step(greensboro):
    win = greensboro.iloc[100:104]
    r = resample_to_step(win, 600.0)
    assert r.index.name == "time_s"
    np.testing.assert_allclose(r.index.to_numpy(), np.arange(0.0, 3 * 3600.0 + 1.0, 600.0))
    np.testing.assert_allclose(
        r["outdoor_temp_K"].to_numpy()[::6], win["outdoor_temp_K"].to_numpy()
    )
    T = win["outdoor_temp_K"].to_numpy()
    assert r["outdoor_temp_K"].iloc[3] == pytest.approx(0.5 * (T[0] + T[1]))
    assert r.attrs["start_utc"] == win.index[0]
    assert len(resample_to_step(win, 7000.0)) == 2  # 0 and 7000 s; 10800 s would need 14000
    with pytest.raises(ValueError, match=r"step_s = -1\.0"):
        resample_to_step(win, -1.0)


def test_miami_is_refused(tmp_path):
    with pytest.raises(ReservedDataError, match="reserved for acceptance"):
        load_weather("miami")
    with pytest.raises(ReservedDataError):
        load_weather(_pvlib_data() / "12839.tm2")
    # a renamed copy is recognised from its header (station 12839)
    copy = tmp_path / "coastal.dat"
    with open(_pvlib_data() / "12839.tm2") as src:
        copy.write_text(src.readline())
    with pytest.raises(ReservedDataError):
        load_weather(copy)
    assert issubclass(ReservedDataError, ValueError)


def test_load_weather_errors(tmp_path):
    with pytest.raises(WeatherFileError, match="'atlantis'"):
        load_weather("atlantis")
    with pytest.raises(WeatherFileError, match="year = 1992"):
        load_weather("greensboro", year=1992)
    bad = tmp_path / "bad.csv"
    shutil.copy(_pvlib_data() / "703165TY.csv", bad)
    lines = bad.read_text().splitlines()
    fields = lines[5].split(",")
    fields[31] = "-9900.0"  # a missing-value code in the dry-bulb column
    lines[5] = ",".join(fields)
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(WeatherFileError, match="outdoor_temp_K has 1 value"):
        load_weather(bad)
    junk = tmp_path / "junk.csv"
    junk.write_text("not,a,tmy\n1,2,3\n")
    with pytest.raises(WeatherFileError, match=r"junk\.csv"):
        load_weather(junk)
