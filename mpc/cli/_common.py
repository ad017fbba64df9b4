"""Helpers shared by the CLI subcommands: JSON output, user-error handling, exit codes.

Exit codes of every subcommand (``calmline --help`` lists them):

* 0: done;
* 1: calmline failed (a defect: the traceback is shown), or a regression was found;
* 2: a user's mistake (a bad option, file, setting or value): one message, no traceback;
* 3: the run finished, but plant truth spent time above the LEL limit in force or made no
  good web (``run``, ``replay``, and ``compare --strict``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from mpc.errors import CalmlineError

__all__ = [
    "EXIT_CODES_COMPARE",
    "EXIT_CODES_RUN",
    "EXIT_SAFETY",
    "EXIT_USER",
    "FORCE_FILE_HELP",
    "FORCE_FOLDER_HELP",
    "UserError",
    "controller_choice",
    "echo_json",
    "exit_on_violations",
    "solver_label",
    "stderr",
    "user_errors",
]

EXIT_USER = 2
"""Exit code of a user's mistake."""
EXIT_SAFETY = 3
"""Exit code of a run whose plant truth broke the LEL limit in force or made no good web."""

FORCE_FOLDER_HELP = (
    "Write into an output folder that holds files: replace only the files calmline wrote there (listed in its "
    ".calmline-manifest.json, unedited) and remove those it does not write again; any other file is never "
    "touched (docs/outputs.md)."
)
"""``--force`` of a command that writes an output folder."""

FORCE_FILE_HELP = (
    "Replace an existing output file, only if calmline wrote it (listed, unedited, in the "
    ".calmline-manifest.json beside it; docs/outputs.md)."
)
"""``--force`` of a command that writes one output file."""

EXIT_CODES_RUN = """\b
Exit codes:
  0  done
  1  calmline failed (a defect; the traceback is shown)
  2  a user's mistake (option, file, setting, value, output folder); nothing is written
  3  plant truth spent time above the LEL limit in force or made no good web: the
     outputs are written and one stderr line per run says which"""
"""Epilog of ``run`` and ``replay``."""

EXIT_CODES_COMPARE = """\b
Exit codes:
  0  every controller ran (one that broke the LEL limit in force or made no good web is
     marked in comparison.csv, in the report and by one stderr line)
  1  calmline failed (a defect; the traceback is shown)
  2  a user's mistake (option, file, setting, value, output folder); nothing is written
  3  with --strict: a controller broke the LEL limit in force or made no good web"""
"""Epilog of ``compare``."""


def _clean(obj: Any) -> Any:
    """Make an object JSON-safe: numpy scalars to Python, non-finite floats to null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if type(obj).__name__ == "NAType":  # pandas' missing value of a nullable column
        return None
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def echo_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    click.echo(json.dumps(_clean(obj), indent=2))


def stderr(msg: str) -> None:
    """Progress and notes go to stderr so ``--json`` stdout stays clean."""
    click.echo(msg, err=True)


def exit_on_violations(violations: dict[str, list[str]], *, exit_code: bool = True) -> None:
    """One stderr line per run that broke a limit; exit with :data:`EXIT_SAFETY` if any and ``exit_code``.

    ``violations`` maps a run's name (empty for the only run) to
    :func:`mpc.report.run_violations` of it; the line is ``name: what; what``.
    """
    found = False
    for who, lines in violations.items():
        if lines:
            stderr(f"{who}: {'; '.join(lines)}" if who else "; ".join(lines))
            found = True
    if found and exit_code:
        click.get_current_context().exit(EXIT_SAFETY)


class UserError(click.ClickException):
    """``Error: ...`` on stderr and exit code 2: a user's mistake, not a crash (no usage banner)."""

    exit_code = EXIT_USER


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake into ``Error: message`` and exit code 2.

    A :class:`~mpc.errors.CalmlineError` is a user's mistake by construction;
    an :class:`OSError` here is a file the user named that cannot be read or
    written. Anything else is a defect of calmline and keeps its traceback.
    """
    try:
        yield
    except CalmlineError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        raise UserError(f"{where}{exc.strerror or exc}") from None


class _ControllerName(click.Choice):
    """A controller name (``controllers.controller_names()``) or ``edge:DIR`` (an exported artifact's edge core)."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        from controllers.registry import EDGE_PREFIX

        if isinstance(value, str) and value.startswith(EDGE_PREFIX):
            if not value[len(EDGE_PREFIX):]:
                self.fail("edge:DIR needs the artifact's folder after 'edge:'", param, ctx)
            return value
        return super().convert(value, param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join([*self.choices, "edge:DIR"]) + "]"


def controller_choice() -> click.Choice:
    """The controller names ``--controller`` accepts (``controllers.controller_names()``, or ``edge:DIR``), for
    click."""
    from controllers.registry import controller_names

    return _ControllerName(controller_names())


def solver_label(solver: dict[str, object]) -> str:
    """The solver build an artifact carries, in words (its manifest's ``ocp.solver``)."""
    if solver.get("source", "casadi") == "casadi":
        return "the CasADi wheel's (BLASFEO GENERIC)"
    return f"{solver['source']} (BLASFEO {solver.get('blasfeo_target', '?')})"
