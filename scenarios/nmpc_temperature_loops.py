"""Compare the NMPC's two ways of driving the PLC's air-temperature loops on a shortened nominal shift.

Usage: ``python scenarios/nmpc_temperature_loops.py [--scenario nmc_nmp_nominal] [--duration 2400]``.
Runs the NMPC with ``[controllers.nmpc.model] temperature_loops = "manual"`` (the default: heater powers
as the loops' manual outputs) and ``"model"`` (set points planned on a model that holds the loops) on the
same scenario and disturbances, and prints, over the second half of the run, the mean and standard
deviation of the dryer power, the highest zone LEL fraction and the failed solves (``docs/plc.md``).
"""

from __future__ import annotations

import argparse
import warnings

from controllers.nmpc import ModelSettings, NmpcController
from mpc.harness import run_closed_loop
from mpc.scenario import build_setup, load_scenario, scenario_from_dict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="nmc_nmp_nominal")
    ap.add_argument("--duration", type=float, default=2400.0, help="simulated time, s")
    args = ap.parse_args()
    data = load_scenario(args.scenario).model_dump()
    data["duration_s"] = args.duration
    data["warmup_s"] = min(data["warmup_s"], args.duration / 2)
    setup = build_setup(scenario_from_dict(data), source=args.scenario)
    for how in ("manual", "model"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = run_closed_loop(setup, NmpcController(model=ModelSettings(temperature_loops=how))).timeseries
        half = ts.iloc[len(ts) // 2:]
        p = half["dryer_power_W"] / 1e3
        lel = half[[c for c in half.columns if c.startswith("zone") and c.endswith("_lel_frac")]]
        print(f"{how:>6}: dryer power {p.mean():.1f} kW (std {p.std():.1f}), max LEL fraction "
              f"{lel.max().max():.3f}, failed solves {int(ts['solver_failure'].sum())}")


if __name__ == "__main__":
    main()
