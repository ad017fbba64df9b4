"""Grey-box calibration: named physical parameters of the line model from logged data.

:func:`calibrate` reads a calmline log (:func:`load_log`), windows and
resamples it (:func:`resample`), and fits the named parameters of the
scenario's controller model (:func:`parse_params`) by multiple-shooting
least squares in CasADi, solved by IPOPT (:class:`ShootingProblem`). The
:class:`CalibrationResult` holds the estimates with Gauss-Newton standard
errors, 95 % confidence intervals and correlations, the fit before and
after, and writes a parameter file (:func:`plants.load_params_file` reads
it; a scenario loads it with ``[mismatch] model_params_file``).

Reference: ``docs/calibration.md``.
"""

from mpc.calibrate._api import DEFAULT_DT_S, calibrate, default_outputs, output_models
from mpc.calibrate._data import CalibrationData, load_log, parse_window, resample
from mpc.calibrate._errors import CalibrationError
from mpc.calibrate._params import ParamSpec, calibratable_names, parse_params, symbolic_params
from mpc.calibrate._problem import HESSIANS, OutputModel, ShootingProblem, Solution
from mpc.calibrate._result import CalibrationResult, fit_table

__all__ = [
    "DEFAULT_DT_S",
    "HESSIANS",
    "CalibrationData",
    "CalibrationError",
    "CalibrationResult",
    "OutputModel",
    "ParamSpec",
    "ShootingProblem",
    "Solution",
    "calibratable_names",
    "calibrate",
    "default_outputs",
    "fit_table",
    "load_log",
    "output_models",
    "parse_params",
    "parse_window",
    "resample",
    "symbolic_params",
]
