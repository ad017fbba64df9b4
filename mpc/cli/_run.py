"""``calmline run`` and ``calmline compare``: closed-loop scenario runs with reports."""

from __future__ import annotations

import click

from mpc.cli._common import (
    EXIT_CODES_COMPARE,
    EXIT_CODES_RUN,
    FORCE_FOLDER_HELP,
    controller_choice,
    echo_json,
    exit_on_violations,
    stderr,
    user_errors,
)
from mpc.errors import CalmlineError

__all__ = ["compare", "run"]

_HEADLINE = (
    ("coat_weight_cpk", "coat-weight Cpk", "{:.2f}"),
    ("residual_solvent_cpk", "residual-solvent Cpk", "{:.2f}"),
    ("energy_kwh_per_kwh_cell", "energy, kWh per kWh of cell", "{:.3f}"),
    ("energy_kwh_per_m2", "energy, kWh per m2", "{:.4f}"),
    ("resistance_proxy_cv", "resistance-proxy CV", "{:.4f}"),
    ("scrap_m", "scrap, m", "{:.0f}"),
    ("throughput_m2_h", "good m2 per hour", "{:.0f}"),
    ("max_lel_fraction", "max LEL fraction", "{:.3f}"),
    ("time_above_lel_limit_s", "time above LEL limit, s", "{:.0f}"),
)


def _controller_help() -> str:
    from controllers.registry import controller_names

    return ", ".join(controller_names())


def _print_headline(k: dict[str, object]) -> None:
    click.echo(f"{k['scenario']} / {k['controller']}")
    for key, label, fmt in _HEADLINE:
        click.echo(f"  {label:32s} {fmt.format(k[key])}")


@click.command("run", epilog=EXIT_CODES_RUN)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controller", "controller", required=True, type=controller_choice(), help="Controller to run.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created if missing; one holding files needs --force).")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the KPI record as one JSON object.")
def run(scenario: str, controller: str, out_dir: str, duration_s: float | None, force: bool, as_json: bool) -> None:
    """Run one controller on a scenario; write kpis.json, timeseries.parquet, report.html and plots."""
    from mpc.report import run_violations
    from mpc.runner import run_output_folder, run_scenario, scenario_inputs, write_run

    with user_errors():
        folder = run_output_folder(out_dir, force=force, inputs=scenario_inputs(scenario, [controller]))
        res = run_scenario(scenario, controller, duration_s=duration_s, progress=True)
        with folder:
            write_run(res, folder)
    stderr(f"wrote {out_dir}/kpis.json, timeseries.parquet, report.html")
    if as_json:
        echo_json(res.kpis)
    else:
        _print_headline(res.kpis)
    exit_on_violations({"": run_violations(res.kpis, res.timeseries)})


@click.command("compare", epilog=EXIT_CODES_COMPARE)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controllers", "controllers", required=True,
              help=f"Comma-separated controller names, each once, from: {', '.join(controller_choice().choices)}.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created if missing; one holding files needs --force).")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--reuse", default="", help="Comma-separated controllers whose earlier runs in --out are kept "
              "(checked to be of this scenario and duration) instead of re-run.")
@click.option("--strict", is_flag=True, help="Exit with code 3 when a controller broke the LEL limit in force or "
              "made no good web.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
def compare(scenario: str, controllers: str, out_dir: str, duration_s: float | None, force: bool,
            reuse: str, strict: bool, as_json: bool) -> None:
    """Run several controllers on identical disturbances and seeds; write them side by side.

    Writes OUT/<controller>/ (each run, as `calmline run`), OUT/comparison.csv (one row per controller, one
    column per KPI, and the columns violation, violation_reason, targets_met and targets_missed) and
    OUT/report.html.
    """
    from controllers.registry import controller_label
    from mpc.runner import compare_scenario

    names = [c.strip() for c in controllers.split(",") if c.strip()]
    with user_errors():
        if not names:
            raise CalmlineError(f"--controllers {controllers!r}: expected names such as {_controller_help()}")
        keep = [c.strip() for c in reuse.split(",") if c.strip()]
        table = compare_scenario(scenario, names, out_dir, duration_s=duration_s, force=force, progress=True,
                                 reuse=keep)
    stderr(f"wrote {out_dir}/comparison.csv and report.html")
    rows = table.set_index("controller")
    if as_json:
        echo_json({"scenario": str(scenario), "controllers": names,
                   "kpis": {c: rows.loc[controller_label(c)].to_dict() for c in names}})
    else:
        cols = [key for key, _, _ in _HEADLINE if key in rows.columns]
        click.echo(rows[cols].astype(object).T.to_string())
    labels = [controller_label(c) for c in names]
    violations = {c: [str(rows.at[c, "violation_reason"])] for c in labels if rows.at[c, "violation"]}
    exit_on_violations(violations, exit_code=strict)
