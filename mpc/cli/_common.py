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

__all__ = ["EXIT_SAFETY", "EXIT_USER", "UserError", "echo_json", "stderr", "user_errors"]

EXIT_USER = 2
"""Exit code of a user's mistake."""
EXIT_SAFETY = 3
"""Exit code of a run whose plant truth broke the LEL limit in force or made no good web."""


def _clean(obj: Any) -> Any:
    """Make an object JSON-safe: numpy scalars to Python, non-finite floats to null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def echo_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    click.echo(json.dumps(_clean(obj), indent=2))


def stderr(msg: str) -> None:
    """Progress and notes go to stderr so ``--json`` stdout stays clean."""
    click.echo(msg, err=True)


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


