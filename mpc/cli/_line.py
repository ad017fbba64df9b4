"""``calmline line``: the simulated line as an OPC UA server, a controller on it, and the link's certificates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mpc.cli._common import (
    FORCE_FOLDER_HELP,
    controller_choice,
    echo_json,
    exit_on_violations,
    stderr,
    user_errors,
)

__all__ = ["client_options", "line"]

F = TypeVar("F", bound=Callable[..., Any])

_SECURITY_HELP = ("Certificate folder made by `calmline line certs` (the link is then signed and encrypted, "
                  "Basic256Sha256).")
_INSECURE_HELP = "Run the link without security (loopback development only; anyone may write)."


@click.group("line")
def line() -> None:
    """The line over OPC UA: serve a simulated line, close the loop on it, make the link's certificates.

    \b
    calmline line certs CERTS
    calmline line serve SCENARIO --certs CERTS --out DIR [--live 127.0.0.1:8080]
    calmline line control SCENARIO --controller nmpc --opcua URL --certs CERTS
    (calmline edge run ARTIFACT --opcua URL --certs CERTS runs an exported edge core)
    """


def _logging() -> None:
    """The link's events on stderr, one line each; asyncua's own chatter only when it is an error."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("asyncua", "asyncuagds", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def _hostport(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    try:
        p = int(port)
    except ValueError:
        p = -1
    if not 0 <= p <= 65535:
        raise click.BadParameter(f"{value!r}: expected HOST:PORT with a port 0-65535, as 127.0.0.1:8080",
                                 param_hint="--live")
    return (host or "127.0.0.1", p)


@line.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the OPC UA server listens on.")
@click.option("--port", default=4840, show_default=True, type=click.IntRange(0, 65535),
              help="Its TCP port (0: a free one, printed).")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--pace", type=click.Choice(["realtime", "lockstep"]), default="realtime", show_default=True,
              help="realtime: an interval lasts control_interval_s / --speed wall seconds whatever the controller "
              "does; lockstep: an interval ends when the controller has answered it (or after --answer-timeout).")
@click.option("--speed", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="realtime: simulated seconds per wall second.")
@click.option("--answer-timeout", "answer_timeout_s", type=click.FloatRange(min=0.0, min_open=True), default=2.0,
              show_default=True, help="lockstep: wall seconds an interval waits for the controller's answer.")
@click.option("--certs", type=click.Path(file_okay=False), default=None, help=_SECURITY_HELP)
@click.option("--insecure", is_flag=True, help=_INSECURE_HELP)
@click.option("--faults", type=click.Path(dir_okay=False), default=None,
              help="Fault file (TOML, [[faults]]; docs/opcua.md): the line injects link_loss, stale_tags, nan_tag.")
@click.option("--tag-map", "tag_map", type=click.Path(dir_okay=False), default=None,
              help="Tag map (default scenarios/data/opcua/line.toml).")
@click.option("--live", default=None, help="Serve the live view at HOST:PORT (e.g. 127.0.0.1:8080).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write the run there: kpis.json, timeseries.parquet, report.html, plots, events.jsonl.")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the KPI record as one JSON object.")
def serve(scenario: str, host: str, port: int, duration_s: float | None, pace: str, speed: float,
          answer_timeout_s: float, certs: str | None, insecure: bool, faults: str | None, tag_map: str | None,
          live: str | None, out_dir: str | None, force: bool, as_json: bool) -> None:
    """Run a scenario's line (plant + PLC) as an OPC UA server until its duration has run."""
    from mpc.opcua import Pacing, serve_line
    from mpc.report import run_violations

    _logging()
    live_at = _hostport(live)
    try:
        pacing = Pacing(mode=pace, speed=speed, answer_timeout_s=answer_timeout_s)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None

    def ready(srv: object) -> None:
        stderr(f"serving {getattr(srv, 'url', '')}")

    with user_errors():
        res = serve_line(scenario, host=host, port=port, duration_s=duration_s,
                         pacing=pacing,
                         faults=faults, tag_map=tag_map, certs=certs, insecure=insecure, out_dir=out_dir,
                         force=force, live=live_at, on_ready=ready)
    if out_dir is not None:
        stderr(f"wrote {out_dir}/kpis.json, timeseries.parquet, report.html, events.jsonl")
    o = res.meta["opcua"]
    if as_json:
        echo_json({**res.kpis, "opcua": o})
    else:
        k = res.kpis
        click.echo(f"{k['scenario']} / {k['controller']} over OPC UA: {o['answers']} of {o['intervals']} intervals "
                   f"answered, {o['events']} events; time above the LEL limit {k['time_above_lel_limit_s']:.0f} s, "
                   f"scrap {k['scrap_m']:.0f} m, coat-weight Cpk {k['coat_weight_cpk']:.2f}, "
                   f"{k['energy_kwh_per_kwh_cell']:.3f} kWh per kWh of cell")
        for h in o["handovers"]:
            lat = "" if h["latency_s"] is None else f" {h['latency_s']:.0f} s after the heartbeat"
            click.echo(f"  {h['t_s']:7.0f} s {h['kind']:9s} ({h['cause']}, {h['loops']} loops){lat}: largest step "
                       f"{h['max_setpoint_step_frac']:.2f} of a set point's move limit ({h['worst_loop']}), "
                       f"{h['max_input_step_frac']:.2f} of an input's")
    exit_on_violations({"": run_violations(res.kpis, res.timeseries)})


def client_options(f: F) -> F:
    """The options of a controller's OPC UA client (`line control`, `edge run`)."""
    for opt in reversed((
        click.option("--opcua", "url", required=True, help="The line's endpoint, opc.tcp://HOST:PORT/calmline/line."),
        click.option("--certs", type=click.Path(file_okay=False), default=None, help=_SECURITY_HELP),
        click.option("--insecure", is_flag=True, help=_INSECURE_HELP),
        click.option("--faults", type=click.Path(dir_okay=False), default=None,
                     help="Fault file: the client injects stall and out_of_range."),
        click.option("--tag-map", "tag_map", type=click.Path(dir_okay=False), default=None,
                     help="Tag map (default scenarios/data/opcua/line.toml)."),
        click.option("--give-up", "give_up_s", type=click.FloatRange(min=0.0, min_open=True), default=30.0,
                     show_default=True, help="Wall seconds without reaching the line before giving up."),
        click.option("--step-log", "step_log", type=click.Path(dir_okay=False), default=None,
                     help="Write a record of every step there (JSON lines: time, cycle, step time, solved, failure, "
                          "fallback, overrun, the set points written, the controller's report), streamed as the run "
                          "goes."),
        click.option("--force", is_flag=True, help="Replace the --step-log file if calmline wrote it (never another)."),
        click.option("--json", "as_json", is_flag=True, help="Print a summary as one JSON object."),
    )):
        f = opt(f)
    return f


@line.command("control")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controller", required=True, type=controller_choice(), help="Controller to run (or edge:DIR).")
@client_options
def control(scenario: str, controller: str, url: str, certs: str | None, insecure: bool, faults: str | None,
            tag_map: str | None, give_up_s: float, step_log: str | None, force: bool, as_json: bool) -> None:
    """Close the loop over OPC UA with a controller designed on SCENARIO, until the line finishes."""
    _control(scenario, controller, url, certs, insecure, faults, tag_map, give_up_s, as_json, step_log=step_log,
             force=force)


def _control(scenario: Any, controller: str, url: str, certs: str | None, insecure: bool, faults: str | None,
             tag_map: str | None, give_up_s: float, as_json: bool, step_budget_s: float | None = None,
             step_log: str | None = None, force: bool = False, targets: str = "local",
             target_max_age_s: float | None = None) -> None:
    from mpc.edge import loaded_distributions
    from mpc.opcua import control_line

    _logging()
    with user_errors():
        summary = control_line(scenario, controller, url, certs=certs, insecure=insecure, faults=faults,
                               tag_map=tag_map, give_up_s=give_up_s, step_budget_s=step_budget_s,
                               step_log=step_log, force=force, targets=targets, target_max_age_s=target_max_age_s)
    import sys

    import numpy as np

    ms = np.asarray(summary.step_ms)
    out = {"steps": summary.steps, "reinitialisations": summary.reinitialisations,
           "reconnects": summary.reconnects,
           "step_ms_median": float(np.median(ms)) if ms.size else None,
           "step_ms_max": float(ms.max()) if ms.size else None,
           "step_overruns": summary.overruns, "ocp_out_of_time": summary.out_of_time,
           "targets": targets, "targets_requested": summary.targets_requested,
           "targets_received": summary.targets_received, "targets_refused": summary.targets_refused,
           "targets_aged_out": summary.targets_aged_out,
           # whether this process holds CasADi and do-mpc (an edge PC's core on its line.json with --targets line
           # holds neither), and which installed distributions it imported
           "casadi_loaded": "casadi" in sys.modules, "do_mpc_loaded": "do_mpc" in sys.modules,
           "distributions_loaded": loaded_distributions()}
    if as_json:
        echo_json(out)
    else:
        click.echo(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()))


@line.command("certs")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The line server's address, written into its certificate.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650),
              help="Validity of the certificates, days.")
@click.option("--force", is_flag=True, help="Replace the certificates calmline wrote there before (never other files).")
def certs(folder: str, host: str, days: int, force: bool) -> None:
    """Make the link's certificates and trust lists in FOLDER (keep it out of version control).

    Writes the line server's, the controller's, the supervisory layer's and a read-only viewer's application
    certificates and keys, the server's trust list (the clients it accepts a secure channel from), the list of
    identities that may write set points (the controller) and the list of those that may write the supervisory
    layer's target and nothing else (`calmline edge target`).
    """
    from mpc.opcua import make_certificates

    with user_errors():
        made = make_certificates(folder, host=host, days=days, overwrite=force)
    for name, path in made.items():
        click.echo(f"{name}: {path}")
    if _tracked_by_git(folder):
        stderr(f"warning: {folder} is inside a git working tree and not ignored: add it to .gitignore; private "
               "keys are never committed")


def _tracked_by_git(folder: str) -> bool:
    """The folder lies in a git working tree that does not ignore it (False where git is not installed)."""
    import shutil
    import subprocess
    from pathlib import Path

    git = shutil.which("git")
    if git is None:
        return False
    p = Path(folder).resolve()
    inside = subprocess.run([git, "-C", str(p), "rev-parse", "--is-inside-work-tree"], capture_output=True,
                            text=True, check=False)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return False
    ignored = subprocess.run([git, "-C", str(p), "check-ignore", "-q", str(p / "controller" / "key.pem")],
                             capture_output=True, check=False)
    return ignored.returncode != 0
