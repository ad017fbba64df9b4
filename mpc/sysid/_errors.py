"""The one exception type of :mod:`mpc.sysid`."""

from __future__ import annotations

from mpc.errors import CalmlineError

__all__ = ["IdentificationError"]


class IdentificationError(CalmlineError):
    """A user-facing identification problem (bad data, bad option, bad slice).

    The message names the file, column, row and value involved and says what
    was expected, so that the command line can print it as a one-line
    ``Error: ...`` without a traceback. It subclasses :class:`ValueError` so
    that generic ``except ValueError`` handlers keep working.
    """
