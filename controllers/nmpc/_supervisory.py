"""The economic target as the supervisory layer: IPOPT on the controller's CasADi model, answering the edge core's
requests with stamped targets.

:class:`SupervisoryTarget` solves :class:`controllers.nmpc.SteadyTarget` on a :class:`mpc.edge.TargetRequest` (with
the offline starts of :func:`controllers.nmpc.optimised_starts`) and returns a :class:`mpc.edge.StampedTarget`;
:class:`InProcessTargets` is the link of one process: each request answered at once (simulation, ``run``,
``edge verify``: deterministic). A line's edge core reaches it through another :class:`mpc.edge.TargetSource`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from controllers.nmpc._model import NmpcModel
from controllers.nmpc._offline import optimised_starts
from controllers.nmpc._scaling import TemperatureLoops
from controllers.nmpc._target import SteadyTarget
from mpc.edge import StampedTarget, TargetRequest, model_sha256
from mpc.interfaces import ControllerContext
from mpc.scenario import NmpcSettings, TargetSettings

__all__ = ["InProcessTargets", "SupervisoryTarget"]


class SupervisoryTarget:
    """The economic steady-state target on IPOPT, answering :class:`mpc.edge.TargetRequest` s.

    Parameters
    ----------
    m : NmpcModel
        The controller's model.
    ctx : ControllerContext
        The run's context (the specification's limits, the primary-energy factors, the offline starts' plan).
    settings : TargetSettings
        ``[controllers.nmpc.target]``.
    """

    def __init__(self, m: NmpcModel, ctx: ControllerContext, settings: TargetSettings) -> None:
        spec = ctx.spec
        self.m = m
        self.target = SteadyTarget(m, spec.residual_usl_kg_kg, spec.film_temp_max_K, settings,
                                   primary_factors=(ctx.primary_factor_heater, ctx.primary_factor_electricity))
        """The target's NLP (:class:`controllers.nmpc.SteadyTarget`)."""
        self.starts: list[Any] = optimised_starts(m, ctx, settings) if settings.offline_starts else []
        """Further initial points of a solve outside the trust region (:func:`controllers.nmpc.optimised_starts`)."""
        self.model_hash = model_sha256(ctx)
        """The model's hash: a request made on another model is answered failed (:meth:`answer`)."""

    @classmethod
    def on_context(cls, ctx: ControllerContext, settings: NmpcSettings) -> SupervisoryTarget:
        """The layer the NMPC with ``settings`` builds on ``ctx`` (its model as the controller builds it: the
        supervisory process of a line, ``calmline edge target``)."""
        loops = None
        if settings.model.temperature_loops == "model":
            loops = TemperatureLoops.from_plc(ctx.plc_loops, ctx.recipe.air_temp_K, ctx.thermocouple_lag_s)
        return cls(NmpcModel(settings.model.apply(ctx.model_params), ctx.recipe, loops=loops), ctx, settings.target)

    def answer(self, req: TargetRequest) -> StampedTarget:
        """Solve the target on ``req``; a failed solve is answered with ``ok`` False (and the last good point).

        Raises
        ------
        ValueError
            ``req`` was made on another model (its ``model_sha256``), or its vectors have other lengths than this
            model's.
        """
        if req.model_sha256 and req.model_sha256 != self.model_hash:
            raise ValueError(f"request {req.seq} was made on another model (model_sha256 {req.model_sha256[:12]}..., "
                             f"this layer's {self.model_hash[:12]}...): run the layer on the scenario the edge "
                             "artifact was exported on")
        m = self.m
        want = {"est": m.n_est, "u_prev_s": m.layout.n_inputs, "u_lb_s": m.layout.n_inputs,
                "u_ub_s": m.layout.n_inputs, "out_bias": m.n_bias, "out_gain": m.layout.n_zones}
        bad = [f"{k} has {np.size(getattr(req, k))} values, expected {n}" for k, n in want.items()
               if np.size(getattr(req, k)) != n]
        if bad:
            raise ValueError(f"request {req.seq}: {'; '.join(bad)}")
        t0 = time.perf_counter()
        xt, ut, ok, _ = self.target.solve(
            req.est, req.speed_target_m_s, req.speed_cap_m_s, req.lel_limit_frac, req.cw_target_kg_m2, req.u_prev_s,
            req.u_lb_s, req.u_ub_s, dict(req.fixed), out_bias=req.out_bias, out_gain=req.out_gain, trust=req.trust,
            starts=self.starts)
        plant = self.target.plant_outputs(req.est, req.out_bias) if ok else (np.nan, np.nan)
        return StampedTarget(seq=req.seq, t_s=req.t_s, ok=ok, x_s=np.array(xt, float), u_s=np.array(ut, float),
                             exit_residual_kg_kg=plant[0], exit_film_temp_K=plant[1],
                             solve_time_s=time.perf_counter() - t0)


class InProcessTargets:
    """A :class:`mpc.edge.TargetSource` in the controller's own process: every request answered at once."""

    def __init__(self, layer: SupervisoryTarget) -> None:
        self.layer = layer
        self._latest: StampedTarget | None = None

    def request(self, req: TargetRequest) -> None:
        self._latest = self.layer.answer(req)

    def latest(self) -> StampedTarget | None:
        return self._latest
