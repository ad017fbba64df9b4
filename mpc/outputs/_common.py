"""What every output writer shares: the input files it must not touch, the command, atomic writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from mpc.errors import OutputExistsError

__all__ = ["atomic_write", "check_not_input", "command_name", "input_paths", "same_path"]

PathLike = str | os.PathLike[str]


def same_path(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links and relative paths resolved)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def input_paths(inputs: Iterable[PathLike | None]) -> tuple[Path, ...]:
    """The command's input files as paths (None entries dropped)."""
    return tuple(Path(p) for p in inputs if p is not None and str(p) != "")


def check_not_input(path: Path, inputs: Iterable[Path], action: str = "overwrites") -> None:
    """Refuse to write or remove ``path`` when it is one of the command's input files.

    Raises
    ------
    OutputExistsError
        Naming the path and the input it is.
    """
    for inp in inputs:
        if same_path(path, inp):
            raise OutputExistsError(
                f"{path} is an input of this command ({inp}); calmline never {action} its inputs: "
                "choose another output path"
            )


def command_name(command: str | None = None) -> str:
    """``command`` if given, else the running ``calmline`` subcommand (``calmline run``), else ``calmline Python API``."""
    if command:
        return command
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return "calmline Python API"
    return " ".join(["calmline", *ctx.command_path.split(" ")[1:]])


def atomic_write(path: Path, writer: Callable[[Path], object]) -> None:
    """Let ``writer`` write a temporary file beside ``path``, then rename it over ``path``.

    A failed writer leaves ``path`` as it was and removes its temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.calmline-tmp{path.suffix}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
