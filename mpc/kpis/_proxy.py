"""End-of-line cell-resistance PROXY per metre (a labelled proxy, not a model of a cell).

``R_rel = 1 + a_cw (cw / cw_target - 1) + a_bm max(0, bm - 1) + a_rs max(0, x / x_usl)``

with ``cw`` the dry coat weight, ``bm`` the metre's peak binder-migration
ratio, ``x`` its exit residual solvent. The coefficients are fixed
assumptions (not fitted to cell data), set in :class:`~mpc.kpis.KpiSpec`:
``a_cw = 0.8`` (a heavier electrode is thicker: a longer ionic path),
``a_bm = 0.5`` (binder driven to the surface costs adhesion and contact),
``a_rs = 0.05`` (solvent left in the electrode).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mpc.kpis._capability import S_REL_TOL

__all__ = ["coefficient_of_variation", "resistance_proxy"]


def resistance_proxy(
    coat_weight_kg_m2: NDArray[np.float64],
    binder_ratio: NDArray[np.float64],
    residual_kg_kg: NDArray[np.float64],
    *,
    coat_weight_target_kg_m2: float,
    residual_usl_kg_kg: float,
    a_cw: float,
    a_bm: float,
    a_rs: float,
) -> NDArray[np.float64]:
    """Relative end-of-line resistance proxy per metre (1.0 at target, no migration, dry).

    Parameters
    ----------
    coat_weight_kg_m2, binder_ratio, residual_kg_kg : ndarray
        Per-metre coat weight, peak critical-rate ratio and exit residual.
    coat_weight_target_kg_m2, residual_usl_kg_kg : float
        Target coat weight and residual-solvent USL (normalisers).
    a_cw, a_bm, a_rs : float
        Proxy coefficients (assumptions).

    Returns
    -------
    ndarray
        ``R_rel`` per metre (dimensionless).
    """
    return (
        1.0
        + a_cw * (coat_weight_kg_m2 / coat_weight_target_kg_m2 - 1.0)
        + a_bm * np.maximum(0.0, binder_ratio - 1.0)
        + a_rs * np.maximum(0.0, residual_kg_kg / residual_usl_kg_kg)
    )


def coefficient_of_variation(x: NDArray[np.float64]) -> float:
    """``std(ddof=1) / mean``.

    0.0 for fewer than 2 values, for a mean that is not positive, and for a
    spread at round-off level (``s <= S_REL_TOL * mean``, as for capability).
    """
    if x.size < 2:
        return 0.0
    mean = float(np.mean(x))
    if not mean > 0.0:
        return 0.0
    s = float(np.std(x, ddof=1))
    return 0.0 if s <= S_REL_TOL * mean else s / mean
