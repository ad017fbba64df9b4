"""What an edge PC installs: the distributions the edge core's process imports, and nothing of the design machine's.

calmline's own requirements (``pyproject.toml``) are the design machine's: CasADi, do-mpc, JAX, Dask and the
plotting stack come with them. The edge core (``calmline edge run ARTIFACT --targets line`` on the artifact's
``line.json``) imports none of them, so an edge PC installs calmline without its dependencies and, beside it, only
:data:`EDGE_DISTRIBUTIONS` and what they require (``calmline export`` writes that list, pinned to the versions the
artifact was verified with, as :data:`REQUIREMENTS_FILE`; ``docs/edge.md``, Deployment).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

__all__ = ["EDGE_DISTRIBUTIONS", "REQUIREMENTS_FILE", "edge_requirements", "loaded_distributions"]

EDGE_DISTRIBUTIONS: tuple[str, ...] = ("numpy", "scipy", "pandas", "click", "pydantic", "asyncua", "tomli-w")
"""The distributions the edge core's process imports itself (the numerics, the scenario and settings models its
``line.json`` is read into, the command line, the OPC UA client); their own requirements come with them.
``tests/test_edge.py`` runs the edge core on a served line in an environment that holds only these, their
requirements and calmline's source."""

REQUIREMENTS_FILE = "requirements-edge.txt"
"""The file in an artifact that pins :func:`edge_requirements` (``pip install -r``)."""

_OWN = ("calmline", "mpc", "plants", "controllers", "scenarios")


def _canonical(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(dist: metadata.Distribution) -> list[str]:
    """The names of the distributions ``dist`` requires on this machine (markers evaluated, extras left out)."""
    from packaging.requirements import Requirement

    out = []
    for spec in dist.requires or []:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        out.append(req.name)
    return out


def edge_requirements(roots: tuple[str, ...] = EDGE_DISTRIBUTIONS) -> dict[str, str]:
    """The distributions an edge PC needs beside calmline, ``{canonical name: installed version}``: ``roots`` and
    everything they require on this machine, as installed here (the versions the artifact is verified with).

    Raises
    ------
    metadata.PackageNotFoundError
        A distribution in the closure is not installed here.
    """
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist.version
        todo += _requires(dist)
    return dict(sorted(seen.items()))


def loaded_distributions() -> list[str]:
    """The installed distributions whose modules this process has imported (canonical names, sorted), calmline's
    own packages and the standard library left out: what an edge process really needed."""
    owners = metadata.packages_distributions()
    out: set[str] = set()
    for mod in list(sys.modules):
        top = mod.partition(".")[0]
        if top in sys.stdlib_module_names or top in _OWN:
            continue
        out.update(_canonical(d) for d in owners.get(top, ()))
    return sorted(out)
