"""``--controller edge:DIR``: the NMPC's edge core (estimation block, tracking OCP, logic) from an artifact.

The NMPC's own logic (:class:`controllers.nmpc.NmpcLogic`: supervisor modes, fallbacks, the PLC writes, the stamped
targets and their age) runs on what an edge PC runs every step: the estimation block (:func:`mpc.edge.edge_estimation`)
and the tracking OCP (:class:`mpc.edge.EdgeOcp`, RTI on HPIPM), both the artifact's compiled code, and the model's
numbers from the artifact's manifest (:func:`controllers.nmpc._scaling.scaling_from_manifest`). The economic target is the
supervisory layer's: a :class:`mpc.edge.TargetSource` given to the controller, by default
:class:`controllers.nmpc.InProcessTargets` (IPOPT in this process, every request answered at once, as the do-mpc
controller solves it: ``run``, ``compare``, ``replay``, ``regress`` and ``edge verify`` judge the artifact in
closed loop). Given another source, this module and what it runs import neither CasADi nor do-mpc.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controllers._edge_step import BudgetedStep
from controllers.nmpc._logic import NmpcLogic
from controllers.nmpc._scaling import NmpcScaling, TemperatureLoops, scaling_from_manifest
from mpc.edge import TargetSource
from mpc.errors import CalmlineError
from mpc.interfaces import ControllerContext
from mpc.scenario import NmpcSettings

__all__ = ["EdgeNmpcController", "controller_sha256", "nmpc_manifest"]


def controller_sha256(settings: NmpcSettings, ctx: ControllerContext) -> dict[str, str]:
    """Hashes of what the NMPC's compiled parts are built from besides its model (:func:`mpc.edge.model_sha256`),
    by part: the settings of its OCP, model and estimator (``"[controllers.nmpc.ocp]"``, ...), and the context's
    interval, signals, input bounds and rates, specification, PLC loops and energy factors (``"line"``). The
    ``target`` and ``supervisor`` tables are not in it: they set the supervisory layer and the core's logic (the
    target's cadence and age, the hand-back), read from the scenario the edge core runs on; no compiled code
    depends on them."""
    line = {"dt_s": ctx.dt_s, "input_names": list(ctx.input_names),
            "measurement_names": list(ctx.measurement_names), "input_lower": ctx.input_lower.tolist(),
            "input_upper": ctx.input_upper.tolist(), "input_rate_limit": ctx.input_rate_limit.tolist(),
            "spec": ctx.spec.model_dump() if hasattr(ctx.spec, "model_dump") else asdict(ctx.spec),
            "plc_loops": [asdict(lp) for lp in ctx.plc_loops], "thermocouple_lag_s": ctx.thermocouple_lag_s,
            "primary_factors": [ctx.primary_factor_heater, ctx.primary_factor_electricity]}
    parts: dict[str, Any] = {f"[controllers.nmpc.{k}]": asdict(getattr(settings, k))
                             for k in ("ocp", "model", "estimator")}
    parts["line"] = line
    return {k: hashlib.sha256(json.dumps(v, sort_keys=True, default=repr).encode()).hexdigest()
            for k, v in parts.items()}


def nmpc_manifest(ctrl: NmpcLogic, ctx: ControllerContext) -> dict[str, Any]:
    """The manifest's ``nmpc`` section: the numbers of the model the edge core's logic runs on (the recipe's steady
    state, the scales) and :func:`controller_sha256`."""
    m = ctrl.m
    return {"ss_x": [float(v) for v in m.ss.x], "ss_u": [float(v) for v in m.ss.u],
            "x_scale": [float(v) for v in m.x_scale], "u_scale": [float(v) for v in m.u_scale],
            "controller_sha256": controller_sha256(ctrl.settings, ctx)}


class EdgeNmpcController(BudgetedStep, NmpcLogic):
    """The NMPC on an artifact's edge core.

    Parameters
    ----------
    artifact : str or Path
        The artifact's folder (``calmline export``).
    ocp_iterations : int
        SQP iterations at most per OCP solve (:class:`mpc.edge.RtiSolver`).
    ocp_cold_iterations : int or None
        SQP iterations at most on a cold start (the first solve, the hand-back); ``None``: ``ocp_iterations``.
    step_budget_s : float or None
        Wall-clock budget of a step on a line (:class:`controllers._edge_step.BudgetedStep`, ``calmline edge
        run``); ``None`` (simulation): the iteration cap alone, deterministic.
    targets : TargetSource or None
        The link to the economic target's supervisory layer; ``None``: :class:`controllers.nmpc.InProcessTargets`
        (IPOPT in this process, which then needs CasADi).
    target_max_age_s : float or None
        Age beyond which a target is not tracked, s (overrides ``[controllers.nmpc.target] max_age_s``: a
        deployment's choice, set on the edge PC; ``None``: the setting's).
    **kw
        The NMPC's own (:class:`controllers.nmpc.NmpcController`).
    """

    name = "edge"
    settings_table = "nmpc"
    """The NMPC's settings tables: the artifact was exported with them (checked at :meth:`reset`)."""

    def __init__(self, artifact: str | Path, *, ocp_iterations: int = 10, ocp_cold_iterations: int | None = None,
                 step_budget_s: float | None = None, targets: TargetSource | None = None,
                 target_max_age_s: float | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.set_step_budget(step_budget_s)
        self.artifact = Path(artifact)
        self.ocp_iterations = int(ocp_iterations)
        self.ocp_cold_iterations = ocp_cold_iterations
        self.target_source = targets
        if target_max_age_s is not None and not float(target_max_age_s) > 0.0:
            raise ValueError(f"target_max_age_s = {target_max_age_s!r}: expected > 0 s")
        self.target_max_age_s = target_max_age_s

    def reset(self, ctx: ControllerContext) -> None:
        super().reset(ctx)
        if self.target_max_age_s is not None:
            self.max_age_s = float(self.target_max_age_s)

    def _build_model(self, ctx: ControllerContext, st: NmpcSettings, loops: TemperatureLoops | None) -> NmpcScaling:
        from controllers._edge_checks import checked_manifest

        self.manifest = man = checked_manifest(self.artifact, "ocp", ctx)
        section = man.get("nmpc")
        if section is None:
            raise CalmlineError(f"{self.artifact}: the artifact's manifest has no 'nmpc' section (written by an older "
                                f"calmline): export it again")
        self.built_from = controller_sha256(st, ctx)
        return scaling_from_manifest(section, st.model.apply(ctx.model_params), loops)

    def _build_parts(self, ctx: ControllerContext, st: NmpcSettings) -> None:
        from mpc.edge import EdgeOcp, edge_estimation

        self.est = edge_estimation(self.artifact, ctx.schedule.batch_changes)
        self.ekf = self.est.ekf  # the controller reads the estimate from its filter
        self.ocp = EdgeOcp(self.artifact, max_iter=self.ocp_iterations, cold_iter=self.ocp_cold_iterations)
        if self.target_source is not None:
            self._refuse_other_build(ctx)
            self.targets = self.target_source
            return
        # the supervisory layer in this process (CasADi and IPOPT); the do-mpc OCP it builds proves that the
        # artifact's OCP is the one these settings build
        missing = [m for m in ("casadi", "do_mpc") if importlib.util.find_spec(m) is None]
        if missing:
            raise CalmlineError(
                f"{self.artifact}: the NMPC's economic target in this process needs {' and '.join(missing)}, which "
                f"this Python lacks (an edge install: the artifact's requirements-edge.txt); run the target's "
                f"supervisory layer where they are installed (`calmline edge target SCENARIO --opcua URL`) and this "
                f"core with `calmline edge run ARTIFACT --targets line`")
        from controllers._edge_checks import refuse_other_tuning, tuning_differences
        from controllers.nmpc._model import NmpcModel
        from controllers.nmpc._ocp import DynamicOcp
        from controllers.nmpc._supervisory import InProcessTargets, SupervisoryTarget

        model = NmpcModel(st.model.apply(ctx.model_params), ctx.recipe, loops=self.m.loops)
        spec = ctx.spec
        design = DynamicOcp(model, spec.coat_weight_tolerance_frac, spec.residual_usl_kg_kg, spec.film_temp_max_K,
                            self.v_lb, self.v_ub, st.ocp)
        refuse_other_tuning(tuning_differences(design, self.manifest), ctx, self.artifact, "nmpc")
        self._refuse_other_build(ctx)
        self.targets = InProcessTargets(SupervisoryTarget(model, ctx, st.target))

    def _refuse_other_build(self, ctx: ControllerContext) -> None:
        """Raise, naming the parts, when the scenario builds the compiled parts from other settings or another line
        than the artifact's (:func:`controller_sha256`)."""
        theirs = self.manifest["nmpc"]["controller_sha256"]
        line = "the line (its signals, input bounds and rates, specification, PLC loops or energy factors)"
        differ = [line if k == "line" else k for k, h in self.built_from.items() if theirs.get(k) != h]
        if differ:
            raise CalmlineError(f"{ctx.source}: the NMPC this scenario builds differs from the artifact "
                                f"{self.artifact}'s in {', '.join(differ)}: export it on this scenario")
