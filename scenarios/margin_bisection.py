"""Each controller at its own safe margin: the highest LEL set point that keeps 0 s above the limit.

For ``--controller nmpc`` the set point is the economic target's ``lel_margin`` (the fraction of the LEL
limit in force it plans every zone at; the OCP's soft limit goes with it, 0.05 higher, at most 1); for
``pid_opt`` its ``lel_setpoint_of_limit``. Starting from ``--lo`` (checked safe) and ``--hi``, the margin is
bisected until the bracket is ``--resolution`` wide; a margin is safe when every scenario of the subset runs
with 0 s above the LEL limit in force. Every evaluated margin is written to ``--out`` (JSON) with, per
scenario, the time above the limit, the energy per good m2 and the scrap.

    python scenarios/margin_bisection.py --controller pid_opt --out runs/margins/pid_opt.json
    python scenarios/margin_bisection.py --controller nmpc --out runs/margins/nmpc.json

The default subset holds every transition type of the cathode's shipped scenarios (the anode's water has no
LEL limit): the start-up from the recipe (every run), a batch change, a speed ramp, a line stop and restart,
an analyser failure during a speed ramp (the limit in force falls to 25 %), and the structurally mismatched
plant whose analysers read 3 points low.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SUBSET = (
    "nmc_nmp_batch_change",
    "nmc_nmp_speed_ramp",
    "nmc_nmp_line_stop",
    "nmc_nmp_analyser_failure_speed_ramp",
    "nmc_nmp_structural_mismatch",
)
"""Every transition type of the cathode's shipped scenarios."""


def _settings(controller: str, margin: float) -> dict:
    if controller == "nmpc":
        return {"target": {"lel_margin": margin}, "ocp": {"lel_margin": min(1.0, margin + 0.05)}}
    return {"lel_setpoint_of_limit": margin}


def run_one(scenario: str, controller: str, margin: float) -> dict:
    """One scenario at ``margin``: its time above the limit, energy per good m2 and scrap."""
    from controllers.registry import make_controller
    from mpc.runner import run_setup
    from mpc.scenario import build_setup, load_scenario, scenario_from_dict
    from scenarios import shipped_path

    path = shipped_path(f"{scenario}.toml")
    data = load_scenario(path).model_dump()
    tables = data.setdefault("controllers", {})
    own = tables.setdefault(controller, {}) or {}
    for key, value in _settings(controller, margin).items():
        if isinstance(value, dict):
            own[key] = {**(own.get(key) or {}), **value}
        else:
            own[key] = value
    tables[controller] = own
    setup = build_setup(scenario_from_dict(data), source=str(path))
    res = run_setup(setup, make_controller(controller), source=str(path))
    k = res.kpis
    return {"scenario": scenario, "margin": margin, "time_above_lel_limit_s": float(k["time_above_lel_limit_s"]),
            "energy_kwh_per_m2": float(k["energy_kwh_per_m2"]), "scrap_m": float(k["scrap_m"]),
            "max_lel_fraction": float(k["max_lel_fraction"])}


def evaluate(controller: str, margin: float, scenarios: tuple[str, ...], jobs: int) -> dict:
    """Every scenario at ``margin``; safe when none spends time above the limit."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(run_one, scenarios, [controller] * len(scenarios), [margin] * len(scenarios)))
    safe = all(r["time_above_lel_limit_s"] == 0.0 for r in runs)
    energy = sum(r["energy_kwh_per_m2"] for r in runs) / len(runs)
    return {"margin": margin, "safe": safe, "mean_energy_kwh_per_m2": energy, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--controller", choices=("nmpc", "pid_opt"), required=True)
    ap.add_argument("--scenarios", default=",".join(SUBSET), help="comma-separated shipped scenario names")
    ap.add_argument("--lo", type=float, default=0.80, help="lowest margin (checked first; must be safe)")
    ap.add_argument("--hi", type=float, default=0.96, help="highest margin tried")
    ap.add_argument("--resolution", type=float, default=0.02)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", required=True, help="JSON file written with every evaluated margin")
    args = ap.parse_args()
    scenarios = tuple(args.scenarios.split(","))
    t0 = time.perf_counter()
    tried = []

    def check(m: float) -> bool:
        r = evaluate(args.controller, round(m, 4), scenarios, args.jobs)
        tried.append(r)
        above = {x["scenario"]: x["time_above_lel_limit_s"] for x in r["runs"] if x["time_above_lel_limit_s"] > 0}
        print(f"{args.controller} at {m:.3f}: {'safe' if r['safe'] else 'NOT safe ' + str(above)}, mean energy "
              f"{r['mean_energy_kwh_per_m2']:.4f} kWh/m2 ({time.perf_counter() - t0:.0f} s)", flush=True)
        return r["safe"]

    lo, hi = args.lo, args.hi
    if not check(lo):
        best = None
    elif check(hi):
        best = hi
    else:
        while hi - lo > args.resolution + 1e-9:
            mid = round((lo + hi) / 2.0, 4)
            if check(mid):
                lo = mid
            else:
                hi = mid
        best = lo
    result = {"controller": args.controller, "scenarios": list(scenarios), "resolution": args.resolution,
              "highest_safe_margin": best, "tried": sorted(tried, key=lambda r: r["margin"]),
              "wall_s": time.perf_counter() - t0}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"highest safe margin: {best}; written {out}")


if __name__ == "__main__":
    main()
