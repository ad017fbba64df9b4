"""``calmline replay``: run a controller on a historical plant log; write the outputs of ``calmline run``."""

from __future__ import annotations

from pathlib import Path

import click

from mpc.cli._common import (
    EXIT_CODES_RUN,
    FORCE_FOLDER_HELP,
    controller_choice,
    echo_json,
    exit_on_violations,
    stderr,
    user_errors,
)
from mpc.errors import CalmlineError

__all__ = ["replay"]

_HEADLINE = (
    ("coat_weight_cpk", "coat-weight Cpk", "{:.2f}"),
    ("residual_solvent_cpk", "residual-solvent Cpk", "{:.2f}"),
    ("energy_kwh_per_kwh_cell", "energy, kWh per kWh of cell", "{:.3f}"),
    ("resistance_proxy_cv", "resistance-proxy CV", "{:.4f}"),
    ("scrap_m", "scrap, m", "{:.0f}"),
    ("throughput_m2_h", "good m2 per hour", "{:.0f}"),
    ("max_lel_fraction", "max LEL fraction", "{:.3f}"),
    ("time_above_lel_limit_s", "time above LEL limit, s", "{:.0f}"),
)


@click.command("replay", epilog=EXIT_CODES_RUN)
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--controller", "controller", required=True, type=controller_choice(), help="Controller to run.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created if missing; one holding files needs --force).")
@click.option("--scenario", "scenario", type=click.Path(dir_okay=False), default=None,
              help="Base scenario: everything the log does not supply (default scenarios/<preset>_nominal.toml).")
@click.option("--mapping", "mapping", type=click.Path(dir_okay=False), default=None,
              help="Column mapping, TOML (default: the default columns, docs/historian.md).")
@click.option("--preset", "preset", type=click.Choice(["nmc_nmp", "graphite_water"]), default=None,
              help="Plant preset: nmc_nmp unless --scenario gives another (must then match).")
@click.option("--start", "start_s", type=float, default=0.0, show_default=True,
              help="Start of the replayed window in the log, s.")
@click.option("--window", "window_s", type=float, default=None, help="Length of the replayed window, s (default: to the end).")
@click.option("--speed-cap", "speed_cap_m_s", type=click.FloatRange(0.0, 5.0, min_open=True), default=None,
              help="Announced speed cap, m/s like every speed in calmline (default: the base's, or the largest "
                   "request x 1.05).")
@click.option("--force", is_flag=True, help=FORCE_FOLDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the KPI record(s) as one JSON object.")
def replay(log: str, controller: str, out_dir: str, scenario: str | None, mapping: str | None, preset: str | None,
           start_s: float, window_s: float | None, speed_cap_m_s: float | None, force: bool, as_json: bool) -> None:
    """Replay plant log LOG (CSV or Parquet) as the plant's disturbances; write kpis.json, timeseries.parquet,
    report.html and plots.

    The log supplies outdoor temperature and RH, slurry solids, heater efficiency and fan flow factor (the
    zones it has) and the speed request (the announced target); the base scenario supplies the rest. A log
    split at long gaps ([gaps] on_long_gap = "split") is replayed part by part into OUT/seg1, OUT/seg2, ...
    """
    from mpc.historian import default_base_scenario, read_log, replay_log
    from mpc.report import run_violations
    from mpc.runner import run_output_folder, scenario_inputs, write_run
    from mpc.scenario import load_scenario

    with user_errors():
        base_path = Path(scenario) if scenario else default_base_scenario(preset or "nmc_nmp")
        base = load_scenario(base_path)
        if preset is not None and base.preset != preset:
            raise CalmlineError(f"--preset {preset} does not match base scenario {base_path} (preset {base.preset})")
        logs = read_log(log, mapping, step_s=base.control_interval_s)
        subs = [""] if len(logs) == 1 else [f"seg{i}" for i in range(1, len(logs) + 1)]
        ins = [log, mapping, *scenario_inputs(base_path, [controller])]
        folder = run_output_folder(out_dir, force=force, inputs=ins, subfolders=subs)
        results = [replay_log(part, controller, scenario=base_path, start_s=start_s, window_s=window_s,
                              speed_cap_m_s=speed_cap_m_s, progress=True) for part in logs]
        with folder:
            dirs = [write_run(r, folder.sub(s) if s else folder) for s, r in zip(subs, results, strict=True)]
    for d in dirs:
        stderr(f"wrote {d}/kpis.json, timeseries.parquet, report.html")
    if as_json:
        echo_json(results[0].kpis if len(results) == 1 else {"segments": [r.kpis for r in results]})
    else:
        for res in results:
            k = res.kpis
            click.echo(f"{k['scenario']} / {k['controller']}  (base {base_path.name}, {k['duration_s'] / 3600:.2f} h)")
            for key, label, fmt in _HEADLINE:
                click.echo(f"  {label:32s} {fmt.format(k[key])}")
    exit_on_violations({s: run_violations(r.kpis, r.timeseries) for s, r in zip(subs, results, strict=True)})
