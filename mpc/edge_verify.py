"""``calmline edge verify``: the edge artifact against the design machine's controller on the same closed loop.

Today it verifies the exported estimation block: the NMPC runs the scenario as ``calmline run`` runs it, and at
every control step its estimation block (EKF, delayed-gauge filter, output corrections) and the artifact's
(:func:`mpc.edge.edge_estimation`) are given the same observation and applied inputs; the largest difference
of what they hold is reported (the EKF's states in their scaled units, the gauge filter's solids offset, the
output corrections in physical units) with the run's KPIs and the time of each estimation step on both sides.
The tracking OCP and the lmpc join when they are exported (``docs/edge.md``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mpc.edge import EstimationStep, edge_estimation
from mpc.interfaces import Observation

__all__ = ["verify_estimator"]


def _state(est: EstimationStep) -> dict[str, np.ndarray]:
    return {"ekf_state": np.asarray(est.ekf.z, float), "ekf_covariance": np.asarray(est.ekf.P, float),
            "gauge_solids": np.array([est.gauge.b, est.gauge.var]),
            "output_corrections": np.r_[est.out_bias, est.out_gain, est.cw_rel_sens]}


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference; infinite where only one side is not a number (a NaN must never read as 0)."""
    d = np.abs(a - b)
    d[np.isnan(d) & ~(np.isnan(a) & np.isnan(b))] = np.inf
    d[np.isnan(d)] = 0.0  # NaN on both sides: the same
    return float(d.max()) if d.size else 0.0


class _Tee:
    """The NMPC's estimation block, with every call repeated on the edge's and what they hold compared."""

    def __init__(self, design: EstimationStep, edge: EstimationStep) -> None:
        self._design = design
        self._edge = edge
        self.max_diff = dict.fromkeys(_state(design), 0.0)
        self.steps = 0
        self.design_ms: list[float] = []
        self.edge_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._design, name)

    def _compare(self) -> None:
        a, b = _state(self._design), _state(self._edge)
        for k in a:
            self.max_diff[k] = max(self.max_diff[k], _diff(a[k], b[k]))

    def restarted(self, skip_m: float) -> None:
        self._design.restarted(skip_m)
        self._edge.restarted(skip_m)

    def step(self, obs: Observation, us_applied: np.ndarray, speed_applied_m_s: float) -> None:
        t0 = time.perf_counter()
        self._design.step(obs, us_applied, speed_applied_m_s)
        t1 = time.perf_counter()
        self._edge.step(obs, np.array(us_applied, float), speed_applied_m_s)
        t2 = time.perf_counter()
        self.design_ms.append((t1 - t0) * 1e3)
        self.edge_ms.append((t2 - t1) * 1e3)
        self.steps += 1
        self._compare()


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, float) if ms else np.zeros(1)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def verify_estimator(artifact: str | Path, scenario: str | Path, *, duration_s: float | None = None,
                     progress: bool = False) -> dict[str, Any]:
    """Run the NMPC on ``scenario`` with the artifact's estimation block beside its own; return the comparison.

    Returns
    -------
    dict
        ``steps``; ``max_abs_diff``: the largest difference over the run of the EKF's state (scaled units) and
        its covariance, the gauge filter's solids offset and its variance, and the output corrections (physical
        units, with the coat weight's relative sensitivity to the solids); infinite where one side is NaN;
        ``estimator_max_abs_diff``: the largest of them; ``edge_estimation`` and ``design_estimation``: each
        side's step time (median, p95, p99, max, ms); ``kpis``: the run's.

    Raises
    ------
    mpc.edge.ArtifactError
        The artifact is missing a file, was changed after export, or holds no estimator.
    CalmlineError
        The scenario is not the one the artifact was exported on (its file's sha256 differs).
    """
    from controllers.nmpc import NmpcController
    from mpc.edge import file_sha256, read_artifact
    from mpc.errors import CalmlineError
    from mpc.export import model_sha256
    from mpc.runner import run_setup
    from mpc.scenario import build_setup, load_scenario, resolve_scenario_path

    man = read_artifact(artifact, "estimator").manifest  # checked before anything runs
    path = resolve_scenario_path(scenario)
    if file_sha256(path) != man["scenario_sha256"]:
        raise CalmlineError(f"{path}: not the scenario the artifact {artifact} was exported on "
                            f"({man['scenario_file']}, sha256 {man['scenario_sha256'][:12]}...): its estimator's "
                            f"tuning and initial state are that scenario's")
    tee: dict[str, _Tee] = {}

    class _Verified(NmpcController):
        def reset(self, ctx: Any) -> None:
            super().reset(ctx)
            tee["t"] = _Tee(self.est, edge_estimation(artifact, ctx.schedule.batch_changes))
            self.est = tee["t"]  # type: ignore[assignment]

    sc = load_scenario(path)
    setup = build_setup(sc, source=str(path))
    if model_sha256(setup) != man["model_sha256"]:
        raise CalmlineError(f"{path}: the controller's model built from it (parameters and recipe, files it names "
                            f"included) is not the one the artifact {artifact} was exported with")
    res = run_setup(setup, _Verified(), duration_s=duration_s, progress=progress, source=str(path))
    t = tee["t"]
    return {
        "artifact": str(artifact),
        "scenario": sc.name,
        "steps": t.steps,
        "max_abs_diff": dict(t.max_diff),
        "estimator_max_abs_diff": max(t.max_diff.values()),
        "estimator_n_sub": int(t._edge.ekf.n_sub),
        "edge_estimation": _percentiles(t.edge_ms),
        "design_estimation": _percentiles(t.design_ms),
        "kpis": res.kpis,
    }
