"""``calmline export``: a controller's parts for the edge, generated, compiled and hashed into one folder.

* ``--controller nmpc``: the estimator (its EKF with the disturbance and bias states:
  :mod:`controllers.nmpc._export`) and the tracking OCP as stage functions for the RTI on HPIPM
  (:mod:`controllers._export_ocp`);
* ``--controller lmpc``: the tracking OCP of the identified model (the same export) and a copy of the
  identified model file, from which the edge builds the offset-free Kalman filter (linear algebra on the
  model's matrices).

The controller is built exactly as ``calmline run`` builds it on the scenario (its settings tables applied,
reset on the scenario's context), and the artifact records what it was built from: the scenario file's
sha256, a hash of the line model's parameters and recipe, and the versions of calmline and CasADi
(``docs/edge.md``, "What is exported").
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from pathlib import Path
from typing import Any

from mpc.edge import (
    FORMAT,
    LINE_FILE,
    REQUIREMENTS_FILE,
    edge_requirements,
    file_sha256,
    model_sha256,
    write_line,
)
from mpc.errors import CalmlineError
from mpc.harness import line_side
from mpc.machine import package_versions
from mpc.outputs import OutputFolder
from mpc.scenario import build_setup, load_scenario, resolve_scenario_path

__all__ = ["EXPORTABLE", "export_controller", "model_sha256"]

EXPORTABLE = ("nmpc", "lmpc")
"""Controllers ``calmline export`` exports."""

_CONDENSE = {"nmpc": True, "lmpc": False}
"""How the edge solves each controller's QP (``docs/edge.md``, "Solve time"): the NMPC's (6 stages, 57 states
with the carried input, 14 inputs) condensed, the lmpc's (12 stages, 28 and 10) by Riccati recursion, which
took 4.9 against 10.1 ms median on the cathode's nominal scenario (development machine)."""

_FILES = ("estimator.c", "ocp.c", "calmline_qp.c", "libcalmline_edge.so", "libhpipm.so", "libblasfeo.so.0",
          "lmpc_model.json", LINE_FILE, REQUIREMENTS_FILE, "manifest.json", "manifest.sha256")


def _requirements_text(calmline_version: str) -> str:
    """The edge PC's requirements (:func:`mpc.edge.edge_requirements`), pinned to this machine's versions."""
    from importlib import metadata

    try:
        pins = "".join(f"{name}=={version}\n" for name, version in edge_requirements().items())
    except metadata.PackageNotFoundError as exc:
        raise CalmlineError(f"requirements-edge.txt: the edge core's distribution {exc.name!r} is not installed "
                            f"here; install calmline's requirements (pip install calmline) and export again") from None
    return ("# What the edge core needs beside calmline, as installed where this artifact was exported (docs/edge.md,\n"
            f"# Deployment): pip install -r {REQUIREMENTS_FILE}, then pip install --no-deps calmline=={calmline_version}\n"
            + pins)


def _nmpc_parts(ctx: Any, work: Path) -> tuple[Any, list[Path], dict[str, Any]]:
    """The NMPC's estimator C and manifest sections; returns ``(controller, sources, sections)``."""
    from controllers.nmpc import NmpcController
    from controllers.nmpc._edge import nmpc_manifest
    from controllers.nmpc._export import (
        ESTIMATOR_FUNCTIONS,
        SOURCE,
        estimation_manifest,
        estimator_manifest,
        generate_estimator_c,
        step_names,
    )

    ctrl = NmpcController()
    ctrl.reset(ctx)
    source = generate_estimator_c(ctrl.ekf, work)
    sections = {
        "parts": ["estimator", "ocp"],
        "functions": {**ESTIMATOR_FUNCTIONS, "steps": {str(ctrl.ekf.n_sub): step_names(ctrl.ekf.n_sub)}},
        "estimator": estimator_manifest(ctrl.ekf, ctrl.m.u_scale, list(ctx.input_names)),
        "estimation": estimation_manifest(ctrl.est),
        "nmpc": nmpc_manifest(ctrl, ctx),
    }
    return ctrl, [source], {**sections, "files": {SOURCE: file_sha256(source)}}


def _lmpc_parts(ctx: Any, work: Path) -> tuple[Any, list[Path], dict[str, Any]]:
    """The lmpc's model file copy and manifest section; returns ``(controller, sources, sections)``."""
    from controllers.lmpc import LmpcController
    from controllers.lmpc._edge import MODEL_FILE, kalman_manifest

    ctrl = LmpcController()
    ctrl.reset(ctx)
    copy = work / MODEL_FILE
    copy.write_bytes(Path(ctrl.model_path).read_bytes())
    digest = file_sha256(copy)
    sections = {
        "parts": ["ocp", "lmpc"],
        "lmpc": {"model_file": MODEL_FILE, "model_file_sha256": digest, "source_model_file": str(ctrl.model_path),
                 "kalman": kalman_manifest(ctrl), "dt_s": float(ctrl.mdl.dt_s),
                 "input_names": list(ctrl.mdl.input_names), "output_names": list(ctrl.mdl.output_names)},
    }
    return ctrl, [], {**sections, "files": {MODEL_FILE: digest}}


def export_controller(scenario: str | Path, controller: str, out_dir: str | Path, *, force: bool = False,
                      cflags: tuple[str, ...] = ("-O2",), solver_libs: str | Path | None = None) -> dict[str, Any]:
    """Export ``controller``'s edge parts as built on ``scenario`` into ``out_dir``; return the manifest.

    ``solver_libs``: an HPIPM and BLASFEO build for the edge PC's CPU to link and copy in
    (:func:`controllers._export_ocp.hpipm_files`); default the CasADi wheel's (BLASFEO's generic target). The
    manifest records BLASFEO's target and the CPU features it needs, which the runtime checks before loading.

    Raises
    ------
    CalmlineError
        The controller cannot be exported, the scenario is not valid, the output folder is refused
        (:mod:`mpc.outputs`), or the C compiler is missing or failed.
    """
    if controller not in EXPORTABLE:
        raise CalmlineError(f"--controller {controller!r}: calmline export exports {', '.join(EXPORTABLE)}")
    from controllers._codegen import LIBRARY, compile_library
    from controllers._export_ocp import (
        QP_SOURCE,
        SOLVER_LIBRARIES,
        blasfeo_target,
        generate_ocp_c,
        hpipm_files,
        ocp_manifest,
    )

    path = resolve_scenario_path(scenario)
    sc = load_scenario(path)
    setup = build_setup(sc, source=str(path))
    includes, solver_files, driver = hpipm_files(solver_libs)  # a wrong --solver-libs fails before the work
    folder = OutputFolder(out_dir, list(_FILES), force=force, inputs=[path])  # checked now, before the work
    side = line_side(setup, controller)  # the line the edge run reads (line.json): nothing built there
    ctx = side.context
    with tempfile.TemporaryDirectory(prefix="calmline-export-") as tmp:
        work = Path(tmp)
        parts = _nmpc_parts if controller == "nmpc" else _lmpc_parts
        ctrl, sources, sections = parts(ctx, work)
        ocp_source = generate_ocp_c(ctrl.ocp, work)
        qp_source = work / QP_SOURCE
        qp_source.write_bytes(driver.read_bytes())
        for f, name in zip(solver_files, SOLVER_LIBRARIES, strict=True):  # under the artifact's own names
            (work / name).write_bytes(f.read_bytes())
        try:
            lib = compile_library([*sources, ocp_source, qp_source], work, cflags=cflags, include_dirs=includes,
                                  lib_dirs=(work,), libs=("hpipm", ":libblasfeo.so.0"))
        except RuntimeError as exc:
            raise CalmlineError(str(exc)) from exc
        versions = package_versions()
        files = sections.pop("files")
        write_line(side, work / LINE_FILE)
        files[LINE_FILE] = file_sha256(work / LINE_FILE)
        (work / REQUIREMENTS_FILE).write_text(_requirements_text(versions["calmline"]))
        files[REQUIREMENTS_FILE] = file_sha256(work / REQUIREMENTS_FILE)
        manifest = {
            "format": FORMAT,
            "controller": controller,
            "scenario": sc.name,
            "scenario_file": path.name,
            "scenario_sha256": file_sha256(path),
            "model_sha256": model_sha256(setup),
            "versions": {**{k: versions[k] for k in ("calmline", "casadi", "do-mpc", "numpy")},
                         "python": platform.python_version()},
            "compiler_flags": list(cflags),
            "library": LIBRARY,
            **sections,
            "ocp": {**ocp_manifest(ctrl.ocp, condense=_CONDENSE[controller]),
                    "solver": {"source": "casadi" if solver_libs is None else str(Path(solver_libs).resolve()),
                               **{f"blasfeo_{k}": v for k, v in blasfeo_target(includes).items()}}},
            "files": {**files, LIBRARY: file_sha256(lib), ocp_source.name: file_sha256(ocp_source),
                      QP_SOURCE: file_sha256(qp_source),
                      **{name: file_sha256(work / name) for name in SOLVER_LIBRARIES}},
        }
        text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
        digest = hashlib.sha256(text.encode()).hexdigest()
        with folder:
            for name in manifest["files"]:
                folder.write_bytes(name, (work / name).read_bytes())
            folder.write_text("manifest.json", text)
            folder.write_text("manifest.sha256", f"{digest}  manifest.json\n")
    return manifest
