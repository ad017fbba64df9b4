"""Time profiles for disturbances and announced schedules.

Every profile is a :class:`Signal`: calling it at ``t_s`` (s) gives a float,
and calling it on an array of times gives an array of the same shape.
Profiles are pure functions of time (the seeded :class:`RandomWalk` draws its
whole path at construction), so the value at a time never depends on the
order in which times are asked for.

- :class:`Constant`, :class:`Step`: the elementary shapes;
- :class:`Profile`: a table of (time, value), held or linearly interpolated;
- :class:`RandomWalk`: seeded Brownian drift with an optional trend and bounds;
- :class:`Sum`: the sum of profiles (also ``a + b``);
- :class:`Event`, :class:`EventList`: line stops / web breaks and the flag
  they raise.

A scenario's disturbance source (:class:`mpc.scenario.PlantDisturbances`)
and a replayed log's (:mod:`mpc.historian`) are built from these profiles;
both meet the harness through :class:`mpc.interfaces.DisturbanceSource`.
Nothing here shows an unannounced value to a controller: that is the
harness's job.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from plants.noise import Seed, SpecError, _check_finite, _check_positive, as_seed_sequence

__all__ = [
    "EVENT_KINDS",
    "Constant",
    "Event",
    "EventList",
    "Profile",
    "RandomWalk",
    "Signal",
    "Step",
    "Sum",
]

EVENT_KINDS = frozenset({"line_stop", "web_break"})
"""Kinds of :class:`Event`: a planned or unplanned line stop, and a web break."""


class Signal:
    """A scalar function of time, vectorised over arrays of times.

    Subclasses implement ``_eval(t)`` on a 1-D float array. Calling the signal
    on a scalar returns a float; on an array, an array of the same shape.
    """

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, t_s: ArrayLike) -> Any:
        t = np.asarray(t_s, dtype=float)
        y = np.asarray(self._eval(np.atleast_1d(t).ravel()), dtype=float).reshape(t.shape)
        return float(y) if t.ndim == 0 else y

    def __add__(self, other: Signal | float) -> Sum:
        return Sum(self, _as_signal(other, "Sum", "other"))

    def __radd__(self, other: Signal | float) -> Sum:
        return Sum(_as_signal(other, "Sum", "other"), self)


def _as_signal(x: Signal | float, owner: str, field: str) -> Signal:
    if isinstance(x, Signal):
        return x
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise SpecError(owner, field, x, "a Signal or a finite number")
    return Constant(x)


class Constant(Signal):
    """A constant value."""

    def __init__(self, value: float) -> None:
        self.value = _check_finite("Constant", "value", value)

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(t.shape, self.value)


class Step(Signal):
    """``initial`` before ``t_s``, ``value`` from ``t_s`` on (the step is right-continuous).

    Parameters
    ----------
    t_s : float
        Time of the step, s.
    value : float
        Value from ``t_s`` on.
    initial : float, optional
        Value before ``t_s`` (default 0, so that steps add up in a :class:`Sum`).
    """

    def __init__(self, t_s: float, value: float, initial: float = 0.0) -> None:
        self.t_s = _check_finite("Step", "t_s", t_s)
        self.value = _check_finite("Step", "value", value)
        self.initial = _check_finite("Step", "initial", initial)

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(t >= self.t_s, self.value, self.initial)


class Profile(Signal):
    """A piecewise profile from a table of times and values.

    Before the first time the first value holds, after the last time the last
    value holds.

    Parameters
    ----------
    times_s : sequence of float
        Strictly increasing, finite times, s (at least one).
    values : sequence of float
        Finite values, one per time.
    interpolation : {"linear", "hold"}, optional
        ``"linear"`` (default) interpolates between points; ``"hold"`` keeps
        each value until the next time (zero-order hold, as a schedule).
    """

    def __init__(
        self,
        times_s: Sequence[float] | ArrayLike,
        values: Sequence[float] | ArrayLike,
        interpolation: str = "linear",
    ) -> None:
        t = np.asarray(times_s, dtype=float)
        v = np.asarray(values, dtype=float)
        if t.ndim != 1 or t.size < 1:
            raise SpecError("Profile", "times_s", times_s, "a 1-D sequence of at least one time")
        if not np.all(np.isfinite(t)):
            raise SpecError("Profile", "times_s", times_s, "finite times")
        if t.size > 1 and not np.all(np.diff(t) > 0):
            raise SpecError("Profile", "times_s", times_s, "strictly increasing times")
        if v.shape != t.shape:
            raise SpecError(
                "Profile", "values", values, f"one value per time ({t.size} values, 1-D)"
            )
        if not np.all(np.isfinite(v)):
            raise SpecError("Profile", "values", values, "finite values")
        if interpolation not in ("linear", "hold"):
            raise SpecError("Profile", "interpolation", interpolation, "'linear' or 'hold'")
        self.times_s, self.values, self.interpolation = t, v, interpolation

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.interpolation == "linear":
            return np.interp(t, self.times_s, self.values)
        i = np.searchsorted(self.times_s, t, side="right") - 1
        return self.values[np.clip(i, 0, self.values.size - 1)]


class RandomWalk(Signal):
    """Seeded random walk (Brownian drift) with an optional trend and bounds.

    The path is drawn once at construction on a grid of ``grid_step_s`` from
    ``t0_s`` to ``t_end_s``: ``x[k+1] = clip(x[k] + drift_per_s*dt +
    std_per_sqrt_s*sqrt(dt)*xi_k, lower, upper)``; between grid points it is
    linearly interpolated, before ``t0_s`` it is ``initial`` and after
    ``t_end_s`` it holds its last value. The same seed gives the same path.

    Parameters
    ----------
    std_per_sqrt_s : float
        Diffusion: standard deviation of the change over one second, in the
        unit of the signal (>= 0); after time ``T`` the spread is
        ``std_per_sqrt_s * sqrt(T)``.
    seed : int, SeedSequence or Generator
        Seed (see :func:`plants.noise.as_seed_sequence`).
    t_end_s : float
        End of the drawn path, s (> ``t0_s``).
    grid_step_s : float, optional
        Grid step, s (default 1).
    t0_s : float, optional
        Start of the path, s (default 0).
    initial : float, optional
        Value at ``t0_s`` (default 0).
    drift_per_s : float, optional
        Deterministic trend per second (default 0), e.g. slow solids rise
        from solvent evaporation in the tank.
    lower, upper : float, optional
        Bounds the path is clipped to at each grid step (default unbounded).
    """

    def __init__(
        self,
        std_per_sqrt_s: float,
        seed: Seed,
        *,
        t_end_s: float,
        grid_step_s: float = 1.0,
        t0_s: float = 0.0,
        initial: float = 0.0,
        drift_per_s: float = 0.0,
        lower: float = -math.inf,
        upper: float = math.inf,
    ) -> None:
        o = "RandomWalk"
        std = _check_finite(o, "std_per_sqrt_s", std_per_sqrt_s)
        if std < 0:
            raise SpecError(o, "std_per_sqrt_s", std_per_sqrt_s, "a finite number >= 0")
        self.t0_s = _check_finite(o, "t0_s", t0_s)
        t_end = _check_finite(o, "t_end_s", t_end_s)
        if not t_end > self.t0_s:
            raise SpecError(o, "t_end_s", t_end_s, f"a time > t0_s = {self.t0_s!r}")
        dt = _check_positive(o, "grid_step_s", grid_step_s)
        self.initial = _check_finite(o, "initial", initial)
        self.drift_per_s = _check_finite(o, "drift_per_s", drift_per_s)
        lo, hi = float(lower), float(upper)
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            raise SpecError(o, "upper", upper, f"a bound > lower = {lower!r}")
        if not lo <= self.initial <= hi:
            raise SpecError(o, "initial", initial, f"a value within [{lo!r}, {hi!r}]")
        n = math.ceil((t_end - self.t0_s) / dt - 1e-9)
        self.times_s = self.t0_s + dt * np.arange(n + 1)
        rng = np.random.default_rng(as_seed_sequence(seed))
        inc = self.drift_per_s * dt + std * math.sqrt(dt) * rng.standard_normal(n)
        if math.isinf(lo) and math.isinf(hi):
            path = self.initial + np.concatenate(([0.0], np.cumsum(inc)))
        else:
            path = np.empty(n + 1)
            x = path[0] = self.initial
            for k in range(n):
                x = min(max(x + inc[k], lo), hi)
                path[k + 1] = x
        self.values = path
        self.std_per_sqrt_s, self.lower, self.upper = std, lo, hi

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(t, self.times_s, self.values)


class Sum(Signal):
    """Sum of signals (numbers are taken as constants)."""

    def __init__(self, *terms: Signal | float) -> None:
        if not terms:
            raise SpecError("Sum", "terms", terms, "at least one Signal or number")
        self.terms = tuple(_as_signal(s, "Sum", f"terms[{i}]") for i, s in enumerate(terms))

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros(t.shape)
        for s in self.terms:
            out = out + s._eval(t)
        return out


@dataclass(frozen=True)
class Event:
    """A line stop or web break: the line stops at ``start_s`` and restarts at ``end_s``.

    Parameters
    ----------
    start_s : float
        Time the line stops, s.
    end_s : float or None
        Time the line restarts, s (> ``start_s``); None: not within the run.
    kind : {"line_stop", "web_break"}
        What happened; both stop the web.
    """

    start_s: float
    end_s: float | None = None
    kind: str = "line_stop"

    def __post_init__(self) -> None:
        _check_finite("Event", "start_s", self.start_s)
        if self.end_s is not None:
            end = _check_finite("Event", "end_s", self.end_s)
            if not end > self.start_s:
                raise SpecError(
                    "Event", "end_s", self.end_s, f"None or a time > start_s = {self.start_s!r}"
                )
        if self.kind not in EVENT_KINDS:
            raise SpecError("Event", "kind", self.kind, f"one of {sorted(EVENT_KINDS)}")

    def active(self, t_s: ArrayLike) -> NDArray[np.bool_]:
        """True where ``start_s <= t < end_s``."""
        t = np.asarray(t_s, dtype=float)
        end = math.inf if self.end_s is None else self.end_s
        return (t >= self.start_s) & (t < end)


class EventList(Signal):
    """A list of line stops / web breaks; as a signal, the flag 1.0 while the line is stopped.

    Events must not overlap (a restart comes before the next stop).

    Parameters
    ----------
    events : iterable of Event
        The events, in any order (they are sorted by ``start_s``).
    """

    def __init__(self, events: Iterable[Event] = ()) -> None:
        evs = tuple(events)
        for i, e in enumerate(evs):
            if not isinstance(e, Event):
                raise SpecError("EventList", f"events[{i}]", e, "an Event")
        evs = tuple(sorted(evs, key=lambda e: e.start_s))
        for a, b in itertools.pairwise(evs):
            if a.end_s is None or a.end_s > b.start_s:
                raise SpecError(
                    "EventList",
                    "events",
                    b,
                    f"events that do not overlap (previous event {a} is still active at "
                    f"start_s = {b.start_s!r})",
                )
        self.events = evs

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros(t.shape, dtype=bool)
        for e in self.events:
            out |= e.active(t)
        return out.astype(float)

    def stopped(self, t_s: float) -> bool:
        """Whether the line is stopped at ``t_s``."""
        return bool(self(t_s) > 0.5)

    @property
    def restart_times_s(self) -> tuple[float, ...]:
        """Times the line restarts (for settling windows in the KPIs)."""
        return tuple(e.end_s for e in self.events if e.end_s is not None)
