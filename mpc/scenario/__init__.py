"""Scenarios: the TOML format, validation, and the run-time objects built from it."""

from mpc.scenario._duration import (
    MAX_DURATION_S,
    late_events,
    run_duration_s,
    warmup_used_s,
    warn_about_duration,
)
from mpc.scenario._load import (
    ScenarioError,
    load_scenario,
    resolve_scenario_path,
    scenario_from_dict,
)
from mpc.scenario._runtime import AnnouncedSchedule, PlantDisturbances, ScenarioSetup, build_setup
from mpc.scenario._schema import Scenario, Spec

__all__ = [
    "MAX_DURATION_S",
    "AnnouncedSchedule",
    "PlantDisturbances",
    "Scenario",
    "ScenarioError",
    "ScenarioSetup",
    "Spec",
    "build_setup",
    "late_events",
    "load_scenario",
    "resolve_scenario_path",
    "run_duration_s",
    "scenario_from_dict",
    "warmup_used_s",
    "warn_about_duration",
]
