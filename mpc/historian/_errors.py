"""Errors of historian ingestion: every one names the file, and where it can the row and column."""

from __future__ import annotations

from pathlib import Path

from mpc.errors import CalmlineError

__all__ = ["HistorianError", "LogDataError", "MappingError"]


class HistorianError(CalmlineError):
    """A plant log or its column mapping cannot be used (base class; a ``ValueError``)."""


class MappingError(HistorianError):
    """A column-mapping file is missing, not valid TOML or has an invalid key or value."""


class LogDataError(HistorianError):
    """A plant log is unreadable, or a row or column of it is invalid.

    Parameters
    ----------
    path : path-like
        The log file.
    message : str
        What is wrong and what was expected.
    row : int, optional
        1-based data row (the first row after the header is row 1).
    column : str, optional
        The column of the log file.
    line_offset : int or None, optional
        For a text file, file line = row + ``line_offset`` (1 for a CSV with
        one header line); None for a binary file (Parquet).

    Attributes
    ----------
    path, row, column : as given
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        line_offset: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.row = row
        self.column = column
        where = [str(self.path)]
        if row is not None:
            where.append(f"row {row}" + (f" (line {row + line_offset})" if line_offset is not None else ""))
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(": ".join([", ".join(where), message]))
