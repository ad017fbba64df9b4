"""Validation figures: NRMSE fit, RMSE, k-step fit and residual tests.

The free-run protocol is that of identification toolboxes' ``compare``:

1. the model is simulated with the measured validation inputs only
   (``K`` unused, no output feedback);
2. its initial state is estimated from the validation data by linear least
   squares: the simulated output is affine in ``x0``,
   :math:`\\hat y_t(x_0) = \\hat y_t(0) + C A^t x_0`, and
   :math:`\\hat x_0 = \\arg\\min \\sum_{t=0}^{N-1} \\sum_j
   (y_{j,t} - \\hat y_{j,t}(x_0))^2 / \\|y_j - \\bar y_j\\|^2` over all ``N``
   validation samples (each output weighted by the inverse norm of its
   de-meaned signal, so the choice is unit-free; minimum-norm solution for
   unobservable directions);
3. the fit per output is
   :math:`100 (1 - \\|y_j - \\hat y_j\\| / \\|y_j - \\bar y_j\\|)` over all
   ``N`` samples, transient included, and the RMSE
   :math:`\\sqrt{\\frac1N \\sum_t (y_{j,t} - \\hat y_{j,t})^2}` is taken on the
   same simulation (in the output's units: detrending removes the same
   deterministic signal from ``y`` and ``\\hat y``).

The k-step fit uses the Kalman predictor with its own least-squares initial
state (same weighting).

References
----------
L. Ljung, *System Identification: Theory for the User*, 2nd ed., 1999,
sec. 16.6 (model validation, residual analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from mpc.sysid._model import StateSpaceModel
from mpc.sysid._simulate import estimate_x0, output_weights, predict, simulate

__all__ = [
    "CompareResult",
    "CorrelationTest",
    "compare",
    "cross_correlation_test",
    "fit_percent",
    "kstep_fit",
    "rmse",
    "whiteness_test",
]


def fit_percent(y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """NRMSE fit in percent per output: ``100 (1 - ||y - yhat|| / ||y - mean(y)||)``.

    Parameters
    ----------
    y, yhat : numpy.ndarray
        ``(N,)`` or ``(N, p)`` measured and model outputs.

    Returns
    -------
    numpy.ndarray
        ``(p,)`` fits (``-inf`` for a non-finite ``yhat``, ``nan`` for a
        constant ``y``).
    """
    y = np.asarray(y, float)
    yhat = np.asarray(yhat, float)
    if y.ndim == 1:
        y, yhat = y[:, None], yhat[:, None]
    with np.errstate(all="ignore"):
        num = np.linalg.norm(y - yhat, axis=0)
        den = np.linalg.norm(y - y.mean(axis=0), axis=0)
        fit = 100.0 * (1.0 - num / den)
    fit = np.where(np.isfinite(num), fit, -np.inf)
    return np.where(den > 0, fit, np.nan)


def rmse(y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """Root-mean-square error per output, in the outputs' units."""
    y = np.asarray(y, float)
    yhat = np.asarray(yhat, float)
    if y.ndim == 1:
        y, yhat = y[:, None], yhat[:, None]
    with np.errstate(all="ignore"):
        return np.sqrt(np.mean((y - yhat) ** 2, axis=0))


@dataclass(frozen=True)
class CompareResult:
    """Free-run comparison on one data segment."""

    yhat: np.ndarray
    x0: np.ndarray
    fit_percent: np.ndarray
    rmse: np.ndarray


def compare(model: StateSpaceModel, y: np.ndarray, u: np.ndarray) -> CompareResult:
    """Free-run simulation with a least-squares initial state; fit and RMSE.

    See the module docstring for the exact protocol (it matches the
    ``compare`` of identification toolboxes with an estimated initial
    condition).
    """
    y = np.asarray(y, float)
    u = np.asarray(u, float)
    A, B, C, D = model.A, model.B, model.C, model.D
    x0 = estimate_x0(A, B, C, D, u, y, weights=output_weights(y))
    yhat = simulate(A, B, C, D, u, x0)
    return CompareResult(yhat, x0, fit_percent(y, yhat), rmse(y, yhat))


def kstep_fit(model: StateSpaceModel, y: np.ndarray, u: np.ndarray, k: int = 1) -> np.ndarray:
    """Fit (percent, per output) of the k-step-ahead Kalman predictor.

    The predictor's initial state is estimated by least squares like the
    free-run one; ``k = 1`` is the one-step-ahead fit.
    """
    y = np.asarray(y, float)
    u = np.asarray(u, float)
    A, B, C, D, K = model.A, model.B, model.C, model.D, model.K
    x0 = estimate_x0(A, B, C, D, u, y, K=K)
    yhat = predict(A, B, C, D, K, u, y, k=k, x0=x0)
    return fit_percent(y, yhat)


@dataclass(frozen=True)
class CorrelationTest:
    """Result of a residual correlation test.

    Attributes
    ----------
    lags : numpy.ndarray
        Lags tested.
    correlation : numpy.ndarray
        Normalised correlation, shape ``(n_lags, ...)``.
    bound : numpy.ndarray
        Confidence bound per channel (same trailing shape).
    passed : bool
        Every correlation within its bound.
    outside : int
        Number of (lag, channel) values outside the bounds.
    p_value : float
        Smallest Ljung-Box portmanteau p-value over channels (whiteness test
        only; ``nan`` otherwise).
    confidence : float
        Confidence level of the bounds.
    """

    lags: np.ndarray
    correlation: np.ndarray
    bound: np.ndarray
    passed: bool
    outside: int
    p_value: float
    confidence: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "passed": bool(self.passed),
            "outside": int(self.outside),
            "n_tested": int(self.correlation.size),
            "p_value": None if not np.isfinite(self.p_value) else float(self.p_value),
            "confidence": float(self.confidence),
        }


def _autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation (biased estimate) for lags 0..max_lag, per column."""
    x = x - x.mean(axis=0)
    N = x.shape[0]
    nfft = 1 << int(np.ceil(np.log2(2 * N)))
    spec = np.fft.rfft(x, nfft, axis=0)
    acf = np.fft.irfft(spec * np.conj(spec), nfft, axis=0)[: max_lag + 1]
    return acf / np.where(acf[0] > 0, acf[0], 1.0)


def whiteness_test(residuals: np.ndarray, max_lag: int = 25, confidence: float = 0.99) -> CorrelationTest:
    """Autocorrelation test of residual whiteness, per output.

    Under the hypothesis that the residual is white, the normalised
    autocorrelation :math:`\\hat\\rho(\\tau)`, ``tau = 1..max_lag``, is
    asymptotically normal with variance ``1/N`` (Ljung 1999, sec. 16.6), so
    the bounds are :math:`\\pm z_{(1+c)/2}/\\sqrt{N}` (2.576/sqrt(N) at 99 %).
    ``passed`` requires every lag inside its bounds; the Ljung-Box statistic
    :math:`Q = N(N+2)\\sum_\\tau \\hat\\rho(\\tau)^2/(N-\\tau)` is reported as
    a p-value too.

    Parameters
    ----------
    residuals : numpy.ndarray
        ``(N,)`` or ``(N, p)`` residuals.
    max_lag : int
        Largest lag tested.
    confidence : float
        Confidence level of the bounds.
    """
    e = np.asarray(residuals, float)
    if e.ndim == 1:
        e = e[:, None]
    N, p = e.shape
    max_lag = int(min(max_lag, N - 2))
    rho = _autocorr(e, max_lag)[1:]
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    bound = np.full(p, z / np.sqrt(N))
    outside = int(np.sum(np.abs(rho) > bound))
    lags = np.arange(1, max_lag + 1)
    q = N * (N + 2) * np.sum(rho**2 / (N - lags)[:, None], axis=0)
    pval = float(np.min(stats.chi2.sf(q, max_lag)))
    return CorrelationTest(lags, rho, bound, outside == 0, outside, pval, confidence)


def cross_correlation_test(
    residuals: np.ndarray, u: np.ndarray, max_lag: int = 25, confidence: float = 0.99
) -> CorrelationTest:
    """Input-residual cross-correlation test (independence of residuals and past inputs).

    For lags ``tau = -max_lag..max_lag`` the normalised cross-correlation
    :math:`\\hat r_{\\varepsilon u}(\\tau) = \\sum_t \\varepsilon_t u_{t-\\tau} /
    (N \\sigma_\\varepsilon \\sigma_u)` is compared with the bound
    :math:`z_{(1+c)/2} \\sqrt{P / N}`, :math:`P = \\sum_{|k| \\le M}
    \\hat\\rho_\\varepsilon(k) \\hat\\rho_u(k)` (Ljung 1999, eq. 16.71), which
    reduces to ``z / sqrt(N)`` for a white residual.

    Returns
    -------
    CorrelationTest
        ``correlation`` has shape ``(2 max_lag + 1, p, m)``.
    """
    e = np.asarray(residuals, float)
    u = np.asarray(u, float)
    if e.ndim == 1:
        e = e[:, None]
    if u.ndim == 1:
        u = u[:, None]
    N, p = e.shape
    m = u.shape[1]
    max_lag = int(min(max_lag, N - 2))
    ec = e - e.mean(axis=0)
    uc = u - u.mean(axis=0)
    se = np.sqrt(np.mean(ec**2, axis=0))
    su = np.sqrt(np.mean(uc**2, axis=0))
    se = np.where(se > 0, se, 1.0)
    su = np.where(su > 0, su, 1.0)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.empty((lags.size, p, m))
    for k, tau in enumerate(lags):
        if tau >= 0:
            prod = ec[tau:].T @ uc[: N - tau]
        else:
            prod = ec[: N + tau].T @ uc[-tau:]
        corr[k] = prod / (N * se[:, None] * su[None, :])
    rho_e = _autocorr(e, max_lag)
    rho_u = _autocorr(u, max_lag)
    # P = sum_{|k|<=M} rho_e(k) rho_u(k) (symmetric in k)
    P = rho_e[0][:, None] * rho_u[0][None, :] + 2 * np.einsum("kp,km->pm", rho_e[1:], rho_u[1:])
    P = np.clip(P, 1e-3, None)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    bound = z * np.sqrt(P / N)
    outside = int(np.sum(np.abs(corr) > bound[None]))
    return CorrelationTest(lags, corr, bound, outside == 0, outside, float("nan"), confidence)
