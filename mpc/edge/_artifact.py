"""An edge artifact: a folder of generated C, its compiled library and a manifest, checked before it is used.

The folder ``calmline export`` writes (``docs/edge.md``)::

    manifest.json          what the artifact is: format, versions, signals, scales, the filter's tuning,
                           the generated functions' names, and the sha256 of every other file
    manifest.sha256        the sha256 of manifest.json
    estimator.c            the generated C (CasADi's code generator)
    libcalmline_edge.so    compiled from it with the system's C compiler

Nothing is unpickled: the manifest is JSON, the library is loaded by ctypes after its hash matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mpc.outputs import file_digest

__all__ = ["FORMAT", "Artifact", "ArtifactError", "file_sha256", "read_artifact"]

FORMAT = "calmline-edge/1"
"""The manifest's format; a runtime refuses any other."""


class ArtifactError(ValueError):
    """The artifact is missing a file, has been changed since it was written, or is of another format."""


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, hex (as calmline's output manifests hash them)."""
    return file_digest(path)[1]


@dataclass(frozen=True)
class Artifact:
    """A checked artifact: its folder and manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def library(self) -> Path:
        """The compiled library's path."""
        return self.path / self.manifest["library"]

    def array(self, *keys: str) -> np.ndarray:
        """A numeric entry of the manifest (a number, a list or a list of rows) as an array."""
        node: Any = self.manifest
        for k in keys:
            node = node[k]
        return np.asarray(node, float)

    def bounds(self, *keys: str) -> tuple[np.ndarray, np.ndarray]:
        """A ``{"lower": [...], "upper": [...]}`` entry; ``None``: no bound (-inf, inf)."""
        node: Any = self.manifest
        for k in keys:
            node = node[k]
        lo = np.array([-np.inf if v is None else v for v in node["lower"]], float)
        hi = np.array([np.inf if v is None else v for v in node["upper"]], float)
        return lo, hi


def read_artifact(path: str | Path, part: str) -> Artifact:
    """Open the artifact at ``path`` and check it before anything in it is used.

    Checked: the manifest's own hash (``manifest.sha256``), its format, that it holds ``part``, and the
    sha256 of every file it lists.

    Raises
    ------
    ArtifactError
        A file is missing, a hash does not match, or the format or part is not the expected one; the message
        names the file and what was found.
    """
    root = Path(path)
    man_path = root / "manifest.json"
    sum_path = root / "manifest.sha256"
    for p in (man_path, sum_path):
        if not p.is_file():
            raise ArtifactError(f"{p}: missing; an edge artifact is a folder written by `calmline export`")
    want = sum_path.read_text(encoding="utf-8").split()[0] if sum_path.read_text(encoding="utf-8").split() else ""
    got = file_sha256(man_path)
    if got != want:
        raise ArtifactError(f"{man_path}: sha256 {got} does not match {sum_path.name} ({want or 'empty'}): the "
                            f"manifest was changed after export")
    try:
        manifest = json.loads(man_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{man_path}: not JSON ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"{man_path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if part not in manifest.get("parts", []):
        raise ArtifactError(f"{man_path}: parts {manifest.get('parts')!r} do not include {part!r}")
    for name, digest in manifest.get("files", {}).items():
        f = root / name
        if Path(name).name != name:
            raise ArtifactError(f"{man_path}: files: {name!r} is not a plain file name in the artifact's folder")
        if not f.is_file():
            raise ArtifactError(f"{f}: missing (listed in {man_path.name})")
        if file_sha256(f) != digest:
            raise ArtifactError(f"{f}: sha256 does not match {man_path.name}: the file was changed after export")
    if manifest.get("library") not in manifest.get("files", {}):
        raise ArtifactError(f"{man_path}: library {manifest.get('library')!r} is not among its hashed files")
    return Artifact(root, manifest)
