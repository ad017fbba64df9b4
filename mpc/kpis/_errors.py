"""The exception types of :mod:`mpc.kpis`."""

from __future__ import annotations

from mpc.errors import CalmlineError

__all__ = ["KpiInputError", "KpiSpecError"]


class KpiInputError(CalmlineError):
    """The run's time series cannot be assessed (missing column, NaN, bad time index).

    The message names the column (and, for bad values, the first row time
    involved) and says what was expected. It subclasses :class:`ValueError`
    so that generic ``except ValueError`` handlers keep working.
    """


class KpiSpecError(CalmlineError):
    """A :class:`~mpc.kpis.KpiSpec` field is missing, of the wrong type, or out of range."""
