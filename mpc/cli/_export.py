"""``calmline export`` and ``calmline edge``: controllers for the edge PC, and checks of what was exported."""

from __future__ import annotations

from typing import Any

import click

from mpc.cli._common import FORCE_FOLDER_HELP, echo_json, solver_label, stderr, user_errors
from mpc.cli._line import client_options

__all__ = ["edge", "export"]


@click.command("export")
@click.option("--controller", "controller", required=True, type=click.Choice(["nmpc", "lmpc"]),
              help="Controller to export: the NMPC (its estimator and tracking OCP) or the lmpc (its tracking OCP "
                   "and identified model); docs/edge.md.")
@click.option("--scenario", "scenario", required=True, type=click.Path(dir_okay=False),
              help="Scenario the controller is built on (its settings tables, model and tuning).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Artifact folder (created if missing; one holding files needs --force).")
@click.option("--solver-libs", "solver_libs", type=click.Path(file_okay=False), default=None,
              help="An HPIPM and BLASFEO build for the edge PC's CPU (a folder holding their headers and libhpipm.so, "
                   "libblasfeo.so) to link and copy into the artifact [default: the CasADi wheel's, BLASFEO's generic "
                   "target].")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as one JSON object.")
def export(controller: str, scenario: str, out_dir: str, solver_libs: str | None, force: bool, as_json: bool) -> None:
    """Generate C for the controller's edge parts, compile it, and write an artifact folder.

    The folder holds the generated C, its shared library, the QP solver HPIPM and its BLASFEO (copied in),
    manifest.json (signals, scales, tuning, versions, BLASFEO's target and the CPU features it needs, the sha256 of
    every file) and manifest.sha256. Needs a C compiler ($CC, else cc).
    """
    from mpc.export import export_controller

    with user_errors():
        stderr(f"exporting {controller} on {scenario} (generating and compiling C: up to two minutes)")
        man = export_controller(scenario, controller, out_dir, force=force, solver_libs=solver_libs)
    stderr(f"wrote {out_dir}/manifest.json, manifest.sha256, {', '.join(sorted(man['files']))}")
    solver = man["ocp"]["solver"]
    stderr(f"HPIPM and BLASFEO: {solver_label(solver)}"
           + ("; a build for the edge PC's CPU (--solver-libs) took the NMPC's solve from 7.7 to 3.3 ms median on "
              "an AVX2 machine (docs/edge.md, \"Speed\")" if solver.get("blasfeo_target") == "GENERIC" else ""))
    if as_json:
        echo_json(man)


@click.group("edge")
def edge() -> None:
    """Check, verify and run edge artifacts written by `calmline export`."""


@edge.command("verify")
@click.argument("artifact", type=click.Path(file_okay=False, exists=True))
@click.option("--scenario", "scenario", required=True, type=click.Path(dir_okay=False),
              help="The scenario the artifact was exported on.")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--ocp-iterations", "ocp_iterations", type=click.IntRange(1, 100), default=10, show_default=True,
              help="SQP iterations at most per edge OCP solve (RTI: 1; stops early on a step under 1e-8).")
@click.option("--force-failure-every", "force_failure_every", type=click.IntRange(0), default=0, show_default=True,
              help="Declare every n-th OCP solve failed in both runs (0: never), so that the fallback chain runs "
                   "on both sides and their counts are compared.")
@click.option("--no-edge-run", "no_edge_run", is_flag=True,
              help="Skip the second run, the controller on the artifact's edge core alone (its KPIs).")
@click.option("--default-solves", "default_solves", type=click.IntRange(0), default=100, show_default=True,
              help="How many of the first OCP solves do-mpc with its default settings also solves, timed (the "
                   "reference of speedup_vs_default; 0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def verify(artifact: str, scenario: str, duration_s: float | None, ocp_iterations: int, force_failure_every: int,
           no_edge_run: bool, default_solves: int, as_json: bool) -> None:
    """Run the exported controller (NMPC or lmpc) with the artifact's estimator and OCP beside its own; report
    their differences, both closed loops' KPIs and the solve times (edge, do-mpc tuned, do-mpc defaults).

    Exits 0 whenever the run completed (the difference is a field, not a verdict); 2 on a refused
    artifact (a hash that does not match, a missing file) or another scenario than the export's.
    """
    from mpc.edge import ArtifactError
    from mpc.edge_verify import verify_artifact
    from mpc.errors import CalmlineError

    with user_errors():
        try:
            res = verify_artifact(artifact, scenario, duration_s=duration_s, progress=not as_json,
                                  ocp_iterations=ocp_iterations, edge_run=not no_edge_run,
                                  force_failure_every=force_failure_every, default_solves=default_solves)
        except ArtifactError as exc:
            raise CalmlineError(str(exc)) from exc
    if as_json:
        echo_json(res)
        return
    click.echo(f"{res['controller']} on {res['scenario']}: {res['steps']} estimation steps, the design machine's and "
               f"the artifact's; HPIPM and BLASFEO: {solver_label(res['solver'])}")
    for what, diff in res["max_abs_diff"].items():
        click.echo(f"  largest difference, {what:20s} {diff:.3g}")
    for who in ("edge_estimation", "design_estimation"):
        p = res[who]
        click.echo(f"  {who:20s} median {p['median_ms']:.3f} ms, p99 {p['p99_ms']:.3f} ms, max {p['max_ms']:.3f} ms")
    o = res["ocp"]
    d = res["kpi_diff"]
    if d is not None:
        click.echo(f"  closed loop on the edge core, edge minus do-mpc: energy {100 * d['energy_rel']:+.3f} %, "
                   f"coat-weight Cpk {d['coat_weight_cpk']:+.3f}, scrap {d['scrap_m']:+.1f} m, time above the LEL "
                   f"limit {d['time_above_lel_limit_s']:+.0f} s, solver failures {d['solver_failures']:+.0f}, "
                   f"fallbacks {d['fallbacks']:+.0f}")
    click.echo(f"  OCP: {o['solves']} solves; first moves' largest difference {o['max_rel_move_diff']:.3g} of the "
               f"input's range, {100 * o['share_within_1e-3']:.1f} % within 1e-3; failures edge "
               f"{o['edge_failures']}, do-mpc {o['dompc_failures']}")
    for who in ("edge_solve", "dompc_solve", "dompc_default_solve"):
        p = o[who]
        if p is not None:
            click.echo(f"  {who:20s} median {p['median_ms']:.3f} ms, p99 {p['p99_ms']:.3f} ms, "
                       f"max {p['max_ms']:.3f} ms")
    if o["dompc_default_solves"]:
        click.echo(f"  speed-up over do-mpc's defaults on their {o['dompc_default_solves']} solves: "
                   f"{res['speedup_vs_default']:.1f}x")


@edge.command("run")
@click.argument("artifact", type=click.Path(file_okay=False, exists=True))
@click.option("--scenario", "scenario", default=None, type=click.Path(dir_okay=False),
              help="A scenario to build the line and the controller's context from (checked against the artifact) "
                   "[default: the line the artifact was exported for, its line.json: nothing is built, and the edge "
                   "core imports neither CasADi nor do-mpc with --targets line].")
@click.option("--step-budget-ms", "step_budget_ms", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Wall-clock budget of a controller step, ms: the OCP stops iterating by it, and a step over it "
                   "is logged as an overrun [default: a quarter of the control interval].")
@click.option("--targets", type=click.Choice(["local", "line"]), default="local", show_default=True,
              help="Where an NMPC artifact's economic target comes from: local, solved in this process (IPOPT, in the "
                   "step that asks); line, published by the supervisory layer (`calmline edge target`) on the tag "
                   "map's [supervisor] mailbox, the edge core tracking the newest answer, aged by its stamp.")
@click.option("--target-max-age", "target_max_age_s", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="With --targets line: age beyond which a target is not tracked, s (the recipe's steady state is, "
                   "until a newer one comes) [default: [controllers.nmpc.target] max_age_s, which must then be "
                   "finite].")
@client_options
def run_edge(artifact: str, url: str, scenario: str | None, step_budget_ms: float | None, targets: str,
             target_max_age_s: float | None, certs: str | None, insecure: bool, faults: str | None,
             tag_map: str | None, give_up_s: float, step_log: str | None, force: bool, as_json: bool) -> None:
    """Close the loop over OPC UA with an exported artifact's edge core (`calmline line control
    --controller edge:ARTIFACT`), until the line finishes. Every step runs under a wall-clock budget
    (--step-budget-ms): the SQP iterates while the next iteration fits, and where no time is left the fallback
    chain (the last good plan, then toward the target) answers."""
    from mpc.cli._line import _control

    line: Any = scenario
    if scenario is None:  # the line the artifact was exported for: nothing is built (no CasADi)
        from mpc.edge import ArtifactError, read_line
        from mpc.errors import CalmlineError

        with user_errors():
            try:
                line = read_line(artifact)
            except ArtifactError as exc:
                raise CalmlineError(str(exc)) from exc
    _control(line, f"edge:{artifact}", url, certs, insecure, faults, tag_map, give_up_s, as_json,
             step_budget_s=None if step_budget_ms is None else step_budget_ms / 1e3, step_log=step_log, force=force,
             targets=targets, target_max_age_s=target_max_age_s)


@edge.command("target")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--opcua", "url", required=True, help="The line's endpoint, opc.tcp://HOST:PORT/calmline/line.")
@click.option("--certs", type=click.Path(file_okay=False), default=None,
              help="Certificate folder made by `calmline line certs` (the link is signed and encrypted; the layer "
                   "connects as its `supervisor` identity, which may write the target and nothing else).")
@click.option("--insecure", is_flag=True, help="Run the link without security (loopback development only).")
@click.option("--tag-map", "tag_map", type=click.Path(dir_okay=False), default=None,
              help="Tag map (default scenarios/data/opcua/line.toml); it needs the [supervisor] table.")
@click.option("--give-up", "give_up_s", type=click.FloatRange(min=0.0, min_open=True), default=30.0,
              show_default=True, help="Wall seconds without reaching the line before giving up.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as one JSON object.")
def target(scenario: str, url: str, certs: str | None, insecure: bool, tag_map: str | None, give_up_s: float,
           as_json: bool) -> None:
    """Run the NMPC's economic target as the supervisory layer of a line: answer the edge core's target requests
    (`calmline edge run ARTIFACT --targets line`) with stamped targets solved on IPOPT with SCENARIO's
    [controllers.nmpc] tables, until the line finishes."""
    import numpy as np

    from mpc.cli._line import _logging
    from mpc.opcua import publish_targets

    _logging()
    with user_errors():
        summary = publish_targets(scenario, url, certs=certs, insecure=insecure, tag_map=tag_map,
                                  give_up_s=give_up_s)
    ms = np.asarray(summary.solve_ms)
    out = {"answered": summary.answered, "converged": summary.converged, "bad_requests": summary.bad_requests,
           "reconnects": summary.reconnects,
           "solve_ms_median": float(np.median(ms)) if ms.size else None,
           "solve_ms_max": float(ms.max()) if ms.size else None}
    if as_json:
        echo_json(out)
    else:
        click.echo(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()))
