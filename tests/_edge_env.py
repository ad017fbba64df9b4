"""An edge PC's Python for the tests: a fresh virtual environment holding only the distributions an edge install
holds (:func:`mpc.edge.edge_requirements`), linked from this one, and calmline's source run from the checkout."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mpc.edge import edge_requirements


def edge_python(folder: Path) -> Path:
    """Create a virtual environment in ``folder`` whose site-packages holds the edge's distributions and nothing
    else (each linked from this environment: its packages, modules and metadata); return its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for name in edge_requirements():
        dist = metadata.distribution(name)
        root = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for top in sorted(tops - {"__pycache__"}):
            target = site / top
            if not target.exists() and (root / top).exists():
                target.symlink_to(root / top)
    return folder / "bin" / "python"
