"""The NMPC's single-point reference problem, for the tests that compare the solvers' first moves.

The cathode preset's controller model in ``scenarios/nmc_nmp_nominal.toml`` without the PLC's
temperature loops (the model of ``temperature_loops = "manual"``; 4 zones x 2 cells: 43 states,
14 inputs), the NMPC step of that scenario's controller (20 s) and a horizon of 6 steps; the
economic target at nominal conditions and initial states from a seeded perturbation of it.
``calmline bench nmpc`` times the closed loop's own problems instead (:mod:`mpc.nmpc_bench`).
"""

from __future__ import annotations

import time
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from scenarios import shipped_path

__all__ = ["reference_ocp", "reference_problem"]


def reference_problem(n_solves: int = 30, seed: int = 0) -> SimpleNamespace:
    """The reference problem: model, bounds, steady-state target and the seeded initial states."""
    from controllers.nmpc._model import NmpcModel
    from controllers.nmpc._target import SteadyTarget
    from mpc.scenario import ModelSettings, TargetSettings, build_setup, load_scenario

    warnings.filterwarnings("ignore", category=UserWarning, module="do_mpc")
    setup = build_setup(load_scenario(shipped_path("nmc_nmp_nominal.toml")))
    spec = setup.scenario.spec
    m = NmpcModel(ModelSettings().apply(setup.model_params), setup.recipe)  # the controller's model
    L = m.layout
    lo = np.array([s.lower for s in setup.actuator_specs]) / m.u_scale
    hi = np.array([s.upper for s in setup.actuator_specs]) / m.u_scale
    lo[L.u_nozzle] = np.maximum(lo[L.u_nozzle], TargetSettings().nozzle_min_m_s / m.u_scale[L.u_nozzle])
    target = SteadyTarget(m, spec.residual_usl_kg_kg, spec.film_temp_max_K, TargetSettings())
    fixed = {L.room_w: m.ss.x[L.room_w] / m.x_scale[L.room_w],
             L.slurry_water: m.ss.x[L.slurry_water] / m.x_scale[L.slurry_water]}
    xt, ut, ok, _ = target.solve(m.nominal_estimate(), 0.5, 0.6, 0.5, spec.coat_weight_target_kg_m2,
                                 m.ss.u / m.u_scale, lo, hi, fixed)
    if not ok:
        raise RuntimeError("the steady-state target of the reference problem did not solve")
    rng = np.random.default_rng(seed)
    x0s = [xt * (1.0 + 0.02 * rng.standard_normal(xt.size)) for _ in range(n_solves)]
    return SimpleNamespace(setup=setup, spec=spec, m=m, lo=lo, hi=hi, xt=xt, ut=ut, x0s=x0s)


def reference_ocp(ref: SimpleNamespace, config: str) -> tuple[Any, float]:
    """The dynamic problem of ``ref`` in ``config``, parametrised and initialised; and its setup time, s."""
    from controllers.nmpc._ocp import DynamicOcp
    from mpc.scenario import OcpSettings

    m, spec = ref.m, ref.spec
    s = OcpSettings(config=config)
    t0 = time.perf_counter()
    ocp = DynamicOcp(m, spec.coat_weight_tolerance_frac, spec.residual_usl_kg_kg, spec.film_temp_max_K,
                     ref.lo, ref.hi, s)
    setup_s = time.perf_counter() - t0
    ocp.set_parameters(est=m.nominal_estimate(), xt=ref.xt, ut=ref.ut, lel_limit=0.5,
                       cw_target=spec.coat_weight_target_kg_m2, speed_target=np.full(s.n_horizon + 1, 0.5))
    ocp.set_initial_guess(ref.xt, ref.ut)
    return ocp, setup_s
