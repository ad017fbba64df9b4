"""What one PLC loop is: its set point, the plant input it drives, its ranges, rates and tuning.

Three kinds of loop, as on a coating line's PLC:

``"direct"``
    A drive or flow loop whose output follows its set point (line-speed reference to the
    drive, fan-speed reference to the variable-speed drive, exhaust-flow set point to the
    damper's flow loop). The inner loop is fast beside the scan; the PLC ramps the output at
    the actuator's rate.
``"ratio"``
    The pump ratio station: pump flow = ratio x the line speed the drive is given, the ratio
    within trim limits around the recipe's.
``"pi"``
    A zone air-temperature loop: PI on the thermocouple, heater power out, with a feedforward
    (bias), anti-windup by back-calculation and the heater's rate limit on the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MODE_MANUAL", "MODE_RECIPE", "MODE_REMOTE", "MODE_VALUES", "LoopKind", "LoopSpec", "LoopStatus"]

LoopKind = Literal["direct", "ratio", "pi"]
MODE_RECIPE = "recipe"
MODE_REMOTE = "remote"
MODE_MANUAL = "manual"
MODE_VALUES = {MODE_RECIPE: 0, MODE_REMOTE: 1, MODE_MANUAL: 2}
"""A mode's number in ``timeseries.parquet``'s ``<loop>_mode`` columns."""


@dataclass(frozen=True)
class LoopSpec:
    """One loop of the PLC.

    Parameters
    ----------
    name : str
        The loop's name (``line_speed``, ``pump_ratio``, ``zone1_fan_speed``, ``zone1_air_temp``,
        ``zone1_exhaust``).
    unit : str
        Its set point's unit as it appears in names (``m_s``, ``m3_m``, ``K``, ``m3_s``).
    kind : {"direct", "ratio", "pi"}
        What it does (module docstring).
    output : str
        The plant input it drives (a name of :meth:`plants.line.LineLayout.input_names`).
    lower, upper : float
        The range a remote set point is clamped to.
    setpoint_rate_per_s : float
        The working set point's ramp, set-point units per s.
    recipe_setpoint : float
        The set point in recipe mode (NaN for the line speed: the plan's, given at each scan).
    output_lower, output_upper, output_rate_per_s : float
        The output's range and rate limit (the actuator's).
    kc, tau_i_s, bias : float
        PI loops: gain (output units per set-point unit), integral time (s) and the recipe's
        feedforward (the recipe's steady-state output).
    measurement : str
        PI loops: the sensor the loop reads.
    """

    name: str
    unit: str
    kind: LoopKind
    output: str
    lower: float
    upper: float
    setpoint_rate_per_s: float
    recipe_setpoint: float
    output_lower: float
    output_upper: float
    output_rate_per_s: float
    kc: float = 0.0
    tau_i_s: float = 0.0
    bias: float = 0.0
    measurement: str = ""

    @property
    def setpoint_key(self) -> str:
        """The set point's name in a command and in ``timeseries.parquet``: ``<loop>_setpoint_<unit>``."""
        return f"{self.name}_setpoint_{self.unit}"

    @property
    def mode_key(self) -> str:
        """The mode's column in ``timeseries.parquet``: ``<loop>_mode`` (0 = recipe, 1 = remote)."""
        return f"{self.name}_mode"

    @property
    def feedforward_key(self) -> str | None:
        """A PI loop's remote feedforward in a command: ``<loop>_feedforward_W``; None for other loops."""
        return f"{self.name}_feedforward_W" if self.kind == "pi" else None

    @property
    def output_key(self) -> str | None:
        """A PI loop's manual output in a command: ``<loop>_output_W`` (puts the loop in manual, as for a step
        test); None for other loops."""
        return f"{self.name}_output_W" if self.kind == "pi" else None


@dataclass(frozen=True)
class LoopStatus:
    """What the PLC reports of one loop (a controller reads this, never the plant).

    Attributes
    ----------
    mode : {"recipe", "remote", "manual"}
        Who sets the loop's set point (``manual``: a PI loop's output is written directly, as for a
        step test; the PI tracks it so that the return to automatic is bumpless).
    setpoint : float
        The working set point (after clamping and the set-point ramp), in the loop's unit.
    output : float
        What the loop gives its actuator this scan, in the actuator's unit.
    healthy : bool
        False while the last remote write was clamped or rejected, or after the remote set
        point went stale (until the next accepted write).
    flag : str
        ``""``, ``"clamped"`` (out of range, clamped), ``"rejected"`` (not a finite number; the
        loop kept its last set point) or ``"stale"`` (returned to recipe mode for age).
    """

    mode: str
    setpoint: float
    output: float
    healthy: bool
    flag: str = ""
