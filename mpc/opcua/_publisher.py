"""The supervisory layer on a line: the NMPC's economic target, solved for the edge controller's requests and
published on the line's mailbox (``calmline edge target``).

The edge core (``calmline edge run ARTIFACT --targets line``) writes each :class:`mpc.edge.TargetRequest` to the
tag map's ``[supervisor] target_request`` node; :class:`TargetPublisher` reads it, solves the target on IPOPT
(:class:`controllers.nmpc.SupervisoryTarget`, the scenario's ``[controllers.nmpc]`` tables) and writes the
:class:`mpc.edge.StampedTarget` to ``[supervisor] target``, until the line finishes. It connects as the identity
``supervisor``, which may write that node and nothing else (:mod:`mpc.opcua._security`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mpc.edge import StampedTarget, TargetRequest
from mpc.errors import CalmlineError
from mpc.harness import line_side
from mpc.interfaces import ControllerContext
from mpc.opcua._client import (
    _quiet_disconnect,
    check_line,
    check_mailbox,
    connect_line,
    keep_linked,
)
from mpc.opcua._events import EventLog
from mpc.opcua._server import side_tag_map
from mpc.scenario import ScenarioSetup

__all__ = ["PublisherSummary", "TargetPublisher"]


@dataclass
class PublisherSummary:
    """What the supervisory layer did on a line.

    Attributes
    ----------
    answered, converged : int
        Requests answered, and of them those whose solve converged.
    bad_requests : int
        Texts in the request node that were not a request (ignored).
    solve_ms : list of float
        Each solve's wall-clock time, ms.
    reconnects : int
        Times the link came back after being lost.
    """

    answered: int = 0
    converged: int = 0
    bad_requests: int = 0
    solve_ms: list[float] = field(default_factory=list)
    reconnects: int = 0


class TargetPublisher:
    """The economic target's supervisory layer on the line's OPC UA server.

    Parameters
    ----------
    url : str
        The line server's endpoint.
    setup : ScenarioSetup
        The scenario the NMPC was designed on (its model, recipe, plan and ``[controllers.nmpc]`` tables).
    answer : callable, optional
        ``answer(request) -> StampedTarget``; default :meth:`controllers.nmpc.SupervisoryTarget.answer` on the
        scenario (built here, with CasADi and IPOPT).
    tag_map : path, optional
        The tag map (default the shipped one); it must have the ``[supervisor]`` table.
    certs : path, optional
        The certificate folder; the link is then signed and encrypted, as ``identity``.
    identity : str
        The certificate the publisher presents (``supervisor``).
    events : EventLog, optional
        Where its events go (source ``supervisor``).
    poll_s : float
        Wall seconds between two reads of the request node.
    reconnect_s, give_up_s : float
        Wall seconds between reconnection attempts, and without the line after which it ends with
        :class:`mpc.opcua.LinkError`.
    """

    def __init__(self, url: str, setup: ScenarioSetup, *, answer: Callable[[TargetRequest], StampedTarget] | None = None,
                 tag_map: str | Path | None = None, certs: str | Path | None = None, identity: str = "supervisor",
                 events: EventLog | None = None, poll_s: float = 0.02, reconnect_s: float = 0.2,
                 give_up_s: float = 30.0) -> None:
        self.url = url
        self.side = line_side(setup, "nmpc")
        self.tags = side_tag_map(self.side, tag_map)
        if not self.tags.of("supervisor"):
            raise CalmlineError(f"{self.tags.source}: no [supervisor] table (target_request, target): the mailbox "
                                "the supervisory layer answers on")
        self.certs = Path(certs) if certs is not None else None
        self.identity = identity
        self.events = events or EventLog()
        self.poll_s = float(poll_s)
        self.reconnect_s = float(reconnect_s)
        self.give_up_s = float(give_up_s)
        self.summary = PublisherSummary()
        self._answer = answer if answer is not None else _layer(self.side.context)
        self._last_text = ""
        self._last_seq = -1

    async def _connect(self) -> tuple[Any, dict[tuple[str, str], Any]]:
        client, ns = await connect_line(self.url, self.tags, self.certs, self.identity)
        try:
            nodes = {(t.kind, name): client.get_node(f"ns={ns};s={t.node}")
                     for kind in ("line", "supervisor") for name, t in self.tags.of(kind).items()}
            await check_line(client, nodes, self.side, self.url)
            await check_mailbox(client, nodes, self.tags, self.url)
        except BaseException:
            await _quiet_disconnect(client)
            raise
        return client, nodes

    async def _serve(self, client: Any, nodes: dict[tuple[str, str], Any]) -> None:
        fin_node, req_node = nodes[("line", "finished")], nodes[("supervisor", "target_request")]
        target_node, time_node = nodes[("supervisor", "target")], nodes[("line", "sim_time_s")]
        while True:
            fin, text, t = await client.read_values([fin_node, req_node, time_node])
            t = float(t) if isinstance(t, float) else math.nan
            if fin:
                return
            if isinstance(text, str) and text and text != self._last_text:
                self._last_text = text
                try:
                    req = TargetRequest.from_dict(json.loads(text))
                except (ValueError, TypeError, KeyError) as exc:
                    self.summary.bad_requests += 1
                    self.events.log(t, "supervisor", "bad_request", f"not a target request ({type(exc).__name__}: "
                                    f"{exc}); ignored")
                    continue
                if req.trust and self._last_seq >= 0 and req.seq != self._last_seq + 1:
                    # a request between this one and the last answered was never read (the edge asked twice between
                    # two polls): its plan may have freed the target, so this one does too
                    req = dataclasses.replace(req, trust=False)
                self._last_seq = req.seq
                w0 = time.perf_counter()
                try:
                    answer = await asyncio.to_thread(self._answer, req)
                except (ValueError, RuntimeError) as exc:  # a request it cannot solve: answered failed, it goes on
                    self.summary.bad_requests += 1
                    self.events.log(t, "supervisor", "bad_request", f"request {req.seq}: {exc}; answered failed")
                    answer = StampedTarget(seq=req.seq, t_s=req.t_s, ok=False, x_s=np.zeros(0), u_s=np.zeros(0))
                ms = (time.perf_counter() - w0) * 1e3
                await client.write_values([target_node], [json.dumps(answer.to_dict())])
                self.summary.answered += 1
                self.summary.converged += bool(answer.ok)
                self.summary.solve_ms.append(ms)
                self.events.log(t, "supervisor", "target", f"request {req.seq} (estimate of {req.t_s:g} s) answered "
                                f"in {ms:.0f} ms: {'converged' if answer.ok else 'failed'}", value=ms)
                continue
            await asyncio.sleep(self.poll_s)

    async def run(self) -> PublisherSummary:
        """Answer the requests until the line finishes; reconnect after a lost link (as :class:`LineClient`)."""

        async def connect() -> Any:
            client, self._nodes = await self._connect()
            self.events.log(math.nan, "supervisor", "connected", f"{self.url}: answering the target's requests")
            return client

        def reconnected() -> None:
            self.summary.reconnects += 1

        await keep_linked(self.url, connect, lambda client: self._serve(client, self._nodes), reconnected,
                          self.events, "supervisor", self.reconnect_s, self.give_up_s)
        return self.summary

def _layer(ctx: ControllerContext) -> Callable[[TargetRequest], StampedTarget]:
    """The NMPC's target layer on ``ctx`` (:meth:`controllers.nmpc.SupervisoryTarget.on_context`)."""
    from controllers.nmpc import SupervisoryTarget
    from mpc.scenario import NmpcSettings

    st = NmpcSettings.from_mapping(ctx.settings, where=f"[controllers.{ctx.controller_name}]", source=ctx.source)
    return SupervisoryTarget.on_context(ctx, st).answer
