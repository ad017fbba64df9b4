"""``calmline bench harness``: wall time of a full closed-loop shift."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from scenarios import shipped_path

__all__ = ["bench_harness"]

NOMINAL = shipped_path("nmc_nmp_nominal.toml")


def bench_harness(controller: str = "pid", scenario: str | Path = NOMINAL,
                  duration_s: float | None = None) -> dict[str, Any]:
    """Run ``controller`` on the scenario (default: the nominal 8-hour shift) and time it."""
    from controllers.registry import make_controller
    from mpc.harness import run_closed_loop
    from mpc.scenario import build_setup, load_scenario

    sc = load_scenario(scenario)
    setup = build_setup(sc, source=str(scenario))
    t0 = time.perf_counter()
    res = run_closed_loop(setup, make_controller(controller), duration_s=duration_s)
    wall = time.perf_counter() - t0
    n = len(res.timeseries)
    return {
        "scenario": sc.name,
        "controller": controller,
        "simulated_s": float(res.timeseries.index[-1]),
        "control_interval_s": sc.control_interval_s,
        "steps": n,
        "plant_states": res.meta["n_plant_states"],
        "wall_s": wall,
        "steps_per_s": n / wall,
        "controller_step_ms_median": float(res.timeseries["step_time_ms"].median()),
        "target_wall_s": 30.0 if controller == "pid" else None,
    }
