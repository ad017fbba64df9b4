"""Where speed must give way: the speeds the economic target settles at, against the runs' speed.

For a scenario whose plan asks for more speed than the line can hold within its limits (``nmc_nmp_exhaust_saturated``:
the exhausts saturate at the LEL limit), the economic target's steady-state optimisation (the NMPC's
:class:`controllers.nmpc.SteadyTarget`, nominal estimates) is continued in speed from the plan's first speed to its
last (:func:`controllers.nmpc.steady_speed_by_continuation`) on two parameter sets:

* ``model``: the controllers' model (what the NMPC and ``pid_opt`` know before the run);
* ``plant``: the simulated plant's own parameters and cells (what the line could really hold at the target's
  margins; no controller knows it).

Each is solved twice: with the default ``[controllers.nmpc.target]`` settings (where the NMPC's target and
``pid_opt`` settle: ``economic_speed_m_s``), and with speed priced at ``MAX_SPEED_WEIGHT`` (50, ten times the
default: a tenth of a m/s worth more than any power the dryer draws; far higher and the target buys speed with
slack on its limits): ``highest_steady_speed_m_s``. Each carries its solve's success flag.

With ``--runs DIR`` (a ``scenarios/results_table.py`` output folder, ``DIR/SCENARIO/CONTROLLER/``), each
controller's mean line speed over the last ``--window-s`` of the run and its time above the LEL limit are set
beside them, with the ratio of the mean speed to each parameter set's highest steady speed where that solve
succeeded, else to its economic speed (``of_*_reference`` and ``*_reference_is``). Writes JSON to ``--out``.

    python scenarios/speed_gives_way.py nmc_nmp_exhaust_saturated --runs runs/results \\
        --out runs/speed_gives_way.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

MAX_SPEED_WEIGHT = 50.0
"""``[controllers.nmpc.target] speed_weight`` for the highest steady speed (the default, 5, trades speed for power)."""


def reference_speeds(scenario: str) -> dict[str, dict[str, object]]:
    """The target's highest steady speed at the plan's last speed and the LEL limit planned for, per parameter set."""
    import numpy as np

    from controllers._common import lel_limit_in_force
    from controllers.nmpc import NmpcModel, steady_speed_by_continuation
    from mpc.harness import controller_context
    from mpc.scenario import ModelSettings, TargetSettings, build_setup, load_scenario
    from scenarios import shipped_path

    path = shipped_path(f"{scenario}.toml")
    setup = build_setup(load_scenario(path), source=str(path))
    ctx = controller_context(setup, "nmpc")
    sch = setup.schedule
    v_plan = min(sch.speed_target_m_s, sch.speed_cap_m_s)
    for _t0, target, cap, _ramp in sch.speed_changes:
        v_plan = min(target, cap)
    flammable = setup.model_params.solvent.lel_vol_frac > 0
    limit = lel_limit_in_force(ctx) if flammable else setup.scenario.spec.lel_limit_frac
    out: dict[str, dict[str, object]] = {}
    for name, params in (("model", setup.model_params), ("plant", setup.plant_params)):
        m = NmpcModel(ModelSettings().apply(params), setup.recipe)
        c = replace(ctx, model_params=params)
        # the highest speed: the target with speed priced far above power; and where the default economics settle
        pt = steady_speed_by_continuation(m, c, replace(TargetSettings(), speed_weight=MAX_SPEED_WEIGHT), v_plan, limit)
        eco = steady_speed_by_continuation(m, c, TargetSettings(), v_plan, limit)
        L = m.layout
        out[name] = {
            "cells_per_zone": params.dryer.cells_per_zone,
            "plan_speed_m_s": v_plan,
            "lel_limit_frac": limit,
            "highest_steady_speed_m_s": pt.line_speed_m_s,
            "highest_success": pt.success,
            "economic_speed_m_s": eco.line_speed_m_s,
            "economic_success": eco.success,
            "exhaust_m3_s": np.round(pt.u[L.u_exhaust], 4).tolist(),
            "exhaust_max_m3_s": float(params.dryer.exhaust_max_m3_s),
            "air_temp_K": np.round(pt.x[L.air_temp], 2).tolist(),
            "zone_levels": {k: round(v, 4) for k, v in pt.y.items() if k.endswith("_lel_frac")},
        }
    return out


def run_speeds(runs: Path, scenario: str, window_s: float) -> dict[str, dict[str, float]]:
    """Each controller's mean line speed over the last ``window_s`` of its run, and its time above the LEL limit."""
    import pandas as pd

    from controllers.registry import controller_names

    rows: dict[str, dict[str, float]] = {}
    for c in controller_names():
        folder = runs / scenario / c
        if not (folder / "timeseries.parquet").is_file():
            continue
        ts = pd.read_parquet(folder / "timeseries.parquet", columns=["speed_m_s"])
        k = json.loads((folder / "kpis.json").read_text())
        late = ts.loc[ts.index > ts.index[-1] - window_s, "speed_m_s"]
        rows[c] = {"mean_speed_m_s": float(late.mean()), "time_above_lel_limit_s": float(k["time_above_lel_limit_s"]),
                   "throughput_m2_h": float(k["throughput_m2_h"]), "energy_kwh_per_m2": float(k["energy_kwh_per_m2"])}
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", help="shipped scenario name (without .toml)")
    ap.add_argument("--runs", type=Path, help="results folder of scenarios/results_table.py")
    ap.add_argument("--window-s", type=float, default=3600.0, help="the last part of each run the mean speed covers, s")
    ap.add_argument("--out", type=Path, required=True, help="JSON file to write")
    a = ap.parse_args(argv)
    if a.out.suffix != ".json":
        raise SystemExit(f"--out {a.out}: expected a .json file")
    ref = reference_speeds(a.scenario)
    result: dict[str, object] = {"scenario": a.scenario, "reference": ref}
    if a.runs is not None:
        rows = run_speeds(a.runs, a.scenario, a.window_s)
        for name in ("plant", "model"):
            r_ = ref[name]
            key = "highest_steady_speed_m_s" if r_["highest_success"] else "economic_speed_m_s"
            v_ref = float(r_[key])  # type: ignore[arg-type]
            for r in rows.values():
                r[f"of_{name}_reference"] = r["mean_speed_m_s"] / v_ref
                r[f"{name}_reference_is"] = key  # type: ignore[assignment]
        result["runs"] = rows
        result["window_s"] = a.window_s
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
