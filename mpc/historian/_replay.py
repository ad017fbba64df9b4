"""Replay a plant log in the closed-loop harness: the API behind ``calmline replay``.

A log + a base scenario become a replay :class:`~mpc.scenario.Scenario`
(:func:`replay_scenario`) and a :class:`ReplaySetup` whose disturbances
come from the log (:func:`build_replay_setup`); :func:`replay_log` runs a
controller on it and computes the KPIs exactly as
:func:`mpc.runner.run_scenario` does; :func:`mpc.runner.save_run` writes the
outputs.

What the log supplies and what the base scenario supplies:

* the log: outdoor temperature and RH, slurry solids (the base's drift,
  random walk and batch changes are dropped), heater efficiency and fan
  flow factor of the zones it has columns for (the base's events for those
  zones are dropped), the speed request (the announced speed target);
* the base scenario: everything else: preset, spec limits, recipe, control
  interval, warm-up, sensors, process noise, line stops, analyser faults,
  plant-model mismatch, seeds, controller settings.

The run lasts as long as the log (or its window); the warm-up is the
base's, at most half the run. The announced speed cap is ``speed_cap_m_s``
if given, else the base scenario's cap when every request is within it,
else the largest request times 1.05.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from mpc.harness import RunResult
from mpc.historian._disturbances import LogDisturbances, zone_column
from mpc.historian._errors import HistorianError
from mpc.historian._log import HistorianLog, load_log
from mpc.historian._mapping import LogMapping
from mpc.historian._units import CHANNELS
from mpc.interfaces import Controller
from mpc.scenario import Scenario, ScenarioSetup, build_setup, load_scenario, scenario_from_dict

__all__ = [
    "CAP_MARGIN",
    "ReplaySetup",
    "build_replay_setup",
    "default_base_scenario",
    "replay_log",
    "replay_meta",
    "replay_scenario",
    "speed_schedule",
]

#: announced cap = largest speed request x CAP_MARGIN when the base scenario's cap is too low
CAP_MARGIN = 1.05

def default_base_scenario(preset: str) -> Path:
    """The shipped ``scenarios/<preset>_nominal.toml``."""
    from scenarios import shipped_path

    return shipped_path(f"{preset}_nominal.toml")


def speed_schedule(
    log: HistorianLog, base: Scenario, speed_cap_m_s: float | None = None
) -> dict[str, Any]:
    """The ``[schedule]`` table of a replay: the log's speed request as the announced target.

    The request is held between rows; each change becomes a
    ``speed_changes`` entry (no ramp). The cap: ``speed_cap_m_s`` if given,
    else the base scenario's cap when every request is within it, else the
    largest request times :data:`CAP_MARGIN`.

    Raises
    ------
    HistorianError
        ``speed_cap_m_s`` is below a request.
    """
    v = log.frame["speed_request_m_s"].to_numpy(dtype=float)
    t = log.frame.index.to_numpy(dtype=float)
    vmax = float(v.max())
    if speed_cap_m_s is not None:
        if vmax > speed_cap_m_s + 1e-12:
            raise HistorianError(
                f"{log.source}: speed request {vmax * 60:.2f} m/min exceeds the given cap "
                f"{speed_cap_m_s * 60:.2f} m/min"
            )
        cap = float(speed_cap_m_s)
    elif vmax <= base.schedule.speed_cap_m_s:
        cap = base.schedule.speed_cap_m_s
    else:
        cap = vmax * CAP_MARGIN
    change = np.flatnonzero(np.abs(np.diff(v)) > 1e-12) + 1
    return {
        "speed_target_m_s": float(v[0]),
        "speed_cap_m_s": cap,
        "speed_changes": [
            {"t_s": float(t[k]), "target_m_s": float(v[k]), "cap_m_s": cap, "ramp_s": 0.0} for k in change
        ],
    }


def replay_scenario(
    log: HistorianLog, base: Scenario, *, speed_cap_m_s: float | None = None, source: str = "<base scenario>"
) -> Scenario:
    """The scenario a replay runs: ``base`` with the log's length, name, schedule and channels.

    The disturbance channels the log carries are neutralised in the
    scenario (constant weather at the log's first values, no solids drift or
    batch changes, no heater/fan events for the log's zones): the values
    come from the log through :class:`LogDisturbances`.

    Raises
    ------
    ScenarioError
        The result is not a valid scenario (the message names ``source``).
    """
    d = base.model_dump()
    fr = log.frame
    dur = log.duration_s
    d["name"] = log.name
    d["description"] = (
        f"replay of {log.source.name} ({log.start_utc.isoformat()}, {dur / 3600:.2f} h) on base scenario "
        f"{base.name}"
    )
    d["duration_s"] = dur
    d["warmup_s"] = min(base.warmup_s, 0.5 * dur)
    dist = d["disturbances"]
    if log.has("outdoor_temp_K") and log.has("outdoor_rh_frac"):
        dist["weather"] = {
            "source": "constant",
            "temp_K": float(fr["outdoor_temp_K"].iloc[0]),
            "rh_frac": float(fr["outdoor_rh_frac"].iloc[0]),
        }
    if log.has("slurry_solids_frac"):
        dist["slurry"] = {"solids_frac": float(fr["slurry_solids_frac"].iloc[0])}
    n_zones = len(base.recipe.air_temp_K)
    for key in ("heater_efficiency", "fan_flow_factor"):
        logged = {z for z in range(1, n_zones + 1) if zone_column(log, key, z) is not None}
        dist[key] = [ev for ev in dist[key] if ev["zone"] not in logged]
    if log.has("speed_request_m_s"):
        d["schedule"] = speed_schedule(log, base, speed_cap_m_s)
    elif speed_cap_m_s is not None:
        raise HistorianError(f"{log.source}: a speed cap was given but the log has no speed request")
    return scenario_from_dict(d, source=source)


@dataclass
class ReplaySetup(ScenarioSetup):
    """A :class:`~mpc.scenario.ScenarioSetup` whose disturbances come from a log."""

    log: HistorianLog | None = None

    def disturbances(self, duration_s: float | None = None) -> LogDisturbances:
        """A fresh disturbance source: the base scenario's, with the log's channels."""
        if self.log is None:
            raise HistorianError("ReplaySetup has no log")
        return LogDisturbances(
            self.scenario,
            self.layout,
            self.plant_params.coater.solids_frac_nominal,
            self.scenario.control_interval_s,
            self.log,
            duration_s,
        )


def build_replay_setup(
    log: HistorianLog, base: Scenario, *, speed_cap_m_s: float | None = None, source: str = "<base scenario>"
) -> ReplaySetup:
    """Everything a closed-loop replay needs (see :func:`replay_scenario`).

    Raises
    ------
    HistorianError
        The log's grid is not the base scenario's control interval, or a
        per-zone column names a zone the line does not have.
    """
    if abs(log.step_s - base.control_interval_s) > 1e-9:
        raise HistorianError(
            f"{log.source}: the log is resampled to {log.step_s:g} s, the base scenario's control interval "
            f"is {base.control_interval_s:g} s; read the log with step_s = {base.control_interval_s:g}"
        )
    sc = replay_scenario(log, base, speed_cap_m_s=speed_cap_m_s, source=source)
    setup = build_setup(sc, source=source)
    n = setup.plant_params.dryer.n_zones
    for si, (col, _unit) in log.columns.items():
        if si.startswith("zone"):
            zone = int(si[4:].split("_", 1)[0])
            if zone > n:
                raise HistorianError(
                    f"{log.source}: column {col!r} is for zone {zone}; the {sc.preset} line has zones 1-{n}"
                )
    kw = {f.name: getattr(setup, f.name) for f in fields(ScenarioSetup)}
    return ReplaySetup(**kw, log=log)


def _base(scenario: str | Path | Scenario | None, preset: str | None) -> tuple[Scenario, str]:
    if isinstance(scenario, Scenario):
        base, src = scenario, f"<{scenario.name}>"
    else:
        path = Path(scenario) if scenario is not None else default_base_scenario(preset or "nmc_nmp")
        base, src = load_scenario(path), str(path)
    if preset is not None and base.preset != preset:
        raise HistorianError(f"base scenario {src} is for preset {base.preset!r}, not {preset!r}")
    return base, src


def replay_log(
    log: str | Path | HistorianLog,
    controller: str | Controller,
    *,
    scenario: str | Path | Scenario | None = None,
    preset: str | None = None,
    mapping: LogMapping | str | Path | None = None,
    start_s: float = 0.0,
    window_s: float | None = None,
    speed_cap_m_s: float | None = None,
    progress: bool = False,
) -> RunResult:
    """Run a controller on a plant log; KPIs included (what ``calmline replay`` runs).

    Parameters
    ----------
    log : str, path or HistorianLog
        The log file (read with ``mapping`` on the base scenario's control
        interval), or a log already read.
    controller : str or Controller
        A controller name (``controllers.controller_names()``) or instance.
    scenario : str, path or Scenario, optional
        The base scenario (default ``scenarios/<preset>_nominal.toml``).
    preset : str, optional
        Plant preset; default: the base scenario's, else ``"nmc_nmp"``. Must
        match the base scenario's.
    mapping : LogMapping, str, path or None, optional
        Column mapping (default columns when None).
    start_s, window_s : float, optional
        Replay only ``[start_s, start_s + window_s]`` of the log (default:
        all of it).
    speed_cap_m_s : float, optional
        Announced speed cap (see :func:`speed_schedule`).
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    mpc.harness.RunResult
        Time series, KPIs (``scenario`` = the log's name) and metadata
        (``replay``: file, checksum, mapping, window, base scenario, notes).
    """
    from controllers.registry import make_controller
    from mpc.runner import run_setup

    base, base_src = _base(scenario, preset)
    if isinstance(log, HistorianLog):
        hl = log
    else:
        hl = load_log(log, mapping, step_s=base.control_interval_s)
    if start_s or window_s is not None:
        hl = hl.window(start_s, window_s)
    # the setup's source is the base scenario: its controller settings, and the files they name relative to its
    # folder (the lmpc's model file), come from there
    setup = build_replay_setup(hl, base, speed_cap_m_s=speed_cap_m_s, source=base_src)
    ctrl = make_controller(controller) if isinstance(controller, str) else controller
    res = run_setup(setup, ctrl, progress=progress, source=str(hl.source))
    if hl.has("inlet_air_rh_frac"):
        res.timeseries["log_inlet_air_rh_frac"] = np.interp(
            res.timeseries.index.to_numpy(dtype=float) - setup.scenario.control_interval_s,
            hl.frame.index.to_numpy(dtype=float),
            hl.frame["inlet_air_rh_frac"].to_numpy(dtype=float),
        )
    res.meta["replay"] = replay_meta(hl, base_src, setup)
    return res


def replay_meta(log: HistorianLog, base_source: str, setup: ReplaySetup) -> dict[str, Any]:
    """What a replay run records about its log (``meta["replay"]``)."""
    driving = [c for c in log.frame.columns if c != "inlet_air_rh_frac"]
    notes = list(log.notes)
    if log.has("inlet_air_rh_frac"):
        notes.append(
            f"{CHANNELS['inlet_air_rh'].name}: recorded as log_inlet_air_rh_frac, not a plant input "
            "(the dryer's make-up air is coating-room air from the building model)"
        )
    return {
        "log": str(log.source),
        "log_sha256": log.sha256,
        "mapping": log.mapping.source,
        "start_utc": log.start_utc.isoformat(),
        "duration_s": log.duration_s,
        "base_scenario": base_source,
        "channels_from_log": driving,
        "columns": {si: f"{col} [{unit}]" for si, (col, unit) in log.columns.items()},
        "speed_cap_m_s": setup.scenario.schedule.speed_cap_m_s,
        "notes": "; ".join(notes),
    }
