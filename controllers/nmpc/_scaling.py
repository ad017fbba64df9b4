"""The NMPC's numbers without CasADi: scaling, the PLC's temperature loops and the OCP's state and inputs.

What the NMPC's step logic (:mod:`controllers.nmpc._logic`) needs of its model every step is numeric: the recipe's
steady state, the scales, the layout of the line's states and inputs, and the conversions between the line's
state and inputs and the OCP's (with the PLC's temperature loops in the model: their integrals, thermocouples and
set points). :class:`NmpcScaling` holds them; :class:`controllers.nmpc.NmpcModel` is one (it adds the CasADi
functions of the one physics model) and :func:`scaling_from_manifest` builds another from an edge artifact's
manifest, so that the edge core runs the same logic without CasADi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plants.line import LineLayout, LineModel
from plants.params import LineParams

__all__ = ["NmpcScaling", "ScaledSteadyState", "TemperatureLoops", "bias_outputs", "scaling_from_manifest"]


@dataclass(frozen=True)
class TemperatureLoops:
    """The line PLC's zone air-temperature PI loops as the NMPC's prediction model holds them.

    Heater power ``P = ff + kc (T_sp - T_tc + I)``, ``dI/dt = (T_sp - T_tc) / tau_i``, and the
    thermocouple the loop reads ``dT_tc/dt = (T_air - T_tc) / lag_s`` per zone (``plants.plc``; the PLC
    runs it at its 1 s scan, the model in continuous time, its output limits as a smooth clamp
    (``HEATER_SMOOTHING_FRAC``) and, 1 % inside them, the OCP's soft constraints; without the
    anti-windup and the output rate limit). The OCP plans both the feedforward ``ff`` (in the heater slot, scaled as
    heater power) and the set point (an extra input per zone, scaled ``(T_sp - ref_K) / sp_scale_K``):
    the feedforward gives the plan's heat at once, the loop corrects what the model gets wrong. Its
    extra states are the integrals over ``i_scale_K`` and, with ``lag_s > 0``, the thermocouple
    readings as ``(T_tc - ref_K) / sp_scale_K``.
    """

    kc_W_K: np.ndarray
    tau_i_s: np.ndarray
    ref_K: np.ndarray
    sp_lower_K: float
    sp_upper_K: float
    sp_rate_K_s: float
    lag_s: float = 0.0
    sp_scale_K: float = 3.0
    i_scale_K: float = 1.0

    @classmethod
    def from_plc(cls, loops: Any, ref_K: Any, lag_s: float = 0.0) -> TemperatureLoops:
        """From the PLC's loop specifications (``ControllerContext.plc_loops``), in zone order, and the
        thermocouples' lag (``ControllerContext.thermocouple_lag_s``)."""
        pi = [lp for lp in loops if lp.kind == "pi"]
        return cls(kc_W_K=np.array([lp.kc for lp in pi]), tau_i_s=np.array([lp.tau_i_s for lp in pi]),
                   ref_K=np.asarray(ref_K, float).copy(),
                   sp_lower_K=float(pi[0].lower), sp_upper_K=float(pi[0].upper),
                   sp_rate_K_s=float(pi[0].setpoint_rate_per_s), lag_s=float(lag_s))

    def integral_K(self, heater_W: np.ndarray, feedforward_W: np.ndarray, setpoint_K: np.ndarray,
                   reading_K: np.ndarray) -> np.ndarray:
        """The loops' integrals from their outputs, feedforwards, set points and process values (PLC readback)."""
        return ((np.asarray(heater_W, float) - np.asarray(feedforward_W, float)) / self.kc_W_K
                - (np.asarray(setpoint_K, float) - np.asarray(reading_K, float)))


@dataclass(frozen=True)
class ScaledSteadyState:
    """A steady state's line states ``x`` and inputs ``u`` (SI), as the edge's manifest records the recipe's."""

    x: np.ndarray
    u: np.ndarray


def bias_outputs(params: LineParams) -> tuple[str, ...]:
    """The outputs the economic target and the OCP constrain that a sensor measures and no input disturbance
    explains (:attr:`NmpcScaling.bias_outputs`): the exit residual, then each zone's LEL fraction (a flammable
    solvent) or exhaust humidity ratio."""
    zone = "lel_frac" if params.solvent.lel_vol_frac > 0 else "humidity_ratio_kg_kg"
    return ("exit_residual_kg_kg", *(f"zone{i}_{zone}" for i in range(1, params.dryer.n_zones + 1)))


class NmpcScaling:
    """The NMPC model's numbers: recipe steady state ``ss``, scales, layout, loops and the OCP's conversions.

    Attributes a subclass sets: ``layout`` (:class:`plants.line.LineLayout`), ``ss`` (``.x``, ``.u``: the recipe's
    steady state, SI), ``x_scale``, ``u_scale``, ``loops`` (:class:`TemperatureLoops` or ``None``: the heaters in
    manual), ``output_index`` (the line's output names to their index) and ``bias_outputs``.
    """

    layout: LineLayout
    ss: Any
    x_scale: np.ndarray
    u_scale: np.ndarray
    loops: TemperatureLoops | None
    output_index: dict[str, int]
    bias_outputs: tuple[str, ...]

    @property
    def n_bias(self) -> int:
        """Length of the output-bias vector (:attr:`bias_outputs`)."""
        return len(self.bias_outputs)

    @property
    def n_aug(self) -> int:
        """States of the OCP's model: the line's, plus (with loops) one integral and one thermocouple per zone."""
        if self.loops is None:
            return self.layout.n_states
        return self.layout.n_states + self.layout.n_zones * (2 if self.loops.lag_s > 0 else 1)

    @property
    def n_v(self) -> int:
        """Inputs of the OCP: the line's, plus (with loops) one set point per zone."""
        return self.layout.n_inputs + (0 if self.loops is None else self.layout.n_zones)

    def ocp_inputs(self, us: np.ndarray, setpoint_K: np.ndarray | None = None) -> np.ndarray:
        """The OCP's inputs from scaled plant inputs ``us`` (with loops: the heater slots as the feedforwards) and
        the set points ``setpoint_K`` (default: the loops' reference), scaled."""
        v = np.asarray(us, float).copy()
        if self.loops is None:
            return v
        lp = self.loops
        sp = lp.ref_K if setpoint_K is None else np.asarray(setpoint_K, float)
        return np.r_[v, (sp - lp.ref_K) / lp.sp_scale_K]

    def setpoints_K(self, v: np.ndarray) -> np.ndarray:
        """The temperature loops' set points in an OCP input vector (the model holds the loops)."""
        if self.loops is None:
            raise ValueError("setpoints_K: the model holds no temperature loops (temperature_loops = 'manual')")
        return self.loops.ref_K + self.loops.sp_scale_K * np.asarray(v, float)[self.layout.n_inputs :]

    def ocp_state(self, xs: np.ndarray, integral_K: np.ndarray | None = None,
                  reading_K: np.ndarray | None = None) -> np.ndarray:
        """The OCP's state from the scaled line state and (with loops) the loops' integrals (default 0) and
        thermocouple readings (default: the line state's air temperatures)."""
        xs = np.asarray(xs, float)
        lp = self.loops
        if lp is None:
            return xs.copy()
        L = self.layout
        zi = np.zeros(L.n_zones) if integral_K is None else np.asarray(integral_K, float)
        out = np.r_[xs, zi / lp.i_scale_K]
        if lp.lag_s > 0:
            tc = xs[L.air_temp] * self.x_scale[L.air_temp] if reading_K is None else np.asarray(reading_K, float)
            out = np.r_[out, (tc - lp.ref_K) / lp.sp_scale_K]
        return out


class _ManifestScaling(NmpcScaling):
    """:class:`NmpcScaling` on numbers given (an artifact's)."""

    def __init__(self, **numbers: Any) -> None:
        for name in ("layout", "ss", "x_scale", "u_scale", "loops", "output_index", "bias_outputs"):
            setattr(self, name, numbers.pop(name))
        if numbers:
            raise TypeError(f"unknown numbers: {sorted(numbers)}")


def scaling_from_manifest(section: dict[str, Any], params: LineParams,
                          loops: TemperatureLoops | None) -> NmpcScaling:
    """The NMPC's numbers from an edge artifact's ``nmpc`` manifest section (the recipe's steady state and the
    scales the artifact was exported with), the controller model's parameters ``params`` (its layout and output
    names, checked against the artifact by its model hash) and the PLC's temperature loops (``None``: manual)."""
    line = LineModel(params)
    return _ManifestScaling(
        layout=line.layout,
        ss=ScaledSteadyState(x=np.asarray(section["ss_x"], float), u=np.asarray(section["ss_u"], float)),
        x_scale=np.asarray(section["x_scale"], float), u_scale=np.asarray(section["u_scale"], float),
        loops=loops, output_index={n: i for i, n in enumerate(line.output_names())},
        bias_outputs=bias_outputs(params))
