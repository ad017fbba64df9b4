"""Tests for plants.noise: OU statistics, pulsation, white noise, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plants.noise import (
    OrnsteinUhlenbeck,
    PumpPulsation,
    SpecError,
    as_seed_sequence,
)


def test_ou_stationary_variance_and_correlation_time_from_large_sample():
    std, tau, dt = 2.0, 5.0, 1.0
    ou = OrnsteinUhlenbeck(std, tau, seed=11, mean=3.0, n_channels=2000)
    x = ou.sample_many(dt * np.arange(100))  # (100 times, 2000 channels): 200k samples
    assert x.shape == (100, 2000)
    assert np.mean(x) == pytest.approx(3.0, abs=0.05)
    assert np.std(x) == pytest.approx(std, rel=0.03)
    d = x - 3.0
    for lag in (1, 5):  # pooled autocorrelation at lag dt and at lag tau
        rho = np.sum(d[:-lag] * d[lag:]) / math.sqrt(np.sum(d[:-lag] ** 2) * np.sum(d[lag:] ** 2))
        assert rho == pytest.approx(math.exp(-lag * dt / tau), abs=0.015)
        tau_hat = -lag * dt / math.log(rho)
        assert tau_hat == pytest.approx(tau, rel=0.05)


def test_ou_exact_at_uneven_steps():
    """Correlation with the first value after uneven steps is exp(-t/tau), whatever the steps."""
    tau = 2.0
    ou = OrnsteinUhlenbeck(1.0, tau, seed=5, n_channels=40000)
    x0 = ou.sample(0.0)
    for t in (0.13, 0.5, 0.51, 1.7, 4.0):
        x = ou.sample(t)
        assert np.std(x) == pytest.approx(1.0, rel=0.03)
        assert np.corrcoef(x0, x)[0, 1] == pytest.approx(math.exp(-t / tau), abs=0.02)


def test_ou_start_at_mean_and_repeat_time_and_backwards():
    ou = OrnsteinUhlenbeck(1.0, 1.0, seed=1, mean=7.0, start="mean")
    assert ou.sample(0.0) == 7.0
    a = ou.sample(0.5)
    assert ou.sample(0.5) == a  # same time, same value
    with pytest.raises(ValueError, match="goes back in time"):
        ou.sample(0.2)


def test_determinism_reset_and_seeds():
    def path(seed):
        g = OrnsteinUhlenbeck(1.0, 3.0, seed=seed)
        return np.array([g.sample(t) for t in np.arange(0, 20, 0.7)])

    p1, p2, p3 = path(42), path(42), path(43)
    np.testing.assert_array_equal(p1, p2)
    assert not np.allclose(p1, p3)
    g = OrnsteinUhlenbeck(1.0, 3.0, seed=42)
    first = [g.sample(t) for t in np.arange(0, 20, 0.7)]
    g.reset()
    np.testing.assert_array_equal(first, [g.sample(t) for t in np.arange(0, 20, 0.7)])
    # from a Generator: spawned child, reproducible from equally seeded parents
    pa = [OrnsteinUhlenbeck(1.0, 3.0, seed=np.random.default_rng(9)).sample(0.0) for _ in range(2)]
    assert pa[0] == pa[1]
    parent = np.random.default_rng(9)
    c1, c2 = OrnsteinUhlenbeck(1.0, 3.0, seed=parent), OrnsteinUhlenbeck(1.0, 3.0, seed=parent)
    assert c1.sample(0.0) != c2.sample(0.0)  # two children of one parent are independent


def test_pump_pulsation_sinusoid_phase_and_jitter():
    p = PumpPulsation(2.0, 0.01, 0.0, 1.0, seed=1, phase_rad=0.5)
    for t in (0.0, 0.1, 0.37, 1.0):
        assert p.sample(t) == pytest.approx(0.01 * math.sin(2 * math.pi * 2.0 * t + 0.5), abs=1e-15)
    # exact interval means: zero over a whole period, analytic over a quarter
    assert p.interval_mean_sinusoid(0.3, 0.8) == pytest.approx(0.0, abs=1e-15)
    q = PumpPulsation(1.0, 1e-2, 0.0, 1.0, seed=1, phase_rad=0.0)
    assert q.interval_mean_sinusoid(0.0, 0.25) == pytest.approx(0.01 * 2 / math.pi, rel=1e-12)
    # jitter: residual after removing the sinusoid has the jitter's std
    j = PumpPulsation(3.0, 0.02, 0.005, 0.2, seed=8)
    t = np.arange(0.0, 4000.0, 0.5)
    r = np.array([j.sample(ti) for ti in t]) - j.sinusoid(t)
    assert np.std(r) == pytest.approx(0.005, rel=0.06)
    # seeded phase is deterministic and differs between seeds
    assert (
        PumpPulsation(1, 0.1, 0, 1, seed=4).phase_rad
        == PumpPulsation(1, 0.1, 0, 1, seed=4).phase_rad
    )
    assert (
        PumpPulsation(1, 0.1, 0, 1, seed=4).phase_rad
        != PumpPulsation(1, 0.1, 0, 1, seed=5).phase_rad
    )
    j.reset()
    assert j.sample(0.0) == pytest.approx(j.sinusoid(0.0) + r[0], abs=1e-15)


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: OrnsteinUhlenbeck(-1.0, 1.0, seed=0), "OrnsteinUhlenbeck.std", "-1.0"),
        (lambda: OrnsteinUhlenbeck(1.0, 0.0, seed=0), "OrnsteinUhlenbeck.corr_time_s", "0.0"),
        (lambda: OrnsteinUhlenbeck(1.0, math.nan, seed=0), "OrnsteinUhlenbeck.corr_time_s", "nan"),
        (
            lambda: OrnsteinUhlenbeck(1.0, 1.0, seed=0, start="zero"),
            "OrnsteinUhlenbeck.start",
            "'zero'",
        ),
        (
            lambda: OrnsteinUhlenbeck(1.0, 1.0, seed=0, n_channels=0),
            "OrnsteinUhlenbeck.n_channels",
            "0",
        ),
        (lambda: PumpPulsation(-2.0, 0.1, 0.0, 1.0, seed=0), "PumpPulsation.freq_Hz", "-2.0"),
        (lambda: PumpPulsation(2.0, 1.5, 0.0, 1.0, seed=0), "PumpPulsation.rel_amplitude", "1.5"),
        (
            lambda: PumpPulsation(2.0, 0.1, 0.0, -1.0, seed=0),
            "PumpPulsation.jitter_corr_time_s",
            "-1.0",
        ),
        (lambda: as_seed_sequence(None), "seed.seed", "None"),
        (lambda: as_seed_sequence(-3), "seed.seed", "-3"),
    ],
)
def test_validation_messages_name_field_and_value(make, field, value):
    with pytest.raises(SpecError) as ei:
        make()
    msg = str(ei.value)
    assert f"{field} = {value}" in msg
    assert "expected" in msg
    assert isinstance(ei.value, ValueError)
