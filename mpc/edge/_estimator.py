"""The NMPC's estimator on the edge: the exported functions, compiled, under the one EKF logic.

Loads an artifact written by ``calmline export`` (:func:`mpc.edge.read_artifact` checks it first) with
numpy and ctypes only: neither CasADi nor do-mpc is imported. The time update over one control interval
runs the exported RK4 sub-step ``n_sub`` times and multiplies the sub-steps' Jacobians; the filter's logic
is :class:`mpc.edge.SubstepEkf`, the same object the design machine's estimator runs. At the sub-step count
it was exported at, the interval's update is the design machine's own expression, compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mpc.edge._artifact import Artifact, read_artifact
from mpc.edge._compiled import CompiledFunction, load_library
from mpc.edge._ekf import SubstepEkf
from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue

__all__ = ["EdgeEstimator"]


class _CompiledModel:
    """:class:`mpc.edge.EkfModel` on the artifact's compiled functions."""

    def __init__(self, art: Artifact) -> None:
        lib = load_library(art.library)
        fn = art.manifest["functions"]
        self.substep = CompiledFunction(lib, fn["substep"])
        self.substep_value = CompiledFunction(lib, fn["substep_value"])
        self._outputs = CompiledFunction(lib, fn["outputs"])
        self._jac = CompiledFunction(lib, fn["state_jacobian"])
        self.dt_s = float(art.manifest["estimator"]["dt_s"])
        self._steps: dict[int, tuple[Step, StepValue]] = {}
        for k, names in fn.get("steps", {}).items():  # the whole interval's update, exported at these counts
            whole = CompiledFunction(lib, names["step"])
            value = CompiledFunction(lib, names["step_value"])
            self._steps[int(k)] = (self._whole(whole), self._whole_value(value))

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


class EdgeEstimator:
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
        self.ekf = SubstepEkf(core, _CompiledModel(art), float(e["dt_s"]), int(e["n_sub"]), int(e["n_states"]),
                              int(e["n_est"]), int(e["check_every"]))
        self.u_scale = art.array("estimator", "u_scale")
        """Each input's scale: the filter takes the applied inputs over it."""
        self.names: list[str] = list(e["names"])
        """The measurements the filter reads, in its order."""

    @property
    def z(self) -> np.ndarray:
        """Scaled line states, disturbance estimates and output biases."""
        return self.ekf.core.z

    @property
    def P(self) -> np.ndarray:
        """Their covariance."""
        return self.ekf.core.P

    def predict(self, us: np.ndarray, solids: float) -> None:
        """Time update over one control interval at the applied inputs ``us`` (scaled) and the solids."""
        self.ekf.predict(np.asarray(us, float), float(solids))

    def update(self, us: np.ndarray, solids: float, meas: Mapping[str, float], fresh: Mapping[str, bool]) -> None:
        """Measurement update from the fresh, finite readings."""
        self.ekf.update(np.asarray(us, float), float(solids), meas, fresh)
