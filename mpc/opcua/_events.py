"""The OPC UA link's event log: every hand-over, fault, refused write and PLC flag, one JSON line each."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

__all__ = ["Event", "EventLog"]

_log = logging.getLogger("calmline.opcua")


@dataclass(frozen=True)
class Event:
    """One logged event.

    Attributes
    ----------
    t_s : float
        Simulated time, s (NaN where the line's clock is not known, as a client's reconnect).
    wall_s : float
        Wall-clock time (Unix), s.
    source : str
        Who logged it: ``line`` (the server), ``plc``, ``security``, ``fault``, ``controller``.
    what : str
        One word: ``remote``, ``stale``, ``watchdog``, ``clamped``, ``refused``, ``link_down`` ...
    detail : str
        In words.
    value : float
        The event's figure where it has one (a watchdog trip: seconds since the last heartbeat),
        else NaN.
    """

    t_s: float
    wall_s: float
    source: str
    what: str
    detail: str = ""
    value: float = math.nan


class EventLog:
    """Events kept in memory and, with ``path``, appended to a JSON-lines file as they happen."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.events: list[Event] = []
        self._fh: IO[str] | None = Path(path).open("a", encoding="utf-8") if path is not None else None

    def log(self, t_s: float, source: str, what: str, detail: str = "", value: float = math.nan) -> Event:
        """Record one event (and log it on the ``calmline.opcua`` logger)."""
        ev = Event(float(t_s), time.time(), source, what, detail, float(value))
        self.events.append(ev)
        _log.info("t = %s s %s %s %s", "?" if math.isnan(ev.t_s) else f"{ev.t_s:.0f}", source, what, detail)
        if self._fh is not None:
            rec = asdict(ev)
            rec["t_s"] = None if math.isnan(ev.t_s) else ev.t_s
            rec["value"] = None if math.isnan(ev.value) else ev.value
            self._fh.write(json.dumps(rec) + "\n")
            self._fh.flush()
        return ev

    def of(self, what: str, source: str | None = None) -> list[Event]:
        """The events of one kind (and source)."""
        return [e for e in self.events if e.what == what and (source is None or e.source == source)]

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
