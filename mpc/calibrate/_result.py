"""The calibration result: estimates, standard errors, confidence intervals, fit."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mpc.calibrate._params import ParamSpec

__all__ = ["CalibrationResult", "fit_table"]


def fit_table(y: np.ndarray, yhat: np.ndarray, names: tuple[str, ...], sigma: np.ndarray) -> dict[str, dict[str, float]]:
    """Per output: RMSE, RMSE / sensor sigma and fit % = 100 (1 - |y - yhat| / |y - mean y|)."""
    out = {}
    for j, n in enumerate(names):
        m = np.isfinite(y[:, j]) & np.isfinite(yhat[:, j])
        e = y[m, j] - yhat[m, j]
        dev = y[m, j] - np.mean(y[m, j])
        rmse = float(np.sqrt(np.mean(e**2))) if m.any() else float("nan")
        den = float(np.linalg.norm(dev))
        fit = 100.0 * (1.0 - float(np.linalg.norm(e)) / den) if den > 0 else float("nan")
        out[n] = {"rmse": rmse, "rmse_over_sigma": rmse / float(sigma[j]), "fit_percent": fit}
    return out


@dataclass
class CalibrationResult:
    """Estimates with their Gauss-Newton statistics and the fit before and after."""

    parameters: list[ParamSpec]
    estimate: np.ndarray
    std_error: np.ndarray
    ci95: np.ndarray  # (n, 2)
    correlation: np.ndarray
    covariance: np.ndarray
    t_quantile: float
    fit_before: dict[str, dict[str, float]]
    fit_after: dict[str, dict[str, float]]
    cost_before: float
    cost: float
    residual_variance_factor: float
    n_residuals: int
    dof: int
    success: bool
    status: str
    iterations: int
    solve_s: float
    setup_s: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def estimates(self) -> dict[str, float]:
        return {p.name: float(v) for p, v in zip(self.parameters, self.estimate, strict=True)}

    def param_groups(self) -> dict[str, dict[str, float]]:
        """The estimates as parameter-file groups (``{"dryer": {"heat_transfer_multiplier": 0.93}}``)."""
        groups: dict[str, dict[str, float]] = {}
        for p, v in zip(self.parameters, self.estimate, strict=True):
            groups.setdefault(p.group, {})[p.field] = float(v)
        return groups

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record (what ``calmline calibrate --json`` prints)."""
        params = {}
        for i, p in enumerate(self.parameters):
            params[p.name] = {
                "estimate": float(self.estimate[i]),
                "std_error": float(self.std_error[i]),
                "ci95": [float(self.ci95[i, 0]), float(self.ci95[i, 1])],
                "nominal": p.nominal,
                "unit": p.unit,
                "bounds": [p.lower, p.upper],
                "at_bound": bool(
                    np.isclose(self.estimate[i], p.lower, rtol=1e-6) or np.isclose(self.estimate[i], p.upper, rtol=1e-6)
                ),
            }
        return {
            "parameters": params,
            "correlation": {"names": self.names, "matrix": self.correlation.tolist()},
            "fit_before": self.fit_before,
            "fit_after": self.fit_after,
            "cost_before": self.cost_before,
            "cost": self.cost,
            "residual_variance_factor": self.residual_variance_factor,
            "n_residuals": self.n_residuals,
            "dof": self.dof,
            "t_quantile": self.t_quantile,
            "solver": {"success": self.success, "status": self.status, "iterations": self.iterations},
            "solve_s": self.solve_s,
            "setup_s": self.setup_s,
            **self.info,
        }

    def metadata(self) -> dict[str, Any]:
        """The ``[calibration]`` table of the parameter file."""
        meta: dict[str, Any] = {
            "preset": self.info.get("preset", ""),
            "source_log": self.info.get("source_log", ""),
            "scenario": self.info.get("scenario", ""),
            "window_s": list(self.info.get("window_s", [])),
            "dt_s": float(self.info.get("dt_s", 0.0)),
            "cells_per_zone": int(self.info.get("cells_per_zone", 0)),
            "outputs": list(self.info.get("outputs", {})),
            "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
            "method": "multiple-shooting least squares (CasADi, IPOPT); Gauss-Newton covariance",
            "note": "effective values of the controller model at this discretisation; see docs/calibration.md",
            "solver_status": self.status,
            "residual_variance_factor": self.residual_variance_factor,
        }
        meta["estimates"] = {
            p.name: {
                "estimate": float(self.estimate[i]),
                "std_error": float(self.std_error[i]),
                "ci95": [float(self.ci95[i, 0]), float(self.ci95[i, 1])],
                "nominal": p.nominal,
                "unit": p.unit,
            }
            for i, p in enumerate(self.parameters)
        }
        return meta

    def write(self, path: str | Path, *, force: bool = False, inputs: Iterable[str | Path | None] = ()) -> Path:
        """Write the parameter file (groups + ``[calibration]``) under the rules of :mod:`mpc.outputs`.

        A new file, or with ``force`` a file calmline wrote (listed, unedited,
        in the ``.calmline-manifest.json`` beside it); never one of ``inputs``
        (the log, the scenario and the parameter file it loads).

        Raises
        ------
        OutputExistsError
            Naming the file, when it may not be written.
        """
        from mpc.outputs import OutputFile
        from plants.params_file import write_params_file

        header = (
            "calmline parameter file, written by `calmline calibrate`.\n"
            "Load it with [mismatch] model_params_file = \"...\" in a scenario, or plants.load_params_file."
        )
        groups, meta = self.param_groups(), self.metadata()
        return OutputFile(path, force=force, inputs=inputs).write_with(
            lambda p: write_params_file(p, groups, meta, header=header)
        )

    def summary(self) -> str:
        """A plain-text table for the terminal."""
        lines = [
            f"{'parameter':38s} {'nominal':>10s} {'estimate':>10s} {'std err':>10s}   95 % CI",
        ]
        for i, p in enumerate(self.parameters):
            lo, hi = self.ci95[i]
            lines.append(
                f"{p.name:38s} {p.nominal:10.4g} {self.estimate[i]:10.4g} {self.std_error[i]:10.3g}   "
                f"[{lo:.4g}, {hi:.4g}] {p.unit}"
            )
        if len(self.parameters) > 1:
            lines.append("")
            lines.append("correlation")
            for i, n in enumerate(self.names):
                lines.append(f"  {n:38s} " + " ".join(f"{c:7.3f}" for c in self.correlation[i]))
        lines.append("")
        lines.append(f"{'output':30s} {'RMSE before':>12s} {'RMSE after':>12s} {'fit % before':>13s} {'fit % after':>12s}")
        for n in self.fit_after:
            b, a = self.fit_before[n], self.fit_after[n]
            lines.append(
                f"{n:30s} {b['rmse']:12.4g} {a['rmse']:12.4g} {b['fit_percent']:13.1f} {a['fit_percent']:12.1f}"
            )
        lines.append("")
        lines.append(
            f"cost {self.cost_before:.4g} -> {self.cost:.4g}; residual variance factor s2 = "
            f"{self.residual_variance_factor:.3g} ({self.n_residuals} residuals); IPOPT {self.status} in "
            f"{self.iterations} iterations, {self.solve_s:.1f} s"
        )
        return "\n".join(lines)
