"""The path humidity takes: outdoor weather -> HVAC -> coating room -> slurry.

* The HVAC coil lowers the outdoor humidity ratio towards its target but by
  at most ``hvac_max_dehumidification`` (limited capacity); it does not
  humidify: ``w_supply = min(w_out, max(w_target, w_out - dw_max))``.
* The room humidity ratio follows the supply with the room's air-change time
  constant (lagged and attenuated, worse on humid days).
* The slurry takes up water towards ``k_uptake * RH_room`` with its own time
  constant (NMP is hygroscopic); the water raises viscosity
  (:func:`plants.coater.slurry_viscosity_Pa_s`) and is dried with the solvent.
* For a water-based line the make-up air of the dryer is room air, so the
  room humidity enters the dryer's driving force.
"""

from __future__ import annotations

from typing import Any

from plants.backend import ArrayOps
from plants.params import BuildingParams, CoaterParams
from plants.properties import humidity_ratio_kg_kg, relative_humidity_frac

__all__ = ["hvac_supply_humidity_ratio", "room_humidity_rate", "room_rh_frac", "slurry_water_rate"]


def hvac_supply_humidity_ratio(
    ops: ArrayOps, outdoor_temp_K: Any, outdoor_rh_frac: Any, building: BuildingParams
) -> Any:
    """Humidity ratio of the air the HVAC supplies to the coating room, kg/kg."""
    w_out = humidity_ratio_kg_kg(outdoor_temp_K, outdoor_rh_frac, ops=ops)
    reduced = ops.maximum(building.hvac_target_humidity_ratio, w_out - building.hvac_max_dehumidification)
    return ops.minimum(w_out, reduced)


def room_humidity_rate(ops: ArrayOps, w_room: Any, w_supply: Any, building: BuildingParams) -> Any:
    """``d w_room / dt``, 1/s."""
    return (w_supply - w_room) / building.room_time_constant_s


def room_rh_frac(ops: ArrayOps, w_room: Any, building: BuildingParams) -> Any:
    """Relative humidity of the coating room (fraction)."""
    return relative_humidity_frac(building.room_temp_K, w_room, ops=ops)


def slurry_water_rate(ops: ArrayOps, water_frac: Any, rh_room: Any, coater: CoaterParams) -> Any:
    """``d w_water / dt`` of the slurry, 1/s."""
    return (coater.water_uptake_per_rh * rh_room - water_frac) / coater.water_uptake_time_constant_s
