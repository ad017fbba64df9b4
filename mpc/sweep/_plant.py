"""Plant-only sweeps: the recipe held open loop on many draws at once, batched on the JAX plant.

``calmline sweep SCENARIO --plant-only`` answers "which recipe survives these slurry lots and this weather"
without a controller, a PLC or a process per run. Every draw is prepared in NumPy (its disturbance
trajectory, :meth:`mpc.scenario.PlantDisturbances.matrix`, and its starting steady state, Newton's method
batched on the JAX model, :func:`plants.steady_batch.steady_states`), then a chunk of draws is simulated in
one vectorised JAX computation (:meth:`plants.simulate.BatchSimulator.output_trajectories`) and each
draw's KPIs come from :func:`mpc.kpis.compute_kpis`, as a closed-loop run's do.

The policy (``recipe_open_loop``; ``docs/sweep.md``):

- the plant inputs the recipe's steady state needs at the draw's first disturbances (heater powers, fan
  speeds, exhaust flows) are held for the whole run: no PLC loop corrects them;
- the drive follows the plan's speed (the lower of target and cap), the pump follows it at the recipe's
  ratio (the PLC's ratio station), both stop during a line stop (the interlock); a cold start begins from
  the cold dryer with those inputs applied at once (no PLC ramps);
- no sensor is read, so the LEL limit in force is the one with healthy analysers.

Structural variations go in as the model's disturbance factors, one model for all draws: the critical
content as ``D_XCR`` (exact: the model multiplies the content by it) and the heat-transfer multiplier as
``D_HTF`` (the model's multiplier scales the Martin correlation only, ``D_HTF`` also scales its constant
3 W/m2/K floor, so a multiplier of 0.92 gives about 0.3 % less heat transfer than the exact plant; measured
in ``tests/test_sweep_plant.py``). Any other change of the plant's parameters is refused.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mpc.sweep._dist import Dist, SweepError
from mpc.sweep._draws import ANALYSER_FAULT, Draw, default_dispersion

__all__ = ["PLANT_ONLY_CHUNK", "PLANT_ONLY_POLICY", "PlantOnly", "check_plant_only_vary", "plant_only_dispersion",
           "plant_only_rows", "plant_only_runner"]

PLANT_ONLY_POLICY = "recipe_open_loop"
"""The name a plant-only sweep's rows carry in the ``controller`` column."""

PLANT_ONLY_CHUNK = 500
"""Draws simulated in one batched JAX computation (memory: about 100 kB per draw-hour of 2 s steps)."""

_STRUCTURAL = ("mismatch.plant.dryer.heat_transfer_multiplier", "mismatch.plant.dryer.critical_content_kg_kg")


def check_plant_only_vary(vary: dict[str, Dist]) -> None:
    """Refuse a variation a plant-only sweep cannot represent (module docstring)."""
    for key in vary:
        if key == ANALYSER_FAULT:
            raise SweepError(f"--plant-only: --vary {ANALYSER_FAULT}: a plant-only sweep reads no sensor (the recipe "
                             "is held open loop); leave it out")
        if key.startswith("mismatch.") and key not in _STRUCTURAL:
            raise SweepError(f"--plant-only: --vary {key}: the batched plant varies only "
                             f"{' and '.join(_STRUCTURAL)} per draw (as disturbance factors); run the closed-loop "
                             "sweep for other parameters")
        if key.startswith(("controllers.", "plc.", "sensors.", "actuators.")):
            raise SweepError(f"--plant-only: --vary {key}: a plant-only sweep runs no controller, PLC, sensor or "
                             "actuator model")


def plant_only_dispersion(base: Any) -> dict[str, Dist]:
    """The default dispersion without its analyser faults (no sensor is read)."""
    return {k: v for k, v in default_dispersion(base).items() if k != ANALYSER_FAULT}


def _factors(base_pp: Any, pp: Any, draw_id: int) -> tuple[float, float]:
    b, p = base_pp.dryer, pp.dryer
    same = dataclasses.replace(pp, dryer=dataclasses.replace(
        p, heat_transfer_multiplier=b.heat_transfer_multiplier, critical_content_kg_kg=b.critical_content_kg_kg))
    if same != base_pp:
        raise SweepError(f"draw {draw_id}: its plant parameters differ from the scenario's in more than the "
                         "heat-transfer multiplier and the critical content; a plant-only sweep cannot batch it")
    return (p.heat_transfer_multiplier / b.heat_transfer_multiplier,
            p.critical_content_kg_kg / b.critical_content_kg_kg)


@dataclasses.dataclass
class _Case:
    draw_id: int
    setup: Any
    d: np.ndarray
    op: Any
    xcr: float
    dist: Any


class PlantOnly:
    """The batched open-loop simulation of draws of one scenario (module docstring)."""

    def __init__(self, base: Any, duration_s: float) -> None:
        from mpc.harness import initial_operating_point
        from mpc.scenario import build_setup
        from plants.line import LineModel
        from plants.simulate import BatchSimulator, stable_substep_s
        from plants.steady import steady_state

        self.base = base
        self.setup = build_setup(base)
        self.model = model = LineModel(self.setup.plant_params)
        self.L = L = model.layout
        self.dt_s = base.control_interval_s
        self.n_steps = round(duration_s / self.dt_s)
        self.duration_s = self.n_steps * self.dt_s
        d0 = self.setup.disturbances(self.duration_s).matrix(1)[0]
        self.start = steady_state(model, initial_operating_point(self.setup, d0, L))
        self.sim = BatchSimulator(model, self.dt_s,
                                  max_substep_s=stable_substep_s(model, self.start.x, self.start.u, self.start.d))
        names = list(model.output_names())
        from mpc.kpis import REQUIRED_COLUMNS

        wanted = [c for c in REQUIRED_COLUMNS if c in names] + [f"zone{i}_lel_frac" for i in range(1, L.n_zones + 1)]
        self.columns = wanted
        self.col_idx = tuple(names.index(c) for c in wanted)

    def _case(self, draw: Draw) -> _Case:
        from mpc.harness import initial_operating_point
        from mpc.scenario import build_setup

        setup = build_setup(draw.scenario)
        htf, xcr = _factors(self.setup.plant_params, setup.plant_params, draw.draw_id)
        dist = setup.disturbances(self.duration_s)
        d = dist.matrix(self.n_steps)
        L = self.L
        d[:, L.D_HTF] *= htf
        d[:, L.D_XCR] *= xcr
        op = dataclasses.replace(initial_operating_point(setup, d[0], L), heat_transfer_factor=htf)
        return _Case(draw.draw_id, setup, d, op, xcr, dist)

    def _inputs(self, case: _Case, u_ss: np.ndarray) -> np.ndarray:
        L = self.L
        sched = case.setup.schedule
        t = np.arange(self.n_steps) * self.dt_s
        plan = np.array([min(sched.target_m_s(tk), sched.cap_m_s(tk)) for tk in t.tolist()])
        speed = np.where(np.asarray(case.dist.stops(t)) > 0.5, 0.0, plan)
        u = np.repeat(u_ss[None, :], self.n_steps, axis=0)
        u[:, L.u_speed] = speed
        u[:, L.u_pump] = u_ss[L.u_pump] / u_ss[L.u_speed] * speed
        return u

    def _kpis(self, case: _Case, u: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        from mpc.kpis import compute_kpis
        from mpc.runner import kpi_spec

        sc = case.setup.scenario
        spec = sc.spec
        L = self.L
        limit = spec.lel_limit_in_force(any(n.endswith("_lel_frac") for n in case.setup.sensor_specs))
        index = pd.Index(np.arange(1, self.n_steps + 1) * self.dt_s, name="time_s")
        ts = pd.DataFrame(y, columns=self.columns, index=index)
        speed = u[:, L.u_speed]
        ts["web_position_m"] = np.cumsum(np.maximum(speed, 0.0) * self.dt_s)
        ts["line_running"] = speed > 1e-6
        ts["lel_limit_frac"] = limit
        ts["step_time_ms"] = 0.0
        ts["solver_failure"] = 0
        ts["fallback"] = 0
        return compute_kpis(ts, kpi_spec(case.setup, PLANT_ONLY_POLICY, self.duration_s))

    def rows(self, draws: Sequence[Draw]) -> list[dict[str, Any]]:
        """One row per draw (``status`` ok or failed with its error), simulated in one batch."""
        from mpc.harness import start_state
        from plants.steady_batch import steady_states

        t0 = time.perf_counter()
        out: dict[int, dict[str, Any]] = {}
        cases = []
        for dr in draws:
            try:
                cases.append(self._case(dr))
            except Exception as exc:  # a draw that cannot be built is data
                out[dr.draw_id] = _failed(dr.draw_id, exc)
        if cases:
            states, _ = steady_states(self.model, [c.op for c in cases], self.start,
                                      critical_content_factors=[c.xcr for c in cases])
            x0 = np.stack([start_state(self.model, c.setup, s.x, s.u)[0] for c, s in zip(cases, states, strict=True)])
            us = np.stack([self._inputs(c, s.u) for c, s in zip(cases, states, strict=True)])
            ds = np.stack([c.d for c in cases])
            ys = self.sim.output_trajectories(x0, us, ds, self.col_idx, threads=os.cpu_count() or 1)
            for i, c in enumerate(cases):
                try:
                    if not np.all(np.isfinite(ys[i])):
                        k = int(np.argmax(~np.all(np.isfinite(ys[i]), axis=1)))
                        raise FloatingPointError(f"the plant's outputs are not finite from t = {(k + 1) * self.dt_s:g} s")
                    kp = self._kpis(c, us[i], ys[i])
                    out[c.draw_id] = {"draw_id": c.draw_id, "controller": PLANT_ONLY_POLICY, "status": "ok",
                                      "error": "", **{f"kpi_{k}": _plain(v) for k, v in kp.items()
                                                      if k not in ("scenario", "controller")}}
                except Exception as exc:
                    out[c.draw_id] = _failed(c.draw_id, exc)
        wall = (time.perf_counter() - t0) / max(len(draws), 1)
        rows = [out[dr.draw_id] for dr in draws]
        for r in rows:
            r["wall_s"] = wall
        return rows


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _failed(draw_id: int, exc: BaseException) -> dict[str, Any]:
    import traceback

    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    return {"draw_id": draw_id, "controller": PLANT_ONLY_POLICY, "status": "failed", "error": text}


_RUNNERS: dict[tuple[Any, ...], PlantOnly] = {}


def plant_only_runner(base: Any, duration_s: float) -> PlantOnly:
    """The batched simulation for draws of ``base``; one per plant, interval and length in a process, so its
    compiled JAX functions serve every sweep of the same plant there."""
    from mpc.scenario import build_setup

    key = (build_setup(base).plant_params, base.model_dump_json(), float(duration_s))
    if key not in _RUNNERS:
        _RUNNERS.clear()
        _RUNNERS[key] = PlantOnly(base, duration_s)
    return _RUNNERS[key]


def plant_only_rows(base: Any, draws: Sequence[Draw], duration_s: float, *,
                    chunk: int = PLANT_ONLY_CHUNK) -> Iterator[dict[str, Any]]:
    """Rows of the plant-only runs of ``draws``, a chunk of draws per batched simulation."""
    if not draws:
        return
    runner = plant_only_runner(base, duration_s)
    for i in range(0, len(draws), chunk):
        yield from runner.rows(draws[i : i + chunk])
