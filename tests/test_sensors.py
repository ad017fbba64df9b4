"""Tests for plants.sensors: delays, sampling, lag, quantisation, faults, presets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plants.noise import SpecError
from plants.sensors import (
    Reading,
    Sensor,
    SensorFault,
    SensorSpec,
    coat_weight_gauge,
    film_temperature_pyrometer,
    lel_analyser,
    nir_solvent_gauge,
    nozzle_velocity_sensor,
    zone_air_thermocouple,
)


def _position(t: float) -> float:
    """Web position for v = 1 m/s until 5 s, stopped 5-10 s, 2 m/s after."""
    return min(t, 5.0) + 2.0 * max(t - 10.0, 0.0)


def _run_transport(delay_m: float) -> dict[float, float]:
    sensor = Sensor(SensorSpec("gauge", "s", delay_m=delay_m), rng=0)
    out = {}
    for t in np.arange(0.0, 20.01, 0.5):
        # the true value at the coater is the time the web passes it: the
        # reading then says *when* the web under the gauge was coated
        out[float(t)] = sensor.measure(float(t), float(t), web_position_m=_position(float(t))).value
    return out


def test_transport_delay_under_variable_speed_and_line_stop():
    r = _run_transport(3.0)
    assert r[2.0] == 0.0  # web coated before the run: the initial value
    assert r[4.0] == 1.0  # 3 m of web at 1 m/s
    # stopped: the web under the gauge does not change, however long the stop
    assert r[7.0] == 2.0 and r[9.5] == 2.0
    assert r[10.5] == 3.0  # p = 6 m, web at 3 m coated at t = 3 s
    assert r[11.0] == 4.0
    assert r[11.5] == 10.0  # web at 5 m sat under the coater during the stop; left at t = 10 s
    assert r[12.0] == 10.5  # p = 9 m, web at 6 m coated at t = 10.5 s
    # L/v at the current speed (2 m/s) would say 12 - 1.5 = 10.5 at t = 12 but 7.0 at t = 8.5
    assert r[8.5] == 2.0
    # between buffer points: linear in position. L = 3.25 m, t = 12 s: p = 9 m, the web at
    # 5.75 m lies between 5 m (left the coater at 10 s) and 6 m (at 10.5 s)
    r2 = _run_transport(3.25)
    assert r2[12.0] == pytest.approx(10.375, abs=1e-12)
    assert r2[4.0] == pytest.approx(0.75, abs=1e-12)


def test_transport_delay_needs_position_and_monotonic_position():
    s = Sensor(SensorSpec("gauge", "kg/m2", delay_m=2.0), rng=0)
    with pytest.raises(ValueError, match="web_position_m"):
        s.measure(0.0, 1.0)
    s.measure(0.0, 1.0, web_position_m=5.0)
    with pytest.raises(ValueError, match="went backwards"):
        s.measure(1.0, 1.0, web_position_m=4.0)


def test_time_delay_interpolates():
    s = Sensor(SensorSpec("a", "1", delay_s=2.5), rng=0)
    vals = {float(t): s.measure(float(t), 10.0 * t).value for t in np.arange(0.0, 10.01, 1.0)}
    assert vals[0.0] == 0.0 and vals[2.0] == 0.0  # before the run: the first value
    assert vals[3.0] == pytest.approx(5.0)  # 10 * (3 - 2.5), interpolated between 0 and 1 s
    assert vals[10.0] == pytest.approx(75.0)


def test_sample_and_hold_with_age():
    s = Sensor(SensorSpec("g", "kg/m2", sample_period_s=10.0), rng=0)
    rs = {float(t): s.measure(float(t), float(t)) for t in np.arange(0.0, 31.0, 1.0)}
    fresh = [t for t, r in rs.items() if r.fresh]
    assert fresh == [0.0, 10.0, 20.0, 30.0]
    assert rs[7.0].value == 0.0 and rs[7.0].age_s == 7.0 and not rs[7.0].fresh
    assert rs[13.0].value == 10.0 and rs[13.0].age_s == 3.0
    assert rs[20.0] == Reading(20.0, True, True, 0.0)
    # uneven harness steps: samples on the 10 s grid anchored at the first call
    s2 = Sensor(SensorSpec("g", "kg/m2", sample_period_s=10.0), rng=0)
    got = [t for t in (0.0, 4.0, 9.0, 12.5, 19.9, 20.1, 45.0, 46.0, 50.0) if s2.measure(t, t).fresh]
    assert got == [0.0, 12.5, 20.1, 45.0, 50.0]


@pytest.mark.parametrize("dt", [0.05, 0.5, 1.0])
def test_lag_step_response_63_percent_at_one_time_constant(dt):
    tau = 5.0
    s = Sensor(SensorSpec("lel", "1", lag_s=tau), rng=0)
    assert s.measure(0.0, 0.0).value == 0.0
    t, r = 0.0, None
    while t < tau - 1e-9:
        t = round(t + dt, 10)
        r = s.measure(t, 1.0)
    assert r.value == pytest.approx(1.0 - math.exp(-1.0), abs=1e-12)  # 0.632


def test_quantisation_and_clamping():
    s = Sensor(SensorSpec("T", "K", quantisation_step=0.1, range_min=0.0, range_max=1.0), rng=0)
    assert s.measure(0.0, 0.234).value == pytest.approx(0.2)
    assert s.measure(1.0, 0.26).value == pytest.approx(0.3)
    assert s.measure(2.0, 3.7).value == 1.0
    assert s.measure(3.0, -2.0).value == 0.0


def test_noise_statistics_relative_and_absolute():
    n = 8000
    rel = Sensor(SensorSpec("cw", "kg/m2", noise_rel=0.003), rng=1)
    x = np.array([rel.measure(float(t), 0.2).value for t in range(n)])
    assert np.mean(x) == pytest.approx(0.2, abs=3e-5)
    assert np.std(x) == pytest.approx(0.2 * 0.003, rel=0.05)
    both = Sensor(SensorSpec("cw", "kg/m2", noise_std=0.0008, noise_rel=0.003, bias=0.01), rng=2)
    y = np.array([both.measure(float(t), 0.2).value for t in range(n)])
    assert np.mean(y) == pytest.approx(0.21, abs=5e-5)
    assert np.std(y) == pytest.approx(0.001, rel=0.05)  # hypot(0.0008, 0.0006)


def _readings(spec: SensorSpec, times, seed=0) -> list[Reading]:
    s = Sensor(spec, rng=seed)
    return [s.measure(float(t), float(t)) for t in times]


def test_fault_stuck():
    times = np.arange(0.0, 8.01, 0.5)
    spec = SensorSpec("g", "1", sample_period_s=1.0, faults=[SensorFault("stuck", 3.0, 6.0)])
    r = dict(zip(times.tolist(), _readings(spec, times), strict=True))
    assert r[2.5].value == 2.0
    assert r[3.0].value == 2.0 and r[3.0].fresh and r[3.0].healthy  # stuck, not known to be
    assert r[5.0].value == 2.0 and r[5.0].fresh
    assert r[6.0].value == 6.0 and r[7.5].value == 7.0


def test_fault_dropout():
    times = np.arange(0.0, 6.01, 0.25)
    spec = SensorSpec("g", "1", sample_period_s=1.0, faults=[SensorFault("dropout", 3.2, 4.6)])
    r = dict(zip(times.tolist(), _readings(spec, times), strict=True))
    assert r[3.0].value == 3.0 and r[3.0].healthy
    assert math.isnan(r[3.25].value) and not r[3.25].healthy and not r[3.25].fresh
    assert math.isnan(r[4.0].value) and not r[4.0].healthy
    # the fault ended but no sample has arrived since: no value, healthy instrument
    assert math.isnan(r[4.75].value) and r[4.75].healthy and r[4.75].age_s == math.inf
    assert r[5.0] == Reading(5.0, True, True, 0.0)


def test_fault_drift_and_removal():
    times = np.arange(0.0, 12.01, 1.0)
    spec = SensorSpec("g", "1", faults=[SensorFault("drift", 2.0, 10.0, drift_per_s=0.1)])
    r = dict(zip(times.tolist(), _readings(spec, times), strict=True))
    assert r[1.0].value == 1.0
    assert r[5.0].value == pytest.approx(5.3) and r[5.0].healthy
    assert r[9.0].value == pytest.approx(9.7)
    assert r[11.0].value == 11.0  # recalibrated


def test_fault_fail_is_immediate_and_permanent():
    times = np.arange(0.0, 30.01, 0.5)
    spec = lel_analyser(faults=[SensorFault("fail", 12.25)], noise_std=0.0, lag_s=0.0, delay_s=0.0)
    r = dict(zip(times.tolist(), _readings(spec, times), strict=True))
    assert r[12.0].healthy and r[12.0].value == 1.0  # clamped at full scale (true value = t)
    assert not r[12.5].healthy and math.isnan(r[12.5].value)  # before the next sample
    assert all(not r[t].healthy and math.isnan(r[t].value) for t in times if t >= 12.5)


def test_determinism_and_faults_change_only_their_window():
    times = np.arange(0.0, 60.0, 1.0)
    nominal = SensorSpec("cw", "kg/m2", noise_std=0.01, sample_period_s=2.0)
    faulty = SensorSpec(
        "cw",
        "kg/m2",
        noise_std=0.01,
        sample_period_s=2.0,
        faults=[SensorFault("dropout", 20.0, 30.0)],
    )
    a, b = _readings(nominal, times, seed=5), _readings(nominal, times, seed=5)
    c = _readings(nominal, times, seed=6)
    f = _readings(faulty, times, seed=5)
    assert [r.value for r in a] == [r.value for r in b]
    assert [r.value for r in a] != [r.value for r in c]
    for t, ra, rf in zip(times, a, f, strict=True):
        if t < 20.0 or t >= 30.0:
            assert ra == rf
        else:
            assert math.isnan(rf.value)
    s = Sensor(nominal, rng=5)
    first = [s.measure(float(t), float(t)).value for t in times]
    s.reset()
    assert [s.measure(float(t), float(t)).value for t in times] == first


def test_presets_numbers_and_overrides():
    cw = coat_weight_gauge(12.0)
    assert (cw.noise_rel, cw.sample_period_s, cw.delay_m, cw.unit) == (0.003, 10.0, 12.0, "kg/m2")
    lel = lel_analyser()
    assert 10.0 <= lel.lag_s <= 20.0 and lel.range_max == 1.0
    assert nir_solvent_gauge().unit == "kg/kg"
    assert film_temperature_pyrometer().unit == "K"
    assert zone_air_thermocouple().lag_s > 0.0
    assert nozzle_velocity_sensor().unit == "m/s"
    assert coat_weight_gauge(5.0, sample_period_s=4.0).sample_period_s == 4.0
    with pytest.raises(SpecError, match=r"SensorSpec\.delay_m = -1\.0"):
        coat_weight_gauge(-1.0)
    # a preset runs end to end: gauge 12 m downstream at 0.5 m/s
    s = Sensor(coat_weight_gauge(12.0), rng=3)
    rs = [
        s.measure(t, 0.02 if t < 10.0 else 0.025, web_position_m=0.5 * t)
        for t in np.arange(0.0, 60.0, 1.0)
    ]
    fresh = [(i, r.value) for i, r in enumerate(rs) if r.fresh]
    assert [i for i, _ in fresh] == [0, 10, 20, 30, 40, 50]
    assert fresh[2][1] == pytest.approx(0.02, rel=0.02)  # t = 20 s: web coated at t = -4 s
    assert fresh[5][1] == pytest.approx(0.025, rel=0.02)  # t = 50 s: coated at t = 26 s


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: SensorSpec("", "K"), "SensorSpec.name", "''"),
        (lambda: SensorSpec("x", 3), "SensorSpec.unit", "3"),
        (lambda: SensorSpec("x", "K", noise_std=-0.1), "SensorSpec.noise_std", "-0.1"),
        (lambda: SensorSpec("x", "K", noise_rel=1.5), "SensorSpec.noise_rel", "1.5"),
        (lambda: SensorSpec("x", "K", bias=math.nan), "SensorSpec.bias", "nan"),
        (
            lambda: SensorSpec("x", "K", sample_period_s=-10.0),
            "SensorSpec.sample_period_s",
            "-10.0",
        ),
        (lambda: SensorSpec("x", "K", delay_s=math.inf), "SensorSpec.delay_s", "inf"),
        (lambda: SensorSpec("x", "K", lag_s="slow"), "SensorSpec.lag_s", "'slow'"),
        (lambda: SensorSpec("x", "K", quantisation_step=-1), "SensorSpec.quantisation_step", "-1"),
        (lambda: SensorSpec("x", "K", range_min=5.0, range_max=1.0), "SensorSpec.range_max", "1.0"),
        (lambda: SensorSpec("x", "K", faults=[1]), "SensorSpec.faults[0]", "1"),
        (
            lambda: SensorSpec("x", "K", faults=SensorFault("fail", 0.0)),
            "SensorSpec.faults",
            "SensorFault(",
        ),
        (lambda: SensorFault("broken", 0.0), "SensorFault.kind", "'broken'"),
        (lambda: SensorFault("stuck", 10.0, 5.0), "SensorFault.end_s", "5.0"),
        (lambda: SensorFault("stuck", 0.0, drift_per_s=1.0), "SensorFault.drift_per_s", "1.0"),
        (lambda: Sensor(SensorSpec("x", "K"), rng=None), "seed.seed", "None"),
    ],
)
def test_validation_messages_name_field_and_value(make, field, value):
    with pytest.raises(SpecError) as ei:
        make()
    msg = str(ei.value)
    assert f"{field} = {value}" in msg
    assert "expected" in msg
