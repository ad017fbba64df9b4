"""Plant-side actuator models: limits, rate limit, quantisation, stuck faults.

An :class:`Actuator` turns the controller's command into the value the plant
receives at each harness step (``apply(t_s, command, dt_s)``):

1. **stuck**: while an :class:`ActuatorFault` is active the applied value
   stays where it was when the fault began (the command is ignored); when it
   ends the actuator moves on from there;
2. **clip** the command to ``[lower, upper]``;
3. **rate limit**: move from the current (internal) position towards the
   clipped command by at most ``rate_limit_per_s * dt_s``;
4. **quantise** the applied value to ``quantisation_step`` (and keep it in
   ``[lower, upper]``).

The rate limit acts on an internal, unquantised position, and the applied
value is that position quantised. Rate-limiting the quantised value itself
would freeze an actuator whose step per harness step
(``rate_limit_per_s * dt_s``) is below half a quantisation step; here such an
actuator still creeps, as a drive's ramp generator does behind its output
resolution. The applied value therefore changes by at most
``rate_limit_per_s * dt_s`` plus one quantisation step per call.

:class:`ActuatorBank` applies a list of actuators to a command vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from plants.noise import SpecError, _check_finite, _check_nonneg, _check_real

__all__ = ["Actuator", "ActuatorBank", "ActuatorFault", "ActuatorSpec"]


@dataclass(frozen=True)
class ActuatorFault:
    """A stuck actuator on ``start_s <= t < end_s``.

    Parameters
    ----------
    start_s : float
        Onset, s.
    end_s : float or None
        End, s (> ``start_s``); None: permanent.
    kind : {"stuck"}
        The only kind so far.
    """

    start_s: float
    end_s: float | None = None
    kind: str = "stuck"

    def __post_init__(self) -> None:
        o = "ActuatorFault"
        if self.kind != "stuck":
            raise SpecError(o, "kind", self.kind, "'stuck'")
        _check_finite(o, "start_s", self.start_s)
        if self.end_s is not None:
            end = _check_finite(o, "end_s", self.end_s)
            if not end > self.start_s:
                raise SpecError(
                    o, "end_s", self.end_s, f"None or a time > start_s = {self.start_s!r}"
                )

    def active(self, t_s: float) -> bool:
        """Whether the fault acts at ``t_s``."""
        return self.start_s <= t_s and (self.end_s is None or t_s < self.end_s)


@dataclass(frozen=True)
class ActuatorSpec:
    """Limits and imperfections of one actuator. SI units.

    Parameters
    ----------
    name : str
        Input name (non-empty), e.g. ``"web_speed_m_s"``.
    unit : str
        Unit of command and applied value, e.g. ``"m/s"``.
    lower, upper : float
        Finite limits, ``lower < upper``.
    rate_limit_per_s : float
        Largest change per second (> 0, unit/s); ``inf`` (default): none.
    quantisation_step : float
        Resolution of the applied value (>= 0); 0 (default): none.
    faults : tuple of ActuatorFault
        Stuck windows (a list is accepted and stored as a tuple).
    """

    name: str
    unit: str
    lower: float
    upper: float
    rate_limit_per_s: float = math.inf
    quantisation_step: float = 0.0
    faults: tuple[ActuatorFault, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        o = "ActuatorSpec"
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError(o, "name", self.name, "a non-empty string")
        if not isinstance(self.unit, str):
            raise SpecError(o, "unit", self.unit, "a string (e.g. 'm/s', 'K')")
        lo = _check_finite(o, "lower", self.lower)
        hi = _check_finite(o, "upper", self.upper)
        if not hi > lo:
            raise SpecError(o, "upper", self.upper, f"a finite number > lower = {self.lower!r}")
        rate = _check_real(o, "rate_limit_per_s", self.rate_limit_per_s)
        if math.isnan(rate) or not rate > 0.0:
            raise SpecError(
                o, "rate_limit_per_s", self.rate_limit_per_s, "a number > 0 (inf: no limit)"
            )
        _check_nonneg(o, "quantisation_step", self.quantisation_step)
        faults = self.faults
        if isinstance(faults, ActuatorFault) or not isinstance(faults, list | tuple):
            raise SpecError(o, "faults", faults, "a list or tuple of ActuatorFault")
        for i, fl in enumerate(faults):
            if not isinstance(fl, ActuatorFault):
                raise SpecError(o, f"faults[{i}]", fl, "an ActuatorFault")
        object.__setattr__(self, "faults", tuple(faults))


class Actuator:
    """An actuator simulated from its :class:`ActuatorSpec`.

    Parameters
    ----------
    spec : ActuatorSpec
        Limits and imperfections.
    initial_value : float or None, optional
        Position before the first call (clipped to the limits). None
        (default): the first command is applied without rate limit (the run
        starts at the commanded operating point).
    """

    def __init__(self, spec: ActuatorSpec, initial_value: float | None = None) -> None:
        if not isinstance(spec, ActuatorSpec):
            raise SpecError("Actuator", "spec", spec, "an ActuatorSpec")
        self.spec = spec
        if initial_value is not None:
            initial_value = _check_finite("Actuator", "initial_value", initial_value)
        self._initial = initial_value
        self.reset()

    def reset(self) -> None:
        """Back to the initial position, no history."""
        s = self.spec
        self._pos: float | None = (
            None if self._initial is None else min(max(self._initial, s.lower), s.upper)
        )
        self._applied: float | None = None if self._pos is None else self._quantise(self._pos)
        self._t_last: float | None = None

    @property
    def value(self) -> float | None:
        """The last applied value (None before the first call without an initial value)."""
        return self._applied

    def _quantise(self, x: float) -> float:
        q = self.spec.quantisation_step
        if q > 0.0:
            x = round(x / q) * q
        return min(max(x, self.spec.lower), self.spec.upper)

    def apply(self, t_s: float, command: float, dt_s: float) -> float:
        """The value applied over the step ``[t_s, t_s + dt_s)`` for ``command``.

        Parameters
        ----------
        t_s : float
            Time of the step, s (non-decreasing across calls).
        command : float
            The controller's command, in the actuator's unit (finite).
        dt_s : float
            Harness step, s (> 0); bounds the move of the rate limit.

        Returns
        -------
        float
            The applied value.

        Raises
        ------
        ValueError
            For a non-finite command (a controller failure must be handled
            by the harness's fallback, not hidden here), a non-positive
            ``dt_s`` or a time going backwards.
        """
        s = self.spec
        t, u, dt = float(t_s), float(command), float(dt_s)
        if not math.isfinite(u):
            raise ValueError(
                f"Actuator {s.name!r}: command = {command!r} at t_s = {t!r} is not finite"
            )
        if not (math.isfinite(dt) and dt > 0.0):
            raise ValueError(
                f"Actuator {s.name!r}: dt_s = {dt_s!r} is invalid: expected a finite number > 0"
            )
        if not math.isfinite(t) or (self._t_last is not None and t < self._t_last):
            raise ValueError(f"Actuator {s.name!r}: t_s = {t_s!r} is not finite or went backwards")
        self._t_last = t
        target = min(max(u, s.lower), s.upper)
        if self._pos is None:
            self._pos = target
        elif any(f.active(t) for f in s.faults):
            pass  # stuck: position frozen
        else:
            step = s.rate_limit_per_s * dt
            self._pos = self._pos + min(max(target - self._pos, -step), step)
        self._applied = self._quantise(self._pos)
        return self._applied


class ActuatorBank:
    """A list of actuators driven by one command vector.

    Parameters
    ----------
    actuators : sequence of Actuator or ActuatorSpec
        Specs are wrapped in :class:`Actuator` with no initial value.
    """

    def __init__(self, actuators: Sequence[Actuator | ActuatorSpec]) -> None:
        acts: list[Actuator] = []
        for i, a in enumerate(actuators):
            if isinstance(a, ActuatorSpec):
                a = Actuator(a)
            if not isinstance(a, Actuator):
                raise SpecError("ActuatorBank", f"actuators[{i}]", a, "an Actuator or ActuatorSpec")
            acts.append(a)
        if not acts:
            raise SpecError("ActuatorBank", "actuators", actuators, "at least one actuator")
        names = [a.spec.name for a in acts]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError("ActuatorBank", "actuators", dup, "unique actuator names")
        self.actuators = tuple(acts)

    @property
    def names(self) -> tuple[str, ...]:
        """Actuator names, in order."""
        return tuple(a.spec.name for a in self.actuators)

    @property
    def lower(self) -> NDArray[np.float64]:
        """Lower limits, in order."""
        return np.array([a.spec.lower for a in self.actuators])

    @property
    def upper(self) -> NDArray[np.float64]:
        """Upper limits, in order."""
        return np.array([a.spec.upper for a in self.actuators])

    def reset(self) -> None:
        """Reset every actuator."""
        for a in self.actuators:
            a.reset()

    def apply(self, t_s: float, commands: ArrayLike, dt_s: float) -> NDArray[np.float64]:
        """Applied values for a command vector of length ``len(self.actuators)``."""
        u = np.asarray(commands, dtype=float)
        if u.shape != (len(self.actuators),):
            raise ValueError(
                f"ActuatorBank.apply: commands has shape {u.shape}, expected ({len(self.actuators)},) "
                f"for actuators {list(self.names)}"
            )
        return np.array(
            [a.apply(t_s, float(ui), dt_s) for a, ui in zip(self.actuators, u, strict=True)]
        )
