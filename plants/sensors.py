"""Plant-side sensor models: delay, lag, sampling, noise, quantisation, faults.

A :class:`Sensor` turns the plant's true value into what the controller sees,
one :class:`Reading` per harness step. The order of operations is

1. **transport delay in web distance** (``delay_m``): the reading at time t
   is the true value that the web now at the gauge carried when it passed
   the measured point, i.e. ``delay_m`` metres of web travel ago
   (``integral v dt = delay_m``, not ``delay_m / v``). The caller passes the
   cumulative web position; it does not advance while the line is stopped;
2. **time delay** (``delay_s``), e.g. an analyser's sample line;
3. **first-order lag** (``lag_s``), e.g. an analyser's or a sheathed
   thermocouple's response, exact for inputs held between calls;
4. at each **sample instant** (every ``sample_period_s`` from the first
   call; every call when 0): bias and drift, Gaussian noise, quantisation,
   clamping to the range. Between samples the last reading is held and
   carries its age.

Delays use a buffer of (time or position, value) with linear interpolation.
For positions or times before the first call, the first value is used: the
plant is taken to have been at its initial state before the run started.
While the web is stopped, the buffer keeps one entry for the stopped
position, the value the plant gave last there.

Faults (:class:`SensorFault`), with precedence fail > dropout > stuck > drift:

- ``"fail"``: the instrument reports failure (an LEL analyser failure):
  value NaN, ``healthy`` False, from ``start_s`` on (immediately, not at the
  next sample);
- ``"dropout"``: no signal (a lost scan or a communication loss): value NaN,
  ``healthy`` False while active; after it ends the sensor reports NaN until
  its next sample;
- ``"stuck"``: new samples repeat the last valid value before the fault;
  the instrument does not know: ``healthy`` stays True, ``fresh`` still
  flags each sample;
- ``"drift"``: an undetected offset growing at ``drift_per_s`` from
  ``start_s``; removed when the fault ends (recalibration).

The noise draws are tied to the sample instants and taken whether or not a
fault is active, so a run with a fault and the same run without it differ
only while the fault acts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from plants.noise import (
    Seed,
    SpecError,
    _check_finite,
    _check_nonneg,
    _check_real,
    as_seed_sequence,
)

__all__ = [
    "SENSOR_FAULT_KINDS",
    "Reading",
    "Sensor",
    "SensorFault",
    "SensorSpec",
    "coat_weight_gauge",
    "film_temperature_pyrometer",
    "lel_analyser",
    "nir_solvent_gauge",
    "nozzle_velocity_sensor",
    "zone_air_thermocouple",
]

SENSOR_FAULT_KINDS = frozenset({"stuck", "dropout", "drift", "fail"})
"""Kinds of :class:`SensorFault`."""


@dataclass(frozen=True)
class SensorFault:
    """A sensor fault active on ``start_s <= t < end_s``.

    Parameters
    ----------
    kind : {"stuck", "dropout", "drift", "fail"}
        See the module docstring.
    start_s : float
        Onset, s.
    end_s : float or None
        End, s (> ``start_s``); None: permanent.
    drift_per_s : float
        Drift rate in the sensor's unit per second; only for ``"drift"``
        (must be 0 for the other kinds).
    """

    kind: str
    start_s: float
    end_s: float | None = None
    drift_per_s: float = 0.0

    def __post_init__(self) -> None:
        o = "SensorFault"
        if self.kind not in SENSOR_FAULT_KINDS:
            raise SpecError(o, "kind", self.kind, f"one of {sorted(SENSOR_FAULT_KINDS)}")
        _check_finite(o, "start_s", self.start_s)
        if self.end_s is not None:
            end = _check_finite(o, "end_s", self.end_s)
            if not end > self.start_s:
                raise SpecError(
                    o, "end_s", self.end_s, f"None or a time > start_s = {self.start_s!r}"
                )
        _check_finite(o, "drift_per_s", self.drift_per_s)
        if self.kind != "drift" and self.drift_per_s != 0.0:
            raise SpecError(
                o,
                "drift_per_s",
                self.drift_per_s,
                f"0 for kind {self.kind!r} (only 'drift' drifts)",
            )

    def active(self, t_s: float) -> bool:
        """Whether the fault acts at ``t_s``."""
        return self.start_s <= t_s and (self.end_s is None or t_s < self.end_s)


@dataclass(frozen=True)
class SensorSpec:
    """What a sensor does to the true value. SI units; fields in the sensor's unit.

    Parameters
    ----------
    name : str
        Signal name (non-empty), e.g. ``"coat_weight_gauge"``.
    unit : str
        Unit of the reading, e.g. ``"kg/m2"``.
    noise_std : float
        Absolute Gaussian noise standard deviation (>= 0).
    noise_rel : float
        Relative noise as a fraction of the reading (0 <= r < 1); combined
        with ``noise_std`` as ``sqrt(noise_std**2 + (noise_rel*|value|)**2)``.
    bias : float
        Constant offset added to each reading.
    sample_period_s : float
        Time between new readings (>= 0, s); 0: a new reading every call.
    delay_s : float
        Time delay (>= 0, s).
    delay_m : float
        Transport delay in web travel (>= 0, m); needs ``web_position_m``.
    lag_s : float
        First-order time constant (>= 0, s); 0: none.
    quantisation_step : float
        Resolution of the reading (>= 0); 0: none.
    range_min, range_max : float
        Measuring range; readings are clamped to it (``range_min < range_max``).
    faults : tuple of SensorFault
        Scheduled faults (a list is accepted and stored as a tuple).
    """

    name: str
    unit: str
    noise_std: float = 0.0
    noise_rel: float = 0.0
    bias: float = 0.0
    sample_period_s: float = 0.0
    delay_s: float = 0.0
    delay_m: float = 0.0
    lag_s: float = 0.0
    quantisation_step: float = 0.0
    range_min: float = -math.inf
    range_max: float = math.inf
    faults: tuple[SensorFault, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        o = "SensorSpec"
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError(o, "name", self.name, "a non-empty string")
        if not isinstance(self.unit, str):
            raise SpecError(o, "unit", self.unit, "a string (e.g. 'kg/m2', 'K', '1')")
        for f in (
            "noise_std",
            "sample_period_s",
            "delay_s",
            "delay_m",
            "lag_s",
            "quantisation_step",
        ):
            _check_nonneg(o, f, getattr(self, f))
        rel = _check_nonneg(o, "noise_rel", self.noise_rel)
        if rel >= 1.0:
            raise SpecError(o, "noise_rel", self.noise_rel, "a fraction in [0, 1)")
        _check_finite(o, "bias", self.bias)
        lo = _check_real(o, "range_min", self.range_min)
        hi = _check_real(o, "range_max", self.range_max)
        if math.isnan(lo) or lo == math.inf:
            raise SpecError(o, "range_min", self.range_min, "a number or -inf, below range_max")
        if math.isnan(hi) or not hi > lo:
            raise SpecError(
                o, "range_max", self.range_max, f"a number > range_min = {self.range_min!r}"
            )
        faults = self.faults
        if isinstance(faults, SensorFault) or not isinstance(faults, list | tuple):
            raise SpecError(o, "faults", faults, "a list or tuple of SensorFault")
        for i, fl in enumerate(faults):
            if not isinstance(fl, SensorFault):
                raise SpecError(o, f"faults[{i}]", fl, "a SensorFault")
        object.__setattr__(self, "faults", tuple(faults))


@dataclass(frozen=True)
class Reading:
    """One reading handed to the controller side.

    Attributes
    ----------
    value : float
        The reading in the sensor's unit; NaN when there is no valid reading.
    fresh : bool
        True when a new sample arrived at this call.
    healthy : bool
        False while a ``"fail"`` or ``"dropout"`` fault is active.
    age_s : float
        Time since ``value`` was sampled, s (0 when fresh; inf when NaN).
    """

    value: float
    fresh: bool
    healthy: bool
    age_s: float


class _DelayLine:
    """Buffer of (key, value) with non-decreasing keys and linear interpolation."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.keys: deque[float] = deque()
        self.vals: deque[float] = deque()

    def push(self, key: float, value: float) -> None:
        if self.keys and key < self.keys[-1]:
            raise ValueError(f"{self.what} = {key!r} went backwards (last {self.keys[-1]!r})")
        if self.keys and key == self.keys[-1]:
            self.vals[-1] = value  # web stopped / same time: the latest value holds here
            return
        self.keys.append(key)
        self.vals.append(value)

    def read(self, q: float) -> float:
        keys, vals = self.keys, self.vals
        while len(keys) >= 2 and keys[1] <= q:
            keys.popleft()
            vals.popleft()
        if q <= keys[0] or len(keys) == 1:
            return vals[0]
        k0, k1, v0, v1 = keys[0], keys[1], vals[0], vals[1]
        return v0 + (v1 - v0) * (q - k0) / (k1 - k0)


class Sensor:
    """A sensor simulated from its :class:`SensorSpec`.

    Parameters
    ----------
    spec : SensorSpec
        What the sensor does.
    rng : int, SeedSequence or Generator
        Seed of the measurement noise (see :func:`plants.noise.as_seed_sequence`).
    """

    def __init__(self, spec: SensorSpec, rng: Seed) -> None:
        if not isinstance(spec, SensorSpec):
            raise SpecError("Sensor", "spec", spec, "a SensorSpec")
        self.spec = spec
        self._seed_seq = as_seed_sequence(rng)
        self.reset()

    def reset(self) -> None:
        """Forget all history and restart the noise stream from its seed."""
        self._rng = np.random.default_rng(self._seed_seq)
        self._pos_line = _DelayLine(f"Sensor {self.spec.name!r}: web_position_m")
        self._time_line = _DelayLine(f"Sensor {self.spec.name!r}: t_s")
        self._t_last: float | None = None
        self._lag_state: float | None = None
        self._t_first: float | None = None
        self._next_sample_t = -math.inf
        self._held_value = math.nan
        self._held_t = math.nan
        self._last_valid: float | None = None
        self._stuck_values: dict[int, float] = {}

    # -- internals -------------------------------------------------------
    def _delayed(self, t: float, x: float, pos: float | None) -> float:
        s = self.spec
        if s.delay_m > 0.0:
            if pos is None:
                raise ValueError(
                    f"Sensor {s.name!r} has delay_m = {s.delay_m!r} m and needs web_position_m "
                    "(the cumulative web travel, m) at every call"
                )
            self._pos_line.push(pos, x)
            x = self._pos_line.read(pos - s.delay_m)
        if s.delay_s > 0.0:
            self._time_line.push(t, x)
            x = self._time_line.read(t - s.delay_s)
        return x

    def _lagged(self, t: float, u: float) -> float:
        tau = self.spec.lag_s
        if tau == 0.0 or not math.isfinite(u):
            return u
        if self._lag_state is None or self._t_last is None:
            self._lag_state = u
        else:
            a = math.exp(-(t - self._t_last) / tau)
            self._lag_state = u + (self._lag_state - u) * a
        return self._lag_state

    def _new_sample(self, t: float, x: float) -> float:
        s = self.spec
        xi = float(self._rng.standard_normal())  # always drawn: keeps streams aligned
        if any(f.kind in ("fail", "dropout") and f.active(t) for f in s.faults):
            return math.nan
        for i, f in enumerate(s.faults):
            if f.kind == "stuck" and f.active(t):
                if i not in self._stuck_values:
                    self._stuck_values[i] = self._last_valid if self._last_valid is not None else x
                return self._stuck_values[i]
        if not math.isfinite(x):
            return math.nan
        y = x + s.bias
        for f in s.faults:
            if f.kind == "drift" and f.active(t):
                y += f.drift_per_s * (t - f.start_s)
        std = math.hypot(s.noise_std, s.noise_rel * abs(x))
        y += std * xi
        if s.quantisation_step > 0.0:
            y = round(y / s.quantisation_step) * s.quantisation_step
        return min(max(y, s.range_min), s.range_max)

    # -- public ----------------------------------------------------------
    def measure(
        self, t_s: float, true_value: float, web_position_m: float | None = None
    ) -> Reading:
        """Reading at time ``t_s`` given the plant's true value now.

        Parameters
        ----------
        t_s : float
            Time, s; non-decreasing across calls.
        true_value : float
            The true value at the measured point now (for a web gauge: at
            the upstream point, e.g. the coater, as the web passes it).
        web_position_m : float or None
            Cumulative web travel, m (non-decreasing; constant while the line
            is stopped). Required when ``spec.delay_m > 0``.

        Returns
        -------
        Reading
        """
        s = self.spec
        t = float(t_s)
        if not math.isfinite(t):
            raise ValueError(f"Sensor {s.name!r}: t_s = {t_s!r} is not finite")
        if self._t_last is not None and t < self._t_last:
            raise ValueError(
                f"Sensor {s.name!r}: t_s = {t!r} went backwards (last {self._t_last!r})"
            )
        pos = None
        if web_position_m is not None:
            pos = float(web_position_m)
            if not math.isfinite(pos):
                raise ValueError(
                    f"Sensor {s.name!r}: web_position_m = {web_position_m!r} is not finite"
                )
        x = self._lagged(t, self._delayed(t, float(true_value), pos))
        self._t_last = t
        if self._t_first is None:
            self._t_first = t

        fresh = False
        period = s.sample_period_s
        if period == 0.0 or t >= self._next_sample_t - 1e-9 * max(1.0, period):
            y = self._new_sample(t, x)
            self._held_value, self._held_t = y, t
            if math.isfinite(y):
                self._last_valid = y
                fresh = True
            if period > 0.0:
                k = math.floor((t - self._t_first) / period + 1e-9) + 1
                self._next_sample_t = self._t_first + k * period

        failed = any(f.kind in ("fail", "dropout") and f.active(t) for f in s.faults)
        if failed:
            return Reading(math.nan, False, False, math.inf)
        v = self._held_value
        age = t - self._held_t if math.isfinite(v) else math.inf
        return Reading(v, fresh, True, age)


# ---------------------------------------------------------------------------
# Presets. Every number is a source or labelled "assumption"; override any
# field with keyword arguments (they go to dataclasses.replace).
# ---------------------------------------------------------------------------


def _preset(base: SensorSpec, overrides: dict[str, Any]) -> SensorSpec:
    return replace(base, **overrides) if overrides else base


def coat_weight_gauge(delay_m: float, **overrides: Any) -> SensorSpec:
    """Scanning beta/X-ray dry coat-weight gauge after the dryer (net of foil).

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                kg/m2            dry areal loading ``m_A`` (docs/theory.md)
    noise_rel           0.003 (0.3 %)    assumption ("a few tenths of a percent of
                                         the reading" for scanning gauges)
    sample_period_s     10               assumption: one scan across the web
    delay_m             argument         coater-to-gauge web length of the line
    lag_s               0                assumption: the scan is a point sample
    quantisation_step   1e-5 kg/m2       assumption (0.001 mg/cm2 display)
    range               0-1 kg/m2        assumption (0-100 mg/cm2)
    ==================  ===============  ============================================

    Down-web only: the scan is modelled as one value per scan, no cross-web
    profile.

    Parameters
    ----------
    delay_m : float
        Web length from the coater to the gauge, m.
    **overrides
        Any :class:`SensorSpec` field.
    """
    return _preset(
        SensorSpec(
            name="coat_weight_gauge",
            unit="kg/m2",
            noise_rel=0.003,
            sample_period_s=10.0,
            delay_m=delay_m,
            quantisation_step=1e-5,
            range_min=0.0,
            range_max=1.0,
        ),
        overrides,
    )


def nir_solvent_gauge(delay_m: float = 1.0, **overrides: Any) -> SensorSpec:
    """NIR residual-solvent gauge at the dryer exit, dry basis (kg solvent / kg dry coating).

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                kg/kg            dry-basis content ``x = S/m_A`` (docs/theory.md)
    noise_std           1e-4 kg/kg       assumption (100 ppm)
    noise_rel           0.02             assumption
    sample_period_s     1                assumption
    delay_m             1.0 (default)    assumption: dryer exit to gauge
    quantisation_step   1e-5 kg/kg       assumption (10 ppm)
    range               0-1 kg/kg        assumption
    ==================  ===============  ============================================

    No sourced values were found for this instrument; all numbers
    are assumptions and scenario parameters.

    Parameters
    ----------
    delay_m : float, optional
        Web length from the dryer exit to the gauge, m (assumption 1 m).
    **overrides
        Any :class:`SensorSpec` field.
    """
    return _preset(
        SensorSpec(
            name="residual_solvent_gauge",
            unit="kg/kg",
            noise_std=1e-4,
            noise_rel=0.02,
            sample_period_s=1.0,
            delay_m=delay_m,
            quantisation_step=1e-5,
            range_min=0.0,
            range_max=1.0,
        ),
        overrides,
    )


def film_temperature_pyrometer(**overrides: Any) -> SensorSpec:
    """Infrared pyrometer on the film surface.

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                K
    noise_std           0.5 K            assumption
    bias                0 K              assumption; the emissivity error is the
                                         usual bias, set it per scenario
    sample_period_s     1                assumption (the instrument is faster; the
                                         harness step limits it)
    lag_s               0                assumption: response times of tens of ms
                                         are negligible against the harness step
    quantisation_step   0.1 K            assumption
    range               273.15-573.15 K  assumption (0-300 degC)
    ==================  ===============  ============================================

    Parameters
    ----------
    **overrides
        Any :class:`SensorSpec` field.
    """
    return _preset(
        SensorSpec(
            name="film_temperature_pyrometer",
            unit="K",
            noise_std=0.5,
            sample_period_s=1.0,
            quantisation_step=0.1,
            range_min=273.15,
            range_max=573.15,
        ),
        overrides,
    )


def lel_analyser(**overrides: Any) -> SensorSpec:
    """Continuous flammability (LEL) analyser on a zone exhaust, as a fraction of LEL.

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                1                fraction of LEL (0.25 = 25 % LEL)
    noise_std           0.005            assumption (0.5 % LEL)
    delay_s             5                assumption: sample-line transport
    lag_s               15               assumption within 10-20 s (project brief)
    sample_period_s     1                assumption
    quantisation_step   0.001            assumption (0.1 % LEL)
    range               0-1              0-100 % LEL (assumption: full scale)
    ==================  ===============  ============================================

    A failed analyser is a ``SensorFault("fail", start_s)``: the reading
    turns NaN and ``healthy`` False; under NFPA 86 the LEL limit in force then
    falls back from 50 % to 25 % (the KPI and the controller read
    ``healthy``).

    Parameters
    ----------
    **overrides
        Any :class:`SensorSpec` field, e.g. ``faults=[SensorFault("fail", 600.0)]``.
    """
    return _preset(
        SensorSpec(
            name="lel_analyser",
            unit="1",
            noise_std=0.005,
            delay_s=5.0,
            lag_s=15.0,
            sample_period_s=1.0,
            quantisation_step=0.001,
            range_min=0.0,
            range_max=1.0,
        ),
        overrides,
    )


def zone_air_thermocouple(**overrides: Any) -> SensorSpec:
    """Sheathed type K thermocouple in a dryer zone's supply air.

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                K
    noise_std           0.2 K            assumption
    bias                0 K              IEC 60584-1 class 1 type K tolerance is
                                         +-1.5 K (-40 to 375 degC): use it as the
                                         scale of a bias in mismatch scenarios
    lag_s               10               assumption: ~3 mm sheath in moving air
    sample_period_s     1                assumption
    quantisation_step   0.1 K            assumption
    range               223.15-673.15 K  assumption (-50 to 400 degC)
    ==================  ===============  ============================================

    Parameters
    ----------
    **overrides
        Any :class:`SensorSpec` field.
    """
    return _preset(
        SensorSpec(
            name="zone_air_thermocouple",
            unit="K",
            noise_std=0.2,
            lag_s=10.0,
            sample_period_s=1.0,
            quantisation_step=0.1,
            range_min=223.15,
            range_max=673.15,
        ),
        overrides,
    )


def nozzle_velocity_sensor(**overrides: Any) -> SensorSpec:
    """Nozzle air velocity (from a flow or differential-pressure measurement), m/s.

    ==================  ===============  ============================================
    field               value            source
    ==================  ===============  ============================================
    unit                m/s
    noise_std           0.05 m/s         assumption
    noise_rel           0.02             assumption
    lag_s               2                assumption: transmitter damping
    sample_period_s     1                assumption
    quantisation_step   0.01 m/s         assumption
    range               0-60 m/s         assumption (impingement nozzles run at
                                         about 10-40 m/s)
    ==================  ===============  ============================================

    Parameters
    ----------
    **overrides
        Any :class:`SensorSpec` field.
    """
    return _preset(
        SensorSpec(
            name="nozzle_velocity_sensor",
            unit="m/s",
            noise_std=0.05,
            noise_rel=0.02,
            lag_s=2.0,
            sample_period_s=1.0,
            quantisation_step=0.01,
            range_min=0.0,
            range_max=60.0,
        ),
        overrides,
    )
