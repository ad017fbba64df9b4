"""The error every user mistake in calibration raises."""

from __future__ import annotations

from mpc.errors import CalmlineError

__all__ = ["CalibrationError"]


class CalibrationError(CalmlineError):
    """A calibration input is wrong: file, column, window, parameter name or option.

    The message names the file, column or option, the value and what was
    expected (a ``ValueError``, so the CLI prints it as one line).
    """
