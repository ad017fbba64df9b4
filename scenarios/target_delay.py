"""The NMPC's edge core with its economic target answered late: what a supervisory layer apart costs in closed loop.

On a line the supervisory layer (``calmline edge target``) answers the edge core's target requests some time after
they are made. This runs an NMPC artifact's edge core (``--controller edge:DIR``) on a scenario with the target's
layer in the same process but each answer released ``delay`` simulated seconds after its request
(:class:`DelayedTargets`, a :class:`mpc.edge.TargetSource`), for each delay given, and prints the closed loop's KPIs
(energy per good m2, coat-weight Cpk, time above the LEL limit, scrap, failures, fallbacks, solves) and the solves
that tracked the recipe's steady state for want of a fresh target. A delay of 0 is the in-process run.

    python scenarios/target_delay.py scenarios/nmc_nmp_analyser_failure.toml runs/edge_analyser --delays 0 10 30
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["DelayedTargets", "delayed_runs"]


class DelayedTargets:
    """The in-process layer's answers, each released ``delay_s`` simulated seconds after its request."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = float(delay_s)
        self.now = 0.0
        self.layer: Any = None
        self._queue: list[tuple[float, Any]] = []
        self._last: Any = None

    def request(self, req: Any) -> None:
        self._queue.append((req.t_s + self.delay_s, self.layer.answer(req)))

    def latest(self) -> Any:
        while self._queue and self._queue[0][0] <= self.now + 1e-9:
            self._last = self._queue.pop(0)[1]
        return self._last


class _Clocked:
    """The edge core, telling its delayed layer the time of every step (and building the layer at reset)."""

    def __init__(self, inner: Any, source: DelayedTargets) -> None:
        self.inner, self.source = inner, source
        self.name, self.settings_table = inner.name, inner.settings_table

    def reset(self, ctx: Any) -> None:
        from controllers.nmpc import SupervisoryTarget

        self.inner.reset(ctx)
        self.source.layer = SupervisoryTarget.on_context(ctx, self.inner.settings)

    def step(self, obs: Any) -> Any:
        self.source.now = obs.t_s
        return self.inner.step(obs)


def delayed_runs(scenario: str, artifact: str, delays: list[float],
                 duration_s: float | None = None) -> dict[str, dict[str, Any]]:
    """The closed loop's KPIs of the artifact's edge core on ``scenario`` for each answer delay, s."""
    from controllers.nmpc import EdgeNmpcController
    from mpc.runner import _prepare, run_setup

    setup = _prepare(scenario).setup
    out = {}
    for delay in delays:
        source = DelayedTargets(delay)
        ctrl = EdgeNmpcController(artifact, targets=source)
        k = run_setup(setup, _Clocked(ctrl, source), duration_s=duration_s).kpis
        out[f"{delay:g}"] = {**{key: k.get(key) for key in (
            "energy_kwh_per_m2", "coat_weight_cpk", "time_above_lel_limit_s", "scrap_m", "solver_failures",
            "fallbacks", "solves")}, "target_aged_out": ctrl.target_aged_out}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario")
    p.add_argument("artifact", help="an NMPC artifact exported on the scenario (calmline export)")
    p.add_argument("--delays", type=float, nargs="+", default=[0.0, 10.0, 30.0], help="answer delays, simulated s")
    p.add_argument("--duration", type=float, default=None, help="override the scenario's duration, s")
    a = p.parse_args()
    print(json.dumps(delayed_runs(a.scenario, a.artifact, a.delays, a.duration), indent=1))


if __name__ == "__main__":
    main()
