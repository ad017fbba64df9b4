"""``calmline calibrate``: named physical parameters of the controller model from a log.

A thin layer over :func:`mpc.calibrate.calibrate`: with ``--json`` stdout
holds exactly one JSON object and progress goes to stderr; a user error
(file, column, window, parameter name, existing output) prints one
``Error: ...`` line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from mpc.cli._common import FORCE_FILE_HELP, echo_json, stderr, user_errors

__all__ = ["calibrate"]


@click.command("calibrate")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--scenario", required=True, type=click.Path(dir_okay=False),
              help="Scenario whose controller model is calibrated (preset, mismatch, sensors).")
@click.option("--params", "params", required=True,
              help="Parameters to estimate, comma separated group.field names "
                   "(e.g. dryer.heat_transfer_multiplier,dryer.critical_content_kg_kg).")
@click.option("--window", default=None, metavar="START:STOP",
              help="Seconds of the log to use (either side may be empty; default: all).")
@click.option("--dt", "dt_s", type=float, default=10.0, show_default=True,
              help="Calibration step (shooting interval and output sample time), s.")
@click.option("--cells-per-zone", type=click.IntRange(1, 64), default=None,
              help="Dryer cells per zone of the calibrated model (default: the scenario's model).")
@click.option("--outputs", default=None,
              help="Measured outputs to fit, comma separated sensor names (default: exit residual, exit film "
                   "temperature, zone air temperatures and LEL or humidity).")
@click.option("--max-iter", type=click.IntRange(1, 10000), default=200, show_default=True, help="IPOPT iteration limit.")
@click.option("--hessian", type=click.Choice(["gauss-newton", "exact"]), default="gauss-newton", show_default=True,
              help="Hessian of the least-squares NLP: Gauss-Newton (small residuals) or exact (when the model "
                   "cannot explain the data and Gauss-Newton oscillates).")
@click.option("--out", "out_path", default="params.toml", show_default=True, type=click.Path(dir_okay=False),
              help="Parameter file to write (TOML; an existing file needs --force).")
@click.option("--force", is_flag=True, help=FORCE_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def calibrate(log: str, scenario: str, params: str, window: str | None, dt_s: float, cells_per_zone: int | None,
              outputs: str | None, max_iter: int, hessian: str, out_path: str, force: bool,
              as_json: bool) -> None:
    """Estimate named physical parameters of the controller model from a logged run, with 95 % CIs.

    Multiple-shooting least squares over the scenario's controller model
    (CasADi, IPOPT), outputs weighted by their sensor noise; writes a
    parameter file that a scenario loads with [mismatch] model_params_file.
    See docs/calibration.md.
    """
    from mpc.calibrate import calibrate as run_calibration
    from mpc.outputs import OutputFile
    from mpc.runner import scenario_inputs

    out = Path(out_path)
    with user_errors():
        ins = [log, *scenario_inputs(scenario)]
        OutputFile(out, force=force, inputs=ins)  # refused now, before the calibration runs
        stderr(f"calibrating {params} on {log} ...")
        res = run_calibration(log, scenario, params, window=window, dt_s=dt_s, cells_per_zone=cells_per_zone,
                              outputs=outputs, max_iter=max_iter, hessian=hessian)
        res.write(out, force=force, inputs=ins)
    stderr(f"wrote {out_path}")
    if not res.success:
        stderr(f"warning: IPOPT did not converge ({res.status}); the estimates are not a minimum")
    if as_json:
        echo_json({**res.to_dict(), "params_file": str(out)})
        return
    click.echo(res.summary())
