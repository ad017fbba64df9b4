"""Scoped limit on the BLAS thread pool.

Model selection runs thousands of small factorisations (SVDs of Jacobians,
least squares on a few hundred rows). OpenBLAS threads them anyway, and on a
small, shared machine the threads mostly wait for each other: on the 2-core
development machine a selection run took ten times longer with 2 BLAS
threads than with 1. :func:`blas_threads` limits the pool inside a ``with``
block and restores it afterwards. It uses ``threadpoolctl`` when that is
installed, else sets the OpenBLAS libraries already loaded in the process
(numpy's and scipy's bundled copies) through their C entry points; anywhere
that fails it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

__all__ = ["blas_threads"]

_SETTERS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


_HANDLES: list[tuple[object, object]] | None = None
_DEPTH = 0


def _openblas_handles() -> list[tuple[object, object]]:
    """Setter/getter pairs of the OpenBLAS libraries loaded now (cached after the first call)."""
    global _HANDLES
    if _HANDLES is not None:
        return _HANDLES
    handles: list[tuple[object, object]] = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _SETTERS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                handles.append((getattr(lib, set_name), getattr(lib, get_name)))
                break
    _HANDLES = handles
    return handles


@contextlib.contextmanager
def blas_threads(limit: int = 1) -> Iterator[None]:
    """Limit BLAS threads to ``limit`` inside the block (best effort; nesting is cheap)."""
    global _DEPTH
    if _DEPTH > 0:  # already limited by an enclosing block
        yield
        return
    _DEPTH += 1
    try:
        try:
            from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
        except ImportError:
            threadpool_limits = None
        if threadpool_limits is not None:
            with threadpool_limits(limits=limit, user_api="blas"):
                yield
            return
        saved = []
        for setter, getter in _openblas_handles():
            try:
                saved.append((setter, int(getter())))  # type: ignore[operator]
                setter(ctypes.c_int(limit))  # type: ignore[operator]
            except (OSError, ValueError, TypeError):
                continue
        try:
            yield
        finally:
            for setter, value in saved:
                with contextlib.suppress(OSError, ValueError, TypeError):
                    setter(ctypes.c_int(value))  # type: ignore[operator]
    finally:
        _DEPTH -= 1
