"""Seeded process-noise generators for the simulated plant.

Two small generators, each deterministic given its seed, each with
``reset()`` (restart the same random path) and ``sample(t_s)`` (the value at
time ``t_s``):

- :class:`OrnsteinUhlenbeck`: coloured (exponentially correlated) noise,
  sampled *exactly* at arbitrary, possibly uneven, times;
- :class:`PumpPulsation`: a relative flow deviation of a positive-displacement
  pump, a sinusoid at the pump frequency plus Ornstein-Uhlenbeck jitter.

Sampling follows one path forward in time: times must be non-decreasing, and
asking again for the last time returns the same value (a generator is a
function of time along its path, not a fresh draw per call).

This module also holds what the other plant-side helpers share: the
:class:`SpecError` raised by every specification check, and
:func:`as_seed_sequence`, which turns whatever seed a scenario gives into a
:class:`numpy.random.SeedSequence` so that ``reset()`` can replay a path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from plants.errors import CalmlineError

__all__ = [
    "OrnsteinUhlenbeck",
    "PumpPulsation",
    "Seed",
    "SpecError",
    "as_seed_sequence",
]

Seed = int | np.random.SeedSequence | np.random.Generator
"""What a random source accepts as its seed."""


class SpecError(CalmlineError):
    """A specification field holds a value outside its valid range.

    The message names the owner and field, the value given and what was
    expected, e.g. ``"SensorSpec.noise_std = -1.0 is invalid: expected a
    finite number >= 0"``.
    """

    def __init__(self, owner: str, field: str, value: Any, expected: str) -> None:
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        self.owner = owner
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{owner}.{field} = {value!r} is invalid: expected {expected}")


def _check_real(owner: str, field: str, value: Any) -> float:
    """Return ``value`` as a float, or raise :class:`SpecError` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(owner, field, value, "a real number")
    return float(value)


def _check_finite(owner: str, field: str, value: Any) -> float:
    x = _check_real(owner, field, value)
    if not math.isfinite(x):
        raise SpecError(owner, field, value, "a finite number")
    return x


def _check_nonneg(owner: str, field: str, value: Any) -> float:
    x = _check_real(owner, field, value)
    if not (math.isfinite(x) and x >= 0.0):
        raise SpecError(owner, field, value, "a finite number >= 0")
    return x


def _check_positive(owner: str, field: str, value: Any) -> float:
    x = _check_real(owner, field, value)
    if not (math.isfinite(x) and x > 0.0):
        raise SpecError(owner, field, value, "a finite number > 0")
    return x


def _check_n_channels(owner: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise SpecError(owner, "n_channels", value, "None or an integer >= 1")
    return int(value)


def as_seed_sequence(seed: Seed) -> np.random.SeedSequence:
    """Turn a seed into a :class:`numpy.random.SeedSequence` a generator can replay.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        An integer >= 0, a seed sequence (used as is), or a generator; from a
        generator a child sequence is *spawned* (``Generator.spawn``), so the
        new source is independent of the parent's stream and of other
        children, and replaying it never disturbs the parent.

    Returns
    -------
    numpy.random.SeedSequence

    Raises
    ------
    SpecError
        For ``None`` (every random source needs a seed: runs are
        deterministic) or anything else that is not a seed.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        child = seed.spawn(1)[0]
        return child.bit_generator.seed_seq  # type: ignore[return-value]
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise SpecError(
        "seed",
        "seed",
        seed,
        "an integer >= 0, a numpy SeedSequence or a numpy Generator "
        "(every random source needs a seed so that runs are deterministic)",
    )


class _PathSampler:
    """Common machinery: a seeded path sampled forward in time."""

    _owner = "noise"

    def __init__(self, seed: Seed, n_channels: int | None) -> None:
        self._seed_seq = as_seed_sequence(seed)
        self.n_channels = _check_n_channels(self._owner, n_channels)
        self.reset()

    def reset(self) -> None:
        """Restart the path: the next samples repeat the first run exactly."""
        self._rng = np.random.default_rng(self._seed_seq)
        self._t_last: float | None = None
        self._x_last: NDArray[np.float64] | None = None

    def _shape(self) -> tuple[int, ...]:
        return () if self.n_channels is None else (self.n_channels,)

    def _check_time(self, t_s: float) -> float:
        t = float(t_s)
        if not math.isfinite(t):
            raise ValueError(f"{type(self).__name__}.sample: t_s = {t_s!r} is not finite")
        if self._t_last is not None and t < self._t_last:
            raise ValueError(
                f"{type(self).__name__}.sample: t_s = {t!r} goes back in time "
                f"(last sample at {self._t_last!r}); call reset() to restart the path"
            )
        return t

    @staticmethod
    def _out(x: NDArray[np.float64]) -> float | NDArray[np.float64]:
        return float(x) if x.ndim == 0 else x.copy()

    def sample_many(self, times_s: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
        """Sample at each of the non-decreasing ``times_s``; shape ``(n_times, *channels)``."""
        return np.array([self.sample(t) for t in np.asarray(times_s, dtype=float)])

    def sample(self, t_s: float) -> float | NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError


class OrnsteinUhlenbeck(_PathSampler):
    """Ornstein-Uhlenbeck (exponentially correlated, coloured) noise.

    Stationary Gaussian process with mean ``mean``, standard deviation
    ``std`` and autocorrelation ``exp(-|tau| / corr_time_s)``. It is sampled
    exactly at arbitrary steps ``dt`` (Gillespie 1996):

        x(t + dt) = mean + (x(t) - mean) * a + std * sqrt(1 - a**2) * xi,
        a = exp(-dt / corr_time_s),  xi ~ N(0, 1)

    so its statistics do not depend on the harness step.

    Parameters
    ----------
    std : float
        Stationary standard deviation (>= 0), in the unit of the signal.
    corr_time_s : float
        Correlation time (> 0), s.
    seed : int, SeedSequence or Generator
        Seed of the path (see :func:`as_seed_sequence`).
    mean : float, optional
        Stationary mean, default 0.
    n_channels : int or None, optional
        ``None`` (default) gives a float per sample; an integer gives that
        many independent channels as an array.
    start : {"stationary", "mean"}, optional
        Draw the first value from the stationary distribution (default) or
        start exactly at the mean.

    References
    ----------
    D. T. Gillespie, "Exact numerical simulation of the Ornstein-Uhlenbeck
    process and its integral", Phys. Rev. E 54 (1996) 2084-2091.
    """

    _owner = "OrnsteinUhlenbeck"

    def __init__(
        self,
        std: float,
        corr_time_s: float,
        seed: Seed,
        *,
        mean: float = 0.0,
        n_channels: int | None = None,
        start: str = "stationary",
    ) -> None:
        self.std = _check_nonneg(self._owner, "std", std)
        self.corr_time_s = _check_positive(self._owner, "corr_time_s", corr_time_s)
        self.mean = _check_finite(self._owner, "mean", mean)
        if start not in ("stationary", "mean"):
            raise SpecError(self._owner, "start", start, "'stationary' or 'mean'")
        self.start = start
        super().__init__(seed, n_channels)

    def sample(self, t_s: float) -> float | NDArray[np.float64]:
        """Value of the process at ``t_s`` (non-decreasing across calls)."""
        t = self._check_time(t_s)
        if self._x_last is None:
            if self.start == "stationary":
                x = self.mean + self.std * self._rng.standard_normal(self._shape())
            else:
                x = np.full(self._shape(), self.mean)
        elif self._t_last is None or t == self._t_last:
            x = self._x_last
        else:
            a = math.exp(-(t - self._t_last) / self.corr_time_s)
            xi = self._rng.standard_normal(self._shape())
            x = self.mean + (self._x_last - self.mean) * a + self.std * math.sqrt(1.0 - a * a) * xi
        self._t_last, self._x_last = t, np.asarray(x, dtype=float)
        return self._out(self._x_last)

    def sample_many(self, times_s: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
        """Sample at each of the non-decreasing ``times_s``: the values :meth:`sample` gives called once per
        time, drawn in one call of the generator (a scalar process; channels go through :meth:`sample`)."""
        ts = np.asarray(times_s, dtype=float)
        if self.n_channels is not None or ts.ndim != 1 or ts.size == 0:
            return super().sample_many(ts)
        self._check_time(float(ts[0]))
        steps = np.diff(ts)
        if not np.all(np.isfinite(ts)) or np.any(steps < 0.0):
            bad = int(np.argmax(~np.isfinite(ts) | np.r_[False, steps < 0.0]))
            raise ValueError(f"{type(self).__name__}.sample_many: times_s[{bad}] = {ts[bad]!r} is not finite "
                             "or goes back in time")
        first_new = self._x_last is None
        moves = [first_new and self.start == "stationary"]
        t_prev = self._t_last
        for t in ts.tolist():
            moves.append(t_prev is not None and t != t_prev)
            t_prev = t
        xi = iter(self._rng.standard_normal(int(sum(moves))).tolist())
        mean, std, tau = self.mean, self.std, self.corr_time_s
        out = np.empty(ts.size)
        t_last, x_last = self._t_last, None if first_new else float(self._x_last)
        for i, t in enumerate(ts.tolist()):
            if x_last is None:
                x = mean + std * next(xi) if self.start == "stationary" else mean
            elif t == t_last:
                x = x_last
            else:
                a = math.exp(-(t - t_last) / tau)
                x = mean + (x_last - mean) * a + std * math.sqrt(1.0 - a * a) * next(xi)
            out[i] = x
            t_last, x_last = t, x
        self._t_last, self._x_last = t_last, np.asarray(x_last, dtype=float)
        return out


class PumpPulsation(_PathSampler):
    """Relative flow deviation of a metering pump: sinusoid plus coloured jitter.

    ``sample(t_s)`` returns the dimensionless deviation ``d(t)``; the plant
    delivers ``Q_applied * (1 + d(t))``:

        d(t) = rel_amplitude * sin(2 pi freq_Hz t + phase) + OU(t)

    with ``OU`` an :class:`OrnsteinUhlenbeck` process of standard deviation
    ``jitter_rel_std`` and correlation time ``jitter_corr_time_s``.

    The sinusoid is sampled instantaneously: a harness step longer than half
    the pump period aliases it to a lower apparent frequency (as a real
    sampled measurement would). The coating's coat weight integrates the
    flow over the time the web spends under the die; if the plant wants the
    mean deviation over a step, use :meth:`interval_mean_sinusoid`.

    Parameters
    ----------
    freq_Hz : float
        Pulsation frequency (> 0), Hz: for a gear pump, shaft speed times the
        number of teeth; an assumption per scenario.
    rel_amplitude : float
        Amplitude of the sinusoid as a fraction of the mean flow (0 <= a < 1).
    jitter_rel_std : float
        Standard deviation of the jitter as a fraction of the flow (>= 0).
    jitter_corr_time_s : float
        Correlation time of the jitter (> 0), s.
    seed : int, SeedSequence or Generator
        Seed (see :func:`as_seed_sequence`); also draws the phase when
        ``phase_rad`` is None.
    phase_rad : float or None, optional
        Phase of the sinusoid at t = 0; drawn uniformly in [0, 2 pi) from the
        seed when None (default).
    """

    _owner = "PumpPulsation"

    def __init__(
        self,
        freq_Hz: float,
        rel_amplitude: float,
        jitter_rel_std: float,
        jitter_corr_time_s: float,
        seed: Seed,
        *,
        phase_rad: float | None = None,
    ) -> None:
        self.freq_Hz = _check_positive(self._owner, "freq_Hz", freq_Hz)
        a = _check_nonneg(self._owner, "rel_amplitude", rel_amplitude)
        if a >= 1.0:
            raise SpecError(self._owner, "rel_amplitude", rel_amplitude, "a fraction in [0, 1)")
        self.rel_amplitude = a
        self.jitter_rel_std = _check_nonneg(self._owner, "jitter_rel_std", jitter_rel_std)
        self.jitter_corr_time_s = _check_positive(
            self._owner, "jitter_corr_time_s", jitter_corr_time_s
        )
        seq = as_seed_sequence(seed)
        phase_seq, jitter_seq = seq.spawn(2)
        if phase_rad is None:
            self.phase_rad = float(np.random.default_rng(phase_seq).uniform(0.0, 2.0 * math.pi))
        else:
            self.phase_rad = _check_finite(self._owner, "phase_rad", phase_rad)
        self._jitter = OrnsteinUhlenbeck(self.jitter_rel_std, self.jitter_corr_time_s, jitter_seq)
        super().__init__(seq, None)

    def reset(self) -> None:
        """Restart the jitter path; the sinusoid's phase is fixed at construction."""
        super().reset()
        if hasattr(self, "_jitter"):
            self._jitter.reset()

    def sinusoid(self, t_s: float | NDArray[np.float64]) -> float | NDArray[np.float64]:
        """The deterministic part ``rel_amplitude * sin(2 pi f t + phase)``."""
        return self.rel_amplitude * np.sin(
            2.0 * math.pi * self.freq_Hz * np.asarray(t_s) + self.phase_rad
        )

    def interval_mean_sinusoid(
        self, t0_s: float | NDArray[np.float64], t1_s: float | NDArray[np.float64]
    ) -> float | NDArray[np.float64]:
        """Exact mean of the sinusoidal part over ``[t0_s, t1_s]`` (``t1_s > t0_s``; arrays elementwise)."""
        t0, t1 = np.asarray(t0_s, dtype=float), np.asarray(t1_s, dtype=float)
        if not np.all(t1 > t0):
            raise ValueError(
                f"PumpPulsation.interval_mean_sinusoid: need t1_s > t0_s, got {t0_s!r}, {t1_s!r}"
            )
        w = 2.0 * math.pi * self.freq_Hz
        mean = self.rel_amplitude * (np.cos(w * t0 + self.phase_rad) - np.cos(w * t1 + self.phase_rad)) / (
            w * (t1 - t0))
        return float(mean) if mean.ndim == 0 else mean

    def sample_many(self, times_s: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
        """:meth:`sample` at each of the non-decreasing ``times_s``, the jitter drawn in one call."""
        t = np.asarray(times_s, dtype=float)
        d = self.sinusoid(t) + self._jitter.sample_many(t)
        if t.size:
            self._t_last, self._x_last = float(t[-1]), np.asarray(d[-1])
        return d

    def sample(self, t_s: float) -> float:
        """Relative flow deviation at ``t_s`` (non-decreasing across calls)."""
        t = self._check_time(t_s)
        d = float(self.sinusoid(t)) + float(self._jitter.sample(t))
        self._t_last, self._x_last = t, np.asarray(d)
        return d
