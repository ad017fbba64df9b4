"""Single output files (``--out FILE``): written new, or replaced only when calmline wrote them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from mpc.errors import OutputExistsError
from mpc.outputs._common import PathLike, atomic_write, check_not_input, command_name, input_paths
from mpc.outputs._manifest import MANIFEST_NAME, Manifest

__all__ = ["OutputFile", "write_declared_file"]


class OutputFile:
    """One file a command writes; the rules of :mod:`mpc.outputs` are checked on creation and on writing.

    A new file is recorded in the manifest of its folder
    (``.calmline-manifest.json`` beside it). An existing file is replaced
    only with ``force`` and only when that manifest lists it with its
    current size and sha256.

    Parameters
    ----------
    path : path-like
        The file (its folder is created if missing).
    force : bool
        Replace the file when calmline wrote it (``--force``).
    inputs : iterable of path-like
        The command's input files: never written.
    command : str, optional
        Recorded in the manifest (default: the running ``calmline`` subcommand).

    Raises
    ------
    OutputExistsError
        Naming the file: it exists and ``force`` is False; calmline did not
        write it, or it was edited since; it is a folder or an input of the
        command.
    """

    def __init__(self, path: PathLike, *, force: bool = False, inputs: Iterable[PathLike | None] = (),
                 command: str | None = None) -> None:
        self.path = Path(path)
        self.force = force
        self.inputs = input_paths(inputs)
        self.command = command_name(command)
        self.check()

    def check(self) -> None:
        """Refuse whatever the rules forbid (see the class docstring); writes nothing."""
        p = self.path
        if p.name == MANIFEST_NAME:
            raise OutputExistsError(f"{p}: that name is calmline's manifest of the folder; choose another file name")
        check_not_input(p, self.inputs)
        if p.is_dir():
            raise OutputExistsError(f"{p} is a folder; expected a file name")
        if not p.exists():
            return
        if not self.force:
            raise OutputExistsError(
                f"{p} exists; use --force to replace it (--force replaces a file only if calmline wrote it, as "
                f"listed in {p.parent / MANIFEST_NAME})"
            )
        state = Manifest.load(p.parent).state(p.name)
        if state == "foreign":
            raise OutputExistsError(
                f"{p} exists and calmline did not write it (not in {p.parent / MANIFEST_NAME}); calmline never "
                "replaces your files: move it away or choose another file"
            )
        if state == "edited":
            raise OutputExistsError(
                f"{p} was written by calmline but changed since (its size or sha256 differs from "
                f"{p.parent / MANIFEST_NAME}); not replaced: move it away or choose another file"
            )

    def write_with(self, writer: Callable[[Path], object]) -> Path:
        """Write the file through ``writer(path)`` (a temporary path renamed into place); record it."""
        self.check()
        atomic_write(self.path, writer)
        manifest = Manifest.load(self.path.parent)
        manifest.record(self.path.name, "file", self.command)
        manifest.save(self.command)
        return self.path

    def write_text(self, text: str) -> Path:
        """Write ``text`` (UTF-8)."""
        return self.write_with(lambda p: p.write_text(text, encoding="utf-8"))

    def write_bytes(self, data: bytes) -> Path:
        """Write ``data``."""
        return self.write_with(lambda p: p.write_bytes(data))


def write_declared_file(path: PathLike, text: str, *, inputs: Iterable[PathLike | None] = ()) -> Path:
    """Write a file that a calmline file declares as calmline's own (a regression suite's golden file).

    No manifest: the declaring file (the suite's ``golden_dir`` and case
    names) is the record of what is calmline's. The file is written whole
    (a temporary file renamed over it).

    Raises
    ------
    OutputExistsError
        ``path`` is a folder or one of ``inputs``.
    """
    p = Path(path)
    check_not_input(p, input_paths(inputs))
    if p.is_dir():
        raise OutputExistsError(f"{p} is a folder; expected a file name")
    atomic_write(p, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return p
