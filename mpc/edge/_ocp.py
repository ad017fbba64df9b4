"""The exported tracking OCP on the edge: the artifact's stage functions and QP driver under :class:`RtiSolver`.

Loads an artifact written by ``calmline export`` (checked first by :func:`mpc.edge.read_artifact`) with ctypes
and numpy only. The time-varying parameters are packed in the manifest's layout (``ocp.tvp``: name and size, in
do-mpc's order), one row per stage; ``speed_target`` varies along the horizon, the others are the same at
every stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from mpc.edge._artifact import ArtifactError, open_library, read_artifact
from mpc.edge._bounds import stage_input_bounds
from mpc.edge._compiled import CompiledFunction
from mpc.edge._rti import RtiResult, RtiSolver

__all__ = ["EdgeOcp"]


class EdgeOcp:
    """The tracking OCP of an artifact (the NMPC's or the lmpc's): pack its parameters, solve it by RTI.

    Besides :meth:`solve_with` (everything given), it answers the design machine's OCP interface
    (:class:`controllers.nmpc.DynamicOcp`, :class:`controllers.lmpc.LinearOcp`: ``set_parameters``,
    ``set_stage_bounds``, ``set_initial_guess``, ``solve(x0)``), keeping the applied input and the stage bounds
    as do-mpc does, so that the controller's logic runs on it unchanged (``--controller edge:DIR``).

    Parameters
    ----------
    path : str or Path
        The artifact's folder.
    max_iter, cold_iter, step_tol, qp_mode
        :class:`mpc.edge.RtiSolver`'s (``max_iter`` is 1 for a linear-quadratic OCP, the lmpc's: its QP is the
        problem, and its step is taken whole).
    condense : bool or None
        :class:`mpc.edge.RtiSolver`'s; ``None``: the manifest's ``ocp.qp.condense`` (the export's choice).
    clock : callable
        The clock :attr:`deadline_s` is read on (default :func:`time.perf_counter`).

    Raises
    ------
    ArtifactError
        The artifact is missing a file, was changed after export, or holds no OCP.
    """

    def __init__(self, path: str | Path, *, max_iter: int = 10, cold_iter: int | None = None, step_tol: float = 1e-8,
                 qp_mode: str = "speed", condense: bool | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.artifact = art = read_artifact(path, "ocp")
        man = art.manifest["ocp"]
        self.manifest = man
        lib = open_library(art)
        try:
            stage = CompiledFunction(lib, man["functions"]["stage"])
            terminal = CompiledFunction(lib, man["functions"]["terminal"])
        except ValueError as exc:
            raise ArtifactError(f"{art.library}: {exc}") from exc
        self._stage, self._terminal = stage, terminal
        self.N = int(man["n_horizon"])
        self.layout = [(str(n), int(k)) for n, k in man["tvp"]]
        self.n_tvp = sum(k for _, k in self.layout)
        self.u_lower = np.asarray(man["input_lower"], float)
        self.u_upper = np.asarray(man["input_upper"], float)
        self.linear_quadratic = bool(man.get("linear_quadratic", False))
        """The OCP is a QP (the lmpc's): one SQP iteration solves it, whatever ``max_iter`` says."""
        if condense is None:
            condense = bool(man.get("qp", {}).get("condense", True))
        lq = self.linear_quadratic
        self.solver = RtiSolver(stage, terminal, lib, n_horizon=self.N, n_states=int(man["n_states"]),
                                n_inputs=int(man["n_inputs"]), n_colloc=int(man["n_colloc"]),
                                penalties=man["penalties"], constraint_ub=man["constraint_ub"],
                                move_weights=man["move_weights"], stage0_rows=man.get("stage0_constraints"),
                                max_iter=1 if lq else max_iter,
                                cold_iter=1 if lq else cold_iter,
                                step_tol=step_tol,
                                qp_mode=qp_mode, condense=condense,
                                line_search_above=np.inf if lq else 0.1, clock=clock)
        self.deadline_s: float | None = None
        """The next :meth:`solve`'s wall-clock deadline on ``clock`` (the controller's step watchdog sets it on a line,
        :class:`mpc.edge.StepWatchdog`); ``None``: the iteration cap alone (simulation: deterministic)."""
        self.out_of_time = 0
        """Solves cut short by their deadline."""
        self._tvp = np.zeros((self.N + 1, self.n_tvp))
        self.speed_index = int(man["speed_index"])
        self.values: dict[str, object] = {k: np.asarray(v, float) for k, v in man["initial_parameters"].items()}
        guess = man["initial_guess"]
        self.u_prev = np.asarray(guess["u"], float).copy()
        self.lbu = np.tile(self.u_lower, (self.N, 1))
        self.ubu = np.tile(self.u_upper, (self.N, 1))
        self.solver.set_guess(np.asarray(guess["x"], float), self.u_prev)
        self.lqr = False
        """The edge OCP's terminal cost is the export's (an identity weight); ``"lqr"`` is not exported."""
        self.fallbacks = 0
        """Solves handed to another solver (none on the edge: a failed solve is the controller's to handle)."""
        self.last: RtiResult | None = None

    def pack(self, values: Mapping[str, object]) -> np.ndarray:
        """The stages' parameter rows from named values (``speed_target``: one per stage, ``N + 1``)."""
        o = 0
        for name, size in self.layout:
            if name not in values:
                raise ValueError(f"OCP parameter {name!r} missing (expected {[n for n, _ in self.layout]})")
            v = np.asarray(values[name], float)
            if name == "speed_target":
                self._tvp[:, o] = np.broadcast_to(v.ravel(), (self.N + 1,))
            else:
                if v.size != size:
                    raise ValueError(f"OCP parameter {name!r}: {v.size} values, expected {size}")
                self._tvp[:, o:o + size] = v.ravel(order="F")
            o += size
        return self._tvp

    def set_guess(self, x: np.ndarray, u: np.ndarray) -> None:
        """Every stage at ``(x, u)`` (the first solve's guess, and after a restart)."""
        self.solver.set_guess(np.asarray(x, float), np.asarray(u, float))

    def solve_with(self, x0: np.ndarray, values: Mapping[str, object], u_prev: np.ndarray, lbu: np.ndarray,
                   ubu: np.ndarray) -> RtiResult:
        """Solve from the estimate ``x0`` with named parameters, the applied input and per-stage bounds, by
        :attr:`deadline_s` when set."""
        self.last = self.solver.solve(np.asarray(x0, float), self.pack(values), np.asarray(u_prev, float),
                                      np.asarray(lbu, float), np.asarray(ubu, float), deadline_s=self.deadline_s)
        self.out_of_time += int(self.last.out_of_time)
        return self.last

    # the design machine's OCP interface -------------------------------------------------------------------
    def set_parameters(self, **values: object) -> None:
        """Estimates, targets and schedule for the next solve (``speed_target`` per stage)."""
        self.values.update(values)

    def set_stage_bounds(self, u_prev_s: np.ndarray, rate_up_s: np.ndarray, rate_down_s: np.ndarray,
                         cap_s: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> None:
        """The stages' input bounds (:func:`mpc.edge.stage_input_bounds`) within ``lower``, ``upper`` (scaled;
        default: the manifest's ``input_lower``, ``input_upper``)."""
        self.lbu, self.ubu = stage_input_bounds(np.asarray(u_prev_s, float), rate_up_s, rate_down_s,
                                                np.asarray(cap_s, float)[: self.N],
                                                self.u_lower if lower is None else np.asarray(lower, float),
                                                self.u_upper if upper is None else np.asarray(upper, float),
                                                self.speed_index)

    def set_initial_guess(self, xs0: np.ndarray, us0: np.ndarray, *, reset_duals: bool = False) -> None:
        """Every stage at ``(xs0, us0)``, and ``us0`` taken as the applied input (as do-mpc's ``u0``)."""
        del reset_duals  # the RTI keeps no multipliers between solves
        self.set_guess(xs0, us0)
        self.u_prev = np.asarray(us0, float).copy()

    def solve(self, xs0: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        """Solve from ``xs0``; return ``(first move, success, planned moves)`` as the design machine's OCP does."""
        r = self.solve_with(xs0, self.values, self.u_prev, self.lbu, self.ubu)
        self.u_prev = r.u0.copy()  # do-mpc keeps its last move as the next solve's previous input
        return r.u0, r.ok, r.plan

    @property
    def memory_bytes(self) -> int:
        """The compiled part's memory for the OCP (bytes, all taken when loaded): HPIPM's QP and the stage and
        terminal functions' buffers."""
        return self.solver.qp.memory_bytes + self._stage.memory_bytes + self._terminal.memory_bytes

    @property
    def last_violation(self) -> float:
        """The last solve's largest collocation residual or continuity gap (scaled units)."""
        return float(max(self.last.colloc_residual, self.last.gap)) if self.last is not None else 0.0
