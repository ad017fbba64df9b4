"""System identification for calmline: data to validated linear state-space models.

The public API (everything else is private to the package):

* data: :func:`load_dataset`, :func:`parse_slice`, :func:`resample`,
  :class:`Dataset`, detrending protocols (:data:`PROTOCOLS`,
  :func:`apply_protocol`, :func:`detrend_segment`, :class:`DetrendInfo`);
* estimators: :func:`arx`, :func:`subspace` (N4SID / MOESP / CVA),
  :func:`pem` (prediction-error and output-error refinement),
  :func:`estimate_kalman_gain`, :func:`enforce_stability`;
* simulation and validation: :func:`simulate`, :func:`predict`,
  :func:`estimate_x0`, :func:`compare`, :func:`fit_percent`, :func:`rmse`,
  :func:`kstep_fit`, :func:`whiteness_test`, :func:`cross_correlation_test`;
* selection and the one-call workflow: :func:`select_model`,
  :func:`identify` returning an :class:`IdentifiedModel`;
* conversions: :func:`to_control` (``control.StateSpace``) and
  :func:`to_do_mpc` (``do_mpc.model.Model``).

All errors meant for users are :class:`IdentificationError` (a
``ValueError``). See ``docs/identification.md`` for the methods and the
validation protocol.
"""

from __future__ import annotations

from mpc.sysid._api import identify, validate_model
from mpc.sysid._arx import ArxOrders, arx, arx_to_state_space, parse_arx_orders
from mpc.sysid._data import Dataset, load_dataset, parse_slice, resample, select_signals
from mpc.sysid._design import GbnChannel, gbn_schedule
from mpc.sysid._detrend import (
    PROTOCOLS,
    DetrendInfo,
    apply_protocol,
    apply_protocol_segments,
    detrend_segment,
)
from mpc.sysid._errors import IdentificationError
from mpc.sysid._model import IdentifiedModel, StateSpaceModel, to_control, to_do_mpc
from mpc.sysid._pem import PemResult, estimate_kalman_gain, pem
from mpc.sysid._select import (
    METHODS,
    Candidate,
    SelectionOptions,
    SelectionRecord,
    cv_folds,
    select_model,
)
from mpc.sysid._simulate import estimate_x0, predict, simulate
from mpc.sysid._subspace import (
    SUBSPACE_METHODS,
    SubspaceFit,
    SubspaceProjections,
    enforce_stability,
    estimate_bd,
    kalman_gain,
    subspace,
)
from mpc.sysid._validate import (
    CompareResult,
    CorrelationTest,
    compare,
    cross_correlation_test,
    fit_percent,
    kstep_fit,
    rmse,
    whiteness_test,
)

__all__ = [
    "METHODS",
    "PROTOCOLS",
    "SUBSPACE_METHODS",
    "ArxOrders",
    "Candidate",
    "CompareResult",
    "CorrelationTest",
    "Dataset",
    "DetrendInfo",
    "GbnChannel",
    "IdentificationError",
    "IdentifiedModel",
    "PemResult",
    "SelectionOptions",
    "SelectionRecord",
    "StateSpaceModel",
    "SubspaceFit",
    "SubspaceProjections",
    "apply_protocol",
    "apply_protocol_segments",
    "arx",
    "arx_to_state_space",
    "compare",
    "cross_correlation_test",
    "cv_folds",
    "detrend_segment",
    "enforce_stability",
    "estimate_bd",
    "estimate_kalman_gain",
    "estimate_x0",
    "fit_percent",
    "gbn_schedule",
    "identify",
    "kalman_gain",
    "kstep_fit",
    "load_dataset",
    "parse_arx_orders",
    "parse_slice",
    "pem",
    "predict",
    "resample",
    "rmse",
    "select_model",
    "select_signals",
    "simulate",
    "subspace",
    "to_control",
    "to_do_mpc",
    "validate_model",
    "whiteness_test",
]
