"""``calmline run`` and ``calmline compare``: closed-loop scenario runs with reports."""

from __future__ import annotations

from pathlib import Path

import click

from mpc.cli._common import echo_json, stderr, user_errors
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


@click.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controller", "controller", required=True, help="Controller name (recipe, pid, ...).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the KPI record as one JSON object.")
def run(scenario: str, controller: str, out_dir: str, duration_s: float | None, force: bool, as_json: bool) -> None:
    """Run one controller on a scenario; write kpis.json, timeseries.parquet, report.html and plots."""
    from mpc.runner import run_scenario, save_run

    with user_errors():
        out = Path(out_dir)
        if out.exists() and any(out.iterdir()) and not force:
            raise CalmlineError(f"output directory {out_dir!r} exists and is not empty; use --force to replace it")
        res = run_scenario(scenario, controller, duration_s=duration_s, progress=True)
        save_run(res, out, force=force)
    stderr(f"wrote {out}/kpis.json, timeseries.parquet, report.html")
    if as_json:
        echo_json(res.kpis)
        return
    k = res.kpis
    click.echo(f"{k['scenario']} / {k['controller']}")
    for key, label, fmt in _HEADLINE:
        click.echo(f"  {label:32s} {fmt.format(k[key])}")


@click.command("compare")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controllers", "controllers", required=True, help="Comma-separated controller names.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--reuse", default="", help="Comma-separated controllers whose earlier runs in --out are kept "
              "(checked to be of this scenario and duration) instead of re-run.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
def compare(scenario: str, controllers: str, out_dir: str, duration_s: float | None, force: bool,
            reuse: str, as_json: bool) -> None:
    """Run several controllers on identical disturbances and seeds; write them side by side."""
    from mpc.runner import compare_scenario

    names = [c.strip() for c in controllers.split(",") if c.strip()]
    with user_errors():
        if not names:
            raise CalmlineError(f"--controllers {controllers!r}: expected names such as {_controller_help()}")
        keep = [c.strip() for c in reuse.split(",") if c.strip()]
        table = compare_scenario(scenario, names, out_dir, duration_s=duration_s, force=force, progress=True,
                                 reuse=keep)
    stderr(f"wrote {out_dir}/comparison.csv and report.html")
    if as_json:
        echo_json({"scenario": str(scenario), "controllers": names,
                   "kpis": {c: {k: table.loc[k, c] for k in table.index} for c in names}})
        return
    rows = [key for key, _, _ in _HEADLINE]
    click.echo(table.loc[[r for r in rows if r in table.index]].to_string())
