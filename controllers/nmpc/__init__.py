"""do-mpc NMPC on the physics model (see :mod:`controllers.nmpc._controller`)."""

from controllers.nmpc._controller import NmpcController
from controllers.nmpc._estimator import DisturbanceEKF, GaugeBiasFilter, augmented_rank_condition
from controllers.nmpc._model import ModelSettings, NmpcModel
from controllers.nmpc._ocp import DynamicOcp, OcpSettings
from controllers.nmpc._target import SteadyTarget, TargetSettings

__all__ = [
    "DisturbanceEKF",
    "DynamicOcp",
    "GaugeBiasFilter",
    "ModelSettings",
    "NmpcController",
    "NmpcModel",
    "OcpSettings",
    "SteadyTarget",
    "TargetSettings",
    "augmented_rank_condition",
]
