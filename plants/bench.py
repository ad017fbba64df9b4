"""Plant-simulation speed: batched JAX simulation of the cathode preset.

One scenario-step advances the plant by one control interval of the nominal
scenario (:data:`BENCH_INTERVAL_S`); state-steps per second are
scenario-steps per second times the number of plant states, so plants of
different resolution compare (``docs/performance.md``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from plants.line import LineModel
from plants.presets import get_preset, nominal_operating_point
from plants.simulate import BatchSimulator, stable_substep_s
from plants.steady import steady_state

__all__ = ["BENCH_INTERVAL_S", "bench_plant"]

BENCH_INTERVAL_S = 2.0
"""Control interval of the nominal scenario, s."""


def _time_batch(sim: BatchSimulator, x0: np.ndarray, u: np.ndarray, d: np.ndarray, batch: int, steps: int,
                rng: np.random.Generator, repeats: int, threads: int = 1) -> float:
    import jax
    import jax.numpy as jnp

    xb = jnp.asarray(np.repeat(x0[None, :], batch, axis=0))
    ub = np.repeat(u[None, None, :], batch, axis=0).repeat(steps, axis=1)
    db = np.repeat(d[None, None, :], batch, axis=0).repeat(steps, axis=1)
    # every scenario gets its own solids drift and pump noise (seeded)
    L = sim.model.layout
    db[:, :, L.D_SOLIDS] += 0.01 * rng.standard_normal((batch, 1))
    db[:, :, L.D_PUMP_NOISE] = 0.005 * rng.standard_normal((batch, steps))
    ub_j, db_j = jnp.asarray(ub), jnp.asarray(db)
    jax.block_until_ready(sim.final_state(xb, ub_j, db_j, threads=threads))  # compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        xf = sim.final_state(xb, ub_j, db_j, threads=threads)
        jax.block_until_ready(xf)
        best = min(best, time.perf_counter() - t0)
    if not np.all(np.isfinite(np.asarray(xf))):
        raise RuntimeError("benchmark simulation diverged (non-finite state)")
    return best


def bench_plant(batches: tuple[int, ...] = (1, 1000), steps: int = 300, seed: int = 0,
                repeats: int = 3, threads: int | None = None) -> dict[str, Any]:
    """Scenario-steps and state-steps per second of the batched JAX plant simulation: each batch on one
    thread and, with more than one scenario, split over ``threads`` (default: the machine's cores)."""
    import os

    threads = (os.cpu_count() or 1) if threads is None else threads
    load_before = os.getloadavg()[0]
    params = get_preset("nmc_nmp")
    model = LineModel(params)
    ss = steady_state(model, nominal_operating_point("nmc_nmp"))
    substep = stable_substep_s(model, ss.x, ss.u, ss.d)
    sim = BatchSimulator(model, BENCH_INTERVAL_S, max_substep_s=substep)
    n_states = model.layout.n_states
    rows = []
    for b in batches:
        n_steps = steps * (10 if b == 1 else 1)
        for th in sorted({1, min(threads, b)}):
            dt = _time_batch(sim, ss.x, ss.u, ss.d, b, n_steps, np.random.default_rng(seed), repeats, th)
            sps = b * n_steps / dt
            rows.append({
                "scenarios": b,
                "threads": th,
                "steps": n_steps,
                "seconds": dt,
                "scenario_steps_per_s": sps,
                "state_steps_per_s": sps * n_states,
            })
    return {
        "preset": "nmc_nmp",
        "n_states": n_states,
        "cells_per_zone": params.dryer.cells_per_zone,
        "n_zones": params.dryer.n_zones,
        "interval_s": BENCH_INTERVAL_S,
        "rk4_substeps": sim.n_sub,
        "results": rows,
        "target_state_steps_per_s_at_1000": 1e7,
        "threads": threads,
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
    }
