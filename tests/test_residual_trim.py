"""The PID baselines' helpers: the residual trim (integral action on the exit residual gauge) and the restart hold."""

from __future__ import annotations

import numpy as np
import pytest

from controllers._common import ResidualTrim
from mpc.interfaces import Observation


def _obs(t_s: float, residual: float, stopped: bool = False) -> Observation:
    return Observation(t_s=t_s, measurements={"exit_residual_kg_kg": residual}, fresh={}, healthy={},
                       lel_limit_frac=0.5, speed_target_m_s=1.0, speed_cap_m_s=1.0, line_stopped=stopped,
                       applied=np.zeros(1))


def test_trim_rises_while_dry_falls_while_wet_and_is_clamped() -> None:
    trim = ResidualTrim(gain_kg_kg=0.004, setpoint_kg_kg=0.0025, time_constant_s=600.0)
    assert trim.update(_obs(0.0, 0.0015)) == 0.0  # starts at the recipe's levels; no interval yet
    # 0.001 kg/kg below the set point for 20 s: ds = 20 * 0.001 / (0.004 * 600)
    assert trim.update(_obs(20.0, 0.0015)) == pytest.approx(20 * 0.001 / 2.4)
    for k in range(2, 400):
        s = trim.update(_obs(20.0 * k, 0.0015))
    assert s == 1.0  # clamped at the basis
    s_wet = trim.update(_obs(20.0 * 400, 0.0035))
    assert s_wet == pytest.approx(1.0 - 20 * 0.001 / 2.4)
    for k in range(401, 800):
        s = trim.update(_obs(20.0 * k, 0.0035))
    assert s == 0.0  # clamped at the recipe's levels


def test_trim_holds_without_a_reading_or_with_the_line_stopped() -> None:
    trim = ResidualTrim(gain_kg_kg=0.004, setpoint_kg_kg=0.0025, time_constant_s=600.0)
    trim.update(_obs(0.0, 0.002))
    s = trim.update(_obs(20.0, 0.002))
    assert s > 0.0
    assert trim.update(_obs(40.0, float("nan"))) == s
    assert trim.update(_obs(60.0, 0.01, stopped=True)) == s


@pytest.mark.parametrize("gain, tau", [(0.0, 600.0), (-0.001, 600.0), (0.004, 0.0)])
def test_trim_is_off_when_the_basis_dries_as_well_or_its_time_is_zero(gain: float, tau: float) -> None:
    trim = ResidualTrim(gain_kg_kg=gain, setpoint_kg_kg=0.0025, time_constant_s=tau)
    assert [trim.update(_obs(20.0 * k, 0.01)) for k in range(5)] == [1.0] * 5


def test_restart_hold_covers_the_stop_and_the_restart_window_only() -> None:
    from controllers._common import RestartHold

    hold = RestartHold(300.0)
    assert not hold.update(_obs(0.0, 0.002))  # a run that starts moving is not a restart
    assert hold.update(_obs(100.0, 0.002, stopped=True))
    assert hold.update(_obs(500.0, 0.002))  # restarted at 500 s
    assert hold.update(_obs(799.0, 0.002))
    assert not hold.update(_obs(800.0, 0.002))
    assert hold.update(_obs(900.0, 0.002, stopped=True))  # a second stop
    assert hold.update(_obs(950.0, 0.002)) and not hold.update(_obs(1250.0, 0.002))
    assert not RestartHold(0.0).update(_obs(1.0, 0.002, stopped=False))
