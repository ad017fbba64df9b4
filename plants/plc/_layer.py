"""The line's PLC: its local loops, their modes, and the hand-over between recipe and a remote controller.

A controller (or, later, the OPC UA server on its behalf) :meth:`Plc.write`\\ s set points by
name; the harness calls :meth:`Plc.scan` every ``scan_s`` with the loops' own sensor readings
and gets the plant inputs back. The rules a plant's commissioning engineer would ask for:

* **modes**: every loop is in ``recipe`` mode (its set point the recipe's; the line speed the
  plan's) until a controller writes its set point, which puts it in ``remote`` mode; writing a
  temperature loop's output puts it in ``manual`` (a step test's way to move a heater), where its
  PI tracks the output so that the return to automatic is bumpless;
* **checks**: a set point that is not a finite number is rejected (the loop keeps its last one),
  one outside the loop's range is clamped; both are flagged in :meth:`Plc.status`; a name the
  PLC does not have is an error;
* **stale**: a remote set point older than ``stale_after_s`` returns its loop to recipe mode;
  so does :meth:`Plc.write`'s ``release``;
* **bumpless**: a change of mode never steps an output. The working set point ramps from where
  it was to the new one at the loop's set-point rate; a PI loop's integral absorbs the change of
  feedforward (Astrom & Hagglund 2006, section 3.5, bumpless transfer); every output moves at
  most its actuator's rate per scan;
* **interlock**: while the line is stopped the drive and the pump get zero;
* **watchdog**: once a remote controller's heartbeat has been seen (:meth:`Plc.heartbeat`, the
  OPC UA link's heartbeat tag), a heartbeat older than ``watchdog_s`` hands every loop back to
  recipe mode at once (flag ``watchdog``), bumplessly as above, and set-point writes are refused
  until the heartbeat comes back.

Every change of mode, clamped or rejected write and watchdog trip is kept in :attr:`Plc.events`
(the last ``EVENT_LOG_LENGTH``), for the link's event log.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from plants.plc._loops import (
    MODE_MANUAL,
    MODE_RECIPE,
    MODE_REMOTE,
    MODE_VALUES,
    LoopSpec,
    LoopStatus,
)
from plants.plc._pi import PI

__all__ = ["EVENT_LOG_LENGTH", "Plc", "PlcEvent", "PlcWriteError"]

EVENT_LOG_LENGTH = 10_000
"""How many of the latest events :attr:`Plc.events` keeps."""


@dataclass(frozen=True)
class PlcEvent:
    """One thing the PLC did on its own account or refused: a change of mode, a clamp, a rejection.

    Attributes
    ----------
    t_s : float
        When, s (the scan's or the write's time).
    loop : str
        The loop's name (``"plc"`` for the whole PLC, as a watchdog trip).
    what : str
        ``remote`` (taken over by a controller), ``manual``, ``released``, ``stale``, ``watchdog``,
        ``heartbeat`` (back after a trip), ``clamped``, ``rejected`` or ``refused`` (set points
        written while the watchdog is tripped).
    detail : str
        The value concerned, in words.
    value : float
        The event's figure where it has one (``watchdog``: seconds since the last heartbeat;
        ``stale``: the set point's age), else NaN.
    """

    t_s: float
    loop: str
    what: str
    detail: str = ""
    value: float = math.nan


class PlcWriteError(KeyError):
    """A write named a set point the PLC does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


def _toward(value: float, target: float, step: float) -> float:
    if not math.isfinite(step):
        return target
    return min(max(target, value - step), value + step)


class _Loop:
    """One loop's state."""

    def __init__(self, spec: LoopSpec) -> None:
        self.spec = spec
        self.mode = MODE_RECIPE
        self.flag = ""
        self.remote_sp = math.nan
        self.remote_t = -math.inf
        self.remote_ff: float | None = None
        self.manual_out = math.nan
        self.working_sp = spec.recipe_setpoint
        self.output = 0.0
        self.pi = (PI(kc=spec.kc, tau_i_s=spec.tau_i_s, lower=spec.output_lower, upper=spec.output_upper,
                      bias=spec.bias) if spec.kind == "pi" else None)

    def set_bias(self, bias: float) -> None:
        """A PI loop's new feedforward, its integral moved so that the output does not step."""
        pi = self.pi
        if pi is None or bias == pi.bias:
            return
        if pi.kc != 0.0:
            pi.integral += (pi.bias - bias) / pi.kc
        pi.bias = bias

    def to_recipe(self, flag: str = "") -> None:
        if self.mode != MODE_RECIPE:
            self.mode = MODE_RECIPE
            self.set_bias(self.spec.bias)
            self.remote_ff = None
        if flag:
            self.flag = flag

    def status(self) -> LoopStatus:
        return LoopStatus(mode=self.mode, setpoint=float(self.working_sp), output=float(self.output),
                          healthy=self.flag == "", flag=self.flag)


class Plc:
    """The PLC's loops over one line's plant inputs.

    Parameters
    ----------
    loops : sequence of LoopSpec
        One loop per plant input (:func:`plants.plc.line_plc_loops`).
    input_names : sequence of str
        The plant's inputs, in the order :meth:`scan` returns them.
    stale_after_s : float
        Age at which a remote set point returns its loop to recipe mode, s.
    watchdog_s : float
        Age of the last controller heartbeat at which every loop returns to recipe mode, s; the
        watchdog is armed by the first :meth:`heartbeat` (an in-process controller never sends one).
    """

    def __init__(self, loops: Sequence[LoopSpec], input_names: Sequence[str], stale_after_s: float,
                 watchdog_s: float = math.inf) -> None:
        self.specs = tuple(loops)
        self.input_names = tuple(input_names)
        outs = [s.output for s in self.specs]
        if sorted(outs) != sorted(self.input_names):
            raise ValueError(f"PLC loops drive {outs}; the plant's inputs are {list(self.input_names)}")
        self.stale_after_s = float(stale_after_s)
        self.watchdog_s = float(watchdog_s)
        self._heartbeat_t = -math.inf
        self._watchdog_tripped = False
        self._refused_logged = False
        self.events: deque[PlcEvent] = deque(maxlen=EVENT_LOG_LENGTH)
        self._loops = [_Loop(s) for s in self.specs]
        self._by_name = {lp.spec.name: lp for lp in self._loops}
        self._keys: dict[str, tuple[_Loop, str]] = {}
        for lp in self._loops:
            self._keys[lp.spec.setpoint_key] = (lp, "setpoint")
            if lp.spec.feedforward_key:
                self._keys[lp.spec.feedforward_key] = (lp, "feedforward")
            if lp.spec.output_key:
                self._keys[lp.spec.output_key] = (lp, "output")
        self._out_index = [self.input_names.index(s.output) for s in self.specs]
        names = [s.name for s in self.specs]
        if "line_speed" not in names or ("pump_ratio" in names and names.index("pump_ratio") < names.index("line_speed")):
            raise ValueError("the PLC needs a line_speed loop, scanned before the pump_ratio station")
        self._speed = names.index("line_speed")

    # ------------------------------------------------------------------
    @property
    def setpoint_names(self) -> tuple[str, ...]:
        """Every set point a controller may write, in the plant inputs' order."""
        order = sorted(range(len(self.specs)), key=lambda i: self._out_index[i])
        return tuple(self.specs[i].setpoint_key for i in order)

    @property
    def writable_names(self) -> tuple[str, ...]:
        """Everything a controller may write: set points, PI feedforwards and manual outputs."""
        return tuple(self._keys)

    def reset(self, u0: np.ndarray, plan_speed_m_s: float) -> None:
        """Every loop in recipe mode with its output at the plant's input ``u0`` (a bumpless start)."""
        u0 = np.asarray(u0, float)
        speed = float(u0[self._out_index[self._speed]])
        self._heartbeat_t, self._watchdog_tripped, self._refused_logged = -math.inf, False, False
        self.events.clear()
        for lp, j in zip(self._loops, self._out_index, strict=True):
            s = lp.spec
            lp.mode, lp.flag, lp.remote_sp, lp.remote_t, lp.remote_ff = MODE_RECIPE, "", math.nan, -math.inf, None
            lp.output = float(u0[j])
            if s.kind == "direct":
                lp.working_sp = plan_speed_m_s if s.name == "line_speed" else s.recipe_setpoint
            elif s.kind == "ratio":
                lp.working_sp = lp.output / speed if speed > 0.0 else s.recipe_setpoint
            else:
                lp.working_sp = s.recipe_setpoint
                assert lp.pi is not None
                lp.pi.bias = s.bias
                lp.pi.integral = (lp.output - s.bias) / s.kc if s.kc != 0.0 else 0.0

    def write(self, t_s: float, setpoints: Mapping[str, float], release: Iterable[str] = ()) -> None:
        """A remote controller's write at ``t_s``: set points (and PI feedforwards) by name; ``release``: loops
        handed back to recipe mode (by loop name)."""
        for name in release:
            if name not in self._by_name:
                raise PlcWriteError(f"release of {name!r}: the PLC has no such loop; expected one of "
                                    f"{', '.join(self._by_name)}")
            lp = self._by_name[name]
            if lp.mode != MODE_RECIPE:
                self.events.append(PlcEvent(float(t_s), name, "released"))
            lp.to_recipe()
        self._watchdog(float(t_s))  # a write after the heartbeat's age passed the limit finds it tripped
        if self._watchdog_tripped and setpoints:  # a controller whose heartbeat stopped must beat first
            if not self._refused_logged:
                self.events.append(PlcEvent(float(t_s), "plc", "refused",
                                            f"{len(setpoints)} set points written while the watchdog is tripped"))
                self._refused_logged = True
            unknown = [k for k in setpoints if k not in self._keys]
            if unknown:
                raise PlcWriteError(f"set point {unknown[0]!r}: the PLC has no such set point; expected one of "
                                    f"{', '.join(self._keys)}")
            return
        for key, value in setpoints.items():
            if key not in self._keys:
                raise PlcWriteError(f"set point {key!r}: the PLC has no such set point; expected one of "
                                    f"{', '.join(self._keys)}")
            lp, what = self._keys[key]
            s = lp.spec
            v = float(value)
            if not math.isfinite(v):
                lp.flag = "rejected"
                self.events.append(PlcEvent(float(t_s), s.name, "rejected", f"{key} = {v}"))
                continue
            if what == "feedforward":
                lp.remote_ff = min(max(v, s.output_lower), s.output_upper)
                continue
            if what == "output":
                lp.flag = "clamped" if not s.output_lower <= v <= s.output_upper else ""
                lp.manual_out = min(max(v, s.output_lower), s.output_upper)
                if lp.flag:
                    self.events.append(PlcEvent(float(t_s), s.name, "clamped",
                                                f"{key} = {v:g} to {lp.manual_out:g}"))
                if lp.mode != MODE_MANUAL:
                    self.events.append(PlcEvent(float(t_s), s.name, "manual"))
                lp.mode = MODE_MANUAL
                lp.remote_t = float(t_s)
                continue
            flag = ""
            if v < s.lower or v > s.upper:
                v_in, v = v, min(max(v, s.lower), s.upper)
                flag = "clamped"
                self.events.append(PlcEvent(float(t_s), s.name, "clamped", f"{key} = {v_in:g} to {v:g}"))
            if lp.mode == MODE_RECIPE:
                self.events.append(PlcEvent(float(t_s), s.name, "remote"))
                lp.mode = MODE_REMOTE
                if lp.remote_ff is not None:
                    lp.set_bias(lp.remote_ff)
            lp.remote_sp = v
            lp.remote_t = float(t_s)
            lp.flag = flag

    def scan(self, t_s: float, dt_s: float, pv: Mapping[str, float], plan_speed_m_s: float,
             stopped: bool) -> np.ndarray:
        """One scan of every loop over ``dt_s``; returns the plant inputs (ordered as ``input_names``).

        ``pv``: the PI loops' sensor readings (NaN: the loop holds its output); ``plan_speed_m_s``:
        the line speed recipe mode runs (the plan's target within its cap); ``stopped``: the line's
        stop interlock.
        """
        u = np.empty(len(self.input_names))
        speed_out = 0.0
        self._watchdog(t_s)
        for i, lp in enumerate(self._loops):
            s = lp.spec
            if lp.mode != MODE_RECIPE and t_s - lp.remote_t > self.stale_after_s:
                lp.to_recipe("stale")
                self.events.append(PlcEvent(float(t_s), s.name, "stale",
                                            f"last write {t_s - lp.remote_t:g} s ago", t_s - lp.remote_t))
            if lp.mode == MODE_REMOTE:
                target = lp.remote_sp
            elif lp.mode == MODE_MANUAL:
                target = lp.working_sp
            elif s.name == "line_speed":
                target = plan_speed_m_s
            else:
                target = s.recipe_setpoint
            lp.working_sp = _toward(lp.working_sp, target, s.setpoint_rate_per_s * dt_s)
            if lp.mode == MODE_REMOTE and lp.remote_ff is not None:
                assert lp.pi is not None
                lp.pi.bias = lp.remote_ff
            step = s.output_rate_per_s * dt_s
            if s.kind == "direct":
                out = _toward(lp.output, lp.working_sp, step)
            elif s.kind == "ratio":
                out = _toward(lp.output, lp.working_sp * speed_out, step)
            else:
                pi = lp.pi
                assert pi is not None
                y = pv.get(s.measurement, math.nan)
                if lp.mode == MODE_MANUAL and math.isfinite(y):  # set point tracks the process value
                    lp.working_sp = float(y)
                e = lp.working_sp - float(y) if math.isfinite(y) else 0.0
                if lp.mode == MODE_MANUAL:
                    raw = lp.manual_out
                else:
                    raw = pi.update(e, dt_s) if math.isfinite(y) else pi.hold(0.0)
                out = _toward(lp.output, raw, step)
                if (out != raw or lp.mode == MODE_MANUAL) and pi.kc != 0.0:  # held or manual: the integral tracks
                    pi.integral = (out - pi.bias) / pi.kc - e
            out = min(max(out, s.output_lower), s.output_upper)
            if stopped and s.name in ("line_speed", "pump_ratio"):
                out = 0.0
            lp.output = out
            if i == self._speed:
                speed_out = out
            u[self._out_index[i]] = out
        return u

    def _watchdog(self, t_s: float) -> None:
        """Trip the watchdog if the heartbeat (once seen) is older than ``watchdog_s`` at ``t_s``."""
        if (self._heartbeat_t > -math.inf and t_s - self._heartbeat_t > self.watchdog_s
                and not self._watchdog_tripped):
            self._watchdog_tripped, self._refused_logged = True, False
            held = [lp.spec.name for lp in self._loops if lp.mode != MODE_RECIPE]
            self.events.append(PlcEvent(float(t_s), "plc", "watchdog",
                                        f"no heartbeat for {t_s - self._heartbeat_t:g} s; recipe mode "
                                        f"({len(held)} loops handed back)", t_s - self._heartbeat_t))
            for lp in self._loops:
                if lp.mode != MODE_RECIPE:
                    lp.to_recipe("watchdog")

    def heartbeat(self, t_s: float) -> None:
        """A remote controller's heartbeat at ``t_s`` (arms the watchdog; re-arms it after a trip)."""
        if self._watchdog_tripped:
            self.events.append(PlcEvent(float(t_s), "plc", "heartbeat", "heartbeat back; watchdog re-armed"))
        self._heartbeat_t = float(t_s)
        self._watchdog_tripped = False

    @property
    def watchdog_tripped(self) -> bool:
        """The heartbeat stopped for longer than ``watchdog_s`` and has not come back."""
        return self._watchdog_tripped

    def status(self) -> dict[str, LoopStatus]:
        """Every loop's mode, working set point, output and health, by loop name."""
        return {lp.spec.name: lp.status() for lp in self._loops}

    def flagged(self) -> int:
        """How many loops are not healthy (a clamped or rejected write, or a stale hand-back)."""
        return sum(lp.flag != "" for lp in self._loops)

    def setpoints(self) -> np.ndarray:
        """The working set points, ordered as :attr:`specs`."""
        return np.array([lp.working_sp for lp in self._loops])

    def modes(self) -> np.ndarray:
        """Each loop's mode, 0 = recipe, 1 = remote, 2 = manual, ordered as :attr:`specs`."""
        return np.array([float(MODE_VALUES[lp.mode]) for lp in self._loops])
