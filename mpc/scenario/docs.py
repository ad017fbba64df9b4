"""Generate the scenario reference page (``docs/scenarios.md``) from the schema.

Run ``python -m mpc.scenario.docs > docs/scenarios.md``; a test checks the
committed page is current.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mpc.scenario import _schema as S

__all__ = ["scenario_reference_markdown"]

_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", S.Scenario),
    ("[seeds]", S.Seeds),
    ("[spec]", S.Spec),
    ("[recipe]", S.Recipe),
    ("[start]", S.Start),
    ("[schedule]", S.Schedule),
    ("[[schedule.speed_changes]]", S.SpeedChange),
    ("[disturbances]", S.Disturbances),
    ("[disturbances.weather]", S.Weather),
    ("[disturbances.slurry]", S.Slurry),
    ("[[disturbances.slurry.batch_changes]]", S.BatchChange),
    ("[[disturbances.heater_efficiency]] and [[disturbances.fan_flow_factor]]", S.ZoneEvent),
    ("[[disturbances.line_stops]]", S.LineStop),
    ("[[disturbances.analyser_faults]]", S.AnalyserFault),
    ("[disturbances.process_noise]", S.ProcessNoise),
    ("[sensors]", S.SensorSettings),
    ("[mismatch]", S.Mismatch),
    ("[energy]", S.Energy),
    ("[plc]", S.PlcConfig),
]


def _element(ann: object) -> tuple[object, list[object]]:
    """A ``list[Annotated[T, ...]]``'s element type ``T`` and its constraints (else ``(ann, [])``); optional too."""
    args = typing.get_args(ann)
    if len(args) == 2 and type(None) in args:  # ``X | None``
        inner, meta = _element(next(a for a in args if a is not type(None)))
        return inner | None, meta  # type: ignore[operator]
    if typing.get_origin(ann) is list and args and typing.get_origin(args[0]) is typing.Annotated:
        inner, *meta = typing.get_args(args[0])
        return list[inner], [m for info in meta for m in getattr(info, "metadata", [info])]  # type: ignore[valid-type]
    return ann, []


def _type_name(ann: object) -> str:
    ann = _element(ann)[0]
    s = str(ann).replace("typing.", "")
    s = s.replace("mpc.scenario._schema.", "").replace("plants.plc._config.", "")
    s = s.replace("<class '", "").replace("'>", "")
    if typing.get_origin(ann) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(ann))
    return s.replace(" | ", " or ").replace("|", " or ")


def _bounds(metadata: list[object]) -> list[str]:
    parts = []
    for m in metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return parts


def _constraints(f: FieldInfo) -> str:
    return ", ".join(_bounds(f.metadata) + [f"each {b}" for b in _bounds(_element(f.annotation)[1])])


def _default(f: FieldInfo) -> str:
    if f.default is PydanticUndefined and f.default_factory is None:
        return "required"
    if f.default_factory is not None:
        return "(table defaults)" if isinstance(f.default_factory, type) else "[]"
    return repr(f.default)


def scenario_reference_markdown() -> str:
    """The reference page: every key, its type, default, allowed range and meaning."""
    out = [
        "# Scenario file reference",
        "",
        "Generated from `mpc/scenario/_schema.py` by `python -m mpc.scenario.docs`; do not edit by hand.",
        "",
        "A scenario is one TOML file; every top-level `scenarios/*.toml` is complete and runnable.",
        "Unknown keys are errors (the message names the file and the key). Units are SI and in the key",
        "names. What is **announced** (the `[schedule]`, batch changes with `announced = true`, planned",
        "stops) controllers may read ahead; everything under `[disturbances]` that is not announced they",
        "never see before it happens.",
        "",
    ]
    for title, model in _SECTIONS:
        out.append(f"## {title}")
        out.append("")
        doc = (model.__doc__ or "").strip().splitlines()[0]
        out.append(doc)
        out.append("")
        out.append("| key | type | default | allowed | meaning |")
        out.append("|---|---|---|---|---|")
        for name, f in model.model_fields.items():
            out.append(
                f"| `{name}` | {_type_name(f.annotation)} | {_default(f)} | {_constraints(f)} | "
                f"{(f.description or '').replace('|', '/')} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(scenario_reference_markdown())
