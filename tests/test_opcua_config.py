"""The OPC UA link's inputs: the tag map, the fault file, the CLI's refusals, and both commands end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _served import serve_and_run

from mpc.opcua import FaultError, TagMapError, line_tag_map, load_faults
from mpc.runner import _prepare

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios" / "data" / "opcua" / "line.toml"
CALMLINE = [sys.executable, "-c", "from mpc.cli import main; main(prog_name='calmline')"]


@pytest.fixture(scope="module")
def setup():
    return _prepare("nmc_nmp_nominal").setup


def test_the_shipped_tag_map_covers_the_line(setup):
    tm = line_tag_map(setup)
    meas = tm.of("measurements")
    assert set(meas) == set(setup.sensor_specs)
    assert meas["zone3_air_temp_K"].node == "Dryer.Zone3.AirTemp.PV" and meas["zone3_air_temp_K"].unit == "K"
    plc = setup.plc()
    assert set(tm.of("setpoints")) == set(plc.writable_names)
    assert set(tm.of("loops")) == {s.name for s in plc.specs}
    nodes = [t.node for kind in tm.tags for t in tm.of(kind).values()]
    assert len(nodes) == len(set(nodes))


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace('exit_film_temp_K = { node = "Dryer.Exit.FilmTemp.PV", unit = "K" }\n', ""),
     r"\[measurements\] has no entry for 'exit_film_temp_K'"),
    (lambda t: t.replace('unit = "m3/s" }', 'unit = "m3/h" }', 1), r"unit = 'm3/h': the name ends in its unit, 'm3/s'"),
    (lambda t: t.replace('"Coater.Pump.Flow.PV"', '"Line.Speed.PV"'), r"already the node of"),
    (lambda t: t + "\n[alarms]\nx = 1\n", r"unknown key 'alarms'"),
    (lambda t: t.replace("[measurements]", "[measurements]\nzone9_bogus_K = { node = \"X.Y\", unit = \"K\" }"),
     r"measurements.zone9_bogus_K: the line has no such signal"),
    (lambda t: t.replace('"Dryer.Zone{i}.LEL.PV"', '"Dryer Zone{i} LEL"'), r"expected letters, digits"),
    (lambda t: t.replace('namespace_uri = "urn:calmline:line"', "namespace_uri = 3"), r"namespace_uri = 3"),
])
def test_a_wrong_tag_map_is_an_error_naming_the_file_and_entry(setup, tmp_path, edit, match):
    bad = tmp_path / "map.toml"
    bad.write_text(edit(SHIPPED.read_text()))
    with pytest.raises(TagMapError, match=match) as err:
        line_tag_map(setup, bad)
    assert str(bad) in str(err.value)


def test_a_missing_tag_map_is_an_error(setup, tmp_path):
    with pytest.raises(TagMapError, match="no such file"):
        line_tag_map(setup, tmp_path / "nope.toml")


@pytest.mark.parametrize("text, match", [
    ('[[faults]]\nkind = "flood"\nstart_s = 1.0\nduration_s = 1.0\n', r"faults\[0\].kind"),
    ('[[faults]]\nkind = "stall"\nstart_s = 1.0\n', r"expected duration_s > 0"),
    ('[[faults]]\nkind = "nan_tag"\nstart_s = 1.0\nduration_s = 2.0\n', r"expected tags"),
    ('[[faults]]\nkind = "out_of_range"\nstart_s = 1.0\ntags = ["a"]\n', r"expected value"),
    ('[[faults]]\nkind = "stall"\nstart_s = -1.0\nduration_s = 2.0\n', r"faults\[0\].start_s"),
    ('[[faults]]\nkind = "stall"\nstart_s = 1.0\nduration_s = 2.0\ncolour = "red"\n', r"faults\[0\].colour"),
])
def test_a_wrong_fault_file_is_an_error_naming_the_entry(tmp_path, text, match):
    f = tmp_path / "faults.toml"
    f.write_text(text)
    with pytest.raises(FaultError, match=match) as err:
        load_faults(f)
    assert str(f) in str(err.value)


def test_the_shipped_fault_file_loads_and_splits_by_side():
    plan = load_faults(ROOT / "scenarios" / "data" / "opcua" / "faults_example.toml")
    assert {f.kind for f in plan.server_side()} == {"link_loss", "stale_tags", "nan_tag"}
    assert {f.kind for f in plan.client_side()} == {"stall", "out_of_range"}


def _run(args: list[str]):
    """The command in process (click's runner): ``returncode``, ``stdout``, ``stderr``."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    from mpc.cli import main

    r = CliRunner().invoke(main, args, catch_exceptions=False)
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)


def test_the_line_refuses_to_serve_without_security_unless_told(tmp_path):
    r = _run(["line", "serve", "nmc_nmp_nominal", "--duration", "10"])
    assert r.returncode == 2 and "--certs DIR" in r.stderr and "Traceback" not in r.stderr
    r = _run(["line", "serve", "nmc_nmp_nominal", "--certs", str(tmp_path / "none")])
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = _run(["line", "control", "nmc_nmp_nominal", "--controller", "pid", "--opcua", "opc.tcp://127.0.0.1:1/x"])
    assert r.returncode == 2 and "--certs DIR" in r.stderr


def test_certs_command_writes_the_folder_and_never_overwrites_unasked(tmp_path):
    folder = tmp_path / "certs"
    r = _run(["line", "certs", str(folder)])
    assert r.returncode == 0, r.stderr
    assert (folder / "controller" / "cert.der").is_file() and (folder / "trusted").is_dir()
    r = _run(["line", "certs", str(folder)])
    assert r.returncode == 2 and str(folder) in r.stderr
    assert "warning" not in r.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_certs_inside_a_git_tree_that_does_not_ignore_them_are_warned_about(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    r = _run(["line", "certs", str(tmp_path / "keys")])
    assert r.returncode == 0 and "add it to .gitignore" in r.stderr
    (tmp_path / ".gitignore").write_text("/ok/\n")
    r = _run(["line", "certs", str(tmp_path / "ok")])
    assert r.returncode == 0 and "gitignore" not in r.stderr


def test_serve_and_control_end_to_end_from_the_command_line(tmp_path):
    out = tmp_path / "served"
    serve, ctl = serve_and_run(
        ["nmc_nmp_nominal", "--pace", "lockstep", "--duration", "300", "--out", str(out), "--json"],
        ["line", "control", "nmc_nmp_nominal", "--controller", "pid", "--json"], timeout_s=120)
    s_out, s_err = serve.stdout, serve.stderr
    assert ctl.returncode == 0, ctl.stderr
    summary = json.loads(ctl.stdout)
    assert summary["steps"] == 150 and summary["reinitialisations"] == 1 and summary["reconnects"] == 0
    assert summary["step_overruns"] == 0 and summary["ocp_out_of_time"] == 0  # pid: no budget, nothing to count
    assert serve.returncode == 0, s_err
    rec = json.loads(s_out)
    assert rec["controller"] == "pid" and rec["opcua"]["answers"] == 150 and rec["opcua"]["intervals"] == 150
    assert rec["time_above_lel_limit_s"] == 0.0
    assert [h["kind"] for h in rec["opcua"]["handovers"]] == ["to_remote"]
    for name in ("kpis.json", "timeseries.parquet", "report.html", "events.jsonl"):
        assert (out / name).is_file(), name
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events[0]["what"] == "serving" and "NO SECURITY" in events[0]["detail"]
    assert events[-1]["what"] == "finished"


def test_fault_tags_are_checked_against_the_line_before_it_starts(setup):
    from controllers.registry import make_controller
    from mpc.opcua import Fault, FaultPlan, LineClient, LineServer

    plan = FaultPlan(faults=(Fault(kind="nan_tag", start_s=1.0, duration_s=1.0, tags=("zone9_lel_frac",)),))
    with pytest.raises(FaultError, match="'zone9_lel_frac' is not a measurement"):
        LineServer(setup, port=0, duration_s=10.0, faults=plan)
    plan = FaultPlan(faults=(Fault(kind="out_of_range", start_s=1.0, tags=("zone1_lel_frac",), value=1.0),))
    with pytest.raises(FaultError, match="'zone1_lel_frac' is not a set point"):
        LineClient("opc.tcp://127.0.0.1:1/x", setup, make_controller("pid"), faults=plan)


def test_the_live_view_is_fed_what_the_line_did(setup):
    """The live view's samples, built every interval from the served line, against the run's own record."""
    import asyncio

    import numpy as np

    from controllers.registry import make_controller
    from mpc.opcua import LineClient, LineServer, Pacing
    from mpc.opcua._run import _live_tap

    srv = LineServer(setup, port=0, duration_s=200.0, pacing=Pacing(answer_timeout_s=30.0))
    tap = _live_tap(srv)
    srv.on_interval = tap

    async def main():
        await srv.start()
        try:
            cli = LineClient(srv.url, setup, make_controller("pid"))
            return (await asyncio.gather(srv.run(), cli.run()))[0]
        finally:
            await srv.stop()

    ts = asyncio.run(main()).timeseries
    samples = tap.history.samples()
    assert len(samples) == len(ts)
    assert [s.t_s for s in samples] == list(ts.index - srv.line.dt_s)  # each interval's observation time
    rows = [i for i, s in enumerate(samples) if s.coat_weight_fresh]
    assert len(rows) >= 10  # the gauge samples every few seconds of web
    np.testing.assert_array_equal([samples[i].coat_weight_kg_m2 for i in rows],
                                  ts["meas_coat_weight_kg_m2"].to_numpy()[rows])
    np.testing.assert_allclose([s.lel_limit_frac for s in samples], ts["lel_limit_frac"])
    np.testing.assert_allclose([s.zone_lel_frac[1] for s in samples], ts["meas_zone2_lel_frac"])
    # energy: primary kWh over the coated area so far, the run's own columns integrated the same way
    dt, width, pf_h, pf_e = srv.line.dt_s, tap.width_m, tap.primary_factor_heater, tap.primary_factor_electricity
    kwh = np.cumsum(dt / 3.6e6 * (pf_h * ts["heater_power_W"] + pf_e * (ts["fan_power_W"]
                                                                        + ts["solvent_recovery_power_W"])))
    np.testing.assert_allclose(samples[-1].energy_kWh_m2, kwh.iloc[-1] / (ts["web_position_m"].iloc[-1] * width))
    assert {s.mode for s in samples[1:]} == {"remote"} and samples[-1].controller_healthy


def test_a_controller_that_raises_ends_the_client_with_its_error_not_a_reconnection_loop(setup):
    import asyncio

    from controllers.registry import make_controller
    from mpc.opcua import LineClient, LineServer, Pacing

    srv = LineServer(setup, port=0, duration_s=20.0, pacing=Pacing(answer_timeout_s=0.05, start_timeout_s=1.0))
    ctrl = make_controller("pid")
    ctrl.step = lambda obs: (_ for _ in ()).throw(RuntimeError("solver exploded"))

    async def main():
        await srv.start()
        try:
            cli = LineClient(srv.url, setup, ctrl, give_up_s=60.0)
            results = await asyncio.wait_for(asyncio.gather(srv.run(), cli.run(), return_exceptions=True), 60.0)
            return results, cli
        finally:
            await srv.stop()

    (_res, err), cli = asyncio.run(main())
    assert isinstance(err, RuntimeError) and "solver exploded" in str(err)
    assert cli.summary.reconnects == 0 and cli.events.of("link_down") == []
    assert srv.answers == 0


def test_a_tag_map_for_another_server_is_a_clear_error_at_once(setup, tmp_path):
    import asyncio
    import time as _time

    from controllers.registry import make_controller
    from mpc.opcua import LineClient, LineServer, LinkError, Pacing

    other = tmp_path / "map.toml"
    other.write_text(SHIPPED.read_text().replace('"urn:calmline:line"', '"urn:plant:other"'))
    srv = LineServer(setup, port=0, duration_s=4.0, pacing=Pacing(answer_timeout_s=0.05, start_timeout_s=0.05))

    async def main():
        await srv.start()
        try:
            cli = LineClient(srv.url, setup, make_controller("recipe"), tag_map=other, give_up_s=30.0)
            t0 = _time.monotonic()
            with pytest.raises(LinkError, match="urn:plant:other"):
                await cli.run()
            return _time.monotonic() - t0
        finally:
            await srv.stop()

    assert asyncio.run(main()) < 10.0


def test_the_run_folder_never_holds_the_links_keys(tmp_path):
    from mpc.errors import CalmlineError
    from mpc.opcua import make_certificates, serve_line

    certs = tmp_path / "certs"
    make_certificates(certs)
    for out in (certs, certs / "run", tmp_path):
        with pytest.raises(CalmlineError, match="overlap"):
            serve_line("nmc_nmp_nominal", certs=certs, out_dir=out, duration_s=10.0)
    assert (certs / "controller" / "key.pem").is_file()


def test_a_step_budget_is_for_an_edge_artifact_only():
    from mpc.errors import CalmlineError
    from mpc.opcua import control_line

    with pytest.raises(CalmlineError, match=r"edge artifact's controller \(edge:DIR\), not to 'pid'"):
        control_line("nmc_nmp_nominal", "pid", "opc.tcp://127.0.0.1:1/x", insecure=True, step_budget_s=0.1)


def test_a_step_log_never_replaces_a_file_calmline_did_not_write_nor_a_killed_runs_log(tmp_path):
    from mpc.errors import CalmlineError, OutputExistsError
    from mpc.opcua import control_line

    mine = tmp_path / "steps.jsonl"
    mine.write_text("my notes\n")
    for force in (False, True):
        with pytest.raises(OutputExistsError, match=r"steps\.jsonl"):
            control_line("nmc_nmp_nominal", "pid", "opc.tcp://127.0.0.1:1/x", insecure=True, step_log=mine,
                         force=force)
    assert mine.read_text() == "my notes\n"
    left = tmp_path / ".new.jsonl.calmline-partial"  # the log of a run that was killed
    left.write_text("{}\n")
    with pytest.raises(CalmlineError, match="the step log of a run that did not end"):
        control_line("nmc_nmp_nominal", "pid", "opc.tcp://127.0.0.1:1/x", insecure=True,
                     step_log=tmp_path / "new.jsonl")
    assert left.read_text() == "{}\n" and not (tmp_path / "new.jsonl").exists()
