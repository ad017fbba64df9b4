"""The line over OPC UA: the simulated line as a server, a controller's client, the link's security and a
live view (``docs/opcua.md``).

``calmline line serve`` runs :class:`LineServer` (plant + PLC, :class:`mpc.harness.SimulatedLine`);
``calmline line control`` and ``calmline edge run`` run :class:`LineClient`; ``calmline edge target`` runs
:class:`TargetPublisher`, the NMPC's economic target as a supervisory layer on the line; the tag map
(``scenarios/data/opcua/line.toml``) binds calmline's signals to nodes.

The live view (:func:`start_live_view`, with aiohttp and matplotlib) is loaded on first use: a controller's client
on an edge PC imports neither.
"""

import importlib
from typing import Any

from mpc.opcua._client import ClientSummary, LineClient, LinkError
from mpc.opcua._events import Event, EventLog
from mpc.opcua._faults import (
    CLIENT_FAULTS,
    SERVER_FAULTS,
    Fault,
    FaultError,
    FaultPlan,
    load_faults,
)
from mpc.opcua._handover import Handover, handovers
from mpc.opcua._publisher import PublisherSummary, TargetPublisher
from mpc.opcua._run import EVENTS_FILE, LiveTap, control_line, publish_targets, serve_line
from mpc.opcua._security import make_certificates
from mpc.opcua._server import LineServer, Pacing, line_tag_map
from mpc.opcua._tagmap import DEFAULT_TAG_MAP, Tag, TagMap, TagMapError, load_tag_map
from mpc.opcua._targets import LineTargets

__all__ = [
    "CLIENT_FAULTS",
    "DEFAULT_TAG_MAP",
    "EVENTS_FILE",
    "SERVER_FAULTS",
    "ClientSummary",
    "Event",
    "EventLog",
    "Fault",
    "FaultError",
    "FaultPlan",
    "Handover",
    "LineClient",
    "LineServer",
    "LineTargets",
    "LinkError",
    "LiveHistory",
    "LiveSample",
    "LiveTap",
    "Pacing",
    "PublisherSummary",
    "Tag",
    "TagMap",
    "TagMapError",
    "TargetPublisher",
    "control_line",
    "handovers",
    "line_tag_map",
    "live_view_app",
    "load_faults",
    "load_tag_map",
    "make_certificates",
    "publish_targets",
    "serve_line",
    "start_live_view",
]


_LAZY = {name: "mpc.opcua._liveview" for name in ("LiveHistory", "LiveSample", "live_view_app", "start_live_view")}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
