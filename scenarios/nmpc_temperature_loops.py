"""Compare the NMPC's two ways of driving the PLC's air-temperature loops on one scenario.

Usage: ``python scenarios/nmpc_temperature_loops.py [--scenario nmc_nmp_nominal] [--duration 2400]
[--collocation-elements 1] [--setpoint-rate 0.1]``. Runs the NMPC with ``[controllers.nmpc.model] temperature_loops = "manual"``
(heater powers as the loops' manual outputs) and ``"model"`` (the default: set points and feedforwards planned on
a model that holds the loops) on the same scenario and disturbances, and prints, over the second half of the run,
the mean and standard deviation of the dryer power, and over the run's KPI window the time above the LEL
limit, the highest zone LEL fraction, the scrap and the failed solves (``docs/plc.md``).
``--duration 0`` runs the scenario's own duration.
"""

from __future__ import annotations

import argparse
import warnings

from controllers.nmpc import ModelSettings, NmpcController, OcpSettings
from mpc.runner import run_setup
from mpc.scenario import build_setup, load_scenario, scenario_from_dict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="nmc_nmp_nominal")
    ap.add_argument("--duration", type=float, default=2400.0, help="simulated time, s (0: the scenario's)")
    ap.add_argument("--collocation-elements", type=int, default=1,
                    help="[controllers.nmpc.ocp] collocation_elements of both runs")
    ap.add_argument("--setpoint-rate", type=float, default=OcpSettings().setpoint_rate_K_s,
                    help="[controllers.nmpc.ocp] setpoint_rate_K_s (the \"model\" run's set-point moves), K/s")
    args = ap.parse_args()
    data = load_scenario(args.scenario).model_dump()
    if args.duration > 0:
        data["duration_s"] = args.duration
        data["warmup_s"] = min(data["warmup_s"], args.duration / 2)
    setup = build_setup(scenario_from_dict(data), source=args.scenario)
    for how in ("manual", "model"):
        ctrl = NmpcController(ocp=OcpSettings(collocation_elements=args.collocation_elements,
                                              setpoint_rate_K_s=args.setpoint_rate),
                              model=ModelSettings(temperature_loops=how))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_setup(setup, ctrl, source=args.scenario)
        ts, k = res.timeseries, res.kpis
        p = ts.iloc[len(ts) // 2:]["dryer_power_W"] / 1e3
        print(f"{how:>6}: dryer power {p.mean():.1f} kW (std {p.std():.1f}), "
              f"{k['time_above_lel_limit_s']:.0f} s above the LEL limit (max fraction {k['max_lel_fraction']:.3f}), "
              f"scrap {k['scrap_m']:.0f} m, energy {k['energy_kwh_per_m2']:.4f} kWh/good m2, "
              f"failed solves {int(ts['solver_failure'].sum())}")


if __name__ == "__main__":
    main()
