"""``calmline bench sweep``: closed-loop runs per hour on 1 and 2 local workers."""

from __future__ import annotations

import click

from mpc.cli._common import controller_choice, echo_json, stderr, user_errors
from mpc.machine import machine_info

__all__ = ["bench_sweep"]


@click.command("sweep")
@click.option("--scenario", default="nmc_nmp_nominal", show_default=True, help="Scenario (file or shipped name).")
@click.option("--controller", default="pid", show_default=True, type=controller_choice(), help="Controller to run.")
@click.option("--samples", default=8, show_default=True, type=click.IntRange(min=1), help="Draws (default dispersion).")
@click.option("--duration", "duration_s", type=float, default=1800.0, show_default=True, help="Run length, s.")
@click.option("--workers", default="1,2", show_default=True, help="Comma-separated worker counts, measured in turn.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_sweep(scenario: str, controller: str, samples: int, duration_s: float, workers: str,
                as_json: bool) -> None:
    """Closed-loop runs per hour of a sweep for each worker count, the same draws each time."""
    from mpc.sweep._bench import bench_sweep as run

    try:
        ks = tuple(int(w) for w in workers.split(","))
    except ValueError:
        raise click.BadParameter(f"{workers!r}: expected whole numbers, as 1,2", param_hint="--workers") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter(f"{workers!r}: expected counts >= 1", param_hint="--workers")
    stderr(f"running {samples} draws for each of {len(ks)} worker counts ...")
    with user_errors():
        res = run(scenario, controller, samples, duration_s, ks)
        res["machine"] = machine_info()
    if as_json:
        echo_json(res)
        return
    for k, v in res["workers"].items():
        eff = "n/a (no 1-worker run)" if v["scaling_efficiency"] is None else f"{v['scaling_efficiency']:.2f}"
        click.echo(f"{k} worker(s): {v['runs']} runs in {v['wall_s']:.1f} s, {v['runs_per_hour']:.0f} runs/h, "
                   f"scaling efficiency {eff}")
