"""Scenarios: the TOML format, validation, controller settings, and the run-time objects built from it."""

from mpc.scenario._check import check_actuator_ranges, load_scenario, scenario_from_dict
from mpc.scenario._controller_settings import (
    PidOptSettings,
    PidSettings,
    RecipeSettings,
    SupervisorSettings,
)
from mpc.scenario._controller_tables import (
    CONTROLLER_SETTINGS,
    check_controller_tables,
    controller_settings,
)
from mpc.scenario._duration import (
    MAX_DURATION_S,
    late_events,
    run_duration_s,
    warmup_used_s,
    warn_about_duration,
)
from mpc.scenario._lmpc_settings import LmpcSettings
from mpc.scenario._load import ScenarioError, resolve_scenario_path
from mpc.scenario._nmpc_settings import (
    EstimatorSettings,
    ModelSettings,
    NmpcSettings,
    OcpSettings,
    TargetSettings,
)
from mpc.scenario._runtime import AnnouncedSchedule, PlantDisturbances, ScenarioSetup, build_setup
from mpc.scenario._schema import Scenario, Spec
from mpc.scenario._settings import (
    SettingRow,
    Settings,
    SettingsError,
    field_docs,
    setting,
    settings_rows,
    settings_tables,
)

__all__ = [
    "CONTROLLER_SETTINGS",
    "MAX_DURATION_S",
    "AnnouncedSchedule",
    "EstimatorSettings",
    "LmpcSettings",
    "ModelSettings",
    "NmpcSettings",
    "OcpSettings",
    "PidOptSettings",
    "PidSettings",
    "PlantDisturbances",
    "RecipeSettings",
    "Scenario",
    "ScenarioError",
    "ScenarioSetup",
    "SettingRow",
    "Settings",
    "SettingsError",
    "Spec",
    "SupervisorSettings",
    "TargetSettings",
    "build_setup",
    "check_actuator_ranges",
    "check_controller_tables",
    "controller_settings",
    "field_docs",
    "late_events",
    "load_scenario",
    "resolve_scenario_path",
    "run_duration_s",
    "scenario_from_dict",
    "setting",
    "settings_rows",
    "settings_tables",
    "warmup_used_s",
    "warn_about_duration",
]
