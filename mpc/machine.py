"""What machine a figure was measured on (every benchmark reports it)."""

from __future__ import annotations

import os
import platform
from typing import Any

__all__ = ["machine_info"]


def machine_info() -> dict[str, Any]:
    """Processor, core count, Python and JAX versions of this machine."""
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import jax

        info["jax"] = jax.__version__
        info["jax_backend"] = jax.default_backend()
    except ImportError:  # pragma: no cover - jax is a dependency
        pass
    return info
