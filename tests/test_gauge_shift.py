"""The delayed-gauge filter tells a spike from a step: an unannounced lot change is learnt, a bad scan is not."""

from __future__ import annotations

import numpy as np
import pytest

from mpc.edge import GaugeBiasFilter

GAUGE_M = 60.0
SENS = 0.3  # kg/m2 of coat weight per unit solids fraction (about 0.2 / 0.65)


def _feed(f: GaugeBiasFilter, offsets: list[float], cw0: float = 0.2, scan_m: float = 5.0) -> list[float]:
    """Readings of web whose true solids offset is ``offsets[i]``; the model predicts ``cw0`` at offset 0
    (and records, as the NMPC does, its prediction with the offset it holds when the web is coated)."""
    out = []
    pos = GAUGE_M + 10.0
    for p in np.arange(0.0, pos, 1.0):
        f.record(float(p), cw0, SENS)
    for off in offsets:
        pos += scan_m
        for p in np.arange(pos - scan_m, pos, 1.0):
            f.record(float(p), cw0 + SENS * f.b, SENS)
        f.time_update(10.0)
        f.update(pos, cw0 + SENS * off)
        out.append(f.b)
    return out


def test_a_single_bad_scan_is_rejected() -> None:
    f = GaugeBiasFilter(GAUGE_M)
    b = _feed(f, [0.0] * 300 + [0.05] + [0.0] * 5)
    assert f.rejected == 1 and f.shifts == 0
    assert abs(b[-1]) < 1e-3


@pytest.mark.parametrize("step", [0.005, -0.005, 0.02, -0.03])
def test_a_persistent_shift_is_learnt(step: float) -> None:
    """Rejected at most twice (a gross step) or caught by the CUSUM (a small one), then learnt: within 10 %
    of the step (0.5-3 wt%, either sign) after 30 scans (150 m of web at 0.5 m/s)."""
    f = GaugeBiasFilter(GAUGE_M)
    b = _feed(f, [0.0] * 300 + [step] * 30)  # a settled filter (its variance small), then the lot changes
    assert f.rejected <= 2 and f.shifts >= 1
    assert b[-1] == pytest.approx(step, abs=0.1 * abs(step))


def test_alternating_spikes_never_count_as_a_shift() -> None:
    f = GaugeBiasFilter(GAUGE_M)
    _feed(f, [0.0] * 300 + [0.05, -0.05] * 5 + [0.0] * 3)
    assert f.shifts == 0


def test_gauge_noise_alone_rarely_looks_like_a_shift() -> None:
    """Eight hours of scans with the gauge's own noise (0.5 % of the reading): no false shift, and the offset
    stays within 0.15 solids percent."""
    rng = np.random.default_rng(0)
    f = GaugeBiasFilter(GAUGE_M)
    b = _feed(f, list(rng.normal(0.0, 0.005 * 0.2 / SENS, 3000)))
    assert f.shifts == 0
    assert np.max(np.abs(b[100:])) < 1.5e-3
