"""``calmline bench prediction``: the NMPC discretisation's horizon error against a fine reference integration."""

from __future__ import annotations

import click

from mpc.cli._common import echo_json, stderr
from mpc.machine import machine_info

__all__ = ["bench_prediction"]


@click.command("prediction")
@click.option("--preset", type=click.Choice(["nmc_nmp", "graphite_water"]), multiple=True,
              help="Plant preset (repeatable; default both): its nominal scenario's recipe and controller model.")
@click.option("--degree", type=click.IntRange(1, 5), multiple=True,
              help="Radau collocation degree (repeatable; default 1 and 3).")
@click.option("--elements", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Finite elements per NMPC step.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_prediction(preset: tuple[str, ...], degree: tuple[int, ...], elements: int, as_json: bool) -> None:
    """Largest horizon error of LEL (or exhaust humidity), exit residual and film temperature per standard step
    (exhaust -20 %, speed +10 %, nozzles -20 %, heaters -20 %), as a fraction of the fine reference's largest
    change, for each collocation degree (docs/nmpc.md, "Prediction accuracy")."""
    from controllers.nmpc import ModelSettings, NmpcModel
    from controllers.nmpc._prediction import prediction_errors
    from mpc.scenario import build_setup, load_scenario
    from scenarios import shipped_path

    stderr("integrating the standard steps ...")
    out: dict = {"machine": machine_info(), "runs": []}
    for p in preset or ("nmc_nmp", "graphite_water"):
        setup = build_setup(load_scenario(shipped_path(f"{p}_nominal.toml")))
        m = NmpcModel(ModelSettings().apply(setup.model_params), setup.recipe)
        for d in degree or (1, 3):
            r = prediction_errors(m, deg=d, elements=elements)
            r["preset"] = p
            out["runs"].append(r)
    if as_json:
        echo_json(out)
        return
    for r in out["runs"]:
        per = ", ".join(f"{s} {100 * max(e.values()):.1f} %" for s, e in r["errors"].items())
        click.echo(f"{r['preset']:15s} degree {r['deg']} x {r['elements']} element(s): worst {100 * r['worst']:.1f} % "
                   f"({per})")
