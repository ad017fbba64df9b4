"""Tests for plants.disturbances: profiles, random walk, events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plants.disturbances import (
    Constant,
    Event,
    EventList,
    Profile,
    RandomWalk,
    Step,
    Sum,
)
from plants.noise import SpecError


def test_step_and_ramp_scalar_and_vectorised():
    s = Step(10.0, 0.01, initial=0.65)
    assert s(9.999) == 0.65
    assert s(10.0) == 0.01  # right-continuous
    assert isinstance(s(3.0), float)
    r = Profile([10.0, 20.0], [1.0, 0.8])  # a ramp: linear between two points, held outside
    assert r(0.0) == 1.0
    assert r(15.0) == pytest.approx(0.9)
    assert r(12.5) == pytest.approx(0.95)
    assert r(100.0) == 0.8
    t = np.array([[0.0, 15.0], [17.5, 30.0]])
    np.testing.assert_allclose(r(t), [[1.0, 0.9], [0.85, 0.8]])
    assert r(t).shape == (2, 2)


def test_profile_linear_and_hold():
    lin = Profile([0.0, 10.0, 20.0], [1.0, 3.0, 2.0])
    hold = Profile([0.0, 10.0, 20.0], [1.0, 3.0, 2.0], interpolation="hold")
    t = np.array([-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 99.0])
    np.testing.assert_allclose(lin(t), [1.0, 1.0, 2.0, 3.0, 2.5, 2.0, 2.0])
    np.testing.assert_allclose(hold(t), [1.0, 1.0, 1.0, 3.0, 3.0, 2.0, 2.0])
    assert Profile([5.0], [7.0])(0.0) == 7.0


def test_sum_and_add_operator():
    base = Constant(0.65)
    total = base + Step(100.0, 0.01) + Step(200.0, -0.02)
    assert isinstance(total, Sum)
    np.testing.assert_allclose(total(np.array([0.0, 150.0, 250.0])), [0.65, 0.66, 0.64])
    assert (2.0 + Profile([0.0, 1.0], [0.0, 1.0]))(0.5) == pytest.approx(2.5)


def test_random_walk_deterministic_order_independent_and_statistics():
    kw = dict(t_end_s=100.0, grid_step_s=1.0, initial=0.65)
    a, b = RandomWalk(1e-3, seed=7, **kw), RandomWalk(1e-3, seed=7, **kw)
    t = np.linspace(0.0, 100.0, 37)
    np.testing.assert_array_equal(a(t), b(t))
    # the value at a time does not depend on the order of the queries
    np.testing.assert_array_equal(a(t[::-1])[::-1], a(t))
    assert not np.allclose(RandomWalk(1e-3, seed=8, **kw)(t), a(t))
    assert a(0.0) == 0.65
    assert a(1e6) == a(100.0)  # holds after the end
    # spread after T is std*sqrt(T); mean follows the trend
    ends = np.array(
        [RandomWalk(0.01, seed=s, t_end_s=100.0, drift_per_s=1e-3)(100.0) for s in range(800)]
    )
    assert np.mean(ends) == pytest.approx(0.1, abs=0.01)
    assert np.std(ends) == pytest.approx(0.1, rel=0.08)
    bounded = RandomWalk(0.05, seed=1, t_end_s=1000.0, initial=0.5, lower=0.4, upper=0.6)
    v = bounded(np.arange(0.0, 1000.0, 0.5))
    assert v.min() >= 0.4 and v.max() <= 0.6
    assert v.min() == 0.4 or v.max() == 0.6  # the bound was reached (would fail if unclipped)


def test_events_flag_restarts_and_overlap():
    ev = EventList([Event(100.0, 160.0), Event(20.0, 30.0, kind="web_break"), Event(500.0)])
    t = np.array([0.0, 20.0, 29.9, 30.0, 99.0, 100.0, 159.0, 160.0, 499.0, 500.0, 1e5])
    np.testing.assert_array_equal(ev(t), [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1])
    assert ev.stopped(120.0) and not ev.stopped(200.0)
    assert ev.restart_times_s == (30.0, 160.0)
    with pytest.raises(SpecError, match="do not overlap"):
        EventList([Event(0.0, 50.0), Event(40.0, 60.0)])
    with pytest.raises(SpecError, match="do not overlap"):
        EventList([Event(0.0), Event(40.0, 60.0)])


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: Step(math.inf, 1.0), "Step.t_s", "inf"),
        (lambda: Profile([0.0, 2.0, 1.0], [1, 2, 3]), "Profile.times_s", "[0.0, 2.0, 1.0]"),
        (lambda: Profile([0.0, 1.0], [1.0]), "Profile.values", "[1.0]"),
        (lambda: Profile([0.0], [1.0], interpolation="cubic"), "Profile.interpolation", "'cubic'"),
        (lambda: RandomWalk(-1.0, seed=0, t_end_s=10.0), "RandomWalk.std_per_sqrt_s", "-1.0"),
        (lambda: RandomWalk(1.0, seed=0, t_end_s=-10.0), "RandomWalk.t_end_s", "-10.0"),
        (
            lambda: RandomWalk(1.0, seed=0, t_end_s=10.0, grid_step_s=0.0),
            "RandomWalk.grid_step_s",
            "0.0",
        ),
        (
            lambda: RandomWalk(1.0, seed=0, t_end_s=10.0, initial=2.0, upper=1.0),
            "RandomWalk.initial",
            "2.0",
        ),
        (lambda: Event(10.0, 5.0), "Event.end_s", "5.0"),
        (lambda: Event(10.0, kind="power_cut"), "Event.kind", "'power_cut'"),
    ],
)
def test_validation_messages_name_field_and_value(make, field, value):
    with pytest.raises(SpecError) as ei:
        make()
    msg = str(ei.value)
    assert f"{field} = {value}" in msg
    assert "expected" in msg
