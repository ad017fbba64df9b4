"""do-mpc NMPC on the physics model (see :mod:`controllers.nmpc._controller`)."""

from controllers.nmpc._controller import NmpcController
from controllers.nmpc._estimator import DisturbanceEKF, augmented_rank_condition
from controllers.nmpc._model import NmpcModel, TemperatureLoops
from controllers.nmpc._ocp import DynamicOcp
from controllers.nmpc._offline import (
    VIA_SPEED_FACTORS,
    OptimisedPoint,
    best_optimised_point,
    optimised_starts,
    plan_speeds,
    solve_optimised_point,
    steady_speed_by_continuation,
)
from controllers.nmpc._target import SteadyTarget
from mpc.scenario import EstimatorSettings, ModelSettings, NmpcSettings, OcpSettings, TargetSettings

__all__ = [
    "VIA_SPEED_FACTORS",
    "DisturbanceEKF",
    "DynamicOcp",
    "EstimatorSettings",
    "ModelSettings",
    "NmpcController",
    "NmpcModel",
    "NmpcSettings",
    "OcpSettings",
    "OptimisedPoint",
    "SteadyTarget",
    "TargetSettings",
    "TemperatureLoops",
    "augmented_rank_condition",
    "best_optimised_point",
    "optimised_starts",
    "plan_speeds",
    "solve_optimised_point",
    "steady_speed_by_continuation",
]
