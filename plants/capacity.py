"""Electrode capacity: the denominator of energy per kWh of cell.

The cathode's areal capacity follows from its dry loading, active fraction
and specific capacity; an anode counts the cell capacity of the cathode it
pairs with (its own capacity divided by the N/P ratio,
``CoaterParams.capacity_ratio_to_cathode``). Energy is capacity times the
nominal cell voltage.
"""

from __future__ import annotations

from typing import Any

from plants.params import CoaterParams

__all__ = ["cell_energy_kWh_per_m2"]


def cell_energy_kWh_per_m2(coat_weight_kg_m2: Any, coater: CoaterParams) -> Any:
    """Cell energy (kWh) enabled by one m2 of this electrode at the given dry coat weight."""
    ah_per_m2 = coat_weight_kg_m2 * coater.active_frac * coater.specific_capacity_Ah_kg
    return ah_per_m2 / coater.capacity_ratio_to_cathode * coater.cell_voltage_V / 1000.0
