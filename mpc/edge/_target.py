"""The economic target between layers: what the edge core asks for and the stamped target the supervisory layer
publishes.

On a plant the economic steady-state target is a supervisory layer (Python and IPOPT on the supervisory PC, every
``[controllers.nmpc.target] every_s`` or when the plan changes); the edge core runs the estimator, the tracking OCP
and the supervisor every step. The edge asks with a :class:`TargetRequest` (its estimate and the plan it is on),
the supervisory layer answers with a :class:`StampedTarget` stamped with the request it answers and the time of
its estimate; the edge tracks the last good one and falls back to the recipe's steady state when that is older
than ``[controllers.nmpc.target] max_age_s`` (:class:`controllers.nmpc._logic.NmpcLogic`). A
:class:`TargetSource` is the link between the two: in one process (:class:`controllers.nmpc.InProcessTargets`,
simulation: each request answered at once, deterministic) or between processes.

Both messages convert to and from plain JSON-able dicts (:meth:`TargetRequest.to_dict`, :meth:`from_dict`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["StampedTarget", "TargetRequest", "TargetSource"]

_ARRAYS_REQ = ("est", "u_prev_s", "u_lb_s", "u_ub_s", "out_bias", "out_gain")


@dataclass(frozen=True)
class TargetRequest:
    """What the economic target is solved on: the edge core's estimate and the plan it is on.

    Parameters
    ----------
    seq : int
        The request's number (1, 2, ...); the answer carries it.
    t_s : float
        Time of the estimate, s: the answer's stamp, from which its age is counted.
    est : ndarray
        Disturbance estimates (slurry solids, heat-transfer factor, heater efficiencies, fan factors).
    speed_target_m_s, speed_cap_m_s : float
        The plan's speed at the end of the OCP's horizon and the cap in force then.
    lel_limit_frac : float
        The LEL limit to plan for (fraction of the LEL).
    cw_target_kg_m2 : float
        The coat-weight target.
    u_prev_s, u_lb_s, u_ub_s : ndarray
        The inputs in force and the target's input bounds, scaled.
    fixed : tuple of (int, float)
        Line states the target holds at the estimate (room humidity, slurry water): index, scaled value.
    out_bias, out_gain : ndarray
        The estimator's output corrections the target plans with.
    trust : bool
        Whether the target may stay in its trust region around the last one (the same plan, or a ramp).
    model_sha256 : str
        The controller model's hash (:func:`mpc.edge.model_sha256`): a layer that solves on another model refuses
        the request (answers it failed).
    """

    seq: int
    t_s: float
    est: np.ndarray
    speed_target_m_s: float
    speed_cap_m_s: float
    lel_limit_frac: float
    cw_target_kg_m2: float
    u_prev_s: np.ndarray
    u_lb_s: np.ndarray
    u_ub_s: np.ndarray
    fixed: tuple[tuple[int, float], ...]
    out_bias: np.ndarray
    out_gain: np.ndarray
    trust: bool
    model_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (arrays as lists)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for k in _ARRAYS_REQ:
            out[k] = [float(v) for v in out[k]]
        out["fixed"] = [[int(i), float(v)] for i, v in self.fixed]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetRequest:
        """The request :meth:`to_dict` wrote."""
        kw = dict(d)
        for k in _ARRAYS_REQ:
            kw[k] = np.asarray(kw[k], float)
        kw["fixed"] = tuple((int(i), float(v)) for i, v in kw["fixed"])
        if not isinstance(kw.get("trust"), bool):
            raise TypeError(f"trust = {kw.get('trust')!r}: expected true or false")
        return cls(**kw)


@dataclass(frozen=True)
class StampedTarget:
    """The economic target the supervisory layer publishes.

    Parameters
    ----------
    seq : int
        The request it answers (:attr:`TargetRequest.seq`).
    t_s : float
        Its stamp: the time of the request's estimate, s.
    ok : bool
        Whether the solve converged; a failed answer carries the recipe's point and is never tracked.
    x_s, u_s : ndarray
        The target's line states and inputs, scaled.
    exit_residual_kg_kg, exit_film_temp_K : float
        The exit residual and film temperature the target settles the plant at (model plus the estimator's
        corrections); NaN after a failed solve.
    solve_time_s : float
        Wall-clock time of the solve, s (reported, never used by the edge).
    """

    seq: int
    t_s: float
    ok: bool
    x_s: np.ndarray
    u_s: np.ndarray
    exit_residual_kg_kg: float = math.nan
    exit_film_temp_K: float = math.nan
    solve_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (arrays as lists; NaN as ``None``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["x_s"] = [float(v) for v in self.x_s]
        out["u_s"] = [float(v) for v in self.u_s]
        for k in ("exit_residual_kg_kg", "exit_film_temp_K"):
            out[k] = None if math.isnan(out[k]) else float(out[k])
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StampedTarget:
        """The target :meth:`to_dict` wrote."""
        kw = dict(d)
        kw["x_s"] = np.asarray(kw["x_s"], float)
        kw["u_s"] = np.asarray(kw["u_s"], float)
        for k in ("exit_residual_kg_kg", "exit_film_temp_K"):
            kw[k] = math.nan if kw.get(k) is None else float(kw[k])
        if not isinstance(kw.get("ok"), bool):
            raise TypeError(f"ok = {kw.get('ok')!r}: expected true or false")
        return cls(**kw)


@runtime_checkable
class TargetSource(Protocol):
    """The link from the edge core to the supervisory layer that solves the economic target."""

    def request(self, req: TargetRequest) -> None:
        """Ask for a target on ``req`` (returns at once; the answer comes through :meth:`latest`)."""

    def latest(self) -> StampedTarget | None:
        """The newest target published so far (``None``: none yet)."""
