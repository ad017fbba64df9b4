"""Helpers shared by the CLI subcommands: JSON output and user-error handling."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["echo_json", "stderr", "user_errors"]


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


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake (``ValueError`` and friends) into a one-line error, exit code 2."""
    try:
        yield
    except (ValueError, KeyError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise click.UsageError(str(msg)) from None


