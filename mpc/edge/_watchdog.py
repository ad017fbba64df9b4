"""The edge core's step-time watchdog: a wall-clock budget per controller step, and the overruns it counts.

On a line (``calmline edge run``) every controller step (estimation, the supervisor's logic, reading the target,
the OCP, the PLC writes) has a budget. The watchdog opens the step (:meth:`StepWatchdog.begin`), which gives the
OCP its deadline: the step's start plus ``ocp_share`` of the budget, the rest kept for what follows the solve. The
OCP then starts an SQP iteration only when the longest one so far would end before the deadline, and none at all
once the deadline has passed, when the controller's fallback chain (the last good plan's next move, then toward
the target within the move limits) answers instead (:class:`mpc.edge.RtiSolver`). :meth:`StepWatchdog.end`
closes the step, and a step that took longer than its budget counts as an overrun, reported in the step's
``info`` (``step_overrun``) and logged by the OPC UA client. Behind it stands the PLC's own heartbeat watchdog,
which hands the line back to its recipe when no answer comes at all (``docs/opcua.md``).

In simulation (``run``, ``edge verify``, ``--controller edge:DIR``) there is no watchdog: the iteration cap alone
bounds a solve, so that a run is deterministic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["StepWatchdog"]


class StepWatchdog:
    """A wall-clock budget per controller step, and the count of steps that overran it.

    Parameters
    ----------
    budget_s : float
        The step's budget, wall-clock seconds (> 0, finite).
    ocp_share : float
        The share of the budget, counted from the step's start, by which the OCP must have finished (0 < share
        <= 1; default 0.9: a tenth is kept for the logic and the writes after the solve).
    clock : callable
        Seconds on a monotonic clock (default :func:`time.perf_counter`; tests give a fake one).

    Raises
    ------
    ValueError
        A budget or share out of range.
    """

    def __init__(self, budget_s: float, *, ocp_share: float = 0.9,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        budget_s, ocp_share = float(budget_s), float(ocp_share)
        if not (math.isfinite(budget_s) and budget_s > 0.0):
            raise ValueError(f"step budget {budget_s} s: expected a finite number > 0")
        if not 0.0 < ocp_share <= 1.0:
            raise ValueError(f"ocp_share {ocp_share}: expected 0 < ocp_share <= 1")
        self.budget_s, self.ocp_share, self.clock = budget_s, ocp_share, clock
        self.steps = 0
        """Steps closed."""
        self.overruns = 0
        """Steps that took longer than the budget."""
        self.longest_s = 0.0
        """The longest step, s."""
        self.last_s = 0.0
        """The last step's time, s."""
        self._t0: float | None = None

    def begin(self) -> float:
        """Open a step; return the OCP's deadline on :attr:`clock`."""
        self._t0 = self.clock()
        return self._t0 + self.ocp_share * self.budget_s

    def end(self) -> bool:
        """Close the step opened by :meth:`begin`; return whether it overran its budget."""
        if self._t0 is None:
            raise RuntimeError("StepWatchdog.end() without begin()")
        self.last_s = self.clock() - self._t0
        self._t0 = None
        self.steps += 1
        self.longest_s = max(self.longest_s, self.last_s)
        over = self.last_s > self.budget_s
        self.overruns += int(over)
        return over
