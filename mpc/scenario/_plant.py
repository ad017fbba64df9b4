"""A scenario's plant: its parameters after the mismatch overrides, and its actuators' ranges.

One table of actuator ranges and rate limits (:func:`actuator_specs`), used by
the closed loop (:func:`mpc.scenario.build_setup`) and by the load-time checks
of the recipe and the schedule (:mod:`mpc.scenario._check`).
"""

from __future__ import annotations

from typing import Any

from plants.actuators import ActuatorSpec
from plants.line import LineLayout, LineModel
from plants.params import LineParams

__all__ = ["actuator_specs", "apply_overrides"]


def apply_overrides(p: LineParams, cells: int, overrides: dict[str, dict[str, float]]) -> LineParams:
    """``p`` with a scenario's ``[mismatch.plant]`` / ``[mismatch.model]`` overrides and its cell count."""
    groups: dict[str, dict[str, Any]] = {k: dict(v) for k, v in overrides.items()}
    groups.setdefault("dryer", {})["cells_per_zone"] = cells
    return p.replace(**groups)


def actuator_specs(plant: LineParams, layout: LineLayout) -> list[ActuatorSpec]:
    """The line's actuators with their ranges and rate limits (the one table of them), for ``plant``."""
    dr = plant.dryer
    specs = [
        ActuatorSpec(name="speed_m_s", unit="m/s", lower=0.0, upper=2.0, rate_limit_per_s=0.02),
        ActuatorSpec(name="pump_flow_cmd_m3_s", unit="m3/s", lower=0.0, upper=2e-3, rate_limit_per_s=2e-5),
    ]
    noz_max = LineModel(plant).nozzle_command_max_m_s  # nozzles, zone 1 over the wet film, fan motor rating
    for i in range(1, layout.n_zones + 1):
        specs.append(ActuatorSpec(name=f"zone{i}_nozzle_velocity_cmd_m_s", unit="m/s", lower=0.0,
                                  upper=float(noz_max[i - 1]), rate_limit_per_s=2.0))
    for i in range(1, layout.n_zones + 1):
        specs.append(ActuatorSpec(name=f"zone{i}_heater_power_cmd_W", unit="W", lower=0.0,
                                  upper=dr.heater_max_W, rate_limit_per_s=dr.heater_rate_W_s))
    for i in range(1, layout.n_zones + 1):
        specs.append(ActuatorSpec(name=f"zone{i}_exhaust_flow_m3_s", unit="m3/s", lower=0.05,
                                  upper=dr.exhaust_max_m3_s, rate_limit_per_s=0.2))
    return specs
