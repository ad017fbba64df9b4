"""The fixed targets a run is judged on, and the thresholds of the card colours: data, in one place.

A run's verdict (:func:`mpc.report.run_verdict`) is "targets met" when every
target below holds; the headline cards colour capability and yield with the
same numbers. ``docs/report.md`` states the rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CPK_MIN",
    "CPK_TARGET",
    "LEL_TARGET",
    "TARGETS",
    "YIELD_LARGE_SCRAP",
    "YIELD_TARGET",
    "Target",
]

#: Capability a process must reach: the common industry minimum for an established process.
CPK_TARGET = 1.33
#: Capability below which a card is red even without scrap (amber between this and the target).
CPK_MIN = 1.0
#: Yield (good / all web assessed) a run must reach.
YIELD_TARGET = 0.99
#: Yield below which the scrap is large: a capability or yield card is red.
YIELD_LARGE_SCRAP = 0.95


@dataclass(frozen=True)
class Target:
    """One fixed target on a KPI of the record.

    Attributes
    ----------
    key : str
        KPI key (``docs/kpis.md``).
    name : str
        What it is, in words (``"coat-weight Cpk"``).
    sense : {"min", "max"}
        ``"min"``: the value must be at least ``bound``; ``"max"``: at most.
    bound : float
        The bound, in the key's SI unit.
    """

    key: str
    name: str
    sense: Literal["min", "max"]
    bound: float

    def met_by(self, value: float) -> bool:
        """Whether a finite value meets the target (a bound itself meets it)."""
        if not math.isfinite(value):
            return False
        return value >= self.bound if self.sense == "min" else value <= self.bound

    @property
    def relation(self) -> str:
        """``"≥"`` or ``"≤"``."""
        return "≥" if self.sense == "min" else "≤"


#: The safety target: missing it breaks a limit (:func:`mpc.report.run_violations`: exit code 3,
#: the comparison's ``violation`` column), not only a target.
LEL_TARGET = Target("time_above_lel_limit_s", "time above the LEL limit in force", "max", 0.0)

#: Every target of the verdict, in the order the verdict names them.
TARGETS: tuple[Target, ...] = (
    LEL_TARGET,
    Target("coat_weight_cpk", "coat-weight Cpk", "min", CPK_TARGET),
    Target("residual_solvent_cpk", "residual-solvent Cpk", "min", CPK_TARGET),
    Target("yield_frac", "yield", "min", YIELD_TARGET),
)
