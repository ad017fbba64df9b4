"""The simulated line (plant + PLC) as an OPC UA server: ``calmline line serve``.

Every control interval the server

1. injects the line-side faults that hold (:mod:`mpc.opcua._faults`);
2. publishes the line's observation: each measurement with its ``Healthy``/``Fresh`` flags and the
   sample time as source timestamp, each PLC loop's mode, working set point, output and flag, the
   applied plant inputs, the LEL limit in force, the plan, and last the ``cycle`` counter, which
   tells a controller that a new interval is there;
3. waits for the controller's answer (``lockstep``: until it acknowledges the cycle or a wall-clock
   timeout; ``realtime``: until the interval's wall-clock deadline at ``speed`` simulated seconds
   per wall second);
4. hands a changed heartbeat to the PLC's watchdog, and a new answer's set points (the names the
   controller lists in its ``written`` tag) and releases to the PLC, which checks, clamps and
   flags them;
5. runs the interval on :class:`mpc.harness.SimulatedLine` and logs every PLC event.

The line's clock: source timestamps are the server's start (UTC) plus simulated seconds.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mpc.edge import LineSide, to_plain
from mpc.harness import RunResult, SimulatedLine
from mpc.interfaces import Command, Observation
from mpc.opcua._events import EventLog
from mpc.opcua._faults import FaultError, FaultPlan
from mpc.opcua._tagmap import TagMap, load_tag_map
from mpc.scenario import ScenarioSetup
from plants.plc import MODE_VALUES, Plc, PlcWriteError

__all__ = ["LineServer", "Pacing", "line_tag_map", "side_tag_map"]

_EU_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"


@dataclass(frozen=True)
class Pacing:
    """How the served line's clock runs.

    Attributes
    ----------
    mode : {"lockstep", "realtime"}
        ``lockstep``: an interval ends when the controller has answered it or after
        ``answer_timeout_s`` of wall time (deterministic whatever the machine's load: for tests and
        regression runs); ``realtime``: an interval lasts ``control_interval_s / speed`` wall seconds
        whatever the controller does (as on a line; ``speed`` > 1 accelerates).
    speed : float
        ``realtime``: simulated seconds per wall second.
    answer_timeout_s : float
        ``lockstep``: wall seconds an interval waits for the controller's answer.
    start_timeout_s : float
        ``lockstep``: wall seconds the first interval waits for a controller (the line then runs in
        recipe mode until one answers).
    """

    mode: Literal["lockstep", "realtime"] = "lockstep"
    speed: float = 1.0
    answer_timeout_s: float = 2.0
    start_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in ("lockstep", "realtime"):
            raise ValueError(f"pacing mode {self.mode!r}: expected 'lockstep' or 'realtime'")
        for name in ("speed", "answer_timeout_s", "start_timeout_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"pacing {name} = {v}: expected a finite number > 0")


def line_tag_map(setup: ScenarioSetup, path: str | Path | None = None, *, plc: Plc | None = None) -> TagMap:
    """The tag map of the scenario's line, checked against its sensors, PLC loops and plant inputs.

    ``plc``: the line's PLC where the caller has built it already (building one runs the loops' step
    tests); default: built here.
    """
    plc = setup.plc() if plc is None else plc
    return _checked_tag_map(path, setup.plant_params.dryer.n_zones, list(setup.sensor_specs), plc.writable_names,
                            [s.name for s in plc.specs], plc.input_names)


def side_tag_map(side: LineSide, path: str | Path | None = None) -> TagMap:
    """The tag map of a line-side client's line (:class:`mpc.edge.LineSide`), checked as :func:`line_tag_map`."""
    return _checked_tag_map(path, side.n_zones, side.context.measurement_names, side.plc_writable_names,
                            [s.name for s in side.context.plc_loops], side.plc_input_names)


def _checked_tag_map(path: str | Path | None, n_zones: int, sensors: Sequence[str], writable: Sequence[str],
                     loops: Sequence[str], inputs: Sequence[str]) -> TagMap:
    required = {"measurements": list(sensors), "setpoints": list(writable), "loops": list(loops),
                "applied": list(inputs)}
    return load_tag_map(path, n_zones=n_zones, required=required)

class LineServer:
    """A scenario's simulated line served over OPC UA.

    Parameters
    ----------
    setup : ScenarioSetup
        The scenario, resolved.
    host, port : str, int
        Where to listen (port 0: a free port, :attr:`url` says which).
    duration_s : float, optional
        How long the line runs, simulated s (default: the scenario's duration).
    pacing : Pacing
        The clock (default lockstep).
    faults : FaultPlan
        Faults to inject; the line injects ``link_loss``, ``stale_tags`` and ``nan_tag``.
    tag_map : path, optional
        The tag map (default ``scenarios/data/opcua/line.toml``).
    certs : path, optional
        The certificate folder (``calmline line certs``): the link is then signed and encrypted
        (Basic256Sha256) and only the controller identity may write. Without it the server runs
        without security, which :func:`mpc.opcua.serve_line` allows only with ``insecure``.
    events : EventLog, optional
        Where events go (default: kept in memory).
    on_interval : callable, optional
        Called after every interval with the server (a live view's hook).
    """

    def __init__(self, setup: ScenarioSetup, *, host: str = "127.0.0.1", port: int = 4840,
                 duration_s: float | None = None, pacing: Pacing | None = None,
                 faults: FaultPlan | None = None, tag_map: str | Path | None = None,
                 certs: str | Path | None = None, events: EventLog | None = None,
                 on_interval: Callable[[LineServer], None] | None = None) -> None:
        self.setup = setup
        self.line = SimulatedLine(setup, duration_s=duration_s, stacklevel=3)
        self.plc = self.line.plc
        self.tag_map = line_tag_map(setup, tag_map, plc=self.plc)
        self.host, self.port = host, int(port)
        self.pacing = pacing or Pacing()
        self.faults = faults or FaultPlan()
        for f in self.faults.server_side():
            unknown = [n for n in f.tags if n not in self.line.sensor_names]
            if unknown:
                raise FaultError(f"fault {f.kind} at {f.start_s:g} s: tags {unknown[0]!r} is not a measurement of the "
                                 f"line; expected one of {', '.join(self.line.sensor_names)}")
        self.certs = Path(certs) if certs is not None else None
        self.events = events or EventLog()
        self.on_interval = on_interval
        self.controller_name = "opcua"
        self.last_observation: Observation | None = None
        self.last_command = Command()
        self.answers = 0
        self._server: Any = None
        self._ids: dict[tuple[str, str], Any] = {}
        self._supervisor_nodes: set[Any] = set()
        """The nodes only a supervisory identity may write (the target it publishes; :mod:`mpc.opcua._security`)."""
        self._last_ack = -1.0
        self._last_hb: float | None = None
        self._link_down = False
        self._frozen: dict[str, Any] = {}
        self._n_clients = 0
        self._epoch = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        self.finish_grace_s = 3.0
        """Wall seconds the finished line waits for its clients to leave before it stops serving."""

    # ------------------------------------------------------------------ address space
    @property
    def url(self) -> str:
        """The endpoint URL clients connect to."""
        return f"opc.tcp://{self.host}:{self.port}/calmline/line"

    def node_id(self, kind: str, name: str, suffix: str = "") -> Any:
        """The NodeId of a tag (``suffix``: ``.Healthy``, ``.Mode`` ...)."""
        return self._ids[(kind, name + suffix)]

    async def start(self) -> None:
        """Build the address space and start listening."""
        from asyncua import Server, ua

        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("calmline simulated line")
        if self.certs is not None:
            from mpc.opcua._security import secure_server

            await secure_server(server, self.certs, on_refused=self._refused, supervisor_nodes=self._supervisor_nodes)
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        uri = self.tag_map.namespace_uri
        idx = await server.register_namespace(uri)
        folder = await server.nodes.objects.add_object(ua.NodeId("calmline", idx), ua.QualifiedName("Line", idx))
        self._idx = idx

        async def var(kind: str, name: str, node: str, value: Any, vtype: Any, unit: str = "",
                      writable: bool = False) -> None:
            nid = ua.NodeId(node, idx)
            v = await folder.add_variable(nid, ua.QualifiedName(node, idx), ua.Variant(value, vtype))
            if unit:
                eu = ua.EUInformation(NamespaceUri=_EU_NAMESPACE, UnitId=-1,
                                      DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))
                await v.add_property(idx, "EngineeringUnits", eu)
            if writable:
                await v.set_writable(True)
            self._ids[(kind, name)] = nid

        D, B, S = ua.VariantType.Double, ua.VariantType.Boolean, ua.VariantType.String
        for name, tag in self.tag_map.of("measurements").items():
            await var("measurements", name, tag.node, math.nan, D, tag.unit)
            await var("measurements", name + ".Healthy", tag.node + ".Healthy", True, B)
            await var("measurements", name + ".Fresh", tag.node + ".Fresh", False, B)
        for name, tag in self.tag_map.of("setpoints").items():
            await var("setpoints", name, tag.node, math.nan, D, tag.unit, writable=True)
        for name, tag in self.tag_map.of("loops").items():
            await var("loops", name + ".Mode", tag.node + ".Mode", 0.0, D)
            await var("loops", name + ".WorkingSetpoint", tag.node + ".WorkingSetpoint", math.nan, D)
            await var("loops", name + ".Output", tag.node + ".Output", math.nan, D)
            await var("loops", name + ".Flag", tag.node + ".Flag", "", S)
        for name, tag in self.tag_map.of("applied").items():
            await var("applied", name, tag.node, math.nan, D, tag.unit)
        text_line = {"schedule_json", "scenario", "plc_mode", "last_event"}
        bool_line = {"line_stopped", "watchdog_tripped", "finished"}
        for name, tag in self.tag_map.of("line").items():
            if name in text_line:
                await var("line", name, tag.node, "", S)
            elif name in bool_line:
                await var("line", name, tag.node, False, B)
            else:
                await var("line", name, tag.node, -1.0 if name == "cycle" else math.nan, D, tag.unit)
        text_ctl = {"written", "release", "name", "info"}
        bool_ctl = {"solver_failure", "fallback", "solved"}
        for name, tag in self.tag_map.of("controller").items():
            if name in text_ctl:
                await var("controller", name, tag.node, "", S, writable=True)
            elif name in bool_ctl:
                await var("controller", name, tag.node, False, B, writable=True)
            else:
                await var("controller", name, tag.node, -1.0 if name == "cycle_ack" else 0.0, D, tag.unit,
                          writable=True)
        for name, tag in self.tag_map.of("supervisor").items():  # the mailbox: the line only hosts it
            await var("supervisor", name, tag.node, "", S, writable=True)
            if name == "target":  # only the supervisory layer's identity may write it (and it nothing else)
                self._supervisor_nodes.add(self._ids[("supervisor", name)])
        await server.start()
        self._server = server
        if self.port == 0:
            self.port = int(server.bserver.port)
        sc = self.setup.scenario
        await self._put("line", "scenario", sc.name)
        await self._put("line", "control_interval_s", float(self.line.dt_s))
        await self._put("line", "schedule_json", json.dumps(to_plain(self.setup.schedule, finite=True)))
        self.events.log(0.0, "line", "serving", f"{sc.name} at {self.url} "
                        f"({'signed and encrypted' if self.certs else 'NO SECURITY'}; {self.pacing.mode})")

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            if self._link_down:  # a link fault outlasted the run: listen again so that the server stops whole
                await self._server.bserver.start()
                self._link_down = False
            await self._server.stop()
            self._server = None

    def _refused(self, identity: str, node: str) -> None:
        name = next((f"{kind}.{tag.name}" for kind in self.tag_map.tags for tag in self.tag_map.of(kind).values()
                     if f"s={tag.node} " in node + " " or f"s={tag.node})" in node), None)
        what = f"{name} ({node})" if name else node
        self.events.log(self.line.t_s, "security", "refused", f"write to {what} by {identity}")

    async def _put(self, kind: str, name: str, value: Any, t_s: float | None = None) -> None:
        from asyncua import ua

        if isinstance(value, bool):
            var = ua.Variant(value, ua.VariantType.Boolean)
        elif isinstance(value, str):
            var = ua.Variant(value, ua.VariantType.String)
        else:
            var = ua.Variant(float(value), ua.VariantType.Double)
        ts = self._stamp(self.line.t_s if t_s is None else t_s)
        await self._server.write_attribute_value(self._ids[(kind, name)], ua.DataValue(
            var, SourceTimestamp=ts, ServerTimestamp=ts))

    def _read(self, kind: str, name: str) -> Any:
        dv = self._server.read_attribute_value(self._ids[(kind, name)])
        return dv.Value.Value if dv.Value is not None else None

    def _stamp(self, t_s: float) -> _dt.datetime:
        return self._epoch + _dt.timedelta(seconds=float(t_s))

    # ------------------------------------------------------------------ faults
    async def _link(self, t: float) -> None:
        down = bool(self.faults.active("link_loss", t))
        if down and not self._link_down:
            await self._server.bserver.stop()
            self._link_down = True
            self.events.log(t, "fault", "link_down", "the line drops every client and refuses new ones")
        elif not down and self._link_down:
            await self._server.bserver.start()
            self._link_down = False
            self.events.log(t, "fault", "link_up", "the line accepts clients again")

    # ------------------------------------------------------------------ one interval
    async def _publish(self, obs: Observation, k: int, t: float) -> None:
        stale = {n for f in self.faults.active("stale_tags", t) for n in f.tags}
        nan = {n for f in self.faults.active("nan_tag", t) for n in f.tags}
        for name in self.line.sensor_names:
            if name in stale:
                if name not in self._frozen:
                    self._frozen[name] = t
                    self.events.log(t, "fault", "stale_tags", f"{name} stops updating")
                continue
            if name in self._frozen:
                del self._frozen[name]
                self.events.log(t, "fault", "stale_tags_end", f"{name} updates again")
            value = obs.measurements[name]
            if name in nan:
                value = math.nan
            await self._put("measurements", name, value, t)
            await self._put("measurements", name + ".Healthy", bool(obs.healthy[name]), t)
            await self._put("measurements", name + ".Fresh", bool(obs.fresh[name]), t)
        for name, st in obs.loops.items():
            await self._put("loops", name + ".Mode", float(MODE_VALUES[st.mode]), t)
            await self._put("loops", name + ".WorkingSetpoint", st.setpoint, t)
            await self._put("loops", name + ".Output", st.output, t)
            await self._put("loops", name + ".Flag", st.flag, t)
        for name, v in zip(self.line.input_names, obs.applied.tolist(), strict=True):
            await self._put("applied", name, v, t)
        await self._put("line", "lel_limit_frac", obs.lel_limit_frac, t)
        await self._put("line", "speed_target_m_s", obs.speed_target_m_s, t)
        await self._put("line", "speed_cap_m_s", obs.speed_cap_m_s, t)
        await self._put("line", "line_stopped", bool(obs.line_stopped), t)
        await self._put("line", "plc_mode", self.plc_mode, t)
        await self._put("line", "watchdog_tripped", self.plc.watchdog_tripped, t)
        await self._put("line", "loops_flagged", float(self.plc.flagged()), t)
        await self._put("line", "sim_time_s", t, t)
        await self._put("line", "cycle", float(k), t)

    @property
    def plc_mode(self) -> str:
        """``remote`` while any loop is in remote or manual mode, else ``recipe``."""
        return "remote" if any(st.mode != "recipe" for st in self.plc.status().values()) else "recipe"

    async def _wait_answer(self, k: int, wall_start: float) -> None:
        p = self.pacing
        if p.mode == "realtime":
            deadline = wall_start + (k + 1) * self.line.dt_s / p.speed
            await asyncio.sleep(max(deadline - time.monotonic(), 0.0))
            return
        if self._link_down:
            await asyncio.sleep(0)
            return
        timeout = p.start_timeout_s if k == 0 else p.answer_timeout_s
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if _number(self._read("controller", "cycle_ack")) >= k:
                return
            await asyncio.sleep(0.001)

    def _take_answer(self, k: int, t: float) -> tuple[Command, float]:
        hb = self._read("controller", "heartbeat")
        if self._last_hb is not None and hb != self._last_hb:
            self.plc.heartbeat(t)
        self._last_hb = hb
        ack = _number(self._read("controller", "cycle_ack"))
        if not ack > self._last_ack:  # no (new) answer; NaN compares False
            return Command(), math.nan
        self._last_ack = float(ack)
        self.answers += 1
        if ack < k:
            self.events.log(t, "line", "late_answer", f"answer to cycle {ack:.0f} taken at cycle {k}")
        self.controller_name = str(self._read("controller", "name") or "opcua")
        written = [s for s in str(self._read("controller", "written") or "").split(",") if s]
        setpoints: dict[str, float] = {}
        known = self.tag_map.of("setpoints")
        for key in written:
            if key not in known:
                self.events.log(t, "line", "refused", f"unknown set point {key!r} in the controller's answer")
                continue
            setpoints[key] = _number(self._read("setpoints", key))  # NaN for a Null: the PLC rejects and flags it
        loops = {s.name for s in self.plc.specs}
        release = []
        for name in (s for s in str(self._read("controller", "release") or "").split(",") if s):
            if name not in loops:
                self.events.log(t, "line", "refused", f"release of unknown loop {name!r}")
            else:
                release.append(name)
        step_ms = _number(self._read("controller", "step_time_ms"))
        step_ms = step_ms if math.isfinite(step_ms) and step_ms >= 0.0 else 0.0
        info: dict[str, float] = {}
        text = str(self._read("controller", "info") or "")
        if text:
            try:
                info = {str(k): float(v) for k, v in json.loads(text).items()}
            except (ValueError, TypeError, AttributeError):
                self.events.log(t, "line", "refused", f"controller info is not a JSON object of numbers: {text[:80]!r}")
        cmd = Command(setpoints=setpoints, release=tuple(release), info=info,
                      solver_failure=bool(self._read("controller", "solver_failure")),
                      fallback=bool(self._read("controller", "fallback")),
                      solved=bool(self._read("controller", "solved")))
        return cmd, step_ms

    def _drain_plc_events(self) -> None:
        while self.plc.events:
            ev = self.plc.events.popleft()
            self.events.log(ev.t_s, "plc", ev.what, f"{ev.loop}: {ev.detail}" if ev.detail else ev.loop, ev.value)

    def _clients(self, t: float) -> None:
        n = len(self._server.bserver.clients) if not self._link_down else 0
        if n != self._n_clients:
            self.events.log(t, "line", "clients", f"{n} connected (was {self._n_clients})")
            self._n_clients = n

    async def run(self) -> RunResult:
        """Serve the line until its duration has run; return the run (KPIs not yet attached)."""
        if self._server is None:
            await self.start()
        line = self.line
        wall_start = time.monotonic()
        while not line.done:
            k, t = line.k, line.t_s
            await self._link(t)
            obs = line.observe()
            self.last_observation = obs
            await self._publish(obs, k, t)
            await self._wait_answer(k, wall_start)
            cmd, step_ms = self._take_answer(k, t)
            self.last_command = cmd
            answered = math.isfinite(step_ms)
            try:
                line.advance(cmd, step_ms if answered else 0.0, answered=answered)
            except PlcWriteError as exc:  # not reachable through the tag map; kept as a guard
                self.events.log(t, "line", "refused", str(exc))
                line.advance(Command(), 0.0, answered=False)
            self._drain_plc_events()
            if self._server is not None and not self._link_down:
                await self._put("line", "last_event", self._last_event_text(), t)
            self._clients(t)
            if self.on_interval is not None:
                self.on_interval(self)
        await self._put("line", "finished", True, line.t_s)
        self.events.log(line.t_s, "line", "finished", f"{line.n_steps} intervals, {self.answers} answers")
        end = time.monotonic() + self.finish_grace_s  # let the controller read that the line has finished
        while not self._link_down and self._server.bserver.clients and time.monotonic() < end:
            await asyncio.sleep(0.01)
        return line.result(self.controller_name)

    def _last_event_text(self) -> str:
        if not self.events.events:
            return ""
        e = self.events.events[-1]
        return f"{e.t_s:.0f} s {e.source} {e.what} {e.detail}"


def _number(v: Any) -> float:
    """A tag's value as a float; NaN for a Null or anything that is not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan
