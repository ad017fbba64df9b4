"""Root group of the ``calmline`` command; subcommands live in sibling modules."""

from __future__ import annotations

import warnings

import click

from mpc.cli._lazy import LazyGroup
from mpc.errors import CalmlineWarning

SUBCOMMANDS = {
    "run": "mpc.cli._run:run",
    "compare": "mpc.cli._run:compare",
    "sweep": "mpc.cli._sweep:sweep",
    "replay": "mpc.cli._replay:replay",
    "regress": "mpc.cli._regress:regress",
    "scenarios": "mpc.cli._scenarios:scenarios",
    "plant": "mpc.cli._plant:plant",
    "steptest": "mpc.cli._steptest:steptest",
    "identify": "mpc.cli._identify:identify",
    "lmpc": "mpc.cli._lmpc:lmpc",
    "calibrate": "mpc.cli._calibrate:calibrate",
    "bench": "mpc.cli._bench:bench",
    "export": "mpc.cli._export:export",
    "edge": "mpc.cli._export:edge",
    "line": "mpc.cli._line:line",
}
"""Subcommands in the order ``calmline --help`` lists them: the main job first."""


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    click.echo(f"warning: {message}", err=True)


def quiet_warnings() -> None:
    """Show calmline's own warnings as one ``warning: ...`` line each; silence third-party ones.

    do-mpc warns at import about optional features it was installed without,
    and CasADi/NumPy may warn about numerics that calmline checks itself; none
    of it is for the user of the command line.
    """
    warnings.showwarning = _show_warning
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("always", category=CalmlineWarning)


@click.group(
    cls=LazyGroup,
    lazy_subcommands=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Exit codes:
  0  done
  1  calmline failed (a defect; the traceback is shown) or `regress` found a regression
  2  a user's mistake (option, file, setting or value): one message, no traceback
  3  `run`/`replay` (and `compare --strict`): plant truth spent time above the LEL limit
     in force or made no good web; the outputs are written""",
)
@click.version_option(package_name="calmline")
def main() -> None:
    """calmline: model-predictive control for electrode coating lines.

    \b
    Start here:
      calmline run SCENARIO --controller nmpc --out DIR
      calmline compare SCENARIO --controllers recipe,pid,nmpc --out DIR
      calmline scenarios list

    Every subcommand has its own --help.
    """
    quiet_warnings()
