"""The economic target across the line's OPC UA server: the edge controller's side of the mailbox.

The tag map's ``[supervisor]`` nodes are a mailbox on the line's server: the edge controller writes its latest
:class:`mpc.edge.TargetRequest` to ``target_request`` and reads the :class:`mpc.edge.StampedTarget` the supervisory
layer (``calmline edge target``, :class:`mpc.opcua.TargetPublisher`) writes to ``target``, both as JSON texts.
:class:`LineTargets` is the :class:`mpc.edge.TargetSource` the controller is given: :class:`mpc.opcua.LineClient`
writes the pending request with its answer and hands it every cycle's text of ``target``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from mpc.edge import StampedTarget, TargetRequest
from mpc.opcua._events import EventLog

__all__ = ["LineTargets"]

_KEEP = 64
"""Requests remembered: an answer to an older one (or to another controller's) is refused."""


class LineTargets:
    """A :class:`mpc.edge.TargetSource` over the line's mailbox nodes.

    Parameters
    ----------
    events : EventLog, optional
        Where a target received and a text that is not one go (source ``controller``, ``target`` and
        ``bad_target``).

    Attributes
    ----------
    requests, received, refused : int
        Requests written, targets taken, texts refused (not a target; not an answer to one of this controller's
        last 64 requests, as after a restart of the controller the mailbox still holds the answer to the last
        process's; not newer than the last one taken).
    """

    def __init__(self, events: EventLog | None = None) -> None:
        self.events = events or EventLog()
        self.requests = 0
        self.received = 0
        self.refused = 0
        self._pending: str | None = None
        self._asked: dict[int, float] = {}  # request number -> its stamp, the last _KEEP requests
        self._latest: StampedTarget | None = None
        self._text = ""

    # the controller's side (mpc.edge.TargetSource)
    def request(self, req: TargetRequest) -> None:
        self._pending = json.dumps(req.to_dict())
        self.requests += 1
        self._asked[int(req.seq)] = float(req.t_s)
        while len(self._asked) > _KEEP:
            del self._asked[next(iter(self._asked))]

    def latest(self) -> StampedTarget | None:
        return self._latest

    # the client's side
    def take_request(self) -> str | None:
        """The request to write with this cycle's answer (``None``: none new)."""
        out, self._pending = self._pending, None
        return out

    def receive(self, text: Any, t_s: float) -> None:
        """This cycle's text of the ``target`` node: a new target is parsed and becomes :meth:`latest`."""
        if not isinstance(text, str) or not text or text == self._text:
            return
        self._text = text
        try:
            target = StampedTarget.from_dict(json.loads(text))
            finite = bool(np.all(np.isfinite(target.x_s)) and np.all(np.isfinite(target.u_s))
                          and math.isfinite(target.t_s))
        except (ValueError, TypeError, KeyError) as exc:
            self.refused += 1
            self.events.log(t_s, "controller", "bad_target", f"the supervisory layer's text is not a target "
                            f"({type(exc).__name__}: {exc}); ignored")
            return
        why = ""
        if not finite:
            why = "holds a value that is not finite"
        elif self._asked.get(target.seq) != target.t_s:
            why = f"answers no request of this controller (request {target.seq}, stamped {target.t_s:g} s)"
        elif self._latest is not None and target.seq <= self._latest.seq:
            why = f"is not newer than the last one (request {target.seq} after {self._latest.seq})"
        if why:
            self.refused += 1
            self.events.log(t_s, "controller", "bad_target", f"the supervisory layer's target {why}; ignored")
            return
        self._latest = target
        self.received += 1
        self.events.log(t_s, "controller", "target",
                        f"request {target.seq} answered ({'converged' if target.ok else 'failed'}, solved on the "
                        f"estimate of {target.t_s:g} s in {target.solve_time_s * 1e3:.0f} ms)",
                        value=target.t_s)
