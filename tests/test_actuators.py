"""Tests for plants.actuators: clip, rate limit, quantisation, stuck, bank."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plants.actuators import Actuator, ActuatorBank, ActuatorFault, ActuatorSpec
from plants.noise import SpecError


def test_clip_and_first_command_without_rate_limit():
    a = Actuator(ActuatorSpec("speed_m_s", "m/s", 0.0, 1.0, rate_limit_per_s=0.01))
    assert a.value is None
    assert a.apply(0.0, 0.5, 1.0) == 0.5  # the run starts at the commanded point
    a2 = Actuator(ActuatorSpec("speed_m_s", "m/s", 0.0, 1.0))
    assert a2.apply(0.0, 7.0, 1.0) == 1.0
    assert a2.apply(1.0, -3.0, 1.0) == 0.0


def test_rate_limit_ramp_from_initial_value():
    a = Actuator(ActuatorSpec("T_K", "K", 250.0, 450.0, rate_limit_per_s=2.0), initial_value=300.0)
    out = [a.apply(t, 320.0, 0.5) for t in np.arange(0.0, 12.0, 0.5)]
    np.testing.assert_allclose(out[:4], [301.0, 302.0, 303.0, 304.0])
    assert out[9] == pytest.approx(310.0)
    assert out[-1] == 320.0  # reached, no overshoot
    assert max(np.diff(out)) <= 1.0 + 1e-12
    down = [a.apply(12.0 + k, 250.0, 1.0) for k in range(3)]
    np.testing.assert_allclose(down, [318.0, 316.0, 314.0])


def test_quantisation_and_creep_below_half_a_step():
    a = Actuator(ActuatorSpec("v", "m/s", 0.0, 40.0, quantisation_step=0.5))
    assert a.apply(0.0, 10.2, 1.0) == 10.0
    assert a.apply(1.0, 10.3, 1.0) == 10.5
    # rate * dt = 0.1 < step / 2: the output still reaches the command
    b = Actuator(
        ActuatorSpec("v", "m/s", 0.0, 40.0, rate_limit_per_s=0.1, quantisation_step=0.5),
        initial_value=10.0,
    )
    out = [b.apply(float(t), 11.0, 1.0) for t in range(15)]
    assert out[0] == 10.0 and out[3] == 10.5 and out[-1] == 11.0
    assert set(out) == {10.0, 10.5, 11.0}
    # limits are kept exactly even off the grid
    c = Actuator(ActuatorSpec("q", "1", 0.04, 0.97, quantisation_step=0.1))
    assert c.apply(0.0, 1.0, 1.0) == 0.97  # nearest grid point 1.0 is outside
    assert c.apply(1.0, 0.0, 1.0) == 0.04
    assert c.apply(2.0, 0.66, 1.0) == pytest.approx(0.7)


def test_stuck_window_holds_then_resumes():
    spec = ActuatorSpec(
        "fan", "m/s", 0.0, 40.0, rate_limit_per_s=1.0, faults=[ActuatorFault(5.0, 8.0)]
    )
    a = Actuator(spec, initial_value=10.0)
    out = {t: a.apply(float(t), 30.0, 1.0) for t in range(12)}
    assert out[4] == 15.0
    assert out[5] == out[6] == out[7] == 15.0  # stuck: ignores the command
    assert out[8] == 16.0 and out[11] == 19.0  # moves on from where it stuck
    p = Actuator(ActuatorSpec("fan", "m/s", 0.0, 40.0, faults=[ActuatorFault(2.0)]))
    vals = [p.apply(float(t), float(t), 1.0) for t in range(6)]
    assert vals == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # permanent


def test_reset_and_bad_calls():
    a = Actuator(ActuatorSpec("v", "m/s", 0.0, 2.0, rate_limit_per_s=0.1), initial_value=1.0)
    first = [a.apply(float(t), 2.0, 1.0) for t in range(3)]
    a.reset()
    assert [a.apply(float(t), 2.0, 1.0) for t in range(3)] == first
    with pytest.raises(ValueError, match="command = nan"):
        a.apply(3.0, math.nan, 1.0)
    with pytest.raises(ValueError, match=r"dt_s = 0\.0"):
        a.apply(3.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="went backwards"):
        a.apply(1.0, 1.0, 1.0)


def test_bank_vectorised():
    bank = ActuatorBank(
        [
            ActuatorSpec("speed_m_s", "m/s", 0.0, 1.0, rate_limit_per_s=0.05),
            Actuator(
                ActuatorSpec("zone1_heater_power_cmd_W", "W", 0.0, 5e5, quantisation_step=1e3), 1e5
            ),
        ]
    )
    assert bank.names == ("speed_m_s", "zone1_heater_power_cmd_W")
    np.testing.assert_array_equal(bank.upper, [1.0, 5e5])
    np.testing.assert_allclose(bank.apply(0.0, np.array([0.5, 2.2345e5]), 1.0), [0.5, 2.23e5])
    np.testing.assert_allclose(bank.apply(1.0, [1.0, 9e9], 1.0), [0.55, 5e5])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        bank.apply(2.0, [1.0, 2.0, 3.0], 1.0)
    bank.reset()
    np.testing.assert_allclose(bank.apply(0.0, [0.2, 1e5], 1.0), [0.2, 1e5])


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: ActuatorSpec("", "m/s", 0.0, 1.0), "ActuatorSpec.name", "''"),
        (lambda: ActuatorSpec("v", "m/s", 0.0, -1.0), "ActuatorSpec.upper", "-1.0"),
        (lambda: ActuatorSpec("v", "m/s", -math.inf, 1.0), "ActuatorSpec.lower", "-inf"),
        (
            lambda: ActuatorSpec("v", "m/s", 0.0, 1.0, rate_limit_per_s=0.0),
            "ActuatorSpec.rate_limit_per_s",
            "0.0",
        ),
        (
            lambda: ActuatorSpec("v", "m/s", 0.0, 1.0, quantisation_step=-0.1),
            "ActuatorSpec.quantisation_step",
            "-0.1",
        ),
        (
            lambda: ActuatorSpec("v", "m/s", 0.0, 1.0, faults=["stuck"]),
            "ActuatorSpec.faults[0]",
            "'stuck'",
        ),
        (lambda: ActuatorFault(5.0, 1.0), "ActuatorFault.end_s", "1.0"),
        (lambda: ActuatorFault(0.0, kind="slow"), "ActuatorFault.kind", "'slow'"),
        (
            lambda: Actuator(ActuatorSpec("v", "m/s", 0.0, 1.0), initial_value=math.nan),
            "Actuator.initial_value",
            "nan",
        ),
        (lambda: ActuatorBank([]), "ActuatorBank.actuators", "[]"),
        (
            lambda: ActuatorBank([ActuatorSpec("v", "1", 0, 1), ActuatorSpec("v", "1", 0, 1)]),
            "ActuatorBank.actuators",
            "['v']",
        ),
    ],
)
def test_validation_messages_name_field_and_value(make, field, value):
    with pytest.raises(SpecError) as ei:
        make()
    msg = str(ei.value)
    assert f"{field} = {value}" in msg
    assert "expected" in msg
