"""The documented Python API of calmline (what the CLI and scenario scripts call).

Plant
    :func:`get_preset`, :func:`preset_names`, :func:`nominal_operating_point`,
    :class:`LineModel`, :func:`steady_state`, :func:`simulate_recipe`,
    :func:`validate_preset`, :class:`BatchSimulator`.
Benchmarks
    :func:`bench_plant`.

Example
-------
>>> from mpc.api import simulate_recipe
>>> run = simulate_recipe("nmc_nmp", duration_s=600.0)  # doctest: +SKIP
>>> run.summary["energy_kwh_per_kwh_cell"]  # doctest: +SKIP
"""

from plants import (
    BatchSimulator,
    LineModel,
    LineParams,
    OperatingPoint,
    get_preset,
    nominal_operating_point,
    params_from_dict,
    preset_names,
    simulate_recipe,
    steady_state,
    validate_preset,
)
from plants.bench import bench_plant

__all__ = [
    "BatchSimulator",
    "LineModel",
    "LineParams",
    "OperatingPoint",
    "bench_plant",
    "get_preset",
    "nominal_operating_point",
    "params_from_dict",
    "preset_names",
    "simulate_recipe",
    "steady_state",
    "validate_preset",
]
