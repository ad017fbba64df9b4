"""The OCP's per-stage input bounds: the move limits from the applied input and the speed cap along the horizon.

One copy, used by the design machine's do-mpc OCP (:meth:`controllers.nmpc.DynamicOcp.set_stage_bounds`) and
by the edge's (:class:`mpc.edge.EdgeOcp`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["stage_input_bounds"]


def stage_input_bounds(u_prev: np.ndarray, rate_up: np.ndarray, rate_down: np.ndarray, cap: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray, speed_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Hard move limits on the executed move, cumulative limits on later moves, the speed cap per stage.

    Parameters
    ----------
    u_prev : ndarray
        The applied input (scaled).
    rate_up, rate_down : ndarray
        The largest rise / fall of each scaled input in one step (the exhaust may open fast but closes slowly).
    cap : ndarray
        The line speed's cap per stage (scaled), ``N`` values.
    lower, upper : ndarray
        The inputs' bounds (scaled).
    speed_index : int
        The line speed's index among the inputs.

    Returns
    -------
    lo, hi : ndarray
        ``(N, n_inputs)``: stage ``k`` within ``(k + 1)`` moves of ``u_prev``, inside the bounds, the speed
        under its cap (``lo <= hi`` always: the lower bound gives way).
    """
    N = len(cap)
    k = np.arange(1, N + 1)[:, None]
    lo = np.maximum(lower, u_prev - k * rate_down)
    hi = np.minimum(upper, u_prev + k * rate_up)
    hi[:, speed_index] = np.minimum(hi[:, speed_index], cap)
    return np.minimum(lo, hi), hi
