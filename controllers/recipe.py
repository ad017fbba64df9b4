"""The fixed recipe: what a line runs without calmline.

The line PLC in recipe mode (:mod:`plants.plc`): the recipe's set points
(zone air temperatures held by the PLC's PI loops, nozzle velocities as fan
speeds, exhaust flows), line speed at the plan's target (never above its
cap), pump flow at the recipe's ratio to line speed for the target coat
weight at the slurry's nominal solids (the PLC's ratio station: pump speed
following line speed is standard on coaters). The controller writes nothing,
unless the optional periodic manual correction of the pump ratio from a
lab-style coat-weight check is on: then the operator's corrected ratio is
written to the ratio station (``[controllers.recipe]``:
``manual_check_interval_s``, 0 = off, and ``lab_delay_s``;
:class:`mpc.scenario.RecipeSettings`).
"""

from __future__ import annotations

import numpy as np

from controllers._common import plc_loop, recipe_point
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import RecipeSettings

__all__ = ["RecipeController"]


class RecipeController(Controller):
    """The PLC in recipe mode, with optional manual correction of the pump ratio."""

    name = "recipe"

    def __init__(self, settings: RecipeSettings | None = None) -> None:
        self.base_settings = settings or RecipeSettings()
        """The settings given here; a scenario's ``[controllers.recipe]`` table changes them at :meth:`reset`."""

    def reset(self, ctx: ControllerContext) -> None:
        self.settings = s = RecipeSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]",
                                                        source=ctx.source, base=self.base_settings)
        self.rp = recipe_point(ctx)
        self.ratio_loop = plc_loop(ctx, "pump_ratio")
        self.ratio = self.rp.pump_per_speed
        self.target = ctx.spec.coat_weight_target_kg_m2
        self.check_every = s.manual_check_interval_s
        self.lab_delay = s.lab_delay_s
        self.pending: list[tuple[float, float]] = []
        self.next_check = self.check_every if self.check_every > 0 else np.inf
        self.ctx = ctx

    def step(self, obs: Observation) -> Command:
        if self.check_every <= 0:
            return Command()
        # lab check: sample now, correct when the result comes back
        if obs.t_s >= self.next_check:
            cw = obs.measurements.get("coat_weight_kg_m2", np.nan)
            if np.isfinite(cw) and cw > 0 and not obs.line_stopped:
                self.pending.append((obs.t_s + self.lab_delay, cw))
            self.next_check += self.check_every
        while self.pending and obs.t_s >= self.pending[0][0]:
            _, cw = self.pending.pop(0)
            self.ratio *= self.target / cw
        return Command(setpoints={self.ratio_loop.setpoint_key: self.ratio})
