"""The tracking OCP on the edge: Gauss-Newton SQP in real-time-iteration form over the exported stage functions.

The NLP is do-mpc's (:mod:`controllers._export_ocp` says how each part is taken from it): node states
``x_0..x_N``, inputs ``u_0..u_{N-1}``, collocation states ``c_k``, one slack per soft constraint and stage.
Each iteration linearises every interval at the current point (``ocp_stage``), condenses its collocation
equations, and solves one QP in HPIPM (:class:`mpc.edge.StageQp`), the slacks HPIPM's soft constraints. The
move suppression ``r (u_k - u_{k-1})^2`` couples two stages: condensed, the coupling is added to the condensed
Hessian (:meth:`mpc.edge.StageQp.set_coupling`); stage-wise, stages ``1..N-1`` carry the previous input as
extra states (``[x_k; u_{k-1}]``); stage 0 prices the move from the applied input. The first stage's state is
the estimate, fixed. A solve runs a fixed number of iterations at most (deterministic: no clock) and stops
early when the largest step in the scaled variables is under ``step_tol``; it warm-starts from its own last
solution, as the design machine's tuned IPOPT does (do-mpc keeps the last solution as the next guess); a
shifted start (each stage from the next one's last solution) was measured and is not used: on the nominal
scenario's first 60 solves it took 11.5 iterations against 10.7 and its largest first-move difference from
do-mpc's was 0.042 against 0.0027 (30 iterations at most).

On a line, a solve may also be given a wall-clock deadline (``deadline_s``): it then starts another iteration only
if the longest iteration so far would end before it, and it does not begin at all when the deadline has passed (the
controller's fallback chain then answers). Without one (simulation, ``edge verify``) the count alone decides.

A step larger than ``line_search_above`` (scaled units) is accepted only if it lowers an exact-penalty merit
function (Han 1977; Nocedal & Wright 2006, section 18.3): the NLP's objective with the soft constraints' L1
penalties, plus ``merit_weight`` times the L1 norm of the collocation residuals and continuity gaps; otherwise
it is halved, up to ``line_search_max`` times. Without it, full steps from a cold start (the hand-back after a
line stop) were seen to cycle for 40 iterations; smaller steps, as near a solution, are taken whole.

Diehl, Bock & Schloder (2005), "A real-time iteration scheme for nonlinear optimization in optimal feedback
control", SIAM J. Control Optim. 43(5); Gros et al. (2020), "From linear to nonlinear MPC: bridging the gap via
the real-time iteration", Int. J. Control 93(1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mpc.edge._hpipm import QpStatus, StageQp

__all__ = ["RtiResult", "RtiSolver"]

StageFn = Callable[..., Sequence[np.ndarray]]


@dataclass(frozen=True)
class RtiResult:
    """One solve: the first move, whether it is trusted, the plan, and what the check found."""

    u0: np.ndarray
    ok: bool
    plan: np.ndarray
    iterations: int
    step: float
    """The last iteration's largest step (scaled units)."""
    qp: QpStatus
    colloc_residual: float
    """The collocation equations' largest residual at the last linearisation."""
    gap: float
    """The largest continuity gap ``x_{k+1} - x_end(k)`` at the last linearisation."""
    linearise_ms: float
    """Time spent in the stage functions and assembling the QP (all iterations)."""
    qp_ms: float
    """Time spent in HPIPM (all iterations)."""
    out_of_time: bool = False
    """The solve was cut short by its wall-clock deadline (``solve``'s ``deadline_s``): fewer iterations than the
    cap, or none at all when the deadline had passed before it began (then ``ok`` is False)."""


class RtiSolver:
    """Gauss-Newton SQP on the exported stage functions, the QP in HPIPM.

    Parameters
    ----------
    stage, terminal : callable
        ``ocp_stage(x, u, c, tvp)`` and ``ocp_terminal(x, tvp)`` (compiled, or CasADi functions on the design
        machine), returning their outputs in the order :mod:`controllers._export_ocp` documents.
    qp_lib : ctypes.CDLL
        The library holding the QP driver.
    n_horizon, n_states, n_inputs, n_colloc : int
        Dimensions.
    penalties, constraint_ub, move_weights : array_like
        The soft constraints' L1 penalties and upper bounds, the move-suppression factors.
    stage0_rows : sequence of int or None
        The soft constraints the first stage's QP carries: those that depend on the inputs (its state is fixed, so a
        constraint on the state alone has a fixed value and a fixed price there). ``None``: all.
    max_iter : int
        SQP iterations per solve at most.
    cold_iter : int or None
        SQP iterations at most for a solve from a cold start (after :meth:`set_guess`, or after a solve that was
        not finite): the hand-back after a line stop starts from the held inputs, far from the solution, where
        a warm solve starts next to it. ``None``: ``max_iter``.
    step_tol : float
        A solve stops when its largest step (scaled units) is under this.
    qp_mode, qp_iter_max, qp_tol, qp_mu0 : str, int, float, float
        HPIPM's preset, iteration limit, tolerance and initial barrier parameter (1e3: the fewest iterations of
        1e-2..1e4 on QPs recorded from the line-stop scenario's closed loop, 12-15 against 16-18 at 1e2).
    qp_warm_start : {0, 1, 2, 3}
        HPIPM's warm start from the last QP's solution (2, primal and dual: 6.4 interior-point iterations
        against 13 cold on 200 consecutive QPs of the nominal scenario's closed loop, the inputs within 2.5e-5
        (scaled) of the cold solutions; 3, hot start, failed 14 of them). It helps most between the SQP
        iterations of one solve (4.7 against 6.9 ms a QP), less from one control step to the next (6.2
        against 6.9 ms).
    condense : bool
        Condense the QP into the inputs (HPIPM's full condensing and dense interior point) rather than solve it
        stage-wise by Riccati recursion (``docs/edge.md``, "Solve time").
    line_search_above, line_search_max, merit_weight : float, int, float or None
        The line search: steps larger than this are checked, halved at most this often; the merit's weight on
        the equality residuals (default ten times the largest soft-constraint penalty).
    clock : callable
        The clock ``deadline_s`` is read on, seconds (default :func:`time.perf_counter`; tests give a fake one).
    """

    def __init__(self, stage: StageFn, terminal: StageFn, qp_lib: object, *, n_horizon: int, n_states: int,
                 n_inputs: int, n_colloc: int, penalties: Sequence[float], constraint_ub: Sequence[float],
                 move_weights: Sequence[float], stage0_rows: Sequence[int] | None = None, max_iter: int = 3,
                 cold_iter: int | None = None, step_tol: float = 1e-8,
                 qp_mode: str = "speed", qp_iter_max: int = 100, qp_tol: float = 1e-8, qp_mu0: float = 1e3,
                 qp_warm_start: int = 2, condense: bool = True, line_search_above: float = 0.1, line_search_max: int = 6,
                 merit_weight: float | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stage_fn, self.terminal_fn = stage, terminal
        self.clock = clock
        N, n, nu = n_horizon, n_states, n_inputs
        self.N, self.n, self.nu, self.nc = N, n, nu, n_colloc
        self.pen = np.asarray(penalties, float)
        self.h_ub = np.asarray(constraint_ub, float)
        self.rw = np.asarray(move_weights, float)
        nh = self.pen.size
        self.nh = nh
        self.rows0 = np.arange(nh) if stage0_rows is None else np.asarray(stage0_rows, int)
        if self.rows0.size and (self.rows0.min() < 0 or self.rows0.max() >= nh):
            raise ValueError(f"stage0_rows {self.rows0.tolist()}: expected indices of the {nh} soft constraints")
        nh0 = self.rows0.size
        self.max_iter, self.step_tol = int(max_iter), float(step_tol)
        self.cold_iter = int(max_iter if cold_iter is None else cold_iter)
        self.cold = True
        """The next solve starts cold (:attr:`cold_iter` iterations at most)."""
        self.ls_above, self.ls_max = float(line_search_above), int(line_search_max)

        self.sigma = float(merit_weight) if merit_weight is not None else 10.0 * float(np.max(self.pen, initial=1.0))
        self.line_search_steps = 0
        """Halvings taken over all solves (a count for the log)."""
        # the first stage's state is the estimate: eliminated (no QP state at stage 0). The move suppression
        # couples consecutive inputs: stage-wise (Riccati), stages 1..N-1 carry the previous input as states;
        # condensed, the coupling goes straight into the condensed Hessian (StageQp.set_coupling), which keeps
        # the stages at the model's states (on the NMPC's QP with HPIPM's default condensing, 1.9 against 2.3 MB)
        self.carry = carry = not condense
        nc = nu if carry else 0
        nx = [0] + [n + nc] * (N - 1) + [n]
        self.qp = StageQp(qp_lib, nx, [nu] * N + [0], [0] * (N + 1), [nh0] + [nh] * (N - 1) + [0], mode=qp_mode,
                          iter_max=qp_iter_max, tol=qp_tol, mu0=qp_mu0, condense=condense, warm_start=qp_warm_start)
        st = self.qp.stage
        # the constant parts, once: the dynamics of the carried input, the move weights' Hessian blocks
        two_r = np.diag(2.0 * self.rw)
        for k in range(N):
            if carry and k + 1 < N:  # the next stage carries this stage's input
                st["B"][k][n:, :] = np.eye(nu)
            if carry and k >= 1:
                st["Q"][k][n:, n:] = two_r
                st["S"][k][:, n:] = -two_r
            st["Zu"][k][:] = 0.0
            st["zu"][k][:] = self.pen if k > 0 else self.pen[self.rows0]
        if not carry:
            self.qp.set_coupling(2.0 * self.rw)
        self.x = np.zeros((N + 1, n))
        self.u = np.zeros((N, nu))
        self.c = np.zeros((N, n_colloc))
        self.K = np.zeros((N, n_colloc, 1 + n + nu))
        self._f0 = np.zeros((N, n))
        self._dx = np.zeros((N + 1, n))
        self._du = np.zeros((N, nu))
        self._dc = np.zeros((N, n_colloc))
        self._dz = np.zeros(1 + n + nu)
        self._dz[0] = 1.0

    def _merit(self, tvp: np.ndarray, u_prev: np.ndarray) -> float:
        """The exact-penalty merit at the current point (stage functions evaluated afresh)."""
        N = self.N
        phi = 0.0
        for k in range(N):
            out = self.stage_fn(self.x[k], self.u[k], self.c[k], tvp[k])
            phi += self._stage_merit(k, out, u_prev)
        phi += float(self.terminal_fn(self.x[N], tvp[N])[0].ravel()[0])
        return phi

    def _stage_merit(self, k: int, out: Sequence[np.ndarray], u_prev: np.ndarray) -> float:
        h, lterm, x_end, g1 = out[9], out[12], out[14], out[15]
        du = self.u[k] - (u_prev if k == 0 else self.u[k - 1])
        viol = np.maximum(h.ravel() - self.h_ub, 0.0)
        return (float(lterm.ravel()[0]) + float(self.rw @ (du * du)) + float(self.pen @ viol)
                + self.sigma * (float(g1.ravel()[0]) + float(np.abs(x_end.ravel() - self.x[k + 1]).sum())))

    def _take(self, alpha: float) -> None:
        """Move the point by ``alpha`` times the step held in ``_dx``, ``_du``, ``_dc``."""
        self.x[1:] += alpha * self._dx[1:]
        self.u += alpha * self._du
        self.c += alpha * self._dc

    def set_guess(self, x: np.ndarray, u: np.ndarray) -> None:
        """Every stage at ``(x, u)``, the collocation states at ``x`` (as do-mpc's ``set_initial_guess``)."""
        self.x[:] = x
        self.u[:] = u
        self.c[:] = np.tile(x, self.nc // self.n)
        self.cold = True

    def solve(self, x0: np.ndarray, tvp: np.ndarray, u_prev: np.ndarray, lbu: np.ndarray,
              ubu: np.ndarray, deadline_s: float | None = None) -> RtiResult:
        """Solve from ``x0`` with the stages' parameters ``tvp`` (``(N + 1, n_tvp)``), the applied input
        ``u_prev`` and per-stage input bounds ``lbu``, ``ubu`` (``(N, nu)``), by ``deadline_s`` on :attr:`clock`
        when given (``None``: the iteration cap alone, deterministic)."""
        N, n, nu = self.N, self.n, self.nu
        if deadline_s is not None and self.clock() >= deadline_s:
            # no time left for even one iteration: nothing is moved, the caller's fallback answers
            nan = float("nan")
            return RtiResult(self.u[0].copy(), False, self.u.copy(), 0, nan, QpStatus(-1, 0, nan, nan, nan, nan),
                             nan, nan, 0.0, 0.0, out_of_time=True)
        carry = self.carry
        st = self.qp.stage
        if not (np.all(np.isfinite(self.x)) and np.all(np.isfinite(self.u)) and np.all(np.isfinite(self.c))):
            self.set_guess(x0, np.clip(u_prev, lbu[0], ubu[0]))  # a failed solve's point is never a start
        self.x[0] = x0
        # the inputs inside their bounds before anything is evaluated there (as IPOPT pushes its start inside:
        # a guess from outside, such as the start-up inputs at a hand-back, may stand where the model does not)
        np.clip(self.u, lbu, ubu, out=self.u)
        step = np.inf
        status = QpStatus(-1, 0, np.nan, np.nan, np.nan, np.nan)
        colloc = gap = np.inf
        it = 0
        finite = True
        t_lin = t_qp = 0.0
        cap = self.cold_iter if self.cold else self.max_iter
        self.cold = False
        longest = 0.0
        out_of_time = False
        while it < cap:
            if deadline_s is not None and it > 0:
                now = self.clock()
                if now + longest > deadline_s:  # the next iteration would end past the deadline
                    out_of_time = True
                    break
            w0 = self.clock() if deadline_s is not None else 0.0
            it += 1
            t0 = time.perf_counter()
            colloc = gap = 0.0
            phi0 = 0.0
            for k in range(N):
                out = self.stage_fn(self.x[k], self.u[k], self.c[k], tvp[k])
                f0, A, B, K, gx, gu, Hxx, Hux, Huu, h, hx, hu, _, res = out[:14]
                phi0 += self._stage_merit(k, out, u_prev)
                colloc = max(colloc, float(res.ravel()[0]))
                self.K[k] = K
                self._f0[k] = f0.ravel()
                st["B"][k][:n, :] = B
                st["b"][k][:n] = self._f0[k] - self.x[k + 1]
                gap = max(gap, float(np.abs(st["b"][k][:n]).max()))
                if k > 0:
                    st["A"][k][:n, :n] = A
                    st["Q"][k][:n, :n] = Hxx
                    st["q"][k][:n] = gx.ravel()
                    st["S"][k][:, :n] = Hux
                    st["C"][k][:, :n] = hx
                st["R"][k][:] = Huu
                st["R"][k][np.diag_indices(nu)] += 2.0 * self.rw
                du = self.u[k] - (u_prev if k == 0 else self.u[k - 1])
                st["r"][k][:] = gu.ravel() + 2.0 * self.rw * du
                if carry and k >= 1:
                    st["q"][k][n:] = -2.0 * self.rw * du
                elif not carry and k + 1 < N:  # the next move's term in this input: its diagonal and gradient
                    st["R"][k][np.diag_indices(nu)] += 2.0 * self.rw
                    st["r"][k][:] -= 2.0 * self.rw * (self.u[k + 1] - self.u[k])
                if k > 0:
                    st["D"][k][:] = hu
                    st["ug"][k][:] = self.h_ub - h.ravel()
                else:  # the first stage: the constraints on the inputs only
                    st["D"][0][:] = hu[self.rows0]
                    st["ug"][0][:] = self.h_ub[self.rows0] - h.ravel()[self.rows0]
                st["lbu"][k][:] = lbu[k] - self.u[k]
                st["ubu"][k][:] = ubu[k] - self.u[k]
            mN, gN, HN = self.terminal_fn(self.x[N], tvp[N])
            phi0 += float(mN.ravel()[0])
            st["Q"][N][:] = HN
            st["q"][N][:] = gN.ravel()
            t1 = time.perf_counter()
            status = self.qp.solve()
            t2 = time.perf_counter()
            t_lin += t1 - t0
            t_qp += t2 - t1
            dx, du = st["x"], st["u"]
            finite = all(np.all(np.isfinite(a)) for a in dx) and all(np.all(np.isfinite(a)) for a in du[:N])
            if not finite:
                break
            step = 0.0
            for k in range(N):
                self._dz[1:1 + n] = dx[k][:n] if k > 0 else 0.0
                self._dz[1 + n:] = du[k]
                self._dc[k] = self.K[k] @ self._dz
                self._du[k] = du[k]
                step = max(step, float(np.abs(du[k]).max()))
            for k in range(1, N + 1):
                self._dx[k] = dx[k][:n]
                step = max(step, float(np.abs(dx[k][:n]).max()))
            self._take(1.0)
            if step > self.ls_above:  # a large step must lower the merit, else it is halved
                alpha = 1.0
                for _ in range(self.ls_max):
                    if self._merit(tvp, u_prev) < phi0:
                        break
                    self._take(-0.5 * alpha)  # back to half the last trial
                    alpha *= 0.5
                    self.line_search_steps += 1
                step *= alpha
            # a QP stopped at HPIPM's iteration limit still gives a step close to its solution: it is taken (the
            # line-stop scenario's restart: 1 failed solve where leaving the point unmoved made 2), but the solve
            # ends there, failed
            if deadline_s is not None:
                longest = max(longest, self.clock() - w0)
            if not status.ok or step <= self.step_tol:
                break
        ok = finite and status.ok and bool(np.all(np.isfinite(self.u)))
        if not finite:  # the next solve starts afresh
            self.x[:] = np.nan
        return RtiResult(self.u[0].copy(), ok, self.u.copy(), it, step, status, colloc, gap, 1e3 * t_lin,
                         1e3 * t_qp, out_of_time=out_of_time)
