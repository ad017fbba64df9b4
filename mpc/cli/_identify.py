"""``calmline identify`` (the benchmark is in :mod:`mpc.cli._bench_identify`).

``identify`` is a thin layer over :func:`mpc.sysid.identify`: with ``--json``
stdout holds exactly one JSON object and progress goes to stderr; a user
error (bad file, column, rows, option) prints one ``Error: ...`` line and
exits with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from mpc.cli._common import FORCE_FILE_HELP, UserError, user_errors
from mpc.errors import CalmlineError
from mpc.outputs import OutputFile
from mpc.sysid import (
    METHODS,
    PROTOCOLS,
    IdentificationError,
    IdentifiedModel,
)
from mpc.sysid import (
    identify as identify_model,
)

__all__ = ["identify"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _table(result: IdentifiedModel) -> str:
    d = result.details
    lines = [
        f"data      {d.get('source')}: estimate rows {d.get('estimate_rows')}, validate rows "
        f"{d.get('validate_rows')}, detrend {result.detrend.protocol}",
        f"model     {d.get('candidate')}  (method {result.method}, order {result.order}, "
        f"dt {result.dt:g} s{'' if d.get('dt_known') else ' assumed'})",
        f"stable    {'yes' if result.stable else 'NO'} (spectral radius "
        f"{d.get('spectral_radius', float('nan')):.4f})",
        "",
        f"{'output':<16} {'fit %':>8} {'1-step fit %':>13} {'RMSE':>12}",
    ]
    for name in result.output_names:
        lines.append(
            f"{name:<16} {result.fit_percent.get(name, float('nan')):8.1f} "
            f"{result.fit_percent_1step.get(name, float('nan')):13.1f} "
            f"{result.rmse.get(name, float('nan')):12.4g}"
        )
    if result.fit_percent:
        mean_fit = float(np.mean(list(result.fit_percent.values())))
        lines.append(f"{'mean':<16} {mean_fit:8.1f}")
    white = d.get("residual_whiteness")
    xcorr = d.get("residual_input_correlation")
    if white and xcorr:
        lines += [
            "",
            f"residuals (1-step, validation): whiteness {'passed' if white['passed'] else 'failed'} "
            f"({white['outside']}/{white['n_tested']} lags outside 99 % bounds), input "
            f"correlation {'passed' if xcorr['passed'] else 'failed'} "
            f"({xcorr['outside']}/{xcorr['n_tested']} outside)",
        ]
    lines.append("fit: free run with least-squares x0 on the validation rows (see docs/identification.md)")
    return "\n".join(lines)


@click.command("identify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inputs", required=True, help="Input columns, comma separated (e.g. c1,c2,c3).")
@click.option("--outputs", required=True, help="Output columns, comma separated.")
@click.option("--dt", type=float, default=None, help="Sample time in seconds.")
@click.option("--time-column", default=None, help="Column of uniform, increasing time stamps.")
@click.option("--estimate", required=True, metavar="START:STOP",
              help="Estimation rows, a Python slice counted from 0 (e.g. 0:600).")
@click.option("--validate", required=True, metavar="START:STOP",
              help="Validation rows (never used to choose the model).")
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True,
              help="auto: choose among ARX, subspace and PEM by cross-validation on the "
                   "estimation rows.")
@click.option("--order", default="auto", show_default=True,
              help="State dimension N of subspace/PEM models, or 'auto'.")
@click.option("--arx-orders", default=None, metavar="NA,NB,NK", help="Fixed ARX orders.")
@click.option("--detrend", type=click.Choice(PROTOCOLS), default="mean", show_default=True,
              help="mean: estimation means removed from both segments; segment-mean / "
                   "segment-linear: each segment on its own.")
@click.option("--feedthrough/--no-feedthrough", default=False, show_default=True,
              help="Estimate a direct term D (physical processes: usually not).")
@click.option("--pem-criterion", type=click.Choice(["simulation", "prediction"]),
              default="simulation", show_default=True,
              help="PEM criterion: free-run (output error) or one-step prediction error.")
@click.option("--n-max", type=click.IntRange(1, 40), default=10, show_default=True,
              help="Largest order tried by --order auto.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the full result (matrices included) as JSON here (an existing "
                                 "file needs --force).")
@click.option("--force", is_flag=True, help=FORCE_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def identify(
    file: Path,
    inputs: str,
    outputs: str,
    dt: float | None,
    time_column: str | None,
    estimate: str,
    validate: str,
    method: str,
    order: str,
    arx_orders: str | None,
    detrend: str,
    feedthrough: bool,
    pem_criterion: str,
    n_max: int,
    save_path: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Identify a linear state-space model of FILE and validate it.

    FILE is CSV with a header, Parquet, or white-space separated numbers
    without a header (columns c0, c1, ...). The model is chosen on the
    estimation rows only; the fit on the validation rows is the free-run
    NRMSE fit with a least-squares initial state.
    """

    def log(msg: str) -> None:
        click.echo(msg, err=True)

    with user_errors():
        if force and save_path is None:
            raise CalmlineError("--force without --save: there is no file to replace")
        target = None if save_path is None else OutputFile(save_path, force=force, inputs=[file])
    try:
        result = identify_model(
            file, inputs, outputs, estimate=estimate, validate=validate, dt=dt,
            time_column=time_column, method=method, order=order, arx_orders=arx_orders,
            detrend=detrend, feedthrough=feedthrough, pem_criterion=pem_criterion,
            n_max=n_max, log=log,
        )
    except IdentificationError as exc:
        raise UserError(_one_line(str(exc))) from None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError) as exc:
        raise click.ClickException(
            _one_line(f"identification failed ({type(exc).__name__}: {exc}); please report "
                      "this with the command line")
        ) from None
    payload = result.to_dict()
    if target is not None:
        with user_errors():
            target.write_text(json.dumps(payload, indent=1) + "\n")
        log(f"saved the model to {save_path}")
    if as_json:
        click.echo(json.dumps(payload))
    else:
        click.echo(_table(result))
