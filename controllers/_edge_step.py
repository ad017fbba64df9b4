"""The edge controllers' step on a line: under the step-time watchdog's budget (:class:`mpc.edge.StepWatchdog`).

One copy for the NMPC's and the lmpc's edge controllers. Without a budget (simulation: ``run``, ``edge verify``)
the step is the controller's own, deterministic; with one (``calmline edge run``) the OCP gets the step's
deadline, and the step reports its time, whether it overran and whether the OCP was cut short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpc.edge import StepWatchdog
from mpc.interfaces import Command, Observation

if TYPE_CHECKING:
    from mpc.edge import EdgeOcp

__all__ = ["BudgetedStep"]


class BudgetedStep:
    """Mixin before a controller class: its :meth:`step` under a wall-clock budget when one is set.

    ``step_budget_s`` (``None``: no budget; :meth:`set_step_budget`) becomes :attr:`watchdog`. The step's ``info``
    then gains ``step_time_s``, ``step_overrun`` (1 when the step took longer than its budget) and ``ocp_out_of_time`` (1 when
    the OCP stopped iterating for its deadline, or did not start and the fallback chain answered).
    """

    ocp: EdgeOcp
    watchdog: StepWatchdog | None = None

    def set_step_budget(self, step_budget_s: float | None) -> None:
        """Set (or with ``None`` remove) the step's wall-clock budget, seconds."""
        self.watchdog = StepWatchdog(step_budget_s) if step_budget_s is not None else None

    def step(self, obs: Observation) -> Command:
        wd = self.watchdog
        if wd is None:
            return super().step(obs)  # type: ignore[misc]
        self.ocp.deadline_s = wd.begin()
        before = self.ocp.out_of_time
        try:
            cmd: Command = super().step(obs)  # type: ignore[misc]
        finally:
            self.ocp.deadline_s = None
        over = wd.end()
        cmd.info.update(step_time_s=wd.last_s, step_overrun=float(over),
                        ocp_out_of_time=float(self.ocp.out_of_time > before))
        return cmd
