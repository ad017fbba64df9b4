"""The column mapping of a plant log (TOML), validated with pydantic (unknown keys are errors).

A mapping says which column of the log holds each disturbance channel and
in which unit, how the time stamps are read, and how gaps are treated.
Every key has a default: an empty mapping reads the default columns
(``docs/historian.md`` lists them)::

    [time]
    column = "timestamp"
    timezone = ""                # stamps carry a UTC offset; or "America/New_York", "+02:00", "UTC"

    [gaps]
    max_gap_s = 300.0            # longer gaps: an error, or split the log (on_long_gap = "split")

    [channels.outdoor_temp]
    column = "OAT"
    unit = "degF"
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mpc.historian._errors import MappingError
from mpc.historian._units import CHANNELS, unit_names

__all__ = [
    "ChannelMap",
    "GapSettings",
    "LogMapping",
    "TimeSettings",
    "default_mapping",
    "load_mapping",
    "mapping_from_dict",
    "resolve_timezone",
]

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_timezone(name: str) -> _dt.tzinfo:
    """A time zone from an IANA name (``"Europe/Berlin"``), ``"UTC"`` or a fixed offset (``"+02:00"``).

    Raises
    ------
    ValueError
        The name is neither.
    """
    s = name.strip()
    if s.upper() in ("UTC", "Z"):
        return _dt.UTC
    m = _OFFSET.match(s)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        hours, minutes = int(m.group(2)), int(m.group(3))
        if hours > 23 or minutes > 59:
            raise ValueError(f"time zone {name!r}: offset out of range")
        return _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
    try:
        return zoneinfo.ZoneInfo(s)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is unknown: expected an IANA name such as 'America/New_York', "
            "'UTC' or a fixed offset such as '+02:00'"
        ) from None


class TimeSettings(_Model):
    """How the time stamps are read."""

    column: str = Field("timestamp", min_length=1, description="column of the time stamps")
    timezone: str = Field(
        "",
        description="time zone of stamps without a UTC offset: an IANA name, 'UTC' or '+HH:MM'; "
        "'' = every stamp must carry its offset",
    )
    format: str = Field(
        "", description="strptime format of the stamps (e.g. '%d.%m.%Y %H:%M'); '' = ISO 8601"
    )

    @model_validator(mode="after")
    def _zone(self) -> TimeSettings:
        if self.timezone:
            resolve_timezone(self.timezone)
        return self


class GapSettings(_Model):
    """What happens to missing rows and missing values."""

    max_gap_s: float = Field(
        300.0, ge=0.0, description="longest time gap between rows, and longest NaN run, that is interpolated"
    )
    on_long_gap: Literal["error", "split"] = Field(
        "error", description="a longer time gap: an error, or split the log into segments replayed one by one"
    )
    min_segment_s: float = Field(
        600.0, ge=0.0, description="with 'split': segments shorter than this are left out (and reported)"
    )


class ChannelMap(_Model):
    """Where one disturbance channel is in the log (defaults per channel: docs/historian.md)."""

    column: str = Field("", description="column of the channel ('' = none); for a per-zone channel: all zones")
    zone_columns: str = Field(
        "", description="per-zone channels only: pattern of per-zone columns, {zone} = zone number from 1"
    )
    unit: str = Field(description="unit of the column's values")
    required: bool = Field(description="the log must have the column")
    interpolation: Literal["linear", "hold"] = Field(description="resampling between rows")


class LogMapping(_Model):
    """A complete column mapping (every channel present, with its defaults filled in)."""

    description: str = Field("", description="what log format this mapping is for")
    time: TimeSettings = Field(default_factory=TimeSettings)
    gaps: GapSettings = Field(default_factory=GapSettings)
    channels: dict[str, ChannelMap] = Field(description="one entry per channel of mpc.historian.CHANNELS")
    source: str = Field("<default mapping>", description="file the mapping came from (set by the loader)")

    @model_validator(mode="after")
    def _check(self) -> LogMapping:
        for name, ch in self.channels.items():
            info = CHANNELS.get(name)
            if info is None:
                raise ValueError(f"unknown channel 'channels.{name}'; known channels: {sorted(CHANNELS)}")
            if ch.unit not in unit_names(info.quantity):
                raise ValueError(
                    f"'channels.{name}.unit' = {ch.unit!r} is not a unit of a {info.quantity.replace('_', ' ')}; "
                    f"expected one of {unit_names(info.quantity)}"
                )
            if ch.zone_columns and not info.per_zone:
                raise ValueError(f"'channels.{name}.zone_columns': {name} is not a per-zone channel")
            if ch.zone_columns and ch.zone_columns.count("{zone}") != 1:
                raise ValueError(
                    f"'channels.{name}.zone_columns' = {ch.zone_columns!r} must contain '{{zone}}' once"
                )
            if ch.required and not ch.column:
                raise ValueError(f"'channels.{name}': a required channel needs a column")
            if name == "speed_request" and ch.interpolation != "hold":
                raise ValueError(
                    "'channels.speed_request.interpolation' must be 'hold': a speed request is a set point"
                )
        missing = sorted(set(CHANNELS) - set(self.channels))
        if missing:
            raise ValueError(f"channels {missing} are missing (load mappings with load_mapping)")
        return self

    def channel(self, name: str) -> ChannelMap:
        """The mapping of channel ``name``."""
        return self.channels[name]


def _channel_defaults(name: str) -> dict[str, Any]:
    info = CHANNELS[name]
    return {
        "column": info.default_column,
        "zone_columns": info.default_zone_columns or "",
        "unit": info.default_unit,
        "required": info.required,
        "interpolation": info.interpolation,
    }


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def mapping_from_dict(data: dict[str, Any], *, source: str = "<mapping>") -> LogMapping:
    """Validate a mapping given as a nested dict; the defaults fill what it leaves out.

    Raises
    ------
    MappingError
        An unknown key, channel or unit, or an invalid value (the message
        names ``source`` and the key).
    """
    if not isinstance(data, dict):
        raise MappingError(f"{source}: expected a TOML table")
    merged: dict[str, Any] = {k: v for k, v in data.items() if k != "channels"}
    given = data.get("channels", {})
    if not isinstance(given, dict):
        raise MappingError(f"{source}: 'channels' must be a table of [channels.NAME] tables")
    channels: dict[str, Any] = {}
    for name, table in given.items():
        if name not in CHANNELS:
            raise MappingError(f"{source}: unknown channel 'channels.{name}'; known channels: {sorted(CHANNELS)}")
        if not isinstance(table, dict):
            raise MappingError(f"{source}: 'channels.{name}' must be a table")
        channels[name] = {**_channel_defaults(name), **table}
    for name in CHANNELS:
        channels.setdefault(name, _channel_defaults(name))
    merged["channels"] = channels
    merged["source"] = source
    try:
        return LogMapping.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _key(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                lines.append(f"{source}: unknown key '{key}'")
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                lines.append(f"{source}: '{key}': {msg}" if key else f"{source}: {msg}")
        raise MappingError("\n".join(lines)) from None


def default_mapping() -> LogMapping:
    """The mapping of the default column names and units (``docs/historian.md``)."""
    return mapping_from_dict({}, source="<default mapping>")


def load_mapping(path: str | Path | None) -> LogMapping:
    """Read and validate a TOML mapping file (None: :func:`default_mapping`).

    Raises
    ------
    MappingError
        The file is missing, not TOML, or invalid.
    """
    if path is None:
        return default_mapping()
    p = Path(path)
    if not p.is_file():
        raise MappingError(f"mapping file {str(p)!r} not found")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"{p}: not UTF-8 text: {exc}") from None
    if "source" in data:
        raise MappingError(f"{p}: unknown key 'source'")
    return mapping_from_dict(data, source=str(p))
