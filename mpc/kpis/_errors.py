"""The exception types of :mod:`mpc.kpis`."""

from __future__ import annotations

__all__ = ["KpiInputError", "KpiSpecError"]


class KpiInputError(ValueError):
    """The run's time series cannot be assessed (missing column, NaN, bad time index).

    The message names the column (and, for bad values, the first row time
    involved) and says what was expected. It subclasses :class:`ValueError`
    so that generic ``except ValueError`` handlers keep working.
    """


class KpiSpecError(ValueError):
    """A :class:`~mpc.kpis.KpiSpec` field is missing, of the wrong type, or out of range."""
