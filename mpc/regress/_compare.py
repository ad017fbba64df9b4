"""Compare a run's KPIs with a golden record: a verdict per KPI, worse direction only.

For a KPI with golden value ``g``, new value ``x`` and allowed change
``tol = max(abs, rel * |g|)``:

* ``higher`` is better: ``x < g - tol`` is a regression, ``x > g + tol`` better;
* ``lower`` is better: ``x > g + tol`` is a regression, ``x < g - tol`` better;
* ``zero`` (LEL excursions): ``x > abs`` is a regression whatever the golden
  says (any excursion counts); ``x <= abs`` where the golden had one is better.

Anything else is ``ok``. A KPI missing from the run or from the golden file
is a regression (the record changed shape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from mpc.regress._suite import Tolerance

__all__ = ["KpiCheck", "Verdict", "compare_kpis"]

Verdict = Literal["ok", "better", "regression"]


@dataclass(frozen=True)
class KpiCheck:
    """One KPI of one case against its golden value."""

    kpi: str
    direction: str
    golden: float | None
    value: float | None
    tolerance: float
    verdict: Verdict
    note: str = ""

    @property
    def change(self) -> float | None:
        """``value - golden`` (None when one is missing)."""
        if self.golden is None or self.value is None:
            return None
        return self.value - self.golden


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _verdict(direction: str, g: float, x: float, tol: Tolerance) -> tuple[Verdict, float]:
    if direction == "zero":
        band = tol.abs
        if x > band:
            return "regression", band
        return ("better" if g > band else "ok"), band
    band = tol.band(g)
    worse = (g - x) if direction == "higher" else (x - g)
    if worse > band:
        return "regression", band
    if -worse > band:
        return "better", band
    return "ok", band


def compare_kpis(kpis: dict[str, Any], golden: dict[str, Any], tolerances: dict[str, Tolerance]) -> list[KpiCheck]:
    """A :class:`KpiCheck` for every KPI in ``tolerances`` (in that order)."""
    out = []
    for key, tol in tolerances.items():
        direction = str(tol.direction)
        g, x = _num(golden.get(key)), _num(kpis.get(key))
        if g is None or x is None:
            missing = "golden file" if g is None else "run"
            out.append(KpiCheck(key, direction, g, x, 0.0, "regression", f"not a number in the {missing}"))
            continue
        verdict, band = _verdict(direction, g, x, tol)
        out.append(KpiCheck(key, direction, g, x, band, verdict))
    return out
