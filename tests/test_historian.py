"""Historian ingestion and replay: mappings, units, every ingestion error, log-driven disturbances, CLI."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mpc.cli._replay import replay
from mpc.historian import (
    CAP_MARGIN,
    HistorianError,
    LogDataError,
    MappingError,
    build_replay_setup,
    default_mapping,
    from_si,
    load_log,
    load_mapping,
    mapping_from_dict,
    read_log,
    replay_log,
    replay_scenario,
    to_si,
)
from mpc.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "scenarios" / "data" / "logs"
MAPPINGS = ROOT / "scenarios" / "data" / "mappings"
NMC = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
GRAPHITE = ROOT / "scenarios" / "graphite_water_nominal.toml"
JULY = LOGS / "greensboro_july_nmc.csv"
JANUARY = LOGS / "greensboro_january_nmc.csv"
SAND = LOGS / "sand_point_graphite.csv"
SAND_MAP = MAPPINGS / "sand_point_dcs.toml"

HEADER = ["timestamp", "ambient_temp_C", "ambient_rh_pct", "slurry_solids_wt_pct", "speed_request_m_min"]


def _rows(n: int = 11, step_min: int = 1) -> list[list[str]]:
    t0 = pd.Timestamp("2024-07-01T08:00:00+02:00")
    return [
        [(t0 + pd.Timedelta(minutes=i * step_min)).isoformat(), f"{20 + 0.1 * i:.1f}", f"{50 + i}", "65.0", "30"]
        for i in range(n)
    ]


def _write(tmp_path: Path, rows: list[list[str]], header: list[str] = HEADER, name: str = "log.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return p


def _error(path: Path, mapping: object = None, **kw: object) -> LogDataError:
    with pytest.raises(LogDataError) as info:
        read_log(path, mapping, **kw)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, ValueError) and str(err).startswith(str(path))
    assert "Traceback" not in str(err)
    return err


# ------------------------------------------------------------------ mappings and units
def test_default_mapping_reads_the_default_columns() -> None:
    m = default_mapping()
    assert m.time.column == "timestamp" and m.time.timezone == ""
    assert m.channel("outdoor_temp").column == "ambient_temp_C" and m.channel("outdoor_temp").unit == "degC"
    assert m.channel("slurry_solids").unit == "wt%" and m.channel("speed_request").unit == "m/min"
    assert m.channel("heater_efficiency").zone_columns == "heater_efficiency_zone{zone}"
    assert load_mapping(MAPPINGS / "default.toml").model_dump(exclude={"source", "description"}) == \
        m.model_dump(exclude={"source", "description"})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[time]\ncolumn = 'ts'\nzone = 'UTC'\n", r"unknown key 'time.zone'"),
        ("[channels.outdoor_temperature]\ncolumn = 'x'\n", r"unknown channel 'channels.outdoor_temperature'"),
        ("[channels.outdoor_temp]\nunit = 'Celsius'\n", r"'Celsius' is not a unit of a temperature.*degC"),
        ("[channels.fan_flow_factor]\nzone_columns = 'fan_z'\n", r"must contain '\{zone\}'"),
        ("[channels.outdoor_rh]\nzone_columns = 'rh_{zone}'\n", r"not a per-zone channel"),
        ("[time]\ntimezone = 'Mars/Olympus'\n", r"time zone 'Mars/Olympus' is unknown"),
        ("[channels.speed_request]\ninterpolation = 'linear'\n", r"must be 'hold'"),
        ("[channels.slurry_solids]\ncolumn = ''\n", r"a required channel needs a column"),
        ("[gaps]\nmax_gap_s = -1\n", r"gaps.max_gap_s"),
        ("[time\n", r"not valid TOML"),
    ],
)
def test_mapping_errors_name_the_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "map.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=match) as info:
        load_mapping(p)
    assert str(p) in str(info.value) and isinstance(info.value, ValueError)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.toml")


def test_unit_conversion_to_si() -> None:
    assert to_si("temperature", "degC", [20.0])[0] == pytest.approx(293.15)
    assert to_si("temperature", "degF", [68.0])[0] == pytest.approx(293.15)
    assert to_si("temperature", "K", [300.0])[0] == 300.0
    assert to_si("relative_humidity", "%", [55.0])[0] == pytest.approx(0.55)
    assert to_si("mass_fraction", "wt%", [65.0])[0] == pytest.approx(0.65)
    assert to_si("mass_fraction", "fraction", [0.65])[0] == pytest.approx(0.65)
    assert to_si("fraction", "%", [85.0])[0] == pytest.approx(0.85)
    assert to_si("speed", "m/min", [30.0])[0] == pytest.approx(0.5)
    assert to_si("speed", "ft/min", [100.0])[0] == pytest.approx(0.508)
    assert np.isnan(to_si("speed", "m/s", [np.nan])[0])
    assert from_si("temperature", "degF", to_si("temperature", "degF", [-40.0]))[0] == pytest.approx(-40.0)
    with pytest.raises(ValueError, match=r"unknown unit 'mph'.*m/min"):
        to_si("speed", "mph", [1.0])


def test_declared_units_give_the_same_si_log(tmp_path: Path) -> None:
    rows = _rows()
    a = load_log(_write(tmp_path, rows, name="a.csv"))
    conv = [[r[0], f"{float(r[1]) * 9 / 5 + 32:.4f}", f"{float(r[2]) / 100:.4f}", f"{float(r[3]) / 100:.4f}",
             f"{float(r[4]) / 0.3048:.6f}"] for r in rows]
    b_path = _write(tmp_path, conv, header=["t", "oat_F", "rh", "solids", "speed_ftmin"], name="b.csv")
    mp = mapping_from_dict({
        "time": {"column": "t"},
        "channels": {
            "outdoor_temp": {"column": "oat_F", "unit": "degF"},
            "outdoor_rh": {"column": "rh", "unit": "fraction"},
            "slurry_solids": {"column": "solids", "unit": "fraction"},
            "speed_request": {"column": "speed_ftmin", "unit": "ft/min"},
        },
    })
    b = load_log(b_path, mp)
    pd.testing.assert_frame_equal(a.frame, b.frame, rtol=1e-6)
    assert a.frame["outdoor_temp_K"].iloc[0] == pytest.approx(293.15)
    assert a.frame["speed_request_m_s"].iloc[0] == pytest.approx(0.5)
    assert b.columns["outdoor_temp_K"] == ("oat_F", "degF")


# ------------------------------------------------------------------ ingestion errors
def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    _error(tmp_path / "nope.csv")
    p = tmp_path / "log.xlsx"
    p.write_bytes(b"x")
    assert "unknown log format" in str(_error(p))


def test_missing_required_column_names_it(tmp_path: Path) -> None:
    p = _write(tmp_path, [r[:3] + r[4:] for r in _rows()], header=[h for h in HEADER if h != "slurry_solids_wt_pct"])
    err = _error(p)
    assert "required column 'slurry_solids_wt_pct'" in str(err) and "[channels.slurry_solids]" in str(err)


def test_missing_time_column(tmp_path: Path) -> None:
    p = _write(tmp_path, _rows(), header=["time", *HEADER[1:]])
    assert "time column 'timestamp' not found" in str(_error(p))


def test_unparsable_time_stamp_names_row_and_column(tmp_path: Path) -> None:
    rows = _rows()
    rows[4][0] = "2024-07-01 8h05"
    err = _error(_write(tmp_path, rows))
    assert err.row == 5 and err.column == "timestamp"
    assert "row 5 (line 6)" in str(err) and "'2024-07-01 8h05' is not an ISO 8601 time stamp" in str(err)


def test_stamp_without_offset_needs_a_time_zone(tmp_path: Path) -> None:
    rows = _rows()
    rows[3][0] = "2024-07-01T08:03:00"
    err = _error(_write(tmp_path, rows))
    assert err.row == 4 and "no UTC offset" in str(err) and "timezone" in str(err)


def test_declared_time_zone_localises_and_ambiguous_times_are_errors(tmp_path: Path) -> None:
    rows = [[f"2023-11-05 00:{m:02d}:00", "10", "50", "65", "30"] for m in range(6)]
    mp = mapping_from_dict({"time": {"timezone": "America/New_York"}})
    log = load_log(_write(tmp_path, rows), mp)
    assert log.start_utc == pd.Timestamp("2023-11-05T04:00:00Z")
    rows.append(["2023-11-05 01:30:00", "10", "50", "65", "30"])  # happens twice that night
    err = _error(_write(tmp_path, rows, name="dst.csv"), mp)
    assert err.row == 7 and "ambiguous or does not exist" in str(err)
    fixed = load_log(_write(tmp_path, rows[:3], name="fixed.csv"), mapping_from_dict({"time": {"timezone": "+02:00"}}))
    assert fixed.start_utc == pd.Timestamp("2023-11-04T22:00:00Z")


def test_custom_time_format(tmp_path: Path) -> None:
    rows = [[f"01.07.2024 08:{m:02d}", "20", "50", "65", "30"] for m in range(5)]
    mp = mapping_from_dict({"time": {"format": "%d.%m.%Y %H:%M", "timezone": "UTC"}})
    assert load_log(_write(tmp_path, rows), mp).start_utc == pd.Timestamp("2024-07-01T08:00Z")


def test_duplicate_time_stamp_names_both_rows(tmp_path: Path) -> None:
    rows = _rows()
    rows[6][0] = rows[5][0]
    err = _error(_write(tmp_path, rows))
    assert err.row == 7 and "duplicate time stamp" in str(err) and "also row 6" in str(err)


def test_same_instant_in_two_offsets_is_a_duplicate(tmp_path: Path) -> None:
    rows = _rows()
    rows[6][0] = (pd.Timestamp(rows[5][0]).tz_convert("UTC")).isoformat()
    assert "duplicate time stamp" in str(_error(_write(tmp_path, rows)))


def test_non_monotonic_time_stamps(tmp_path: Path) -> None:
    rows = _rows()
    rows[3][0], rows[4][0] = rows[4][0], rows[3][0]
    err = _error(_write(tmp_path, rows))
    assert err.row == 5 and "earlier than the row before" in str(err)


def test_non_numeric_cell(tmp_path: Path) -> None:
    rows = _rows()
    rows[2][3] = "65,1"
    p = _write(tmp_path, [[*r[:3], f'"{r[3]}"', r[4]] for r in rows])
    err = _error(p)
    assert err.row == 3 and err.column == "slurry_solids_wt_pct" and "'65,1' is not a number" in str(err)


@pytest.mark.parametrize(
    ("col", "value", "expected"),
    [
        (2, "120", "value 120 % is outside the valid range 0 to 100 %"),
        (3, "95", "value 95 wt% is outside the valid range 20 to 90 wt%"),
        (1, "80", "value 80 degC is outside the valid range -53.15 to 56.85 degC"),
        (4, "400", "m/min is outside the valid range"),
        (1, "inf", "value inf degC is outside"),
    ],
)
def test_out_of_range_value_in_the_file_unit(tmp_path: Path, col: int, value: str, expected: str) -> None:
    rows = _rows()
    rows[7][col] = value
    err = _error(_write(tmp_path, rows))
    assert err.row == 8 and err.column == HEADER[col] and expected in str(err)


def test_short_nan_run_is_interpolated_long_one_is_an_error(tmp_path: Path) -> None:
    rows = _rows(20)
    for i in (5, 6):
        rows[i][2] = ""
    log = load_log(_write(tmp_path, rows), step_s=60.0)
    assert log.frame["outdoor_rh_frac"].loc[360.0] == pytest.approx((50 + 6) / 100)
    assert any("2 missing value(s)" in n for n in log.notes)
    for i in range(5, 12):  # 8 min without a value: longer than 5 min
        rows[i][2] = "NaN"
    err = _error(_write(tmp_path, rows, name="long.csv"))
    assert err.row == 6 and err.column == "ambient_rh_pct" and "max_gap_s = 300" in str(err)


def test_nan_at_the_start_cannot_be_interpolated(tmp_path: Path) -> None:
    rows = _rows()
    rows[0][1] = ""
    err = _error(_write(tmp_path, rows))
    assert err.row == 1 and "at the start" in str(err)


def test_time_gaps_interpolated_error_or_split(tmp_path: Path) -> None:
    rows = _rows(50)
    short = rows[:10] + rows[13:]  # 4-minute gap: bridged
    log = load_log(_write(tmp_path, short), step_s=60.0)
    assert log.frame["outdoor_temp_K"].loc[660.0] == pytest.approx(20 + 1.1 + 273.15)
    long = rows[:15] + rows[25:]  # 11-minute gap
    err = _error(_write(tmp_path, long, name="gap.csv"))
    assert err.row == 16 and "time gap of 660 s" in str(err) and "on_long_gap = 'split'" in str(err)
    mp = mapping_from_dict({"gaps": {"on_long_gap": "split", "min_segment_s": 600.0}})
    segs = read_log(tmp_path / "gap.csv", mp, step_s=60.0)
    assert [s.name for s in segs] == ["gap:seg1", "gap:seg2"]
    assert segs[1].start_utc == pd.Timestamp(rows[25][0]) and segs[0].duration_s == 14 * 60
    with pytest.raises(HistorianError, match="splits into 2 segments"):
        load_log(tmp_path / "gap.csv", mp, step_s=60.0)
    mp_long = mapping_from_dict({"gaps": {"on_long_gap": "split", "min_segment_s": 900.0}})
    only = read_log(tmp_path / "gap.csv", mp_long, step_s=60.0)
    assert len(only) == 1 and only[0].name == "gap" and "left out" in only[0].notes[-1]
    assert only[0].start_utc == pd.Timestamp(rows[25][0])


def test_parquet_log_matches_csv(tmp_path: Path) -> None:
    rows = _rows()
    csv = load_log(_write(tmp_path, rows))
    df = pd.read_csv(tmp_path / "log.csv")
    df.to_parquet(tmp_path / "text.parquet")
    pd.testing.assert_frame_equal(load_log(tmp_path / "text.parquet").frame, csv.frame)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df.to_parquet(tmp_path / "dt.parquet")
    pd.testing.assert_frame_equal(load_log(tmp_path / "dt.parquet").frame, csv.frame)
    df["timestamp"] = df["timestamp"].dt.tz_localize(None)
    df.to_parquet(tmp_path / "naive.parquet")
    err = _error(tmp_path / "naive.parquet")
    assert "no time zone" in str(err) and "line" not in str(err)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "cannot read the file" in str(_error(tmp_path / "bad.parquet"))


def test_too_few_rows(tmp_path: Path) -> None:
    assert "at least 2" in str(_error(_write(tmp_path, _rows(1))))


def test_source_files_are_never_modified(tmp_path: Path) -> None:
    paths = [JULY, JANUARY, SAND]
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    load_log(JULY)
    load_log(JANUARY, MAPPINGS / "default.toml")
    log = load_log(SAND, SAND_MAP)
    assert log.sha256 == hashlib.sha256(SAND.read_bytes()).hexdigest()
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths] == before


# ------------------------------------------------------------------ the committed logs
def test_committed_logs_are_the_generators_output(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_logs", ROOT / "scenarios" / "data" / "make_logs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_logs"] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["make_logs"]
    written = mod.write_logs(tmp_path)
    assert {p.name for p in written} == {p.name for p in LOGS.glob("*.csv")}
    for p in written:
        assert p.read_bytes() == (LOGS / p.name).read_bytes(), p.name
    total = sum(p.stat().st_size for p in LOGS.iterdir())
    assert total < 400_000
    with pytest.raises(FileExistsError):
        mod.write_logs(tmp_path)


def test_committed_logs_read_cleanly() -> None:
    july = load_log(JULY)
    assert july.duration_s == 12 * 3600 and july.start_utc == pd.Timestamp("1990-07-20T11:00Z")
    assert set(july.frame.columns) == {"outdoor_temp_K", "outdoor_rh_frac", "slurry_solids_frac",
                                       "zone3_heater_efficiency", "speed_request_m_s"}
    jan = load_log(JANUARY)
    assert any("bridged" in n for n in jan.notes) and any("ambient_rh_pct" in n for n in jan.notes)
    sand = load_log(SAND, SAND_MAP)
    assert sand.start_utc == pd.Timestamp("1990-09-12T14:00Z")  # 06:00 Alaska daylight time
    assert "zone2_fan_flow_factor" in sand.frame and "inlet_air_rh_frac" in sand.frame
    assert sand.frame["outdoor_temp_K"].iloc[0] == pytest.approx((42.8 - 32) * 5 / 9 + 273.15)


# ------------------------------------------------------------------ replay
def test_replay_disturbances_are_the_log_values_at_given_times() -> None:
    base = load_scenario(NMC)
    log = load_log(JULY, step_s=base.control_interval_s)
    setup = build_replay_setup(log, base)
    dist = setup.disturbances()
    L = setup.layout
    raw = pd.read_csv(JULY)

    def d_at(t: float) -> np.ndarray:
        return dist.vector(t)

    d0 = d_at(0.0)
    assert d0[L.D_OUT_T] == pytest.approx(raw["ambient_temp_C"][0] + 273.15)
    assert d0[L.D_OUT_RH] == pytest.approx(raw["ambient_rh_pct"][0] / 100)
    assert d0[L.D_SOLIDS] == pytest.approx(raw["slurry_solids_wt_pct"][0] / 100)
    # half-way between two rows: linear interpolation
    d30 = d_at(30.0)
    assert d30[L.D_OUT_RH] == pytest.approx((raw["ambient_rh_pct"][0] + raw["ambient_rh_pct"][1]) / 200)
    # after the batch change at 50 min, on the row
    d_batch = d_at(3060.0)
    assert d_batch[L.D_SOLIDS] == pytest.approx(raw["slurry_solids_wt_pct"][51] / 100)
    assert d_batch[L.D_SOLIDS] > 0.659
    # zone 3 heater degraded after 7 h 45 min; other zones from the base scenario (1.0)
    d_late = d_at(8 * 3600.0)
    heat = d_late[L.d_heater_eff]
    assert heat[2] == pytest.approx(0.85) and np.all(heat[[0, 1, 3]] == 1.0)
    assert np.all(d_late[L.d_fan_factor] == 1.0)
    # the announced schedule: the speed request (30 -> 33 m/min at 3 h), the base's cap
    assert setup.schedule.target_m_s(3 * 3600.0 - 2.0) == pytest.approx(0.5)
    assert setup.schedule.target_m_s(3 * 3600.0) == pytest.approx(0.55)
    assert setup.schedule.cap_m_s(5 * 3600.0) == pytest.approx(base.schedule.speed_cap_m_s)
    assert setup.schedule.batch_changes == ()
    sc = setup.scenario
    assert sc.name == "greensboro_july_nmc" and sc.duration_s == 12 * 3600
    assert sc.seeds == base.seeds and sc.spec == base.spec and sc.mismatch == base.mismatch
    assert "historian log greensboro_july_nmc.csv" in dist.weather_note


def test_all_zones_columns_and_per_zone_columns() -> None:
    base = load_scenario(NMC)
    setup = build_replay_setup(load_log(JANUARY), base)
    d = setup.disturbances().vector(4300.0)  # every heater at 90 % from 70 min
    assert np.all(d[setup.layout.d_heater_eff] == pytest.approx(0.9))
    d = setup.disturbances().vector(5.5 * 3600)  # every fan at 93 % from 5 h
    assert np.all(d[setup.layout.d_fan_factor] == pytest.approx(0.93))
    g = load_scenario(GRAPHITE)
    sand = build_replay_setup(load_log(SAND, SAND_MAP), g)
    fan = sand.disturbances().vector(4.5 * 3600)[sand.layout.d_fan_factor]
    assert fan[1] < 0.85 and np.all(fan[[0, 2, 3]] == 1.0)


def test_zone_column_beyond_the_line_is_an_error(tmp_path: Path) -> None:
    rows = [[*r, "0.9"] for r in _rows()]
    p = _write(tmp_path, rows, header=[*HEADER, "heater_efficiency_zone7"])
    with pytest.raises(HistorianError, match=r"'heater_efficiency_zone7' is for zone 7; the nmc_nmp line has zones 1-4"):
        build_replay_setup(load_log(p), load_scenario(NMC))


def test_speed_cap_rule(tmp_path: Path) -> None:
    base = load_scenario(NMC)
    rows = _rows()
    for r in rows[5:]:
        r[4] = "40"  # above the base cap of 36 m/min
    log = load_log(_write(tmp_path, rows))
    sc = replay_scenario(log, base)
    assert sc.schedule.speed_cap_m_s == pytest.approx(40 / 60 * CAP_MARGIN)
    assert [c.t_s for c in sc.schedule.speed_changes] == [300.0]
    assert replay_scenario(log, base, speed_cap_m_s=0.7).schedule.speed_cap_m_s == 0.7
    with pytest.raises(HistorianError, match="exceeds the given cap"):
        replay_scenario(log, base, speed_cap_m_s=0.6)
    short = replay_scenario(log, base)
    assert short.warmup_s == pytest.approx(0.5 * log.duration_s)


def test_log_grid_must_be_the_control_interval() -> None:
    with pytest.raises(HistorianError, match="control interval"):
        build_replay_setup(load_log(JULY, step_s=5.0), load_scenario(NMC))


def test_window_and_replay_run_record_the_log() -> None:
    res = replay_log(SAND, "recipe", scenario=GRAPHITE, mapping=SAND_MAP, start_s=3000.0, window_s=600.0)
    ts = res.timeseries
    raw = pd.read_csv(SAND)
    assert len(ts) == 300 and res.kpis["scenario"] == "sand_point_graphite"
    # row k holds d(k * dt) at index (k + 1) * dt; minute 50 of the log is the window's t = 0
    first = ts.iloc[0]
    assert first["dist_outdoor_temp_K"] == pytest.approx((raw["OAT_degF"][50] - 32) * 5 / 9 + 273.15)
    assert first["dist_zone2_fan_flow_factor"] == pytest.approx(raw["FAN_FACTOR_Z2"][50])
    assert first["log_inlet_air_rh_frac"] == pytest.approx(raw["DRYER_INLET_RH"][50] / 100)
    rep = res.meta["replay"]
    assert rep["start_utc"] == "1990-09-12T14:50:00+00:00" and "not a plant input" in rep["notes"]
    assert "zone2_fan_flow_factor" in rep["channels_from_log"]
    assert res.meta["seeds"] == {"disturbances": 11, "process_noise": 12, "sensors": 13}
    with pytest.raises(HistorianError, match="past the end"):
        replay_log(SAND, "recipe", scenario=GRAPHITE, mapping=SAND_MAP, start_s=8 * 3600 - 60, window_s=600.0)


def test_preset_must_match_the_base() -> None:
    with pytest.raises(HistorianError, match="preset 'graphite_water', not 'nmc_nmp'"):
        replay_log(JULY, "recipe", scenario=GRAPHITE, preset="nmc_nmp", window_s=600.0)


# ------------------------------------------------------------------ CLI
def test_cli_replay_writes_outputs_and_keeps_existing(tmp_path: Path) -> None:
    out = tmp_path / "rp"
    args = [str(JANUARY), "--controller", "recipe", "--out", str(out), "--window", "600", "--json"]
    res = CliRunner().invoke(replay, args)
    assert res.exit_code == 0, res.output
    kpis = json.loads(res.stdout)
    assert kpis["scenario"] == "greensboro_january_nmc" and kpis["controller"] == "recipe"
    for name in ("kpis.json", "timeseries.parquet", "report.html"):
        assert (out / name).is_file(), name
    assert json.loads((out / "kpis.json").read_text())["scenario"] == "greensboro_january_nmc"
    before = (out / "kpis.json").read_bytes()
    again = CliRunner().invoke(replay, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert (out / "kpis.json").read_bytes() == before
    forced = CliRunner().invoke(replay, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


def test_cli_replay_user_errors(tmp_path: Path) -> None:
    res = CliRunner().invoke(replay, [str(SAND), "--controller", "pid", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "time column 'timestamp' not found" in res.output
    res = CliRunner().invoke(replay, [str(SAND), "--controller", "pid", "--out", str(tmp_path / "x"),
                                      "--scenario", str(GRAPHITE), "--preset", "nmc_nmp"])
    assert res.exit_code == 2 and "does not match" in res.output
    assert not (tmp_path / "x").exists()

