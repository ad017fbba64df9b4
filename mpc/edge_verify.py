"""``calmline edge verify``: the edge artifact against the design machine's controller on the same closed loop.

The controller the artifact was exported from (the NMPC or the lmpc) runs the scenario as ``calmline run``
runs it, and

* at every control step its estimator and the artifact's are given the same observation and applied inputs;
  the largest difference of what they hold is reported. The NMPC's estimation block (EKF, delayed-gauge filter,
  output corrections) against the artifact's (:func:`mpc.edge.edge_estimation`): the EKF's states in their
  scaled units, the gauge filter's solids offset, the output corrections in physical units. The lmpc's
  offset-free Kalman filter against the one built from the artifact's copy of the model file: its state and
  covariance (scaled units);
* at every OCP solve the artifact's OCP (:class:`mpc.edge.EdgeOcp`, RTI on HPIPM) is given what do-mpc's is
  given (the estimated state, the parameters, the applied input, the stage bounds) and the two first moves are
  compared relative to each input's range; the edge OCP keeps its own warm start (its own last solution);
* on the first ``default_solves`` OCP solves, do-mpc with its default settings (the same model, horizon and
  discretisation, IPOPT with MUMPS and its default options, output suppressed) solves the same problem too,
  timed: the reference of the speed-up.

with the run's KPIs and each side's step times. The do-mpc controller drives the plant: the edge's moves are
compared, not applied (``docs/edge.md``). With ``edge_run`` a second run has the edge core drive the plant.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mpc.edge import EstimationStep, edge_estimation
from mpc.interfaces import Observation

__all__ = ["verify_artifact"]


def _state(est: EstimationStep) -> dict[str, np.ndarray]:
    return {"ekf_state": np.asarray(est.ekf.z, float), "ekf_covariance": np.asarray(est.ekf.P, float),
            "gauge_solids": np.array([est.gauge.b, est.gauge.var]),
            "output_corrections": np.r_[est.out_bias, est.out_gain, est.cw_rel_sens]}


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference; infinite where only one side is not a number (a NaN must never read as 0)."""
    d = np.abs(a - b)
    d[np.isnan(d) & ~(np.isnan(a) & np.isnan(b))] = np.inf
    d[np.isnan(d)] = 0.0  # NaN on both sides: the same
    return float(d.max()) if d.size else 0.0


class _Tee:
    """The NMPC's estimation block, with every call repeated on the edge's and what they hold compared."""

    def __init__(self, design: EstimationStep, edge: EstimationStep) -> None:
        self._design = design
        self._edge = edge
        self.max_diff = dict.fromkeys(_state(design), 0.0)
        self.steps = 0
        self.design_ms: list[float] = []
        self.edge_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._design, name)

    def _compare(self) -> None:
        a, b = _state(self._design), _state(self._edge)
        for k in a:
            self.max_diff[k] = max(self.max_diff[k], _diff(a[k], b[k]))

    def restarted(self, skip_m: float) -> None:
        self._design.restarted(skip_m)
        self._edge.restarted(skip_m)

    def step(self, obs: Observation, us_applied: np.ndarray, speed_applied_m_s: float) -> None:
        t0 = time.perf_counter()
        self._design.step(obs, us_applied, speed_applied_m_s)
        t1 = time.perf_counter()
        self._edge.step(obs, np.array(us_applied, float), speed_applied_m_s)
        t2 = time.perf_counter()
        self.design_ms.append((t1 - t0) * 1e3)
        self.edge_ms.append((t2 - t1) * 1e3)
        self.steps += 1
        self._compare()


class _KalmanTee:
    """The lmpc's offset-free Kalman filter, with every call repeated on the edge's and what they hold compared."""

    def __init__(self, design: Any, edge: Any) -> None:
        self._design = design
        self._edge = edge
        self.max_diff = {"kalman_state": 0.0, "kalman_covariance": 0.0}
        self.steps = 0
        self.design_ms: list[float] = []
        self.edge_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._design, name)

    def _call(self, name: str, *args: np.ndarray) -> None:
        t0 = time.perf_counter()
        getattr(self._design, name)(*args)
        t1 = time.perf_counter()
        getattr(self._edge, name)(*(np.array(a, copy=True) for a in args))
        t2 = time.perf_counter()
        self.design_ms.append((t1 - t0) * 1e3)
        self.edge_ms.append((t2 - t1) * 1e3)
        self.steps += 1
        for key, a, b in (("kalman_state", self._design.z, self._edge.z),
                          ("kalman_covariance", self._design.P, self._edge.P)):
            self.max_diff[key] = max(self.max_diff[key], _diff(np.asarray(a, float), np.asarray(b, float)))

    def reset(self, u_s: np.ndarray, y_s: np.ndarray) -> None:
        self._call("reset", u_s, y_s)

    def predict(self, u_s: np.ndarray) -> None:
        self._call("predict", u_s)

    def update(self, y_s: np.ndarray, available: np.ndarray) -> None:
        self._call("update", y_s, available)


def _same_problem(src: Any, dst: Any) -> None:
    """Give the do-mpc OCP ``dst`` the problem ``src`` holds: parameters, stage bounds, the applied input."""
    dst.set_parameters(**src._tvp_values)
    lo, hi = src.stage_bounds()
    for k in range(lo.shape[0]):
        dst.mpc._lb_opt_x["_u", k, 0] = lo[k]
        dst.mpc._ub_opt_x["_u", k, 0] = hi[k]
    dst.mpc.u0 = np.asarray(src.mpc._u0.cat, float).ravel()


class _OcpTee:
    """The controller's do-mpc OCP, with every solve repeated on the edge's from the same inputs and the moves
    compared; the first ``default_solves`` also solved by do-mpc with its default settings (``default``), timed."""

    def __init__(self, design: Any, edge: Any, default: Any = None, default_solves: int = 0) -> None:
        self._design = design
        self._edge = edge
        self._default = default
        self.default_solves = int(default_solves)
        self.default_ms: list[float] = []
        self.default_failures = 0
        self._guess: tuple[np.ndarray, np.ndarray] | None = None
        self.rel_diff: list[float] = []
        self.edge_ms: list[float] = []
        self.design_ms: list[float] = []
        self.edge_failures = 0
        self.design_failures = 0
        self.iterations: list[int] = []
        self.linearise_ms: list[float] = []
        self.qp_ms: list[float] = []
        self.records: list[dict[str, Any]] = []
        self.tvp_diff = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._design, name)

    def set_initial_guess(self, xs0: np.ndarray, us0: np.ndarray, *, reset_duals: bool = False) -> None:
        self._design.set_initial_guess(xs0, us0, reset_duals=reset_duals)
        self._edge.set_guess(xs0, us0)
        if self._default is not None:
            self._default.set_initial_guess(xs0, us0)

    def solve(self, xs0: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        d = self._design
        mpc = d.mpc
        N = int(mpc.settings.n_horizon)
        if self._default is not None and len(self.default_ms) < self.default_solves:
            _same_problem(d, self._default)
            t0 = time.perf_counter()
            _, ok_default, _ = self._default.solve(np.asarray(xs0, float))
            self.default_ms.append((time.perf_counter() - t0) * 1e3)
            self.default_failures += not ok_default
        values = dict(d._tvp_values)
        tv = d._tvp_fun(0.0)
        want = np.array([np.asarray(tv["_tvp", k], float).ravel() for k in range(N + 1)])
        u_prev = np.asarray(mpc._u0.cat, float).ravel()
        lbu, ubu = d.stage_bounds()
        t0 = time.perf_counter()
        r = self._edge.solve_with(np.asarray(xs0, float), values, u_prev, lbu, ubu)
        t1 = time.perf_counter()
        u0, ok, plan = d.solve(xs0)
        t2 = time.perf_counter()
        self.tvp_diff = max(self.tvp_diff, float(np.abs(self._edge._tvp - want).max()))  # the edge's packing
        rng = np.maximum(d.u_ub_s - d.u_lb_s, 1e-12)
        self.rel_diff.append(_diff(r.u0 / rng, np.asarray(u0, float) / rng))
        self.edge_ms.append((t1 - t0) * 1e3)
        self.design_ms.append((t2 - t1) * 1e3)
        self.iterations.append(r.iterations)
        self.linearise_ms.append(r.linearise_ms)
        self.qp_ms.append(r.qp_ms)
        self.edge_failures += not r.ok
        self.design_failures += not ok
        self.records.append({"solve": len(self.rel_diff) - 1, "rel_move_diff": self.rel_diff[-1], "edge_ok": r.ok,
                             "dompc_ok": bool(ok), "iterations": r.iterations, "qp_status": r.qp.status,
                             "qp_iterations": r.qp.iterations, "last_step": r.step})
        return u0, ok, plan


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, float) if ms else np.zeros(1)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def verify_artifact(artifact: str | Path, scenario: str | Path, *, duration_s: float | None = None,
                    progress: bool = False, ocp_iterations: int = 10, ocp_cold_iterations: int | None = None,
                    edge_run: bool = True, force_failure_every: int = 0,
                    default_solves: int = 100) -> dict[str, Any]:
    """Run the controller the artifact was exported from (the NMPC or the lmpc) on ``scenario`` with the
    artifact's estimator and OCP beside its own, then (with ``edge_run``) the controller on the artifact's edge
    core alone (``--controller edge:DIR``); return the comparison.

    ``force_failure_every`` declares every n-th OCP solve failed in both runs (the controllers' test hook), so
    that the fallback chain runs on both sides: their failure and fallback counts are compared in ``kpi_diff``.
    ``default_solves``: how many of the first OCP solves do-mpc with its default settings also solves, timed
    (0: none). ``ocp_iterations`` / ``ocp_cold_iterations``: the edge SQP's iterations at most per solve, and
    from a cold start (:class:`mpc.edge.RtiSolver`; ``None``: ``ocp_iterations``).

    Returns
    -------
    dict
        ``controller``; ``steps``; ``max_abs_diff``: the largest difference over the run of what the estimators
        hold (the NMPC's: the EKF's state (scaled units) and its covariance, the gauge filter's solids offset and
        its variance, and the output corrections (physical units, with the coat weight's relative sensitivity to
        the solids); the lmpc's: the Kalman filter's state and covariance, scaled); infinite where one side is
        NaN; ``estimator_max_abs_diff``: the largest of them; ``edge_estimation`` and ``design_estimation``: each
        side's estimator step time (median, p95, p99, max, ms); ``ocp``: the first moves' largest difference
        relative to each input's range (``max_rel_move_diff``), the share of solves within 1e-3, each side's
        solve time and failures, do-mpc's defaults' solve time, and the worst solves; the headline figures
        ``max_rel_move_diff``, ``edge_median_ms``, ``edge_p95_ms``, ``edge_p99_ms`` (the edge OCP's solve:
        linearisation and QP, every SQP iteration), ``dompc_median_ms`` (the controller's do-mpc OCP, tuned),
        ``dompc_default_median_ms`` and ``speedup_vs_default`` (its median over the edge's, on the same
        solves); ``kpis``: ``{"dompc": the first run's (do-mpc's moves applied), "edge": the second's (the edge
        core's moves applied; ``None`` without ``edge_run``)}``; ``kpi_diff``: edge minus do-mpc for energy
        (relative), coat-weight Cpk, scrap, time above the LEL limit, solver failures and fallbacks.

    Raises
    ------
    mpc.edge.ArtifactError
        The artifact is missing a file, was changed after export, or holds no OCP.
    CalmlineError
        The scenario is not the one the artifact was exported on (its file's sha256 differs).
    """
    from controllers.registry import edge_controller
    from mpc.edge import EdgeOcp, file_sha256, read_artifact
    from mpc.errors import CalmlineError
    from mpc.export import model_sha256
    from mpc.runner import run_setup
    from mpc.scenario import build_setup, load_scenario, resolve_scenario_path

    man = read_artifact(artifact, "ocp").manifest  # checked before anything runs
    kind = man.get("controller", "nmpc")
    path = resolve_scenario_path(scenario)
    if file_sha256(path) != man["scenario_sha256"]:
        raise CalmlineError(f"{path}: not the scenario the artifact {artifact} was exported on "
                            f"({man['scenario_file']}, sha256 {man['scenario_sha256'][:12]}...): its controller's "
                            f"tuning and initial state are that scenario's")
    sc = load_scenario(path)
    setup = build_setup(sc, source=str(path))
    if model_sha256(setup) != man["model_sha256"]:
        raise CalmlineError(f"{path}: the controller's model built from it (parameters and recipe, files it names "
                            f"included) is not the one the artifact {artifact} was exported with")
    edge_ocp = EdgeOcp(artifact, max_iter=ocp_iterations, cold_iter=ocp_cold_iterations)
    tee: dict[str, Any] = {}
    design = (_verified_nmpc if kind == "nmpc" else _verified_lmpc)(artifact, edge_ocp, tee, default_solves)
    res = run_setup(setup, design(force_failure_every=force_failure_every), duration_s=duration_s,
                    progress=progress, source=str(path))
    edge_kpis = None
    if edge_run:
        edge = edge_controller(artifact, ocp_iterations=ocp_iterations, ocp_cold_iterations=ocp_cold_iterations,
                               force_failure_every=force_failure_every)
        edge_kpis = run_setup(setup, edge, duration_s=duration_s, progress=progress, source=str(path)).kpis
    t = tee["t"]
    o = tee["o"]
    rel = np.asarray(o.rel_diff, float)
    edge_solve, dompc_solve = _percentiles(o.edge_ms), _percentiles(o.design_ms)
    default_solve = _percentiles(o.default_ms) if o.default_ms else None
    n_def = len(o.default_ms)
    edge_same = float(np.median(o.edge_ms[:n_def])) if n_def else float("nan")  # the edge on the same solves
    out = {
        "artifact": str(artifact),
        "solver": edge_ocp.manifest.get("solver", {"source": "casadi"}),
        "controller": kind,
        "scenario": sc.name,
        "steps": t.steps,
        "max_abs_diff": dict(t.max_diff),
        "estimator_max_abs_diff": max(t.max_diff.values()),
        "edge_estimation": _percentiles(t.edge_ms),
        "design_estimation": _percentiles(t.design_ms),
        "max_rel_move_diff": float(rel.max()) if rel.size else float("nan"),
        "edge_median_ms": edge_solve["median_ms"],
        "edge_p95_ms": edge_solve["p95_ms"],
        "edge_p99_ms": edge_solve["p99_ms"],
        "dompc_median_ms": dompc_solve["median_ms"],
        "dompc_default_median_ms": default_solve["median_ms"] if default_solve else float("nan"),
        "speedup_vs_default": (default_solve["median_ms"] / edge_same) if default_solve else float("nan"),
        "ocp": {
            "solves": int(rel.size),
            "iterations": ocp_iterations,
            "cold_iterations": int(edge_ocp.solver.cold_iter),
            "max_rel_move_diff": float(rel.max()) if rel.size else float("nan"),
            "share_within_1e-3": float(np.mean(rel <= 1e-3)) if rel.size else float("nan"),
            "edge_solve": edge_solve,
            "dompc_solve": dompc_solve,
            "dompc_default_solve": default_solve,
            "dompc_default_solves": n_def,
            "dompc_default_failures": o.default_failures,
            "edge_median_ms_on_default_solves": edge_same,
            "edge_iterations_mean": float(np.mean(o.iterations)) if o.iterations else float("nan"),
            "edge_linearise_median_ms": float(np.median(o.linearise_ms)) if o.linearise_ms else float("nan"),
            "edge_qp_median_ms": float(np.median(o.qp_ms)) if o.qp_ms else float("nan"),
            "edge_failures": o.edge_failures,
            "dompc_failures": o.design_failures,
            "tvp_pack_max_abs_diff": o.tvp_diff,
            "qp_memory_bytes": int(edge_ocp.solver.qp.memory_bytes),
            "worst": sorted(o.records, key=lambda r: (r["edge_ok"], -r["rel_move_diff"]))[:5],
        },
        "kpis": {"dompc": res.kpis, "edge": edge_kpis},
        "kpi_diff": _kpi_diff(res.kpis, edge_kpis),
        "force_failure_every": force_failure_every,
    }
    if kind == "nmpc":
        out["estimator_n_sub"] = int(t._edge.ekf.n_sub)
    return out


def _verified_nmpc(artifact: str | Path, edge_ocp: Any, tee: dict[str, Any], default_solves: int) -> type:
    """The NMPC with its estimation block and OCP teed to the artifact's."""
    from dataclasses import replace

    from controllers.nmpc import NmpcController
    from controllers.nmpc._ocp import DynamicOcp

    class _Verified(NmpcController):
        def reset(self, ctx: Any) -> None:
            super().reset(ctx)
            tee["t"] = _Tee(self.est, edge_estimation(artifact, ctx.schedule.batch_changes))
            self.est = tee["t"]  # type: ignore[assignment]
            default = None
            if default_solves > 0:
                spec = ctx.spec
                default = DynamicOcp(self.m, spec.coat_weight_tolerance_frac, spec.residual_usl_kg_kg,
                                     spec.film_temp_max_K, self.v_lb, self.v_ub,
                                     replace(self.ocp_cfg, config="default"))
            tee["o"] = _OcpTee(self.ocp, edge_ocp, default, default_solves)
            self.ocp = tee["o"]  # type: ignore[assignment]
            m = self.m
            guess = (m.ocp_state(m.ss.x / m.x_scale), self.v)
            edge_ocp.set_guess(*guess)
            if default is not None:
                default.set_initial_guess(*guess)

    return _Verified


def _verified_lmpc(artifact: str | Path, edge_ocp: Any, tee: dict[str, Any], default_solves: int) -> type:
    """The lmpc with its Kalman filter and OCP teed to the artifact's (the filter built from the artifact's copy
    of the model file)."""
    from controllers.lmpc import LmpcController
    from controllers.lmpc._edge import EdgeLmpcController

    class _Verified(LmpcController):
        def reset(self, ctx: Any) -> None:
            super().reset(ctx)
            edge = EdgeLmpcController(artifact)
            edge.reset(ctx)  # the artifact's model file, its filter; checked against this scenario's tuning
            tee["t"] = _KalmanTee(self.kf, edge.kf)
            self.kf = tee["t"]  # type: ignore[assignment]
            default = self.build_ocp("default") if default_solves > 0 else None
            tee["o"] = _OcpTee(self.ocp, edge_ocp, default, default_solves)
            self.ocp = tee["o"]  # type: ignore[assignment]

    return _Verified


def _kpi_diff(dompc: dict[str, Any], edge: dict[str, Any] | None) -> dict[str, float] | None:
    """Edge minus do-mpc on the figures the edge must hold (energy relative, the others absolute)."""
    if edge is None:
        return None
    e0, e1 = float(dompc["energy_kwh_per_m2"]), float(edge["energy_kwh_per_m2"])
    return {"energy_rel": (e1 - e0) / e0 if e0 else float("nan"),
            "coat_weight_cpk": float(edge["coat_weight_cpk"]) - float(dompc["coat_weight_cpk"]),
            "scrap_m": float(edge["scrap_m"]) - float(dompc["scrap_m"]),
            "time_above_lel_limit_s": float(edge["time_above_lel_limit_s"]) - float(dompc["time_above_lel_limit_s"]),
            "solver_failures": float(edge["solver_failures"]) - float(dompc["solver_failures"]),
            "fallbacks": float(edge["fallbacks"]) - float(dompc["fallbacks"])}
