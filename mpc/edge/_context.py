"""A controller's context as plain JSON: what an edge artifact carries so that the edge PC builds nothing.

:func:`to_plain` writes dataclasses, pydantic models, numpy arrays and tuples as JSON-able values;
:func:`from_plain` reads them back by the type hints of the class asked for (no pickles: nothing is executed that
the hints do not name). ``calmline export`` writes the :class:`mpc.interfaces.ControllerContext` the controller was
built with and what the line-side client checks the line against (``line.json``, :func:`line_manifest`); the edge
runtime reads it back (:func:`read_line`) instead of building the scenario, whose recipe is a CasADi solve.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np

from mpc.edge._artifact import ArtifactError, read_artifact
from mpc.interfaces import ControllerContext

__all__ = ["LINE_FILE", "LineSide", "from_plain", "read_line", "to_plain", "write_line"]


def to_plain(obj: Any, *, finite: bool = False) -> Any:
    """``obj`` as JSON-able values: dataclasses and pydantic models as dicts of their fields, arrays and tuples as
    lists, numpy scalars as Python's. Non-finite floats stay floats (Python's JSON writes them as NaN/Infinity),
    or with ``finite`` become ``None`` (strict JSON)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name), finite=finite) for f in dataclasses.fields(obj) if f.init}
    if hasattr(obj, "model_dump") and hasattr(type(obj), "model_fields"):
        return {k: to_plain(getattr(obj, k), finite=finite) for k in type(obj).model_fields}
    if isinstance(obj, np.ndarray):
        return [to_plain(v, finite=finite) for v in obj.tolist()]
    if isinstance(obj, tuple | list):
        return [to_plain(v, finite=finite) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v, finite=finite) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if finite and isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def from_plain(tp: Any, value: Any) -> Any:
    """The object of type ``tp`` that :func:`to_plain` wrote as ``value`` (dataclasses, pydantic models, arrays,
    tuples, mappings, unions, literals and scalars, as the type hints say)."""
    if tp is Any or tp is object:
        return value
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return from_plain(a, value)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(exc)
        raise TypeError(f"{value!r}: none of {tp} ({errors})")
    if origin is Literal:
        if value not in get_args(tp):
            raise ValueError(f"{value!r}: expected one of {get_args(tp)}")
        return value
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], v) for v in value)
        if not args:
            return tuple(value)
        if len(args) != len(value):
            raise ValueError(f"{value!r}: expected {len(args)} items")
        return tuple(from_plain(a, v) for a, v in zip(args, value, strict=True))
    if origin in (list,):
        (a,) = get_args(tp) or (Any,)
        return [from_plain(a, v) for v in value]
    if origin in (dict, Mapping) or tp in (dict,):
        args = get_args(tp) or (str, Any)
        return {k: from_plain(args[1], v) for k, v in value.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            hints = get_type_hints(tp)
            kw = {f.name: from_plain(hints[f.name], value[f.name])
                  for f in dataclasses.fields(tp) if f.init and f.name in value}
            return tp(**kw)
        if hasattr(tp, "model_validate"):
            return tp.model_validate(value)
        if issubclass(tp, np.ndarray):
            return np.asarray(value, float)
        if tp is float:
            return float(value)
        if tp is bool:
            if not isinstance(value, bool):
                raise TypeError(f"{value!r}: expected true or false")
            return value
        if tp in (int, str):
            return tp(value)
    raise TypeError(f"cannot read a value of type {tp!r} ({value!r})")


LINE_FILE = "line.json"
"""The artifact's file of the line it was exported for (:class:`LineSide`)."""


@dataclass(frozen=True)
class LineSide:
    """What a line-side client needs of the line and its controller, without building the scenario.

    Parameters
    ----------
    scenario : str
        The scenario's name (the line announces its own; the client reports both on a mismatch).
    watchdog_s : float
        The PLC's heartbeat watchdog, s (``[plc] watchdog_s``).
    plc_input_names, plc_writable_names : tuple of str
        The plant inputs the PLC drives (read back as ``applied``) and the set points it accepts.
    n_zones : int
        The dryer's zones (the tag map's ``{i}``).
    context : ControllerContext
        What the controller is reset with (its model parameters, recipe, specification, plan, bounds, PLC loops
        and settings).
    source : str
        Where it was built from (a scenario file, or an artifact's ``line.json``).
    """

    scenario: str
    watchdog_s: float
    plc_input_names: tuple[str, ...]
    plc_writable_names: tuple[str, ...]
    n_zones: int
    context: ControllerContext
    source: str

    @property
    def control_interval_s(self) -> float:
        """The control interval, s."""
        return float(self.context.dt_s)


def write_line(side: LineSide, path: Path) -> None:
    """Write ``side`` as JSON (:func:`to_plain`) into ``path``."""
    path.write_text(json.dumps(to_plain(side), sort_keys=True, indent=1) + "\n", encoding="utf-8")


def read_line(artifact: str | Path) -> LineSide:
    """The line an artifact was exported for (its ``line.json``, checked with every other file first).

    Raises
    ------
    ArtifactError
        The artifact fails :func:`mpc.edge.read_artifact`, has no ``line.json`` (exported by an older calmline),
        or the file does not read as a line.
    """
    art = read_artifact(artifact, "ocp")
    path = Path(artifact) / LINE_FILE
    if LINE_FILE not in art.manifest.get("files", {}):
        raise ArtifactError(f"{path}: missing (the artifact was exported by an older calmline): export it again, "
                            "or give the scenario it was exported on")
    try:
        side = from_plain(LineSide, json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(f"{path}: not a line as calmline export writes it ({type(exc).__name__}: {exc})") from None
    # errors name the file on this machine, not the design machine's scenario
    return dataclasses.replace(side, source=str(path), context=dataclasses.replace(side.context, source=str(path)))
