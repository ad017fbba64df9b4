"""A controller closing the loop over OPC UA: ``calmline line control`` and ``calmline edge run``.

The client waits for the line's ``cycle`` counter to move, reads every tag in one request, builds
the :class:`~mpc.interfaces.Observation` a controller sees in process, steps the controller and
writes, in one request, the set points it commands, the names it wrote (``written``), the loops it
hands back (``release``), its health flags, its step time, a new heartbeat and last the cycle it
answers (``cycle_ack``).

What it does with bad data (``docs/opcua.md``, "Faults"):

* a measurement whose source timestamp is older than ``max_tag_age_s`` beside the cycle's, or that
  reads NaN while the line calls it healthy, reaches the controller as a sensor dropout does in
  process (NaN, not healthy, not fresh); each such episode is logged once;
* when every measurement is stale the client holds: no step, no heartbeat (the PLC's watchdog
  hands the line back to its recipe);
* when it can act again after a lost link, a stall or stale data, and the PLC's watchdog has taken
  the line back to its recipe meanwhile, the client re-initialises the controller from the
  measurements (``Controller.reset``, then its first step), so that it takes over from where the
  line is; the PLC's set-point ramps make the take-over bumpless. An absence shorter than the
  watchdog (or intervals missed by a slow step), with the line still in the controller's hands, is
  logged (``gap``) and the controller carries on;
* a controller that raises, or a certificate folder, tag map or scenario that does not fit the
  line, ends the run with its error (never a reconnection loop).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from mpc.edge import LineSide, to_plain
from mpc.errors import CalmlineError
from mpc.harness import line_side
from mpc.interfaces import Command, Controller, Observation
from mpc.opcua._events import EventLog
from mpc.opcua._faults import FaultError, FaultPlan
from mpc.opcua._server import side_tag_map
from mpc.opcua._tagmap import TagMap, TagMapError
from mpc.opcua._targets import LineTargets
from mpc.scenario import ScenarioSetup
from plants.plc import LoopStatus

__all__ = ["ClientSummary", "LineClient", "LinkError"]

_MODES = {0: "recipe", 1: "remote", 2: "manual"}


class LinkError(CalmlineError):
    """The line's server cannot be reached, or it serves another line."""


@dataclass
class ClientSummary:
    """What a client's run did.

    Attributes
    ----------
    steps : int
        Controller steps answered.
    reinitialisations : int
        Times the controller was re-initialised (the first start included).
    reconnects : int
        Times the link came back after being lost.
    step_ms : list of float
        Each step's controller time, ms.
    overruns : int
        Steps that took longer than the controller's step budget (an edge artifact's controller on a line:
        :class:`mpc.edge.StepWatchdog`).
    out_of_time : int
        Steps whose OCP was cut short by the budget (fewer SQP iterations, or none and the fallback chain).
    targets_requested, targets_received, targets_refused : int
        With the target from the supervisory layer (``targets``): requests written, targets taken, texts refused.
    targets_aged_out : int
        OCP solves that tracked the recipe's steady state because the newest target was older than
        ``[controllers.nmpc.target] max_age_s`` (an NMPC's edge core).
    """

    steps: int = 0
    reinitialisations: int = 0
    reconnects: int = 0
    step_ms: list[float] = field(default_factory=list)
    overruns: int = 0
    out_of_time: int = 0
    targets_requested: int = 0
    targets_received: int = 0
    targets_refused: int = 0
    targets_aged_out: int = 0


class LineClient:
    """One controller on the line's OPC UA server.

    Parameters
    ----------
    url : str
        The line's endpoint (``opc.tcp://host:port/...``).
    setup : ScenarioSetup or LineSide
        The scenario the controller was designed on (its model, recipe, plan and settings), or the line an edge
        artifact was exported for (:func:`mpc.edge.read_line`: nothing is built); the
        line's plan and control interval are checked against it.
    controller : Controller
        The controller; its ``reset`` is its (re-)initialisation.
    tag_map : path, optional
        The tag map (default ``scenarios/data/opcua/line.toml``).
    certs : path, optional
        The certificate folder; the client then connects signed and encrypted as ``identity``.
    identity : str
        ``controller`` (may write) or ``viewer`` (read-only).
    faults : FaultPlan
        Client-side faults (``stall``, ``out_of_range``).
    events : EventLog
        Where events go.
    max_tag_age_s : float, optional
        Age beyond which a measurement is stale, simulated s (default two control intervals).
    reconnect_s : float
        Wall seconds between reconnection attempts.
    give_up_s : float
        Wall seconds without reaching the line after which :meth:`run` ends with :class:`LinkError`.
    step_log : text stream, optional
        Where each step's record goes as it is answered, one JSON object a line (flushed): ``t_s``, ``cycle``,
        ``step_ms``, ``solved``, ``solver_failure``, ``fallback``, ``overrun``, ``setpoints`` and the controller's
        ``info``.
    targets : LineTargets, optional
        The controller's link to the supervisory layer over the tag map's ``[supervisor]`` mailbox: every cycle
        the client hands it the ``target`` node's text and writes its pending request to ``target_request``
        with the answer (:mod:`mpc.opcua._targets`). The tag map must have the table.
    """

    def __init__(self, url: str, setup: ScenarioSetup | LineSide, controller: Controller, *,
                 tag_map: str | Path | None = None, certs: str | Path | None = None,
                 identity: str = "controller", faults: FaultPlan | None = None,
                 events: EventLog | None = None, max_tag_age_s: float | None = None,
                 reconnect_s: float = 0.2, give_up_s: float = 30.0, step_log: IO[str] | None = None,
                 targets: LineTargets | None = None) -> None:
        self.url = url
        self.controller = controller
        if isinstance(setup, LineSide):
            self.side = setup
        else:  # once: building the PLC runs its loops' step tests
            self.side = line_side(setup, getattr(controller, "settings_table", None) or controller.name)
        self.tags: TagMap = side_tag_map(self.side, tag_map)
        self.certs = Path(certs) if certs is not None else None
        self.identity = identity
        self.faults = faults or FaultPlan()
        writable = set(self.tags.of("setpoints"))
        for f in self.faults.client_side():
            unknown = [n for n in f.tags if n not in writable]
            if unknown:
                raise FaultError(f"fault {f.kind} at {f.start_s:g} s: tags {unknown[0]!r} is not a set point of the "
                                 f"line; expected one of {', '.join(sorted(writable))}")
        self.events = events or EventLog()
        dt = self.side.control_interval_s
        self.max_tag_age_s = 2.0 * dt if max_tag_age_s is None else float(max_tag_age_s)
        if not self.max_tag_age_s > 0.0:
            raise ValueError(f"max_tag_age_s = {self.max_tag_age_s}: expected > 0")
        self.reconnect_s = float(reconnect_s)
        self.give_up_s = float(give_up_s)
        self.summary = ClientSummary()
        self.step_log = step_log
        self.targets = targets
        if targets is not None and not self.tags.of("supervisor"):
            raise TagMapError(f"{self.tags.source}: no [supervisor] table (target_request, target): the "
                              "supervisory layer's mailbox, which an edge controller with its target published by "
                              "`calmline edge target` needs")
        self._plc_specs = self.side.context.plc_loops
        self._input_names = list(self.side.plc_input_names)
        self._bad: set[str] = set()
        self._heartbeat = 0.0
        self._last_cycle = -1
        self._last_t: float | None = None
        self._holding = False
        self._stalled = False
        self._oor_done: set[int] = set()
        self._aged = 0
        self._stale = False
        self._stale_received = 0

    # ------------------------------------------------------------------ connection
    async def _connect(self) -> Any:
        client, ns = await connect_line(self.url, self.tags, self.certs, self.identity)
        try:
            self._nodes = {(t.kind, name): client.get_node(f"ns={ns};s={t.node}")
                           for kind in self.tags.tags if kind != "loops" for name, t in self.tags.of(kind).items()}
            for kind, suffixes in (("measurements", (".Healthy", ".Fresh")),
                                   ("loops", (".Mode", ".WorkingSetpoint", ".Output", ".Flag"))):
                for name, t in self.tags.of(kind).items():
                    for suf in suffixes:
                        self._nodes[(kind, name + suf)] = client.get_node(f"ns={ns};s={t.node}{suf}")
            await self._check_line(client)
        except BaseException:
            await _quiet_disconnect(client)
            raise
        return client

    async def _check_line(self, client: Any) -> None:
        await check_line(client, self._nodes, self.side, self.url)
        if self.targets is not None:
            await check_mailbox(client, self._nodes, self.tags, self.url)

    def _watch_target_age(self, t: float) -> None:
        """Log when the controller starts tracking the recipe's steady state because its newest target is too old
        (``target_stale``, once an episode) and when a new target ends the episode (``target_fresh``)."""
        aged = int(getattr(self.controller, "target_aged_out", 0))
        if aged < self._aged:  # the controller was re-initialised: its count starts again
            self._aged = 0
        received = self.targets.received if self.targets is not None else 0
        if self._stale and received > self._stale_received:
            self._stale = False
            self.events.log(t, "controller", "target_fresh", "a new target from the supervisory layer: tracked again")
        if not self._stale and aged > self._aged:
            self._stale = True
            self._stale_received = received
            age = getattr(self.controller, "max_age_s", math.nan)
            self.events.log(t, "controller", "target_stale", f"no target from the supervisory layer for more than "
                            f"{age:g} s: the OCP tracks the recipe's steady state")
        self._aged = aged

    # ------------------------------------------------------------------ one cycle
    def _read_order(self) -> list[tuple[str, str]]:
        if not hasattr(self, "_order"):
            skip = {("supervisor", "target_request")}  # written, never read
            if self.targets is None:
                skip.add(("supervisor", "target"))
            self._order = [k for k in self._nodes if k[0] not in ("setpoints", "controller") and k not in skip]
        return self._order

    def _observation(self, vals: dict[tuple[str, str], Any], stamps: dict[tuple[str, str], Any],
                     t: float, cycle_stamp: Any) -> tuple[Observation, int]:
        meas: dict[str, float] = {}
        fresh: dict[str, bool] = {}
        healthy: dict[str, bool] = {}
        n_stale = 0
        for name in self.tags.of("measurements"):
            v = vals[("measurements", name)]
            ok = bool(vals[("measurements", name + ".Healthy")])
            fr = bool(vals[("measurements", name + ".Fresh")])
            st = stamps[("measurements", name)]
            age = (cycle_stamp - st).total_seconds() if st is not None and cycle_stamp is not None else math.inf
            why = ""
            if age > self.max_tag_age_s:
                why = f"stale ({age:.0f} s old)"
                n_stale += 1
            elif ok and not (isinstance(v, float) and math.isfinite(v)):
                why = f"bad value {v!r} while the line calls it healthy"
            if why:
                if name not in self._bad:
                    self._bad.add(name)
                    self.events.log(t, "controller", "bad_tag", f"{name}: {why}; read as a dropout")
                meas[name], fresh[name], healthy[name] = math.nan, False, False
                continue
            if name in self._bad:
                self._bad.discard(name)
                self.events.log(t, "controller", "bad_tag_end", f"{name} reads again")
            meas[name], fresh[name], healthy[name] = float(v), fr, ok
        loops = {}
        for s in self._plc_specs:
            flag = str(vals[("loops", s.name + ".Flag")] or "")
            loops[s.name] = LoopStatus(mode=_MODES[int(vals[("loops", s.name + ".Mode")])],
                                       setpoint=float(vals[("loops", s.name + ".WorkingSetpoint")]),
                                       output=float(vals[("loops", s.name + ".Output")]),
                                       healthy=flag == "", flag=flag)
        applied = np.array([float(vals[("applied", n)]) for n in self._input_names])
        obs = Observation(
            t_s=t, measurements=meas, fresh=fresh, healthy=healthy,
            lel_limit_frac=float(vals[("line", "lel_limit_frac")]),
            speed_target_m_s=float(vals[("line", "speed_target_m_s")]),
            speed_cap_m_s=float(vals[("line", "speed_cap_m_s")]),
            line_stopped=bool(vals[("line", "line_stopped")]),
            applied=applied, loops=loops)
        return obs, n_stale

    def _initialise(self, t: float, why: str) -> None:
        ctx = self.side.context
        w0 = time.perf_counter()
        self.controller.reset(ctx)
        self.summary.reinitialisations += 1
        self.events.log(t, "controller", "initialised",
                        f"{self.controller.name}: {why} ({time.perf_counter() - w0:.1f} s)")

    async def _answer(self, client: Any, k: int, obs: Observation) -> None:
        t = obs.t_s
        w0 = time.perf_counter()
        # in a worker thread, as the re-initialisation: the event loop keeps the link (keep-alives, the secure
        # channel's renewal) served while the controller computes
        cmd: Command = await asyncio.to_thread(self.controller.step, obs)
        step_ms = (time.perf_counter() - w0) * 1e3
        overrun = cmd.info.get("step_overrun", 0.0) > 0.0
        if overrun:
            self.summary.overruns += 1
            budget = getattr(getattr(self.controller, "watchdog", None), "budget_s", math.nan)
            self.events.log(t, "controller", "overrun", f"step took {step_ms:.1f} ms, over its budget of "
                            f"{budget * 1e3:g} ms", value=step_ms)
        if cmd.info.get("ocp_out_of_time", 0.0) > 0.0:
            self.summary.out_of_time += 1
            if not cmd.solver_failure:
                self.events.log(t, "controller", "out_of_time", "the OCP stopped iterating at the step's deadline")
            else:
                self.events.log(t, "controller", "out_of_time", "the OCP was cut short by the step's deadline: the "
                                "fallback chain answered")
        setpoints = dict(cmd.setpoints)
        for i, f in enumerate(self.faults.client_side()):
            if f.kind == "out_of_range" and t >= f.start_s and i not in self._oor_done:
                self._oor_done.add(i)
                for key in f.tags:
                    setpoints[key] = float(f.value)  # type: ignore[arg-type]
                self.events.log(t, "fault", "out_of_range", f"{', '.join(f.tags)} written at {f.value}")
        unknown = [key for key in setpoints if ("setpoints", key) not in self._nodes]
        if unknown:
            raise LinkError(f"controller {self.controller.name!r} wrote {unknown[0]!r}, which the tag map "
                            f"{self.tags.source} has no node for")
        self._heartbeat += 1.0
        keys = list(setpoints)
        nodes = [self._nodes[("setpoints", key)] for key in keys]
        values: list[Any] = [float(setpoints[key]) for key in keys]
        ctl = [("written", ",".join(keys)), ("release", ",".join(cmd.release)),
               ("solver_failure", bool(cmd.solver_failure)), ("fallback", bool(cmd.fallback)),
               ("solved", bool(cmd.solved)), ("step_time_ms", float(step_ms)),
               ("name", self.controller.name), ("info", json.dumps({k: float(v) for k, v in cmd.info.items()})),
               ("heartbeat", self._heartbeat), ("cycle_ack", float(k))]
        nodes += [self._nodes[("controller", n)] for n, _ in ctl]
        values += [v for _, v in ctl]
        request = self.targets.take_request() if self.targets is not None else None
        if request is not None:  # before the cycle's acknowledgement: the line sees both at once
            nodes.insert(len(nodes) - 1, self._nodes[("supervisor", "target_request")])
            values.insert(len(values) - 1, request)
        await client.write_values(nodes, values)
        self.summary.steps += 1
        self.summary.step_ms.append(step_ms)
        if self.targets is not None:
            self._watch_target_age(t)
        if self.step_log is not None:
            self.step_log.write(json.dumps({
                "t_s": t, "cycle": k, "step_ms": step_ms, "solved": bool(cmd.solved),
                "solver_failure": bool(cmd.solver_failure), "fallback": bool(cmd.fallback),
                "overrun": overrun,
                "setpoints": {key: float(v) for key, v in setpoints.items()},
                "info": {key: _finite_or_none(v) for key, v in cmd.info.items()}}) + "\n")
            self.step_log.flush()

    async def _cycle(self, client: Any) -> bool:
        """Wait for the next cycle and answer it; False when the line has finished."""
        from asyncua import ua

        cyc_node, fin_node = self._nodes[("line", "cycle")], self._nodes[("line", "finished")]
        while True:
            cyc, fin = await client.read_values([cyc_node, fin_node])
            if fin:
                return False
            if cyc is not None and cyc > self._last_cycle:
                break
            await asyncio.sleep(0.002)
        order = self._read_order()
        dvs = await client.read_attributes([self._nodes[k] for k in order], ua.AttributeIds.Value)
        vals = {key: (dv.Value.Value if dv.Value is not None else None) for key, dv in zip(order, dvs, strict=True)}
        stamps = {key: dv.SourceTimestamp for key, dv in zip(order, dvs, strict=True)}
        k = int(vals[("line", "cycle")])
        t = float(vals[("line", "sim_time_s")])
        self._last_cycle = k
        if vals[("line", "finished")]:
            return False
        obs, n_stale = self._observation(vals, stamps, t, stamps[("line", "cycle")])
        if self.targets is not None:
            self.targets.receive(vals[("supervisor", "target")], t)
        stall = [f for f in self.faults.client_side() if f.kind == "stall" and f.active(t)]
        if stall:
            if not self._stalled:
                self._stalled = True
                self.events.log(t, "fault", "stall", f"the controller stops answering for {stall[0].duration_s:g} s")
            return True
        if self._stalled:
            self._stalled = False
            self.events.log(t, "fault", "stall_end", "the controller answers again")
        if n_stale == len(obs.measurements):
            if not self._holding:
                self._holding = True
                self.events.log(t, "controller", "hold", "every measurement is stale: no step, no heartbeat")
            return True
        self._holding = False
        dt = self.side.control_interval_s
        wd = self.side.watchdog_s
        away = math.inf if self._last_t is None else t - self._last_t
        if self._last_t is None:
            await asyncio.to_thread(self._initialise, t, "first start")
        elif vals[("line", "watchdog_tripped")] and away > wd:
            # the PLC took the line back while this controller was away (stall, lost link, stale data):
            # take over afresh from the measurements
            await asyncio.to_thread(self._initialise, t,
                                    "re-initialised from the measurements: the line had gone back to its recipe")
        elif away > 1.5 * dt:  # missed intervals with the line still in its hands: carry on
            self.events.log(t, "controller", "gap", f"{away:g} s since the last step; the line is still in its "
                            "hands")
        await self._answer(client, k, obs)
        self._last_t = t
        return True

    async def run(self) -> ClientSummary:
        """Close the loop until the line finishes; reconnect after a lost link.

        A lost link (a transport or OPC UA error) is retried every ``reconnect_s`` until ``give_up_s``; a
        mistake (a certificate folder, a tag map or scenario that does not fit the line) or a controller
        that raises ends the run with its error.
        """
        async def serve(client: Any) -> None:
            while await self._cycle(client):
                pass

        def reconnected() -> None:
            self.summary.reconnects += 1
            self.events.log(math.nan, "controller", "link_up", "connected again")

        await keep_linked(self.url, self._connect, serve, reconnected, self.events, "controller", self.reconnect_s,
                          self.give_up_s)
        if self.targets is not None:
            self.summary.targets_requested = self.targets.requests
            self.summary.targets_received = self.targets.received
            self.summary.targets_refused = self.targets.refused
        self.summary.targets_aged_out = int(getattr(self.controller, "target_aged_out", 0))
        return self.summary


async def keep_linked(url: str, connect: Callable[[], Awaitable[Any]], serve: Callable[[Any], Awaitable[None]],
                      reconnected: Callable[[], None], events: EventLog, source: str, reconnect_s: float,
                      give_up_s: float) -> None:
    """Connect (``connect()`` returns an asyncua client) and ``serve(client)`` until it returns; after a lost link
    (a transport or OPC UA error) connect again every ``reconnect_s`` wall seconds (calling ``reconnected()`` once
    back) until ``give_up_s`` without the line, then raise :class:`LinkError`. A mistake (:class:`CalmlineError`:
    a certificate folder, tag map or scenario that does not fit the line), a security refusal or any other error
    ends it with its error. ``source``: the events' source (``link_down``)."""
    from asyncua import ua

    link_errors = (ua.UaError, OSError, ConnectionError, TimeoutError)
    lost_at: float | None = None
    connected_before = False
    while True:
        try:
            client = await connect()
        except CalmlineError:
            raise
        except link_errors as exc:
            if _is_security_refusal(exc):
                raise LinkError(f"{url}: the line refused the connection: {exc}") from None
            now = time.monotonic()
            lost_at = now if lost_at is None else lost_at
            if now - lost_at > give_up_s:
                raise LinkError(f"{url}: no connection for {give_up_s:g} s ({exc})") from None
            await asyncio.sleep(reconnect_s)
            continue
        if connected_before:
            reconnected()
        connected_before = True
        lost_at = None
        try:
            await serve(client)
        except link_errors as exc:  # the link dropped mid-cycle
            await _quiet_disconnect(client)
            if _is_security_refusal(exc):
                raise LinkError(f"{url}: the line refused a request: {exc}") from None
            events.log(math.nan, source, "link_down", f"{type(exc).__name__}: {exc}")
            lost_at = time.monotonic()
            continue
        except BaseException:
            await _quiet_disconnect(client)
            raise
        await _quiet_disconnect(client)
        return


async def connect_line(url: str, tags: TagMap, certs: Path | None, identity: str) -> tuple[Any, int]:
    """Connect to the line's server at ``url`` as ``identity`` (signed and encrypted with the certificate folder
    ``certs``; ``None``: without security); return the connected asyncua client and the tag map's namespace index.
    """
    from asyncua import Client

    client = Client(url, timeout=4)
    if certs is not None:
        from mpc.opcua._security import secure_client

        await secure_client(client, certs, identity=identity)
    await client.connect()
    try:
        return client, await client.get_namespace_index(tags.namespace_uri)
    except ValueError:
        await _quiet_disconnect(client)
        raise LinkError(f"{url}: the server has no namespace {tags.namespace_uri!r} (the tag map "
                        f"{tags.source}'s namespace_uri)") from None
    except BaseException:
        await _quiet_disconnect(client)
        raise

async def check_line(client: Any, nodes: dict[tuple[str, str], Any], side: LineSide, url: str) -> None:
    """Raise :class:`LinkError` unless the line at ``url`` runs ``side``'s control interval and announces its plan
    (``nodes``: the ``("line", name)`` nodes of the tag map)."""
    scen, dt, sched = await client.read_values([nodes[("line", n)] for n in
                                                ("scenario", "control_interval_s", "schedule_json")])
    if float(dt) != side.control_interval_s:
        raise LinkError(f"{url}: the line's control interval is {dt} s; scenario {side.scenario!r} has "
                        f"{side.control_interval_s} s")
    mine = json.dumps(to_plain(side.context.schedule, finite=True))
    if json.loads(sched) != json.loads(mine):
        raise LinkError(f"{url}: the line ({scen}) announces another plan than scenario {side.scenario!r}: "
                        f"{sched} (expected {mine})")

async def check_mailbox(client: Any, nodes: dict[tuple[str, str], Any], tags: TagMap, url: str) -> None:
    """Raise :class:`LinkError` unless the server has the tag map's ``[supervisor]`` mailbox nodes (a line whose
    server lacks them would otherwise refuse every request as a lost link)."""
    from asyncua import ua

    names = ("target_request", "target")
    try:
        dvs = await client.read_attributes([nodes[("supervisor", n)] for n in names], ua.AttributeIds.Value)
        bad = [(n, dv.StatusCode.name) for n, dv in zip(names, dvs, strict=True) if not dv.StatusCode.is_good()]
    except ua.UaStatusCodeError as exc:
        bad = [(n, str(exc)) for n in names]
    if bad:
        what = ", ".join(f"{tags.node('supervisor', n)} ({why})" for n, why in bad)
        raise LinkError(f"{url}: the server has no supervisory mailbox: {what}, the tag map {tags.source}'s "
                        "[supervisor] table")


def _is_security_refusal(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(s in text for s in ("BadSecurity", "BadCertificate", "BadIdentity", "BadUserAccessDenied",
                                   "BadSecurityChecksFailed"))


async def _quiet_disconnect(client: Any) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), timeout=2.0)
    except Exception:
        pass


def _finite_or_none(v: float) -> float | None:
    """A number for JSON: NaN and infinities as ``null``."""
    v = float(v)
    return v if math.isfinite(v) else None
