"""The stage-structured QP of the tracking OCP, solved by HPIPM through calmline's C driver (``csrc/calmline_qp.c``).

The driver takes all of HPIPM's memory once, when the QP is created; a solve copies the stages' blocks from
buffers allocated here once (:class:`StageQp`'s per-stage views are numpy views of them) and allocates nothing.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

__all__ = ["QpStatus", "StageQp"]

_D = ctypes.POINTER(ctypes.c_double)
_I = ctypes.POINTER(ctypes.c_int)
_MODES = {"speed_abs": 0, "speed": 1, "balance": 2, "robust": 3}


@dataclass(frozen=True)
class QpStatus:
    """HPIPM's verdict on one QP: ``status`` 0 success, 1 maximum iterations, 2 minimum step length, 3 NaN."""

    status: int
    iterations: int
    res_stat: float
    res_eq: float
    res_ineq: float
    res_comp: float

    @property
    def ok(self) -> bool:
        return self.status == 0


class StageQp:
    """One QP of ``N`` stages (HPIPM's OCP QP), every buffer allocated once.

    Parameters
    ----------
    lib : ctypes.CDLL
        A library holding calmline's QP driver (an artifact's).
    nx, nu, nbx, ng : sequence of int
        Per stage ``0..N``: states, inputs (0 at ``N``), bounded leading states, soft general constraints.
    mode : {"speed_abs", "speed", "balance", "robust"}
        HPIPM's preset.
    iter_max : int
        Interior-point iterations at most.
    tol : float
        Tolerance on the stationarity, equality, inequality and complementarity residuals.
    mu0 : float
        Initial barrier parameter.
    ric_alg : {0, 1}
        HPIPM's Riccati recursion: 0 classical (needs the reduced Hessian positive semi-definite), 1 square-root.
    condense : bool
        Condense the stages into one dense QP (HPIPM's full condensing; the first stage must have no states)
        and solve that with HPIPM's dense interior point: fewer operations per iteration where the states
        outnumber the inputs.
    warm_start : {0, 1, 2, 3}
        HPIPM's warm start from the last solution held: 0 none, 1 primal, 2 primal and dual, 3 hot start.
    """

    def __init__(self, lib: ctypes.CDLL, nx: list[int], nu: list[int], nbx: list[int], ng: list[int], *,
                 mode: str = "speed", iter_max: int = 30, tol: float = 1e-8, mu0: float = 1e2,
                 ric_alg: int = 1, condense: bool = False, warm_start: int = 0) -> None:
        if mode not in _MODES:
            raise ValueError(f"QP mode {mode!r}: expected one of {sorted(_MODES)}")
        self.N = N = len(nx) - 1
        self.nx, self.nu, self.nbx, self.ng = (list(map(int, a)) for a in (nx, nu, nbx, ng))
        for fn, res, args in (("cl_qp_create", ctypes.c_void_p, [ctypes.c_int, _I, _I, _I, _I, ctypes.c_int,
                                                                  ctypes.c_int, ctypes.c_double, ctypes.c_double,
                                                                  ctypes.c_int, ctypes.c_int, ctypes.c_int]),
                              ("cl_qp_free", None, [ctypes.c_void_p]),
                              ("cl_qp_set_warm_start", None, [ctypes.c_void_p, ctypes.c_int]),
                              ("cl_qp_memory_bytes", ctypes.c_long, [ctypes.c_void_p]),
                              ("cl_qp_set_coupling", ctypes.c_int, [ctypes.c_void_p, _D]),
                              ("cl_qp_solve", ctypes.c_int, [ctypes.c_void_p] + [_D] * 22)):
            f = getattr(lib, fn)
            f.restype, f.argtypes = res, args
        self._lib = lib
        self.warm_start = int(warm_start)
        self.cold_retries = 0
        """Solves that failed warm-started and were solved again cold."""
        arr = [(ctypes.c_int * (N + 1))(*a) for a in (self.nx, self.nu, self.nbx, self.ng)]
        self._h = lib.cl_qp_create(N, *arr, _MODES[mode], int(iter_max), float(tol), float(mu0),
                                  int(ric_alg), int(bool(condense)), int(warm_start))
        if not self._h:
            raise ValueError("the QP driver refused the dimensions (or is out of memory)")
        nx_, nu_, nbx_, ng_ = self.nx, self.nu, self.nbx, self.ng

        def blocks(shapes: list[tuple[int, int]]) -> tuple[np.ndarray, list[np.ndarray]]:
            flat = np.zeros(max(1, sum(r * c for r, c in shapes)))
            views, o = [], 0
            for r, c in shapes:
                views.append(flat[o:o + r * c].reshape((r, c), order="F"))
                o += r * c
            return flat, views

        ks = range(N + 1)
        kd = range(N)
        self._flat: dict[str, np.ndarray] = {}
        self.stage: dict[str, list[np.ndarray]] = {}
        for name, shapes in (
            ("A", [(nx_[k + 1], nx_[k]) for k in kd]), ("B", [(nx_[k + 1], nu_[k]) for k in kd]),
            ("b", [(nx_[k + 1], 1) for k in kd]), ("Q", [(nx_[k], nx_[k]) for k in ks]),
            ("S", [(nu_[k], nx_[k]) for k in ks]), ("R", [(nu_[k], nu_[k]) for k in ks]),
            ("q", [(nx_[k], 1) for k in ks]), ("r", [(nu_[k], 1) for k in ks]),
            ("lbx", [(nbx_[k], 1) for k in ks]), ("ubx", [(nbx_[k], 1) for k in ks]),
            ("lbu", [(nu_[k], 1) for k in ks]), ("ubu", [(nu_[k], 1) for k in ks]),
            ("C", [(ng_[k], nx_[k]) for k in ks]), ("D", [(ng_[k], nu_[k]) for k in ks]),
            ("ug", [(ng_[k], 1) for k in ks]), ("Zu", [(ng_[k], 1) for k in ks]), ("zu", [(ng_[k], 1) for k in ks]),
            ("x", [(nx_[k], 1) for k in ks]), ("u", [(nu_[k], 1) for k in ks]), ("s", [(ng_[k], 1) for k in ks]),
            ("lam", [(ng_[k], 1) for k in ks]),
        ):
            flat, views = blocks(shapes)
            self._flat[name] = flat
            matrix = name in ("A", "B", "Q", "S", "R", "C", "D")
            self.stage[name] = [v if matrix else v[:, 0] for v in views]
        self._stats = np.zeros(6)
        order = ("A", "B", "b", "Q", "S", "R", "q", "r", "lbx", "ubx", "lbu", "ubu", "C", "D", "ug", "Zu", "zu",
                 "x", "u", "s", "lam")
        self._args = [self._flat[n].ctypes.data_as(_D) for n in order] + [self._stats.ctypes.data_as(_D)]

    def set_coupling(self, r2: np.ndarray) -> None:
        """Couple consecutive stages' inputs by ``-r2`` in the condensed Hessian (a condensed QP with the same input
        count at every stage): the move suppression ``r (u_k - u_{k-1})^2`` without the previous input carried as
        states (``r2 = 2 r``; the stages' ``R`` and ``r`` hold its diagonal and gradient)."""
        v = np.ascontiguousarray(r2, float)
        if v.size != self.nu[0] or self._lib.cl_qp_set_coupling(self._h, v.ctypes.data_as(_D)) != 0:
            raise ValueError("input coupling needs a condensed QP with the same input count at every stage, and "
                             f"one weight per input ({self.nu[0]}); got {v.size}")

    @property
    def memory_bytes(self) -> int:
        """The memory HPIPM holds for this QP (bytes), taken once."""
        return int(self._lib.cl_qp_memory_bytes(self._h))

    def solve(self) -> QpStatus:
        """Solve the QP held in the stage buffers; the solution is in ``stage["x"]``, ``["u"]``, ``["s"]``.

        A warm-started solve that fails is solved again cold (a stale start, after the problem changed much,
        can hold the interior point at its iteration limit)."""
        self._lib.cl_qp_solve(self._h, *self._args)
        if self._stats[0] != 0 and self.warm_start:
            self.cold_retries += 1
            self._lib.cl_qp_set_warm_start(self._h, 0)
            self._lib.cl_qp_solve(self._h, *self._args)
            self._lib.cl_qp_set_warm_start(self._h, self.warm_start)
        st = self._stats
        return QpStatus(int(st[0]), int(st[1]), float(st[2]), float(st[3]), float(st[4]), float(st[5]))

    def __del__(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            self._lib.cl_qp_free(h)
