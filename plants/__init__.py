"""Simulated plants: the slot-die coater, the multi-zone dryer and the coupled line.

The physics is written once (:mod:`plants.line` over :mod:`plants.coater`,
:mod:`plants.dryer`, :mod:`plants.building`, :mod:`plants.properties`) and
evaluated by CasADi or JAX (:mod:`plants.backend`). Sensors, actuators, noise,
disturbances and weather are plant-side NumPy models used by the harness.
"""

from plants.capacity import cell_energy_kWh_per_m2
from plants.design import ventilated_steady_state
from plants.line import LineLayout, LineModel
from plants.openloop import OpenLoopRun, simulate_recipe
from plants.params import (
    CRITICAL_CONTENT_FACTOR_RANGE,
    BuildingParams,
    CoaterParams,
    DryerParams,
    LineParams,
    ParameterError,
    SolventParams,
    describe_fields,
    params_from_dict,
    params_to_dict,
)
from plants.params_file import load_params_file, read_params_file, write_params_file
from plants.presets import get_preset, nominal_operating_point, preset_names
from plants.simulate import (
    AdaptiveStepper,
    BatchSimulator,
    casadi_stepper,
    rk4_step,
    stable_substep_s,
)
from plants.steady import OperatingPoint, SteadyState, steady_state
from plants.validate import Check, ValidationReport, validate_preset

__all__ = [
    "CRITICAL_CONTENT_FACTOR_RANGE",
    "AdaptiveStepper",
    "BatchSimulator",
    "BuildingParams",
    "Check",
    "CoaterParams",
    "DryerParams",
    "LineLayout",
    "LineModel",
    "LineParams",
    "OpenLoopRun",
    "OperatingPoint",
    "ParameterError",
    "SolventParams",
    "SteadyState",
    "ValidationReport",
    "casadi_stepper",
    "cell_energy_kWh_per_m2",
    "describe_fields",
    "get_preset",
    "load_params_file",
    "nominal_operating_point",
    "params_from_dict",
    "params_to_dict",
    "preset_names",
    "read_params_file",
    "rk4_step",
    "simulate_recipe",
    "stable_substep_s",
    "steady_state",
    "validate_preset",
    "ventilated_steady_state",
    "write_params_file",
]
