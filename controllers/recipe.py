"""The fixed recipe: what a line runs without calmline.

Set points at the nominal steady-state operating point with the margins the
scenario states (zone air temperatures, nozzle velocities, exhaust flows),
line speed at the plan's target (never above its cap), pump flow at a fixed
ratio to line speed for the target coat weight at the slurry's nominal
solids (pump speed following line speed is standard on coaters), and the
zone air temperatures held by the line's own local PI loops. Optional
periodic manual correction of the pump ratio from a lab-style coat-weight
check (``[controllers.recipe]``: ``manual_check_interval_s``, 0 = off, and
``lab_delay_s``; :class:`mpc.scenario.RecipeSettings`).
"""

from __future__ import annotations

import numpy as np

from controllers._common import ZoneTemperatureLoops, recipe_point
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import RecipeSettings
from plants.line import LineLayout

__all__ = ["RecipeController"]


class RecipeController(Controller):
    """Open-loop recipe with local zone-temperature loops and optional manual pump correction."""

    name = "recipe"

    def __init__(self, settings: RecipeSettings | None = None) -> None:
        self.base_settings = settings or RecipeSettings()
        """The settings given here; a scenario's ``[controllers.recipe]`` table changes them at :meth:`reset`."""

    def reset(self, ctx: ControllerContext) -> None:
        self.settings = s = RecipeSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]",
                                                        source=ctx.source, base=self.base_settings)
        p = ctx.model_params
        self.L = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        self.rp = recipe_point(ctx)
        self.temps = ZoneTemperatureLoops(ctx, self.rp, np.asarray(ctx.recipe.air_temp_K))
        self.ratio = self.rp.pump_per_speed
        self.target = ctx.spec.coat_weight_target_kg_m2
        self.check_every = s.manual_check_interval_s
        self.lab_delay = s.lab_delay_s
        self.pending: list[tuple[float, float]] = []
        self.next_check = self.check_every if self.check_every > 0 else np.inf
        self.ctx = ctx

    def step(self, obs: Observation) -> Command:
        L = self.L
        u = np.empty(L.n_inputs)
        speed = 0.0 if obs.line_stopped else min(obs.speed_target_m_s, obs.speed_cap_m_s)
        # lab check: sample now, correct when the result comes back
        if obs.t_s >= self.next_check:
            cw = obs.measurements.get("coat_weight_kg_m2", np.nan)
            if np.isfinite(cw) and cw > 0 and not obs.line_stopped:
                self.pending.append((obs.t_s + self.lab_delay, cw))
            self.next_check += self.check_every
        while self.pending and obs.t_s >= self.pending[0][0]:
            _, cw = self.pending.pop(0)
            self.ratio *= self.target / cw
        u[L.u_speed] = speed
        u[L.u_pump] = self.ratio * speed
        u[L.u_nozzle] = self.ctx.recipe.nozzle_velocity_m_s
        u[L.u_heater] = self.temps.update(obs)
        u[L.u_exhaust] = self.ctx.recipe.exhaust_m3_s
        return Command(u=u)
