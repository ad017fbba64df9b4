"""Many steady states of one line model at once: Newton's method batched on the JAX model.

:func:`plants.steady.steady_state` settles one operating point with CVODES and polishes it with Newton's
method (CasADi). A plant-only sweep needs thousands of them, each near a known one (the scenario's own):
:func:`steady_states` runs Newton's method on the same equations (:func:`plants.steady.steady_problem`)
for all of them in one vectorised JAX computation from that known point, and solves any that does not
converge there with :func:`plants.steady.steady_state` itself, so every result is a converged steady
state of the same equations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plants.line import LineModel
from plants.steady import (
    OperatingPoint,
    SteadyState,
    steady_from_free,
    steady_problem,
    steady_state,
)

__all__ = ["NEWTON_ABSTOL", "NEWTON_ITERATIONS", "steady_states"]

NEWTON_ITERATIONS = 12
"""Newton iterations of the batched solve (each with the exact Jacobian)."""

NEWTON_ABSTOL = 1e-10
"""Largest absolute residual of the free states' equations for a batched solution to count as converged
(the single solve's Newton polish stops at 1e-12; the fallback is that solve)."""

_SOLVERS: dict[tuple[int, int], Any] = {}


def _solver(model: LineModel, free: np.ndarray) -> Any:
    key = (id(model), hash(free.tobytes()))
    if key not in _SOLVERS:
        import jax
        import jax.numpy as jnp

        f, _ = model.jax_functions()
        idx = jnp.asarray(free)

        def resid(z: Any, x0: Any, u: Any, d: Any) -> Any:
            return f(x0.at[idx].set(z), u, d)[idx]

        jac = jax.jacfwd(resid)

        def newton(z: Any, x0: Any, u: Any, d: Any) -> tuple[Any, Any]:
            def it(z: Any, _: Any) -> tuple[Any, None]:
                return z - jnp.linalg.solve(jac(z, x0, u, d), resid(z, x0, u, d)), None

            z, _ = jax.lax.scan(it, z, None, length=NEWTON_ITERATIONS)
            return z, jnp.max(jnp.abs(resid(z, x0, u, d)))

        _SOLVERS.clear()  # one model at a time: a sweep builds one
        _SOLVERS[key] = (model, jax.jit(jax.vmap(newton, in_axes=(None, 0, 0, 0))))
    return _SOLVERS[key][1]


def steady_states(model: LineModel, ops: Sequence[OperatingPoint], start: SteadyState, *,
                  critical_content_factors: Sequence[float] | None = None) -> tuple[list[SteadyState], int]:
    """Steady states of ``model`` under each of ``ops``, Newton's method from ``start`` (batched).

    Parameters
    ----------
    model : LineModel
        The line model.
    ops : sequence of OperatingPoint
        The operating points (their disturbances included).
    start : SteadyState
        A steady state of the same model near them (its free states start every Newton iteration).
    critical_content_factors : sequence of float, optional
        Each point's critical-content factor (``D_XCR``; default 1).

    Returns
    -------
    states : list of SteadyState
        One per operating point.
    fallbacks : int
        How many did not converge in :data:`NEWTON_ITERATIONS` iterations and were solved by
        :func:`plants.steady.steady_state` instead.
    """
    import jax.numpy as jnp

    if not ops:
        return [], 0
    xcr = [1.0] * len(ops) if critical_content_factors is None else [float(c) for c in critical_content_factors]
    if len(xcr) != len(ops):
        raise ValueError(f"critical_content_factors has {len(xcr)} values for {len(ops)} operating points")
    probs = [steady_problem(model, op, critical_content_factor=c) for op, c in zip(ops, xcr, strict=True)]
    free = probs[0].free
    if any(not np.array_equal(p.free, free) for p in probs):  # pragma: no cover - fixed by the layout
        raise ValueError("the operating points leave different states free")
    solve = _solver(model, free)
    z, worst = solve(jnp.asarray(start.x[free]), jnp.asarray(np.stack([p.x0 for p in probs])),
                     jnp.asarray(np.stack([p.u for p in probs])), jnp.asarray(np.stack([p.d for p in probs])))
    z, worst = np.asarray(z), np.asarray(worst)
    out, fallbacks = [], 0
    for i, (op, prob) in enumerate(zip(ops, probs, strict=True)):
        if np.isfinite(worst[i]) and worst[i] <= NEWTON_ABSTOL and np.all(np.isfinite(z[i])):
            out.append(steady_from_free(model, prob, z[i]))
        else:
            out.append(steady_state(model, op, critical_content_factor=xcr[i]))
            fallbacks += 1
    return out, fallbacks
