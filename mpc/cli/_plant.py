"""``calmline plant``: presets, physics report, open-loop simulation."""

from __future__ import annotations

import click

from mpc.cli._common import FORCE_FILE_HELP, echo_json, stderr, user_errors

__all__ = ["plant"]


@click.group()
def plant() -> None:
    """The simulated line: presets, physics validation, open-loop runs."""


@plant.command("presets")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (every parameter with its source).")
def presets(as_json: bool) -> None:
    """List the line presets and their parameters with sources."""
    from plants.params import params_to_dict
    from plants.presets import get_preset, nominal_operating_point, preset_names

    out = {}
    for name in preset_names():
        p = get_preset(name)
        op = nominal_operating_point(name)
        out[name] = {
            "description": p.description,
            "parameters": params_to_dict(p),
            "sources": p.sources,
            "nominal_operating_point": {
                k: v for k, v in op.__dict__.items() if k != "extra" and v is not None
            },
        }
    if as_json:
        echo_json({"presets": out})
        return
    for name, info in out.items():
        click.echo(f"{name}: {info['description']}")
        op = info["nominal_operating_point"]
        click.echo(
            f"  nominal: {op['speed_m_s'] * 60:.0f} m/min, {op['coat_weight_kg_m2'] * 100:.1f} mg/cm2, "
            f"air {', '.join(f'{t - 273.15:.0f}' for t in op['air_temp_K'])} degC"
        )
    click.echo("(calmline plant presets --json prints every parameter with its source)")


@plant.command("validate")
@click.option("--preset", default="all", show_default=True, help="Preset name, or 'all'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def validate(preset: str, as_json: bool) -> None:
    """Physics report: each check's value, reference and verdict; exit 1 if any fails."""
    from plants.presets import preset_names
    from plants.validate import validate_preset

    with user_errors():
        names = preset_names() if preset == "all" else [preset]
        reports = [validate_preset(n) for n in names]
    if as_json:
        if len(reports) == 1:
            echo_json(reports[0].to_dict())
        else:
            echo_json({"passed": all(r.passed for r in reports), "reports": [r.to_dict() for r in reports]})
    else:
        for r in reports:
            click.echo(f"== {r.preset}: {'PASS' if r.passed else 'FAIL'}")
            for c in r.checks:
                ref = c.reference if isinstance(c.reference, str) else f"{c.reference:.6g}"
                click.echo(
                    f"  [{'pass' if c.passed else 'FAIL'}] {c.name}: {c.value:.6g} {c.unit} "
                    f"(reference {ref}, tolerance {c.tolerance})"
                )
                if c.note:
                    click.echo(f"         {c.note}")
    if not all(r.passed for r in reports):
        raise SystemExit(1)


@plant.command("simulate")
@click.option("--preset", default="nmc_nmp", show_default=True, help="Preset name.")
@click.option("--duration", "duration_s", default=3600.0, show_default=True, type=float, help="Simulated time, s.")
@click.option("--solids-step", default=0.01, show_default=True, type=float,
              help="Step of the slurry solids mass fraction at half time (0.01 = +1 wt%).")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False),
              help="Write the time series to this Parquet file (an existing file needs --force).")
@click.option("--force", is_flag=True, help=FORCE_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate(preset: str, duration_s: float, solids_step: float, out_path: str | None, force: bool,
             as_json: bool) -> None:
    """Open-loop run: the nominal recipe held through a slurry solids step."""
    from mpc.errors import CalmlineError
    from mpc.outputs import OutputFile
    from plants.openloop import simulate_recipe

    with user_errors():
        if force and out_path is None:
            raise CalmlineError("--force without --out: there is no file to replace")
        target = None if out_path is None else OutputFile(out_path, force=force)
        stderr(f"simulating {preset} for {duration_s:.0f} s ...")
        run = simulate_recipe(preset, duration_s=duration_s, solids_step_frac=solids_step)
        if target is not None:
            target.write_with(run.timeseries.to_parquet)
    if as_json:
        echo_json(run.summary)
        return
    s = run.summary
    click.echo(f"{preset}: nominal recipe, solids {solids_step * 100:+.1f} wt% at {s['step_at_s']:.0f} s")
    click.echo(f"  coat weight          {s['coat_weight_before_kg_m2'] * 100:.2f} -> "
               f"{s['coat_weight_after_kg_m2'] * 100:.2f} mg/cm2 ({s['coat_weight_change_pct']:+.2f} %)")
    click.echo(f"  exit residual (max)  {s['exit_residual_max_kg_kg'] * 100:.3f} % dry basis")
    click.echo(f"  max LEL fraction     {s['max_lel_fraction'] * 100:.1f} %")
    click.echo(f"  max film temperature {s['max_film_temp_K'] - 273.15:.1f} degC")
    click.echo(f"  dryer power          {s['dryer_power_mean_kW']:.0f} kW")
    click.echo(f"  energy               {s['energy_kwh_per_m2']:.3f} kWh/m2, "
               f"{s['energy_kwh_per_kwh_cell']:.2f} kWh per kWh of cell")
