"""MIMO ARX estimation by linear least squares and its observer-form realisation.

The model (Ljung 1999, sec. 4.2) is

.. math::

    y_t + A_1 y_{t-1} + \\dots + A_{n_a} y_{t-n_a}
        = \\sum_{i=1}^{m} \\sum_{k=n_{k,i}}^{n_{k,i}+n_{b,i}-1} b_{i,k} u_{i,t-k} + e_t

with ``A_j`` full ``p x p`` matrices (every output regresses on every past
output), ``n_b`` coefficients per input starting at delay ``n_k``. ``nb`` and
``nk`` may be given per input.

References
----------
L. Ljung, *System Identification: Theory for the User*, 2nd ed., Prentice
Hall, 1999, sections 4.2 and 10.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import StateSpaceModel
from mpc.sysid._segments import as_segments

__all__ = ["ArxOrders", "arx", "arx_to_state_space", "parse_arx_orders"]


@dataclass(frozen=True)
class ArxOrders:
    """ARX orders: ``na`` (scalar), ``nb`` and ``nk`` per input."""

    na: int
    nb: tuple[int, ...]
    nk: tuple[int, ...]

    @property
    def lags(self) -> int:
        """Number of past samples the model uses: ``max(na, nk + nb - 1)``."""
        return max([self.na] + [k + b - 1 for k, b in zip(self.nk, self.nb, strict=True)])

    def label(self) -> str:
        """``"ARX(2,2,3)"`` (per-input lists when they differ)."""

        def fmt(v: tuple[int, ...]) -> str:
            return str(v[0]) if len(set(v)) == 1 else "[" + " ".join(map(str, v)) + "]"

        return f"ARX({self.na},{fmt(self.nb)},{fmt(self.nk)})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {"na": self.na, "nb": list(self.nb), "nk": list(self.nk)}


def _per_input(value: int | tuple[int, ...] | list[int], m: int, what: str) -> tuple[int, ...]:
    vals = [int(value)] * m if np.isscalar(value) else [int(v) for v in value]  # type: ignore[arg-type]
    if len(vals) != m:
        raise IdentificationError(f"ARX {what}={value!r}: expected one value or {m} (one per input)")
    return tuple(vals)


def parse_arx_orders(text: str, m: int) -> ArxOrders:
    """Parse ``"NA,NB,NK"`` (CLI ``--arx-orders``).

    Raises
    ------
    IdentificationError
        Not three non-negative integers, or ``na = nb = 0``.
    """
    parts = [s.strip() for s in str(text).split(",")]
    try:
        na, nb, nk = (int(s) for s in parts)
    except ValueError:
        raise IdentificationError(
            f"--arx-orders {text!r}: expected three integers NA,NB,NK (e.g. 2,2,1)"
        ) from None
    return _orders(na, nb, nk, m)


def _orders(na: int, nb: int | tuple[int, ...], nk: int | tuple[int, ...], m: int) -> ArxOrders:
    nbs, nks = _per_input(nb, m, "nb"), _per_input(nk, m, "nk")
    if na < 0 or min(nbs) < 0 or min(nks) < 0:
        raise IdentificationError(f"ARX orders na={na}, nb={nb}, nk={nk}: must be >= 0")
    if na == 0 and max(nbs) == 0:
        raise IdentificationError("ARX orders: na = nb = 0 leaves nothing to estimate")
    orders = ArxOrders(na, nbs, nks)
    if orders.lags < 1:
        raise IdentificationError(
            f"ARX orders na={na}, nb={nb}, nk={nk}: a static model (no past samples); "
            "use na >= 1 or nk + nb >= 2"
        )
    return orders


def arx(
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    na: int,
    nb: int | tuple[int, ...],
    nk: int | tuple[int, ...] = 1,
    *,
    dt: float = 1.0,
) -> tuple[StateSpaceModel, ArxOrders]:
    """Least-squares MIMO ARX model, realised in observer form.

    Parameters
    ----------
    y : numpy.ndarray or list of numpy.ndarray
        ``(N, p)`` outputs (or a list of segments, see :mod:`mpc.sysid._segments`).
    u : numpy.ndarray or list of numpy.ndarray
        ``(N, m)`` inputs.
    na : int
        Number of past outputs (full ``p x p`` coefficient matrices).
    nb, nk : int or tuple of int
        Number of input coefficients and input delay (samples), scalar or per
        input. ``nk = 0`` gives a direct feed-through ``D``.
    dt : float
        Sample time in seconds.

    Returns
    -------
    (StateSpaceModel, ArxOrders)
        The observer-form realisation (state dimension ``p * lags``, ``K``
        the ARX predictor's gain, so that ``A - K C`` is nilpotent) and the
        orders used.

    Raises
    ------
    IdentificationError
        Too few samples for the number of parameters.

    References
    ----------
    Ljung (1999), sec. 4.2 (ARX), sec. 4.3 (observer canonical form).
    """
    segs = as_segments(y, u)
    p, m = segs[0][0].shape[1], segs[0][1].shape[1]
    orders = _orders(na, nb, nk, m)
    s = orders.lags
    n_par = p * orders.na + sum(orders.nb)
    n_rows = sum(max(ys.shape[0] - s, 0) for ys, _ in segs)
    N = sum(ys.shape[0] for ys, _ in segs)
    if n_rows < n_par + 1:
        raise IdentificationError(
            f"ARX {orders.label()}: {N} samples give {n_rows} regression rows for {n_par} "
            f"parameters per output; need at least {n_par + s + 1} samples"
        )
    phis, targets = [], []
    for ys, us in segs:
        if ys.shape[0] <= s:
            continue
        rows = np.arange(s, ys.shape[0])
        cols = [-ys[rows - j] for j in range(1, orders.na + 1)]
        for i in range(m):
            cols += [us[rows - k, i : i + 1]
                     for k in range(orders.nk[i], orders.nk[i] + orders.nb[i])]
        phis.append(np.concatenate(cols, axis=1))
        targets.append(ys[rows])
    phi = np.concatenate(phis, axis=0)
    theta, *_ = np.linalg.lstsq(phi, np.concatenate(targets, axis=0), rcond=None)  # (n_par, p)
    a_mats = np.zeros((s + 1, p, p))
    b_mats = np.zeros((s + 1, p, m))
    for j in range(1, orders.na + 1):
        a_mats[j] = theta[(j - 1) * p : j * p].T
    pos = p * orders.na
    for i in range(m):
        for k in range(orders.nk[i], orders.nk[i] + orders.nb[i]):
            b_mats[k, :, i] = theta[pos]
            pos += 1
    return arx_to_state_space(a_mats, b_mats, dt=dt), orders


def arx_to_state_space(a_mats: np.ndarray, b_mats: np.ndarray, *, dt: float = 1.0) -> StateSpaceModel:
    """Observer-form realisation of ``A(q) y = B(q) u + e``.

    Parameters
    ----------
    a_mats : numpy.ndarray
        ``(s + 1, p, p)``; ``a_mats[j]`` multiplies ``y_{t-j}`` (``a_mats[0]``
        is ignored: the identity).
    b_mats : numpy.ndarray
        ``(s + 1, p, m)``; ``b_mats[k]`` multiplies ``u_{t-k}``.

    Returns
    -------
    StateSpaceModel
        States ``x = [x_1; ...; x_s]`` (``p`` each) with
        ``y_t = x_1 + B_0 u_t + e_t`` and
        ``x_{j,t+1} = -A_j y_t + B_j u_t + x_{j+1,t}``.
    """
    s = a_mats.shape[0] - 1
    p, m = b_mats.shape[1], b_mats.shape[2]
    n = p * s
    A = np.zeros((n, n))
    B = np.zeros((n, m))
    K = np.zeros((n, p))
    D = b_mats[0].copy()
    for j in range(1, s + 1):
        r = slice((j - 1) * p, j * p)
        A[r, 0:p] = -a_mats[j]
        if j < s:
            A[r, j * p : (j + 1) * p] = np.eye(p)
        B[r] = b_mats[j] - a_mats[j] @ D
        K[r] = -a_mats[j]
    C = np.zeros((p, n))
    C[:, :p] = np.eye(p)
    return StateSpaceModel(A, B, C, D, K, np.zeros(n), dt)
