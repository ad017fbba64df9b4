"""``calmline steptest``: design a step-test schedule within the line's limits, and run it."""

from __future__ import annotations

from pathlib import Path

import click

from mpc.cli._common import FORCE_FILE_HELP, FORCE_FOLDER_HELP, echo_json, stderr, user_errors
from mpc.errors import CalmlineError

__all__ = ["steptest"]


@click.group()
def steptest() -> None:
    """Identification experiments: GBN step-test schedules for the line."""


@steptest.command("design")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--inputs", required=True, help="Comma-separated plant inputs or air-temperature set points to excite "
              "(e.g. speed_m_s,zone2_exhaust_flow_m3_s,zone2_air_temp_setpoint_K; a heater power is written as its "
              "loop's manual output, a set point to the loop in remote mode).")
@click.option("--duration", "duration_s", type=float, default=3600.0, show_default=True, help="Test length, s.")
@click.option("--min-switch", "min_switch_s", type=float, default=60.0, show_default=True,
              help="Shortest time a level is held, s (about a third of the dominant time constant).")
@click.option("--amplitude", "amplitude_rel", type=float, default=0.1, show_default=True,
              help="Largest amplitude as a fraction of each input's recipe value; for an air-temperature set "
                   "point, of the zone's rise over the outdoor air (shrunk to respect limits).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV to write (an existing file needs --force).")
@click.option("--force", is_flag=True, help=FORCE_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a summary as one JSON object.")
def design(scenario: str, inputs: str, duration_s: float, min_switch_s: float, amplitude_rel: float, seed: int,
           out_path: str, force: bool, as_json: bool) -> None:
    """Write a GBN schedule a plant can run: recipe values +/- amplitudes that keep LEL and quality in limits."""
    from controllers.steptest import design_steptest
    from mpc.outputs import OutputFile
    from mpc.runner import scenario_inputs
    from mpc.scenario import build_setup, load_scenario

    with user_errors():
        target = OutputFile(out_path, force=force, inputs=scenario_inputs(scenario))
        sc = load_scenario(scenario)
        names = [s.strip() for s in inputs.split(",") if s.strip()]
        sched, rel = design_steptest(build_setup(sc, source=scenario), names, duration_s=duration_s,
                                     min_switch_s=min_switch_s, amplitude_rel=amplitude_rel, seed=seed)
        out = target.write_with(lambda p: sched.to_csv(p, index=False))
    stderr(f"wrote {out_path} ({len(sched)} rows)")
    summary = {"scenario": sc.name, "rows": len(sched), "dt_s": sc.control_interval_s,
               "amplitude_rel": rel, "schedule": str(out)}
    if as_json:
        echo_json(summary)
        return
    for k, v in rel.items():
        click.echo(f"  {k:36s} +/- {v * 100:.2f} % of the recipe value")


@steptest.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("schedule", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created if missing; one holding files needs --force).")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
def run(scenario: str, schedule: str, out_dir: str, force: bool) -> None:
    """Run a step-test schedule on the simulated line (same outputs as ``calmline run``)."""
    import pandas as pd

    from mpc.campaign import run_steptest
    from mpc.runner import run_output_folder, scenario_inputs, write_run
    from mpc.scenario import build_setup, load_scenario

    with user_errors():
        folder = run_output_folder(out_dir, force=force, inputs=[schedule, *scenario_inputs(scenario)])
        if not Path(schedule).is_file():
            raise CalmlineError(f"schedule file {schedule!r} not found")
        sched = pd.read_csv(schedule)
        sc = load_scenario(scenario)
        setup = build_setup(sc, source=scenario)
        res = run_steptest(setup, sched, progress=True)
        with folder:
            write_run(res, folder)
    stderr(f"wrote {out_dir}/timeseries.parquet (identify with: calmline identify {out_dir}/timeseries.parquet ...)")
