"""Tests of mpc.kpis: hand-computed capability, per-metre sampling, scrap, energy, proxy, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mpc.kpis import (
    KPI_DIRECTIONS,
    KPI_KEYS,
    KpiInputError,
    KpiSpec,
    KpiSpecError,
    capability,
    capability_upper,
    compute_kpis,
    per_metre_table,
    resistance_proxy,
    sample_metres,
    write_kpis_json,
)
from mpc.kpis._web import RangeMax

# ---------------------------------------------------------------------------
# helpers


def make_spec(**kw: object) -> KpiSpec:
    base: dict[str, object] = dict(
        coat_weight_target_kg_m2=0.2,
        coat_weight_lsl_kg_m2=0.19,
        coat_weight_usl_kg_m2=0.21,
        residual_usl_kg_kg=0.01,
        film_temp_max_K=400.0,
        warmup_s=10.0,
        settling_after_restart_m=0.0,
        die_to_dryer_exit_m=20.0,
        width_m=1.0,
        cell_kwh_per_m2_at_target=0.1,
        scenario="test",
        controller="none",
    )
    base.update(kw)
    return KpiSpec(**base)  # type: ignore[arg-type]


def make_ts(
    n: int = 200, dt: float = 1.0, speed: np.ndarray | float = 1.0, zones: int = 2, **cols: object
) -> pd.DataFrame:
    """A clean run: rows at t = dt .. n dt, position = cumulative speed * dt, everything in spec."""
    t = np.arange(1, n + 1) * dt
    v = np.broadcast_to(np.asarray(speed, dtype=float), (n,)).copy()
    data: dict[str, object] = {
        "speed_m_s": v,
        "web_position_m": np.cumsum(v * dt),
        "coat_weight_die_kg_m2": 0.2,
        "exit_residual_kg_kg": 0.005,
        "max_film_temp_K": 350.0,
        "critical_window_rate_ratio": 0.5,
        "lel_limit_frac": 0.5,
        "dryer_power_W": 1000.0,
        "heater_power_W": 800.0,
        "fan_power_W": 200.0,
        "solvent_recovery_power_W": 0.0,
        "makeup_air_heat_W": 300.0,
        "line_running": v > 0,
        "step_time_ms": 10.0,
        "solver_failure": 0,
        "fallback": 0,
    }
    for z in range(1, zones + 1):
        data[f"zone{z}_lel_frac"] = 0.1
    data.update(cols)
    return pd.DataFrame(data, index=pd.Index(t, name="time_s"))


# ---------------------------------------------------------------------------
# capability


def test_capability_hand_sample() -> None:
    # x = 1..5: mean 3, s (ddof=1) = sqrt(10/4) = 1.58114
    # Cp = (9 - 0)/(6 * 1.58114) = 0.94868; Cpk = min(9-3, 3-0)/(3 * 1.58114) = 0.63246
    # one-sided Cpk = (9 - 3)/(3 * 1.58114) = 1.26491  (ddof=0 would give Cp = 1.06066)
    cp, cpk = capability([1, 2, 3, 4, 5], 0.0, 9.0)
    assert cp == pytest.approx(0.9486833, rel=1e-6)
    assert cpk == pytest.approx(0.6324555, rel=1e-6)
    assert capability_upper([1, 2, 3, 4, 5], 9.0) == pytest.approx(1.2649111, rel=1e-6)


def test_capability_cap_when_no_spread() -> None:
    x = [0.2] * 10
    assert capability(x, 0.19, 0.21) == (5.0, 5.0)
    assert capability(x, 0.19, 0.21, cap=3.0) == (3.0, 3.0)
    assert capability_upper(x, 0.21) == 5.0
    # zero spread outside the limits: -cap; exactly on a limit: 0
    assert capability([0.3] * 4, 0.19, 0.21) == (5.0, -5.0)
    assert capability([0.21] * 4, 0.19, 0.21)[1] == 0.0
    assert capability_upper([0.3] * 4, 0.21) == -5.0
    # a very capable but not degenerate sample is capped too
    assert capability([0.2, 0.2 + 1e-9, 0.2 - 1e-9], 0.19, 0.21) == (5.0, 5.0)


def test_capability_negative_when_mean_outside() -> None:
    # x = 10, 11, 12: mean 11, s = 1; Cp = 9/6 = 1.5; Cpk = min(9-11, 11-0)/3 = -2/3
    cp, cpk = capability([10, 11, 12], 0.0, 9.0)
    assert cp == pytest.approx(1.5)
    assert cpk == pytest.approx(-2.0 / 3.0)
    assert capability_upper([10, 11, 12], 9.0) == pytest.approx(-2.0 / 3.0)
    # far outside: floored at -cap
    assert capability([100, 101, 102], 0.0, 9.0)[1] == -5.0


def test_capability_too_few_values() -> None:
    assert capability([], 0.0, 1.0) == (0.0, 0.0)
    assert capability([0.5], 0.0, 1.0) == (0.0, 0.0)
    assert capability_upper([0.5], 1.0) == 0.0


def test_capability_on_a_known_distribution() -> None:
    rng = np.random.default_rng(12345)
    mu, sigma, lsl, usl = 0.201, 0.002, 0.19, 0.21
    x = rng.normal(mu, sigma, 200_000)
    cp, cpk = capability(x, lsl, usl)
    assert cp == pytest.approx((usl - lsl) / (6 * sigma), rel=0.01)
    assert cpk == pytest.approx((usl - mu) / (3 * sigma), rel=0.01)


# ---------------------------------------------------------------------------
# per-metre sampling


def test_range_max_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(1000, 2))
    lo = rng.integers(0, 1000, 500)
    hi = np.minimum(lo + rng.integers(0, 300, 500), 999)
    got = RangeMax(v).query(lo, hi)
    want = np.array([v[a : b + 1].max(axis=0) for a, b in zip(lo, hi, strict=True)])
    np.testing.assert_array_equal(got, want)


def test_constant_speed_metre_count_and_coat_weight_lag() -> None:
    # 0.5 m/s, dt = 1 s, 200 rows: position 0.5 t, 100 m at the end.
    # warm-up 10 s -> position 5 m; the last metre to leave the dryer is 100 - 20 = 80:
    # metres 5..80 = 76. Metre p passes the die at t = 2 p and leaves at t = 2 (p + 20).
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    cw = 0.2 + 2e-5 * (t - 100.0)
    res = 0.001 + 2e-5 * t
    ts = make_ts(n, speed=0.5, coat_weight_die_kg_m2=cw, exit_residual_kg_kg=res)
    web = sample_metres(t, ts["web_position_m"].to_numpy(), 10.0, 20.0)
    np.testing.assert_array_equal(web.position_m, np.arange(5, 81))
    np.testing.assert_allclose(web.t_die_s, 2 * web.position_m)
    np.testing.assert_allclose(web.t_exit_s, 2 * (web.position_m + 20))
    k = compute_kpis(ts, make_spec())
    assert k["total_m"] == 76.0 and k["good_m"] == 76.0 and k["scrap_m"] == 0.0
    # coat weight as laid at the die, weighted by web length: the 190 rows after the warm-up
    # (t = 11 .. 200, 0.5 m each, 95 m), mean t = 105.5
    assert k["coat_weight_mean_kg_m2"] == pytest.approx(0.2 + 2e-5 * (105.5 - 100), rel=1e-12)
    # frequency-weighted std (ddof = 1 on 95 m) of 0.2 + 2e-5 t over 190 consecutive integers
    ss = 0.5 * 190 * (190**2 - 1) / 12
    assert k["coat_weight_std_kg_m2"] == pytest.approx(2e-5 * math.sqrt(ss / (95 - 1)), rel=1e-9)
    # residual read when the metre left the dryer: mean p = 42.5, t = 2 (42.5 + 20) = 125
    assert k["residual_mean_kg_kg"] == pytest.approx(0.001 + 2e-5 * 125, rel=1e-12)


def test_variable_speed_residual_read_when_the_metre_leaves() -> None:
    # 1 m/s for t <= 50 (position t), then 2 m/s (position 50 + 2 (t - 50)); die-to-exit 20 m.
    # metre 40 leaves the dryer at position 60: 50 + 2 (t - 50) = 60 -> t = 55 (not 60, not 50);
    # metre 45 at position 65: t = 57.5 (between rows).
    n = 100
    t = np.arange(1, n + 1, dtype=float)
    speed = np.where(t <= 50, 1.0, 2.0)
    res = 1e-4 * t
    ts = make_ts(n, speed=speed, exit_residual_kg_kg=res)
    web = sample_metres(t, ts["web_position_m"].to_numpy(), 10.0, 20.0)
    i40 = int(np.flatnonzero(web.position_m == 40)[0])
    i45 = int(np.flatnonzero(web.position_m == 45)[0])
    assert web.t_die_s[i40] == pytest.approx(40.0)
    assert web.t_exit_s[i40] == pytest.approx(55.0)
    assert web.t_exit_s[i45] == pytest.approx(57.5)
    # t_exit(p) = 35 + p / 2 for p >= 30; residual 1e-4 t_exit > 0.00562 <=> t_exit > 56.2 <=> p >= 43.
    # The run ends at position 150: metres 10..130; 43..130 = 88 scrap, 10..42 = 33 good.
    k = compute_kpis(ts, make_spec(residual_usl_kg_kg=0.00562))
    assert k["total_m"] == 121.0
    assert k["scrap_residual_m"] == 88.0
    assert k["scrap_m"] == 88.0
    assert k["good_m"] == 33.0


def test_line_stop_adds_exactly_the_settling_window() -> None:
    # runs 1 m/s to t = 100 (position 100), stopped t = 101..150, runs again from t = 151.
    n = 300
    t = np.arange(1, n + 1, dtype=float)
    speed = np.where((t > 100) & (t <= 150), 0.0, 1.0)
    ts = make_ts(n, speed=speed)
    assert ts["web_position_m"].loc[150.0] == 100.0
    base = compute_kpis(ts, make_spec(settling_after_restart_m=0.0))
    k = compute_kpis(ts, make_spec(settling_after_restart_m=25.0))
    # end position 250: metres 10..230 = 221
    assert base["total_m"] == k["total_m"] == 221.0
    assert base["scrap_m"] == 0.0 and base["restarts"] == 1
    assert k["scrap_m"] - base["scrap_m"] == 25.0
    assert k["scrap_settling_m"] == 25.0
    assert k["good_m"] == 196.0
    # the window starts where the web stood (100), not one row later (101): with the run cut at
    # t = 180 (position 130) the last metre to leave is 110, so the window holds 100..110 = 11
    k_cut = compute_kpis(make_ts(180, speed=speed[:180]), make_spec(settling_after_restart_m=25.0))
    assert k_cut["scrap_settling_m"] == 11.0
    # the web in the dryer through the stop sees a film spike at t = 125, mid-stop: metres 81..100
    # (20). Metre 100 reached the die at t = 100, when the line stopped; metre 80 reached the
    # dryer exit then and counts as having left (first arrival).
    film = np.where(t == 125, 410.0, 350.0)
    k_film = compute_kpis(make_ts(n, speed=speed, max_film_temp_K=film), make_spec())
    assert k_film["scrap_film_temp_m"] == 20.0
    # two overlapping windows count each metre once: stop again right after the restart
    speed2 = speed.copy()
    speed2[(t > 160) & (t <= 170)] = 0.0  # position 110 during the 2nd stop: window [110, 135)
    k2 = compute_kpis(make_ts(n, speed=speed2), make_spec(settling_after_restart_m=25.0))
    assert k2["restarts"] == 2
    assert k2["scrap_settling_m"] == 35.0  # [100, 135)


def test_lel_excursion_scraps_the_metres_in_the_dryer() -> None:
    # 1 m/s, metre p is in the dryer over t in [p, p + 20]. Zone 2 at 0.6 > 0.5 for rows t = 100..104
    # (5 s): metres with [p, p + 20] meeting 100..104 are p = 80..104, 25 metres = 5 + 20.
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    lel2 = np.where((t >= 100) & (t <= 104), 0.6, 0.1)
    k = compute_kpis(make_ts(n, zone2_lel_frac=lel2), make_spec())
    assert k["time_above_lel_limit_s"] == 5.0
    assert k["max_lel_fraction"] == 0.6
    assert k["scrap_lel_m"] == 25.0
    assert k["scrap_m"] == 25.0
    # the same value under a limit above it is no excursion
    k_ok = compute_kpis(make_ts(n, zone2_lel_frac=lel2, lel_limit_frac=0.65), make_spec())
    assert k_ok["time_above_lel_limit_s"] == 0.0 and k_ok["scrap_m"] == 0.0


def test_lel_limit_change_is_honoured() -> None:
    # zone 1 at 0.3 throughout; the limit in force falls 0.5 -> 0.25 from t = 151 (analyser failure).
    # time above: rows 151..200 = 50 s; metres reaching row 151 while in the dryer: p + 20 >= 151,
    # p = 131..180 (the last metre to leave) = 50 metres.
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    limit = np.where(t <= 150, 0.5, 0.25)
    k = compute_kpis(make_ts(n, zone1_lel_frac=0.3, lel_limit_frac=limit), make_spec())
    assert k["time_above_lel_limit_s"] == 50.0
    assert k["scrap_lel_m"] == 50.0
    k_healthy = compute_kpis(make_ts(n, zone1_lel_frac=0.3, lel_limit_frac=0.5), make_spec())
    assert k_healthy["time_above_lel_limit_s"] == 0.0 and k_healthy["scrap_lel_m"] == 0.0


def test_film_temperature_and_binder_exposure_are_peaks_in_the_dryer() -> None:
    # a 1-row film-temperature spike at t = 100 scraps metres 80..100 (21); the binder ratio
    # spike 2.0 at t = 50 raises the exposure of metres 30..50 to 2.0, all others 0.5.
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    film = np.where(t == 100, 410.0, 350.0)
    crit = np.where(t == 50, 2.0, 0.5)
    k = compute_kpis(make_ts(n, max_film_temp_K=film, critical_window_rate_ratio=crit), make_spec())
    assert k["scrap_film_temp_m"] == 21.0
    assert k["max_film_temp_K"] == 410.0
    good = 171 - 21  # metres 10..180 minus 80..100
    assert k["good_m"] == good
    # the binder index describes all web made, scrap included (171 metres)
    assert k["binder_migration_index"] == pytest.approx((21 * 2.0 + (171 - 21) * 0.5) / 171)


# ---------------------------------------------------------------------------
# energy, throughput


def test_energy_per_m2_and_per_kwh_cell_constant_power() -> None:
    # 36 kW for (warm-up 20 s, 200 s] = 180 s -> 6.48e6 J = 1.8 kWh.
    # 1 m/s: metres 20..180 = 161, width 1.5 m -> 241.5 m2; 0.1 kWh cell per m2.
    ts = make_ts(200, dryer_power_W=36_000.0)
    k = compute_kpis(ts, make_spec(warmup_s=20.0, width_m=1.5))
    assert k["energy_kwh"] == pytest.approx(1.8)
    assert k["good_m2"] == pytest.approx(241.5)
    assert k["energy_kwh_per_m2"] == pytest.approx(1.8 / 241.5)
    assert k["energy_kwh_per_kwh_cell"] == pytest.approx(1.8 / 241.5 / 0.1)
    assert k["throughput_m2_h"] == pytest.approx(241.5 / (180 / 3600))
    assert k["duration_s"] == 200.0
    # a warm-up off the grid counts part of a row: (20.5, 200] = 179.5 s; metres 21..180 = 160
    k2 = compute_kpis(ts, make_spec(warmup_s=20.5, width_m=1.5))
    assert k2["energy_kwh"] == pytest.approx(36.0 * 179.5 / 3600)
    assert k2["good_m"] == 160.0


# ---------------------------------------------------------------------------
# resistance proxy


def test_resistance_proxy_hand_case() -> None:
    # cw/target - 1 = 0, +0.1, -0.1; max(0, bm - 1) = 0, 0.2, 0; residual/usl = 0, 0.5, 1
    # R = 1, 1 + 0.08 + 0.1 + 0.025 = 1.205, 1 - 0.08 + 0.05 = 0.97
    r = resistance_proxy(
        np.array([0.2, 0.22, 0.18]),
        np.array([1.0, 1.2, 0.5]),
        np.array([0.0, 0.005, 0.01]),
        coat_weight_target_kg_m2=0.2,
        residual_usl_kg_kg=0.01,
        a_cw=0.8,
        a_bm=0.5,
        a_rs=0.05,
    )
    np.testing.assert_allclose(r, [1.0, 1.205, 0.97])
    # mean 1.058333, s = 0.127900, CV = 0.120850
    assert np.std(r, ddof=1) / np.mean(r) == pytest.approx(0.1208501, rel=1e-6)


def test_resistance_proxy_cv_end_to_end() -> None:
    # coat weight 0.2 at the die up to t = 45, 0.205 from t = 46 (1 m/s): metres 10..45 (36) at
    # R = 1 + 0.05 * 0.5 = 1.025 (residual 0.005 / 0.01), metres 46..180 (135) at R + 0.8 * 0.025.
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    cw = np.where(t <= 45, 0.2, 0.205)
    k = compute_kpis(make_ts(n, coat_weight_die_kg_m2=cw), make_spec())
    r = np.r_[np.full(36, 1.025), np.full(135, 1.045)]
    assert k["good_m"] == 171.0
    assert k["resistance_proxy_mean"] == pytest.approx(r.mean())
    assert k["resistance_proxy_cv"] == pytest.approx(r.std(ddof=1) / r.mean())
    assert k["resistance_proxy_cv"] > 0.005
    # constant web: CV exactly 0, capability capped
    k0 = compute_kpis(make_ts(n), make_spec(capability_cap=4.0))
    assert k0["resistance_proxy_cv"] == 0.0
    assert k0["coat_weight_cp"] == 4.0 and k0["coat_weight_cpk"] == 4.0
    assert k0["residual_solvent_cpk"] == 4.0


# ---------------------------------------------------------------------------
# no good web, finiteness, keys


def _assert_record_finite(k: dict[str, object]) -> None:
    assert tuple(k) == KPI_KEYS
    for key, value in k.items():
        if key in ("scenario", "controller"):
            assert isinstance(value, str)
        elif key == "no_good_web":
            assert isinstance(value, bool)
        elif key in ("restarts", "solves", "solver_failures", "fallbacks"):
            assert isinstance(value, int) and not isinstance(value, bool)
        else:
            assert isinstance(value, float), key
            assert math.isfinite(value), key


def test_no_good_web_is_flagged_and_finite() -> None:
    k = compute_kpis(make_ts(200, coat_weight_die_kg_m2=0.25, dryer_power_W=36_000.0), make_spec())
    _assert_record_finite(k)
    assert k["no_good_web"] is True
    assert k["good_m"] == 0.0 and k["scrap_m"] == k["total_m"] == 171.0 and k["yield_frac"] == 0.0
    # capability describes all web made: no spread, mean above USL -> Cp at the cap, Cpk at -cap;
    # the residual is in specification everywhere -> +cap
    assert k["coat_weight_cp"] == 5.0 and k["coat_weight_cpk"] == -5.0 and k["residual_solvent_cpk"] == 5.0
    assert k["throughput_m2_h"] == 0.0
    # energy per m2 of all web produced: (200 - 10) s * 36 kW / 171 m2
    assert k["energy_kwh_per_m2"] == pytest.approx(36.0 * 190 / 3600 / 171)
    assert k["coat_weight_mean_kg_m2"] == pytest.approx(0.25)
    # one good metre is still "no good web" (no spread)
    t = np.arange(1, 201, dtype=float)
    k1 = compute_kpis(make_ts(200, coat_weight_die_kg_m2=np.where(t == 50, 0.2, 0.25)), make_spec())
    assert k1["good_m"] == 1.0 and k1["no_good_web"] is True and k1["coat_weight_cpk"] < -3.0


def test_no_web_at_all_is_finite() -> None:
    # stopped after warm-up: nothing leaves the dryer; energy is floored at one metre of web
    k = compute_kpis(make_ts(100, speed=0.0, dryer_power_W=36_000.0), make_spec())
    _assert_record_finite(k)
    assert k["total_m"] == 0.0 and k["no_good_web"] is True
    assert k["energy_kwh_per_m2"] == pytest.approx(36.0 * 90 / 3600 / 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_kpi_is_finite_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2000
    speed = np.clip(rng.normal(0.5, 0.4, n), 0.0, None)
    stop = int(rng.integers(0, n - 100))
    speed[stop : stop + 80] = 0.0  # a line stop somewhere
    cols = {
        "coat_weight_die_kg_m2": rng.normal(0.2, 0.01, n),
        "exit_residual_kg_kg": np.abs(rng.normal(0.005, 0.004, n)),
        "max_film_temp_K": rng.normal(380, 15, n),
        "critical_window_rate_ratio": np.abs(rng.normal(0.9, 0.3, n)),
        "zone1_lel_frac": rng.uniform(0, 0.6, n),
        "zone2_lel_frac": rng.uniform(0, 0.3, n),
        "zone3_lel_frac": np.zeros(n),
        "lel_limit_frac": np.where(rng.uniform(size=n) < 0.9, 0.5, 0.25),
        "dryer_power_W": rng.uniform(1e5, 5e5, n),
        "step_time_ms": rng.exponential(20, n),
        "solver_failure": rng.uniform(size=n) < 0.01,
        "fallback": (rng.uniform(size=n) < 0.02).astype(int),
    }
    ts = make_ts(n, dt=2.0, speed=speed, zones=0, **cols)
    k = compute_kpis(
        ts, make_spec(warmup_s=100.0, settling_after_restart_m=30.0, die_to_dryer_exit_m=45.0)
    )
    _assert_record_finite(k)
    assert k["good_m"] + k["scrap_m"] == k["total_m"]
    assert k["solver_failures"] == int(cols["solver_failure"].sum())
    assert k["fallbacks"] == int(cols["fallback"].sum())
    assert -5.0 <= k["coat_weight_cpk"] <= k["coat_weight_cp"] <= 5.0


def test_keys_and_directions() -> None:
    k = compute_kpis(make_ts(), make_spec())
    assert tuple(k) == KPI_KEYS
    numeric = {key for key, v in k.items() if not isinstance(v, str | bool)}
    assert set(KPI_DIRECTIONS) == numeric
    assert set(KPI_DIRECTIONS.values()) <= {"higher", "lower", "zero", None}
    assert KPI_DIRECTIONS["time_above_lel_limit_s"] == "zero"
    assert KPI_DIRECTIONS["coat_weight_cpk"] == "higher"
    assert KPI_DIRECTIONS["energy_kwh_per_kwh_cell"] == "lower"
    assert KPI_DIRECTIONS["step_time_ms_p95"] is None
    assert k["scenario"] == "test" and k["controller"] == "none"


def test_controller_health() -> None:
    n = 100
    step = np.arange(1, n + 1, dtype=float)  # 1..100 ms
    fail = np.zeros(n, dtype=int)
    fail[[3, 7]] = 1
    k = compute_kpis(
        make_ts(n, step_time_ms=step, solver_failure=fail, fallback=fail.astype(bool)), make_spec()
    )
    assert k["step_time_ms_median"] == 50.5
    assert k["step_time_ms_p95"] == pytest.approx(95.05)
    assert k["step_time_ms_max"] == 100.0
    assert k["solver_failures"] == 2 and k["fallbacks"] == 2
    # no solved column: no solve, and the solve times are 0 (finite)
    assert k["solves"] == 0
    assert k["solve_time_ms_median"] == k["solve_time_ms_p95"] == k["solve_time_ms_max"] == 0.0


def test_solve_times_are_over_the_steps_that_solved() -> None:
    """Every 10th step solves (100 ms); the steps between take 1 ms: the per-step median is 1 ms, the solves'
    100 ms."""
    n = 100
    solved = (np.arange(n) % 10 == 0).astype(int)
    step = np.where(solved == 1, 100.0, 1.0)
    step[50] = 250.0  # the slowest solve
    k = compute_kpis(make_ts(n, step_time_ms=step, solved=solved), make_spec())
    assert k["step_time_ms_median"] == 1.0
    assert k["solves"] == 10
    assert k["solve_time_ms_median"] == 100.0 and k["solve_time_ms_max"] == 250.0
    assert k["solve_time_ms_p95"] == pytest.approx(np.percentile(step[solved == 1], 95.0))
    bad = solved.astype(float)
    bad[3] = 0.5
    with pytest.raises(KpiInputError, match=r"column 'solved' holds 0.5 at time_s = 4.0: expected 0/1 or bool"):
        compute_kpis(make_ts(n, step_time_ms=step, solved=bad), make_spec())


# ---------------------------------------------------------------------------
# errors


def test_missing_column_is_named() -> None:
    ts = make_ts().drop(columns=["exit_residual_kg_kg"])
    with pytest.raises(KpiInputError, match=r"'exit_residual_kg_kg' is missing.*expected columns"):
        compute_kpis(ts, make_spec())
    with pytest.raises(KpiInputError, match="zone1_lel_frac"):
        compute_kpis(make_ts(zones=0), make_spec())
    with pytest.raises(KpiInputError, match="zone2_lel_frac"):
        compute_kpis(make_ts(zones=3).drop(columns=["zone2_lel_frac"]), make_spec())
    assert issubclass(KpiInputError, ValueError)


def test_nan_names_column_and_time() -> None:
    cw = np.full(200, 0.2)
    cw[41] = np.nan
    with pytest.raises(KpiInputError, match=r"'coat_weight_die_kg_m2'.*nan.*time_s = 42\.0"):
        compute_kpis(make_ts(coat_weight_die_kg_m2=cw), make_spec())


def test_bad_time_index() -> None:
    ts = make_ts()
    t = ts.index.to_numpy().copy()
    t[50:] += 0.5
    with pytest.raises(KpiInputError, match="not uniform"):
        compute_kpis(ts.set_axis(pd.Index(t, name="time_s")), make_spec())
    t2 = ts.index.to_numpy().copy()
    t2[[10, 11]] = t2[[11, 10]]
    with pytest.raises(KpiInputError, match="not increasing"):
        compute_kpis(ts.set_axis(pd.Index(t2, name="time_s")), make_spec())
    with pytest.raises(KpiInputError, match="set_index"):
        compute_kpis(ts.reset_index(), make_spec())


def test_bad_values() -> None:
    pos = np.arange(1, 201, dtype=float)
    pos[120] = 100.0
    with pytest.raises(KpiInputError, match=r"'web_position_m' decreases at time_s = 121\.0"):
        compute_kpis(make_ts(web_position_m=pos), make_spec())
    with pytest.raises(KpiInputError, match="'line_running'"):
        compute_kpis(make_ts(line_running=2.0), make_spec())
    with pytest.raises(KpiInputError, match="warmup_s"):
        compute_kpis(make_ts(), make_spec(warmup_s=500.0))


def test_spec_validation_names_field_and_value() -> None:
    with pytest.raises(KpiSpecError, match=r"film_temp_max_K = 120\.0.*degC"):
        make_spec(film_temp_max_K=120.0)
    with pytest.raises(KpiSpecError, match="coat_weight_lsl_kg_m2"):
        make_spec(coat_weight_lsl_kg_m2=0.22, coat_weight_usl_kg_m2=0.21)
    with pytest.raises(KpiSpecError, match="coat_weight_target_kg_m2"):
        make_spec(coat_weight_target_kg_m2=0.25)
    with pytest.raises(KpiSpecError, match=r"width_m = nan"):
        make_spec(width_m=float("nan"))
    with pytest.raises(KpiSpecError, match="scenario"):
        make_spec(scenario="")
    with pytest.raises(KpiSpecError, match=r"warmup_s = True"):
        make_spec(warmup_s=True)
    spec = make_spec()
    assert spec.capability_cap == 5.0
    assert (spec.proxy_coat_weight_coeff, spec.proxy_binder_coeff, spec.proxy_residual_coeff) == (
        0.8,
        0.5,
        0.05,
    )


# ---------------------------------------------------------------------------
# JSON


def test_write_kpis_json_never_overwrites_unasked(tmp_path) -> None:
    k = compute_kpis(make_ts(), make_spec())
    path = tmp_path / "kpis.json"
    write_kpis_json(k, path)
    loaded = json.loads(path.read_text())
    assert list(loaded) == list(KPI_KEYS)
    assert loaded["good_m"] == k["good_m"] and loaded["no_good_web"] is False
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_kpis_json(k, path)
    assert path.read_text() == "precious"
    write_kpis_json(k, path, overwrite=True)
    assert json.loads(path.read_text())["scenario"] == "test"
    assert [p.name for p in tmp_path.iterdir()] == ["kpis.json"]
    with pytest.raises(ValueError, match="finite"):
        write_kpis_json({**k, "scrap_m": float("inf")}, tmp_path / "other.json")


# ---------------------------------------------------------------------------
# capability over all web made (scrap included), yield, energy by carrier


def test_capability_counts_scrap_web() -> None:
    """A run that makes scrap reports the capability of what it made, not of what it shipped."""
    n = 400
    t = np.arange(1, n + 1, dtype=float)
    rng = np.random.default_rng(7)
    cw = 0.2 + 0.002 * rng.standard_normal(n)
    cw[(t > 150) & (t < 250)] = 0.185  # 100 s (100 m) below the LSL of 0.19
    k = compute_kpis(make_ts(n, coat_weight_die_kg_m2=cw), make_spec())
    per = per_metre_table(make_ts(n, coat_weight_die_kg_m2=cw), make_spec())
    _, cpk_all = capability(cw[t > 10], 0.19, 0.21)  # 1 m per row after the 10 s warm-up
    _, cpk_good = capability(per["coat_weight_kg_m2"][per["good"]], 0.19, 0.21)
    assert k["scrap_coat_weight_m"] > 90
    assert k["coat_weight_cpk"] == pytest.approx(cpk_all, rel=1e-12)
    assert k["coat_weight_cpk"] < 0.5 < cpk_good  # good web alone would hide the low stretch
    assert k["yield_frac"] == pytest.approx(k["good_m"] / k["total_m"])


def test_settling_web_is_the_only_web_left_out_of_capability() -> None:
    """Web in the settling window after a restart is scrap but not part of the process's capability."""
    n = 300
    t = np.arange(1, n + 1, dtype=float)
    speed = np.where((t > 100) & (t <= 120), 0.0, 1.0)
    cw = np.where((t > 120) & (t <= 130), 0.3, 0.2 + 0.001 * np.sin(t))  # bad web right after the restart
    spec = make_spec(settling_after_restart_m=15.0)
    k = compute_kpis(make_ts(n, speed=speed, coat_weight_die_kg_m2=cw), spec)
    per = per_metre_table(make_ts(n, speed=speed, coat_weight_die_kg_m2=cw), spec)
    assert per.loc[per["settling"], "coat_weight_kg_m2"].max() == pytest.approx(0.3)
    assert k["scrap_settling_m"] == 15.0
    # rows after the warm-up, without the stop (no web) and the 15 m coated after the restart
    keep = (t > 10) & (speed > 0) & ~((t > 120) & (t <= 135))
    _, cpk = capability(cw[keep], 0.19, 0.21)
    assert k["coat_weight_cpk"] == pytest.approx(cpk, rel=1e-12) and k["coat_weight_cpk"] > 1.0


def test_coat_weight_cpk_is_the_web_length_weighted_ppk_of_the_time_series() -> None:
    """Recomputed from ``timeseries.parquet``'s columns alone, weighted by web length, Ppk agrees."""
    n, dt = 3000, 2.0
    t = np.arange(1, n + 1) * dt
    rng = np.random.default_rng(3)
    speed = 0.5 + 0.2 * (t > 3000) - 0.3 * ((t > 4000) & (t < 4600))
    cw = 0.2 + 0.0015 * np.sin(t / 300.0) + 0.001 * rng.standard_normal(n) + 0.004 * (t > 5000)
    ts = make_ts(n, dt=dt, speed=speed, coat_weight_die_kg_m2=cw)
    spec = make_spec(warmup_s=600.0)
    k = compute_kpis(ts, spec)
    after = ts.index.to_numpy() > k["warmup_s"]
    w = ts["speed_m_s"].to_numpy()[after] * dt  # metres coated in each row
    x = ts["coat_weight_die_kg_m2"].to_numpy()[after]
    mean = np.average(x, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
    ppk = min(0.21 - mean, mean - 0.19) / (3 * sd)
    assert k["warmup_s"] == 600.0
    assert k["coat_weight_cpk"] == pytest.approx(ppk, rel=1e-3)  # Bessel on ~6,000 m: 1e-4


def test_energy_by_carrier_and_per_total_web() -> None:
    n = 200
    t = np.arange(1, n + 1, dtype=float)
    cw = np.where((t > 100) & (t <= 150), 0.25, 0.2)  # 50 m of scrap
    k = compute_kpis(make_ts(n, coat_weight_die_kg_m2=cw, dryer_power_W=36_000.0, heater_power_W=30_000.0,
                             fan_power_W=6_000.0), make_spec())
    hours = (200 - 10) / 3600
    assert k["heater_energy_kwh"] == pytest.approx(30.0 * hours)
    assert k["fan_energy_kwh"] == pytest.approx(6.0 * hours)
    assert k["energy_kwh"] == pytest.approx(36.0 * hours)
    assert k["energy_kwh_per_m2_total"] == pytest.approx(k["energy_kwh"] / k["total_m"])
    assert k["energy_kwh_per_m2"] == pytest.approx(k["energy_kwh"] / k["good_m"])
    assert k["energy_kwh_per_m2"] > k["energy_kwh_per_m2_total"]


def test_primary_energy_weights_each_carrier() -> None:
    """Gas heaters at 1.0, electricity (fans, solvent recovery) at 1.9: a kWh of fan power is not a kWh of gas."""
    n = 200
    ts = make_ts(n, dryer_power_W=40_000.0, heater_power_W=30_000.0, fan_power_W=6_000.0,
                 solvent_recovery_power_W=4_000.0)
    k = compute_kpis(ts, make_spec(primary_factor_heater=1.0, primary_factor_electricity=1.9))
    hours = (200 - 10) / 3600
    assert k["solvent_recovery_energy_kwh"] == pytest.approx(4.0 * hours)
    primary = (30.0 * 1.0 + (6.0 + 4.0) * 1.9) * hours
    assert k["primary_energy_kwh_per_m2"] == pytest.approx(primary / k["good_m2"])
    same = compute_kpis(ts, make_spec())  # factors 1: primary = final energy
    assert same["primary_energy_kwh_per_m2"] == pytest.approx(same["energy_kwh_per_m2"])
