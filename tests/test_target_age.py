"""``[controllers.nmpc.target] max_age_s``: a target older than its age gives way to the recipe's steady state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controllers.nmpc import NmpcController
from controllers.nmpc._target import SteadyTarget
from mpc.runner import run_setup
from mpc.scenario import TargetSettings, build_setup, load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "nmc_nmp_nominal.toml"


class _Recording(NmpcController):
    def reset(self, ctx: object) -> None:
        super().reset(ctx)  # type: ignore[arg-type]
        self.seen: list[tuple[float, np.ndarray]] = []
        set_parameters = self.ocp.set_parameters

        def recording(**values: object) -> None:
            if "ut" in values:
                self.seen.append((self.solves, np.asarray(values["ut"], float).copy()))
            set_parameters(**values)

        self.ocp.set_parameters = recording  # type: ignore[method-assign]


@pytest.mark.parametrize("max_age_s", [100.0, float("inf")])
def test_a_stale_target_gives_way_to_the_recipes_steady_state(monkeypatch: pytest.MonkeyPatch,
                                                               max_age_s: float) -> None:
    """Only the first target solve converges (the rest are declared failed, as when the supervisory PC stops
    publishing): with ``max_age_s = 100`` the OCP tracks the recipe's steady state from the first solve after
    100 s on; with the default (``inf``) it keeps the first target."""
    orig = SteadyTarget.solve
    calls = {"n": 0}

    def first_only(self: SteadyTarget, *a: object, **k: object) -> tuple:
        calls["n"] += 1
        xt, ut, ok, info = orig(self, *a, **k)
        return xt, ut, ok and calls["n"] == 1, info

    monkeypatch.setattr(SteadyTarget, "solve", first_only)
    setup = build_setup(load_scenario(SCENARIO))
    ctrl = _Recording(target=TargetSettings(max_age_s=max_age_s))
    run_setup(setup, ctrl, duration_s=400.0)
    m = ctrl.m
    L = m.layout
    recipe = m.ocp_inputs(m.ss.u / m.u_scale, np.asarray(m.ss.x[L.air_temp], float))
    first = ctrl.seen[0][1]
    assert not np.allclose(first, recipe)  # the first target is not the recipe's steady state
    late = [ut for solves, ut in ctrl.seen if solves * ctrl.ocp_cfg.t_step_s > 140.0]
    assert late
    if np.isfinite(max_age_s):
        assert ctrl.target_aged_out > 0
        for ut in late:
            np.testing.assert_allclose(ut, recipe, rtol=0, atol=1e-12)
    else:
        assert ctrl.target_aged_out == 0
        for ut in late:
            np.testing.assert_allclose(ut, first, rtol=0, atol=1e-12)
