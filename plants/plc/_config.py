"""The PLC layer's settings: the scenario's ``[plc]`` table (unknown keys are rejected)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PlcConfig"]


class PlcConfig(BaseModel):
    """The line PLC's scan, hand-over rule and the ranges of what a remote controller may write.

    The loops' own ranges and rates are the actuators' (``mpc/scenario/_plant.py``); the zone
    air-temperature loops are tuned by SIMC from a step test on the nominal model at the recipe
    (``docs/plc.md``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scan_s: float = Field(
        1.0, gt=0.0, le=60.0,
        description="the loops' scan (update) interval, s; the scenario's control_interval_s must be a whole "
        "multiple of it",
    )
    stale_after_s: float = Field(
        10.0, gt=0.0, le=3600.0,
        description="a remote set point older than this returns its loop to recipe mode, s (at least the "
        "scenario's control_interval_s)",
    )
    watchdog_s: float = Field(
        6.0, gt=0.0, le=3600.0,
        description="a remote controller's heartbeat (the OPC UA link's heartbeat tag) older than this hands "
        "every loop back to recipe mode, s (at least the scenario's control_interval_s; armed by the first "
        "heartbeat, so an in-process run never trips it)",
    )
    pump_ratio_trim_frac: float = Field(
        0.35, gt=0.0, le=1.0,
        description="the ratio station's trim limits: a remote pump-to-speed ratio is clamped to the recipe's "
        "ratio times 1 -/+ this",
    )
    air_temp_setpoint_min_K: float = Field(
        288.15, ge=223.15, le=473.15, description="lowest zone air-temperature set point a remote controller may write, K"
    )
    air_temp_setpoint_max_K: float = Field(
        473.15, ge=273.15, le=673.15, description="highest zone air-temperature set point a remote controller may write, K"
    )
    air_temp_setpoint_rate_K_s: float = Field(
        1.0, gt=0.0, le=100.0, description="the air-temperature loops' set-point ramp, K/s"
    )
    pump_ratio_setpoint_rate_frac_s: float = Field(
        0.05, gt=0.0, le=10.0, description="the ratio station's set-point ramp, fraction of the recipe's ratio per s"
    )
    air_temp_tuning: Literal["tight", "smooth"] = Field(
        "tight",
        description="SIMC rule of the air-temperature loops (Skogestad 2003): 'tight', closed-loop time constant = "
        "the loop's dead time (gain margin about 3); 'smooth', a third of the zone's time constant",
    )
    thermocouple_lag_s: float = Field(
        10.0, ge=0.0, le=120.0,
        description="the thermocouple lag the air-temperature loops' tuning allows for (half of it as dead time), s",
    )
