"""``calmline bench``: speed figures measured on this machine, never golden values."""

from __future__ import annotations

import click

from mpc.cli._lazy import LazyGroup

BENCHES = {
    "plant": "mpc.cli._bench_plant:bench_plant",
    "harness": "mpc.cli._bench_harness:bench_harness",
    "nmpc": "mpc.cli._bench_nmpc:bench_nmpc",
    "prediction": "mpc.cli._bench_prediction:bench_prediction",
    "identify": "mpc.cli._bench_identify:bench_identify",
    "edge": "mpc.cli._bench_edge:bench_edge",
    "sweep": "mpc.cli._bench_sweep:bench_sweep",
}


@click.group(cls=LazyGroup, lazy_subcommands=BENCHES)
def bench() -> None:
    """Measure speed figures (each names the machine; ratios are measured within one run)."""
