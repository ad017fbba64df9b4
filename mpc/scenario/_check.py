"""Loading a scenario: the schema's checks, then what the schema alone cannot know.

:func:`load_scenario` and :func:`scenario_from_dict` (the package's) validate
the file against the schema (:mod:`mpc.scenario._load`) and then check

* every ``[controllers.NAME]`` table against its controller's settings class
  (an unknown controller, setting, type or range is a :class:`SettingsError`);
* a design-rule parameter of the recipe against the preset's solvent
  (:func:`mpc.scenario._recipe.check_recipe_rule`);
* the recipe's nozzle velocities and listed exhaust flows, and every speed of the
  schedule, against the range of the actuator that will run them: the plant's
  actuators as the closed loop builds them (the preset's limits, after
  ``[mismatch.plant]``; the one table of ranges is
  :func:`mpc.scenario._plant.actuator_specs`). A nozzle velocity must also be above zero.

So ``calmline run`` and ``compare`` refuse a bad scenario before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpc.scenario import _load
from mpc.scenario._controller_tables import check_controller_tables
from mpc.scenario._load import ScenarioError, resolve_scenario_path
from mpc.scenario._plant import actuator_specs, apply_overrides
from mpc.scenario._recipe import check_recipe_rule
from mpc.scenario._schema import Scenario
from plants.actuators import ActuatorSpec
from plants.line import LineLayout
from plants.presets import get_preset

__all__ = ["check_actuator_ranges", "load_scenario", "scenario_from_dict"]


def scenario_from_dict(data: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a nested dict; errors name ``source``."""
    sc = _load.scenario_from_dict(data, source=source)
    _check(sc, source)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file (or a shipped scenario by name, see :func:`resolve_scenario_path`)."""
    p = resolve_scenario_path(path)
    sc = _load.load_scenario(p)
    _check(sc, str(p))
    return sc


def _check(sc: Scenario, source: str) -> None:
    check_controller_tables(sc.controllers, source)
    base = get_preset(sc.preset)
    try:
        plant = apply_overrides(base, sc.mismatch.plant_cells_per_zone, sc.mismatch.plant)
    except ValueError as exc:
        raise ScenarioError(f"{source}: [mismatch]: {exc}") from None
    layout = LineLayout(plant.dryer.n_zones, plant.dryer.cells_per_zone)
    check_recipe_rule(sc, plant, source)
    check_actuator_ranges(sc, actuator_specs(plant, layout), source)


def check_actuator_ranges(sc: Scenario, specs: list[ActuatorSpec], source: str = "<scenario>") -> None:
    """The recipe's nozzle velocities and exhaust flows and the schedule's speeds within ``specs``' ranges.

    Raises
    ------
    ScenarioError
        Naming the key (``recipe.exhaust_m3_s[2]``, 0-based as the file's list), the value and the
        actuator's range.
    """
    by_name = {s.name: s for s in specs}
    values: list[tuple[str, float, ActuatorSpec, bool]] = []
    for i, v_noz in enumerate(sc.recipe.nozzle_velocity_m_s):
        values.append((f"recipe.nozzle_velocity_m_s[{i}]", v_noz, by_name[f"zone{i + 1}_nozzle_velocity_cmd_m_s"], True))
    for i, v_ex in enumerate(sc.recipe.exhaust_m3_s or ()):  # not listed: sized within the range (_recipe)
        values.append((f"recipe.exhaust_m3_s[{i}]", v_ex, by_name[f"zone{i + 1}_exhaust_flow_m3_s"], False))
    speed = by_name["speed_m_s"]
    sch = sc.schedule
    values += [("schedule.speed_target_m_s", sch.speed_target_m_s, speed, True),
               ("schedule.speed_cap_m_s", sch.speed_cap_m_s, speed, True)]
    for i, ch in enumerate(sch.speed_changes):
        values += [(f"schedule.speed_changes[{i}].target_m_s", ch.target_m_s, speed, True),
                   (f"schedule.speed_changes[{i}].cap_m_s", ch.cap_m_s, speed, True)]
    for key, value, spec, above_lower in values:
        low_ok = value > spec.lower if above_lower else value >= spec.lower
        if not (low_ok and value <= spec.upper):
            lo = "(" if above_lower else "["
            raise ScenarioError(
                f"{source}: '{key}' = {value!r}: outside the {spec.name} actuator's range "
                f"{lo}{spec.lower:g}, {spec.upper:g}] {spec.unit} (preset {sc.preset})"
            )
