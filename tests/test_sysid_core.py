"""Estimators, simulation, metrics and residual tests of :mod:`mpc.sysid` on simulated data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

from mpc.sysid import (
    StateSpaceModel,
    arx,
    compare,
    cross_correlation_test,
    enforce_stability,
    estimate_kalman_gain,
    estimate_x0,
    fit_percent,
    kalman_gain,
    kstep_fit,
    pem,
    predict,
    rmse,
    simulate,
    subspace,
    whiteness_test,
)
from mpc.sysid._pem import _Problem
from mpc.sysid._simulate import output_weights, propagate

POLES = np.array([0.9, 0.7, 0.5 - 0.3j, 0.5 + 0.3j])


def _true_system(seed: int = 1) -> StateSpaceModel:
    rng = np.random.default_rng(seed)
    A = np.array([[0.9, 0, 0, 0], [0, 0.7, 0, 0], [0, 0, 0.5, 0.3], [0, 0, -0.3, 0.5]])
    T = rng.normal(size=(4, 4))
    A = T @ A @ np.linalg.inv(T)
    B = rng.normal(size=(4, 2))
    C = rng.normal(size=(2, 4))
    return StateSpaceModel(A, B, C, np.zeros((2, 2)), np.zeros((4, 2)), np.zeros(4), 0.5)


@pytest.fixture(scope="module")
def noise_free() -> tuple[StateSpaceModel, np.ndarray, np.ndarray]:
    true = _true_system()
    u = np.random.default_rng(2).normal(size=(1500, 2))
    return true, u, true.simulate(u)


def _sorted_poles(A: np.ndarray) -> np.ndarray:
    return np.sort_complex(np.linalg.eigvals(A))


def test_propagate_matches_plain_loop() -> None:
    rng = np.random.default_rng(0)
    for n, K, N in [(3, 1, 100), (5, 7, 257), (2, 3, 1)]:
        F = 0.3 * rng.normal(size=(n, n))
        f = rng.normal(size=(N, n, K))
        x0 = rng.normal(size=(n, K))
        ref = [x0]
        for t in range(N):
            ref.append(F @ ref[-1] + f[t])
        for block in (None, 1, 7, 32):
            np.testing.assert_allclose(propagate(F, f, x0, block=block), np.array(ref),
                                       atol=1e-12)


@pytest.mark.parametrize("method", ["n4sid", "moesp", "cva"])
def test_subspace_recovers_noise_free_system(noise_free, method: str) -> None:
    _, u, y = noise_free
    fit = subspace(y, u, 4, method=method)
    np.testing.assert_allclose(_sorted_poles(fit.model.A), np.sort_complex(POLES), atol=1e-6)
    assert fit.singular_values[4] < 1e-6 * fit.singular_values[0]  # order 4 is visible
    assert np.all(compare(fit.model, y, u).fit_percent > 99.0)
    assert np.allclose(fit.model.D, 0.0)


def test_subspace_with_noise_and_feedthrough() -> None:
    rng = np.random.default_rng(3)
    true = _true_system().replace(D=np.array([[0.5, 0.0], [0.0, -0.3]]))
    u = rng.normal(size=(4000, 2))
    y = true.simulate(u) + 0.05 * rng.normal(size=(4000, 2))
    model = subspace(y, u, 4, method="moesp", feedthrough=True).model
    np.testing.assert_allclose(_sorted_poles(model.A), np.sort_complex(POLES), atol=0.02)
    np.testing.assert_allclose(model.D, true.D, atol=0.03)
    assert np.all(compare(model, true.simulate(u), u).fit_percent > 97.0)


def test_subspace_multi_segment() -> None:
    true = _true_system()
    u = np.random.default_rng(4).normal(size=(800, 2))
    y = true.simulate(u)
    model = subspace([y[:300], y[400:]], [u[:300], u[400:]], 4, method="n4sid").model
    np.testing.assert_allclose(_sorted_poles(model.A), np.sort_complex(POLES), atol=1e-6)


def test_arx_recovers_arx_system_and_realisation() -> None:
    rng = np.random.default_rng(5)
    N = 3000
    u = rng.normal(size=(N, 1))
    y = np.zeros((N, 1))
    up = np.vstack([np.zeros((3, 1)), u])  # zero input before the record
    for t in range(N):  # y_t = 1.5 y_{t-1} - 0.7 y_{t-2} + 0.5 u_{t-2} + 0.2 u_{t-3}
        y[t] = (1.5 * y[t - 1] if t >= 1 else 0) - (0.7 * y[t - 2] if t >= 2 else 0) \
            + 0.5 * up[t + 1] + 0.2 * up[t]
    model, orders = arx(y, u, 2, 2, 2)
    assert orders.lags == 3 and model.n_states == 3
    poles = _sorted_poles(model.A)
    expected = np.sort_complex(np.concatenate([np.roots([1, -1.5, 0.7]), [0.0]]))
    np.testing.assert_allclose(poles, expected, atol=1e-8)
    assert fit_percent(y, model.simulate(u))[0] > 99.99
    # the ARX predictor of the observer form is the one-step predictor
    np.testing.assert_allclose(model.predict(u, y)[3:], y[3:], atol=1e-9)


def test_arx_mimo_observer_form_simulates_the_difference_equation() -> None:
    rng = np.random.default_rng(6)
    N = 400
    u = rng.normal(size=(N, 2))
    e = 0.01 * rng.normal(size=(N, 2))
    y = np.zeros((N, 2))
    A1 = np.array([[-0.6, 0.1], [0.05, -0.4]])
    B1 = np.array([[1.0, 0.2], [0.0, 0.5]])
    for t in range(1, N):
        y[t] = -A1 @ y[t - 1] + B1 @ u[t - 1] + e[t]
    model, _ = arx(y, u, 1, 1, 1)
    np.testing.assert_allclose(-model.A, A1, atol=0.01)
    np.testing.assert_allclose(model.B, B1, atol=0.01)


def test_stability_enforcement_reflects_and_shrinks() -> None:
    A = np.array([[1.2, 0.3, 0.0], [0.0, 0.5, 0.1], [0.0, 0.0, -1.1]])
    A = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ A  # not triangular
    reflected = enforce_stability(A, mode="reflect")
    shrunk = enforce_stability(A, mode="shrink", rho_max=0.99)
    ev = np.linalg.eigvals(A)
    ev_r = np.linalg.eigvals(reflected)
    assert np.max(np.abs(ev_r)) < 1.0 and np.max(np.abs(np.linalg.eigvals(shrunk))) <= 0.99 + 1e-9
    # stable eigenvalues are untouched, unstable ones reflected to 1/|lambda|
    expected = np.sort([abs(v) if abs(v) < 1 else 1 / abs(v) for v in ev])
    np.testing.assert_allclose(np.sort(np.abs(ev_r)), expected, atol=1e-9)


def test_complex_pair_reflected() -> None:
    A = 1.05 * np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    out = enforce_stability(A)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(out)), 1 / 1.05, atol=1e-12)


def test_subspace_enforces_stability_on_unstable_estimate() -> None:
    rng = np.random.default_rng(7)
    # a random walk output: the unconstrained estimate has a pole at or beyond 1
    u = rng.normal(size=(600, 1))
    y = np.cumsum(0.1 * u + 0.05 * rng.normal(size=(600, 1)), axis=0)
    fit = subspace(y, u, 2, method="n4sid", stability="reflect")
    assert fit.model.stable
    raw = subspace(y, u, 2, method="n4sid", stability="none").model
    assert fit.stabilised == (raw.spectral_radius > 0.9995)


def test_x0_estimation_recovers_initial_state(noise_free) -> None:
    true, u, _ = noise_free
    x0 = np.array([1.0, -2.0, 0.5, 3.0])
    y = true.simulate(u[:200], x0)
    est = estimate_x0(true.A, true.B, true.C, true.D, u[:200], y)
    np.testing.assert_allclose(est, x0, atol=1e-8)
    assert np.all(compare(true, y, u[:200]).fit_percent > 99.999)


def test_fit_formula_hand_computed() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    yhat = np.array([1.0, 2.0, 3.0, 2.0])
    # ||y - yhat|| = 2, ||y - mean|| = sqrt(2.25 + 0.25 + 0.25 + 2.25) = sqrt(5)
    assert fit_percent(y, yhat)[0] == pytest.approx(100 * (1 - 2 / np.sqrt(5)))
    assert rmse(y, yhat)[0] == pytest.approx(1.0)
    assert fit_percent(y, y)[0] == pytest.approx(100.0)
    assert fit_percent(y, np.full(4, 2.5))[0] == pytest.approx(0.0)


def test_kstep_prediction_of_innovation_model() -> None:
    rng = np.random.default_rng(8)
    base = _true_system()
    # a Kalman gain (stable predictor A - KC by construction)
    true = base.replace(K=kalman_gain(base.A, base.C, 0.2 * np.eye(4), np.eye(2), np.zeros((4, 2))))
    assert np.max(np.abs(np.linalg.eigvals(true.A - true.K @ true.C))) < 1.0
    N = 1500
    u = rng.normal(size=(N, 2))
    e = 0.2 * rng.normal(size=(N, 2))
    noise = StateSpaceModel(true.A, true.K, true.C, np.eye(2), true.K, np.zeros(4)).simulate(e)
    y = true.simulate(u) + noise
    # the true one-step predictor leaves exactly the innovations
    np.testing.assert_allclose(y - predict(true.A, true.B, true.C, true.D, true.K, u, y), e,
                               atol=1e-9)
    f1, f5 = kstep_fit(true, y, u, 1), kstep_fit(true, y, u, 5)
    free = compare(true, y, u).fit_percent
    assert np.all(f1 >= f5 - 1e-9) and np.all(f5 >= free - 1.0)
    # a Kalman gain fitted with A, B, C, D fixed predicts about as well as the true one
    est = estimate_kalman_gain(true.replace(K=np.zeros((4, 2))), y, u)
    assert np.all(kstep_fit(est, y, u, 1) > f1 - 1.0)


def test_whiteness_test_catches_coloured_residuals() -> None:
    rng = np.random.default_rng(9)
    white = rng.normal(size=2000)
    coloured = np.zeros(2000)
    for t in range(1, 2000):
        coloured[t] = 0.8 * coloured[t - 1] + white[t]
    ok = whiteness_test(white)
    bad = whiteness_test(coloured)
    assert bad.passed is False and bad.outside > 5 and bad.p_value < 1e-6
    assert ok.p_value > 0.01 and ok.outside <= 2
    assert ok.bound[0] == pytest.approx(2.5758 / np.sqrt(2000), rel=1e-3)


def test_cross_correlation_test_catches_unmodelled_input() -> None:
    rng = np.random.default_rng(10)
    u = rng.normal(size=(2000, 2))
    e = rng.normal(size=(2000, 1))
    assert cross_correlation_test(e, u).outside <= 3
    leaky = e + 0.3 * np.roll(u[:, :1], 2, axis=0)  # residual still depends on u_{t-2}
    res = cross_correlation_test(leaky, u)
    assert not res.passed
    lag2 = int(np.flatnonzero(res.lags == 2)[0])
    assert abs(res.correlation[lag2, 0, 0]) > 5 * res.bound[0, 0]


@pytest.mark.parametrize("criterion", ["simulation", "prediction"])
def test_pem_jacobian_is_exact(criterion: str) -> None:
    rng = np.random.default_rng(11)
    model = StateSpaceModel(np.diag([0.8, 0.5, -0.3]), rng.normal(size=(3, 2)),
                            rng.normal(size=(2, 3)), 0.1 * rng.normal(size=(2, 2)),
                            0.1 * rng.normal(size=(3, 2)), rng.normal(size=3))
    u = rng.normal(size=(150, 2))
    y = model.simulate(u) + 0.1 * rng.normal(size=(150, 2))
    segs = [(y[:70], u[:70]), (y[70:], u[70:])]
    prob = _Problem(model, segs, [model.x0, 0.5 * model.x0], criterion=criterion,
                    free=("A", "B", "C", "D", "K", "x0"), weights=output_weights(y))
    theta = prob.pack()
    J = prob.jacobian(theta)
    J_num = approx_derivative(prob.residual, theta, method="3-point")
    np.testing.assert_allclose(J, J_num, atol=1e-8)
    basis = np.linalg.qr(rng.normal(size=(theta.size, 5)))[0]
    np.testing.assert_allclose(prob.jacobian(theta, basis), J @ basis, atol=1e-12)


def test_pem_output_error_improves_a_biased_start() -> None:
    rng = np.random.default_rng(12)
    true = _true_system()
    u = rng.normal(size=(600, 2))
    y0 = true.simulate(u)
    y = y0 + 0.1 * rng.normal(size=y0.shape)
    start, _ = arx(y, u, 1, 1, 1)  # too simple: biased
    res = pem(start.replace(K=np.zeros_like(start.K)), y, u, max_nfev=80)
    assert res.cost_final < res.cost_initial
    before = compare(start, y0, u).fit_percent
    after = compare(res.model, y0, u).fit_percent
    assert np.all(after >= before)
    assert res.model.spectral_radius <= 0.9995 + 1e-9


def test_pem_refines_subspace_to_the_noise_level() -> None:
    rng = np.random.default_rng(13)
    true = _true_system()
    u = rng.normal(size=(500, 2))
    y0 = true.simulate(u)
    y = y0 + 0.2 * rng.normal(size=y0.shape)
    sub = subspace(y, u, 4, method="cva").model
    res = pem(sub, y, u, max_nfev=40)
    assert res.cost_final <= res.cost_initial
    assert np.all(compare(res.model, y0, u).fit_percent > 97.0)
    np.testing.assert_allclose(_sorted_poles(res.model.A), np.sort_complex(POLES), atol=0.03)


def test_simulate_with_initial_state_and_dimensions(noise_free) -> None:
    true, u, y = noise_free
    np.testing.assert_allclose(simulate(true.A, true.B, true.C, true.D, u), y)
    assert true.simulate(u[:5], np.ones(4)).shape == (5, 2)
