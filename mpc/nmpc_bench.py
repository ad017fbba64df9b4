"""``calmline bench nmpc``: do-mpc defaults, the tuned NMPC and the experimental SQP / fatrop, on a recorded trajectory.

The timed problems (``docs/performance.md``): the default NMPC (its model holds the PLC's
temperature loops: 4 zones x 2 cells plus an integral and a thermocouple per zone, 51 states;
14 line inputs plus 4 set points) runs the first ``duration_s`` of
``scenarios/nmc_nmp_nominal.toml`` in the closed-loop harness, and every dynamic problem it
solves is recorded: the initial state, the parameters (estimates, target, LEL limit and
biases, the speed plan) and the stage bounds (move limits). Each configuration then solves that
same sequence in order, each solve warm-started from its own previous one, as in closed loop,
the tuned one with ``warm_start = "previous"`` and ``"shift"``. Only the solve is timed
(``make_step``; for ``"sqp"`` and ``"fatrop"`` it includes the IPOPT fallback when the
experimental solver fails). It sits above the harness (it runs one), beside the runner.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from scenarios import shipped_path

__all__ = ["bench_nmpc", "recorded_problems", "replay"]


def recorded_problems(duration_s: float = 1800.0) -> SimpleNamespace:
    """The dynamic problems the default NMPC solves on the first ``duration_s`` of ``nmc_nmp_nominal``.

    Returns the controller (its model and input bounds) and per solve ``(x0, parameters, lower, upper, move)``:
    the OCP's initial state, its parameters, the stage bounds of the inputs (``n_horizon`` rows) and the first
    move the closed loop applied.
    """
    import copy

    from controllers.nmpc import NmpcController
    from mpc.harness import run_closed_loop
    from mpc.scenario import build_setup, load_scenario

    class _Recording(NmpcController):
        def reset(self, ctx: Any) -> None:
            super().reset(ctx)
            self.recorded: list[tuple] = []
            ocp, solve = self.ocp, self.ocp.solve

            def recording_solve(x0: np.ndarray) -> tuple:
                lo, hi = ocp.stage_bounds()
                par = copy.deepcopy(ocp._tvp_values)
                out = solve(x0)
                self.recorded.append((np.asarray(x0, float).copy(), par, lo, hi, np.asarray(out[0]).copy()))
                return out

            ocp.solve = recording_solve

    setup = build_setup(load_scenario(shipped_path("nmc_nmp_nominal.toml")))
    ctrl = _Recording()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_closed_loop(setup, ctrl, duration_s=duration_s)
    return SimpleNamespace(setup=setup, ctrl=ctrl, problems=ctrl.recorded)


def replay(rec: SimpleNamespace, config: str, warm_start: str) -> dict[str, Any]:
    """Solve the recorded problems in order with a fresh OCP of ``config`` and ``warm_start``."""
    from controllers.nmpc._ocp import DynamicOcp

    ctrl, spec = rec.ctrl, rec.setup.scenario.spec
    s = replace(ctrl.ocp_cfg, config=config, warm_start=warm_start)
    t0 = time.perf_counter()
    ocp = DynamicOcp(ctrl.m, spec.coat_weight_tolerance_frac, spec.residual_usl_kg_kg, spec.film_temp_max_K,
                     ctrl.v_lb, ctrl.v_ub, s)
    setup_s = time.perf_counter() - t0
    x0, par, _, _, _ = rec.problems[0]
    ocp.set_initial_guess(x0, ctrl.m.ocp_inputs(ctrl.m.ss.u / ctrl.m.u_scale,
                                                 np.asarray(rec.setup.recipe.air_temp_K, float)))
    times, iters, moves, fell_back, status, success = [], [], [], [], [], 0
    for x0, par, lo, hi, _ in rec.problems:
        ocp.set_parameters(**par)
        for k in range(s.n_horizon):
            ocp.mpc._lb_opt_x["_u", k, 0] = lo[k]
            ocp.mpc._ub_opt_x["_u", k, 0] = hi[k]
        t1 = time.perf_counter()
        u0, good, _ = ocp.solve(x0)
        times.append((time.perf_counter() - t1) * 1e3)
        success += int(good)
        iters.append(int(ocp.mpc.solver_stats.get("iter_count", -1)))
        moves.append(u0)
        fell_back.append(bool(ocp.mpc.solver_stats.get("fallback", 0)))
        status.append(str(getattr(ocp.mpc.S, "sqp_status", getattr(ocp.mpc.S, "status", ""))))
    recorded = np.array([p[4] for p in rec.problems])
    return {
        "median_ms": float(np.median(times)),
        "p95_ms": float(np.percentile(times, 95)),
        "max_ms": float(np.max(times)),
        "success": success,
        "iterations_median": float(np.median(iters)),
        "setup_s": setup_s,
        "n_nlp_variables": int(ocp.mpc.nlp["x"].shape[0]),
        "collocation_deg": int(ocp.mpc.settings.collocation_deg),
        "fallbacks": ocp.fallbacks,
        "first_move_max_abs_diff_vs_closed_loop_scaled": float(np.max(np.abs(np.array(moves) - recorded))),
        "_moves": np.array(moves),
        "_fell_back": np.array(fell_back),
        "_status": status,
        "_iters": np.array(iters),
        "_times": np.array(times),
    }


def bench_nmpc(n_solves: int | None = None, with_sqp: bool = False, with_fatrop: bool = False,
               duration_s: float = 1800.0) -> dict[str, Any]:
    """Median and p95 solve times of the default and tuned configurations (and the sqp / fatrop ones, if
    asked) on the recorded problems of :func:`recorded_problems` (the first ``n_solves`` of them, default all),
    the tuned one with both warm starts; default/tuned ratio (the trajectory is the scenario's, seeded by it).
    The sqp configuration costs seconds per solve, fatrop about 0.5 s (docs/nmpc.md)."""
    rec = recorded_problems(duration_s)
    if n_solves is not None:
        rec.problems = rec.problems[:n_solves]
    ctrl, m, L = rec.ctrl, rec.ctrl.m, rec.ctrl.m.layout
    out: dict[str, Any] = {}
    extra = [c for c, on in (("sqp", with_sqp), ("fatrop", with_fatrop)) if on]
    runs = [("default", "previous"), ("tuned", "previous"), ("tuned_shift", "shift"), *((c, "previous") for c in extra)]
    for name, warm in runs:
        config = "tuned" if name == "tuned_shift" else name
        r = replay(rec, config, warm)
        own = ~r.pop("_fell_back")
        status, iters, times = r.pop("_status"), r.pop("_iters"), r.pop("_times")
        if name in extra:
            r[f"{name}_status_counts"] = {k: status.count(k) for k in sorted(set(status))}
            r[f"{name}_solved_median_ms"] = float(np.median(times[own])) if own.any() else None
            r[f"{name}_solved_p95_ms"] = float(np.percentile(times[own], 95)) if own.any() else None
            r[f"{name}_iterations_median"] = float(np.median(iters[own])) if own.any() else None
        out[name] = r
    tuned_moves = out["tuned"]["_moves"]
    extra_keys: dict[str, Any] = {}
    for c in [*extra, "tuned_shift"]:
        q = out[c]
        q["first_move_max_abs_diff_vs_tuned_scaled"] = float(np.max(np.abs(q["_moves"] - tuned_moves)))
        if c in extra:
            extra_keys.update({f"{c}_median_ms": q["median_ms"], f"{c}_p95_ms": q["p95_ms"],
                               f"{c}_success": q["success"], f"{c}_fallbacks": q["fallbacks"],
                               f"{c}_first_move_max_abs_diff_vs_tuned_scaled":
                                   q["first_move_max_abs_diff_vs_tuned_scaled"]})
    for q in out.values():
        q.pop("_moves")
    d, t, sh = out["default"], out["tuned"], out["tuned_shift"]
    s = ctrl.ocp_cfg
    return {
        "problem": f"the default NMPC's dynamic problems on the first {duration_s:.0f} s of "
                   "scenarios/nmc_nmp_nominal.toml (recorded in closed loop)",
        "n_states": int(m.n_aug),
        "n_inputs": int(m.n_v),
        "horizon": s.n_horizon,
        "t_step_s": s.t_step_s,
        "horizon_s": s.n_horizon * s.t_step_s,
        "residence_s_at_nominal": m.line.dryer_length_m / rec.setup.recipe.speed_m_s,
        "n_solves": len(rec.problems),
        "n_line_states": int(L.n_states),
        "default_median_ms": d["median_ms"],
        "default_p95_ms": d["p95_ms"],
        "tuned_median_ms": t["median_ms"],
        "tuned_p95_ms": t["p95_ms"],
        "tuned_shift_median_ms": sh["median_ms"],
        "tuned_shift_p95_ms": sh["p95_ms"],
        "speedup": d["median_ms"] / t["median_ms"],
        **{k: v for k, v in out.items()},
        **extra_keys,
        "targets": {"tuned_median_ms": 15.0, "speedup": 3.0},
    }
