"""Identified-model dataclasses and their conversions.

:class:`StateSpaceModel` is the bare innovation-form model produced by the
estimators; :class:`IdentifiedModel` is the user-facing result of
:func:`mpc.sysid.identify` (model, names, detrending, selection record and
validation figures) with ``to_dict()`` for JSON, ``to_control()`` for a
:class:`control.StateSpace` and ``to_do_mpc()`` for a discrete-time
:class:`do_mpc.model.Model`.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mpc.sysid._detrend import DetrendInfo
from mpc.sysid._simulate import predict, simulate

__all__ = ["IdentifiedModel", "StateSpaceModel", "to_control", "to_do_mpc"]


def _frozen(a: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.array(a, dtype=float, copy=True)
    if shape is not None:
        arr = arr.reshape(shape)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class StateSpaceModel:
    """Discrete-time innovation-form model.

    .. math::

        x_{t+1} = A x_t + B u_t + K e_t, \\qquad y_t = C x_t + D u_t + e_t

    Attributes
    ----------
    A, B, C, D, K : numpy.ndarray
        ``(n, n)``, ``(n, m)``, ``(p, n)``, ``(p, m)``, ``(n, p)``; read-only.
    x0 : numpy.ndarray
        ``(n,)`` initial state of the estimation data.
    dt : float
        Sample time in seconds.
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    K: np.ndarray
    x0: np.ndarray
    dt: float = 1.0

    def __post_init__(self) -> None:
        A = np.atleast_2d(np.asarray(self.A, float))
        n = A.shape[0]
        B = np.asarray(self.B, float).reshape(n, -1)
        C = np.asarray(self.C, float).reshape(-1, n)
        m, p = B.shape[1], C.shape[0]
        object.__setattr__(self, "A", _frozen(A, (n, n)))
        object.__setattr__(self, "B", _frozen(B, (n, m)))
        object.__setattr__(self, "C", _frozen(C, (p, n)))
        object.__setattr__(self, "D", _frozen(self.D, (p, m)))
        object.__setattr__(self, "K", _frozen(self.K, (n, p)))
        object.__setattr__(self, "x0", _frozen(self.x0, (n,)) if n else _frozen(np.zeros(0)))
        object.__setattr__(self, "dt", float(self.dt))

    @property
    def n_states(self) -> int:
        """State dimension (the model order)."""
        return self.A.shape[0]

    @property
    def n_inputs(self) -> int:
        """Number of inputs."""
        return self.B.shape[1]

    @property
    def n_outputs(self) -> int:
        """Number of outputs."""
        return self.C.shape[0]

    @property
    def spectral_radius(self) -> float:
        """Largest eigenvalue modulus of ``A`` (0 for a static model)."""
        if self.n_states == 0:
            return 0.0
        return float(np.max(np.abs(np.linalg.eigvals(self.A))))

    @property
    def stable(self) -> bool:
        """All eigenvalues of ``A`` strictly inside the unit circle."""
        return self.spectral_radius < 1.0

    def replace(self, **changes: Any) -> StateSpaceModel:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def simulate(self, u: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Free-run simulation ``(N, p)`` from ``x0`` (zeros by default)."""
        return simulate(self.A, self.B, self.C, self.D, np.asarray(u, float), x0)

    def predict(
        self, u: np.ndarray, y: np.ndarray, k: int = 1, x0: np.ndarray | None = None
    ) -> np.ndarray:
        """k-step-ahead Kalman-predictor outputs ``(N, p)``."""
        return predict(self.A, self.B, self.C, self.D, self.K, np.asarray(u, float),
                       np.asarray(y, float), k=k, x0=x0)

    def transform(self, T: np.ndarray) -> StateSpaceModel:
        """Similarity transform ``x = T z``."""
        Ti = np.linalg.inv(T)
        return self.replace(A=Ti @ self.A @ T, B=Ti @ self.B, C=self.C @ T, K=Ti @ self.K,
                            x0=Ti @ self.x0)


def _names(names: tuple[str, ...] | None, prefix: str, count: int) -> list[str]:
    if names is None:
        return [f"{prefix}{k}" for k in range(count)]
    return [str(s) for s in names]


def to_control(
    model: StateSpaceModel,
    *,
    input_names: tuple[str, ...] | None = None,
    output_names: tuple[str, ...] | None = None,
) -> Any:
    """The deterministic part ``(A, B, C, D)`` as a discrete :class:`control.StateSpace`.

    Parameters
    ----------
    model : StateSpaceModel
    input_names, output_names : tuple of str, optional
        Signal names (default ``u0, u1, ...`` and ``y0, y1, ...``).

    Returns
    -------
    control.StateSpace
        With ``dt`` equal to the model's sample time.
    """
    import control

    return control.ss(
        np.array(model.A), np.array(model.B), np.array(model.C), np.array(model.D), model.dt,
        inputs=_names(input_names, "u", model.n_inputs),
        outputs=_names(output_names, "y", model.n_outputs),
        states=[f"x{k}" for k in range(model.n_states)],
    )


def _identifier(name: str) -> str:
    out = re.sub(r"\W", "_", name)
    return out if out and not out[0].isdigit() else f"_{out}"


def to_do_mpc(
    model: StateSpaceModel,
    *,
    output_names: tuple[str, ...] | None = None,
) -> Any:
    """A discrete-time :class:`do_mpc.model.Model` of ``(A, B, C, D)``.

    The model has one state vector ``x`` (``n`` x 1), one input vector ``u``
    (``m`` x 1), the right-hand side ``x+ = A x + B u``, an auxiliary
    expression ``y`` (the output vector ``C x + D u``) and, per output, an
    auxiliary expression and a measurement named ``y_<output name>``
    (non-identifier characters replaced by ``_``). The model is set up
    (``model.setup()`` has been called).

    Returns
    -------
    do_mpc.model.Model
    """
    import casadi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import do_mpc

    names = _names(output_names, "y", model.n_outputs)
    mdl = do_mpc.model.Model("discrete", "SX")
    x = mdl.set_variable(var_type="_x", var_name="x", shape=(model.n_states, 1))
    u = mdl.set_variable(var_type="_u", var_name="u", shape=(model.n_inputs, 1))
    A, B = casadi.DM(np.array(model.A)), casadi.DM(np.array(model.B))
    C, D = casadi.DM(np.array(model.C)), casadi.DM(np.array(model.D))
    mdl.set_rhs("x", A @ x + B @ u)
    y = C @ x + D @ u
    mdl.set_expression("y", y)
    for j, name in enumerate(names):
        ident = "y_" + _identifier(name)
        mdl.set_expression(ident, y[j])
        mdl.set_meas(ident, y[j], meas_noise=False)
    mdl.setup()
    return mdl


@dataclass(frozen=True, eq=False)
class IdentifiedModel:
    """Result of :func:`mpc.sysid.identify`: the chosen model and its figures.

    Attributes
    ----------
    method : str
        ``"arx"``, ``"n4sid"``, ``"moesp"``, ``"cva"``, or one of these
        followed by ``"+pem-oe"``/``"+pem"`` when refined by prediction-error
        minimisation (output-error or one-step criterion).
    order : int
        State dimension ``n``.
    A, B, C, D, K, x0 : numpy.ndarray
        Innovation-form model; ``x0`` belongs to the estimation data.
    dt : float
        Sample time in seconds.
    input_names, output_names : tuple of str
        Column names.
    detrend : DetrendInfo
        Protocol and what was removed from the estimation data.
    fit_percent : dict
        Free-run NRMSE fit per output on the validation rows (x0 estimated
        there by least squares, see :func:`mpc.sysid.compare`), or empty.
    fit_percent_1step : dict
        One-step-ahead (Kalman predictor) fit per output, or empty.
    rmse : dict
        Free-run RMSE per output, in the output's units.
    stable : bool
        All eigenvalues of ``A`` inside the unit circle.
    details : dict
        JSON-ready extras: rows, selection table, ARX orders, horizons,
        residual tests, spectral radius.
    """

    method: str
    order: int
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    K: np.ndarray
    x0: np.ndarray
    dt: float
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    detrend: DetrendInfo
    fit_percent: dict[str, float] = field(default_factory=dict)
    fit_percent_1step: dict[str, float] = field(default_factory=dict)
    rmse: dict[str, float] = field(default_factory=dict)
    stable: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("A", "B", "C", "D", "K", "x0"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def state_space(self) -> StateSpaceModel:
        """The bare :class:`StateSpaceModel`."""
        return StateSpaceModel(self.A, self.B, self.C, self.D, self.K, self.x0, self.dt)

    def to_control(self) -> Any:
        """Discrete :class:`control.StateSpace` (see :func:`to_control`)."""
        return to_control(self.state_space, input_names=self.input_names,
                          output_names=self.output_names)

    def to_do_mpc(self) -> Any:
        """Discrete-time :class:`do_mpc.model.Model` (see :func:`to_do_mpc`)."""
        return to_do_mpc(self.state_space, output_names=self.output_names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (matrices as nested lists; non-finite numbers as ``None``)."""

        def clean(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return {
            "method": self.method,
            "order": int(self.order),
            "dt": float(self.dt),
            "inputs": list(self.input_names),
            "outputs": list(self.output_names),
            "fit_percent": {k: clean(v) for k, v in self.fit_percent.items()},
            "fit_percent_1step": {k: clean(v) for k, v in self.fit_percent_1step.items()},
            "rmse": {k: clean(v) for k, v in self.rmse.items()},
            "stable": bool(self.stable),
            "detrend": self.detrend.to_dict(),
            "A": self.A.tolist(),
            "B": self.B.tolist(),
            "C": self.C.tolist(),
            "D": self.D.tolist(),
            "K": self.K.tolist(),
            "x0": self.x0.tolist(),
            "details": _json_safe(self.details),
        }


def _json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays converted, non-finite floats to ``None``."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if np.isfinite(value) else None
    return value
