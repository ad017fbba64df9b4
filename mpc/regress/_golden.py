"""Golden KPI files: one JSON per case, with the versions that produced it.

Step-time KPIs are left out (machine noise); everything else of the KPI
record is kept, so a golden file documents the whole run, while only the
KPIs of the suite's ``[tolerances]`` are compared.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mpc.outputs import write_declared_file
from mpc.regress._suite import RegressionSuiteError

__all__ = ["GOLDEN_VERSION_PACKAGES", "golden_record", "golden_text", "read_golden", "write_golden"]

#: package versions stored in a golden file
GOLDEN_VERSION_PACKAGES = ("calmline", "casadi", "numpy", "scipy", "pandas")


def golden_record(case: dict[str, Any], kpis: dict[str, Any], versions: dict[str, str]) -> dict[str, Any]:
    """The content of a golden file: the case, the versions, the KPIs (without step times)."""
    return {
        "case": case,
        "versions": {k: versions.get(k, "unknown") for k in GOLDEN_VERSION_PACKAGES},
        "kpis": {k: v for k, v in kpis.items() if not k.startswith("step_time")},
    }


def golden_text(record: dict[str, Any]) -> str:
    """Canonical JSON text of a golden record (stable key order, so diffs are small)."""
    return json.dumps(record, indent=2, allow_nan=False) + "\n"


def read_golden(path: Path) -> dict[str, Any] | None:
    """A golden record, or None when the file does not exist.

    Raises
    ------
    RegressionSuiteError
        The file is not valid JSON or has no ``kpis`` table.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RegressionSuiteError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kpis"), dict):
        raise RegressionSuiteError(f"{path}: a golden file needs a 'kpis' table")
    return data


def write_golden(path: Path, record: dict[str, Any], inputs: Iterable[Path] = ()) -> str:
    """Write ``record`` whole; return the unified diff against the old file ('' if unchanged).

    A golden file is calmline's own by declaration (the suite's
    ``golden_dir`` and the case's name), so ``--update`` replaces it without
    a manifest (:func:`mpc.outputs.write_declared_file`); ``inputs`` (the
    suite file, the cases' logs, mappings and base scenarios) are never
    written.
    """
    new = golden_text(record)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if new == old:
        return ""
    write_declared_file(path, new, inputs=inputs)
    label = str(path)
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"{label} (old)" if old else "/dev/null", tofile=f"{label} (new)",
        )
    )
