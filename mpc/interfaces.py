"""The small typed interfaces through which the harness and a controller meet.

A controller is told, at :meth:`Controller.reset`, only a
:class:`ControllerContext` (its own model parameters, the recipe, the
specification, the announced schedule, the actuator limits, the line PLC's
loops and their tuning); at every :meth:`Controller.step` it gets an
:class:`Observation` (sensor readings, the LEL limit in force, the schedule
now, the applied inputs, each PLC loop's mode, set point, output and health)
and returns a :class:`Command`: set points for the PLC's loops, by name with
their units (``docs/plc.md``). It never receives the plant, its state, its
parameters or the unannounced disturbances (``tests/test_harness.py`` checks
this), and it never writes a plant input: the PLC does.

The plant side meets the harness through a :class:`DisturbanceSource`: the
scenario's (:class:`mpc.scenario.PlantDisturbances`) or a replayed log's
(:class:`mpc.historian.LogDisturbances`). The harness keeps it to the plant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mpc.scenario import AnnouncedSchedule, Spec
from plants.params import LineParams
from plants.plc import LoopSpec, LoopStatus
from plants.steady import OperatingPoint

__all__ = ["Command", "Controller", "ControllerContext", "DisturbanceSource", "Observation"]


@dataclass(frozen=True)
class ControllerContext:
    """What a controller may know before the run starts."""

    controller_name: str
    dt_s: float
    model_params: LineParams
    recipe: OperatingPoint
    spec: Spec
    schedule: AnnouncedSchedule
    input_names: tuple[str, ...]
    measurement_names: tuple[str, ...]
    input_lower: np.ndarray
    input_upper: np.ndarray
    input_rate_limit: np.ndarray
    settings: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<scenario>"
    """The scenario file (controllers resolve their own relative files from its folder)."""
    primary_factor_heater: float = 1.0
    """Primary energy per kWh the heaters draw of their carrier (the scenario's ``[energy]``)."""
    primary_factor_electricity: float = 1.0
    """Primary energy per kWh of electricity (fans, solvent recovery)."""
    plc_loops: tuple[LoopSpec, ...] = ()
    """The line PLC's loops (set-point names, ranges, rates, recipe values, the temperature loops' tuning)."""
    thermocouple_lag_s: float = 10.0
    """The zone thermocouples' lag the PLC's temperature loops read through, s (``[plc] thermocouple_lag_s``)."""


@dataclass(frozen=True)
class Observation:
    """What a controller sees at one step (sensor outputs, never plant truth)."""

    t_s: float
    measurements: Mapping[str, float]
    fresh: Mapping[str, bool]
    healthy: Mapping[str, bool]
    lel_limit_frac: float
    speed_target_m_s: float
    speed_cap_m_s: float
    line_stopped: bool
    applied: np.ndarray
    """The plant inputs the PLC's loops gave over the last scan (ordered as ``input_names``)."""
    loops: Mapping[str, LoopStatus] = field(default_factory=dict)
    """Each PLC loop's mode, working set point, output and health, by loop name."""


@dataclass
class Command:
    """A controller's move: PLC set points by name with units, loops handed back, and health flags.

    ``setpoints`` maps ``<loop>_setpoint_<unit>`` (and a temperature loop's
    ``<loop>_feedforward_W``) to values in SI; a loop written is in remote mode until it is
    released, or its set point goes stale (``[plc] stale_after_s``). A loop never written stays
    in recipe mode. ``release`` names loops handed back to recipe mode now. ``solved``: the
    controller ran its online optimisation on this step (whether or not it succeeded;
    ``solver_failure`` says that), so that solve times can be told from the steps between solves.
    ``info``: what the controller reports of itself (SI, the unit in each name); the run records each key
    as a ``ctrl_<key>`` column of the timeseries (NaN on steps that did not report it).
    """

    setpoints: dict[str, float] = field(default_factory=dict)
    release: tuple[str, ...] = ()
    solver_failure: bool = False
    fallback: bool = False
    solved: bool = False
    info: dict[str, float] = field(default_factory=dict)


class Controller(ABC):
    """A controller the harness can drive, whatever is inside it."""

    name: str = "controller"
    settings_table: str | None = None
    """The scenario's ``[controllers.<table>]`` this controller reads (``None``: its :attr:`name`'s)."""

    @abstractmethod
    def reset(self, ctx: ControllerContext) -> None:
        """Prepare for a run (build models, tune, initialise estimators)."""

    @abstractmethod
    def step(self, obs: Observation) -> Command:
        """Return the next move given the current observation."""


@runtime_checkable
class DisturbanceSource(Protocol):
    """What the harness needs of the plant's disturbances (never shown to a controller).

    Attributes
    ----------
    weather_note : str
        Where the outdoor air comes from, for the run's metadata and report.
    """

    weather_note: str

    def reset(self) -> None:
        """Restart every seeded random path (the same seeds give the same values)."""

    def vector(self, t_s: float) -> np.ndarray:
        """The plant's disturbance vector at ``t_s`` (layout of :class:`plants.line.LineLayout`),
        held over the control interval that starts there; called with non-decreasing times."""

    def stopped(self, t_s: float) -> bool:
        """Whether a line stop or web break (announced or not) is in progress at ``t_s``."""
