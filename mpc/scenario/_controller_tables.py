"""The ``[controllers.NAME]`` tables of a scenario, each checked against its controller's settings class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mpc.scenario._controller_settings import PidOptSettings, PidSettings, RecipeSettings
from mpc.scenario._lmpc_settings import LmpcSettings
from mpc.scenario._nmpc_settings import NmpcSettings
from mpc.scenario._settings import Settings, SettingsError

__all__ = ["CONTROLLER_SETTINGS", "check_controller_tables", "controller_settings"]

CONTROLLER_SETTINGS: dict[str, type[Settings]] = {
    "recipe": RecipeSettings,
    "pid": PidSettings,
    "pid_opt": PidOptSettings,
    "nmpc": NmpcSettings,
    "lmpc": LmpcSettings,
}
"""The settings class of every controller a scenario may configure, by its ``--controller`` name."""


def controller_settings(name: str, values: Mapping[str, Any], *, source: str = "<scenario>") -> Settings:
    """The settings of controller ``name`` from its ``[controllers.NAME]`` table.

    Raises
    ------
    SettingsError
        ``name`` is not a controller with settings (the message lists those that are), or the
        table has an unknown key, a wrong type or a value out of range.
    """
    try:
        cls = CONTROLLER_SETTINGS[name]
    except KeyError:
        raise SettingsError(
            f"{source}: [controllers.{name}]: unknown controller {name!r}; "
            f"known: {', '.join(CONTROLLER_SETTINGS)}"
        ) from None
    return cls.from_mapping(values, where=f"[controllers.{name}]", source=source)


def check_controller_tables(tables: Mapping[str, Any], source: str = "<scenario>") -> None:
    """Check every ``[controllers.NAME]`` table of a scenario (see :func:`controller_settings`)."""
    for name, values in tables.items():
        controller_settings(name, values, source=source)
