"""The supervisor every MPC shares: line stop, start-up, hand-back, LEL limit, speed preview, fallback.

Pure and deterministic (plain numpy, no solver, no clock): fed the same
observations it says the same things, so that an edge runtime can reproduce
it step for step. What an MPC does inside each mode stays the MPC's (the
NMPC's start-up recipe dryer, the lmpc's recipe controller).

Modes
-----
One per control interval, from :meth:`Supervisor.update`:

``running``
    The MPC plans and moves the line.
``stopped``
    The line stands (``Observation.line_stopped``). The MPC does not plan;
    what the line gets (no speed, no pump, the dryer ready for the restart)
    is the controller's.
``startup``
    The start-up phase after a restart, ``restart_guard_s`` long: the
    controller runs its start-up inputs while its estimator catches up with
    the film that stood in the dryer.
``handback``
    The one interval after the start-up phase: the MPC re-initialises its
    solver (and estimator, if it restarts it) and plans at once. The
    hand-back window (``Decision.handback_window``) opens here and lasts
    ``handback_ramp_s``.

Transitions and the events that trigger them
--------------------------------------------
=====================  ===============================  =========================================
from                   event                            to
=====================  ===============================  =========================================
running, handback,     the line stops                   ``stopped`` (``Decision.stopped_now``)
startup
stopped                the line runs again (restart)    ``startup`` (``Decision.restarted``);
                                                        ``handback`` at once if
                                                        ``restart_guard_s`` is 0
startup                ``restart_guard_s`` after the    ``handback``
                       restart
handback               the next interval                ``running``
=====================  ===============================  =========================================

A run starts ``running`` (or ``stopped`` if the line stands); there is no
start-up phase without a stop, but the hand-back window opens at the first
interval: the MPC takes over a line that runs on its recipe, and moves it to
its own operating point as slowly as after a restart (an analyser that reads
low or an exhaust fan that delivers less than the model thinks is then met
by a slow move, not a fast one). A stop during the start-up phase starts it
again from the next restart.

The LEL limit to plan for and analyser health
---------------------------------------------
Analyser health (every ``*_lel_frac`` sensor healthy) is followed in
``handback`` and ``running``, where the MPC plans; a change sets
``Decision.health_changed`` (the MPC solves at once instead of waiting for
its next step). With a failed analyser the limit to plan for is at once
the lower of the limit in force and the specification's limit without an
analyser (NFPA 86: 25 %): the harness lowers the limit in force only after
the purge allowance, and the plan should not wait for it. ``failed_analyser_limit_frac``
(default 1) lowers it further while the analyser is failed: the zone is then
known only from the model.

Speed preview and fallback
--------------------------
:meth:`Supervisor.speed_preview` gives the announced speed target and the
cap over a horizon (ramps followed, the cap never above the target: the
plan's target is what it asks for). After a failed solve,
:class:`PlanMemory` gives the previous plan's next move, and
:func:`fallback_move` reaches it (or, without one, the steady target's
inputs) within the move limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.interfaces import Observation
from mpc.scenario import AnnouncedSchedule, SupervisorSettings

__all__ = ["MODES", "Decision", "PlanMemory", "Supervisor", "fallback_move"]

MODES = ("stopped", "startup", "handback", "running")
"""The supervisor's modes (see the module docstring)."""


@dataclass(frozen=True)
class Decision:
    """What the supervisor says at one control interval."""

    mode: str
    """One of :data:`MODES`."""
    stopped_now: bool
    """The line stopped at this interval (the first interval of ``stopped``)."""
    restarted: bool
    """The line runs again after a stop (the first interval after ``stopped``)."""
    lel_limit_frac: float
    """The LEL limit to plan for, fraction of LEL."""
    analysers_healthy: bool
    """Every LEL analyser healthy, as last seen in ``handback`` or ``running``."""
    health_changed: bool
    """Analyser health changed at this interval (the MPC should solve now)."""
    handback_window: bool
    """Within ``handback_ramp_s`` of the hand-back."""


class Supervisor:
    """The mode state machine of an MPC (see the module docstring).

    Parameters
    ----------
    settings : SupervisorSettings
        Start-up phase and hand-back window.
    schedule : AnnouncedSchedule
        The announced production schedule (for :meth:`speed_preview`).
    lel_limit_without_analyser_frac : float
        The specification's LEL limit without a continuous analyser (``Spec.lel_limit_frac``).
    """

    def __init__(self, settings: SupervisorSettings, schedule: AnnouncedSchedule,
                 lel_limit_without_analyser_frac: float) -> None:
        self.settings = settings
        self.schedule = schedule
        self.lel_limit_without_analyser_frac = float(lel_limit_without_analyser_frac)
        self.mode = "running"
        self.guard_until_s = -np.inf
        self.handback_until_s = -np.inf
        self.analysers_healthy = True
        self._first = True

    def update(self, obs: Observation) -> Decision:
        """The mode and what goes with it at ``obs.t_s``; call once per control interval, in time order."""
        t = obs.t_s
        if self._first:  # taking over from the recipe: the hand-back window opens at once
            self._first = False
            if not obs.line_stopped:
                self.handback_until_s = t + self.settings.handback_ramp_s
        before = self.mode
        stopped_now = restarted = health_changed = False
        if obs.line_stopped:
            stopped_now = before != "stopped"
            self.mode = "stopped"
        else:
            if before == "stopped":
                restarted = True
                self.guard_until_s = t + self.settings.restart_guard_s
                self.mode = "startup"
            if self.mode == "startup" and t >= self.guard_until_s:
                self.mode = "handback"
                self.handback_until_s = t + self.settings.handback_ramp_s
            elif self.mode == "handback" and not restarted:
                self.mode = "running"
            if self.mode in ("handback", "running"):
                healthy = all(v for n, v in obs.healthy.items() if n.endswith("_lel_frac"))
                health_changed = healthy != self.analysers_healthy
                self.analysers_healthy = healthy
        limit = obs.lel_limit_frac
        if not self.analysers_healthy:
            limit = min(limit, self.lel_limit_without_analyser_frac) * self.settings.failed_analyser_limit_frac
        return Decision(mode=self.mode, stopped_now=stopped_now, restarted=restarted, lel_limit_frac=limit,
                        analysers_healthy=self.analysers_healthy, health_changed=health_changed,
                        handback_window=t < self.handback_until_s)

    def speed_preview(self, t_s: float, speed_cap_now_m_s: float, step_s: float,
                      n: int) -> tuple[np.ndarray, np.ndarray]:
        """The announced speed targets and caps at ``t_s + j * step_s``, ``j = 0..n``, m/s.

        Each cap is the lowest of the schedule's cap then, the cap in force now
        (``speed_cap_now_m_s``) and the target then: no stage runs above what the plan asks for.
        """
        times = t_s + step_s * np.arange(n + 1)
        targets = np.array([self.schedule.target_m_s(float(tj)) for tj in times])
        caps = np.array([min(self.schedule.cap_m_s(float(tj)), speed_cap_now_m_s, targets[j])
                         for j, tj in enumerate(times)])
        return targets, caps


class PlanMemory:
    """The last good plan's moves; after a failed solve, its next move (each at most once)."""

    def __init__(self) -> None:
        self.moves: np.ndarray | None = None
        self.k = 0

    def store(self, moves: np.ndarray) -> None:
        """A new good plan; its first move is the one applied now."""
        self.moves, self.k = moves, 0

    def clear(self) -> None:
        """Forget the plan (a stop, the start-up phase)."""
        self.moves = None

    def next_move(self) -> np.ndarray | None:
        """The plan's next move, or None when there is no plan or it is used up (then it is forgotten)."""
        if self.moves is not None and self.k + 1 < len(self.moves):
            self.k += 1
            return self.moves[self.k]
        self.moves = None
        return None


def fallback_move(planned: np.ndarray | None, target: np.ndarray, u_prev: np.ndarray, lower: np.ndarray,
                  upper: np.ndarray, rate_up: np.ndarray, rate_down: np.ndarray, speed_index: int,
                  speed_cap: float) -> np.ndarray:
    """The move after a failed solve: ``planned`` (the previous plan's next move) or else ``target``.

    It is clipped to the input bounds, to the move limits from ``u_prev``
    (``rate_up`` up, ``rate_down`` down) and the speed to ``speed_cap``.
    Where a bound and a move limit cannot both hold, the upper bound wins
    (a cap or a limit is never exceeded; a rise to a raised lower bound waits
    for the move limit). All arrays are in the MPC's own (scaled) units.
    """
    lo = np.maximum(lower, u_prev - rate_down)
    hi = np.minimum(upper, u_prev + rate_up)
    hi[speed_index] = min(hi[speed_index], speed_cap)
    cand = target if planned is None else planned
    return np.clip(cand, np.minimum(lo, hi), hi)
