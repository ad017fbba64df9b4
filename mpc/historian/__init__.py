"""Historian replay: plant logs (CSV or Parquet) as disturbances of a closed-loop run.

* :func:`load_log` / :func:`read_log`: read a log with a column mapping
  (:func:`load_mapping`, TOML), convert its engineering units to SI in one
  place (:mod:`mpc.historian._units`), check it (every error a
  :class:`HistorianError`, a ``ValueError``, naming the file, row and
  column) and resample it to the harness's control interval;
* :func:`replay_scenario`, :func:`build_replay_setup`: a log + a base
  scenario -> the replay scenario and a setup whose disturbances come from
  the log (:class:`LogDisturbances`);
* :func:`replay_log`: run a controller on a log (``calmline replay``).

Reference: ``docs/historian.md``.
"""

from mpc.historian._disturbances import LogDisturbances, zone_column
from mpc.historian._errors import HistorianError, LogDataError, MappingError
from mpc.historian._log import HistorianLog, load_log, read_log
from mpc.historian._mapping import (
    ChannelMap,
    GapSettings,
    LogMapping,
    TimeSettings,
    default_mapping,
    load_mapping,
    mapping_from_dict,
)
from mpc.historian._replay import (
    CAP_MARGIN,
    ReplaySetup,
    build_replay_setup,
    default_base_scenario,
    replay_log,
    replay_meta,
    replay_scenario,
    speed_schedule,
)
from mpc.historian._units import CHANNELS, UNITS, ChannelInfo, from_si, to_si

__all__ = [
    "CAP_MARGIN",
    "CHANNELS",
    "UNITS",
    "ChannelInfo",
    "ChannelMap",
    "GapSettings",
    "HistorianError",
    "HistorianLog",
    "LogDataError",
    "LogDisturbances",
    "LogMapping",
    "MappingError",
    "ReplaySetup",
    "TimeSettings",
    "build_replay_setup",
    "default_base_scenario",
    "default_mapping",
    "from_si",
    "load_log",
    "load_mapping",
    "mapping_from_dict",
    "read_log",
    "replay_log",
    "replay_meta",
    "replay_scenario",
    "speed_schedule",
    "to_si",
    "zone_column",
]
