"""The line over OPC UA, end to end on loopback: the NMPC on the served line through every link fault.

Five simulated minutes of the cathode line, signed and encrypted, in lockstep (an interval waits for
the controller's answer, or 1.5 s of wall time: every assertion is in simulated time, so a loaded
machine only makes the run slower). Injected: a stalled controller, a lost link, stale tags (two
thermocouples, then every measurement), a NaN analyser tag and two out-of-range set points.
Required: 0 s above the LEL limit, no set-point or input step beyond the move limits at any
hand-over, the watchdog's hand-back within its time, a bumpless take-over after each fault, and
every event logged. A second test shows a read-only client's write refused and logged while the
line stays in its mode.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from controllers.registry import make_controller
from mpc.opcua import (
    EventLog,
    LineClient,
    LineServer,
    Pacing,
    handovers,
    load_faults,
    make_certificates,
)
from mpc.runner import _prepare, attach_kpis

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("opcua_link")

SCENARIO = "nmc_nmp_nominal"
DURATION_S = 300.0
TIMEOUT_S = 300.0  # wall-clock guard of the whole run (it takes about 40 s on an idle 2-core machine)

FAULTS = load_faults(Path(__file__).resolve().parents[1] / "scenarios" / "data" / "opcua" / "faults_ci.toml")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    make_certificates(folder)
    return folder


@pytest.fixture(scope="module")
def served(certs: Path):
    setup = _prepare(SCENARIO).setup
    server_log, client_log = EventLog(), EventLog()
    srv = LineServer(setup, port=0, duration_s=DURATION_S, certs=certs, events=server_log, faults=FAULTS,
                     pacing=Pacing(mode="lockstep", answer_timeout_s=1.5, start_timeout_s=60.0))
    cli_holder: dict[str, LineClient] = {}

    async def main():
        await srv.start()
        try:
            cli = LineClient(srv.url, setup, make_controller("nmpc"), certs=certs, faults=FAULTS,
                             events=client_log, give_up_s=60.0)
            cli_holder["c"] = cli
            return await asyncio.wait_for(asyncio.gather(srv.run(), cli.run()), TIMEOUT_S)
        finally:
            await srv.stop()

    res, summary = asyncio.run(main())
    res = attach_kpis(res, setup, duration_s=DURATION_S)
    return srv, res, summary, server_log, client_log


def _events(log: EventLog, what: str, source: str | None = None):
    return log.of(what, source)


def test_the_nmpc_closes_the_loop_over_opcua_through_every_fault(served):
    srv, res, summary, slog, clog = served
    ts, k = res.timeseries, res.kpis
    wd = srv.setup.scenario.plc.watchdog_s
    scan = srv.setup.scenario.plc.scan_s
    # safety and the product: no time above the LEL limit, no scrap from the faults
    assert k["time_above_lel_limit_s"] == 0.0
    assert k["scrap_lel_m"] == 0.0
    assert len(ts) == DURATION_S / srv.line.dt_s
    # every fault and every hand-over logged, on the side that saw it
    for what in ("link_down", "link_up", "stale_tags", "stale_tags_end"):
        assert _events(slog, what, "fault"), what
    for what in ("stall", "stall_end", "out_of_range"):
        assert _events(clog, what, "fault"), what
    trips = _events(slog, "watchdog", "plc")
    # stall, lost link, every tag stale: the controller's heartbeat stops three times; the last heartbeat
    # is at most one interval before the fault (stale tags: before they are max_tag_age_s old)
    dt, age = srv.line.dt_s, 2.0 * srv.line.dt_s
    windows = [(60.0, 60.0 + wd + scan), (100.0, 100.0 + wd + scan), (220.0, 220.0 + age + wd + scan)]
    assert len(trips) == 3
    for e, (lo, hi) in zip(trips, windows, strict=True):
        assert lo - dt + wd < e.t_s <= hi, (e, lo, hi)
    for e in trips:  # the hand-back: within the watchdog's time and one scan of the last heartbeat
        assert wd < e.value <= wd + scan + 1e-9
    assert len(_events(slog, "heartbeat", "plc")) == 3  # and each time it came back
    assert summary.reinitialisations == 4 and summary.reconnects == 1
    assert len(_events(clog, "initialised", "controller")) == 4
    # stale and NaN tags reach the controller as dropouts, logged once per episode
    bad = {e.detail.split(":")[0] for e in _events(clog, "bad_tag", "controller")}
    assert {"zone1_air_temp_K", "zone2_air_temp_K", "zone3_lel_frac"} <= bad
    assert any("bad value nan" in e.detail for e in _events(clog, "bad_tag"))
    assert _events(clog, "hold", "controller")
    # out-of-range set points: clamped and flagged by the PLC, never applied beyond range
    clamped = {e.detail.split(":")[0] for e in _events(slog, "clamped", "plc")}
    assert clamped == {"zone2_exhaust", "zone1_air_temp"}
    spec = {s.name: s for s in srv.plc.specs}
    assert ts["zone2_exhaust_setpoint_m3_s"].max() <= spec["zone2_exhaust"].upper + 1e-12
    assert ts["zone1_air_temp_setpoint_K"].max() <= spec["zone1_air_temp"].upper + 1e-12
    assert ts.loc[191.0:196.0, "plc_loops_flagged"].max() >= 1


def test_every_handover_is_bumpless_and_timed(served):
    srv, res, _, slog, _ = served
    ts = res.timeseries
    hs = handovers(ts, slog.events, srv.plc.specs)
    back = [h for h in hs if h.kind == "to_recipe"]
    over = [h for h in hs if h.kind == "to_remote"]
    assert [h.cause for h in back] == ["watchdog"] * 3
    assert len(over) == 4  # the first start and one take-over after each hand-back
    wd = srv.setup.scenario.plc.watchdog_s
    for h in back:
        assert wd < h.latency_s <= wd + 1.0 and len(h.loops) == len(srv.plc.specs)
    for h in over[1:]:  # the take-over comes with the first answer after the heartbeat is back
        assert h.latency_s <= srv.line.dt_s
    for h in hs:
        assert h.max_setpoint_step_frac <= 1.0 + 1e-9, h
        assert h.max_input_step_frac <= 1.0 + 1e-9, h
    # and between them: every loop in recipe mode while the controller was away, remote otherwise
    modes = ts[[s.mode_key for s in srv.plc.specs]].to_numpy()
    away = np.zeros(len(ts), bool)
    t = ts.index.to_numpy()
    for h_back, h_over in zip(back, over[1:], strict=True):
        away |= (t >= h_back.t_s) & (t < h_over.t_s)
    assert (modes[away] == 0).all()
    held = ~away & (t > 4.0)
    bad = [(t[i], s.name) for i in np.flatnonzero(held) for j, s in enumerate(srv.plc.specs) if modes[i, j] == 0]
    assert not bad, (bad[:20], [(h.kind, h.t_s, h.loops) for h in hs])


def test_a_read_only_client_cannot_write_and_the_line_keeps_its_mode(certs: Path):
    setup = _prepare(SCENARIO).setup
    log = EventLog()
    srv = LineServer(setup, port=0, duration_s=20.0, certs=certs, events=log,
                     pacing=Pacing(mode="lockstep", answer_timeout_s=0.05, start_timeout_s=0.05))

    async def main():
        from asyncua import Client, ua

        from mpc.opcua._security import secure_client

        await srv.start()
        try:
            client = Client(srv.url, timeout=4)
            await secure_client(client, certs, identity="viewer")
            async with client:
                ns = await client.get_namespace_index(srv.tag_map.namespace_uri)
                node = client.get_node(f"ns={ns};s={srv.tag_map.node('setpoints', 'zone2_exhaust_setpoint_m3_s')}")
                ack = client.get_node(f"ns={ns};s={srv.tag_map.node('controller', 'cycle_ack')}")
                before = await node.read_value()
                with pytest.raises(ua.UaStatusCodeError) as err:
                    await client.write_values([node, ack], [0.3, 0.0])
                assert "BadUserAccessDenied" in type(err.value).__name__ + str(err.value)
                assert math.isnan(before) and math.isnan(await node.read_value())
                speed = client.get_node(f"ns={ns};s={srv.tag_map.node('measurements', 'speed_m_s')}")
                assert await speed.read_value() is not None  # a viewer may read
            return await srv.run()
        finally:
            await srv.stop()

    res = asyncio.run(main())
    refused = log.of("refused", "security")
    assert refused and "viewer" in refused[0].detail and "zone2_exhaust_setpoint_m3_s" in refused[0].detail
    modes = res.timeseries[[s.mode_key for s in srv.plc.specs]].to_numpy()
    assert (modes == 0).all() and srv.answers == 0


class _Reporting:
    """A PID that reports a figure of itself (Command.info), to follow it over the link."""

    def __init__(self) -> None:
        self.inner = make_controller("pid")
        self.name = "pid"
        self.k = 0

    def reset(self, ctx):
        self.inner.reset(ctx)

    def step(self, obs):
        cmd = self.inner.step(obs)
        self.k += 1
        cmd.info = {"steps_taken": float(self.k), "zone1_air_temp_seen_K": obs.measurements["zone1_air_temp_K"]}
        return cmd


def test_a_lockstep_link_without_faults_is_the_in_process_loop_exactly():
    """Same observation, same command: the served run's time series equals `calmline run`'s bit for bit
    (but for the controller's wall time), the controller's own reports included."""
    from mpc.runner import run_setup

    prep = _prepare(SCENARIO)
    duration = 300.0
    ref = run_setup(prep.setup, _Reporting(), duration_s=duration).timeseries

    async def main():
        srv = LineServer(prep.setup, port=0, duration_s=duration, pacing=Pacing(answer_timeout_s=30.0))
        await srv.start()
        try:
            cli = LineClient(srv.url, prep.setup, _Reporting())
            return await asyncio.wait_for(asyncio.gather(srv.run(), cli.run()), TIMEOUT_S)
        finally:
            await srv.stop()

    res, summary = asyncio.run(main())
    got = res.timeseries
    assert summary.steps == len(ref) and "ctrl_steps_taken" in got.columns
    drop = ["step_time_ms"]
    assert list(got.columns) == list(ref.columns)
    assert got.drop(columns=drop).equals(ref.drop(columns=drop))
