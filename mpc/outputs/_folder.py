"""An output folder: calmline writes its own files there and never touches anyone else's."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from types import TracebackType

from mpc.errors import OutputExistsError
from mpc.outputs._common import PathLike, atomic_write, check_not_input, command_name, input_paths
from mpc.outputs._manifest import MANIFEST_NAME, Manifest

__all__ = ["OutputFolder"]

_SHOW = 4  # files named in a refusal


def _check_name(name: str) -> str:
    p = PurePosixPath(name)
    if not name or p.is_absolute() or any(part in ("", ".", "..") for part in p.parts) or "\\" in name:
        raise ValueError(f"output file name {name!r}: expected a relative path without '.', '..' or '\\\\'")
    if p.name == MANIFEST_NAME:
        raise ValueError(f"output file name {name!r} is the manifest's")
    return p.as_posix()


def _few(names: Iterable[str]) -> str:
    names = sorted(names)
    more = f", ... ({len(names)} in all)" if len(names) > _SHOW else ""
    return ", ".join(names[:_SHOW]) + more


class _Session:
    """The shared state of one command's writes into one folder."""

    def __init__(self, root: Path, names: Iterable[str], force: bool, inputs: tuple[Path, ...],
                 keep: Iterable[str], command: str, whole: bool) -> None:
        self.root = root
        self.names = {_check_name(n) for n in names}
        self.force = force
        self.whole = whole
        self.inputs = inputs
        self.keep = tuple(_check_name(k) for k in keep)
        self.command = command
        self.manifest = Manifest(root)
        self.written: list[str] = []
        self.open = False

    def kept(self, name: str) -> bool:
        return any(name == k or name.startswith(k + "/") for k in self.keep)

    def removable(self, manifest: Manifest, name: str) -> bool:
        """Whether ``name``, listed and not written again, is removed: calmline's folder output, not kept."""
        return (manifest.scope(name) == "folder" and not self.kept(name)
                and (self.whole or name in self.names))

    def present(self) -> set[str]:
        """Every file below the root (links included), but the root's manifest."""
        out: set[str] = set()
        for here, dirs, files in os.walk(self.root):
            rel = Path(here).relative_to(self.root)
            for d in list(dirs):
                if (Path(here) / d).is_symlink():
                    files.append(d)
                    dirs.remove(d)
            for f in files:
                name = (rel / f).as_posix()
                if name != MANIFEST_NAME:
                    out.add(name)
        return out

    def check(self) -> None:
        """Refuse now, before anything is written, whatever the rules forbid (see :class:`OutputFolder`)."""
        root = self.root
        check_not_input(root, self.inputs)
        if root.exists() and not root.is_dir():
            raise OutputExistsError(f"output folder {root} exists and is a file; choose a folder")
        if not root.exists():
            return
        manifest = Manifest.load(root)
        present = self.present()
        if not present:
            return
        if not self.force:
            theirs = sorted(n for n in present if not manifest.owns(n))
            named = theirs[:_SHOW] + sorted(n for n in present if manifest.owns(n))
            more = f", ... ({len(present)} in all)" if len(present) > _SHOW else ""
            raise OutputExistsError(
                f"output folder {root} already holds {len(present)} file(s) ({', '.join(named[:_SHOW])}{more}); "
                "use --force to "
                f"write there (--force replaces only the files calmline wrote there, listed in its {MANIFEST_NAME}, "
                "and never touches any other file)"
            )
        replace = sorted(n for n in self.names if n in present)
        remove = sorted(n for n in manifest if n in present and n not in self.names and self.removable(manifest, n))
        for n in replace:
            check_not_input(root / n, self.inputs)
        for n in remove:
            check_not_input(root / n, self.inputs, "removes")
        blocked = sorted(
            n for n in self.names
            if (root / n).is_dir() or any((root / parent).is_file() for parent in PurePosixPath(n).parents
                                          if str(parent) != ".")
        )
        if blocked:
            raise OutputExistsError(
                f"output folder {root}: {_few(blocked)} cannot be written: a file or folder that is not calmline's "
                "stands in its way; move it away or choose another output folder"
            )
        foreign = sorted(n for n in replace if not manifest.owns(n))
        if foreign:
            raise OutputExistsError(
                f"output folder {root}: {_few(foreign)} would be replaced but calmline did not write it (not in "
                f"{MANIFEST_NAME}); --force replaces only calmline's own files: move it away or choose another "
                "output folder"
            )
        edited = [n for n in replace + remove if manifest.state(n) == "edited"]
        if edited:
            raise OutputExistsError(
                f"{root / edited[0]} was written by calmline but changed since (its size or sha256 differs from "
                f"{MANIFEST_NAME}); --force would replace or remove it, so nothing was written: move it away or "
                "choose another output folder"
            )

    def begin(self) -> None:
        self.check()
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest.load(self.root)
        self.written = []
        self.open = True

    def write(self, name: str, writer: Callable[[Path], object]) -> Path:
        if not self.open:
            raise RuntimeError(f"{self.root}: write {name!r} inside `with OutputFolder(...)`")
        name = _check_name(name)
        if name not in self.names:
            raise ValueError(f"{name!r} is not among the files planned for {self.root}")
        path = self.root / name
        check_not_input(path, self.inputs)
        if name not in self.written:
            state = self.manifest.state(name)
            if state in ("foreign", "edited"):
                raise OutputExistsError(
                    f"{path} appeared or changed while calmline was running and is not calmline's to replace; "
                    "left untouched"
                )
        atomic_write(path, writer)
        self.manifest.record(name, "folder", self.command)
        self.manifest.save(self.command)
        if name not in self.written:
            self.written.append(name)
        return path

    def finish(self) -> None:
        m = self.manifest
        for n in m:
            if n in self.written or not self.removable(m, n):
                continue
            state = m.state(n)
            if state == "same":
                check_not_input(self.root / n, self.inputs, "removes")
                (self.root / n).unlink()
                self._prune(n)
            if state in ("same", "missing"):
                m.drop(n)
        for n in m:
            if m.state(n) == "missing":
                m.drop(n)
        m.save(self.command)
        self.open = False

    def _prune(self, name: str) -> None:
        for parent in PurePosixPath(name).parents:
            if str(parent) == ".":
                return
            d = self.root / parent
            try:
                d.rmdir()  # only when empty
            except OSError:
                return


class OutputFolder:
    """A folder one command writes into; the rules of :mod:`mpc.outputs` are checked on creation.

    Parameters
    ----------
    root : path-like
        The output folder (created with its parents if missing).
    names : iterable of str
        Every file the command may write there, relative POSIX paths
        (``kpis.json``, ``pid/report.html``); a superset is fine.
    force : bool
        Write into a folder that already holds files (``--force``): replace
        calmline's own files, remove those it wrote before and does not
        write again, touch nothing else.
    inputs : iterable of path-like
        The command's input files: never written or removed.
    keep : iterable of str
        Files or subfolders of an earlier run that stay as they are
        (``compare --reuse``).
    whole : bool
        True (a command's folder output): calmline's files from before that
        this command does not write again are removed. False (a report
        written into a run's folder): only ``names`` are replaced or removed.
    command : str, optional
        Recorded in the manifest (default: the running ``calmline``
        subcommand).

    Raises
    ------
    OutputExistsError
        On creation (and again on entering ``with``), naming the folder or
        file: the folder holds files and ``force`` is False; a file to be
        replaced is not calmline's; a calmline file was edited; an output is
        an input of the command.

    Examples
    --------
    >>> with OutputFolder("runs/x", ["kpis.json"], force=True) as out:  # doctest: +SKIP
    ...     out.write_text("kpis.json", "{}")
    """

    def __init__(self, root: PathLike, names: Iterable[str], *, force: bool = False,
                 inputs: Iterable[PathLike | None] = (), keep: Iterable[str] = (),
                 whole: bool = True, command: str | None = None) -> None:
        self._s = _Session(Path(root), names, force, input_paths(inputs), keep, command_name(command), whole)
        self._prefix = ""
        self._s.check()

    @property
    def root(self) -> Path:
        """This (sub)folder's path."""
        return self._s.root / self._prefix if self._prefix else self._s.root

    @property
    def written(self) -> list[Path]:
        """The files written so far, in order."""
        return [self._s.root / n for n in self._s.written]

    def sub(self, folder: str) -> OutputFolder:
        """A view of the subfolder ``folder`` (names given to it are relative to it)."""
        view = object.__new__(OutputFolder)
        view._s = self._s
        view._prefix = _check_name(f"{self._prefix}{folder}") + "/"
        return view

    def __enter__(self) -> OutputFolder:
        if self._prefix:
            raise RuntimeError("enter `with` on the OutputFolder itself, not on a subfolder view")
        self._s.begin()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self._s.finish()
        else:
            self._s.open = False

    def write_with(self, name: str, writer: Callable[[Path], object]) -> Path:
        """Write ``name`` through ``writer(path)`` (a temporary path, renamed into place); listed in the manifest."""
        return self._s.write(self._prefix + name, writer)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``name`` with ``data``."""
        return self.write_with(name, lambda p: p.write_bytes(data))

    def write_text(self, name: str, text: str) -> Path:
        """Write ``name`` with ``text`` (UTF-8)."""
        return self.write_with(name, lambda p: p.write_text(text, encoding="utf-8"))
