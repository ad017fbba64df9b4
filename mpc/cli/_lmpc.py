"""``calmline lmpc``: identify the line for the identified-model MPC."""

from __future__ import annotations

from pathlib import Path

import click

from mpc.cli._common import echo_json, stderr, user_errors
from mpc.errors import CalmlineError

__all__ = ["lmpc"]


@click.group()
def lmpc() -> None:
    """The identified-model MPC (--controller lmpc): its step-test campaign and model."""


@lmpc.command("identify")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Model file to write (JSON; an existing file needs --force).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None,
              help="Identify from this step-test log (timeseries.parquet of `calmline steptest run` or of an "
                   "earlier campaign) instead of running a new test on the simulated line.")
@click.option("--duration", "duration_s", type=float, default=28800.0, show_default=True, help="Test length, s.")
@click.option("--min-switch", "min_switch_s", type=float, default=300.0, show_default=True,
              help="GBN clock period, s (about a third of the slowest zone's time constant).")
@click.option("--amplitude", "amplitude_rel", type=float, default=0.1, show_default=True,
              help="Largest GBN amplitude, fraction of each input's recipe value (of each zone's rise over the "
                   "outdoor air for the air-temperature set points; shrunk to respect limits).")
@click.option("--dt", "dt_s", type=float, default=20.0, show_default=True, help="Model sample time (the lmpc's step), s.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the GBN schedule.")
@click.option("--pump-follows-speed/--pump-independent", default=True, show_default=True,
              help="Pump follows the speed at the recipe ratio plus a small trim channel (speed excited at "
                   "constant coat weight), or moves independently (both bounded by the coat-weight tolerance).")
@click.option("--save-log", "save_log", type=click.Path(file_okay=False), default=None,
              help="Also write the step test's time series (timeseries.parquet) to this folder (created if "
                   "missing; one holding files needs --force).")
@click.option("--force", is_flag=True, help="Replace --out and the --save-log folder's timeseries.parquet when "
              "calmline wrote them (listed, unedited, in the .calmline-manifest.json beside them); any other file "
              "is never touched (docs/outputs.md).")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as one JSON object.")
def identify_cmd(scenario: str, out_path: str, log_path: str | None, duration_s: float, min_switch_s: float,
                 amplitude_rel: float, dt_s: float, seed: int, pump_follows_speed: bool, save_log: str | None,
                 force: bool, as_json: bool) -> None:
    """Step-test the SCENARIO's simulated line (or read --log) and identify the lmpc's model."""
    import pandas as pd

    from controllers.lmpc import fit_line_model
    from mpc.campaign import identify_line
    from mpc.outputs import OutputFile, OutputFolder
    from mpc.runner import scenario_inputs
    from mpc.scenario import build_setup, load_scenario

    out = Path(out_path)
    with user_errors():
        if save_log and log_path:
            raise CalmlineError(f"--save-log {save_log!r} with --log {log_path!r}: no step test runs, so there is "
                                "no new log to save; drop one of them")
        ins = [log_path, *scenario_inputs(scenario)]
        OutputFile(out, force=force, inputs=ins)  # refused now, before the test runs
        log_folder = OutputFolder(save_log, ["timeseries.parquet"], force=force, inputs=ins) if save_log else None
        sc = load_scenario(scenario)
        setup = build_setup(sc, source=scenario)
        if log_path:
            if not Path(log_path).is_file():
                raise CalmlineError(f"step-test log {log_path!r} not found")
            ts = pd.read_parquet(log_path)
            model = fit_line_model(ts, setup, dt_s=dt_s, test={"log": log_path}, log=stderr)
        else:
            model, ts = identify_line(setup, duration_s=duration_s, min_switch_s=min_switch_s,
                                      amplitude_rel=amplitude_rel, dt_s=dt_s, seed=seed,
                                      pump_follows_speed=pump_follows_speed, progress=True, log=stderr)
            if log_folder is not None:
                with log_folder:
                    log_folder.write_with("timeseries.parquet", ts.to_parquet)
        model.save(out, force=force, inputs=ins)
    stderr(f"wrote {out_path} ({model.n_states} states, {len(model.input_names)} inputs, "
           f"{len(model.output_names)} outputs, dt {model.dt_s:g} s)")
    summary = {"scenario": sc.name, "preset": model.preset, "model_file": str(out), "n_states": model.n_states,
               "dt_s": model.dt_s, "inputs": list(model.input_names), "outputs": list(model.output_names),
               "fit_percent": model.fit_percent, "blocks": model.blocks}
    if as_json:
        echo_json(summary)
        return
    for name, fit in model.fit_percent.items():
        click.echo(f"  {name:28s} validation fit {fit:6.1f} %")
