"""The ``calmline`` command line.

Every subcommand is a thin layer over the public Python API of the packages
(``docs/api.md``); with ``--json`` a subcommand prints exactly one JSON object
on stdout and sends progress and solver chatter to stderr.
"""

from __future__ import annotations

from mpc.cli._main import main

__all__ = ["main"]
