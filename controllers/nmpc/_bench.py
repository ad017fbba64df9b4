"""``calmline bench nmpc``: do-mpc defaults, the tuned NMPC and the experimental SQP / fatrop, on the reference problem.

Reference problem (``docs/performance.md``): the cathode preset's controller model in
``scenarios/nmc_nmp_nominal.toml`` without the PLC's temperature loops (the model of
``temperature_loops = "manual"``; 4 zones x 2 cells: 43 states, 14 inputs; the default
controller's model adds an integral and a thermocouple state and a set point per zone),
the NMPC step of that scenario's controller (20 s) and a horizon of 6 steps
(120 s, longer than the film's 96 s residence in the dryer at nominal speed).
All configurations solve the *same* sequence of problems: the economic
target at nominal conditions, and initial states from a seeded perturbation
of the recipe's steady state (each solve warm-started from the previous one,
as in closed loop). Only the solve is timed (``make_step``; for ``"sqp"`` and
``"fatrop"`` it includes the IPOPT fallback when the experimental solver fails).
"""

from __future__ import annotations

import time
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from scenarios import shipped_path

__all__ = ["bench_nmpc", "reference_ocp", "reference_problem"]


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


def bench_nmpc(n_solves: int = 30, seed: int = 0, with_sqp: bool = False, with_fatrop: bool = False) -> dict[str, Any]:
    """Median and p95 solve times of the default and tuned configurations (and the sqp / fatrop ones, if
    asked); default/tuned ratio. The sqp configuration costs about 3 s per solve, fatrop about 0.5 s
    (docs/nmpc.md)."""
    from mpc.scenario import OcpSettings

    ref = reference_problem(n_solves, seed)
    m, setup, L, x0s = ref.m, ref.setup, ref.m.layout, ref.x0s
    out: dict[str, Any] = {}
    first: dict[str, np.ndarray] = {}
    own_by: dict[str, np.ndarray] = {}
    extra = [c for c, on in (("sqp", with_sqp), ("fatrop", with_fatrop)) if on]
    for config in ("default", "tuned", *extra):
        ocp, setup_s = reference_ocp(ref, config)
        times, success, iters, moves, fell_back, status = [], 0, [], [], [], []
        for x0 in x0s:
            t0 = time.perf_counter()
            u0, good, _ = ocp.solve(x0)
            times.append((time.perf_counter() - t0) * 1e3)
            success += int(good)
            iters.append(int(ocp.mpc.solver_stats.get("iter_count", -1)))
            moves.append(u0)
            fell_back.append(bool(ocp.mpc.solver_stats.get("fallback", 0)))
            status.append(str(getattr(ocp.mpc.S, "sqp_status", getattr(ocp.mpc.S, "status", ""))))
        first[config] = np.array(moves)
        own = own_by[config] = ~np.array(fell_back)
        out[config] = {
            "median_ms": float(np.median(times)),
            "p95_ms": float(np.percentile(times, 95)),
            "success": success,
            "iterations_median": float(np.median(iters)),
            "setup_s": setup_s,
            "n_nlp_variables": int(ocp.mpc.nlp["x"].shape[0]),
            "collocation_deg": 2 if config == "default" else 1,
            "fallbacks": ocp.fallbacks,
        }
        if config in extra:
            own_t = np.array(times)[own]
            out[config][f"{config}_status_counts"] = {k: status.count(k) for k in sorted(set(status))}
            out[config][f"{config}_solved_median_ms"] = float(np.median(own_t)) if own.any() else None
            out[config][f"{config}_solved_p95_ms"] = float(np.percentile(own_t, 95)) if own.any() else None
            out[config][f"{config}_iterations_median"] = float(np.median(np.array(iters)[own])) if own.any() else None
        if config == "fatrop":
            out[config]["fatrop_nlp_variables"] = int(ocp.mpc.S.nlp_w["x"].shape[0])
            out[config]["fatrop_stages"] = {k: (v if isinstance(v, int) else list(map(int, v)))
                                            for k, v in ocp.mpc.S.stage.items()}
    d, t = out["default"], out["tuned"]
    extra_keys: dict[str, Any] = {}
    for c in extra:
        q = out[c]
        diff = np.max(np.abs(first[c] - first["tuned"]), axis=1)
        own = own_by[c]
        q["first_move_max_abs_diff_vs_tuned_scaled"] = float(np.max(diff))
        q[f"first_move_max_abs_diff_vs_tuned_scaled_{c}_solved"] = float(np.max(diff[own])) if own.any() else None
        q[f"first_move_median_abs_diff_vs_tuned_scaled_{c}_solved"] = float(np.median(diff[own])) if own.any() else None
        extra_keys.update({
            f"{c}_median_ms": q["median_ms"],
            f"{c}_p95_ms": q["p95_ms"],
            f"{c}_success": q["success"],
            f"{c}_fallbacks": q["fallbacks"],
            f"{c}_first_move_max_abs_diff_vs_tuned_scaled": q["first_move_max_abs_diff_vs_tuned_scaled"],
            f"{c}_first_move_max_abs_diff_vs_tuned_scaled_{c}_solved":
                q[f"first_move_max_abs_diff_vs_tuned_scaled_{c}_solved"],
            c: q,
        })
    return {
        "problem": "nmc_nmp controller model, scenarios/nmc_nmp_nominal.toml",
        "n_states": L.n_states,
        "n_inputs": L.n_inputs,
        "horizon": OcpSettings().n_horizon,
        "t_step_s": OcpSettings().t_step_s,
        "horizon_s": OcpSettings().n_horizon * OcpSettings().t_step_s,
        "residence_s_at_nominal": m.line.dryer_length_m / setup.recipe.speed_m_s,
        "n_solves": n_solves,
        "default_median_ms": d["median_ms"],
        "default_p95_ms": d["p95_ms"],
        "tuned_median_ms": t["median_ms"],
        "tuned_p95_ms": t["p95_ms"],
        "speedup": d["median_ms"] / t["median_ms"],
        "default": d,
        "tuned": t,
        **extra_keys,
        "targets": {"tuned_median_ms": 15.0, "speedup": 3.0},
    }
