"""The shipped scenarios, their data and the scripts that regenerate the docs' tables.

This folder is installed with calmline (as the package ``scenarios``), so that
a non-editable ``pip install`` can run every shipped scenario by name
(``calmline run nmc_nmp_nominal ...``) and copy them to edit
(``calmline scenarios copy DIR``). It holds:

* ``*.toml``: the scenario files (``docs/scenarios.md`` is the format);
* ``models/``: the lmpc's identified line models (found from a scenario's folder);
* ``calibrated/``: a scenario whose controller model loads a calibrated parameter file;
* ``data/logs/``, ``data/mappings/``: historian logs and column mappings for ``calmline replay``;
* ``regression/``: the regression suite of ``calmline regress`` and its golden KPI files;
* ``results_table.py``, ``identification_table.py``: the scripts behind ``docs/results.md``,
  ``docs/lmpc.md`` and ``docs/identification.md`` (run from a checkout).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHIPPED_DIR", "shipped_path", "shipped_scenarios"]

SHIPPED_DIR = Path(__file__).resolve().parent
"""The folder of the shipped scenarios (in a checkout: the repository's ``scenarios/``)."""


def shipped_scenarios() -> list[Path]:
    """Every shipped scenario file, sorted by name (the top folder's ``*.toml``)."""
    return sorted(SHIPPED_DIR.glob("*.toml"))


def shipped_path(relative: str) -> Path:
    """A shipped file by its path relative to the scenarios folder (e.g. ``"regression/suite.toml"``)."""
    return SHIPPED_DIR / relative
