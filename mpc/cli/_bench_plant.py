"""``calmline bench plant``: batched JAX plant-simulation speed."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, stderr
from mpc.machine import machine_info

__all__ = ["bench_plant"]


@click.command("plant")
@click.option("--steps", default=300, show_default=True, help="Scenario-steps per scenario at 1,000 scenarios (x10 at 1).")
@click.option("--repeats", default=3, show_default=True, help="Timed repetitions (best is kept).")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help="Threads a batch is split over (default: the machine's cores); one thread is timed too.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_plant(steps: int, repeats: int, threads: int | None, as_json: bool) -> None:
    """Scenario-steps/s and state-steps/s for 1 and 1,000 cathode scenarios."""
    from plants.bench import bench_plant as run

    stderr("compiling and timing the batched JAX simulation ...")
    res = run(steps=steps, repeats=repeats, threads=threads)
    res["machine"] = machine_info()
    if as_json:
        echo_json(res)
        return
    click.echo(
        f"nmc_nmp plant: {res['n_states']} states ({res['n_zones']} zones x {res['cells_per_zone']} cells), "
        f"interval {res['interval_s']} s, {res['rk4_substeps']} RK4 sub-steps"
    )
    for r in res["results"]:
        click.echo(
            f"  {r['scenarios']:>5} scenarios, {r['threads']} thread(s): {r['scenario_steps_per_s']:.3g} scenario-steps/s, "
            f"{r['state_steps_per_s']:.3g} state-steps/s"
        )
    m = res["machine"]
    click.echo(f"  machine: {m['processor']}, {m['cpu_count']} cores, JAX {m['jax']} on {m['jax_backend']}; "
               f"1-min load average {res['load_average_1min']['before']:.2f} before, "
               f"{res['load_average_1min']['after']:.2f} after")
