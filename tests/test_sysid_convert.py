"""Conversions of identified models: control.StateSpace, do-mpc model, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mpc.sysid import DetrendInfo, IdentifiedModel, StateSpaceModel, to_control, to_do_mpc


@pytest.fixture(scope="module")
def model() -> StateSpaceModel:
    rng = np.random.default_rng(0)
    A = np.array([[0.9, 0.1, 0.0], [0.0, 0.7, 0.2], [0.0, 0.0, 0.5]])
    return StateSpaceModel(A, rng.normal(size=(3, 2)), rng.normal(size=(2, 3)),
                           np.array([[0.0, 0.1], [0.0, 0.0]]), 0.1 * rng.normal(size=(3, 2)),
                           np.zeros(3), dt=10.0)


def _identified(model: StateSpaceModel) -> IdentifiedModel:
    info = DetrendInfo("mean", (1.0, 2.0), (3.0, 4.0), (0.0, 0.0), (0.0, 0.0))
    return IdentifiedModel(
        method="cva+pem-oe", order=3, A=model.A, B=model.B, C=model.C, D=model.D, K=model.K,
        x0=model.x0, dt=model.dt, input_names=("fuel", "fan"),
        output_names=("T dry-bulb", "moisture"), detrend=info,
        fit_percent={"T dry-bulb": 50.0, "moisture": float("nan")},
        fit_percent_1step={"T dry-bulb": 90.0, "moisture": 60.0},
        rmse={"T dry-bulb": 0.5, "moisture": 0.1}, stable=True,
        details={"horizon": np.int64(10), "scores": [float("-inf"), 1.5], "ok": np.bool_(True)},
    )


def test_to_control_statespace_simulates_like_the_model(model: StateSpaceModel) -> None:
    import control

    sys = to_control(model, input_names=("fuel", "fan"), output_names=("T", "w"))
    assert isinstance(sys, control.StateSpace)
    assert sys.dt == 10.0 and sys.ninputs == 2 and sys.noutputs == 2 and sys.nstates == 3
    assert list(sys.input_labels) == ["fuel", "fan"]
    u = np.random.default_rng(1).normal(size=(50, 2))
    resp = control.forced_response(sys, T=10.0 * np.arange(50), U=u.T)
    np.testing.assert_allclose(resp.outputs.T, model.simulate(u), atol=1e-10)


def test_to_do_mpc_model(model: StateSpaceModel) -> None:
    import casadi

    mdl = _identified(model).to_do_mpc()
    bare = to_do_mpc(model)  # default output names y0, y1
    assert set(bare._y.keys()) >= {"y_y0", "y_y1"}
    assert mdl.model_type == "discrete"
    assert (mdl.n_x, mdl.n_u, mdl.n_y) == (3, 2, 2)
    assert set(mdl._y.keys()) >= {"y_T_dry_bulb", "y_moisture"}
    rhs = casadi.Function("rhs", [mdl._x, mdl._u], [mdl._rhs])
    meas = casadi.Function("meas", [mdl._x, mdl._u], [mdl._y_expression])
    x = np.array([1.0, -2.0, 0.5])
    u = np.array([0.3, -0.7])
    np.testing.assert_allclose(np.array(rhs(x, u)).ravel(), model.A @ x + model.B @ u)
    np.testing.assert_allclose(np.array(meas(x, u)).ravel(), model.C @ x + model.D @ u)


def test_to_dict_is_json_and_has_the_keys(model: StateSpaceModel) -> None:
    result = _identified(model)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    for key in ("method", "order", "fit_percent", "fit_percent_1step", "rmse", "stable", "A",
                "B", "C", "D", "K", "x0", "dt", "detrend", "inputs", "outputs"):
        assert key in data
    assert data["fit_percent"]["moisture"] is None  # NaN -> null, valid JSON
    assert data["detrend"]["protocol"] == "mean"
    assert data["details"] == {"horizon": 10, "scores": [None, 1.5], "ok": True}
    assert np.array(data["A"]).shape == (3, 3)
    ctl = result.to_control()
    assert list(ctl.output_labels) == ["T dry-bulb", "moisture"]


def test_model_arrays_are_read_only(model: StateSpaceModel) -> None:
    with pytest.raises(ValueError):
        model.A[0, 0] = 1.0
    moved = model.transform(np.diag([2.0, 1.0, 0.5]))
    u = np.random.default_rng(2).normal(size=(30, 2))
    np.testing.assert_allclose(moved.simulate(u), model.simulate(u), atol=1e-12)
