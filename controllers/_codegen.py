"""C generation and compilation for the edge artifacts (``calmline export``), shared by the NMPC and the lmpc.

CasADi's code generator writes the controllers' functions as C (dense outputs, no header); the system's C
compiler (``$CC``, else ``cc``) builds them, with calmline's QP driver, into one shared library.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import casadi as ca

__all__ = ["LIBRARY", "compile_library", "generate_c"]

LIBRARY = "libcalmline_edge.so"
"""The compiled library's file name in the artifact."""


def generate_c(source: str, functions: list[ca.Function], out_dir: Path) -> Path:
    """Write ``functions``' generated C into ``out_dir / source`` (no header; ``casadi_int`` as ``long long
    int``, which :class:`mpc.edge.CompiledFunction` reads); return its path."""
    cg = ca.CodeGenerator(source, {"with_header": False, "casadi_int": "long long int", "casadi_real": "double"})
    for f in functions:
        cg.add(f)
    out_dir.mkdir(parents=True, exist_ok=True)
    cg.generate(str(out_dir) + os.sep)
    return out_dir / source


def compile_library(sources: list[Path], out_dir: Path, *, cflags: tuple[str, ...] = ("-O2",),
                    include_dirs: tuple[Path, ...] = (), lib_dirs: tuple[Path, ...] = (),
                    libs: tuple[str, ...] = ()) -> Path:
    """Compile ``sources`` into :data:`LIBRARY` in ``out_dir`` with ``$CC`` (else ``cc``); return its path.

    The library finds the libraries it links (``libs``, copied beside it) in its own folder (``rpath
    $ORIGIN``).

    Raises
    ------
    RuntimeError
        No C compiler was found, or it failed (its message included).
    """
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise RuntimeError(f"no C compiler {cc!r} on PATH: `calmline export` compiles the generated C with the "
                           f"system's compiler (set CC to choose one)")
    lib = out_dir / LIBRARY
    cmd = [cc, *cflags, "-fPIC", "-shared", *[f"-I{d}" for d in include_dirs], *map(str, sources), "-o", str(lib),
           *[f"-L{d}" for d in lib_dirs], *[f"-l{name}" for name in libs], "-Wl,-rpath,$ORIGIN", "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return lib
