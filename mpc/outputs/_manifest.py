"""The manifest of an output folder: which files calmline wrote there, with their size and sha256."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from mpc.errors import CalmlineError
from mpc.outputs._common import atomic_write

__all__ = ["MANIFEST_NAME", "Manifest", "file_digest"]

MANIFEST_NAME = ".calmline-manifest.json"
"""File name of the manifest calmline keeps in every folder it writes into."""

_FORMAT = "calmline-manifest/1"

Scope = Literal["folder", "file"]
"""``folder``: part of a command's folder output (replaced or removed as a set by the next ``--force``);
``file``: a single file a command wrote (``--out FILE``), replaced only by name."""

State = Literal["missing", "same", "edited", "foreign"]


def file_digest(path: Path) -> tuple[int, str]:
    """``(size in bytes, sha256 hex digest)`` of a file."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def now_utc() -> str:
    """The current time, ISO 8601 UTC to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class Manifest:
    """The files calmline wrote in one folder (``folder/.calmline-manifest.json``).

    Names are relative POSIX paths below the folder (``kpis.json``,
    ``pid/report.html``); each entry holds ``size``, ``sha256``, ``scope``,
    ``command`` and ``written_utc``.
    """

    def __init__(self, folder: Path, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self.folder = folder
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})

    @property
    def path(self) -> Path:
        """Where the manifest lives."""
        return self.folder / MANIFEST_NAME

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """The folder's manifest; an empty one when the folder has none.

        Raises
        ------
        CalmlineError
            The manifest file exists but is not one calmline wrote (the
            message names it): calmline then cannot tell its files from yours.
        """
        path = folder / MANIFEST_NAME
        if not path.is_file():
            if path.exists():
                raise CalmlineError(f"{path}: expected calmline's manifest file, found a folder; move it away")
            return cls(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CalmlineError(
                f"{path}: not a readable calmline manifest ({exc}); calmline cannot tell its own files in "
                f"{folder} from yours: restore the file or choose another output"
            ) from None
        files = data.get("files") if isinstance(data, dict) else None
        ok = (
            isinstance(data, dict)
            and data.get("format") == _FORMAT
            and isinstance(files, dict)
            and all(isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int)
                    for v in files.values())
        )
        if not ok:
            raise CalmlineError(
                f"{path}: 'format' = {data.get('format') if isinstance(data, dict) else None!r} or its 'files' "
                f"table is malformed, expected a {_FORMAT!r} manifest; calmline cannot tell its own files in "
                f"{folder} from yours: restore the file or choose another output"
            )
        return cls(folder, files)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.entries))

    def owns(self, name: str) -> bool:
        """Whether the manifest lists ``name``."""
        return name in self.entries

    def scope(self, name: str) -> Scope | None:
        """The scope ``name`` was written with, or None when it is not listed."""
        entry = self.entries.get(name)
        return None if entry is None else entry.get("scope", "folder")

    def state(self, name: str) -> State:
        """``missing`` (no such file), ``foreign`` (not listed), ``same`` or ``edited`` (size or sha256 differ)."""
        path = self.folder / name
        if not path.exists():
            return "missing"
        entry = self.entries.get(name)
        if entry is None:
            return "foreign"
        if not path.is_file():
            return "edited"
        if path.stat().st_size != entry["size"]:
            return "edited"
        return "same" if file_digest(path)[1] == entry["sha256"] else "edited"

    def record(self, name: str, scope: Scope, command: str) -> None:
        """List ``name`` as written now (its current size and sha256)."""
        size, sha = file_digest(self.folder / name)
        self.entries[name] = {"size": size, "sha256": sha, "scope": scope, "command": command,
                              "written_utc": now_utc()}

    def drop(self, name: str) -> None:
        """Forget ``name`` (it was removed)."""
        self.entries.pop(name, None)

    def save(self, command: str) -> None:
        """Write the manifest whole (a temporary file renamed over the old one)."""
        data = {
            "format": _FORMAT,
            "note": "files calmline wrote in this folder; `--force` replaces or removes only these, "
                    "and only while their sha256 is unchanged",
            "command": command,
            "written_utc": now_utc(),
            "files": {k: self.entries[k] for k in sorted(self.entries)},
        }
        text = json.dumps(data, indent=1) + "\n"
        atomic_write(self.path, lambda p: p.write_text(text, encoding="utf-8"))
