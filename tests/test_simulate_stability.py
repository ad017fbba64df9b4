"""The plant's RK4 stepper stays stable when the operating point gets stiffer.

Regression test of a simulator bug: the harness chose the RK4 sub-step once,
at the start-up point (0.30 s for graphite_water). At 0.58 m/s with the air
and nozzles an NMPC had chosen, the stable sub-step is 0.195 s; with 0.30 s
RK4 did not blow up but settled into a spurious pattern (one cell condensing
at 313 K between neighbours at 327-330 K) and the critical-rate ratio read
0.96 where a converged integration (0.1 s sub-steps) gives 0.57. :class:`plants.simulate.AdaptiveStepper`
re-checks the bound and adds sub-steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from plants.line import LineModel
from plants.presets import get_preset
from plants.simulate import AdaptiveStepper, casadi_stepper, stable_substep_s
from plants.steady import OperatingPoint, steady_state

DT_S = 2.0


@pytest.fixture(scope="module")
def stiff_case():
    params = get_preset("graphite_water").replace(
        dryer={"cells_per_zone": 8, "heat_transfer_multiplier": 0.92, "critical_content_kg_kg": 0.13}
    )
    model = LineModel(params)
    start = steady_state(model, OperatingPoint(
        speed_m_s=0.5, coat_weight_kg_m2=0.113, air_temp_K=(328.15, 343.15, 348.15, 348.15),
        nozzle_velocity_m_s=(18.0, 20.0, 20.0, 15.0), exhaust_m3_s=(0.6, 0.8, 0.3, 0.2)))
    fast = steady_state(model, OperatingPoint(
        speed_m_s=0.58, coat_weight_kg_m2=0.1133, air_temp_K=(346.43, 345.50, 344.63, 348.73),
        nozzle_velocity_m_s=(34.95, 34.48, 34.01, 22.0), exhaust_m3_s=(0.245, 0.28, 0.266, 0.072),
        solids_frac=0.5015))
    reference = _run(casadi_stepper(model, DT_S, 0.1), model, fast)
    return model, start, fast, reference


def _run(step, model, ss, n_steps: int = 900) -> np.ndarray:
    x = ss.x * (1.0 + 1e-3 * np.random.default_rng(0).standard_normal(ss.x.size))
    for _ in range(n_steps):
        x = np.asarray(step(x, ss.u, ss.d)).ravel()
    _, g = model.casadi_functions()
    return np.asarray(g(x, ss.u, ss.d)).ravel()


def test_the_fast_point_needs_a_finer_substep(stiff_case) -> None:
    model, start, fast, _ = stiff_case
    h0 = stable_substep_s(model, start.x, start.u, start.d)
    h1 = stable_substep_s(model, fast.x, fast.u, fast.d)
    assert h1 < 0.75 * h0, (h0, h1)


def test_start_up_substep_goes_wrong_at_the_fast_point(stiff_case) -> None:
    """Shows what the adaptive stepper guards against (the old harness's stepper)."""
    model, start, fast, ref = stiff_case
    fixed = casadi_stepper(model, DT_S, stable_substep_s(model, start.x, start.u, start.d))
    y = _run(fixed, model, fast)
    crit = model.output_names().index("critical_rate_ratio")
    assert y[crit] > ref[crit] + 0.2


def test_adaptive_stepper_raises_substeps_and_stays_at_the_steady_state(stiff_case) -> None:
    model, start, fast, ref = stiff_case
    step = AdaptiveStepper(model, DT_S, start.x, start.u, start.d)
    n0 = step.n_sub
    assert n0 == step.n_sub_initial
    y = _run(step, model, fast)
    assert step.n_sub > n0
    assert step.n_sub * stable_substep_s(model, fast.x, fast.u, fast.d) >= DT_S
    names = model.output_names()
    crit = names.index("critical_rate_ratio")
    assert abs(y[crit] - ref[crit]) < 0.01, (y[crit], ref[crit])
    films = [names.index(f"cell{j}_film_temp_K") for j in range(1, model.layout.n_cells + 1)]
    assert np.max(np.abs(y[films] - ref[films])) < 0.1


def test_adaptive_stepper_never_lowers_substeps(stiff_case) -> None:
    model, start, fast, _ = stiff_case
    step = AdaptiveStepper(model, DT_S, fast.x, fast.u, fast.d)
    n = step.n_sub
    assert step.check(start.x, start.u, start.d) == n


def test_adaptive_stepper_rejects_a_bad_check_interval(stiff_case) -> None:
    model, start, _, _ = stiff_case
    with pytest.raises(ValueError, match="check_every_s"):
        AdaptiveStepper(model, DT_S, start.x, start.u, start.d, check_every_s=0.0)
