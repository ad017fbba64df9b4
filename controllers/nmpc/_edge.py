"""``--controller edge:DIR``: the NMPC with its edge core (estimation block and tracking OCP) from an artifact.

The NMPC's own logic runs unchanged (supervisor modes, the economic target as the supervisory layer on IPOPT,
fallbacks, the PLC writes); what is swapped is what an edge PC runs every step: the estimation block
(:func:`mpc.edge.edge_estimation`) and the tracking OCP (:class:`mpc.edge.EdgeOcp`, RTI on HPIPM), both the
artifact's compiled code. So ``run``, ``compare``, ``replay`` and ``regress`` judge the artifact in closed loop.
"""

from __future__ import annotations

from pathlib import Path

from controllers.nmpc._controller import NmpcController
from mpc.errors import CalmlineError
from mpc.interfaces import ControllerContext

__all__ = ["EdgeNmpcController"]


class EdgeNmpcController(NmpcController):
    """The NMPC on an artifact's edge core.

    Parameters
    ----------
    artifact : str or Path
        The artifact's folder (``calmline export``).
    ocp_iterations : int
        SQP iterations at most per OCP solve (:class:`mpc.edge.RtiSolver`).
    """

    name = "edge"
    settings_table = "nmpc"
    """The NMPC's settings tables: the artifact was exported with them (checked at :meth:`reset`)."""

    def __init__(self, artifact: str | Path, *, ocp_iterations: int = 10, ocp_cold_iterations: int | None = None,
                 **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.artifact = Path(artifact)
        self.ocp_iterations = int(ocp_iterations)
        self.ocp_cold_iterations = ocp_cold_iterations

    def reset(self, ctx: ControllerContext) -> None:
        from mpc.edge import ArtifactError, EdgeOcp, edge_estimation, model_sha256, read_artifact

        try:
            man = read_artifact(self.artifact, "ocp").manifest
        except ArtifactError as exc:
            raise CalmlineError(str(exc)) from exc
        if model_sha256(ctx) != man["model_sha256"]:
            raise CalmlineError(f"{ctx.source}: the controller's model built from it (parameters and recipe) is not "
                                f"the one the artifact {self.artifact} was exported with ({man['scenario_file']})")
        super().reset(ctx)
        self._check_tuning(man)
        self.est = edge_estimation(self.artifact, ctx.schedule.batch_changes)
        self.ekf = self.est.ekf  # the controller reads the estimate from its filter
        self.ocp = EdgeOcp(self.artifact, max_iter=self.ocp_iterations,
                           cold_iter=self.ocp_cold_iterations)  # type: ignore[assignment]
        m = self.m
        self.ocp.set_initial_guess(m.ocp_state(m.ss.x / m.x_scale), self.v)

    def _check_tuning(self, man: dict) -> None:
        """The OCP this scenario's ``[controllers.nmpc]`` tables build must be the artifact's (dimensions,
        parameters' layout, constraints, penalties, move weights, bounds)."""
        import numpy as np

        from controllers._export_ocp import ocp_manifest

        mine, theirs = ocp_manifest(self.ocp), man["ocp"]
        keys = ("n_states", "n_inputs", "n_colloc", "n_horizon", "t_step_s", "collocation_degree",
                "collocation_elements", "tvp", "constraints", "constraint_ub", "penalties", "move_weights",
                "speed_index", "input_lower", "input_upper")
        differ = [k for k in keys if not np.array_equal(np.asarray(mine[k], dtype=object), np.asarray(theirs[k], dtype=object))]
        if differ:
            raise CalmlineError(f"{self.ctx.source}: the NMPC this scenario's [controllers.nmpc] tables build differs "
                                f"from the artifact {self.artifact}'s in {', '.join(differ)}: export it on this "
                                f"scenario")
