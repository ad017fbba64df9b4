"""The NMPC's economic target solved afresh from the plan's optimised points as well as from its last target.

The anode's target has several local optima; from the recipe's steady state alone the NMPC's first target could
settle in one of far more power than the one ``pid_opt`` runs at (``[controllers.nmpc.target] offline_starts``).
"""

from __future__ import annotations

import numpy as np
import pytest
from _closed_loop import short_setup

from controllers.nmpc import NmpcModel, SteadyTarget, optimised_starts
from mpc.harness import controller_context
from mpc.scenario import ModelSettings, TargetSettings


def _problem():
    setup = short_setup("graphite_water_unannounced_lot.toml", 4.0)
    ctx = controller_context(setup, "nmpc")
    m = NmpcModel(ModelSettings().apply(setup.model_params), setup.recipe)
    L = m.layout
    tgt = TargetSettings()
    lo = ctx.input_lower.copy()
    lo[L.u_nozzle] = np.maximum(lo[L.u_nozzle], tgt.nozzle_min_m_s)
    hi = ctx.input_upper.copy()
    fixed = {i: float(m.ss.x[i] / m.x_scale[i]) for i in (L.room_w, L.slurry_water)}
    # an estimate away from nominal, as the EKF has it during a run: zone 3's heater 10 % weaker, solids up
    est = m.nominal_estimate()
    est[0] += 0.01
    est[2 + L.n_zones + 2] = 0.9
    spec = ctx.spec

    def fresh() -> SteadyTarget:
        return SteadyTarget(m, spec.residual_usl_kg_kg, spec.film_temp_max_K, tgt,
                            primary_factors=(ctx.primary_factor_heater, ctx.primary_factor_electricity))

    def solve(target: SteadyTarget, **kw):
        return target.solve(est, 0.5, 0.6, spec.lel_limit_frac, spec.coat_weight_target_kg_m2, m.ss.u / m.u_scale,
                            lo / m.u_scale, hi / m.u_scale, fixed, **kw)

    return m, ctx, tgt, fresh, solve


def test_a_fresh_target_takes_the_converged_start_of_least_objective() -> None:
    m, ctx, tgt, fresh, solve = _problem()
    starts = optimised_starts(m, ctx, tgt)
    assert len(starts) == 1  # one plan speed, one LEL limit (water)
    assert starts[0].shape == (m.layout.n_states + m.layout.n_inputs,)
    # each start alone, and the last target's (the recipe's steady state) alone
    alone = fresh()
    assert solve(alone)[2]
    candidates = [alone.objective]
    seeded = fresh()
    seeded.z = np.r_[starts[0], np.zeros(4)]
    if solve(seeded)[2]:
        candidates.append(seeded.objective)
    both = fresh()
    ok = solve(both, starts=starts)[2]
    assert ok
    assert both.objective == pytest.approx(min(candidates), rel=1e-9, abs=1e-12)
    assert both.start_wins == (1 if both.objective < alone.objective - 1e-9 else 0)
    # on this problem the recipe's start settles in a local optimum of more objective than the optimised point's
    assert both.objective < alone.objective - 1e-3
    assert both.start_wins == 1


def test_inside_the_trust_region_the_starts_are_not_tried() -> None:
    m, ctx, tgt, fresh, solve = _problem()
    starts = optimised_starts(m, ctx, tgt)
    a, b = fresh(), fresh()
    assert solve(a)[2] and solve(b)[2]
    ua = solve(a, trust=True)[1]
    ub = solve(b, trust=True, starts=starts)[1]
    assert b.start_wins == 0
    np.testing.assert_allclose(ub, ua, rtol=0, atol=0)
    assert b.objective == a.objective
