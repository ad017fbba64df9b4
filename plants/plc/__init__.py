"""The coating line's PLC: local loops with modes, between every controller and the plant.

A controller writes set points (zone air temperature, exhaust flow, fan speed, pump-to-speed
ratio, line speed) by name; the PLC's loops turn them into heater power, damper, drive and pump
commands at their own scan, check and clamp what they are given, and return to the recipe
without a bump when a remote set point goes stale or is released, or the remote controller's
heartbeat stops (``docs/plc.md``).
"""

from plants.plc._build import line_plc_loops, recipe_steady_state
from plants.plc._config import PlcConfig
from plants.plc._layer import EVENT_LOG_LENGTH, Plc, PlcEvent, PlcWriteError
from plants.plc._loops import (
    MODE_MANUAL,
    MODE_RECIPE,
    MODE_REMOTE,
    MODE_VALUES,
    LoopKind,
    LoopSpec,
    LoopStatus,
)
from plants.plc._pi import PI

__all__ = [
    "EVENT_LOG_LENGTH",
    "MODE_MANUAL",
    "MODE_RECIPE",
    "MODE_REMOTE",
    "MODE_VALUES",
    "PI",
    "LoopKind",
    "LoopSpec",
    "LoopStatus",
    "Plc",
    "PlcConfig",
    "PlcEvent",
    "PlcWriteError",
    "line_plc_loops",
    "recipe_steady_state",
]
