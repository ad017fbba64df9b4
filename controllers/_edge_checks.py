"""The checks ``--controller edge:DIR`` makes before it runs an artifact: one copy for the NMPC's and the lmpc's.

The artifact must be intact (:func:`mpc.edge.read_artifact`), exported on the scenario's line model (its
parameters and recipe, :func:`mpc.edge.model_sha256`), and its OCP must be the one the scenario's controller
settings build (:data:`TUNING_KEYS` of :func:`controllers._export_ocp.ocp_manifest`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mpc.errors import CalmlineError
from mpc.interfaces import ControllerContext

__all__ = ["TUNING_KEYS", "checked_manifest", "refuse_other_tuning", "tuning_differences"]

TUNING_KEYS = ("n_states", "n_inputs", "n_colloc", "n_horizon", "t_step_s", "discretization", "collocation_degree",
               "collocation_elements", "tvp", "constraints", "constraint_ub", "penalties", "move_weights",
               "speed_index", "input_lower", "input_upper")
"""The OCP manifest's entries a scenario's settings must reproduce to run an artifact."""


def checked_manifest(artifact: Path, part: str, ctx: ControllerContext) -> dict[str, Any]:
    """The artifact's manifest, checked (files, hashes, ``part``) and exported on ``ctx``'s line model.

    Raises
    ------
    CalmlineError
        The artifact fails :func:`mpc.edge.read_artifact`, or was exported on another line model.
    """
    from mpc.edge import ArtifactError, model_sha256, read_artifact

    try:
        man = read_artifact(artifact, part).manifest
    except ArtifactError as exc:
        raise CalmlineError(str(exc)) from exc
    if model_sha256(ctx) != man["model_sha256"]:
        raise CalmlineError(f"{ctx.source}: the line model built from it (parameters and recipe) is not the one the "
                            f"artifact {artifact} was exported with ({man['scenario_file']})")
    return man


def tuning_differences(ocp: Any, manifest: dict[str, Any]) -> list[str]:
    """The :data:`TUNING_KEYS` in which ``ocp`` (the controller's do-mpc OCP) differs from the artifact's."""
    from controllers._export_ocp import ocp_manifest

    mine, theirs = ocp_manifest(ocp), manifest["ocp"]
    return [k for k in TUNING_KEYS
            if not np.array_equal(np.asarray(mine[k], dtype=object), np.asarray(theirs.get(k), dtype=object))]


def refuse_other_tuning(differ: list[str], ctx: ControllerContext, artifact: Path, table: str) -> None:
    """Raise, naming what differs, when the scenario's ``[controllers.<table>]`` build another controller."""
    if differ:
        raise CalmlineError(f"{ctx.source}: the {table} this scenario's [controllers.{table}] tables build differs from "
                            f"the artifact {artifact}'s in {', '.join(differ)}: export it on this scenario")
