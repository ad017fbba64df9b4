"""Where speed must give way: ``nmc_nmp_exhaust_saturated``'s plan asks for more than the exhausts can ventilate.

The economic target continued in speed (:func:`controllers.nmpc.steady_speed_by_continuation`) settles below
the plan's speed, within every limit; ``pid_opt`` runs the line there (and warns); the NMPC gives way in closed loop
without crossing the LEL limit, with its OCP tracking the target's speed and the pump ratio written at the
plan's next speed (the coat weight holds through the ramp).
"""

from __future__ import annotations

import numpy as np
import pytest
from _closed_loop import max_lel, short_setup

from controllers.nmpc import NmpcModel, steady_speed_by_continuation
from controllers.pid_opt import PidOptController
from controllers.registry import make_controller
from mpc.errors import CalmlineWarning
from mpc.harness import controller_context, run_closed_loop
from mpc.interfaces import Observation
from mpc.scenario import ModelSettings, TargetSettings

SCENARIO = "nmc_nmp_exhaust_saturated.toml"


def _model_and_ctx(duration: float = 4.0):
    setup = short_setup(SCENARIO, duration)
    ctx = controller_context(setup, "nmpc")
    return setup, NmpcModel(ModelSettings().apply(setup.model_params), setup.recipe), ctx


def test_the_target_gives_way_where_the_exhausts_saturate() -> None:
    setup, m, ctx = _model_and_ctx()
    L = m.layout
    limit = setup.scenario.spec.lel_limit_frac  # no analyser credit: 25 %
    assert not setup.scenario.spec.analyser_allows_50pct
    fast = steady_speed_by_continuation(m, ctx, TargetSettings(), 1.2, limit)
    ex_max = setup.model_params.dryer.exhaust_max_m3_s
    assert fast.success and not fast.usable  # within every limit, but not at the speed asked
    assert 0.6 < fast.line_speed_m_s < 1.2
    # it gives way because zones sit at the target's LEL margin with their exhausts at the fans' capacity
    levels = np.array([fast.y[f"zone{i}_lel_frac"] for i in range(1, L.n_zones + 1)])
    at_limit = levels > TargetSettings().lel_margin * limit * (1 - 1e-3)
    saturated = fast.u[L.u_exhaust] > ex_max * (1 - 1e-6)
    assert np.any(at_limit & saturated)
    assert np.all(levels < TargetSettings().lel_margin * limit * (1 + 1e-6))
    # a plan the line can hold is held
    slow = steady_speed_by_continuation(m, ctx, TargetSettings(), 0.55, limit)
    assert slow.usable and slow.line_speed_m_s == pytest.approx(0.55, rel=1e-6)
    assert fast.line_speed_m_s > slow.line_speed_m_s


def _obs(t_s: float, n_inputs: int, target: float, cap: float) -> Observation:
    return Observation(t_s=t_s, measurements={}, fresh={}, healthy={}, lel_limit_frac=0.25, speed_target_m_s=target,
                       speed_cap_m_s=cap, line_stopped=False, applied=np.zeros(n_inputs))


def test_pid_opt_runs_the_line_where_the_target_settles_continued_in_speed() -> None:
    _setup, m, ctx = _model_and_ctx()
    ctrl = PidOptController()
    with pytest.warns(CalmlineWarning, match=r"pid_opt: the plan's 1\.2 m/s cannot be held .* at 0\.80\d+ m/s"):
        ctrl.reset(ctx)
    assert ctrl.manages_speed
    gave_way = ctrl.sets[(1.2, True)]
    ref = steady_speed_by_continuation(m, ctx, TargetSettings(), 1.2, 0.25)
    assert float(gave_way.speed_m_s) == pytest.approx(ref.line_speed_m_s, rel=1e-9)
    assert float(ctrl.sets[(0.5, True)].speed_m_s) == 0.5
    key = ctrl.keys["speed"]
    n = ctrl.L.n_inputs
    # before the plan's change the plan's speed; on its ramp the set's speed ramps from it toward the set that
    # gives way (never above the plan's as it ramps); after it, the set's
    assert ctrl.step(_obs(100.0, n, 0.5, 0.6)).setpoints[key] == pytest.approx(0.5)
    assert ctrl.step(_obs(3600.0, n, 0.5, 1.2)).setpoints[key] == pytest.approx(0.5)
    mid = float(ctrl.setpoints(3900.0).speed_m_s)
    assert 0.5 < mid < ref.line_speed_m_s
    assert ctrl.step(_obs(3900.0, n, 0.55, 1.2)).setpoints[key] == pytest.approx(min(mid, 0.55))
    assert ctrl.step(_obs(3901.0, n, 1.0, 1.2)).setpoints[key] == pytest.approx(float(ctrl.setpoints(3901.0).speed_m_s))
    assert ctrl.step(_obs(9000.0, n, 1.2, 1.2)).setpoints[key] == pytest.approx(ref.line_speed_m_s, rel=1e-9)


def test_pid_opt_leaves_the_speed_to_the_plc_where_the_plan_holds() -> None:
    setup = short_setup("nmc_nmp_nominal.toml", 4.0)
    ctrl = PidOptController()
    ctrl.reset(controller_context(setup, "pid_opt"))
    assert not ctrl.manages_speed
    out = ctrl.step(_obs(100.0, ctrl.L.n_inputs, 0.5, 0.6)).setpoints
    assert ctrl.keys["speed"] not in out


@pytest.mark.slow
def test_the_nmpc_gives_way_on_speed_without_crossing_the_limit() -> None:
    """Shortened to 1.5 h: the plan's ramp to 1.2 m/s at 1 h; the NMPC slows where the exhausts saturate."""
    setup = short_setup(SCENARIO, 5400.0)
    ctrl = make_controller("nmpc")
    res = run_closed_loop(setup, ctrl)
    ts = res.timeseries
    assert np.all(max_lel(ts) < ts["lel_limit_frac"].to_numpy())
    late = ts.loc[4800.0:]
    ex = late[[f"zone{i}_exhaust_flow_m3_s" for i in range(1, 5)]].to_numpy()
    assert np.any(ex.max(axis=0) > setup.plant_params.dryer.exhaust_max_m3_s * 0.99)  # saturated
    assert 0.6 < late["speed_m_s"].mean() < 1.1  # faster than before the ramp, slower than the plan
    assert int(ts["solver_failure"].sum()) <= 3
    # the coat weight holds through the speed ramp: the ratio is written at the plan's next stage's speed
    # (taken at the same stage's, the die coated 5 % heavy on this ramp)
    cw = ts.loc[3500.0:4400.0, "coat_weight_die_kg_m2"].to_numpy()
    target = setup.scenario.spec.coat_weight_target_kg_m2
    assert np.max(np.abs(cw / target - 1.0)) < setup.scenario.spec.coat_weight_tolerance_frac


def test_where_the_target_gives_way_does_not_depend_on_how_much_more_the_plan_asks() -> None:
    """The target prices a m/s by the recipe's speed: past what the line can hold, a plan asking for 1.0 or 1.2 m/s
    settles at the same speed (priced by the plan's own speed, the 1.2 m/s plan's settled 2 % lower)."""
    _setup, m, ctx = _model_and_ctx()
    a = steady_speed_by_continuation(m, ctx, TargetSettings(), 1.0, 0.25)
    b = steady_speed_by_continuation(m, ctx, TargetSettings(), 1.2, 0.25)
    assert a.success and b.success and a.line_speed_m_s < 0.95
    assert b.line_speed_m_s == pytest.approx(a.line_speed_m_s, rel=2e-3)
