"""``calmline scenarios``: list the shipped scenarios, and copy them to a folder to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from mpc.cli._common import echo_json, stderr, user_errors
from mpc.errors import OutputExistsError

__all__ = ["scenarios"]

_COPIED = ("*.toml", "models/*.json", "calibrated/*.toml", "data/logs/*", "data/mappings/*.toml",
           "regression/*.toml", "regression/golden/*.json")
"""What ``copy`` copies (relative to the shipped folder): every file a shipped scenario names."""


@click.group()
def scenarios() -> None:
    """The shipped scenarios: run one by name (calmline run nmc_nmp_nominal ...) or copy them to edit."""


@scenarios.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_cmd(as_json: bool) -> None:
    """Name, preset, length and description of every shipped scenario."""
    from mpc.scenario import load_scenario
    from scenarios import SHIPPED_DIR, shipped_scenarios

    with user_errors():
        rows = []
        for path in shipped_scenarios():
            sc = load_scenario(path)
            rows.append({"name": path.stem, "preset": sc.preset, "duration_h": sc.duration_s / 3600.0,
                         "description": sc.description, "file": str(path)})
    if as_json:
        echo_json({"folder": str(SHIPPED_DIR), "scenarios": rows})
        return
    click.echo(f"shipped scenarios in {SHIPPED_DIR} (run one by name, e.g. calmline run {rows[0]['name']} ...):")
    for r in rows:
        click.echo(f"  {r['name']:34s} {r['preset']:15s} {r['duration_h']:5.1f} h  {r['description'][:60]}")


@scenarios.command("copy")
@click.argument("folder", type=click.Path(file_okay=False))
def copy_cmd(folder: str) -> None:
    """Copy the shipped scenarios with the files they name (models, logs, mappings, suite) into FOLDER.

    The folder may exist; no file in it is ever replaced (a name that exists there is an error).
    """
    from scenarios import SHIPPED_DIR

    dest = Path(folder)
    with user_errors():
        files = sorted({f for pattern in _COPIED for f in SHIPPED_DIR.glob(pattern) if f.is_file()})
        clash = [str(dest / f.relative_to(SHIPPED_DIR)) for f in files if (dest / f.relative_to(SHIPPED_DIR)).exists()]
        if clash:
            raise OutputExistsError(
                f"{folder}: {len(clash)} file(s) exist already ({', '.join(clash[:3])}"
                f"{', ...' if len(clash) > 3 else ''}); calmline never replaces them: choose an empty folder"
            )
        for f in files:
            target = dest / f.relative_to(SHIPPED_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
    stderr(f"copied {len(files)} files to {folder}")
