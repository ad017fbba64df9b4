"""The closed-loop harness: the loop that runs a scenario against a controller.

The interfaces through which the harness and a controller meet live in
:mod:`mpc.interfaces`.
"""

from mpc.harness._line import (
    RunResult,
    SimulatedLine,
    initial_operating_point,
    sensor_truth_map,
    start_state,
)
from mpc.harness._loop import controller_context, line_side, run_closed_loop

__all__ = [
    "RunResult",
    "SimulatedLine",
    "controller_context",
    "initial_operating_point",
    "line_side",
    "run_closed_loop",
    "sensor_truth_map",
    "start_state",
]
