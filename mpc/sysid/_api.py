"""High-level :func:`identify`: file to validated model in one call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mpc.sysid._arx import ArxOrders, parse_arx_orders
from mpc.sysid._data import (
    Dataset,
    check_excitation,
    load_dataset,
    parse_names,
    parse_slice,
    select_signals,
    slice_text,
)
from mpc.sysid._detrend import PROTOCOLS, apply_protocol
from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import IdentifiedModel, StateSpaceModel
from mpc.sysid._select import METHODS, SelectionOptions, fit_candidate, select_model
from mpc.sysid._simulate import estimate_x0
from mpc.sysid._threads import blas_threads
from mpc.sysid._validate import compare, cross_correlation_test, kstep_fit, whiteness_test

__all__ = ["identify", "validate_model"]


def _check_outputs(y: np.ndarray, names: tuple[str, ...], rows: slice, source: str, what: str) -> None:
    for k, name in enumerate(names):
        if float(np.ptp(y[:, k])) <= 1e-12 * max(float(np.max(np.abs(y[:, k]))), 1.0):
            raise IdentificationError(
                f"{source}: output column '{name}' is constant ({y[0, k]:.6g}) over {what} rows "
                f"{slice_text(rows)}; nothing to identify or fit"
            )


def _order(order: int | str | None) -> int | None:
    if order is None or (isinstance(order, str) and order.strip().lower() == "auto"):
        return None
    try:
        value = int(order)
    except (TypeError, ValueError):
        raise IdentificationError(f"order {order!r}: expected a positive integer or 'auto'") from None
    if value < 1:
        raise IdentificationError(f"order {order!r}: expected a positive integer or 'auto'")
    return value


def validate_model(
    model: StateSpaceModel, y: np.ndarray, u: np.ndarray, output_names: tuple[str, ...]
) -> dict[str, Any]:
    """Free-run fit/RMSE, one-step fit and residual tests on detrended validation data.

    Returns
    -------
    dict
        ``fit_percent``, ``fit_percent_1step``, ``rmse`` (per output name),
        ``x0`` (least-squares initial state of the validation data),
        ``whiteness`` and ``cross_correlation`` test summaries of the
        one-step prediction residuals.
    """
    cmp = compare(model, y, u)
    fit1 = kstep_fit(model, y, u, k=1)
    # one-step residuals from the predictor's own least-squares initial state
    x0_pred = estimate_x0(model.A, model.B, model.C, model.D, u, y, K=model.K)
    resid = y - model.predict(u, y, k=1, x0=x0_pred)
    return {
        "fit_percent": dict(zip(output_names, map(float, cmp.fit_percent), strict=True)),
        "fit_percent_1step": dict(zip(output_names, map(float, fit1), strict=True)),
        "rmse": dict(zip(output_names, map(float, cmp.rmse), strict=True)),
        "x0": cmp.x0,
        "whiteness": whiteness_test(resid).to_dict(),
        "cross_correlation": cross_correlation_test(resid, u).to_dict(),
    }


def identify(
    data: str | Path | pd.DataFrame | Dataset,
    inputs: str | list[str] | tuple[str, ...],
    outputs: str | list[str] | tuple[str, ...],
    *,
    estimate: str | slice,
    validate: str | slice | None = None,
    dt: float | None = None,
    time_column: str | None = None,
    method: str = "auto",
    order: int | str | None = "auto",
    arx_orders: str | ArxOrders | tuple[int, int, int] | None = None,
    detrend: str = "mean",
    feedthrough: bool = False,
    stability: str = "reflect",
    pem_criterion: str = "simulation",
    n_max: int = 10,
    folds: int = 4,
    log: Callable[[str], None] | None = None,
) -> IdentifiedModel:
    """Identify a linear state-space model from measured data and validate it.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Dataset
        The table (see :func:`mpc.sysid.load_dataset` for file layouts).
    inputs, outputs : str or sequence of str
        Column names (``"c1,c2,c3"`` or a list).
    estimate : str or slice
        Estimation rows as a Python slice counted from 0 (``"0:600"``).
    validate : str or slice, optional
        Validation rows; never used to choose the model.
    dt : float, optional
        Sample time in seconds (else from ``time_column``, else 1).
    time_column : str, optional
        Column of uniform, increasing time stamps.
    method : {"auto", "arx", "subspace", "pem", "n4sid", "moesp", "cva", "tc"}
        ``auto`` picks among ARX, subspace variants and their PEM
        refinements; ``subspace`` among the three weightings; ``pem`` among
        PEM refinements of ARX/subspace starts; a weighting name fixes it;
        ``tc`` realises a TC-kernel regularised impulse response
        (:mod:`mpc.sysid._kernel`) at the chosen order.
    order : int or "auto"
        State dimension of subspace/PEM models (``auto``: 1..``n_max``).
        ARX structures are set by ``arx_orders``.
    arx_orders : str, ArxOrders or (na, nb, nk), optional
        Fixed ARX orders (``"2,2,3"``); else a grid is searched.
    detrend : {"none", "mean", "segment-mean", "segment-linear"}
        Protocol (:mod:`mpc.sysid._detrend`); default ``mean``.
    feedthrough : bool
        Estimate a direct term ``D`` (default ``D = 0``).
    stability : {"reflect", "shrink", "none"}
        Stability enforcement of subspace estimates.
    pem_criterion : {"simulation", "prediction"}
        PEM criterion (output-error by default: free-run fit is judged).
    n_max : int
        Largest order tried by ``order="auto"``.
    folds : int
        Number of contiguous blocks of the estimation rows used for
        cross-validated selection.
    log : callable, optional
        Receives progress messages (the CLI sends them to stderr).

    Returns
    -------
    IdentifiedModel
        With validation figures if ``validate`` was given.

    Raises
    ------
    IdentificationError
        Any problem with the file, columns, rows, options or data.

    Notes
    -----
    Selection uses the estimation rows only (:mod:`mpc.sysid._select`); the
    validation protocol is that of :func:`mpc.sysid.compare`.
    """
    t_start = time.perf_counter()
    say = log or (lambda _msg: None)
    if method not in METHODS:
        raise IdentificationError(f"method {method!r}: expected one of " + ", ".join(METHODS))
    if detrend not in PROTOCOLS:
        raise IdentificationError(f"detrend {detrend!r}: expected one of " + ", ".join(PROTOCOLS))
    if pem_criterion not in ("simulation", "prediction"):
        raise IdentificationError(
            f"PEM criterion {pem_criterion!r}: expected 'simulation' or 'prediction'"
        )
    if not 2 <= int(folds) <= 20:
        raise IdentificationError(f"folds {folds!r}: expected an integer from 2 to 20")
    ds = data if isinstance(data, Dataset) else load_dataset(data, time_column=time_column, dt=dt)
    in_names = parse_names(inputs, "inputs")
    out_names = parse_names(outputs, "outputs")
    both = set(in_names) & set(out_names)
    if both:
        raise IdentificationError(
            f"column '{sorted(both)[0]}' is listed both as an input and as an output"
        )
    est_rows = parse_slice(estimate, ds.n_rows, what="estimate rows")
    u_raw = select_signals(ds, in_names, est_rows, role="input")
    y_raw = select_signals(ds, out_names, est_rows, role="output")
    check_excitation(u_raw, in_names, est_rows, ds.source)
    _check_outputs(y_raw, out_names, est_rows, ds.source, "estimation")
    uv_raw = yv_raw = None
    val_rows = None
    if validate is not None:
        val_rows = parse_slice(validate, ds.n_rows, what="validate rows")
        uv_raw = select_signals(ds, in_names, val_rows, role="input")
        yv_raw = select_signals(ds, out_names, val_rows, role="output")
        _check_outputs(yv_raw, out_names, val_rows, ds.source, "validation")
        if val_rows.start < est_rows.stop and est_rows.start < val_rows.stop:
            say("warning: estimation and validation rows overlap")
    order_value = _order(order)
    arx_fixed: ArxOrders | None
    if arx_orders is None:
        arx_fixed = None
    elif isinstance(arx_orders, ArxOrders):
        arx_fixed = arx_orders
    elif isinstance(arx_orders, str):
        arx_fixed = parse_arx_orders(arx_orders, len(in_names))
    else:
        arx_fixed = parse_arx_orders(",".join(str(v) for v in arx_orders), len(in_names))
    if method == "arx" and order_value is not None and arx_fixed is None:
        say("note: --order does not apply to ARX; use --arx-orders NA,NB,NK")
    opts = SelectionOptions(
        method=method, order=order_value, arx_orders=arx_fixed, feedthrough=feedthrough,
        stability=stability, pem_criterion=pem_criterion, n_max=int(n_max), folds=int(folds),
        dt=ds.dt,
    )
    ue, ye, uv, yv, info = apply_protocol(detrend, u_raw, y_raw, uv_raw, yv_raw)
    say(f"{ds.source}: {len(in_names)} input(s), {len(out_names)} output(s), estimation rows "
        f"{slice_text(est_rows)} ({ye.shape[0]} samples), detrend {detrend}")
    with blas_threads(1):
        cand, record = select_model(y_raw, u_raw, detrend, opts, log=say)
    try:
        with blas_threads(1):
            model = fit_candidate(cand, ye, ue, opts, max_nfev=opts.final_pem_max_nfev,
                                  final=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        if isinstance(exc, IdentificationError):
            raise
        raise IdentificationError(
            f"estimating {cand.label} on rows {slice_text(est_rows)} failed: {exc}"
        ) from None
    details: dict[str, Any] = {
        "source": ds.source,
        "candidate": cand.label,
        "estimate_rows": slice_text(est_rows),
        "validate_rows": slice_text(val_rows) if val_rows is not None else None,
        "dt_known": ds.dt_known,
        "spectral_radius": model.spectral_radius,
        "feedthrough": feedthrough,
        "arx_orders": cand.arx.to_dict() if cand.arx is not None else None,
        "horizon": cand.horizon or None,
        "selection": record.to_dict(),
    }
    fits: dict[str, float] = {}
    fits1: dict[str, float] = {}
    rmses: dict[str, float] = {}
    if yv is not None and uv is not None:
        val = validate_model(model, yv, uv, out_names)
        fits, fits1, rmses = val["fit_percent"], val["fit_percent_1step"], val["rmse"]
        details["x0_validation"] = val["x0"].tolist()
        details["residual_whiteness"] = val["whiteness"]
        details["residual_input_correlation"] = val["cross_correlation"]
    details["elapsed_s"] = time.perf_counter() - t_start
    return IdentifiedModel(
        method=cand.name,
        order=model.n_states,
        A=model.A, B=model.B, C=model.C, D=model.D, K=model.K, x0=model.x0,
        dt=ds.dt,
        input_names=in_names,
        output_names=out_names,
        detrend=info,
        fit_percent=fits,
        fit_percent_1step=fits1,
        rmse=rmses,
        stable=model.stable,
        details=details,
    )
