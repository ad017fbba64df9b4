"""``calmline bench edge``: the exported OCP's solve time and moves against do-mpc's, on recorded problems."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, solver_label, stderr, user_errors
from mpc.machine import machine_info

__all__ = ["bench_edge"]


@click.command("edge")
@click.argument("artifact", type=click.Path(file_okay=False, exists=True))
@click.option("--duration", "duration_s", type=click.FloatRange(min=100.0), default=1800.0, show_default=True,
              help="Closed-loop seconds of nmc_nmp_nominal whose dynamic problems are recorded and replayed.")
@click.option("--default-solves", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many of the recorded problems do-mpc with default settings solves (about 0.3 s each).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_edge(artifact: str, duration_s: float, default_solves: int, as_json: bool) -> None:
    """Solve times of the artifact's OCP (RTI: 1 SQP iteration, 3, and converged) and of do-mpc (tuned, and
    defaults), and the edge's first moves against tuned do-mpc's, on the problems the NMPC solved in closed loop
    on nmc_nmp_nominal. ARTIFACT must have been exported on scenarios/nmc_nmp_nominal.toml."""
    from mpc.edge_bench import bench_edge as run

    stderr("recording the closed loop's problems, then timing the solves ...")
    with user_errors():
        r = run(artifact, duration_s=duration_s, default_solves=default_solves)
    r["machine"] = machine_info()
    if as_json:
        echo_json(r)
        return
    click.echo(f"{r['problem']}: {r['n_solves']} solves (do-mpc defaults: the first {r['default_solves']})")
    click.echo(f"  HPIPM and BLASFEO: {solver_label(r['solver'])}")
    for key in [k for k in r if k.startswith("edge_") and isinstance(r[k], dict)]:
        d = r[key]
        click.echo(f"  {key:10s} median {d['median_ms']:7.2f} ms  p99 {d['p99_ms']:7.2f} ms  (QP {d['qp_median_ms']:.2f}, "
                   f"linearisation {d['linearise_median_ms']:.2f} ms; {d['iterations_mean']:.1f} iterations)  moves "
                   f"within 1e-3 of range {100 * d['share_within_1e-3']:.1f} %, largest {d['max_rel_move_diff_vs_tuned']:.2g}")
    click.echo(f"  do-mpc tuned   median {r['dompc_median_ms']:7.2f} ms; defaults {r['dompc_default_median_ms']:7.2f} ms; "
               f"speed-up of RTI over defaults {r['speedup_vs_default']:.1f}x")
