"""Errors calmline raises for a user's mistake, in one place.

Every one derives from :class:`CalmlineError`; the command line turns it into
a one-line message and exit code 2 (``calmline --help`` lists the codes).
"""

from __future__ import annotations

from plants.errors import CalmlineError, CalmlineWarning

__all__ = ["CalmlineError", "CalmlineWarning", "OutputExistsError"]


class OutputExistsError(CalmlineError, FileExistsError):
    """An output exists and ``--force`` was not given, or it is not calmline's to replace."""
