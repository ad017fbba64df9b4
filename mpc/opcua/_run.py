"""The line's server with its live view and output folder, and a controller's client: what the CLI runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mpc.edge import LineSide
from mpc.errors import CalmlineError
from mpc.harness import RunResult
from mpc.kpis import primary_energy
from mpc.opcua._client import ClientSummary, LineClient
from mpc.opcua._events import EventLog
from mpc.opcua._faults import FaultPlan, load_faults
from mpc.opcua._handover import Handover, handovers
from mpc.opcua._publisher import PublisherSummary
from mpc.opcua._server import LineServer, Pacing
from mpc.scenario import ScenarioSetup

if TYPE_CHECKING:  # the live view (aiohttp, matplotlib) is the server's: loaded where it serves one
    from mpc.opcua._liveview import LiveHistory

__all__ = ["EVENTS_FILE", "LiveTap", "control_line", "publish_targets", "serve_line"]

EVENTS_FILE = "events.jsonl"
"""The served run's event log, beside its ``kpis.json`` and ``timeseries.parquet``."""

_J_PER_KWH = 3.6e6


@dataclass
class LiveTap:
    """Feeds a :class:`LiveHistory` from the server after every interval (primary energy per coated m2 so far)."""

    history: LiveHistory
    width_m: float
    primary_factor_heater: float
    primary_factor_electricity: float
    _energy_kwh: float = 0.0
    _seen_events: int = 0

    def __call__(self, srv: LineServer) -> None:
        obs = srv.last_observation
        if obs is None:
            return
        y = srv.line.outputs
        dt = srv.line.dt_s
        self._energy_kwh += dt / _J_PER_KWH * primary_energy(
            y["heater_power_W"], y["fan_power_W"], y["solvent_recovery_power_W"], self.primary_factor_heater,
            self.primary_factor_electricity)
        area = srv.line.web_position_m * self.width_m
        new = srv.events.events[self._seen_events:]
        self._seen_events = len(srv.events.events)
        zones = sorted(n for n in obs.measurements if n.startswith("zone") and n.endswith("_lel_frac"))
        cmd = srv.last_command
        from mpc.opcua._liveview import LiveSample

        self.history.append(LiveSample(
            t_s=obs.t_s,
            coat_weight_kg_m2=float(obs.measurements.get("coat_weight_kg_m2", math.nan)),
            coat_weight_fresh=bool(obs.fresh.get("coat_weight_kg_m2", False)),
            zone_lel_frac=tuple(float(obs.measurements[n]) for n in zones),
            lel_limit_frac=float(obs.lel_limit_frac),
            energy_kWh_m2=self._energy_kwh / area if area > 0.0 else math.nan,
            mode=srv.plc_mode,
            controller_healthy=not srv.plc.watchdog_tripped and not cmd.solver_failure and srv.answers > 0,
            events=tuple(f"{e.source} {e.what}: {e.detail}" if e.detail else f"{e.source} {e.what}" for e in new),
        ))


def _live_tap(srv: LineServer) -> LiveTap:
    from mpc.opcua._liveview import LiveHistory
    from mpc.runner import kpi_spec

    setup = srv.setup
    sc = setup.scenario
    spec = kpi_spec(setup, "opcua")
    tol = sc.spec.coat_weight_tolerance_frac
    target = sc.spec.coat_weight_target_kg_m2
    hist = LiveHistory(coat_weight_target_kg_m2=target, coat_weight_lsl_kg_m2=target * (1 - tol),
                       coat_weight_usl_kg_m2=target * (1 + tol), scenario=sc.name)
    return LiveTap(hist, spec.width_m, spec.primary_factor_heater, spec.primary_factor_electricity)


async def _serve(srv: LineServer, live: tuple[str, int] | None, on_ready: Any = None) -> RunResult:
    from mpc.opcua._liveview import start_live_view

    runner = None
    tap = None
    if live is not None:
        tap = _live_tap(srv)
        srv.on_interval = tap
    await srv.start()
    try:
        if live is not None and tap is not None:
            runner = await start_live_view(tap.history, live[0], live[1])
            addrs = ", ".join(f"http://{a[0]}:{a[1]}/" for a in runner.addresses)
            srv.events.log(0.0, "line", "live_view", addrs)
        if on_ready is not None:
            on_ready(srv)
        return await srv.run()
    finally:
        if runner is not None:
            await runner.cleanup()
        await srv.stop()


def serve_line(scenario: str | Path, *, host: str = "127.0.0.1", port: int = 4840,
               duration_s: float | None = None, pacing: Pacing | None = None,
               faults: str | Path | FaultPlan | None = None, tag_map: str | Path | None = None,
               certs: str | Path | None = None, insecure: bool = False,
               out_dir: str | Path | None = None, force: bool = False,
               live: tuple[str, int] | None = None, on_ready: Any = None) -> RunResult:
    """Serve a scenario's line over OPC UA until its duration has run; KPIs attached.

    Parameters
    ----------
    scenario : str or Path
        A scenario file or a shipped scenario's name.
    host, port : str, int
        Where the line listens.
    duration_s : float, optional
        How long the line runs, simulated s.
    pacing : Pacing, optional
        The clock (default: real time).
    faults : path or FaultPlan, optional
        Faults to inject (the line's share of them).
    tag_map : path, optional
        The tag map (default ``scenarios/data/opcua/line.toml``).
    certs : path, optional
        Certificate folder (``calmline line certs``); required unless ``insecure``.
    insecure : bool
        Serve without security (loopback development only).
    out_dir : path, optional
        Where to write the run (``kpis.json``, ``timeseries.parquet``, ``report.html``, plots and
        ``events.jsonl``); checked before the line starts.
    force : bool
        Replace calmline's own files in ``out_dir``.
    live : (host, port), optional
        Serve the live view there.
    on_ready : callable, optional
        Called with the :class:`LineServer` once it listens (tests use it to learn the port).
    """
    from mpc.runner import _prepare, attach_kpis, write_run

    if certs is None and not insecure:
        raise CalmlineError("the line's link must be signed and encrypted: give --certs DIR (made by `calmline "
                            "line certs DIR`), or --insecure for a loopback test without security")
    if certs is not None and insecure:
        raise CalmlineError("--certs and --insecure: give one of them")
    if certs is not None and not Path(certs).is_dir():
        raise CalmlineError(f"certificate folder {certs}: no such folder (make one with `calmline line certs DIR`)")
    if certs is not None and out_dir is not None:
        c, o = Path(certs).resolve(), Path(out_dir).resolve()
        if c == o or c in o.parents or o in c.parents:
            raise CalmlineError(f"--out {out_dir} and --certs {certs} overlap: the run's folder never holds the "
                                "link's keys")
    prep = _prepare(scenario)
    plan = faults if isinstance(faults, FaultPlan) else (load_faults(faults) if faults is not None else FaultPlan())
    folder = None
    if out_dir is not None:
        from mpc.outputs import OutputFolder
        from mpc.runner import _run_files

        inputs = [prep.source, *(p for p in (faults, tag_map) if isinstance(p, str | Path))]
        folder = OutputFolder(out_dir, [*_run_files(), EVENTS_FILE], force=force, inputs=inputs)
    events = EventLog()
    srv = LineServer(prep.setup, host=host, port=port, duration_s=duration_s,
                     pacing=pacing or Pacing(mode="realtime"), faults=plan, tag_map=tag_map, certs=certs,
                     events=events)
    res = asyncio.run(_serve(srv, live, on_ready))
    res = attach_kpis(res, prep.setup, duration_s=duration_s, source=prep.source)
    hs = handovers(res.timeseries, events.events, srv.plc.specs)
    res.meta["opcua"] = {"url": srv.url, "pacing": asdict(srv.pacing), "secure": certs is not None,
                         "answers": srv.answers, "intervals": srv.line.n_steps, "events": len(events.events),
                         "handovers": [_handover_record(h) for h in hs]}
    if folder is not None:
        with folder:
            write_run(res, folder)
            folder.write_text(EVENTS_FILE, "".join(json.dumps(_event_record(e)) + "\n" for e in events.events))
    return res


def _handover_record(h: Handover) -> dict[str, Any]:
    rec = asdict(h)
    rec["loops"] = len(h.loops)
    if math.isnan(rec["latency_s"]):
        rec["latency_s"] = None
    return rec


def _event_record(e: Any) -> dict[str, Any]:
    rec = asdict(e)
    for key in ("t_s", "value"):
        if isinstance(rec[key], float) and math.isnan(rec[key]):
            rec[key] = None
    return rec


STEP_BUDGET_SHARE = 0.25
"""An edge controller's default step budget on a line, as a share of the control interval: the rest is the link's
(reading the cycle, writing the answer) and the margin before the next cycle."""


def control_line(scenario: str | Path | LineSide, controller: str, url: str, *, certs: str | Path | None = None,
                 insecure: bool = False, identity: str = "controller",
                 faults: str | Path | FaultPlan | None = None, tag_map: str | Path | None = None,
                 events: EventLog | None = None, give_up_s: float = 30.0,
                 step_budget_s: float | None = None, step_log: str | Path | None = None,
                 force: bool = False, targets: str = "local",
                 target_max_age_s: float | None = None) -> ClientSummary:
    """Close the loop over OPC UA with a controller (a name or ``edge:DIR``) designed on ``scenario``.

    ``scenario``: a scenario file (built here: its recipe is a CasADi solve), or the line an edge artifact was
    exported for (:func:`mpc.edge.read_line`, nothing built).

    An edge artifact's controller runs every step under a wall-clock budget (:class:`mpc.edge.StepWatchdog`):
    ``step_budget_s``, by default :data:`STEP_BUDGET_SHARE` of the scenario's control interval. A budget for any
    other controller is an error (do-mpc's IPOPT cannot be cut short). ``step_log``: a JSON-lines file with one
    record per step (:class:`LineClient`'s ``step_log``), checked by calmline's output rules before the run
    (``force`` replaces only a file calmline wrote). The records are written as the steps are answered, to
    ``.NAME.calmline-partial`` beside it, which becomes the file when the run ends, also when it ends with an
    error; a partial file left by a run that was killed is refused (it is that run's log: move it away).

    ``targets``: where an NMPC artifact's edge core gets its economic targets: ``"local"``, solved in this process
    (IPOPT, each request answered at once); ``"line"``, from the supervisory layer over the tag map's
    ``[supervisor]`` mailbox (``calmline edge target`` on the same line, :class:`mpc.opcua.TargetPublisher`): the
    edge core's steps then never wait for IPOPT, and it tracks the newest answer, aged by its stamp:
    ``target_max_age_s`` (default ``[controllers.nmpc.target] max_age_s``) must then be finite, since a layer that
    stops would otherwise leave its last target in force for ever.
    """
    from controllers._edge_step import BudgetedStep
    from controllers.registry import make_controller
    from mpc.outputs import OutputFile

    if certs is None and not insecure:
        raise CalmlineError("the link must be signed and encrypted: give --certs DIR (the folder `calmline line "
                            "certs` made), or --insecure for a loopback test without security")
    if certs is not None and insecure:
        raise CalmlineError("--certs and --insecure: give one of them")
    if isinstance(scenario, LineSide):
        setup: ScenarioSetup | LineSide = scenario
        source = scenario.source
        dt = scenario.control_interval_s
    else:
        from mpc.runner import _prepare

        prep = _prepare(scenario)
        setup, source, dt = prep.setup, prep.source, prep.setup.scenario.control_interval_s
    plan = faults if isinstance(faults, FaultPlan) else (load_faults(faults) if faults is not None else FaultPlan())
    ctrl = make_controller(controller)
    if isinstance(ctrl, BudgetedStep):
        budget = STEP_BUDGET_SHARE * dt if step_budget_s is None else float(step_budget_s)
        if not (math.isfinite(budget) and 0.0 < budget <= dt):
            raise CalmlineError(f"--step-budget-ms {budget * 1e3:g}: expected > 0 and at most the control interval "
                                f"({dt * 1e3:g} ms)")
        ctrl.set_step_budget(budget)
    elif step_budget_s is not None:
        raise CalmlineError(f"a step budget applies to an edge artifact's controller (edge:DIR), not to {controller!r}")
    if targets not in ("local", "line"):
        raise CalmlineError(f"--targets {targets!r}: expected 'local' or 'line'")
    link = None
    if targets == "line":
        from controllers.nmpc import EdgeNmpcController
        from mpc.opcua._targets import LineTargets

        if not isinstance(ctrl, EdgeNmpcController):
            raise CalmlineError(f"--targets line: the economic target is published by a supervisory layer for an "
                                f"NMPC artifact's edge core (edge:DIR of `calmline export --controller nmpc`), not for "
                                f"{controller!r}")
        age = target_max_age_s
        if age is None:
            from mpc.scenario import NmpcSettings

            table = (setup.context.settings if isinstance(setup, LineSide)
                     else dict(setup.scenario.controllers.get("nmpc", {})))
            age = NmpcSettings.from_mapping(table, where="[controllers.nmpc]", source=source).target.max_age_s
        if not (math.isfinite(age) and age > 0.0):
            raise CalmlineError(f"--targets line: the target's age is unbounded ([controllers.nmpc.target] max_age_s "
                                f"= {age:g}): a supervisory layer that stopped would leave its last target in force "
                                "for ever; give --target-max-age SECONDS (or set max_age_s in the scenario the "
                                "artifact is exported on)")
        events = events or EventLog()
        link = LineTargets(events)
        ctrl.target_source = link
        ctrl.target_max_age_s = float(age)
    log_file = partial = None
    if step_log is not None:
        log_file = OutputFile(step_log, force=force, inputs=[source])
        partial = log_file.path.with_name(f".{log_file.path.name}.calmline-partial")
        if partial.exists():
            raise CalmlineError(f"{partial} exists: the step log of a run that did not end; move it away first")
        log_file.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with partial.open("w", encoding="utf-8") if partial is not None else contextlib.nullcontext() as fh:
            client = LineClient(url, setup, ctrl, tag_map=tag_map, certs=certs, identity=identity,
                                faults=plan, events=events, give_up_s=give_up_s, step_log=fh, targets=link)
            return asyncio.run(client.run())
    finally:
        if log_file is not None and partial is not None:
            log_file.write_with(lambda tmp: os.replace(partial, tmp))


def publish_targets(scenario: str | Path, url: str, *, certs: str | Path | None = None, insecure: bool = False,
                    tag_map: str | Path | None = None, give_up_s: float = 30.0,
                    events: EventLog | None = None) -> PublisherSummary:
    """Run the NMPC's economic target as the supervisory layer of the line at ``url`` (designed on ``scenario``,
    its ``[controllers.nmpc]`` tables), answering the edge controller's requests until the line finishes
    (:class:`mpc.opcua.TargetPublisher`; ``calmline edge target``)."""
    from mpc.opcua._publisher import TargetPublisher
    from mpc.runner import _prepare

    if certs is None and not insecure:
        raise CalmlineError("the link must be signed and encrypted: give --certs DIR (the folder `calmline line "
                            "certs` made), or --insecure for a loopback test without security")
    if certs is not None and insecure:
        raise CalmlineError("--certs and --insecure: give one of them")
    prep = _prepare(scenario)
    pub = TargetPublisher(url, prep.setup, tag_map=tag_map, certs=certs, events=events, give_up_s=give_up_s)
    return asyncio.run(pub.run())
