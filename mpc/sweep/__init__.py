"""Monte Carlo sweeps: every controller on N draws of a scenario, locally or on Dask (``docs/sweep.md``)."""

from mpc.sweep._dist import DIST_KINDS, Dist, SweepError, parse_dist, parse_vary
from mpc.sweep._draws import ANALYSER_FAULT, Draw, default_dispersion, make_draws
from mpc.sweep._exec import Task, run_dask, run_local, run_task
from mpc.sweep._plant import (
    PLANT_ONLY_CHUNK,
    PLANT_ONLY_POLICY,
    check_plant_only_vary,
    plant_only_dispersion,
)
from mpc.sweep._sweep import SWEEP_FILES, SweepResult, run_sweep, worst_runs

__all__ = [
    "ANALYSER_FAULT",
    "DIST_KINDS",
    "PLANT_ONLY_CHUNK",
    "PLANT_ONLY_POLICY",
    "SWEEP_FILES",
    "Dist",
    "Draw",
    "SweepError",
    "SweepResult",
    "Task",
    "check_plant_only_vary",
    "default_dispersion",
    "make_draws",
    "parse_dist",
    "parse_vary",
    "plant_only_dispersion",
    "run_dask",
    "run_local",
    "run_sweep",
    "run_task",
    "worst_runs",
]
