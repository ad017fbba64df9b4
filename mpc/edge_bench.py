"""``calmline bench edge``: the artifact's OCP solve against do-mpc's, on problems recorded in closed loop.

The problems are those :func:`mpc.nmpc_bench.recorded_problems` records: the default NMPC runs the first
``duration_s`` of ``scenarios/nmc_nmp_nominal.toml`` and every dynamic problem it solves is kept (initial state,
parameters, stage bounds). The edge OCP (:class:`mpc.edge.EdgeOcp`) then solves the same sequence in order,
warm-started from its own previous solve, once per iteration setting (RTI: 1 SQP iteration; converged: until
the step is under 1e-8), and do-mpc solves it tuned (the NMPC's configuration) and with its defaults (on the
first ``default_solves``). All in one process, one after the other, on this machine. The artifact must have
been exported on ``nmc_nmp_nominal`` (the recorded problems are that scenario's model's).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bench_edge"]


def _stats(ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(ms, float)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def _edge_replay(artifact: str | Path, rec: Any, max_iter: int) -> dict[str, Any]:
    from mpc.edge import EdgeOcp

    ctrl = rec.ctrl
    ocp = EdgeOcp(artifact, max_iter=max_iter)
    m = ctrl.m
    u = m.ocp_inputs(m.ss.u / m.u_scale, np.asarray(rec.setup.recipe.air_temp_K, float))
    ocp.set_guess(rec.problems[0][0], u)
    u_prev = u
    times, lin, qp, iters, moves, ok = [], [], [], [], [], 0
    for x0, par, lo, hi, _ in rec.problems:
        t0 = time.perf_counter()
        r = ocp.solve_with(x0, par, u_prev, lo, hi)
        times.append((time.perf_counter() - t0) * 1e3)
        lin.append(r.linearise_ms)
        qp.append(r.qp_ms)
        iters.append(r.iterations)
        moves.append(r.u0)
        ok += int(r.ok)
        u_prev = r.u0
    qps = np.asarray(qp) / np.maximum(np.asarray(iters), 1)
    return {**_stats(times), "success": ok, "iterations_mean": float(np.mean(iters)),
            "linearise_median_ms": float(np.median(lin)), "qp_median_ms": float(np.median(qp)),
            "qp_per_iteration_median_ms": float(np.median(qps)), "qp_memory_bytes": ocp.solver.qp.memory_bytes,
            "ocp_memory_bytes": ocp.memory_bytes,
            "_moves": np.array(moves)}


def bench_edge(artifact: str | Path, *, duration_s: float = 1800.0, default_solves: int = 100,
               iterations: tuple[int, ...] = (1, 3, 30)) -> dict[str, Any]:
    """Time the artifact's OCP and do-mpc's (tuned and default) on the recorded problems; compare the moves.

    Raises
    ------
    CalmlineError
        The artifact was not exported on ``nmc_nmp_nominal`` (or is not a valid artifact).
    """
    from mpc.edge import ArtifactError, read_artifact
    from mpc.errors import CalmlineError
    from mpc.nmpc_bench import recorded_problems, replay

    try:
        man = read_artifact(artifact, "ocp").manifest
    except ArtifactError as exc:
        raise CalmlineError(str(exc)) from exc
    if man["scenario"] != "nmc_nmp_nominal":
        raise CalmlineError(f"{artifact}: exported on {man['scenario']!r}; calmline bench edge replays problems of "
                            f"nmc_nmp_nominal: export on scenarios/nmc_nmp_nominal.toml")
    rec = recorded_problems(duration_s)
    ctrl = rec.ctrl
    rng = np.maximum(ctrl.v_ub - ctrl.v_lb, 1e-12)
    tuned = replay(rec, "tuned", "previous")
    tuned_moves = tuned.pop("_moves")
    out: dict[str, Any] = {}
    for k in iterations:
        r = _edge_replay(artifact, rec, k)
        d = np.abs(r.pop("_moves") - tuned_moves) / rng
        worst = d.max(axis=1)
        r["max_rel_move_diff_vs_tuned"] = float(worst.max())
        r["share_within_1e-3"] = float(np.mean(worst <= 1e-3))
        out[f"edge_{k}"] = r
    all_problems = rec.problems
    rec.problems = all_problems[:default_solves]
    default = replay(rec, "default", "previous")
    rec.problems = all_problems
    for q in (tuned, default):
        for key in [k for k in q if k.startswith("_")]:
            q.pop(key)
    rti, conv = out[f"edge_{iterations[0]}"], out[f"edge_{iterations[-1]}"]
    from mpc.edge import EdgeEstimator

    qp_b = int(rti["qp_memory_bytes"])
    ocp_fn_b = int(rti["ocp_memory_bytes"]) - qp_b
    est_b = int(EdgeEstimator(artifact).model.memory_bytes)
    return {
        "problem": f"the default NMPC's dynamic problems on the first {duration_s:.0f} s of "
                   "scenarios/nmc_nmp_nominal.toml (recorded in closed loop)",
        "artifact": str(artifact),
        "solver": man["ocp"].get("solver", {"source": "casadi"}),
        "n_solves": len(all_problems),
        "default_solves": len(all_problems[:default_solves]),
        "edge_median_ms": rti["median_ms"],
        "edge_p95_ms": rti["p95_ms"],
        "edge_p99_ms": rti["p99_ms"],
        "edge_converged_median_ms": conv["median_ms"],
        "dompc_median_ms": tuned["median_ms"],
        "dompc_default_median_ms": default["median_ms"],
        "speedup_vs_default": default["median_ms"] / rti["median_ms"],
        "converged_speedup_vs_default": default["median_ms"] / conv["median_ms"],
        "max_rel_move_diff": conv["max_rel_move_diff_vs_tuned"],
        "static_memory_bytes": {"qp": qp_b, "ocp_functions": ocp_fn_b, "estimator_functions": est_b,
                                "total": qp_b + ocp_fn_b + est_b},
        **out,
        "dompc_tuned": tuned,
        "dompc_default": default,
        "targets": {"edge_median_ms": 5.0, "edge_p99_ms": 15.0, "speedup_vs_default": 20.0,
                    "edge_converged_median_ms": 20.0, "static_memory_bytes": 2 * 1024 * 1024},
    }
