"""Root group of the ``calmline`` command; subcommands live in sibling modules."""

from __future__ import annotations

import click

from mpc.cli._lazy import LazyGroup

SUBCOMMANDS = {
    "plant": "mpc.cli._plant:plant",
    "bench": "mpc.cli._bench:bench",
    "run": "mpc.cli._run:run",
    "compare": "mpc.cli._run:compare",
    "identify": "mpc.cli._identify:identify",
    "replay": "mpc.cli._replay:replay",
    "regress": "mpc.cli._regress:regress",
    "steptest": "mpc.cli._steptest:steptest",
    "calibrate": "mpc.cli._calibrate:calibrate",
    "lmpc": "mpc.cli._lmpc:lmpc",
}


@click.group(
    cls=LazyGroup,
    lazy_subcommands=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="calmline")
def main() -> None:
    """calmline: model-predictive control for electrode coating lines.

    Simulate the slot-die coater and multi-zone dryer, validate the physics,
    identify models from logs and benchmark the pieces. Every subcommand has
    its own --help.
    """
