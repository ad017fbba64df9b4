"""``--controller edge:DIR`` on an lmpc artifact: the lmpc with its tracking OCP from the artifact.

The lmpc's own logic runs unchanged (supervisor modes, the lot's ratio, the economic target on the identified
gains as the supervisory layer, fallbacks, the PLC writes); what is swapped is what the edge PC solves every
model step: the tracking OCP (:class:`mpc.edge.EdgeOcp`, the artifact's compiled stage functions and QP driver
on HPIPM), and the model is the artifact's own copy of the identified model file, from which the offset-free
Kalman filter is built. So ``run``, ``compare``, ``replay`` and ``regress`` judge the artifact in closed loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from controllers._edge_step import BudgetedStep
from controllers.lmpc._controller import LmpcController, resolve_model_file
from controllers.lmpc._modelfile import load_model_file
from mpc.errors import CalmlineError
from mpc.interfaces import ControllerContext

__all__ = ["MODEL_FILE", "EdgeLmpcController"]

MODEL_FILE = "lmpc_model.json"
"""The identified model file's name in an lmpc artifact (a copy of the one the lmpc was exported with)."""

class EdgeLmpcController(BudgetedStep, LmpcController):
    """The lmpc on an artifact's edge core.

    Parameters
    ----------
    artifact : str or Path
        The artifact's folder (``calmline export --controller lmpc``).
    ocp_iterations : int
        SQP iterations at most per OCP solve (:class:`mpc.edge.RtiSolver`; the lmpc's QP needs one, and a second
        to confirm the step is nil).
    step_budget_s : float or None
        Wall-clock budget of a step on a line (:class:`controllers._edge_step.BudgetedStep`, ``calmline edge
        run``); ``None`` (simulation): the iteration cap alone, deterministic.
    """

    name = "edge"
    settings_table = "lmpc"
    """The lmpc's settings tables: the artifact was exported with them (checked at :meth:`reset`)."""

    def __init__(self, artifact: str | Path, *, ocp_iterations: int = 10, ocp_cold_iterations: int | None = None,
                 step_budget_s: float | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.set_step_budget(step_budget_s)
        self.artifact = Path(artifact)
        self.ocp_iterations = int(ocp_iterations)
        self.ocp_cold_iterations = ocp_cold_iterations

    def reset(self, ctx: ControllerContext) -> None:
        from controllers._edge_checks import (
            checked_manifest,
            refuse_other_tuning,
            tuning_differences,
        )
        from mpc.edge import EdgeOcp, file_sha256

        man = checked_manifest(self.artifact, "lmpc", ctx)
        self.given_model = load_model_file(self.artifact / man["lmpc"]["model_file"])
        super().reset(ctx)
        self.model_path = self.artifact / man["lmpc"]["model_file"]
        own = resolve_model_file(self.settings, ctx.source, ctx.model_params.name)
        if own.is_file() and file_sha256(own) != man["lmpc"]["model_file_sha256"]:
            raise CalmlineError(f"{own}: not the identified model the artifact {self.artifact} was exported with "
                                f"(its copy {man['lmpc']['model_file']} differs): export it again")
        # the OCP and the filter this scenario's [controllers.lmpc] tables build must be the artifact's
        kal = kalman_manifest(self)
        differ = tuning_differences(self.ocp, man) + [
            f"kalman.{k}" for k in kal if not np.array_equal(kal[k], man["lmpc"]["kalman"][k])]
        refuse_other_tuning(differ, ctx, self.artifact, "lmpc")
        self.ocp = EdgeOcp(self.artifact, max_iter=self.ocp_iterations,
                           cold_iter=self.ocp_cold_iterations)  # type: ignore[assignment]


def kalman_manifest(ctrl: LmpcController) -> dict[str, list[float]]:
    """The offset-free Kalman filter's noise covariances (diagonals, scaled units), as the manifest records them."""
    return {"Q": [float(v) for v in np.diag(ctrl.kf.Q)], "R": [float(v) for v in np.diag(ctrl.kf.R)]}
