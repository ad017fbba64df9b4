"""do-mpc NMPC on the physics model (see :mod:`controllers.nmpc._controller`)."""

from controllers.nmpc._controller import NmpcController
from controllers.nmpc._estimator import DisturbanceEKF, GaugeBiasFilter, augmented_rank_condition
from controllers.nmpc._model import NmpcModel, TemperatureLoops
from controllers.nmpc._ocp import DynamicOcp
from controllers.nmpc._target import SteadyTarget
from mpc.scenario import EstimatorSettings, ModelSettings, NmpcSettings, OcpSettings, TargetSettings

__all__ = [
    "DisturbanceEKF",
    "DynamicOcp",
    "EstimatorSettings",
    "GaugeBiasFilter",
    "ModelSettings",
    "NmpcController",
    "NmpcModel",
    "NmpcSettings",
    "OcpSettings",
    "SteadyTarget",
    "TargetSettings",
    "TemperatureLoops",
    "augmented_rank_condition",
]
