"""Step tests on the line: design a GBN schedule within the line's limits, and run it.

:func:`design_steptest` excites the chosen plant inputs or air-temperature
set points around the recipe's steady state (generalised binary noise,
:func:`mpc.sysid.gbn_schedule`) and shrinks the amplitudes until the worst
corner of the design (every input at the level that raises solvent load and
lowers dilution) keeps, on the controller's model at steady state, every zone
under 80 % of the LEL limit in force with healthy analysers, the exit residual
under its USL, the film under its maximum, the coat weight inside its
specification and (set points) the heaters under 95 % of theirs. The schedule
is a CSV a plant can run; :class:`StepTestController` runs the same schedule
on the simulated line through the harness and its PLC (:mod:`plants.plc`): an
excited line speed, fan or exhaust is written as its loop's set point, an
excited pump flow as the ratio station's set point (the flow over the row's
line speed), an excited air-temperature set point to its loop in remote mode,
an excited heater power as its temperature loop's output in manual mode (as
a step test on a real line is run); every loop not excited stays in the PLC's
recipe mode.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from controllers._common import recipe_point
from mpc.errors import CalmlineError
from mpc.interfaces import Command, Controller, ControllerContext, Observation
from mpc.scenario import ScenarioSetup, SettingsError
from mpc.sysid._design import GbnChannel, gbn_schedule
from plants.line import LineLayout, LineModel
from plants.steady import SteadyState, steady_state

__all__ = ["StepTestController", "design_steptest"]

_AIR_SP = "_air_temp_setpoint_K"
HEATER_FLOOR_FRAC = 0.01
"""Lowest heater power a step test asks of a temperature loop, fraction of the heater's maximum."""
# sign of each input's effect on the solvent load per volume of exhaust air (the LEL)
_RAISES_LEL = {"speed_m_s": 1.0, "pump_flow_cmd_m3_s": 1.0}


def _worst_sign(name: str) -> float:
    if name in _RAISES_LEL:
        return _RAISES_LEL[name]
    if name.endswith("_exhaust_flow_m3_s"):
        return -1.0
    return 1.0  # hotter air and faster nozzles evaporate faster


def _setpoint_zone(name: str) -> int | None:
    """The zone index (0-based) of an air-temperature set point name, else None."""
    if name.startswith("zone") and name.endswith(_AIR_SP):
        return int(name[4 : -len(_AIR_SP)]) - 1
    return None


def _heaters_at(setup: ScenarioSetup, model: LineModel, u: np.ndarray, air_K: np.ndarray) -> np.ndarray:
    """The heater powers that hold ``air_K`` at the inputs ``u`` (speed, nozzles, exhausts): the temperature
    loops' outputs at steady state."""
    L = model.layout
    op = dataclasses.replace(setup.recipe, speed_m_s=float(u[L.u_speed]), air_temp_K=tuple(map(float, air_K)),
                             nozzle_velocity_m_s=tuple(map(float, u[L.u_nozzle])),
                             exhaust_m3_s=tuple(map(float, u[L.u_exhaust])))
    return steady_state(model, op).u[L.u_heater]


def _room_below_K(setup: ScenarioSetup, model: LineModel, ss0: SteadyState, zones: list[int]) -> np.ndarray:
    """How far below the recipe each zone's set point may step with its heater still above
    ``HEATER_FLOOR_FRAC`` of its maximum (the loop must not saturate at zero heat, or the test is not of the
    loop); 0 where the recipe's heater is at the floor already: that set point is stepped upward only."""
    L = model.layout
    hmax = setup.model_params.dryer.heater_max_W
    room = np.full(L.n_zones, np.inf)
    air = np.asarray(ss0.x[L.air_temp], float)
    for z in zones:
        up = air.copy()
        up[z] += 1.0
        gain = float(_heaters_at(setup, model, ss0.u, up)[z] - ss0.u[L.u_heater][z])  # W per K
        spare = float(ss0.u[L.u_heater][z]) - HEATER_FLOOR_FRAC * hmax
        room[z] = max(spare, 0.0) / gain if gain > 0.0 else np.inf
    return room


def _corner_ok(setup: ScenarioSetup, model: LineModel, ss0: SteadyState, chans: list[GbnChannel],
               follow: bool = False) -> tuple[bool, list[str]]:
    L = model.layout
    spec = setup.scenario.spec
    u = ss0.u.copy()
    idx = {n: i for i, n in enumerate(L.input_names())}
    air = np.asarray(ss0.x[L.air_temp], float).copy()
    for ch in chans:
        level = float(np.clip(ch.center + _worst_sign(ch.name) * ch.amplitude, ch.lower, ch.upper))
        z = _setpoint_zone(ch.name)
        if z is None:
            u[idx[ch.name]] = level
        else:
            air[z] = level
    heater_checks: list[tuple[bool, str]] = []
    if any(_setpoint_zone(ch.name) is not None for ch in chans):  # the loops hold their set points: the heaters
        hmax = setup.model_params.dryer.heater_max_W                 # give what that takes
        u[L.u_heater] = hot = _heaters_at(setup, model, u, air)
        heater_checks = [(float(hot.max()) <= 0.95 * hmax, f"heater {hot.max() / hmax * 100:.0f} % of its maximum")]
    amp = {ch.name: ch.amplitude / abs(ch.center) for ch in chans}
    a_q, a_v = amp.get("pump_flow_cmd_m3_s", 0.0), amp.get("speed_m_s", 0.0)
    if follow:  # the pump follows the speed at the recipe ratio, times its own trim
        i_q = idx["pump_flow_cmd_m3_s"]
        u[i_q] = ss0.u[i_q] * (1 + a_v) * (1 + a_q)
    # settle the model at the corner by integrating the ODE (heater powers held)
    from plants.simulate import AdaptiveStepper

    step = AdaptiveStepper(model, 10.0, ss0.x, u, ss0.d)
    x = ss0.x.copy()
    for _ in range(90):
        x = np.asarray(step(x, u, ss0.d)).ravel()
    _, g = model.casadi_functions()
    y = dict(zip(model.output_names(), np.asarray(g(x, u, ss0.d)).ravel(), strict=True))
    lel = max(y[f"zone{i}_lel_frac"] for i in range(1, L.n_zones + 1))
    cw = y["coat_weight_die_kg_m2"] / spec.coat_weight_target_kg_m2 - 1.0
    # analysers are on during a step test: the limit in force is 50 % where the scenario allows it
    limit = spec.lel_limit_frac * (2.0 if spec.analyser_allows_50pct else 1.0)
    checks = [
        *heater_checks,
        (lel <= 0.8 * limit, f"LEL {lel:.3f}"),
        (y["exit_residual_kg_kg"] <= spec.residual_usl_kg_kg, f"residual {y['exit_residual_kg_kg']:.4f}"),
        (y["max_film_temp_K"] <= spec.film_temp_max_K, f"film {y['max_film_temp_K']:.1f} K"),
        (abs(cw) <= spec.coat_weight_tolerance_frac, f"coat weight {cw * 100:+.2f} %"),
    ]
    # the quality corner: the pre-metered coat weight goes as pump flow / speed (only the trim when it follows)
    if follow:
        cw_dev = a_q
    else:
        cw_dev = max((1 + a_q) / (1 - a_v) - 1.0, 1.0 - (1 - a_q) / (1 + a_v))
    checks.append((cw_dev <= spec.coat_weight_tolerance_frac, f"coat weight corner {cw_dev * 100:.2f} %"))
    bad = [msg for ok, msg in checks if not ok]
    return not bad, bad


def design_steptest(setup: ScenarioSetup, inputs: list[str], *, duration_s: float, min_switch_s: float,
                    amplitude_rel: float, seed: int = 0,
                    pump_follows_speed: bool = False) -> tuple[pd.DataFrame, dict[str, float]]:
    """A GBN schedule on ``inputs`` that keeps the line within its limits.

    ``inputs`` are plant input names or air-temperature set points (``zone{i}_air_temp_setpoint_K``).
    A plant input's amplitude is ``amplitude_rel`` times its recipe value; a set point's is ``amplitude_rel``
    times the zone's rise over the outdoor air, and it steps down only as far as the loop's heater stays
    above ``HEATER_FLOOR_FRAC`` of its maximum at the model's steady state.

    With ``pump_follows_speed`` (both ``speed_m_s`` and ``pump_flow_cmd_m3_s``
    excited) the pump follows the speed at the recipe's ratio and its own GBN
    channel is a trim on that ratio: the speed can then be moved as far as
    the dryer allows at constant coat weight, and only the trim is bounded by
    the coat-weight tolerance (independent speed and pump moves are both
    bounded by it, which leaves the speed too little excited to identify).

    Returns the schedule and the relative amplitude finally used per input
    (for a following pump: its trim).
    """
    L = LineLayout(setup.model_params.dryer.n_zones, setup.model_params.dryer.cells_per_zone)
    names = L.input_names()
    setpoints = [f"zone{i}{_AIR_SP}" for i in range(1, L.n_zones + 1)]
    unknown = [n for n in inputs if n not in names and n not in setpoints]
    if unknown:
        raise CalmlineError(f"unknown input(s) {', '.join(unknown)}; plant inputs are: {', '.join(names)}; "
                            f"air-temperature set points: {', '.join(setpoints)}")
    if not 0.0 < amplitude_rel <= 0.5:
        raise CalmlineError(f"amplitude_rel = {amplitude_rel!r}: expected (0, 0.5] (fraction of the recipe value)")
    model = LineModel(setup.model_params)
    ss = steady_state(model, setup.recipe)
    specs = {s.name: s for s in setup.actuator_specs}
    plc = setup.scenario.plc
    t_out = float(setup.recipe.outdoor_temp_K)
    room_below = _room_below_K(setup, model, ss, [z for n in inputs if (z := _setpoint_zone(n)) is not None])
    rel = amplitude_rel
    # the coat weight goes as pump flow / speed: their amplitudes are bounded by its tolerance first
    tol = setup.scenario.spec.coat_weight_tolerance_frac
    follow = pump_follows_speed and "speed_m_s" in inputs and "pump_flow_cmd_m3_s" in inputs
    coat = ["pump_flow_cmd_m3_s"] if follow else [n for n in inputs if n in ("speed_m_s", "pump_flow_cmd_m3_s")]
    coat_rel = 0.95 * tol / (1.0 + len(coat) + tol) if coat else np.inf
    for _ in range(8):
        chans = []
        for n in inputs:
            z = _setpoint_zone(n)
            if z is not None:  # a set point: the amplitude is a fraction of the zone's rise over the outdoor air
                c = float(ss.x[L.air_temp][z])
                chans.append(GbnChannel(n, c, max((c - t_out) * rel, 1e-6),
                                        max(plc.air_temp_setpoint_min_K, c - room_below[z]),
                                        plc.air_temp_setpoint_max_K))
                continue
            c = float(ss.u[names.index(n)])
            r = min(rel, coat_rel) if n in coat else rel
            chans.append(GbnChannel(n, c, max(abs(c) * r, 1e-12), specs[n].lower, specs[n].upper))
        ok, why = _corner_ok(setup, model, ss, chans, follow=follow)
        if ok:
            sched = gbn_schedule(chans, duration_s, setup.scenario.control_interval_s,
                                 min_switch_s=min_switch_s, seed=seed)
            if follow:
                v0 = float(ss.u[names.index("speed_m_s")])
                q = sched["pump_flow_cmd_m3_s"] * sched["speed_m_s"] / v0
                spec_q = specs["pump_flow_cmd_m3_s"]
                sched["pump_flow_cmd_m3_s"] = q.clip(spec_q.lower, spec_q.upper)
            return sched, {ch.name: ch.amplitude / (abs(ch.center) if _setpoint_zone(ch.name) is None
                                                    else ch.center - t_out) for ch in chans}
        # halve what failed: the coat-weight inputs' own bound only when the coat weight is the problem
        coat_bad = any(msg.startswith("coat weight") for msg in why)
        other_bad = any(not msg.startswith("coat weight") for msg in why)
        coat_rel = coat_rel / 2.0 if coat_bad else coat_rel
        rel = rel / 2.0 if other_bad else rel
    raise CalmlineError(f"no amplitude down to {rel * 2:.4f} keeps the line within its limits ({', '.join(why)})")


class StepTestController(Controller):
    """Plays a step-test schedule on top of the recipe (local temperature loops for the heaters)."""

    name = "steptest"

    def __init__(self, schedule: pd.DataFrame) -> None:
        if "time_s" not in schedule.columns:
            raise CalmlineError("step-test schedule has no 'time_s' column")
        self.schedule = schedule.sort_values("time_s").reset_index(drop=True)

    def reset(self, ctx: ControllerContext) -> None:
        if ctx.settings:
            raise SettingsError(f"{ctx.source}: the step-test controller takes no settings; "
                                f"given: {', '.join(ctx.settings)}")
        p = ctx.model_params
        self.L = LineLayout(p.dryer.n_zones, p.dryer.cells_per_zone)
        self.loop_of = {lp.output: lp for lp in ctx.plc_loops}
        self.setpoint_of = {lp.setpoint_key: lp for lp in ctx.plc_loops if lp.kind == "pi"}
        unknown = [c for c in self.schedule.columns
                   if c != "time_s" and c not in ctx.input_names and c not in self.setpoint_of]
        if unknown:
            raise CalmlineError(f"step-test schedule column(s) {', '.join(unknown)} are neither plant inputs nor "
                                f"air-temperature set points ({', '.join(self.setpoint_of)})")
        self.rp = recipe_point(ctx)
        self.ctx = ctx
        self.t = self.schedule["time_s"].to_numpy(float)

    def step(self, obs: Observation) -> Command:
        k = int(np.searchsorted(self.t, obs.t_s, side="right")) - 1
        if k < 0:
            return Command()
        row = self.schedule.iloc[k]
        L = self.L
        speed = float(row["speed_m_s"]) if "speed_m_s" in row.index else float(self.rp.ss.u[L.u_speed])
        out: dict[str, float] = {}
        for name in self.schedule.columns:
            if name == "time_s":
                continue
            v = float(row[name])
            if name in self.setpoint_of:  # a temperature loop's set point: the loop in remote mode
                out[name] = v
                continue
            lp = self.loop_of[name]
            if lp.kind == "pi":
                out[str(lp.output_key)] = v
            elif lp.kind == "ratio":
                out[lp.setpoint_key] = v / speed if speed > 0.0 else lp.recipe_setpoint
            else:
                out[lp.setpoint_key] = v
        return Command(setpoints=out)


