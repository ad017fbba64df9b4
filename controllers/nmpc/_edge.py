"""``--controller edge:DIR``: the NMPC with its edge core (estimation block and tracking OCP) from an artifact.

The NMPC's own logic runs unchanged (supervisor modes, the economic target as the supervisory layer on IPOPT,
fallbacks, the PLC writes); what is swapped is what an edge PC runs every step: the estimation block
(:func:`mpc.edge.edge_estimation`) and the tracking OCP (:class:`mpc.edge.EdgeOcp`, RTI on HPIPM), both the
artifact's compiled code. So ``run``, ``compare``, ``replay`` and ``regress`` judge the artifact in closed loop.
"""

from __future__ import annotations

from pathlib import Path

from controllers._edge_step import BudgetedStep
from controllers.nmpc._controller import NmpcController
from mpc.interfaces import ControllerContext

__all__ = ["EdgeNmpcController"]


class EdgeNmpcController(BudgetedStep, NmpcController):
    """The NMPC on an artifact's edge core.

    Parameters
    ----------
    artifact : str or Path
        The artifact's folder (``calmline export``).
    ocp_iterations : int
        SQP iterations at most per OCP solve (:class:`mpc.edge.RtiSolver`).
    step_budget_s : float or None
        Wall-clock budget of a step on a line (:class:`controllers._edge_step.BudgetedStep`, ``calmline edge
        run``); ``None`` (simulation): the iteration cap alone, deterministic.
    """

    name = "edge"
    settings_table = "nmpc"
    """The NMPC's settings tables: the artifact was exported with them (checked at :meth:`reset`)."""

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
        from mpc.edge import EdgeOcp, edge_estimation

        man = checked_manifest(self.artifact, "ocp", ctx)
        super().reset(ctx)
        # the OCP this scenario's [controllers.nmpc] tables build must be the artifact's
        refuse_other_tuning(tuning_differences(self.ocp, man), ctx, self.artifact, "nmpc")
        self.est = edge_estimation(self.artifact, ctx.schedule.batch_changes)
        self.ekf = self.est.ekf  # the controller reads the estimate from its filter
        self.ocp = EdgeOcp(self.artifact, max_iter=self.ocp_iterations,
                           cold_iter=self.ocp_cold_iterations)  # type: ignore[assignment]
        m = self.m
        self.ocp.set_initial_guess(m.ocp_state(m.ss.x / m.x_scale), self.v)
