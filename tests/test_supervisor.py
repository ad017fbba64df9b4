"""The MPCs' supervisor (``mpc/edge/_supervisor.py``): every transition, the LEL limit to plan for,
the speed preview and the fallback, on hand-made observations (no plant, no solver)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from mpc.edge import MODES, Decision, PlanMemory, Supervisor, fallback_move
from mpc.interfaces import Observation
from mpc.scenario import AnnouncedSchedule, SupervisorSettings

ROOT = Path(__file__).resolve().parents[1]
FLAT = AnnouncedSchedule(speed_target_m_s=0.5, speed_cap_m_s=0.6)


def _obs(t: float, *, stopped: bool = False, healthy: bool = True, limit: float = 0.5,
         cap: float = 0.6) -> Observation:
    return Observation(
        t_s=t, measurements={"zone1_lel_frac": 0.1, "zone2_lel_frac": 0.1}, fresh={},
        healthy={"zone1_lel_frac": True, "zone2_lel_frac": healthy, "coat_weight_kg_m2": True},
        lel_limit_frac=limit, speed_target_m_s=0.5, speed_cap_m_s=cap, line_stopped=stopped,
        applied=np.zeros(3),
    )


def _run(sup: Supervisor, stopped_at: dict[float, bool], t_end: float, dt: float = 2.0) -> dict[float, Decision]:
    """Decisions at every interval up to ``t_end``; the line is stopped where ``stopped_at`` says so."""
    state, out = False, {}
    for t in np.arange(0.0, t_end + dt / 2, dt):
        state = stopped_at.get(float(t), state)
        out[float(t)] = sup.update(_obs(float(t), stopped=state))
    return out


def test_stop_startup_handback_running() -> None:
    """running -> stopped (stop) -> startup (restart) -> handback (guard over) -> running (next interval)."""
    sup = Supervisor(SupervisorSettings(restart_guard_s=10.0, handback_ramp_s=20.0), FLAT, 0.25)
    d = _run(sup, {12.0: True, 22.0: False}, 60.0)
    modes = {t: x.mode for t, x in d.items()}
    assert [modes[t] for t in (0.0, 10.0)] == ["running", "running"]
    assert all(modes[t] == "stopped" for t in np.arange(12.0, 21.0, 2.0))
    assert all(modes[t] == "startup" for t in np.arange(22.0, 31.0, 2.0))  # 22 + 10 s of guard
    assert modes[32.0] == "handback"
    assert all(modes[t] == "running" for t in np.arange(34.0, 61.0, 2.0))
    # each event once, at its interval
    assert [t for t, x in d.items() if x.stopped_now] == [12.0]
    assert [t for t, x in d.items() if x.restarted] == [22.0]
    # the hand-back window: handback_ramp_s from the first interval (taking over from the recipe), and
    # handback_ramp_s from the hand-back after the restart
    window = [t for t, x in d.items() if x.handback_window]
    assert window == list(np.arange(0.0, 19.0, 2.0)) + list(np.arange(32.0, 51.0, 2.0))
    assert set(modes.values()) <= set(MODES)


def test_a_run_starts_running_without_a_startup_phase_or_stopped_if_the_line_stands() -> None:
    sup = Supervisor(SupervisorSettings(restart_guard_s=10.0), FLAT, 0.25)
    first = sup.update(_obs(0.0))
    assert first.mode == "running" and first.handback_window  # takes over from the recipe slowly
    sup = Supervisor(SupervisorSettings(restart_guard_s=10.0), FLAT, 0.25)
    first = sup.update(_obs(0.0, stopped=True))
    assert first.mode == "stopped" and first.stopped_now
    restart = sup.update(_obs(2.0))
    assert restart.mode == "startup" and restart.restarted


def test_a_stop_during_the_startup_phase_starts_it_again_from_the_next_restart() -> None:
    sup = Supervisor(SupervisorSettings(restart_guard_s=10.0, handback_ramp_s=0.0), FLAT, 0.25)
    d = _run(sup, {4.0: True, 8.0: False, 12.0: True, 16.0: False}, 40.0)
    modes = {t: x.mode for t, x in d.items()}
    assert [modes[t] for t in (8.0, 10.0)] == ["startup", "startup"]
    assert [modes[t] for t in (12.0, 14.0)] == ["stopped", "stopped"]
    assert d[12.0].stopped_now and d[16.0].restarted
    assert all(modes[t] == "startup" for t in np.arange(16.0, 25.0, 2.0))  # the guard runs from 16 s, not 8 s
    assert modes[26.0] == "handback" and modes[28.0] == "running"
    assert not any(x.handback_window for x in d.values())  # handback_ramp_s = 0: no window


def test_without_a_guard_the_restart_is_the_handback() -> None:
    sup = Supervisor(SupervisorSettings(restart_guard_s=0.0, handback_ramp_s=4.0), FLAT, 0.25)
    d = _run(sup, {2.0: True, 6.0: False}, 12.0)
    assert d[6.0].mode == "handback" and d[6.0].restarted and d[6.0].handback_window
    assert d[8.0].mode == "running" and d[8.0].handback_window and not d[10.0].handback_window


def test_analyser_failure_plans_for_the_lower_limit_at_once_and_recovery_lifts_it() -> None:
    sup = Supervisor(SupervisorSettings(), FLAT, 0.25)
    ok = sup.update(_obs(0.0, limit=0.5))
    assert ok.lel_limit_frac == 0.5 and ok.analysers_healthy and not ok.health_changed
    # the analyser fails; the harness still says 50 % (purge allowance): plan for 25 % now, and solve now
    failed = sup.update(_obs(2.0, healthy=False, limit=0.5))
    assert failed.health_changed and not failed.analysers_healthy and failed.lel_limit_frac == 0.25
    still = sup.update(_obs(4.0, healthy=False, limit=0.25))
    assert not still.health_changed and still.lel_limit_frac == 0.25
    # a limit in force below the analyser-less one is kept
    assert sup.update(_obs(6.0, healthy=False, limit=0.2)).lel_limit_frac == 0.2
    back = sup.update(_obs(8.0, healthy=True, limit=0.25))
    assert back.health_changed and back.analysers_healthy and back.lel_limit_frac == 0.25
    assert sup.update(_obs(10.0, healthy=True, limit=0.5)).lel_limit_frac == 0.5


def test_a_failed_analyser_can_be_planned_for_with_an_extra_margin() -> None:
    """``failed_analyser_limit_frac`` scales the limit planned for only while an analyser is failed."""
    sup = Supervisor(SupervisorSettings(failed_analyser_limit_frac=0.75), FLAT, 0.25)
    assert sup.update(_obs(0.0, limit=0.5)).lel_limit_frac == 0.5
    assert sup.update(_obs(2.0, healthy=False, limit=0.5)).lel_limit_frac == pytest.approx(0.1875)
    assert sup.update(_obs(4.0, healthy=False, limit=0.2)).lel_limit_frac == pytest.approx(0.15)
    assert sup.update(_obs(6.0, healthy=True, limit=0.25)).lel_limit_frac == 0.25
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="failed_analyser_limit_frac"):
            SupervisorSettings(failed_analyser_limit_frac=bad)


def test_health_is_followed_only_where_the_mpc_plans() -> None:
    """An analyser that fails while the line stands is reported at the hand-back, where the MPC plans again."""
    sup = Supervisor(SupervisorSettings(restart_guard_s=4.0), FLAT, 0.25)
    sup.update(_obs(0.0))
    assert not sup.update(_obs(2.0, stopped=True, healthy=False)).health_changed
    assert not sup.update(_obs(4.0, healthy=False)).health_changed  # startup
    hb = sup.update(_obs(8.0, healthy=False))
    assert hb.mode == "handback" and hb.health_changed and hb.lel_limit_frac == 0.25


def test_speed_preview_follows_ramps_and_caps() -> None:
    sched = AnnouncedSchedule(speed_target_m_s=0.4, speed_cap_m_s=0.5,
                              speed_changes=((100.0, 0.6, 0.55, 40.0),))
    sup = Supervisor(SupervisorSettings(), sched, 0.25)
    targets, caps = sup.speed_preview(80.0, 0.5, 20.0, 4)  # at 80, 100, 120, 140, 160 s
    np.testing.assert_allclose(targets, [0.4, 0.4, 0.5, 0.6, 0.6])
    # cap: the schedule's (0.5, then 0.55 from 100 s), never above the target, nor above the cap now (0.5)
    np.testing.assert_allclose(caps, [0.4, 0.4, 0.5, 0.5, 0.5])
    _, caps_now = sup.speed_preview(80.0, 0.45, 20.0, 4)
    np.testing.assert_allclose(caps_now, [0.4, 0.4, 0.45, 0.45, 0.45])
    assert len(targets) == len(caps) == 5


def test_plan_memory_gives_each_next_move_once() -> None:
    mem = PlanMemory()
    assert mem.next_move() is None
    plan = np.arange(6.0).reshape(3, 2)
    mem.store(plan)
    np.testing.assert_array_equal(mem.next_move(), plan[1])
    np.testing.assert_array_equal(mem.next_move(), plan[2])
    assert mem.next_move() is None and mem.moves is None
    mem.store(plan)
    mem.clear()
    assert mem.next_move() is None


def test_fallback_moves_within_bounds_move_limits_and_the_speed_cap() -> None:
    lower, upper = np.zeros(3), np.full(3, 10.0)
    up, down = np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])
    u_prev = np.array([5.0, 5.0, 5.0])
    # toward the target, one move limit at a time (up 1, down 0.5); speed (index 0) under its cap
    u = fallback_move(None, np.array([9.0, 1.0, 5.2]), u_prev, lower, upper, up, down, 0, 5.5)
    np.testing.assert_allclose(u, [5.5, 4.5, 5.2])
    # the plan's next move is preferred to the target, and clipped the same way
    u = fallback_move(np.array([5.8, 5.1, 7.0]), np.array([0.0, 0.0, 0.0]), u_prev, lower, upper, up, down, 0, 9.0)
    np.testing.assert_allclose(u, [5.8, 5.1, 6.0])
    # an upper bound (or a cap) below the move limit's reach wins: it is never exceeded
    u = fallback_move(None, u_prev, np.array([5.0, 12.0, 5.0]), lower, upper, up, down, 0, 3.0)
    np.testing.assert_allclose(u, [3.0, 10.0, 5.0])
    # a raised lower bound is reached at the move limit, not jumped to
    u = fallback_move(None, u_prev, u_prev, np.array([0.0, 7.0, 0.0]), upper, up, down, 0, 9.0)
    np.testing.assert_allclose(u, [5.0, 6.0, 5.0])
    assert np.all(u_prev == 5.0)  # inputs are not changed


def test_the_supervisor_is_deterministic() -> None:
    def decisions() -> list[Decision]:
        sup = Supervisor(SupervisorSettings(restart_guard_s=6.0, handback_ramp_s=8.0), FLAT, 0.25)
        stops = {10.0: True, 20.0: False, 40.0: True, 42.0: False}
        return list(_run(sup, stops, 80.0).values())

    assert decisions() == decisions()


def test_the_supervisor_is_pure_numpy() -> None:
    """No solver, no plant: the edge runtime has to reproduce it (imports checked in the source)."""
    tree = ast.parse((ROOT / "mpc" / "edge" / "_supervisor.py").read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "dataclasses", "numpy", "mpc.interfaces", "mpc.scenario"}, imported


@pytest.mark.parametrize("value", [-1.0, float("nan"), True])
def test_supervisor_settings_are_checked(value: object) -> None:
    with pytest.raises(ValueError, match=r"SupervisorSettings\.restart_guard_s"):
        SupervisorSettings(restart_guard_s=value)  # type: ignore[arg-type]
