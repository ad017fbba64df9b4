"""``calmline bench harness``: closed-loop shift wall time."""

from __future__ import annotations

import click

from mpc.cli._common import controller_choice, echo_json, stderr, user_errors
from mpc.machine import machine_info

__all__ = ["bench_harness"]


@click.command("harness")
@click.option("--controller", default="pid", show_default=True, type=controller_choice(), help="Controller to run.")
@click.option("--scenario", default=None, type=click.Path(dir_okay=False),
              help="Scenario file (default: scenarios/nmc_nmp_nominal.toml, an 8-hour shift).")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the duration, s.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_harness(controller: str, scenario: str | None, duration_s: float | None, as_json: bool) -> None:
    """Wall time of a closed-loop run (target: PID 8-hour shift in <= 30 s)."""
    from mpc.harness._bench import NOMINAL
    from mpc.harness._bench import bench_harness as run

    stderr("running the closed loop ...")
    with user_errors():
        res = run(controller, scenario or NOMINAL, duration_s)
        res["machine"] = machine_info()
    if as_json:
        echo_json(res)
        return
    click.echo(f"{res['scenario']} / {res['controller']}: {res['simulated_s'] / 3600:.1f} h simulated in "
               f"{res['wall_s']:.1f} s ({res['steps']} steps of {res['control_interval_s']} s, "
               f"{res['plant_states']} plant states)")
    m = res["machine"]
    click.echo(f"  machine: {m['processor']}, {m['cpu_count']} cores")
