"""Tests for mpc.report: run and comparison reports, units, and a real headless-Chromium render."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _chromium import CHROMIUM, chromium

from mpc.report import (
    CHART_NAMES,
    best_per_kpi,
    comparison_table,
    format_kpi,
    kpi_direction,
    write_compare_report,
    write_run_report,
)
from mpc.report import _units as units
from mpc.report._series import change_points, minmax_decimate, true_intervals

# ---------------------------------------------------------------- synthetic run


def synthetic_run(
    n: int = 400, zones: int = 4, dt: float = 2.0, seed: int = 0, water: bool = False
) -> tuple[pd.DataFrame, dict, dict, pd.DataFrame]:
    """A deterministic closed-loop-looking run with every column of the report contract."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1) * dt
    frac = t / t[-1]
    running = ~((frac > 0.55) & (frac < 0.6))
    tgt = np.where(frac < 0.3, 0.5, 0.55)
    cap = np.full(n, 0.6)
    speed = np.where(running, np.minimum(tgt, 0.5 + 0.05 * np.clip((frac - 0.3) * 10, 0, 1)), 0.0)
    speed = speed * np.clip(frac * 20, 0.2, 1.0)
    pos = np.cumsum(speed * dt)
    cw_target = np.where(frac < 0.7, 0.200, 0.205)
    cw = cw_target + 0.0008 * rng.standard_normal(n) + 0.002 * np.exp(-(((frac - 0.4) / 0.03) ** 2))
    residual = 0.0015 + 0.0002 * rng.standard_normal(n) + 0.0015 * (~running)
    limit = np.where(frac < 0.65, 0.5, 0.25)
    d: dict[str, np.ndarray] = {
        "coat_weight_die_kg_m2": cw,
        "exit_residual_kg_kg": residual,
        "critical_rate_ratio": 0.8 + 0.02 * rng.standard_normal(n),
        "web_position_m": pos,
        "line_running": running,  # bool, as a harness may log it
        "speed_m_s": speed,
        "pump_flow_cmd_m3_s": speed * 151e-6,
        "lel_limit_frac": limit,
        "sched_speed_target_m_s": tgt,
        "sched_speed_cap_m_s": cap,
        "coat_weight_target_kg_m2": cw_target,
        "step_time_ms": 20.0 * np.exp(0.3 * rng.standard_normal(n)),
        "solver_failure": rng.random(n) < 0.01,
        "fallback": rng.random(n) < 0.005,
    }
    heater = np.zeros(n)
    fan = np.zeros(n)
    film_max = np.zeros(n)
    base_lel = [0.11, 0.19, 0.16, 0.04, 0.02, 0.01]
    for i in range(1, zones + 1):
        lel = (
            0.0
            if water
            else base_lel[(i - 1) % 6] * (1 + 0.05 * rng.standard_normal(n)) * speed / 0.5
        )
        d[f"zone{i}_lel_frac"] = np.zeros(n) + lel
        d[f"zone{i}_air_temp_K"] = 348.15 + 10 * i + 0.3 * rng.standard_normal(n)
        d[f"zone{i}_film_temp_K"] = 340.0 + 10 * i + 0.3 * rng.standard_normal(n)
        d[f"zone{i}_max_film_temp_K"] = d[f"zone{i}_film_temp_K"] + 0.5
        d[f"zone{i}_nozzle_velocity_cmd_m_s"] = np.full(n, 15.0 + i)
        d[f"zone{i}_nozzle_velocity_m_s"] = (15.0 + i) * (1 - 0.05 * frac)
        d[f"zone{i}_heater_power_cmd_W"] = 1e5 + 2e4 * i + 5e3 * np.sin(frac * 6 + i)
        d[f"zone{i}_exhaust_flow_m3_s"] = 1.0 + 0.2 * i + 0.05 * np.cos(frac * 4 + i)
        d[f"zone{i}_humidity_ratio_kg_kg"] = 0.005 + 0.002 * i + 0.0002 * rng.standard_normal(n)
        d[f"meas_zone{i}_lel_frac"] = np.where(
            np.arange(n) % 5 == 0, d[f"zone{i}_lel_frac"], np.nan
        )
        heater += d[f"zone{i}_heater_power_cmd_W"]
        fan += 1e4 * (d[f"zone{i}_nozzle_velocity_m_s"] / 20) ** 3
        film_max = np.maximum(film_max, d[f"zone{i}_max_film_temp_K"])
    d["heater_power_W"] = heater
    d["fan_power_W"] = fan
    d["dryer_power_W"] = heater + fan
    d["max_film_temp_K"] = film_max
    d["meas_coat_weight_kg_m2"] = np.where(
        np.arange(n) % 10 == 0, cw + 0.0005 * rng.standard_normal(n), np.nan
    )
    d["meas_exit_residual_kg_kg"] = np.where(np.arange(n) % 7 == 0, residual, np.nan)
    ts = pd.DataFrame(d, index=pd.Index(t, name="time_s"))

    positions = np.arange(0.0, math.floor(pos[-1]))
    cw_m = np.interp(positions, pos, cw)
    res_m = np.interp(positions, pos, residual)
    meta = {
        "scenario": "synthetic_batch_change",
        "controller": "nmpc",
        "preset": "graphite_water" if water else "nmc_nmp",
        "coat_weight_lsl_kg_m2": 0.196,
        "coat_weight_usl_kg_m2": 0.204,
        "residual_usl_kg_kg": 0.004,
        "film_temp_max_K": 403.15,
        "warmup_s": float(t[n // 10]),
        "seeds": {"plant": 1, "sensors": 2},
        "versions": {"calmline": "0.1.0", "numpy": np.__version__},
    }
    good = (cw_m > meta["coat_weight_lsl_kg_m2"]) & (cw_m < meta["coat_weight_usl_kg_m2"])
    good &= res_m < meta["residual_usl_kg_kg"]
    per_metre = pd.DataFrame(
        {"position_m": positions, "coat_weight_kg_m2": cw_m, "residual_kg_kg": res_m, "good": good}
    )
    basis = cw_m[good]
    s = basis.std(ddof=1)
    lsl, usl = meta["coat_weight_lsl_kg_m2"], meta["coat_weight_usl_kg_m2"]
    kpis = {
        "scenario": meta["scenario"],
        "controller": meta["controller"],
        "duration_s": float(t[-1]),
        "coat_weight_cp": (usl - lsl) / (6 * s),
        "coat_weight_cpk": min(usl - basis.mean(), basis.mean() - lsl) / (3 * s),
        "residual_solvent_cpk": 2.345,
        "scrap_m": float((~good).sum()),
        "good_m2": float(good.sum()) * 0.7,
        "throughput_m2_h": float(good.sum()) * 0.7 / (t[-1] / 3600),
        "energy_kwh_per_m2": 0.3602,
        "energy_kwh_per_kwh_cell": 2.8116,
        "binder_migration_index": 0.1234,
        "resistance_proxy_cv": 0.00843,
        "max_lel_fraction": float(
            max(np.nanmax(ts[f"zone{i}_lel_frac"]) for i in range(1, zones + 1))
        ),
        "time_above_lel_limit_s": 0.0,
        "max_film_temp_K": float(film_max.max()),
        "step_time_ms_median": float(np.median(d["step_time_ms"])),
        "step_time_ms_p95": float(np.percentile(d["step_time_ms"], 95)),
        "step_time_ms_max": float(d["step_time_ms"].max()),
        "solver_failures": int(d["solver_failure"].sum()),
        "fallbacks": int(d["fallback"].sum()),
        "evaporated_solvent_kg": 123.4,
    }
    return ts, kpis, meta, per_metre


@pytest.fixture(scope="module")
def run_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    ts, kpis, meta, per_metre = synthetic_run()
    out = tmp_path_factory.mktemp("run") / "nmpc"
    return write_run_report(out, ts, kpis, meta, per_metre=per_metre), kpis


def _charts(html: str) -> int:
    return len(re.findall(r'<img class="chart"', html))


def _row(html: str, table_id: str, key: str) -> str:
    table = re.search(rf'<table id="{table_id}">.*?</table>', html, re.S)
    assert table is not None, f"no table {table_id}"
    row = re.search(rf'<tr data-key="{key}">.*?</tr>', table.group(0), re.S)
    assert row is not None, f"no row {key} in {table_id}"
    return row.group(0)


# ---------------------------------------------------------------- units and helpers


def test_units_are_one_place_and_right() -> None:
    assert units.kg_m2_to_mg_cm2(0.2) == pytest.approx(20.0)
    assert units.K_to_degC(373.15) == pytest.approx(100.0)
    assert units.m_s_to_m_min(0.5) == pytest.approx(30.0)
    assert units.W_to_kW(648_000.0) == pytest.approx(648.0)
    assert units.frac_to_pct(0.25) == pytest.approx(25.0)
    assert units.m3_s_to_l_min(1e-4) == pytest.approx(6.0)
    assert units.ws_to_kwh(3.6e6) == pytest.approx(1.0)
    np.testing.assert_allclose(units.kg_m2_to_mg_cm2(np.array([0.1, 0.2])), [10.0, 20.0])
    assert units.time_axis(8 * 3600.0)[1] == "time (h)"


def test_format_and_direction() -> None:
    assert format_kpi("resistance_proxy_cv", 0.0123) == ("1.23", "%")
    assert format_kpi("max_film_temp_K", 378.15) == ("105.0", "°C")
    assert format_kpi("max_lel_fraction", 0.193) == ("19.3", "% LEL")
    assert format_kpi("solver_failures", 3) == ("3", "count")
    assert format_kpi("coat_weight_cpk", float("nan"))[0] == "n/a"
    assert format_kpi("coat_weight_cpk", None)[0] == "n/a"
    assert format_kpi("scenario", "nominal") == ("nominal", "")
    assert format_kpi("mean_coat_weight_kg_m2", 0.2) == (
        "20.000",
        "mg/cm²",
    )  # unknown key, by suffix
    assert kpi_direction("coat_weight_cpk") == 1 and kpi_direction("good_m2") == 1
    assert (
        kpi_direction("energy_kwh_per_kwh_cell") == -1
        and kpi_direction("resistance_proxy_cv") == -1
    )
    assert kpi_direction("time_above_lel_limit_s") == -1  # "must be zero" ranks as lower
    assert kpi_direction("coat_weight_mean_kg_m2") == 0 and kpi_direction("scenario") == 0
    assert kpi_direction("step_time_ms_p95") == 0  # timing is machine noise: never ranked


def test_directions_without_the_kpi_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import mpc.report._kpis as k

    with_table = {key: kpi_direction(key) for key in synthetic_run(n=30)[1]}
    monkeypatch.setattr(k, "_project_directions", dict)  # as if mpc.kpis were absent
    assert {key: kpi_direction(key) for key in with_table} == with_table


def test_decimation_keeps_peaks_and_steps_stay_exact() -> None:
    x = np.arange(30_000, dtype=float)
    y = np.zeros_like(x)
    y[12_345] = 5.0  # a one-sample LEL spike must survive decimation
    y[20_000] = -2.0
    xd, yd, dec = minmax_decimate(x, y, 1000)
    assert dec and len(xd) <= 1000 and yd.max() == 5.0 and yd.min() == -2.0
    assert np.all(np.diff(xd) > 0)
    xs, ys = change_points(x, np.where(x < 100, 0.5, 0.25))
    assert list(ys) == [0.5, 0.25, 0.25] and list(xs) == [0.0, 100.0, 29_999.0]
    assert true_intervals(np.arange(6.0), np.array([0, 1, 1, 0, 0, 1])) == [(1.0, 3.0), (5.0, 5.0)]


# ---------------------------------------------------------------- run report


def test_run_report_is_self_contained(run_report: tuple[Path, dict]) -> None:
    path, kpis = run_report
    html = path.read_text(encoding="utf-8")
    assert path.name == "report.html"
    assert _charts(html) == len(CHART_NAMES)
    for name in CHART_NAMES:
        assert (path.parent / f"{name}.png").stat().st_size > 5_000
    assert not re.search(r"https?://", html)
    assert not re.search(r'(src|href)="(?!data:image/png;base64,)', html)  # nothing but data URIs
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert re.search(r'<img class="chart" alt="[^"]+"', html)
    # headline cards and the KPI table carry the plant's figures
    assert 'data-key="coat_weight_cpk"' in html
    assert f">{kpis['coat_weight_cpk']:.2f}<" in _row(html, "kpi-table", "coat_weight_cpk")
    assert ">2.812<" in _row(html, "kpi-table", "energy_kwh_per_kwh_cell")
    assert ">0.84<" in _row(html, "kpi-table", "resistance_proxy_cv")
    assert "evaporated_solvent_kg" in html  # keys the report does not know are listed too
    assert "mg/cm²" in html and "synthetic_batch_change" in html and "seeds.plant" in html


def test_run_report_refuses_to_overwrite(tmp_path: Path) -> None:
    ts, kpis, meta, _ = synthetic_run(n=60)
    ts = ts[["coat_weight_die_kg_m2", "zone1_lel_frac", "lel_limit_frac"]]  # two charts: quick
    first = write_run_report(tmp_path, ts, kpis, meta)
    before = first.read_bytes()
    with pytest.raises(FileExistsError, match=re.escape(str(tmp_path)) + ".*report.html.*--force"):
        write_run_report(tmp_path, ts, kpis, meta)
    assert first.read_bytes() == before
    png = (tmp_path / "coat_weight_spc.png").read_bytes()
    assert write_run_report(tmp_path, ts, kpis, meta, overwrite=True) == first
    # deterministic apart from the generation time
    stamp = re.compile(r"at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    assert stamp.sub("", first.read_text(encoding="utf-8")) == stamp.sub("", before.decode("utf-8"))
    assert (tmp_path / "coat_weight_spc.png").read_bytes() == png


def test_missing_optional_columns_skip_panels(tmp_path: Path) -> None:
    ts, _, meta, _ = synthetic_run(n=120, zones=3)
    drop = [
        c for c in ts.columns if c.startswith(("meas_", "sched_", "step_", "solver", "fallback"))
    ]
    drop += [
        c
        for c in ts.columns
        if c.endswith(("_air_temp_K", "_exhaust_flow_m3_s", "_heater_power_cmd_W"))
    ]
    drop += ["coat_weight_target_kg_m2", "lel_limit_frac", "dryer_power_W", "web_position_m"]
    ts = ts.drop(columns=drop)
    ts["exit_residual_kg_kg"] = np.nan  # present but empty counts as missing
    meta = {k: v for k, v in meta.items() if k not in ("residual_usl_kg_kg", "film_temp_max_K")}
    html = write_run_report(tmp_path / "a", ts, {"scenario": "s"}, meta).read_text(encoding="utf-8")
    assert 'data-chart="residual_solvent"' in html and 'data-chart="schedule"' in html
    assert 'data-chart="controller_health"' in html
    assert html.count('class="note"') >= 3
    assert _charts(html) == len(list((tmp_path / "a").glob("*.png")))

    # bare minimum: one column, no KPIs, no meta; and a frame with no rows at all
    tiny = pd.DataFrame(
        {"coat_weight_die_kg_m2": [0.2, 0.201, 0.199]},
        index=pd.Index([1.0, 2.0, 3.0], name="time_s"),
    )
    html = write_run_report(tmp_path / "b", tiny, {}, {}).read_text(encoding="utf-8")
    assert _charts(html) == 1 and 'id="kpi-table"' in html
    empty = pd.DataFrame(index=pd.Index([], name="time_s", dtype=float))
    html = write_run_report(tmp_path / "c", empty, {}, {}).read_text(encoding="utf-8")
    assert _charts(html) == 0


def test_time_based_spc_and_water_solvent(tmp_path: Path) -> None:
    ts, kpis, meta, _ = synthetic_run(n=150, water=True)
    keep = [
        c
        for c in ts.columns
        if "coat_weight" in c or c.endswith(("_lel_frac", "_humidity_ratio_kg_kg"))
    ]
    meta["exhaust_humidity_max_kg_kg"] = 0.03
    html = write_run_report(tmp_path, ts[keep], kpis, meta).read_text(encoding="utf-8")
    assert _charts(html) == 3  # SPC per time, exhaust humidity, schedule (coat-weight target)
    assert "in each control interval after the warm-up with the line running (no per-metre data given" in html
    assert 'alt="Zone exhaust humidity ratio per zone"' in html and "Non-flammable solvent" in html


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        write_run_report(tmp_path, [1, 2, 3], {}, {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        write_compare_report(tmp_path, {})


# ---------------------------------------------------------------- comparison


def _three_runs() -> dict[str, tuple]:
    runs = {}
    for i, name in enumerate(["fixed_recipe", "pid", "nmpc"]):
        ts, kpis, meta, _ = synthetic_run(n=80, seed=i)
        meta["controller"] = kpis["controller"] = name
        kpis["coat_weight_cpk"] = [0.6, 1.1, 1.7][i]
        kpis["energy_kwh_per_kwh_cell"] = [3.1, 2.9, 2.5][i]
        kpis["scrap_m"] = [30.0, 12.0, 12.0][i]  # a tie for best
        kpis["time_above_lel_limit_s"] = 0.0  # all equal: not highlighted
        kpis["coat_weight_mean_kg_m2"] = [0.199, 0.2, 0.201][i]  # no direction
        runs[name] = (ts, kpis, meta)
    del runs["pid"][1]["binder_migration_index"]
    return runs


def test_comparison_table_and_highlights(tmp_path: Path) -> None:
    runs = _three_runs()
    table = comparison_table(runs)
    assert list(table["controller"]) == ["fixed_recipe", "pid", "nmpc"]
    assert list(table.columns[:6]) == [
        "controller", "violation", "violation_reason", "targets_met", "targets_missed", "scenario"
    ]
    assert "coat_weight_cpk" in table.columns and table.columns.tolist().count("controller") == 1
    assert math.isnan(table.at[1, "binder_migration_index"])
    assert table["coat_weight_cpk"].dtype == float and table["solver_failures"].dtype.kind in "if"
    assert table["violation"].dtype == bool and not table["violation"].any()
    assert table["scenario"].dtype == object
    best = best_per_kpi(table)
    assert best["coat_weight_cpk"] == ["nmpc"]
    assert best["energy_kwh_per_kwh_cell"] == ["nmpc"]
    assert best["scrap_m"] == ["pid", "nmpc"]
    assert "time_above_lel_limit_s" not in best and "coat_weight_mean_kg_m2" not in best
    assert "step_time_ms_median" not in best

    path = write_compare_report(tmp_path, runs)
    html = path.read_text(encoding="utf-8")
    row = _row(html, "compare-table", "coat_weight_cpk")
    assert re.search(r'class="num best" data-controller="nmpc">1\.70<', row)
    assert 'class="num best" data-controller="pid"' not in row
    assert len(re.findall(r"best", _row(html, "compare-table", "scrap_m"))) == 2
    assert "best" not in _row(html, "compare-table", "coat_weight_mean_kg_m2")
    assert 'class="badge' not in html and 'id="violations"' not in html
    for name in runs:
        assert f'href="{name}/report.html"' in html
    assert _charts(html) == 5 and not re.search(r"https?://", html)
    with pytest.raises(FileExistsError):
        write_compare_report(tmp_path, runs)


def test_comparison_marks_a_run_that_broke_the_lel_limit_or_made_no_good_web(tmp_path: Path) -> None:
    runs = _three_runs()
    ts, kpis, _ = runs["pid"]
    ts.loc[ts.index[40], "zone2_lel_frac"] = 0.61  # limit 0.5 there
    kpis["time_above_lel_limit_s"] = 2.0
    runs["nmpc"][1].update(no_good_web=True, good_m=0.0, total_m=950.0)
    table = comparison_table(runs)
    assert table["violation"].tolist() == [False, True, True]
    t40 = float(ts.index[40])
    assert table.at[1, "violation_reason"] == (
        f"safety: 2 s above the LEL limit in force (worst: zone 2 at LEL fraction 0.61 against a limit of "
        f"0.50 at t = {t40:.0f} s)"
    )
    assert table.at[2, "violation_reason"] == "no good web: every metre after warm-up (950 m) was scrap"
    html = write_compare_report(tmp_path, runs).read_text(encoding="utf-8")
    head = {m.group(1): m.group(2) for m in re.finditer(r'<th data-controller="([^"]+)">(.*?)</th>', html)}
    assert re.search(r'class="badge bad" title="safety: 2 s above[^"]*">safety<', head["pid"])
    assert re.search(r'class="badge bad" title="no good web: [^"]*">no good web<', head["nmpc"])
    assert "badge" not in head["fixed_recipe"]
    assert 'id="violations"' in html and "<b>pid</b>: safety: 2 s above" in html


def test_compare_can_write_each_run_report(tmp_path: Path) -> None:
    keep = ["coat_weight_die_kg_m2", "speed_m_s", "zone1_lel_frac"]  # few charts: quick
    runs = {n: (r[0][keep], r[1], r[2]) for n, r in list(_three_runs().items())[:2]}
    write_compare_report(tmp_path, runs, run_reports=True)
    for name in runs:
        assert (tmp_path / name / "report.html").is_file()
    with pytest.raises(ValueError, match="folder name"):
        write_compare_report(tmp_path / "x", {"../evil": runs["pid"]}, run_reports=True)


# ---------------------------------------------------------------- real browser


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return chromium(["--virtual-time-budget=5000", *args], profile)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (CI: apt-get install -y chromium)"
)
def test_report_renders_in_headless_chromium(run_report: tuple[Path, dict], tmp_path: Path) -> None:
    path, kpis = run_report
    url = path.resolve().as_uri()
    res = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    dom = res.stdout
    assert res.returncode == 0, res.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:2000]
    assert 'data-rendered="ok"' in body.group(0)
    n = re.search(r'data-images="(\d+)"', body.group(0))
    assert n is not None and int(n.group(1)) == len(CHART_NAMES) == _charts(dom)
    assert f">{kpis['coat_weight_cpk']:.2f}<" in _row(dom, "kpi-table", "coat_weight_cpk")
    assert ">2.812<" in _row(dom, "kpi-table", "energy_kwh_per_kwh_cell")
    assert ">0.84<" in _row(dom, "kpi-table", "resistance_proxy_cv")
    assert not re.search(r"https?://", dom)

    shot = tmp_path / "shot.png"
    res = _chromium(
        [f"--screenshot={shot}", "--window-size=1200,1600", "--hide-scrollbars", url],
        tmp_path / "profile-shot",
    )
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    image = pytest.importorskip("PIL.Image")
    with image.open(shot) as im:
        assert im.size == (1200, 1600)
        px = np.asarray(im.convert("L"), dtype=float)
    assert px.std() > 15.0  # not a blank page
    assert (px < 100).mean() > 0.005  # dark ink (text, lines) present
