"""Array back ends: one set of equations, evaluated by CasADi or by JAX.

Plant equations in calmline are written once, as functions of
``(ops, x, u, d, p)`` where ``ops`` is an :class:`ArrayOps`. The functions
use only the operations listed on :class:`ArrayOps` plus ``+ - * / **`` and
slicing of 1-D vectors, so the same source evaluates

* symbolically with CasADi ``SX`` column vectors (:data:`CASADI`): for do-mpc
  models, exact derivatives and C code generation, and
* numerically with JAX arrays (:data:`JAX`): for ``jit``/``vmap`` batched
  simulation and gradients, in 64-bit.

A test (``tests/test_backends_agree.py``) evaluates both on random points and
requires ``|a - b| <= 1e-9 * (1 + |b|)``.

Notes
-----
Only elementwise operations on 1-D vectors are used; no reshape (CasADi is
column-major, JAX row-major), no boolean masks. Piecewise laws are written
with ``minimum``/``maximum`` (``fmin``/``fmax`` in CasADi), which keeps
``NaN`` from an unused branch out of derivatives.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

__all__ = ["CASADI", "JAX", "NUMPY", "ArrayOps", "CasadiOps", "JaxOps", "NumpyOps", "ops_by_name"]


class ArrayOps(ABC):
    """The operations the physics may use; one subclass per back end."""

    name: str

    @abstractmethod
    def exp(self, a: Any) -> Any:
        """Elementwise exponential."""

    @abstractmethod
    def log(self, a: Any) -> Any:
        """Elementwise natural logarithm."""

    @abstractmethod
    def sqrt(self, a: Any) -> Any:
        """Elementwise square root."""

    @abstractmethod
    def minimum(self, a: Any, b: Any) -> Any:
        """Elementwise minimum (broadcasts a scalar)."""

    @abstractmethod
    def maximum(self, a: Any, b: Any) -> Any:
        """Elementwise maximum (broadcasts a scalar)."""

    @abstractmethod
    def concat(self, parts: Sequence[Any]) -> Any:
        """Concatenate 1-D vectors (and scalars) into one 1-D vector."""

    @abstractmethod
    def take(self, a: Any, index: Sequence[int]) -> Any:
        """Gather elements of a 1-D vector at integer positions."""

    @abstractmethod
    def sum(self, a: Any) -> Any:
        """Sum of all elements of a 1-D vector (a scalar)."""

    @abstractmethod
    def full(self, n: int, value: float) -> Any:
        """A 1-D vector of ``n`` copies of ``value``."""

    def repeat_each(self, a: Any, n_each: int) -> Any:
        """Repeat every element of a 1-D vector ``n_each`` times (``[a0, a0, a1, a1, ...]``)."""
        size = a.shape[0]
        return self.take(a, [i // n_each for i in range(size * n_each)])

    def clip(self, a: Any, lo: Any, hi: Any) -> Any:
        """Elementwise ``min(max(a, lo), hi)``."""
        return self.minimum(self.maximum(a, lo), hi)

    def segment_sums(self, a: Any, n_segments: int, seg_len: int) -> Any:
        """Sums of consecutive equal-length segments of a 1-D vector."""
        return self.concat(
            [self.sum(a[i * seg_len : (i + 1) * seg_len]) for i in range(n_segments)]
        )

    def segment_max(self, a: Any, n_segments: int, seg_len: int) -> Any:
        """Maxima of consecutive equal-length segments of a 1-D vector."""
        out = []
        for i in range(n_segments):
            m = a[i * seg_len]
            for j in range(1, seg_len):
                m = self.maximum(m, a[i * seg_len + j])
            out.append(m)
        return self.concat(out)


class CasadiOps(ArrayOps):
    """CasADi back end: ``SX``/``MX``/``DM`` column vectors."""

    name = "casadi"

    def __init__(self) -> None:
        import casadi as ca

        self._ca = ca

    def exp(self, a: Any) -> Any:
        return self._ca.exp(a)

    def log(self, a: Any) -> Any:
        return self._ca.log(a)

    def sqrt(self, a: Any) -> Any:
        return self._ca.sqrt(a)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._ca.fmin(a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._ca.fmax(a, b)

    def concat(self, parts: Sequence[Any]) -> Any:
        return self._ca.vertcat(*parts)

    def take(self, a: Any, index: Sequence[int]) -> Any:
        return a[list(index)]

    def sum(self, a: Any) -> Any:
        return self._ca.sum1(a)

    def full(self, n: int, value: float) -> Any:
        return self._ca.DM.ones(n, 1) * value


class JaxOps(ArrayOps):
    """JAX back end: 1-D ``jax.Array`` (64-bit; ``jax_enable_x64`` is switched on)."""

    name = "jax"

    def __init__(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self._np = jnp

    def exp(self, a: Any) -> Any:
        return self._np.exp(a)

    def log(self, a: Any) -> Any:
        return self._np.log(a)

    def sqrt(self, a: Any) -> Any:
        return self._np.sqrt(a)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._np.minimum(a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._np.maximum(a, b)

    def concat(self, parts: Sequence[Any]) -> Any:
        return self._np.concatenate([self._np.atleast_1d(p) for p in parts])

    def take(self, a: Any, index: Sequence[int]) -> Any:
        return a[self._np.asarray(index, dtype=int)]

    def sum(self, a: Any) -> Any:
        return self._np.sum(a)

    def full(self, n: int, value: float) -> Any:
        return self._np.full((n,), value)

    def segment_sums(self, a: Any, n_segments: int, seg_len: int) -> Any:
        return self._np.sum(self._np.reshape(a, (n_segments, seg_len)), axis=1)

    def repeat_each(self, a: Any, n_each: int) -> Any:
        return self._np.repeat(a, n_each, total_repeat_length=a.shape[0] * n_each)

    def segment_max(self, a: Any, n_segments: int, seg_len: int) -> Any:
        return self._np.max(self._np.reshape(a, (n_segments, seg_len)), axis=1)


class NumpyOps(ArrayOps):
    """NumPy back end: plain ``float`` or ``numpy.ndarray`` (reports, tests, tables)."""

    name = "numpy"

    def __init__(self) -> None:
        import numpy as np

        self._np = np

    def exp(self, a: Any) -> Any:
        return self._np.exp(a)

    def log(self, a: Any) -> Any:
        return self._np.log(a)

    def sqrt(self, a: Any) -> Any:
        return self._np.sqrt(a)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._np.minimum(a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._np.maximum(a, b)

    def concat(self, parts: Sequence[Any]) -> Any:
        return self._np.concatenate([self._np.atleast_1d(p) for p in parts])

    def take(self, a: Any, index: Sequence[int]) -> Any:
        return self._np.asarray(a)[self._np.asarray(index, dtype=int)]

    def sum(self, a: Any) -> Any:
        return self._np.sum(a)

    def full(self, n: int, value: float) -> Any:
        return self._np.full((n,), float(value))

    def segment_sums(self, a: Any, n_segments: int, seg_len: int) -> Any:
        return self._np.sum(self._np.reshape(a, (n_segments, seg_len)), axis=1)

    def segment_max(self, a: Any, n_segments: int, seg_len: int) -> Any:
        return self._np.max(self._np.reshape(a, (n_segments, seg_len)), axis=1)


class _Lazy:
    """Instantiate a back end on first use (keeps ``import mpc`` light)."""

    def __init__(self, cls: type[ArrayOps]) -> None:
        self._cls = cls
        self._inst: ArrayOps | None = None

    def get(self) -> ArrayOps:
        if self._inst is None:
            self._inst = self._cls()
        return self._inst


_CASADI = _Lazy(CasadiOps)
_JAX = _Lazy(JaxOps)
_NUMPY = _Lazy(NumpyOps)


def ops_by_name(name: str) -> ArrayOps:
    """Return the back end called ``"casadi"`` or ``"jax"``."""
    if name == "casadi":
        return _CASADI.get()
    if name == "jax":
        return _JAX.get()
    if name == "numpy":
        return _NUMPY.get()
    raise ValueError(f"unknown array back end {name!r}; expected 'casadi', 'jax' or 'numpy'")


def __getattr__(attr: str) -> ArrayOps:
    if attr == "CASADI":
        return _CASADI.get()
    if attr == "JAX":
        return _JAX.get()
    if attr == "NUMPY":
        return _NUMPY.get()
    raise AttributeError(attr)


CASADI: ArrayOps
JAX: ArrayOps
NUMPY: ArrayOps
