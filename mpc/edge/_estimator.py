"""The NMPC's estimator on the edge: the exported functions, compiled, under the one EKF logic.

Loads an artifact written by ``calmline export`` (:func:`mpc.edge.read_artifact` checks it first) with
ctypes and numpy (and calmline's own core modules): neither CasADi nor do-mpc is imported. The time update over one control interval
runs the exported RK4 sub-step ``n_sub`` times and multiplies the sub-steps' Jacobians; the filter's logic
is :class:`mpc.edge.SubstepEkf`, the same object the design machine's estimator runs. At the sub-step count
it was exported at, the interval's update is the design machine's own expression, compiled.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mpc.edge._artifact import Artifact, ArtifactError, open_library, read_artifact
from mpc.edge._compiled import CompiledFunction
from mpc.edge._ekf import BiasLayout, FilterView, SubstepEkf
from mpc.edge._estimation import EstimationStep
from mpc.edge._gauge import GaugeBiasFilter
from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue

__all__ = ["EdgeEstimator", "edge_estimation"]


class _CompiledModel:
    """:class:`mpc.edge.EkfModel` on the artifact's compiled functions."""

    def __init__(self, art: Artifact) -> None:
        lib = open_library(art)
        fn = art.manifest["functions"]
        try:
            self._load(lib, fn, art)
        except ValueError as exc:  # a function missing or not as exported
            raise ArtifactError(f"{art.library}: {exc}") from exc

    def _load(self, lib: Any, fn: dict[str, Any], art: Artifact) -> None:
        self.substep = CompiledFunction(lib, fn["substep"])
        self.substep_value = CompiledFunction(lib, fn["substep_value"])
        self._outputs = CompiledFunction(lib, fn["outputs"])
        self._jac = CompiledFunction(lib, fn["state_jacobian"])
        self._y = CompiledFunction(lib, fn["model_outputs"])
        self._cw = CompiledFunction(lib, fn["cw_sens"])
        self.dt_s = float(art.manifest["estimator"]["dt_s"])
        self._steps: dict[int, tuple[Step, StepValue]] = {}
        self._compiled: list[CompiledFunction] = []
        for k, names in fn.get("steps", {}).items():  # the whole interval's update, exported at these counts
            whole = CompiledFunction(lib, names["step"])
            value = CompiledFunction(lib, names["step_value"])
            self._compiled += [whole, value]
            self._steps[int(k)] = (self._whole(whole), self._whole_value(value))

    @property
    def memory_bytes(self) -> int:
        """The compiled functions' memory (bytes, taken once)."""
        fns = [self.substep, self.substep_value, self._outputs, self._jac, self._y, self._cw, *self._compiled]
        return sum(f.memory_bytes for f in fns)

    @staticmethod
    def _whole(f: CompiledFunction) -> Step:
        def step(z: np.ndarray, us: np.ndarray, solids: float) -> tuple[np.ndarray, np.ndarray]:
            zn, A = f(z, us, solids)
            return zn.ravel().copy(), A.copy()

        return step

    @staticmethod
    def _whole_value(f: CompiledFunction) -> StepValue:
        def step_value(z: np.ndarray, us: np.ndarray, solids: float) -> np.ndarray:
            return f(z, us, solids)[0].ravel().copy()

        return step_value

    def step(self, n_sub: int) -> tuple[Step, StepValue]:
        if n_sub not in self._steps:  # not exported at this count: the sub-step, n_sub times
            h = self.dt_s / n_sub  # as the design machine's RK4 divides the interval

            def step(z: np.ndarray, us: np.ndarray, solids: float) -> tuple[np.ndarray, np.ndarray]:
                A = None
                for _ in range(n_sub):
                    zn, J = self.substep(z, us, solids, h)
                    z = zn.ravel().copy()
                    A = J.copy() if A is None else J @ A
                return z, A

            def step_value(z: np.ndarray, us: np.ndarray, solids: float) -> np.ndarray:
                for _ in range(n_sub):
                    z = self.substep_value(z, us, solids, h)[0].ravel().copy()
                return z

            self._steps[n_sub] = (step, step_value)
        return self._steps[n_sub]

    def outputs(self) -> Outputs:
        def outputs(z: np.ndarray, us: np.ndarray, solids: float) -> tuple[np.ndarray, np.ndarray]:
            h, H = self._outputs(z, us, solids)
            return h.ravel().copy(), H.copy()

        return outputs

    def state_jacobian(self, xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> np.ndarray:
        return self._jac(xs, us, est)[0].copy()

    def model_outputs(self, xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> np.ndarray:
        """Every output of the model, physical units."""
        return self._y(xs, us, est)[0].ravel().copy()

    def cw_sens(self, xs: np.ndarray, us: np.ndarray, est: np.ndarray) -> tuple[float, float]:
        """The die coat weight and its derivative in the solids."""
        cw, dcw = self._cw(xs, us, est)
        return float(cw[0, 0]), float(dcw[0, 0])


class EdgeEstimator(FilterView):
    """The NMPC's EKF from an edge artifact.

    Parameters
    ----------
    path : str or Path
        The artifact's folder (``calmline export --out``).

    Raises
    ------
    mpc.edge.ArtifactError
        The artifact is missing a file, was changed after export, or holds no estimator.
    """

    def __init__(self, path: str | Path) -> None:
        self.artifact = art = read_artifact(path, "estimator")
        e = art.manifest["estimator"]
        lower, upper = art.bounds("estimator", "bounds")
        core = KalmanCore(art.array("estimator", "z0"), art.array("estimator", "P0"), art.array("estimator", "Q"),
                          art.array("estimator", "R"), e["names"], lower, upper, int(e["jacobian_every"]))
        b = e["biases"]
        biases = BiasLayout(np.asarray(b["index"], int), np.asarray(b["relative"], bool), np.asarray(b["scale"], float),
                            float(b["gain_scale"]), int(b["n_bias"]), int(b["n_zones"]))
        self.model = _CompiledModel(art)
        self.filter = SubstepEkf(core, self.model, float(e["dt_s"]), int(e["n_sub"]), int(e["n_states"]),
                                 int(e["n_est"]), int(e["check_every"]), biases)
        self.nb = self.filter.nb
        """Output-bias states."""
        self.u_scale = art.array("estimator", "u_scale")
        """Each input's scale: the filter takes the applied inputs over it."""

    @property
    def names(self) -> list[str]:
        """The measurements the filter reads, in its order."""
        return self.filter.core.names


def edge_estimation(path: str | Path, batch_changes: Sequence[tuple[float, float]] = ()) -> EstimationStep:
    """The NMPC's whole estimation block from an artifact: its EKF, the delayed-gauge filter and the output
    corrections (:class:`mpc.edge.EstimationStep`, the design machine's object), with the line's announced
    ``batch_changes`` (``(t_s, solids)``; the batch plan is the line's, not the artifact's)."""
    ekf = EdgeEstimator(path)
    e = ekf.artifact.manifest["estimation"]
    g = e["gauge"]
    gauge = GaugeBiasFilter(float(g["gauge_m"]), q_per_s=float(g["q_per_s"]), r=float(g["r"]), p0=float(g["p0"]),
                            gate_sigma=float(g["gate_sigma"]), shift_after=int(g["shift_after"]),
                            cusum_k=float(g["cusum_k"]), cusum_h=float(g["cusum_h"]))
    return EstimationStep(ekf, gauge, ekf.model.model_outputs, ekf.model.cw_sens, e["output_index"],
                          int(e["n_bias"]), int(e["n_zones"]), bool(e["flammable"]), float(e["dt_s"]),
                          float(e["solids_nominal"]), batch_changes, lel_bias_tau_s=float(e["lel_bias_tau_s"]))
