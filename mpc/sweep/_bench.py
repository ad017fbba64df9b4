"""Closed-loop runs per hour of a sweep on 1 and more local workers, measured in one call."""

from __future__ import annotations

import time
from typing import Any

from mpc.sweep._draws import default_dispersion, make_draws
from mpc.sweep._exec import Task, run_local

__all__ = ["bench_sweep"]


def bench_sweep(scenario: str, controller: str, samples: int, duration_s: float,
                workers: tuple[int, ...] = (1, 2), seed: int = 0) -> dict[str, Any]:
    """Runs per hour of ``samples`` default-dispersion draws of ``scenario`` with ``controller`` for each
    worker count, the same tasks each time; scaling efficiency = rate(k) / (k x rate(1)).

    The pool's start (spawning the workers, importing calmline there) is inside the time, as in a sweep.
    """
    from mpc.runner import _prepare
    from mpc.scenario import run_duration_s

    prep = _prepare(scenario)
    base = prep.scenario
    duration = run_duration_s(base, duration_s)
    draws = make_draws(base, default_dispersion(base), samples, seed, duration_s=duration, source=prep.source)
    tasks = [Task(d.draw_id, controller, d.scenario.model_dump_json(), prep.source, duration) for d in draws]
    out: dict[str, Any] = {"scenario": base.name, "controller": controller, "samples": samples,
                           "duration_s": duration, "workers": {}}
    for k in workers:
        t0 = time.perf_counter()
        rows = list(run_local(tasks, k))
        wall = time.perf_counter() - t0
        ok = sum(r["status"] == "ok" for r in rows)
        out["workers"][str(k)] = {"wall_s": wall, "runs": len(rows), "ok": ok, "runs_per_hour": 3600.0 * len(rows) / wall,
                                  "run_wall_s_median": sorted(r["wall_s"] for r in rows)[len(rows) // 2]}
    r1 = out["workers"].get("1", {}).get("runs_per_hour")
    for k, v in out["workers"].items():
        v["scaling_efficiency"] = v["runs_per_hour"] / (int(k) * r1) if r1 else None
    return out
