"""Pieces the controllers share: the recipe's steady state, PLC set points and the supervisory PI loops.

* :func:`recipe_point`: the recipe's steady state on the controller's model;
* :func:`plc_loop`, :func:`setpoints_from_inputs`: the PLC's loops and set points
  (the zone air-temperature loops are the PLC's own, :mod:`plants.plc`);
* :class:`CoatWeightLoop`: the pump-to-speed ratio on the scanning gauge's coat weight;
* :class:`ExhaustLoops`: each zone's exhaust on its LEL fraction (NMP) or exhaust humidity (water);
* :class:`ResidualTrim`: the exhaust loops' set points trimmed down on the exit residual-solvent gauge;
* :class:`RestartHold`: the exhausts held at least at the recipe's while the line stands and restarts.

Every loop is a :class:`plants.plc.PI` tuned by SIMC from a step test on a model
(:mod:`plants.tuning`); :func:`tuning_rows` lists them, and the PLC's temperature loops, for the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.interfaces import ControllerContext, Observation
from plants.line import LineModel
from plants.params import LineParams
from plants.plc import PI, LoopSpec, recipe_steady_state
from plants.steady import OperatingPoint, SteadyState
from plants.tuning import Fopdt, simc_pi, step_test

__all__ = [
    "CoatWeightLoop",
    "ExhaustLoops",
    "RecipePoint",
    "ResidualTrim",
    "RestartHold",
    "lel_limit_in_force",
    "plc_loop",
    "recipe_point",
    "setpoints_from_inputs",
    "tuning_rows",
    "zone_level_names",
]


@dataclass(frozen=True)
class RecipePoint:
    """The recipe's steady state on the controller's (nominal) model."""

    ss: SteadyState
    pump_per_speed: float  # m3/s of pump flow per m/s of line speed at the target coat weight
    heater_W: np.ndarray


def recipe_point(ctx: ControllerContext) -> RecipePoint:
    """Steady state of the controller's model at the recipe (nominal disturbances)."""
    ss = recipe_steady_state(ctx.model_params, ctx.recipe)
    L = LineModel(ctx.model_params).layout
    return RecipePoint(
        ss=ss,
        pump_per_speed=float(ss.u[L.u_pump] / ss.u[L.u_speed]),
        heater_W=np.asarray(ss.u[L.u_heater], float).copy(),
    )


def lel_limit_in_force(ctx: ControllerContext) -> float:
    """The LEL limit in force with healthy analysers: twice ``spec.lel_limit_frac`` where the line has LEL analysers
    and the specification allows 50 % with them (NFPA 86), else ``spec.lel_limit_frac``."""
    return ctx.spec.lel_limit_in_force(any(n.endswith("_lel_frac") for n in ctx.measurement_names))


def zone_level_names(params: LineParams) -> list[str]:
    """Each zone's vapour level the exhaust acts on: ``zone{i}_lel_frac`` (flammable solvent) or its humidity ratio."""
    what = "lel_frac" if params.solvent.lel_vol_frac > 0 else "humidity_ratio_kg_kg"
    return [f"zone{i}_{what}" for i in range(1, params.dryer.n_zones + 1)]


def plc_loop(ctx: ControllerContext, name: str) -> LoopSpec:
    """The PLC's loop ``name`` (its set-point range, rates, recipe value and tuning)."""
    for lp in ctx.plc_loops:
        if lp.name == name:
            return lp
    raise KeyError(f"the line's PLC has no loop {name!r}")


def setpoints_from_inputs(ctx: ControllerContext, u: np.ndarray, *, heater_manual: bool = False,
                          ratio_speed_m_s: float | None = None) -> dict[str, float]:
    """PLC set points for a plan made in plant inputs ``u`` (ordered as ``ctx.input_names``).

    Line speed, fan speeds and exhausts are the plan's values; the pump ratio is the plan's pump flow
    over its speed, or over ``ratio_speed_m_s`` where given (not written while that speed stands the
    line); with ``heater_manual`` each zone's heater power is written as its air-temperature loop's
    manual output (else the loop is not written).
    """
    out: dict[str, float] = {}
    idx = {n: i for i, n in enumerate(ctx.input_names)}
    speed = float(u[idx["speed_m_s"]]) if ratio_speed_m_s is None else float(ratio_speed_m_s)
    for lp in ctx.plc_loops:
        v = float(u[idx[lp.output]])
        if lp.kind == "direct":
            out[lp.setpoint_key] = v
        elif lp.kind == "ratio":
            if speed > 1e-6:
                out[lp.setpoint_key] = v / speed
        elif heater_manual:
            out[str(lp.output_key)] = v
    return out


class CoatWeightLoop:
    """PI on the relative pump-to-speed ratio from the scanning gauge, with speed-ratio feedforward.

    Pre-metered coating: gain 1 from the ratio to the coat weight; the pump's lag is the time
    constant and the die-to-gauge transport delay at the recipe's speed plus half a scan the dead
    time (SIMC with ``tau_c = theta``). The integral acts only on new gauge readings, while the
    line runs, and not on the web that was between die and gauge when the line started nor the first
    ``restart_skip_m`` coated after it (the loop holds until that web has passed the gauge); the ratio
    stays within 0.8-1.2 of the feedforward.
    """

    def __init__(self, ctx: ControllerContext, pump_per_speed: float, gauge_scan_s: float,
                 restart_skip_m: float = 60.0) -> None:
        p = ctx.model_params
        self.dt_s = ctx.dt_s
        self.skip_m = p.coater.coater_to_gauge_m + restart_skip_m
        self.position_m = 0.0  # web run since t = 0
        self.hold_until_m = 0.0
        self.was_running = True
        self.pump_per_speed = pump_per_speed
        self.target = ctx.spec.coat_weight_target_kg_m2
        self.scan_s = gauge_scan_s
        self.model = Fopdt(gain=1.0, tau_s=p.coater.pump_time_constant_s,
                           theta_s=p.coater.coater_to_gauge_m / ctx.recipe.speed_m_s + gauge_scan_s / 2)
        kc, ti = simc_pi(self.model, tau_c_s=self.model.theta_s)
        self.loop = PI(kc=kc, tau_i_s=ti, lower=0.8, upper=1.2, bias=1.0)
        self.last_t: float | None = None

    def ratio(self, obs: Observation) -> float:
        """The pump-to-speed ratio for this interval (the PLC ratio station's set point), m3/m."""
        cw = obs.measurements.get("coat_weight_kg_m2", np.nan)
        speed = float(obs.applied[0])  # the plant's first input is the line speed
        running = speed > 0.0 and not obs.line_stopped
        if running and not self.was_running:  # a start: hold until the web coated since has reached the gauge
            self.hold_until_m = self.position_m + self.skip_m
            self.last_t = None  # the first reading after it integrates over one scan, not over the stop and hold
        self.was_running = running
        self.position_m += max(speed, 0.0) * self.dt_s
        if (obs.fresh.get("coat_weight_kg_m2", False) and np.isfinite(cw) and running
                and self.position_m >= self.hold_until_m):
            dt = self.scan_s if self.last_t is None else obs.t_s - self.last_t
            self.last_t = obs.t_s
            ratio = self.loop.update((self.target - cw) / self.target, dt)
        else:
            ratio = self.loop.hold(0.0)
        return self.pump_per_speed * ratio


class ExhaustLoops:
    """One PI per zone: exhaust on the zone's LEL fraction (flammable solvent) or exhaust humidity ratio (water).

    Tuned by SIMC from a +10 % exhaust step on ``params`` at ``op``, with the analyser's (or
    humidity sensor's) delay added as dead time. A zone whose sensor has failed (unhealthy or
    no finite reading) holds its output, but at least its ``floor_m3_s``.

    Parameters
    ----------
    ctx : ControllerContext
        The exhaust actuators' range and the control interval.
    params : LineParams
        The model the step tests run on.
    op : OperatingPoint
        Where they run.
    bias_m3_s : array
        Each loop's output at zero error and integral (the feedforward).
    sensor_delay_s : float
        Dead time added for the sensor, s.
    """

    def __init__(self, ctx: ControllerContext, params: LineParams, op: OperatingPoint, bias_m3_s: np.ndarray,
                 sensor_delay_s: float) -> None:
        L = LineModel(params).layout
        self.names = zone_level_names(params)
        self.flammable = params.solvent.lel_vol_frac > 0
        lo = ctx.input_lower[L.u_exhaust]
        hi = ctx.input_upper[L.u_exhaust]
        self.lower_m3_s = np.asarray(lo, float).copy()
        """The actuators' lower limits (a loop's own lower limit may be raised above it)."""
        self.models: list[Fopdt] = []
        self.loops: list[PI] = []
        for i, name in enumerate(self.names):
            m = step_test(params, op, f"zone{i + 1}_exhaust_flow_m3_s", name, 0.1)
            kc, ti = simc_pi(m, extra_dead_time_s=sensor_delay_s)
            self.models.append(m)
            self.loops.append(PI(kc=kc, tau_i_s=ti, lower=float(lo[i]), upper=float(hi[i]), bias=float(bias_m3_s[i])))
        self.dt_s = ctx.dt_s

    def update(self, obs: Observation, setpoints: np.ndarray, floor_m3_s: np.ndarray,
               bias_m3_s: np.ndarray | None = None, lower_m3_s: np.ndarray | None = None) -> np.ndarray:
        """Exhausts for this interval: each zone's loop on its set point, or its held output for a failed sensor.

        ``floor_m3_s``: a failed sensor's zone's least exhaust; ``bias_m3_s`` replaces the feedforward;
        ``lower_m3_s`` raises each loop's lower limit above the actuator's (never above its upper).
        """
        out = np.empty(len(self.loops))
        for i, (name, loop) in enumerate(zip(self.names, self.loops, strict=True)):
            bias = None if bias_m3_s is None else float(bias_m3_s[i])
            if lower_m3_s is not None:
                loop.lower = min(max(float(lower_m3_s[i]), float(self.lower_m3_s[i])), loop.upper)
            y = obs.measurements.get(name, np.nan)
            if obs.healthy.get(name, True) and np.isfinite(y):
                out[i] = loop.update(float(setpoints[i]) - y, self.dt_s, bias=bias)
            else:
                out[i] = max(loop.hold(0.0, bias=bias), float(floor_m3_s[i]))
        return out


def tuning_rows(ctx: ControllerContext, cw: CoatWeightLoop, exhaust: ExhaustLoops) -> list[dict[str, float | str]]:
    """The loops' FOPDT models and SIMC settings, one row a loop (for the docs), the PLC's temperature loops first."""
    rows: list[dict[str, float | str]] = []

    def row(what: str, m: Fopdt, loop: PI | LoopSpec) -> None:
        rows.append({"loop": what, "k": m.gain, "tau_s": m.tau_s, "theta_s": m.theta_s, "kc": loop.kc,
                     "tau_i_s": loop.tau_i_s})

    for lp in ctx.plc_loops:
        if lp.kind == "pi":  # the PLC's loop, tuned on the same step test (plants.plc)
            m = step_test(ctx.model_params, ctx.recipe, lp.output, lp.measurement, 0.1)
            row(f"{lp.name.split('_')[0]} air temperature <- heater (PLC)", m, lp)
    row("coat weight <- pump ratio", cw.model, cw.loop)
    what = "LEL" if exhaust.flammable else "humidity"
    for i, (m, loop) in enumerate(zip(exhaust.models, exhaust.loops, strict=True), 1):
        row(f"zone{i} {what} <- exhaust", m, loop)
    return rows


class ResidualTrim:
    """Integral trim of the exhaust loops' set points on the exit residual-solvent gauge.

    The exhaust loops hold each zone's LEL fraction (or exhaust humidity) at a set point; a wetter
    zone air leaves more solvent in the film (the equilibrium content rises with the zone's
    relative saturation, ``docs/theory.md``). The trim moves every zone's set point between the
    basis (factor ``s = 1``) and the level the recipe runs that zone at (``s = 0``):
    ``sp = recipe + s (basis - recipe)``. ``s`` starts at 0 (the line starts as the recipe
    dries), rises towards 1 while the residual is below its set point and falls when the film
    leaves the dryer too wet; at 0 the line dries as the recipe does (opening exhausts further
    would cool zones whose heaters are at their limit). Integral
    control, the rule for a loop much slower than its process (Skogestad 2003, section 4.3):
    ``ds/dt = -(r - r_sp) / (K tau_c)`` with ``K`` the steady-state gain of the residual on ``s``
    and ``tau_c`` the closed-loop time constant; ``s`` is clamped to [0, 1] (no wind-up) and held
    while the line is stopped or the gauge has no finite reading.

    Parameters
    ----------
    gain_kg_kg : float
        ``K``, exit residual at the basis minus at the recipe's levels, kg/kg; at or below 1e-6
        (the basis dries as well as the recipe) the trim is off.
    setpoint_kg_kg : float
        The residual the trim holds the film at (or below), kg/kg.
    time_constant_s : float
        ``tau_c``, s; 0 switches the trim off (``s`` is 1: the set points stay at the basis).
    """

    MEASUREMENT = "exit_residual_kg_kg"

    def __init__(self, gain_kg_kg: float, setpoint_kg_kg: float, time_constant_s: float) -> None:
        self.gain_kg_kg = float(gain_kg_kg)
        self.setpoint_kg_kg = float(setpoint_kg_kg)
        self.time_constant_s = float(time_constant_s)
        self.active = self.time_constant_s > 0.0 and self.gain_kg_kg > 1e-6
        self.factor = 0.0 if self.active else 1.0
        self.last_t: float | None = None

    def update(self, obs: Observation) -> float:
        """The set-point factor ``s`` for this interval."""
        dt = 0.0 if self.last_t is None else obs.t_s - self.last_t
        self.last_t = obs.t_s
        r = obs.measurements.get(self.MEASUREMENT, np.nan)
        if self.active and not obs.line_stopped and np.isfinite(r) and dt > 0.0:
            ki = 1.0 / (self.gain_kg_kg * self.time_constant_s)
            self.factor = min(max(self.factor - ki * (float(r) - self.setpoint_kg_kg) * dt, 0.0), 1.0)
        return self.factor


class RestartHold:
    """Whether the exhausts are held at least at the recipe's: while the line stands and for ``hold_s`` after it restarts.

    While the line stands no solvent enters the dryer, the LEL falls and the exhaust loops would close
    to their minimum; at the restart the wet film then meets closed exhausts and the LEL overshoots
    its limit. A line's restart procedure runs the exhausts at the recipe's until the first wet film
    has passed the dryer; the loops then take over from there (their integral continues from the
    held output, bumplessly). A run that starts with the line moving is not a restart.

    Parameters
    ----------
    hold_s : float
        How long after the restart the hold lasts, s (0: only while the line stands).
    """

    def __init__(self, hold_s: float) -> None:
        self.hold_s = float(hold_s)
        self.stopped_once = False
        self.restart_t: float | None = None

    def update(self, obs: Observation) -> bool:
        """True while the exhausts are to be held at least at the recipe's."""
        if obs.line_stopped:
            self.stopped_once = True
            self.restart_t = None
            return True
        if self.stopped_once and self.restart_t is None:
            self.restart_t = obs.t_s
        return self.restart_t is not None and obs.t_s - self.restart_t < self.hold_s
