"""Time profiles for disturbances and announced schedules.

Every profile is a :class:`Signal`: calling it at ``t_s`` (s) gives a float,
and calling it on an array of times gives an array of the same shape.
Profiles are pure functions of time (the seeded :class:`RandomWalk` draws its
whole path at construction), so the value at a time never depends on the
order in which times are asked for.

- :class:`Constant`, :class:`Step`, :class:`Ramp`: the elementary shapes;
- :class:`Profile`: a table of (time, value), held or linearly interpolated;
- :class:`RandomWalk`: seeded Brownian drift with an optional trend and bounds;
- :class:`Sum`: the sum of profiles (also ``a + b``);
- :class:`Event`, :class:`EventList`: line stops / web breaks and the flag
  they raise;
- :class:`DisturbanceSet`: named channels (with units in the names) that the
  simulated plant reads at each step.

Whether a channel is *announced* (a controller may read it ahead, e.g. a
planned stop) or not (weather, drift, faults) is recorded on the
:class:`DisturbanceSet`; nothing here shows an unannounced value to a
controller, that is the harness's job.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from plants.errors import CalmlineError
from plants.noise import Seed, SpecError, _check_finite, _check_positive, as_seed_sequence

__all__ = [
    "EVENT_KINDS",
    "Constant",
    "DisturbanceSet",
    "DisturbanceValueError",
    "Event",
    "EventList",
    "Profile",
    "Ramp",
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


class Ramp(Signal):
    """``v0`` until ``t0_s``, linear to ``v1`` at ``t1_s``, ``v1`` after.

    Parameters
    ----------
    t0_s, t1_s : float
        Start and end of the ramp, s (``t1_s > t0_s``).
    v0, v1 : float
        Values before and after the ramp.
    """

    def __init__(self, t0_s: float, t1_s: float, v0: float, v1: float) -> None:
        self.t0_s = _check_finite("Ramp", "t0_s", t0_s)
        self.t1_s = _check_finite("Ramp", "t1_s", t1_s)
        if not self.t1_s > self.t0_s:
            raise SpecError("Ramp", "t1_s", t1_s, f"a time > t0_s = {self.t0_s!r}")
        self.v0 = _check_finite("Ramp", "v0", v0)
        self.v1 = _check_finite("Ramp", "v1", v1)

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(t, [self.t0_s, self.t1_s], [self.v0, self.v1])


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


class DisturbanceValueError(CalmlineError):
    """A disturbance channel evaluated to a value outside its physical range."""


class _Sampled(Signal):
    """Adapter for a forward-only noise generator (anything with ``sample(t_s)``)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def _eval(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array([float(self.source.sample(float(ti))) for ti in t])


def _as_channel(x: Any, name: str) -> Signal:
    if not isinstance(x, Signal) and callable(getattr(x, "sample", None)):
        return _Sampled(x)
    return _as_signal(x, "DisturbanceSet", name)


# name -> (default or None, lower bound, upper bound); the first block is the
# order of the line model's disturbance vector (plants.line), then extras.
_CHANNELS: dict[str, tuple[float | None, float, float]] = {
    "outdoor_temp_K": (None, 180.0, 340.0),
    "outdoor_rh_frac": (None, 0.0, 1.0),
    "slurry_solids_frac": (None, 0.0, 1.0),
    "pump_flow_noise_rel": (0.0, -1.0, 1.0),
    "coat_noise_rel": (0.0, -1.0, 1.0),
    "heat_transfer_factor": (1.0, 0.0, 3.0),
}
_ZONE_CHANNELS: dict[str, tuple[float | None, float, float]] = {
    "heater_efficiency": (1.0, 0.0, 1.0),
    "fan_flow_factor": (1.0, 0.0, 2.0),
}
_EXTRA_CHANNELS: dict[str, tuple[float | None, float, float]] = {
    "inlet_air_rh_frac": (None, 0.0, 1.0),
    "line_stop_flag": (0.0, 0.0, 1.0),
}


class DisturbanceSet:
    """Named disturbance channels, each a :class:`Signal`, a constant or a noise generator.

    Channels (units in the names; zones numbered from 1 as on the line; the
    names and order of the first rows are those of the line model's
    disturbance vector):

    ============================  ========  ======================================
    name                          default   valid range
    ============================  ========  ======================================
    ``outdoor_temp_K``            none      180-340 K
    ``outdoor_rh_frac``           none      0-1
    ``slurry_solids_frac``        none      0-1 (mass fraction, tank)
    ``pump_flow_noise_rel``       0         -1 to 1 (relative flow deviation)
    ``coat_noise_rel``            0         -1 to 1 (relative local variation)
    ``heat_transfer_factor``      1         0-3 (true/nominal heat transfer)
    ``zone{i}_heater_efficiency`` 1         0-1 (delivered/nominal heat, fraction)
    ``zone{i}_fan_flow_factor``   1         0-2 (delivered/commanded flow)
    ``inlet_air_rh_frac``         none      0-1 (dryer inlet air)
    ``line_stop_flag``            0         0-1 (1 = web stopped)
    ============================  ========  ======================================

    Channels with a default are always present; the others only when given
    (a plant declares what it needs with :meth:`require`). A per-zone
    quantity may be given once under its base name (``"fan_flow_factor"``)
    for every zone. A noise generator from :mod:`plants.noise` may be given
    as a channel: it is sampled forward in time, so ask for non-decreasing
    times. A value outside its range at evaluation raises
    :class:`DisturbanceValueError` naming the channel, the time and the value.

    Parameters
    ----------
    n_zones : int
        Number of dryer zones (>= 1).
    channels : mapping of str to Signal, float or noise generator
        The channels given.
    announced : iterable of str, optional
        Channels a controller may read ahead (the production schedule).
    """

    def __init__(
        self,
        n_zones: int,
        channels: Mapping[str, Any],
        announced: Iterable[str] = (),
    ) -> None:
        if isinstance(n_zones, bool) or not isinstance(n_zones, int | np.integer) or n_zones < 1:
            raise SpecError("DisturbanceSet", "n_zones", n_zones, "an integer >= 1")
        self.n_zones = int(n_zones)
        table: dict[str, tuple[float | None, float, float]] = dict(_CHANNELS)
        for base, spec in _ZONE_CHANNELS.items():
            for i in range(1, self.n_zones + 1):
                table[f"zone{i}_{base}"] = spec
        table.update(_EXTRA_CHANNELS)
        self._limits = {n: (lo, hi) for n, (_, lo, hi) in table.items()}
        given: dict[str, Signal] = {}
        for name, sig in channels.items():
            if name in _ZONE_CHANNELS:
                ch = _as_channel(sig, name)
                for i in range(1, self.n_zones + 1):
                    given.setdefault(f"zone{i}_{name}", ch)
                continue
            if name not in table:
                raise SpecError(
                    "DisturbanceSet",
                    "channels",
                    name,
                    f"a channel name among {list(table)} "
                    f"or a per-zone base name among {list(_ZONE_CHANNELS)}",
                )
            given[name] = _as_channel(sig, name)
        self._signals: dict[str, Signal] = {}
        for name, (default, _, _) in table.items():  # canonical order
            if name in given:
                self._signals[name] = given[name]
            elif default is not None:
                self._signals[name] = Constant(default)
        ann = frozenset(announced)
        for name in sorted(ann):
            if name not in self._signals:
                raise SpecError(
                    "DisturbanceSet",
                    "announced",
                    name,
                    f"a present channel among {list(self._signals)}",
                )
        self.announced = ann

    @property
    def names(self) -> tuple[str, ...]:
        """Present channel names, in canonical order."""
        return tuple(self._signals)

    def signal(self, name: str) -> Signal:
        """The signal behind channel ``name``."""
        if name not in self._signals:
            raise KeyError(
                f"DisturbanceSet has no channel {name!r}; present: {list(self._signals)}"
            )
        return self._signals[name]

    def require(self, names: Iterable[str]) -> None:
        """Raise a ValueError listing every channel in ``names`` that is not present."""
        missing = [n for n in names if n not in self._signals]
        if missing:
            raise ValueError(
                f"DisturbanceSet is missing required channel(s) {missing}; present: {list(self._signals)}"
            )

    def _checked(self, name: str, t: NDArray[np.float64]) -> NDArray[np.float64]:
        y = np.asarray(self._signals[name](t), dtype=float)
        lo, hi = self._limits[name]
        bad = ~((y >= lo) & (y <= hi))
        if np.any(bad):
            k = int(np.flatnonzero(bad.ravel())[0])
            raise DisturbanceValueError(
                f"disturbance channel {name!r} = {float(y.ravel()[k])!r} at "
                f"t_s = {float(np.ravel(t)[k])!r} "
                f"is outside its valid range [{lo!r}, {hi!r}]"
            )
        return y

    def evaluate(self, t_s: float) -> dict[str, float]:
        """Values of all present channels at time ``t_s``."""
        t = np.asarray(float(t_s))
        return {n: float(self._checked(n, t)) for n in self._signals}

    def values(self, names: Sequence[str], t_s: ArrayLike) -> NDArray[np.float64]:
        """Values of ``names`` in that order (e.g. the line model's disturbance names):
        shape ``(len(names),)`` for a scalar time, ``(n_times, len(names))`` for a 1-D array."""
        self.require(names)
        t = np.asarray(t_s, dtype=float)
        cols = [np.atleast_1d(self._checked(n, np.atleast_1d(t))) for n in names]
        out = np.stack(cols, axis=-1) if cols else np.zeros((np.atleast_1d(t).size, 0))
        return out[0] if t.ndim == 0 else out

    def as_array(self, t_s: ArrayLike) -> NDArray[np.float64]:
        """Values of all present channels in :attr:`names` order (see :meth:`values`)."""
        return self.values(self.names, t_s)

    def zone_values(self, base: str, t_s: float) -> NDArray[np.float64]:
        """Per-zone values of ``base`` (e.g. ``"fan_flow_factor"``) at ``t_s``, shape ``(n_zones,)``."""
        if base not in _ZONE_CHANNELS:
            raise KeyError(
                f"{base!r} is not a per-zone channel; expected one of {list(_ZONE_CHANNELS)}"
            )
        return self.values([f"zone{i}_{base}" for i in range(1, self.n_zones + 1)], float(t_s))

    def to_frame(self, times_s: ArrayLike) -> pd.DataFrame:
        """A tidy DataFrame indexed by ``time_s`` with one column per present channel."""
        t = np.atleast_1d(np.asarray(times_s, dtype=float))
        return pd.DataFrame(
            self.as_array(t), index=pd.Index(t, name="time_s"), columns=list(self._signals)
        )
