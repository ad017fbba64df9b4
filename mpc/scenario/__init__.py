"""Scenarios: the TOML format, validation, and the run-time objects built from it."""

from mpc.scenario._load import ScenarioError, load_scenario, scenario_from_dict
from mpc.scenario._runtime import AnnouncedSchedule, PlantDisturbances, ScenarioSetup, build_setup
from mpc.scenario._schema import Scenario, Spec

__all__ = [
    "AnnouncedSchedule",
    "PlantDisturbances",
    "Scenario",
    "ScenarioError",
    "ScenarioSetup",
    "Spec",
    "build_setup",
    "load_scenario",
    "scenario_from_dict",
]
