"""Parameter files: a TOML file of named physical parameters applied to a preset.

A parameter file holds groups of the :class:`~plants.params.LineParams`
(``[dryer]``, ``[coater]``, ``[solvent]``, ``[building]``) with the fields it
changes, and an optional ``[calibration]`` table of metadata that
``calmline calibrate`` writes (source log, window, confidence intervals,
date, preset). Only the groups change parameters; ``[calibration]`` is
never applied. Example::

    [dryer]
    heat_transfer_multiplier = 0.93

    [calibration]
    preset = "nmc_nmp"
    source_log = "runs/steptest/timeseries.parquet"

:func:`load_params_file` applies a file to a base parameter set (a preset or
a scenario's model parameters) and checks every value through the
parameter classes' own validation: an unknown group or field, a value that
is not a number, or one outside the plausible range raises
:class:`~plants.params.ParameterError` naming the file and the field.
:func:`write_params_file` writes one (and refuses to overwrite a file unless
told to).
"""

from __future__ import annotations

import datetime as _dt
import math
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from plants.params import LineParams, ParameterError

__all__ = ["PARAM_GROUPS", "load_params_file", "read_params_file", "write_params_file"]

PARAM_GROUPS = ("solvent", "coater", "dryer", "building")
"""Tables of a parameter file that change parameters."""

_META = "calibration"


def read_params_file(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``(groups, metadata)`` of a parameter file, checked for structure only."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"parameter file {str(p)!r} not found")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{p}: not a text (TOML) file") from None
    groups: dict[str, dict[str, Any]] = {}
    meta: dict[str, Any] = {}
    for key, value in data.items():
        if key == _META:
            if not isinstance(value, dict):
                raise ParameterError(f"{p}: [{_META}] must be a table")
            meta = value
            continue
        if key not in PARAM_GROUPS:
            raise ParameterError(
                f"{p}: unknown table or key {key!r}; expected the groups {', '.join(PARAM_GROUPS)} "
                f"and an optional [{_META}] table"
            )
        if not isinstance(value, dict):
            raise ParameterError(f"{p}: {key} must be a table ([{key}]), got {type(value).__name__}")
        groups[key] = dict(value)
    if not any(groups.values()):
        raise ParameterError(f"{p}: no parameters (expected e.g. [dryer] heat_transfer_multiplier = 0.93)")
    return groups, meta


def load_params_file(path: str | Path, base: LineParams) -> LineParams:
    """``base`` with the parameters of the file at ``path`` applied (validated).

    Raises :class:`~plants.params.ParameterError` naming the file and the field
    for an unknown group or field, a value of the wrong type, a value outside
    the plausible range, or a file calibrated for another preset.
    """
    p = Path(path)
    groups, meta = read_params_file(p)
    preset = meta.get("preset")
    if preset is not None and preset != base.name:
        raise ParameterError(
            f"{p}: calibrated for preset {preset!r}, but the parameters it is applied to are {base.name!r}"
        )
    for g, changes in groups.items():
        known = {f.name: f for f in fields(getattr(base, g))}
        for k, v in changes.items():
            if k not in known:
                raise ParameterError(f"{p}: unknown parameter {g}.{k}; known in [{g}]: {', '.join(sorted(known))}")
            current = getattr(getattr(base, g), k)
            if isinstance(current, bool) or isinstance(v, bool):
                ok = isinstance(v, bool) and isinstance(current, bool)
            elif isinstance(current, int) and not isinstance(current, bool):
                ok = isinstance(v, int)
            elif isinstance(current, float):
                ok = isinstance(v, int | float)
            else:
                ok = isinstance(v, type(current))
            if not ok:
                raise ParameterError(
                    f"{p}: {g}.{k} = {v!r}: expected a value of type {type(current).__name__} "
                    f"(like the preset's {current!r})"
                )
            if isinstance(current, float):
                changes[k] = float(v)
    try:
        return base.replace(**groups)
    except ParameterError as exc:
        raise ParameterError(f"{p}: {exc}") from None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return '"nan"' if math.isnan(v) else ('"inf"' if v > 0 else '"-inf"')
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(name: str, data: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    out.append(f"[{name}]")
    for k, v in scalars.items():
        out.append(f"{_quote_key(k)} = {_toml_value(v)}")
    out.append("")
    for k, v in tables.items():
        _table(f"{name}.{_quote_key(k)}", v, out)


def _quote_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'


def write_params_file(
    path: str | Path,
    groups: dict[str, dict[str, Any]],
    metadata: dict[str, Any] | None = None,
    *,
    header: str = "",
    force: bool = False,
) -> Path:
    """Write a parameter file; refuse to replace an existing file unless ``force``."""
    p = Path(path)
    if p.exists() and not force:
        raise FileExistsError(f"{p} exists; choose another file or use --force (calmline never overwrites your files)")
    for g in groups:
        if g not in PARAM_GROUPS:
            raise ParameterError(f"unknown parameter group {g!r}: expected one of {', '.join(PARAM_GROUPS)}")
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if lines:
        lines.append("")
    for g, changes in groups.items():
        _table(g, changes, lines)
    if metadata:
        _table(_META, metadata, lines)
    text = "\n".join(lines).rstrip() + "\n"
    tomllib.loads(text)  # what we write must read back
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p
