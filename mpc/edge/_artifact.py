"""An edge artifact: a folder of generated C, its compiled library and a manifest, checked before it is used.

The folder ``calmline export`` writes (``docs/edge.md``)::

    manifest.json          what the artifact is: format, versions, signals, scales, the filter's tuning,
                           the generated functions' names, and the sha256 of every other file
    manifest.sha256        the sha256 of manifest.json
    estimator.c            the generated C (CasADi's code generator)
    libcalmline_edge.so    compiled from it with the system's C compiler

Nothing is unpickled: the manifest is JSON, and the library is loaded by ctypes from a private copy whose
hash matched. The hashes catch accidents (a copy gone wrong, an edit), not an attacker who can rewrite the
folder.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mpc.outputs import file_digest

__all__ = ["FORMAT", "REQUIRED", "Artifact", "ArtifactError", "check_cpu", "cpu_features", "file_sha256",
           "model_sha256", "open_library", "private_library", "read_artifact"]

FORMAT = "calmline-edge/2"
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


REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "estimator": {
        "functions": ("substep", "substep_value", "outputs", "state_jacobian", "model_outputs", "cw_sens", "steps"),
        "estimator": ("dt_s", "n_sub", "n_states", "n_est", "n_bias", "check_every", "jacobian_every", "names",
                      "R", "Q", "P0", "z0", "bounds", "u_scale", "biases"),
        "estimation": ("output_index", "n_bias", "n_zones", "flammable", "dt_s", "solids_nominal", "lel_bias_tau_s",
                       "gauge"),
    },
    "ocp": {
        "ocp": ("n_states", "n_inputs", "n_colloc", "n_horizon", "t_step_s", "tvp", "constraints", "constraint_ub",
                "penalties", "move_weights", "speed_index", "input_lower", "input_upper", "initial_parameters",
                "initial_guess", "functions", "solver_libraries"),
    },
    "lmpc": {
        "ocp": ("n_states", "n_inputs", "n_horizon", "t_step_s", "tvp", "functions", "solver_libraries"),
        "lmpc": ("model_file", "model_file_sha256", "kalman"),
    },
}
"""The manifest's sections and keys each part needs (a manifest without them is refused, not half-used)."""


def model_sha256(setup: Any) -> str:
    """A hash of what a controller's model is built from: its parameters and the recipe (of a scenario setup or a
    controller context: anything with ``model_params`` and ``recipe``)."""
    text = json.dumps({"model_params": asdict(setup.model_params), "recipe": asdict(setup.recipe)},
                      sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_artifact(path: str | Path, part: str) -> Artifact:
    """Open the artifact at ``path`` and check it before anything in it is used.

    Checked: the manifest's own hash (``manifest.sha256``; the manifest is read once, and the bytes hashed are
    the bytes parsed), its format, that it holds ``part`` with every section and key the part needs, and the
    sha256 of every file it lists. The hashes catch a file changed, truncated or swapped after export (a copy
    gone wrong, an edit); they are not a signature: whoever can rewrite the library can rewrite the manifest
    and its hash too.

    Raises
    ------
    ArtifactError
        A file is missing, a hash does not match, or the format, part or a section is not the expected one; the
        message names the file and what was found.
    """
    root = Path(path)
    man_path = root / "manifest.json"
    sum_path = root / "manifest.sha256"
    for p in (man_path, sum_path):
        if not p.is_file():
            raise ArtifactError(f"{p}: missing; an edge artifact is a folder written by `calmline export`")
    words = sum_path.read_text(encoding="utf-8").split()
    want = words[0] if words else ""
    data = man_path.read_bytes()
    got = _digest(data)
    if got != want:
        raise ArtifactError(f"{man_path}: sha256 {got} does not match {sum_path.name} ({want or 'empty'}): the "
                            f"manifest was changed after export")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{man_path}: not JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{man_path}: expected a JSON object, found {type(manifest).__name__}")
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"{man_path}: format {manifest.get('format')!r}, expected {FORMAT!r} (an artifact of "
                            f"another calmline: export it again with this one)")
    if part not in manifest.get("parts", []):
        raise ArtifactError(f"{man_path}: parts {manifest.get('parts')!r} do not include {part!r}")
    for section, keys in REQUIRED.get(part, {}).items():
        node = manifest.get(section)
        missing = [k for k in keys if not isinstance(node, dict) or k not in node]
        if missing:
            raise ArtifactError(f"{man_path}: section {section!r} lacks {', '.join(missing)} (written by another "
                                f"calmline version? export it again)")
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise ArtifactError(f"{man_path}: files: expected an object of file name to sha256")
    for name, digest in files.items():
        if Path(name).name != name or name in (".", ".."):
            raise ArtifactError(f"{man_path}: files: {name!r} is not a plain file name in the artifact's folder")
        f = root / name
        if not f.is_file():
            raise ArtifactError(f"{f}: missing (listed in {man_path.name})")
        if file_sha256(f) != digest:
            raise ArtifactError(f"{f}: sha256 does not match {man_path.name}: the file was changed after export")
    if manifest.get("library") not in files:
        raise ArtifactError(f"{man_path}: library {manifest.get('library')!r} is not among its hashed files")
    return Artifact(root, manifest)


def private_library(art: Artifact, name: str | None = None) -> Path:
    """A private copy of one of the artifact's files (the library by default), hashed again after copying: what is
    loaded is exactly what was checked (the file in the folder may change after the check), under a name no other
    load has used (the dynamic loader reuses a library already loaded from the same path)."""
    name = name or art.manifest["library"]
    src = art.path / name
    data = src.read_bytes()
    if _digest(data) != art.manifest["files"].get(name):
        raise ArtifactError(f"{src}: sha256 does not match manifest.json: the file was changed after export")
    folder = Path(tempfile.mkdtemp(prefix="calmline-edge-"))
    copy = folder / src.name
    copy.write_bytes(data)
    return copy


_LOADED_SOLVERS: dict[str, tuple[str | None, Path]] = {}
"""The solver libraries this process has loaded: name -> (sha256, the artifact they came from)."""


def cpu_features() -> set[str] | None:
    """This CPU's feature flags (``/proc/cpuinfo``, lower case: ``avx2``, ``fma`` ...); ``None`` where they cannot be
    read (not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return None


def check_cpu(art: Artifact, have: set[str] | None = None) -> None:
    """Refuse an artifact whose BLASFEO needs CPU features this machine lacks (``ocp.solver.blasfeo_cpu_features``,
    recorded at export from BLASFEO's ``blasfeo_target.h``): loading it would end the process on an illegal
    instruction. Nothing is checked where the features cannot be read."""
    need = set(art.manifest.get("ocp", {}).get("solver", {}).get("blasfeo_cpu_features", []))
    have = cpu_features() if have is None else have
    if have is None or not need:
        return
    lacking = sorted(need - have)
    if lacking:
        target = art.manifest["ocp"]["solver"].get("blasfeo_target", "?")
        raise ArtifactError(f"{art.path}: its BLASFEO (target {target}) needs the CPU features {', '.join(lacking)}, "
                            f"which this CPU lacks: export it with --solver-libs naming a build for this CPU, or "
                            f"without it (the CasADi wheel's generic build)")


def open_library(art: Artifact) -> ctypes.CDLL:
    """Load the artifact's library from private copies (:func:`private_library`), the solver libraries it links
    first (``ocp.solver_libraries``, in order: each is found by the next through its name, already loaded); the
    copies are removed once loaded (the loader holds its mappings). An artifact whose BLASFEO needs CPU features
    this machine lacks is refused first (:func:`check_cpu`)."""
    check_cpu(art)
    solvers = list(art.manifest.get("ocp", {}).get("solver_libraries", []))
    for name in solvers:  # the dynamic loader finds a library by its name: one build of each in a process
        before = _LOADED_SOLVERS.get(name)
        if before is not None and before[0] != art.manifest["files"].get(name):
            raise ArtifactError(f"{art.path}: its {name} is another build than the one this process loaded from "
                                f"{before[1]}; the dynamic loader would link the first to both: run artifacts with "
                                f"different solver builds (--solver-libs) in separate processes")
    names = [*solvers, art.manifest["library"]]
    lib = None
    for name in names:
        copy = private_library(art, name)
        try:
            solver = name != art.manifest["library"]  # a solver library: global, so the next one finds it
            lib = ctypes.CDLL(str(copy), mode=ctypes.RTLD_GLOBAL if solver else ctypes.DEFAULT_MODE)
        finally:
            copy.unlink()
            copy.parent.rmdir()
        if name in solvers:  # recorded once it is loaded, not before
            _LOADED_SOLVERS.setdefault(name, (art.manifest["files"].get(name), art.path))
    assert lib is not None
    return lib
