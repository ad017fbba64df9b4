"""The base classes of every error and warning calmline gives a user.

A :class:`CalmlineError` says what the user gave (the file, field, column or
option, the value) and what was expected; the command line prints its message
on one line and exits with code 2, never a traceback. Any other exception is
a defect of calmline and is shown with its traceback.

It derives from :class:`ValueError`, so code that already catches a
``ValueError`` for a bad value keeps working. It lives in :mod:`plants`, the
lowest layer, so that every package can derive its own errors from it;
:mod:`mpc.errors` re-exports it.
"""

from __future__ import annotations

__all__ = ["CalmlineError", "CalmlineWarning"]


class CalmlineError(ValueError):
    """A user's mistake: a bad file, setting, option or value, named in the message."""


class CalmlineWarning(UserWarning):
    """Something about a run the user should know; the run goes on (the CLI prints one line)."""
