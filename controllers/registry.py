"""Controllers by name: what ``--controller NAME`` accepts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mpc.errors import CalmlineError
from mpc.interfaces import Controller

__all__ = ["CONTROLLERS", "EDGE_PREFIX", "controller_label", "controller_names", "edge_controller", "make_controller"]

EDGE_PREFIX = "edge:"
"""``--controller edge:DIR`` names an exported artifact's folder."""


def _recipe() -> Controller:
    from controllers.recipe import RecipeController

    return RecipeController()


def _pid() -> Controller:
    from controllers.pid import PidController

    return PidController()


def _pid_opt() -> Controller:
    from controllers.pid_opt import PidOptController

    return PidOptController()


def _nmpc() -> Controller:
    from controllers.nmpc import NmpcController

    return NmpcController()


def _lmpc() -> Controller:
    from controllers.lmpc import LmpcController

    return LmpcController()


CONTROLLERS: dict[str, Callable[[], Controller]] = {
    "recipe": _recipe,
    "pid": _pid,
    "pid_opt": _pid_opt,
    "nmpc": _nmpc,
    "lmpc": _lmpc,
}


def controller_names() -> list[str]:
    """Known controller names."""
    return list(CONTROLLERS)


def controller_label(name: str) -> str:
    """The name a run of ``name`` is filed under: the name itself, or ``edge-<folder name>`` for ``edge:DIR``."""
    if name.startswith(EDGE_PREFIX):
        return "edge-" + Path(name[len(EDGE_PREFIX):].rstrip("/\\")).name
    return name


def edge_controller(folder: str | Path, **kw: object) -> Controller:
    """The controller an artifact was exported from (its manifest's ``controller``: the NMPC or the lmpc) on the
    artifact's edge core; ``kw`` go to its constructor.

    Raises
    ------
    CalmlineError
        The folder is not an artifact, or fails its checks (:func:`mpc.edge.read_artifact`).
    """
    from mpc.edge import ArtifactError, read_artifact

    try:
        kind = read_artifact(folder, "ocp").manifest.get("controller")
    except ArtifactError as exc:
        raise CalmlineError(str(exc)) from exc
    if kind == "lmpc":
        from controllers.lmpc._edge import EdgeLmpcController

        return EdgeLmpcController(folder, **kw)  # type: ignore[arg-type]
    from controllers.nmpc._edge import EdgeNmpcController

    return EdgeNmpcController(folder, **kw)  # type: ignore[arg-type]


def make_controller(name: str) -> Controller:
    """A fresh controller by name, or ``edge:DIR`` (the NMPC or lmpc on an exported artifact's edge core:
    :func:`edge_controller`); an unknown name lists the known ones."""
    if name.startswith(EDGE_PREFIX):
        folder = name[len(EDGE_PREFIX):]
        if not folder:
            raise CalmlineError("--controller edge:DIR: the artifact folder is missing after 'edge:'")
        return edge_controller(folder)
    try:
        return CONTROLLERS[name]()
    except KeyError:
        raise CalmlineError(f"unknown controller {name!r}; known controllers: {', '.join(controller_names())}") from None
