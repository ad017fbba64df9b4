"""Disturbance channels of a plant log and the ONE place where their units become SI.

Each channel has a physical quantity; each quantity has a table of the
engineering units a log may declare, as ``si = value * scale + offset``.
Everything after :func:`to_si` is SI with the unit in the column name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CHANNELS",
    "UNITS",
    "ChannelInfo",
    "Quantity",
    "from_si",
    "to_si",
    "unit_names",
]

Quantity = Literal["temperature", "relative_humidity", "mass_fraction", "fraction", "speed"]

#: quantity -> unit -> (scale, offset): si = value * scale + offset
UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {  # -> K
        "degC": (1.0, 273.15),
        "K": (1.0, 0.0),
        "degF": (5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
    },
    "relative_humidity": {  # -> fraction 0-1
        "%": (0.01, 0.0),
        "fraction": (1.0, 0.0),
    },
    "mass_fraction": {  # -> kg/kg
        "wt%": (0.01, 0.0),
        "%": (0.01, 0.0),
        "fraction": (1.0, 0.0),
    },
    "fraction": {  # -> 1
        "fraction": (1.0, 0.0),
        "%": (0.01, 0.0),
    },
    "speed": {  # -> m/s
        "m/min": (1.0 / 60.0, 0.0),
        "m/s": (1.0, 0.0),
        "ft/min": (0.3048 / 60.0, 0.0),
    },
}


@dataclass(frozen=True)
class ChannelInfo:
    """One disturbance channel a log may carry.

    Attributes
    ----------
    name : str
        Key of the channel in a mapping file (``[channels.NAME]``).
    quantity : str
        Physical quantity (a key of :data:`UNITS`).
    si_column : str
        Column of the SI frame (unit in the name); per-zone channels add
        ``zone{i}_`` in front for a zone's own column.
    lower_si, upper_si : float
        Valid range in SI, both ends included.
    default_column : str
        Column read when the mapping does not name one.
    default_unit : str
        Unit assumed when the mapping does not declare one.
    required : bool
        The log must have the column (default of the mapping).
    per_zone : bool
        One value for every zone or per-zone columns.
    default_zone_columns : str or None
        Pattern of per-zone columns, ``{zone}`` = zone number from 1.
    interpolation : {"linear", "hold"}
        How the channel is resampled by default.
    plant_input : bool
        The replay drives the plant with it (False: read, checked and
        recorded only).
    meaning : str
        One line for the docs.
    """

    name: str
    quantity: str
    si_column: str
    lower_si: float
    upper_si: float
    default_column: str
    default_unit: str
    required: bool
    per_zone: bool = False
    default_zone_columns: str | None = None
    interpolation: Literal["linear", "hold"] = "linear"
    plant_input: bool = True
    meaning: str = ""


#: every channel a log may carry, by mapping key
CHANNELS: dict[str, ChannelInfo] = {
    c.name: c
    for c in (
        ChannelInfo("outdoor_temp", "temperature", "outdoor_temp_K", 220.0, 330.0,
                    "ambient_temp_C", "degC", True,
                    meaning="outdoor dry-bulb temperature (reaches the process through the building model)"),
        ChannelInfo("outdoor_rh", "relative_humidity", "outdoor_rh_frac", 0.0, 1.0,
                    "ambient_rh_pct", "%", True,
                    meaning="outdoor relative humidity (over liquid water)"),
        ChannelInfo("slurry_solids", "mass_fraction", "slurry_solids_frac", 0.2, 0.9,
                    "slurry_solids_wt_pct", "wt%", True,
                    meaning="true solids mass fraction of the slurry fed to the die"),
        ChannelInfo("heater_efficiency", "fraction", "heater_efficiency", 0.0, 1.0,
                    "heater_efficiency", "fraction", False, per_zone=True,
                    default_zone_columns="heater_efficiency_zone{zone}",
                    meaning="delivered / commanded heater power, per zone"),
        ChannelInfo("fan_flow_factor", "fraction", "fan_flow_factor", 0.0, 1.0,
                    "fan_flow_factor", "fraction", False, per_zone=True,
                    default_zone_columns="fan_flow_factor_zone{zone}",
                    meaning="delivered / commanded nozzle flow (fan fouling), per zone"),
        ChannelInfo("speed_request", "speed", "speed_request_m_s", 1e-3, 4.5,
                    "speed_request_m_min", "m/min", False, interpolation="hold",
                    meaning="line-speed request of the production plan (the announced speed target)"),
        ChannelInfo("inlet_air_rh", "relative_humidity", "inlet_air_rh_frac", 0.0, 1.0,
                    "inlet_air_rh_pct", "%", False, plant_input=False,
                    meaning="dryer inlet (make-up) air RH: recorded, not a plant input"),
    )
}


def unit_names(quantity: str) -> list[str]:
    """Units a log may declare for ``quantity``."""
    return list(UNITS[quantity])


def _factors(quantity: str, unit: str) -> tuple[float, float]:
    try:
        return UNITS[quantity][unit]
    except KeyError:
        raise ValueError(
            f"unknown unit {unit!r} for a {quantity.replace('_', ' ')}; expected one of {unit_names(quantity)}"
        ) from None


def to_si(quantity: str, unit: str, values: ArrayLike) -> NDArray[np.float64]:
    """Convert values in ``unit`` to SI (K, fraction, kg/kg, m/s).

    Parameters
    ----------
    quantity : str
        A key of :data:`UNITS`.
    unit : str
        A unit of that quantity.
    values : array_like
        Values in ``unit`` (NaN stays NaN).

    Returns
    -------
    numpy.ndarray
        Values in SI.

    Raises
    ------
    ValueError
        ``unit`` is not a known unit of ``quantity`` (the message lists them).
    """
    scale, offset = _factors(quantity, unit)
    return np.asarray(values, dtype=float) * scale + offset


def from_si(quantity: str, unit: str, values_si: ArrayLike) -> NDArray[np.float64]:
    """Inverse of :func:`to_si` (for messages in the log's own unit)."""
    scale, offset = _factors(quantity, unit)
    return (np.asarray(values_si, dtype=float) - offset) / scale
