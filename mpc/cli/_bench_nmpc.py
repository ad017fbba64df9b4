"""``calmline bench nmpc``: do-mpc defaults and the tuned NMPC (optionally the experimental SQP / fatrop), side by side."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, stderr
from mpc.machine import machine_info

__all__ = ["bench_nmpc"]


@click.command("nmpc")
@click.option("--duration", "duration_s", type=click.FloatRange(min=100.0), default=1800.0, show_default=True,
              help="Closed-loop seconds of nmc_nmp_nominal whose dynamic problems are recorded and timed.")
@click.option("--solves", type=click.IntRange(min=1), default=None,
              help="Time only the first N recorded problems (default: all).")
@click.option("--with-sqp", is_flag=True, help="Also time the experimental sqpmethod+qrqp configuration "
              "(about 3 s per solve; docs/nmpc.md).")
@click.option("--with-fatrop", is_flag=True, help="Also time the experimental fatrop configuration "
              "(stage-ordered NLP; about 0.5 s per solve; docs/nmpc.md).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_nmpc(duration_s: float, solves: int | None, with_sqp: bool, with_fatrop: bool, as_json: bool) -> None:
    """Median/p95 solve time of do-mpc defaults and of the tuned NMPC (both warm starts) on the problems the
    default NMPC solved in closed loop (recorded first, then replayed in order by each configuration)."""
    from mpc.nmpc_bench import bench_nmpc as run

    stderr("recording the closed loop's problems, then timing the solves ...")
    r = run(n_solves=solves, with_sqp=with_sqp, with_fatrop=with_fatrop, duration_s=duration_s)
    r["machine"] = machine_info()
    if as_json:
        echo_json(r)
        return
    click.echo(f"{r['problem']}: {r['n_solves']} solves, {r['n_states']} states, {r['n_inputs']} inputs, horizon "
               f"{r['horizon']} x {r['t_step_s']:.0f} s = {r['horizon_s']:.0f} s (residence "
               f"{r['residence_s_at_nominal']:.0f} s)")
    extra = [c for c, on in (("sqp", with_sqp), ("fatrop", with_fatrop)) if on]
    for c in ("default", "tuned", "tuned_shift", *extra):
        d = r[c]
        click.echo(f"  {c:8s} median {d['median_ms']:7.1f} ms  p95 {d['p95_ms']:7.1f} ms  "
                   f"({d['success']}/{r['n_solves']} solved, {d['iterations_median']:.0f} iterations, "
                   f"{d['n_nlp_variables']} NLP variables)")
    click.echo(f"  speedup {r['speedup']:.1f}x (default/tuned)")
    for c in extra:
        click.echo(f"  {c}: {r[c + '_fallbacks']} IPOPT fallbacks, first move within "
                   f"{r[c + '_first_move_max_abs_diff_vs_tuned_scaled']:.1e} of tuned (scaled)")
