"""A discrete PI controller with output limits and anti-windup.

Velocity-free positional form ``u = bias + Kc (e + I)`` with
``I += e dt / tau_I``; the integral is clamped by back-calculation when the
output saturates (Astrom & Hagglund 2006, section 3.5), so a loop that sat
on a limit recovers without overshoot.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PI"]


@dataclass
class PI:
    """PI loop ``u = bias + kc * (e + integral)``, ``e = setpoint - measurement`` (times ``sign``).

    Parameters
    ----------
    kc : float
        Proportional gain (units of u per unit of e).
    tau_i_s : float
        Integral time, s.
    lower, upper : float
        Output limits.
    bias : float
        Output at zero error and zero integral (the feedforward / recipe value).
    """

    kc: float
    tau_i_s: float
    lower: float
    upper: float
    bias: float = 0.0
    integral: float = 0.0

    def update(self, error: float, dt_s: float, bias: float | None = None) -> float:
        """Advance the loop by ``dt_s`` with the current error; return the limited output."""
        if bias is not None:
            self.bias = bias
        self.integral += error * dt_s / self.tau_i_s
        raw = self.bias + self.kc * (error + self.integral)
        out = min(max(raw, self.lower), self.upper)
        if out != raw and self.kc != 0.0:
            # back-calculate the integral so that the output sits on the limit
            self.integral = (out - self.bias) / self.kc - error
        return out

    def hold(self, error: float, bias: float | None = None) -> float:
        """Output without integrating (no new measurement this step)."""
        if bias is not None:
            self.bias = bias
        raw = self.bias + self.kc * (error + self.integral)
        return min(max(raw, self.lower), self.upper)
