"""Load and validate scenario files, with errors naming the file, the key and the value."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mpc.errors import CalmlineError
from mpc.scenario._schema import Scenario

__all__ = ["ScenarioError", "load_scenario", "resolve_scenario_path", "scenario_from_dict"]


class ScenarioError(CalmlineError):
    """A scenario file is missing, unreadable or invalid."""


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def scenario_from_dict(data: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a nested dict; errors name ``source``."""
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = _key_path(loc)
            if err["type"] == "extra_forbidden":
                lines.append(f"{source}: unknown key '{key}'")
            elif err["type"] == "missing":
                lines.append(f"{source}: missing key '{key}'")
            else:
                val = _lookup(data, loc)
                shown = f" = {val!r}" if val is not None and not isinstance(val, dict) else ""
                where = f"'{key}'{shown}" if key else "scenario"
                lines.append(f"{source}: {where}: {err['msg']}")
        raise ScenarioError("\n".join(lines)) from None
    _check_zones(sc, source)
    return sc


def _check_zones(sc: Scenario, source: str) -> None:
    from plants.presets import get_preset

    n = get_preset(sc.preset).dryer.n_zones
    if len(sc.recipe.air_temp_K) != n:
        raise ScenarioError(
            f"{source}: 'recipe.air_temp_K' has {len(sc.recipe.air_temp_K)} values; preset {sc.preset} has {n} zones"
        )
    d = sc.disturbances
    for group, events in (("heater_efficiency", d.heater_efficiency), ("fan_flow_factor", d.fan_flow_factor),
                          ("analyser_faults", d.analyser_faults)):
        for i, ev in enumerate(events):
            if ev.zone > n:
                raise ScenarioError(
                    f"{source}: 'disturbances.{group}[{i}].zone' = {ev.zone}: the line has zones 1-{n}"
                )


def resolve_scenario_path(path: str | Path) -> Path:
    """A scenario file's path: ``path`` itself, or the shipped scenario of that name.

    ``"nmc_nmp_nominal"`` (no such file here, no folder, no suffix) is the
    shipped ``scenarios/nmc_nmp_nominal.toml``, so that an installed calmline
    runs its scenarios from any folder (``calmline scenarios list`` names them).
    """
    p = Path(path)
    if p.is_file() or p.suffix or len(p.parts) != 1:
        return p
    from scenarios import shipped_path

    shipped = shipped_path(f"{p.name}.toml")
    return shipped if shipped.is_file() else p


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file (or a shipped scenario by name, see :func:`resolve_scenario_path`)."""
    p = resolve_scenario_path(path)
    if not p.is_file():
        raise ScenarioError(
            f"scenario file {str(p)!r} not found (a shipped scenario is named without .toml; "
            "`calmline scenarios list` lists them)"
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML: {exc}") from None
    sc = scenario_from_dict(data, source=str(p))
    pf = sc.mismatch.model_params_file
    if pf is not None and not Path(pf).is_absolute():
        # a parameter file named in a scenario is relative to the scenario file
        mm = sc.mismatch.model_copy(update={"model_params_file": str((p.parent / pf).resolve())})
        sc = sc.model_copy(update={"mismatch": mm})
    return sc
