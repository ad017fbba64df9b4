"""Data given as one record or as several contiguous segments.

Estimators accept ``y`` and ``u`` either as single ``(N, l)``/``(N, m)``
arrays or as equally long lists of such arrays (contiguous segments of one
process, e.g. the training blocks around a held-out block in
cross-validation, or separate experiments). Each segment has its own
initial state; no regressor spans two segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mpc.sysid._errors import IdentificationError

__all__ = ["Segments", "as_segments"]

Segments = list[tuple[np.ndarray, np.ndarray]]


def as_segments(
    y: np.ndarray | Sequence[np.ndarray], u: np.ndarray | Sequence[np.ndarray]
) -> Segments:
    """``[(y_s, u_s), ...]`` as 2-D float arrays with matching lengths and widths."""
    ys = [y] if isinstance(y, np.ndarray) else list(y)
    us = [u] if isinstance(u, np.ndarray) else list(u)
    if len(ys) != len(us) or not ys:
        raise IdentificationError("y and u must hold the same (non-zero) number of segments")
    out: Segments = []
    for ys_, us_ in zip(ys, us, strict=True):
        ya = np.asarray(ys_, dtype=float)
        ua = np.asarray(us_, dtype=float)
        ya = ya[:, None] if ya.ndim == 1 else ya
        ua = ua[:, None] if ua.ndim == 1 else ua
        if ya.shape[0] != ua.shape[0]:
            raise IdentificationError(
                f"a segment has {ya.shape[0]} output rows but {ua.shape[0]} input rows"
            )
        out.append((ya, ua))
    if len({s[0].shape[1] for s in out}) != 1 or len({s[1].shape[1] for s in out}) != 1:
        raise IdentificationError("all segments must have the same input and output columns")
    return out
