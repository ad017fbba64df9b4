"""The OPC UA tag map: which node carries each calmline signal (``scenarios/data/opcua/line.toml``).

A tag map is a TOML file with a ``namespace_uri`` and six tables (``measurements``, ``setpoints``,
``loops``, ``applied``, ``line``, ``controller``) and an optional seventh (``supervisor``: the mailbox between an
edge controller and the supervisory layer that publishes its economic target), each mapping a calmline name to
``{ node = "...", unit = "..." }``. A name with ``{i}`` stands for every dryer zone (``docs/opcua.md``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mpc.errors import CalmlineError

__all__ = ["DEFAULT_TAG_MAP", "KINDS", "OPTIONAL_KINDS", "Tag", "TagMap", "TagMapError", "load_tag_map"]

KINDS = ("measurements", "setpoints", "loops", "applied", "line", "controller", "supervisor")
"""The tables of a tag map, one per kind of signal."""

OPTIONAL_KINDS = ("supervisor",)
"""The tables a tag map may leave out (a line without a supervisory layer's mailbox)."""

DEFAULT_TAG_MAP = "line.toml"
"""The shipped tag map, in ``scenarios/data/opcua/``."""

_LINE_SIGNALS = ("cycle", "sim_time_s", "control_interval_s", "lel_limit_frac", "speed_target_m_s",
                 "speed_cap_m_s", "line_stopped", "schedule_json", "scenario", "plc_mode",
                 "watchdog_tripped", "loops_flagged", "last_event", "finished")
_CONTROLLER_SIGNALS = ("heartbeat", "cycle_ack", "written", "release", "solver_failure", "fallback",
                       "solved", "step_time_ms", "name", "info")
_SUPERVISOR_SIGNALS = ("target_request", "target")
"""The mailbox: the edge controller writes ``target_request``, the supervisory layer ``target`` (JSON texts)."""

# the unit each calmline name's suffix implies (the unit is the last part of the name)
_SUFFIX_UNITS = {
    "_kg_m2": "kg/m2", "_kg_kg": "kg/kg", "_K": "K", "_m_s": "m/s", "_m3_s": "m3/s", "_m3_m": "m3/m",
    "_W": "W", "_frac": "1", "_s": "s", "_ms": "ms",
}


class TagMapError(CalmlineError):
    """A tag map is missing, unreadable, or does not cover the line."""


@dataclass(frozen=True)
class Tag:
    """One signal's node.

    Attributes
    ----------
    name : str
        The calmline name (SI unit last), zone index filled in.
    kind : str
        The table it came from (:data:`KINDS`).
    node : str
        The node's string identifier in the map's namespace.
    unit : str
        The engineering unit published with it ("" for text).
    """

    name: str
    kind: str
    node: str
    unit: str


@dataclass(frozen=True)
class TagMap:
    """A tag map expanded for one line (zone names filled in)."""

    namespace_uri: str
    tags: dict[str, dict[str, Tag]]
    source: str

    def of(self, kind: str) -> dict[str, Tag]:
        """The tags of one kind, by calmline name."""
        return self.tags[kind]

    def node(self, kind: str, name: str) -> str:
        """The node identifier of ``name`` (a :class:`TagMapError` naming the map if it has none)."""
        try:
            return self.tags[kind][name].node
        except KeyError:
            raise TagMapError(f"{self.source}: [{kind}] has no entry for {name!r}; expected one of "
                              f"{', '.join(self.tags.get(kind, {})) or '(none)'}") from None


def _expected_unit(name: str) -> str | None:
    for suffix, unit in sorted(_SUFFIX_UNITS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return unit
    return None


def load_tag_map(path: str | Path | None = None, *, n_zones: int, required: dict[str, list[str]]) -> TagMap:
    """Read a tag map and check it covers the line.

    Parameters
    ----------
    path : str or Path, optional
        The TOML file (default: the shipped ``scenarios/data/opcua/line.toml``).
    n_zones : int
        The line's number of dryer zones (``{i}`` is expanded for 1 .. ``n_zones``).
    required : dict
        Per kind, the calmline names the line has (sensors, set points, loops, plant inputs); a
        name the line has and the map lacks, or one the map has and the line lacks, is an error.

    Returns
    -------
    TagMap
    """
    if path is None:
        ref = resources.files("scenarios") / "data" / "opcua" / DEFAULT_TAG_MAP
        text, source = ref.read_text(encoding="utf-8"), f"scenarios/data/opcua/{DEFAULT_TAG_MAP}"
    else:
        p = Path(path)
        if not p.is_file():
            raise TagMapError(f"tag map {p}: no such file")
        text, source = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TagMapError(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - {"namespace_uri", *KINDS})
    if unknown:
        raise TagMapError(f"{source}: unknown key {unknown[0]!r}; expected namespace_uri and the tables "
                          f"{', '.join(KINDS)}")
    uri = raw.get("namespace_uri")
    if not isinstance(uri, str) or not uri:
        raise TagMapError(f"{source}: namespace_uri = {uri!r}: expected a non-empty string")
    req = {**required, "line": list(_LINE_SIGNALS), "controller": list(_CONTROLLER_SIGNALS),
           "supervisor": list(_SUPERVISOR_SIGNALS)}
    tags: dict[str, dict[str, Tag]] = {}
    nodes_seen: dict[str, str] = {}
    for kind in KINDS:
        table = raw.get(kind)
        if table is None and kind in OPTIONAL_KINDS:
            tags[kind] = {}
            continue
        if not isinstance(table, dict):
            raise TagMapError(f"{source}: [{kind}] missing; expected a table of calmline name = "
                              "{ node = ..., unit = ... }")
        out: dict[str, Tag] = {}
        for pattern, entry in table.items():
            where = f"{source}: {kind}.{pattern}"
            if not isinstance(entry, dict) or not isinstance(entry.get("node"), str) or not entry["node"]:
                raise TagMapError(f"{where} = {entry!r}: expected {{ node = \"...\", unit = \"...\" }}")
            extra = sorted(set(entry) - {"node", "unit"})
            if extra:
                raise TagMapError(f"{where}: unknown key {extra[0]!r}; expected node and unit")
            unit = entry.get("unit", "")
            if not isinstance(unit, str):
                raise TagMapError(f"{where}.unit = {unit!r}: expected a string")
            zoned = "{i}" in pattern
            for i in range(1, n_zones + 1) if zoned else [None]:
                name = pattern.replace("{i}", str(i)) if zoned else pattern
                node = entry["node"].replace("{i}", str(i)) if zoned else entry["node"]
                if zoned is False and "{i}" in node:
                    raise TagMapError(f"{where}.node = {node!r}: uses {{i}} but the name has none")
                if not re.fullmatch(r"[A-Za-z0-9_.\-]+", node):
                    raise TagMapError(f"{where}.node = {node!r}: expected letters, digits, '_', '-', '.'")
                want = _expected_unit(name) if kind not in ("loops", "controller", "line", "supervisor") else None
                if want is not None and unit != want:
                    raise TagMapError(f"{where}.unit = {unit!r}: the name ends in its unit, {want!r}")
                if node in nodes_seen:
                    raise TagMapError(f"{where}.node = {node!r}: already the node of {nodes_seen[node]}")
                nodes_seen[node] = f"{kind}.{name}"
                out[name] = Tag(name=name, kind=kind, node=node, unit=unit)
        need = set(req.get(kind, []))
        missing = sorted(need - set(out))
        if missing:
            raise TagMapError(f"{source}: [{kind}] has no entry for {missing[0]!r} (the line has it)"
                              + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        extra_names = sorted(set(out) - need)
        if extra_names:
            raise TagMapError(f"{source}: {kind}.{extra_names[0]}: the line has no such signal; expected "
                              f"one of {', '.join(sorted(need))}")
        tags[kind] = out
    return TagMap(namespace_uri=uri, tags=tags, source=source)
