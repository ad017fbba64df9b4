"""``calmline bench nmpc``: do-mpc defaults vs the tuned NMPC, side by side in one run."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, stderr

__all__ = ["bench_nmpc"]


@click.command("nmpc")
@click.option("--solves", default=30, show_default=True, help="Solves per configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_nmpc(solves: int, as_json: bool) -> None:
    """Median/p95 solve time of do-mpc defaults and of the tuned NMPC on the reference problem."""
    from controllers.nmpc._bench import bench_nmpc as run

    stderr("building both problems and timing the solves ...")
    r = run(n_solves=solves)
    if as_json:
        echo_json(r)
        return
    click.echo(f"reference problem: {r['n_states']} states, {r['n_inputs']} inputs, horizon {r['horizon']} x "
               f"{r['t_step_s']:.0f} s = {r['horizon_s']:.0f} s (residence {r['residence_s_at_nominal']:.0f} s)")
    for c in ("default", "tuned"):
        d = r[c]
        click.echo(f"  {c:8s} median {d['median_ms']:7.1f} ms  p95 {d['p95_ms']:7.1f} ms  "
                   f"({d['success']}/{r['n_solves']} solved, {d['iterations_median']:.0f} iterations, "
                   f"{d['n_nlp_variables']} NLP variables)")
    click.echo(f"  speedup {r['speedup']:.1f}x")
