"""What machine a figure was measured on, and with which package versions.

Every ``calmline bench`` JSON carries :func:`machine_info` (added by the
command, so that the benchmark functions beside what they measure need no
part of :mod:`mpc`); every saved run carries :func:`package_versions`.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

__all__ = ["machine_info", "package_versions"]


def machine_info() -> dict[str, Any]:
    """Host name, processor, core count, Python, NumPy and JAX versions of this machine."""
    import numpy as np

    info: dict[str, Any] = {
        "node": platform.node(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        import jax

        info["jax"] = jax.__version__
        info["jax_backend"] = jax.default_backend()
    except ImportError:  # pragma: no cover - jax is a dependency
        pass
    return info


def package_versions() -> dict[str, str]:
    """Versions of calmline and the packages a run depends on."""
    out = {}
    for pkg in ("calmline", "casadi", "do-mpc", "numpy", "scipy", "jax", "pandas", "pyarrow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
