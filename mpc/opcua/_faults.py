"""Faults injected into an OPC UA run, at times in simulated seconds (``docs/opcua.md``, "Faults").

A fault file is TOML with ``[[faults]]`` entries::

    [[faults]]
    kind = "link_loss"      # the line drops every client and refuses new ones
    start_s = 300.0
    duration_s = 30.0

The line (``calmline line serve --faults``) injects ``link_loss``, ``stale_tags`` (the named
measurement tags stop updating: value and source timestamp frozen) and ``nan_tag`` (the named
measurement tags read NaN while the line calls them healthy); the controller's client
(``calmline line control`` / ``calmline edge run --faults``) injects ``stall`` (the controller
stops answering: no set points, no heartbeat) and ``out_of_range`` (each named set point is
written at ``value`` instead of the controller's, once, at the first interval the controller
answers at or after ``start_s``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mpc.errors import CalmlineError

__all__ = ["CLIENT_FAULTS", "SERVER_FAULTS", "Fault", "FaultError", "FaultPlan", "load_faults"]

SERVER_FAULTS = ("link_loss", "stale_tags", "nan_tag")
"""The faults the line's server injects."""
CLIENT_FAULTS = ("stall", "out_of_range")
"""The faults the controller's client injects."""


class FaultError(CalmlineError):
    """A fault file is missing or invalid."""


class Fault(BaseModel):
    """One injected fault."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["link_loss", "stale_tags", "nan_tag", "stall", "out_of_range"] = Field(
        description="what goes wrong (see the module docstring)")
    start_s: float = Field(ge=0.0, description="when it starts, simulated s")
    duration_s: float = Field(0.0, ge=0.0, description="how long it lasts, simulated s (out_of_range: unused)")
    tags: tuple[str, ...] = Field(
        (), description="stale_tags, nan_tag: the measurement names; out_of_range: the set point names")
    value: float | None = Field(None, description="out_of_range: the value written, SI")

    @model_validator(mode="after")
    def _check(self) -> Fault:
        if self.kind in ("stale_tags", "nan_tag", "out_of_range") and not self.tags:
            raise ValueError(f"kind = {self.kind!r}: expected tags = [names]")
        if self.kind == "out_of_range" and self.value is None:
            raise ValueError("kind = 'out_of_range': expected value = the number written")
        if self.kind in ("link_loss", "stale_tags", "nan_tag", "stall") and self.duration_s <= 0.0:
            raise ValueError(f"kind = {self.kind!r}: expected duration_s > 0")
        return self

    def active(self, t_s: float) -> bool:
        """The fault holds at ``t_s`` (``out_of_range``: only in the interval it starts)."""
        return self.start_s <= t_s < self.start_s + max(self.duration_s, 1e-9)


class FaultPlan(BaseModel):
    """Every fault of a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    faults: tuple[Fault, ...] = ()

    def server_side(self) -> tuple[Fault, ...]:
        """The faults the line injects."""
        return tuple(f for f in self.faults if f.kind in SERVER_FAULTS)

    def client_side(self) -> tuple[Fault, ...]:
        """The faults the controller's client injects."""
        return tuple(f for f in self.faults if f.kind in CLIENT_FAULTS)

    def active(self, kind: str, t_s: float) -> list[Fault]:
        """The faults of ``kind`` that hold at ``t_s``."""
        return [f for f in self.faults if f.kind == kind and f.active(t_s)]


def load_faults(path: str | Path) -> FaultPlan:
    """Read a fault file; a :class:`FaultError` names the file, the entry and the value."""
    p = Path(path)
    if not p.is_file():
        raise FaultError(f"fault file {p}: no such file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FaultError(f"{p}: not valid TOML ({exc})") from None
    try:
        return FaultPlan.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in err["loc"]).replace(".[", "[")
        raise FaultError(f"{p}: {loc}: {err['msg']} (got {err.get('input')!r})") from None
