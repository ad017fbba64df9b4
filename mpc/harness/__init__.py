"""The closed-loop harness: typed interfaces and the loop that runs a scenario."""

from mpc.harness._interfaces import Command, Controller, ControllerContext, Observation
from mpc.harness._loop import RunResult, run_closed_loop, sensor_truth_map

__all__ = [
    "Command",
    "Controller",
    "ControllerContext",
    "Observation",
    "RunResult",
    "run_closed_loop",
    "sensor_truth_map",
]
