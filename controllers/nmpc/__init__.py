"""do-mpc NMPC on the physics model (see :mod:`controllers.nmpc._controller`), and its edge core.

The names are loaded when first used (PEP 562), so that the edge core (:class:`EdgeNmpcController`,
:class:`NmpcLogic`, :class:`NmpcScaling`) imports neither CasADi nor do-mpc; everything else here needs both.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controllers.nmpc._controller import NmpcController
    from controllers.nmpc._edge import EdgeNmpcController
    from controllers.nmpc._estimator import DisturbanceEKF, augmented_rank_condition
    from controllers.nmpc._logic import NmpcLogic
    from controllers.nmpc._model import NmpcModel
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
    from controllers.nmpc._scaling import NmpcScaling, TemperatureLoops
    from controllers.nmpc._supervisory import InProcessTargets, SupervisoryTarget
    from controllers.nmpc._target import SteadyTarget
    from mpc.scenario import (
        EstimatorSettings,
        ModelSettings,
        NmpcSettings,
        OcpSettings,
        TargetSettings,
    )

_WHERE = {
    "NmpcController": "_controller",
    "EdgeNmpcController": "_edge",
    "DisturbanceEKF": "_estimator",
    "augmented_rank_condition": "_estimator",
    "NmpcLogic": "_logic",
    "NmpcModel": "_model",
    "DynamicOcp": "_ocp",
    "VIA_SPEED_FACTORS": "_offline",
    "OptimisedPoint": "_offline",
    "best_optimised_point": "_offline",
    "optimised_starts": "_offline",
    "plan_speeds": "_offline",
    "solve_optimised_point": "_offline",
    "steady_speed_by_continuation": "_offline",
    "NmpcScaling": "_scaling",
    "TemperatureLoops": "_scaling",
    "InProcessTargets": "_supervisory",
    "SupervisoryTarget": "_supervisory",
    "SteadyTarget": "_target",
    "EstimatorSettings": "mpc.scenario",
    "ModelSettings": "mpc.scenario",
    "NmpcSettings": "mpc.scenario",
    "OcpSettings": "mpc.scenario",
    "TargetSettings": "mpc.scenario",
}

__all__ = [
    "VIA_SPEED_FACTORS",
    "DisturbanceEKF",
    "DynamicOcp",
    "EdgeNmpcController",
    "EstimatorSettings",
    "InProcessTargets",
    "ModelSettings",
    "NmpcController",
    "NmpcLogic",
    "NmpcModel",
    "NmpcScaling",
    "NmpcSettings",
    "OcpSettings",
    "OptimisedPoint",
    "SteadyTarget",
    "SupervisoryTarget",
    "TargetSettings",
    "TemperatureLoops",
    "augmented_rank_condition",
    "best_optimised_point",
    "optimised_starts",
    "plan_speeds",
    "solve_optimised_point",
    "steady_speed_by_continuation",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(where if where.startswith("mpc.") else f"{__name__}.{where}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
