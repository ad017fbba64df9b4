"""``calmline sweep``: Monte Carlo runs of several controllers over draws of a scenario."""

from __future__ import annotations

import click

from mpc.cli._common import FORCE_FOLDER_HELP, echo_json, stderr, user_errors

__all__ = ["sweep"]


@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--controllers", default=None, help="Comma-separated controllers, each run on every draw "
              "(required unless --plant-only).")
@click.option("--samples", required=True, type=click.IntRange(min=1), help="Number of draws.")
@click.option("--vary", "vary", multiple=True, metavar="NAME=DIST",
              help="Draw scenario key NAME (dotted, as disturbances.slurry.solids_frac) from normal(mu,sd), "
              "uniform(a,b), integer(a,b) or choice(x,y,...); repeatable; analyser_fault=choice(none,fail,...) "
              "adds an analyser fault. Without any: the default dispersion (docs/sweep.md).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="The sweep's seed.")
@click.option("--duration", "duration_s", type=float, default=None, help="Override the scenario's duration, s.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder; the same arguments again resume an unfinished sweep there.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Local worker processes.")
@click.option("--scheduler", default=None, help="Run on the Dask distributed scheduler at this address "
              "(tcp://host:8786) instead of local processes.")
@click.option("--plant-only", "plant_only", is_flag=True,
              help="No controller: the recipe held open loop on every draw, batched on the JAX plant in this "
              "process (docs/sweep.md, 'Plant-only sweeps').")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a summary per controller as one JSON object.")
def sweep(scenario: str, controllers: str | None, samples: int, vary: tuple[str, ...], seed: int,
          duration_s: float | None, out_dir: str, workers: int, scheduler: str | None, plant_only: bool,
          force: bool, as_json: bool) -> None:
    """Run every controller on SAMPLES draws of SCENARIO (identical disturbances per draw); write runs.parquet
    and report.html. Exits 0 once every run is recorded: a run that failed or broke a limit is data."""
    from mpc.sweep import PLANT_ONLY_POLICY, run_sweep

    if controllers is None and not plant_only:
        raise click.UsageError("give --controllers a,b (or --plant-only for the open-loop recipe, batched)")
    names = [c.strip() for c in (controllers or "").split(",") if c.strip()]
    with user_errors():
        res = run_sweep(scenario, names, samples, out_dir=out_dir, vary=vary, seed=seed, duration_s=duration_s,
                        workers=workers, scheduler=scheduler, force=force, progress=not as_json,
                        plant_only=plant_only)
    if plant_only:
        names = [PLANT_ONLY_POLICY]
    df = res.runs
    summary = {}
    for ctrl in names:
        g = df[df["controller"] == ctrl]
        ok = g[g["status"] == "ok"]
        above = int((ok["kpi_time_above_lel_limit_s"] > 0).sum()) if "kpi_time_above_lel_limit_s" in ok else 0
        summary[ctrl] = {"runs": len(g), "ok": len(ok), "failed": int(len(g) - len(ok)),
                         "draws_above_lel_limit": above,
                         "share_above_lel_limit": above / len(ok) if len(ok) else None}
    stderr(f"wrote {out_dir}/runs.parquet, report.html ({res.ran} runs now, {res.resumed} resumed)")
    if as_json:
        echo_json(summary)
    else:
        for ctrl, s in summary.items():
            share = "n/a" if s["share_above_lel_limit"] is None else f"{100 * s['share_above_lel_limit']:.1f} %"
            click.echo(f"{ctrl}: {s['ok']} ok, {s['failed']} failed; draws with time above the LEL limit: "
                       f"{s['draws_above_lel_limit']} ({share})")
