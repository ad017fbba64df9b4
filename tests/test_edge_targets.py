"""The economic target between layers: the messages, the edge's side of the line's mailbox, the tag map's table."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from mpc.edge import StampedTarget, TargetRequest, TargetSource
from mpc.opcua import EventLog, LineTargets, TagMapError, load_tag_map

ROOT = Path(__file__).resolve().parents[1]


def _request(seq: int, t_s: float) -> TargetRequest:
    return TargetRequest(seq=seq, t_s=t_s, est=np.array([0.6, 1.0, 1.0]), speed_target_m_s=0.5, speed_cap_m_s=0.6,
                         lel_limit_frac=0.25, cw_target_kg_m2=0.2, u_prev_s=np.ones(4), u_lb_s=np.zeros(4),
                         u_ub_s=2 * np.ones(4), fixed=((3, 0.5), (7, 0.1)), out_bias=np.zeros(5),
                         out_gain=np.zeros(4), trust=True)


def _answer(seq: int, t_s: float, **kw) -> StampedTarget:
    return StampedTarget(seq=seq, t_s=t_s, ok=kw.pop("ok", True), x_s=kw.pop("x_s", np.ones(6)), u_s=np.ones(4),
                         **kw)


def test_the_messages_go_through_json_unchanged() -> None:
    req = _request(3, 120.0)
    back = TargetRequest.from_dict(json.loads(json.dumps(req.to_dict())))
    assert json.dumps(back.to_dict()) == json.dumps(req.to_dict())
    assert back.fixed == ((3, 0.5), (7, 0.1)) and isinstance(back.est, np.ndarray)
    ans = _answer(3, 120.0, exit_residual_kg_kg=0.002, solve_time_s=0.02)
    got = StampedTarget.from_dict(json.loads(json.dumps(ans.to_dict())))
    assert got.exit_residual_kg_kg == 0.002 and math.isnan(got.exit_film_temp_K)
    assert json.loads(json.dumps(_answer(1, 0.0).to_dict()))["exit_film_temp_K"] is None  # NaN is null in JSON
    with pytest.raises(TypeError, match="ok = 'false': expected true or false"):
        StampedTarget.from_dict({**_answer(1, 0.0).to_dict(), "ok": "false"})


def test_the_edge_takes_only_new_finite_answers_to_its_own_requests() -> None:
    events = EventLog()
    link = LineTargets(events)
    assert isinstance(link, TargetSource) and link.latest() is None and link.take_request() is None
    link.request(_request(1, 0.0))
    text = link.take_request()
    assert json.loads(text)["seq"] == 1 and link.take_request() is None  # written once
    link.receive(json.dumps(_answer(7, 0.0).to_dict()), 2.0)  # a previous process's answer: not asked for
    assert link.latest() is None and link.refused == 1
    good = json.dumps(_answer(1, 0.0).to_dict())
    link.receive(good, 4.0)
    assert link.latest().seq == 1 and link.received == 1
    link.receive(good, 6.0)  # the same text, read again next cycle
    assert link.received == 1 and link.refused == 1
    link.request(_request(2, 60.0))
    link.receive(json.dumps(_answer(2, 60.0, x_s=np.array([1.0, np.nan])).to_dict()).replace("null", "NaN"), 62.0)
    link.receive("{not json", 64.0)
    link.receive(json.dumps({"seq": 2}), 66.0)
    assert link.latest().seq == 1 and link.refused == 4
    link.receive(json.dumps(_answer(2, 60.0, ok=False).to_dict()), 68.0)  # a failed solve is an answer too
    assert link.latest().seq == 2 and not link.latest().ok and link.received == 2
    link.receive(json.dumps(_answer(1, 0.0, solve_time_s=1.0).to_dict()), 70.0)  # an older answer, arriving late
    assert link.latest().seq == 2 and link.refused == 5
    whats = [e.what for e in events.events]
    assert whats.count("target") == 2 and whats.count("bad_target") == 5
    assert any("answers no request of this controller" in e.detail for e in events.events)
    assert any("not newer" in e.detail for e in events.events)


def test_the_tag_maps_supervisor_table_is_optional_but_whole(tmp_path: Path) -> None:
    shipped = (ROOT / "scenarios" / "data" / "opcua" / "line.toml").read_text()
    raw = tomllib.loads(shipped)
    required = {k: [n for n in raw[k] if "{i}" not in n] for k in ("measurements", "setpoints", "loops", "applied")}
    required = {k: sorted(set(v) | {n.replace("{i}", "1") for n in raw[k] if "{i}" in n}) for k, v in required.items()}
    full = load_tag_map(None, n_zones=1, required=required)
    assert set(full.of("supervisor")) == {"target_request", "target"}
    without = tmp_path / "without.toml"
    without.write_text(shipped.split("[supervisor]")[0])
    assert load_tag_map(without, n_zones=1, required=required).of("supervisor") == {}
    half = tmp_path / "half.toml"
    half.write_text(shipped.replace('target_request = { node = "Supervisor.TargetRequest", unit = "" }\n', ""))
    with pytest.raises(TagMapError, match=r"\[supervisor\] has no entry for 'target_request'"):
        load_tag_map(half, n_zones=1, required=required)


class _FakeLink:
    """An asyncua client stand-in: the line's finished flag, the request node's texts and the simulated time, read in
    turn; the writes recorded."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.written, self.reads = texts, [], 0

    async def read_values(self, nodes):
        i = self.reads
        self.reads += 1
        if i >= len(self.texts):
            return [True, "", 0.0]
        return [False, self.texts[i], 2.0 * i]

    async def write_values(self, nodes, values):
        self.written.append(values[0])


def test_the_supervisory_layer_answers_each_new_request_once_and_skips_what_is_not_one() -> None:
    """:class:`mpc.opcua.TargetPublisher`'s loop on a stand-in link: a request read again is not solved again, a
    text that is not a request is counted and skipped, a request after one never read loses its trust region, one
    the layer cannot solve is answered failed (the layer goes on), and every answer is written as the target."""
    import asyncio

    from mpc.opcua import PublisherSummary, TargetPublisher

    asked = []

    def answer(req: TargetRequest) -> StampedTarget:
        if len(req.est) != 3:
            raise ValueError(f"est has {len(req.est)} values, expected 3")
        asked.append((req.seq, req.trust))
        return _answer(req.seq, req.t_s, ok=req.seq != 2)

    pub = TargetPublisher.__new__(TargetPublisher)  # the loop alone: no scenario, no server
    pub.summary, pub.events, pub.poll_s, pub._answer, pub._last_text = PublisherSummary(), EventLog(), 0.0, answer, ""
    pub._last_seq = -1
    r1, r2 = json.dumps(_request(1, 0.0).to_dict()), json.dumps(_request(2, 60.0).to_dict())
    r4 = json.dumps(_request(4, 120.0).to_dict())  # request 3 never read: 4's trust region is not taken
    r5 = json.dumps({**_request(5, 180.0).to_dict(), "est": [0.6]})  # the layer cannot solve it
    link = _FakeLink([r1, r1, "garbage", r2, r2, r4, r5])
    nodes = {("line", "finished"): 0, ("supervisor", "target_request"): 1, ("supervisor", "target"): 2,
             ("line", "sim_time_s"): 3}
    asyncio.run(pub._serve(link, nodes))
    assert asked == [(1, True), (2, True), (4, False)]
    got = [StampedTarget.from_dict(json.loads(t)) for t in link.written]
    assert [(g.seq, g.ok) for g in got] == [(1, True), (2, False), (4, True), (5, False)]
    s = pub.summary
    assert (s.answered, s.converged, s.bad_requests, len(s.solve_ms)) == (4, 2, 2, 4)
    assert [e.what for e in pub.events.events] == ["target", "bad_request", "target", "target", "bad_request",
                                                   "target"]


def test_the_line_options_refuse_what_cannot_work(tmp_path: Path) -> None:
    """``--targets line`` for a controller that is not an NMPC artifact's edge core, and a tag map without the
    mailbox for the supervisory layer, are refused before anything connects, naming what is wrong."""
    from mpc.errors import CalmlineError
    from mpc.opcua import control_line, publish_targets

    with pytest.raises(CalmlineError, match=r"--targets line: the economic target is published .* not for 'pid'"):
        control_line(ROOT / "scenarios" / "nmc_nmp_nominal.toml", "pid", "opc.tcp://127.0.0.1:1/x", insecure=True,
                     targets="line")
    with pytest.raises(CalmlineError, match=r"--targets 'remote': expected 'local' or 'line'"):
        control_line(ROOT / "scenarios" / "nmc_nmp_nominal.toml", "pid", "opc.tcp://127.0.0.1:1/x", insecure=True,
                     targets="remote")
    shipped = (ROOT / "scenarios" / "data" / "opcua" / "line.toml").read_text()
    without = tmp_path / "without.toml"
    without.write_text(shipped.split("[supervisor]")[0])
    with pytest.raises(CalmlineError, match=r"without.toml: no \[supervisor\] table"):
        publish_targets(ROOT / "scenarios" / "nmc_nmp_nominal.toml", "opc.tcp://127.0.0.1:1/x", insecure=True,
                        tag_map=without)


def test_plain_values_are_strict_json_when_asked() -> None:
    """``to_plain(..., finite=True)`` (the line server's schedule node) writes non-finite floats as null, nested in
    dataclasses, arrays and mappings, and leaves finite values as they are; without it they stay floats."""
    import dataclasses
    import math

    from mpc.edge import to_plain

    @dataclasses.dataclass(frozen=True)
    class Stop:
        t_s: float
        until: tuple[float, ...]

    obj = {"stops": [Stop(1.0, (math.inf, 2.0))], "cap": np.array([np.nan, 3.0]), "n": np.int64(4)}
    assert json.loads(json.dumps(to_plain(obj, finite=True), allow_nan=False)) == {
        "stops": [{"t_s": 1.0, "until": [None, 2.0]}], "cap": [None, 3.0], "n": 4}
    plain = to_plain(obj)
    assert math.isinf(plain["stops"][0]["until"][0]) and math.isnan(plain["cap"][0])
