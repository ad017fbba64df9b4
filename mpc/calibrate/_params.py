"""Named physical parameters as decision variables of the calibration.

A parameter is named ``group.field`` of :class:`~plants.params.LineParams`
(``dryer.heat_transfer_multiplier``). Only float fields with a plausible
range in the parameter metadata can be estimated; that range is the bound
of the estimate. :func:`symbolic_params` puts CasADi symbols in place of the
named values (bypassing the float validation on purpose, for the symbolic
model only), so the physics of :mod:`plants.line` is used unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import Any

from mpc.calibrate._errors import CalibrationError
from plants.params import LineParams

__all__ = ["ParamSpec", "calibratable_names", "parse_params", "symbolic_params"]

_GROUPS = ("solvent", "coater", "dryer", "building")


@dataclass(frozen=True)
class ParamSpec:
    """One estimated parameter: its name, unit, nominal (start) value and bounds."""

    name: str
    group: str
    field: str
    unit: str
    nominal: float
    lower: float
    upper: float
    doc: str


def calibratable_names(base: LineParams) -> list[str]:
    """Every ``group.field`` that :func:`parse_params` accepts."""
    out = []
    for g in _GROUPS:
        obj = getattr(base, g)
        for f in fields(obj):
            # float parameters with a plausible range, except model settings marked not calibratable
            if ("range" in f.metadata and f.metadata.get("calibratable", True)
                    and isinstance(getattr(obj, f.name), float)):
                out.append(f"{g}.{f.name}")
    return out


def parse_params(text: str | list[str], base: LineParams) -> list[ParamSpec]:
    """``"dryer.heat_transfer_multiplier,dryer.critical_content_kg_kg"`` -> specs (validated)."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not names:
        raise CalibrationError("--params: expected at least one parameter, e.g. dryer.heat_transfer_multiplier")
    if len(set(names)) != len(names):
        raise CalibrationError(f"--params {','.join(names)}: a parameter is named twice")
    known = calibratable_names(base)
    specs = []
    for name in names:
        if name not in known:
            group = name.split(".")[0]
            close = [k for k in known if k.startswith(group + ".")] or known
            raise CalibrationError(
                f"--params: unknown or non-calibratable parameter {name!r}; expected group.field with a "
                f"float value, e.g. {', '.join(close[:8])}{' ...' if len(close) > 8 else ''}"
            )
        g, fname = name.split(".", 1)
        obj = getattr(base, g)
        meta = next(f.metadata for f in fields(obj) if f.name == fname)
        lo, hi = meta["range"]
        nominal = float(getattr(obj, fname))
        if g == "dryer" and fname == "critical_content_kg_kg":
            lo = max(lo, base.dryer.equilibrium_content_kg_kg * 1.5 + 1e-6)
        if nominal == 0.0:
            raise CalibrationError(f"--params: {name} is 0 in the base parameters; calibration scales by it")
        specs.append(ParamSpec(name, g, fname, meta.get("unit", ""), nominal, float(lo), float(hi), meta.get("doc", "")))
    return specs


def symbolic_params(base: LineParams, specs: list[ParamSpec], values: list[Any]) -> LineParams:
    """A copy of ``base`` whose named fields hold ``values`` (e.g. CasADi symbols), unvalidated."""
    groups: dict[str, Any] = {}
    for spec, v in zip(specs, values, strict=True):
        obj = groups.get(spec.group) or copy.copy(getattr(base, spec.group))
        object.__setattr__(obj, spec.field, v)
        groups[spec.group] = obj
    out = copy.copy(base)
    for g, obj in groups.items():
        object.__setattr__(out, g, obj)
    return out
