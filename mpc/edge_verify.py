"""``calmline edge verify``: the edge artifact against the design machine's controller on the same closed loop.

Today it verifies the exported estimator: the NMPC runs the scenario as ``calmline run`` runs it, and at every
control step its EKF and the artifact's (:class:`mpc.edge.EdgeEstimator`) are given the same applied inputs,
solids and readings; the largest difference of their states, in the states' scaled units (line states over
their scales, disturbance factors, biases over their scales), is reported with the run's KPIs and the time of
each estimator step. The tracking OCP and the lmpc join when they are exported (``docs/edge.md``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mpc.edge import EdgeEstimator

__all__ = ["verify_estimator"]


class _Tee:
    """The NMPC's EKF, with every call repeated on the edge estimator and the states compared."""

    def __init__(self, ekf: Any, edge: EdgeEstimator) -> None:
        self._ekf = ekf
        self._edge = edge
        self.max_abs_diff = 0.0
        self.max_diff_state = -1
        self.steps = 0
        self.py_ms: list[float] = []
        self.edge_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ekf, name)

    def _compare(self) -> None:
        d = np.abs(self._edge.z - self._ekf.z)
        k = int(np.argmax(d))
        if d[k] > self.max_abs_diff:
            self.max_abs_diff, self.max_diff_state = float(d[k]), k

    def predict(self, us: np.ndarray, solids: float) -> None:
        t0 = time.perf_counter()
        self._ekf.predict(us, solids)
        t1 = time.perf_counter()
        self._edge.predict(us, solids)
        t2 = time.perf_counter()
        self.py_ms.append((t1 - t0) * 1e3)
        self.edge_ms.append((t2 - t1) * 1e3)
        self._compare()

    def update(self, us: np.ndarray, solids: float, meas: Mapping[str, float], fresh: Mapping[str, bool]) -> None:
        t0 = time.perf_counter()
        self._ekf.update(us, solids, meas, fresh)
        t1 = time.perf_counter()
        self._edge.update(us, solids, meas, fresh)
        t2 = time.perf_counter()
        if self.py_ms:
            self.py_ms[-1] += (t1 - t0) * 1e3
            self.edge_ms[-1] += (t2 - t1) * 1e3
        self.steps += 1
        self._compare()


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, float) if ms else np.zeros(1)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def verify_estimator(artifact: str | Path, scenario: str | Path, *, duration_s: float | None = None,
                     progress: bool = False) -> dict[str, Any]:
    """Run the NMPC on ``scenario`` with the artifact's estimator beside its own; return the comparison.

    Raises
    ------
    mpc.edge.ArtifactError
        The artifact is missing a file, was changed after export, or holds no estimator.
    CalmlineError
        The scenario is not the one the artifact was exported on (its file's sha256 differs).
    """
    from controllers.nmpc import NmpcController
    from mpc.edge import file_sha256
    from mpc.errors import CalmlineError
    from mpc.runner import run_setup
    from mpc.scenario import build_setup, load_scenario, resolve_scenario_path

    edge = EdgeEstimator(artifact)  # checked before anything runs
    path = resolve_scenario_path(scenario)
    man = edge.artifact.manifest
    if file_sha256(path) != man["scenario_sha256"]:
        raise CalmlineError(f"{path}: not the scenario the artifact {artifact} was exported on "
                            f"({man['scenario_file']}, sha256 {man['scenario_sha256'][:12]}...): its estimator's "
                            f"tuning and initial state are that scenario's")
    tee: dict[str, _Tee] = {}

    class _Verified(NmpcController):
        def reset(self, ctx: Any) -> None:
            super().reset(ctx)
            tee["t"] = _Tee(self.ekf, EdgeEstimator(artifact))
            self.ekf = tee["t"]

    sc = load_scenario(path)
    res = run_setup(build_setup(sc, source=str(path)), _Verified(), duration_s=duration_s, progress=progress,
                    source=str(path))
    t = tee["t"]
    return {
        "artifact": str(artifact),
        "scenario": sc.name,
        "steps": t.steps,
        "estimator_max_abs_diff": t.max_abs_diff,
        "estimator_max_diff_state": t.max_diff_state,
        "estimator_n_sub": int(t._edge.ekf.n_sub),
        "edge_estimator": _percentiles(t.edge_ms),
        "python_estimator": _percentiles(t.py_ms),
        "kpis": res.kpis,
    }
