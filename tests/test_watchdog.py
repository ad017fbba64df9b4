"""The edge core's step-time watchdog (:class:`mpc.edge.StepWatchdog`) on a fake clock."""

from __future__ import annotations

import math

import pytest

from mpc.edge import StepWatchdog


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_ocp_deadline_is_its_share_of_the_budget_and_overruns_are_counted() -> None:
    clock = _Clock()
    wd = StepWatchdog(0.5, ocp_share=0.8, clock=clock)
    assert wd.begin() == pytest.approx(100.4)
    clock.t += 0.3
    assert wd.end() is False and wd.last_s == pytest.approx(0.3)
    wd.begin()
    clock.t += 0.7
    assert wd.end() is True
    wd.begin()
    clock.t += 0.5  # exactly the budget is not an overrun
    assert wd.end() is False
    assert (wd.steps, wd.overruns) == (3, 1) and wd.longest_s == pytest.approx(0.7)


@pytest.mark.parametrize(("budget", "share", "match"), [
    (0.0, 0.9, "step budget 0.0 s"), (-1.0, 0.9, "step budget"), (math.inf, 0.9, "finite"),
    (math.nan, 0.9, "step budget"), (0.5, 0.0, "ocp_share 0.0"), (0.5, 1.5, "ocp_share 1.5")])
def test_a_budget_or_share_out_of_range_is_refused(budget: float, share: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StepWatchdog(budget, ocp_share=share)


def test_end_without_begin_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="without begin"):
        StepWatchdog(1.0).end()
