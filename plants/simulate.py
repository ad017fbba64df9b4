"""Time integration of a :class:`~plants.line.LineModel`, in CasADi and JAX.

The explicit fourth-order Runge-Kutta step is written once
(:func:`rk4_step`) over the model's right-hand side, so the stepper the
harness calls (a compiled CasADi ``Function``) and the batched JAX
simulation (``jit`` + ``lax.scan`` over time + ``vmap`` over scenarios)
integrate the same equations the same way.

The fastest plant modes (film heat-up, evaporative cooling of a water film)
have time constants of about 1-2 s; RK4 is stable for ``|lambda| dt < 2.78``,
so a sub-step of at most 0.5 s (:data:`DEFAULT_SUBSTEP_S`) is used.

The fastest mode moves with the operating point (a faster web or a drier,
hotter film is stiffer), so a sub-step chosen once at the start can become
unstable later: RK4 then does not blow up but settles into a spurious cell
pattern (measured: graphite_water at 0.58 m/s needs 0.195 s where the
start-up point gave 0.30 s; with 0.30 s one cell condensed at 313 K between
neighbours at 327-330 K and the critical-rate ratio read 0.96 instead of
0.57). :class:`AdaptiveStepper` re-checks the bound along the run and adds
sub-steps when it is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from plants.backend import ops_by_name
from plants.line import LineModel

__all__ = [
    "DEFAULT_SUBSTEP_S",
    "AdaptiveStepper",
    "BatchSimulator",
    "casadi_stepper",
    "n_substeps",
    "rk4_step",
    "stable_substep_s",
    "substep_bound_s",
]

DEFAULT_SUBSTEP_S = 0.5
"""Largest RK4 sub-step, s."""


def n_substeps(dt_s: float, max_substep_s: float = DEFAULT_SUBSTEP_S) -> int:
    """Number of equal RK4 sub-steps that keeps each at most ``max_substep_s``."""
    if not dt_s > 0.0:
        raise ValueError(f"dt_s = {dt_s!r}: expected a positive step in seconds")
    return max(1, math.ceil(dt_s / max_substep_s - 1e-9))


def _jacobian_fn(model: LineModel) -> Any:
    import casadi as ca

    f, _ = model.casadi_functions()
    L = model.layout
    xs = ca.SX.sym("x", L.n_states)
    us = ca.SX.sym("u", L.n_inputs)
    ds = ca.SX.sym("d", L.n_disturbances)
    return ca.Function("line_jacobian", [xs, us, ds], [ca.jacobian(f(xs, us, ds), xs)])


def _diagonal_blocks(jac: Any) -> list[np.ndarray]:
    """Index sets of the strongly connected components of the Jacobian's structural pattern.

    Ordered by these components the matrix is block triangular (the web carries
    material one way, cell to cell), so its eigenvalues are those of the
    diagonal blocks: a zone's cells with its air, rather than all 115 states.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    sp = jac.sparsity_out(0)
    rows, cols = sp.get_triplet()
    n = sp.size1()
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=True, connection="strong")
    return [np.flatnonzero(labels == k) for k in range(n_comp)]


def substep_bound_s(jacobian: Any, cap_s: float = 1.0, blocks: list[np.ndarray] | None = None) -> float:
    """Largest RK4 sub-step with ``|lambda| h <= 2`` for a Jacobian matrix, at most ``cap_s``.

    ``blocks``: index sets of a block-triangular ordering (the eigenvalues are
    taken block by block); default the whole matrix.
    """
    a = np.asarray(jacobian, float)
    if blocks is None:
        lam = float(np.max(np.abs(np.linalg.eigvals(a))))
    else:
        single = np.array([b[0] for b in blocks if b.size == 1], int)
        lam = float(np.max(np.abs(a[single, single]))) if single.size else 0.0
        for b in blocks:
            if b.size > 1:
                lam = max(lam, float(np.max(np.abs(np.linalg.eigvals(a[np.ix_(b, b)])))))
    return min(cap_s, 2.0 / lam) if lam > 0 else cap_s


def _substep_from_jacobian(jac: Any, x: Any, u: Any, d: Any, cap_s: float,
                           blocks: list[np.ndarray] | None = None) -> float:
    a = jac(np.asarray(x, float), np.asarray(u, float), np.asarray(d, float))
    return substep_bound_s(a, cap_s, blocks)


def stable_substep_s(model: LineModel, x: Any, u: Any, d: Any, *, cap_s: float = 1.0) -> float:
    """Largest RK4 sub-step with ``|lambda| h <= 2`` at the point ``(x, u, d)``, at most ``cap_s``.

    RK4's stability boundary on the negative real axis is ``|lambda h| = 2.78``
    (2.83 on the imaginary axis); 2 leaves a margin for the state dependence
    of the fastest mode between checks. The bound holds at this point only:
    for a run that moves, use :class:`AdaptiveStepper`.
    """
    return _substep_from_jacobian(_jacobian_fn(model), x, u, d, cap_s)


def rk4_step(f: Callable[[Any, Any, Any], Any], x: Any, u: Any, d: Any, dt_s: float, n_sub: int) -> Any:
    """Advance ``x`` by ``dt_s`` with ``n_sub`` RK4 sub-steps, ``u`` and ``d`` held."""
    h = dt_s / n_sub
    for _ in range(n_sub):
        k1 = f(x, u, d)
        k2 = f(x + 0.5 * h * k1, u, d)
        k3 = f(x + 0.5 * h * k2, u, d)
        k4 = f(x + h * k3, u, d)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


def casadi_stepper(model: LineModel, dt_s: float, max_substep_s: float = DEFAULT_SUBSTEP_S) -> Any:
    """CasADi ``Function`` ``F(x, u, d) -> x_next`` over one interval ``dt_s``."""
    import casadi as ca

    L = model.layout
    ops = ops_by_name("casadi")
    x = ca.SX.sym("x", L.n_states)
    u = ca.SX.sym("u", L.n_inputs)
    d = ca.SX.sym("d", L.n_disturbances)
    xs = ca.SX.sym("xs", L.n_states)
    f = ca.Function("f", [xs, u, d], [model.rhs(ops, xs, u, d)])
    xn = rk4_step(f, x, u, d, dt_s, n_substeps(dt_s, max_substep_s))
    return ca.Function("line_step", [x, u, d], [xn], ["x", "u", "d"], ["x_next"])


class AdaptiveStepper:
    """CasADi RK4 step over ``dt_s`` whose sub-step count follows the plant's fastest mode.

    Every ``check_every_s`` of simulated time the stability bound of
    :func:`stable_substep_s` is evaluated at the current ``(x, u, d)`` (one
    Jacobian and the eigenvalues of its diagonal blocks in block-triangular
    order, about 1.5 ms for the 115-state plant) and the
    number of sub-steps is raised when the bound needs it. It is never
    lowered, so a run is deterministic and at least as fine as the first
    check; compiled steppers are cached by sub-step count.

    Parameters
    ----------
    model : LineModel
        The model to integrate.
    dt_s : float
        Interval over which ``u`` and ``d`` are held, s.
    x, u, d : array_like
        Starting point; the first bound is evaluated there.
    check_every_s : float
        Simulated time between checks, s (default 10 s; at least every call
        when ``dt_s`` is longer).
    cap_s : float
        Largest sub-step, s.

    Attributes
    ----------
    n_sub : int
        Sub-steps per interval now.
    n_sub_initial : int
        Sub-steps chosen at the starting point.
    """

    def __init__(self, model: LineModel, dt_s: float, x: Any, u: Any, d: Any, *,
                 check_every_s: float = 10.0, cap_s: float = 1.0) -> None:
        if not check_every_s > 0.0:
            raise ValueError(f"check_every_s = {check_every_s!r}: expected a positive time in seconds")
        self.model = model
        self.dt_s = float(dt_s)
        self.cap_s = float(cap_s)
        self._jac = _jacobian_fn(model)
        self._blocks = _diagonal_blocks(self._jac)
        self._every = max(1, round(check_every_s / self.dt_s))
        self._calls = 0
        self._steppers: dict[int, Any] = {}
        self.n_sub = n_substeps(self.dt_s, _substep_from_jacobian(self._jac, x, u, d, self.cap_s, self._blocks))
        self.n_sub_initial = self.n_sub

    def _stepper(self, n_sub: int) -> Any:
        if n_sub not in self._steppers:
            self._steppers[n_sub] = casadi_stepper(self.model, self.dt_s, self.dt_s / n_sub)
        return self._steppers[n_sub]

    def check(self, x: Any, u: Any, d: Any) -> int:
        """Re-evaluate the bound at ``(x, u, d)``; return the (possibly raised) sub-step count."""
        need = n_substeps(self.dt_s, _substep_from_jacobian(self._jac, x, u, d, self.cap_s, self._blocks))
        self.n_sub = max(self.n_sub, need)
        return self.n_sub

    def __call__(self, x: Any, u: Any, d: Any) -> np.ndarray:
        """State after ``dt_s`` from ``x`` with ``u`` and ``d`` held."""
        if self._calls % self._every == 0 and self._calls > 0:
            self.check(x, u, d)
        self._calls += 1
        return np.asarray(self._stepper(self.n_sub)(x, u, d)).ravel()


class BatchSimulator:
    """Batched JAX simulation of many scenarios of one line model.

    Parameters
    ----------
    model : LineModel
        The plant model (its parameters and discretisation).
    dt_s : float
        Interval at which inputs and disturbances change (the control interval).
    max_substep_s : float
        Largest RK4 sub-step.

    Notes
    -----
    :meth:`simulate` takes ``x0`` of shape ``(batch, n_states)`` and input and
    disturbance sequences of shape ``(batch, steps, n)``; it returns the states
    ``(batch, steps + 1, n_states)``. It is compiled once per shape.
    """

    def __init__(self, model: LineModel, dt_s: float, max_substep_s: float = DEFAULT_SUBSTEP_S) -> None:
        import jax

        self.model = model
        self.dt_s = float(dt_s)
        self.n_sub = n_substeps(dt_s, max_substep_s)
        f, g = model.jax_functions()
        dt, n_sub = self.dt_s, self.n_sub

        def step(x: Any, ud: tuple[Any, Any]) -> tuple[Any, Any]:
            u, d = ud
            xn = rk4_step(f, x, u, d, dt, n_sub)
            return xn, xn

        def one(x0: Any, us: Any, ds: Any) -> Any:
            _, xs = jax.lax.scan(step, x0, (us, ds))
            return xs

        def final_only(x0: Any, us: Any, ds: Any) -> Any:
            def stepf(x: Any, ud: tuple[Any, Any]) -> tuple[Any, None]:
                u, d = ud
                return rk4_step(f, x, u, d, dt, n_sub), None

            xf, _ = jax.lax.scan(stepf, x0, (us, ds))
            return xf

        self._f, self._g = f, g
        self._outputs_only: dict[tuple[int, ...], Any] = {}
        self._traj = jax.jit(jax.vmap(one))
        self._final = jax.jit(jax.vmap(final_only))
        self._out = jax.jit(jax.vmap(jax.vmap(g)))

    def simulate(self, x0: np.ndarray, us: np.ndarray, ds: np.ndarray) -> np.ndarray:
        """Trajectories of every scenario, ``(batch, steps + 1, n_states)``."""
        import jax.numpy as jnp

        xs = self._traj(jnp.asarray(x0), jnp.asarray(us), jnp.asarray(ds))
        return np.concatenate([np.asarray(x0)[:, None, :], np.asarray(xs)], axis=1)

    def final_state(self, x0: Any, us: Any, ds: Any, *, threads: int = 1) -> Any:
        """Only the last state of each scenario (no trajectory kept), as a JAX array; ``threads`` > 1 splits
        the batch into that many parts run at once (one per core: XLA runs one computation on one core)."""
        if threads <= 1:
            return self._final(x0, us, ds)
        import jax.numpy as jnp

        return jnp.concatenate(_in_parts(self._final, threads, x0, us, ds))

    def outputs(self, xs: np.ndarray, us: np.ndarray, ds: np.ndarray) -> np.ndarray:
        """Outputs along trajectories, ``(batch, steps, n_outputs)`` (``xs`` without the initial state)."""
        import jax.numpy as jnp

        return np.asarray(self._out(jnp.asarray(xs), jnp.asarray(us), jnp.asarray(ds)))

    def output_trajectories(self, x0: Any, us: Any, ds: Any, columns: tuple[int, ...], *,
                            threads: int = 1) -> np.ndarray:
        """The outputs ``columns`` at the end of every interval, ``(batch, steps, len(columns))``, without keeping
        the states (what a long batched run needs in memory); ``threads`` as in :meth:`final_state`."""
        import jax
        import jax.numpy as jnp

        key = tuple(int(c) for c in columns)
        if key not in self._outputs_only:
            f, g, dt, n_sub = self._f, self._g, self.dt_s, self.n_sub
            idx = jnp.asarray(key)

            def one(x0: Any, us: Any, ds: Any) -> Any:
                def step(x: Any, ud: tuple[Any, Any]) -> tuple[Any, Any]:
                    u, d = ud
                    xn = rk4_step(f, x, u, d, dt, n_sub)
                    return xn, g(xn, u, d)[idx]

                _, ys = jax.lax.scan(step, x0, (us, ds))
                return ys

            self._outputs_only[key] = jax.jit(jax.vmap(one))
        fn = self._outputs_only[key]
        if threads <= 1:
            return np.asarray(fn(jnp.asarray(x0), jnp.asarray(us), jnp.asarray(ds)))
        return np.concatenate([np.asarray(p) for p in _in_parts(fn, threads, x0, us, ds)])


def _in_parts(fn: Callable[..., Any], parts: int, *arrays: Any) -> list[Any]:
    """``fn`` on ``parts`` equal slices of the batch (leading axis) at once, one thread each; results in order."""
    from concurrent.futures import ThreadPoolExecutor

    import jax
    import jax.numpy as jnp

    n = int(np.shape(arrays[0])[0])
    bounds = np.linspace(0, n, min(parts, n) + 1).round().astype(int)

    def one(i: int) -> Any:
        a, b = bounds[i], bounds[i + 1]
        return jax.block_until_ready(fn(*(jnp.asarray(x[a:b]) for x in arrays)))

    with ThreadPoolExecutor(len(bounds) - 1) as pool:
        return list(pool.map(one, range(len(bounds) - 1)))
