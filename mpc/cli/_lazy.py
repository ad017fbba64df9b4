"""A click group that imports each subcommand's module only when it is used.

Keeps ``calmline --help`` fast (no CasADi/JAX import) and each subcommand's
dependencies to itself.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """``click.Group`` whose subcommands are given as ``{"name": "module:attribute"}``."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The lazy subcommands in the order given, then any others."""
        return [*self.lazy_subcommands, *sorted(set(super().list_commands(ctx)) - set(self.lazy_subcommands))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attr = self.lazy_subcommands[cmd_name].split(":")
            with warnings.catch_warnings():  # third-party import-time chatter is not for the user
                warnings.simplefilter("ignore")
                cmd = getattr(importlib.import_module(module_name), attr)
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{module_name}:{attr} is not a click command")
            return cmd
        return super().get_command(ctx, cmd_name)
