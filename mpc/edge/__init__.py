"""The edge runtime: exported controller parts, loaded with ctypes and run on numpy, without CasADi or do-mpc.

Here too the parts both sides run from one copy: the EKF's logic (:class:`SubstepEkf`), the delayed-gauge
filter (:class:`GaugeBiasFilter`), the lmpc's offset-free Kalman filter (:class:`OffsetFreeKalman`) and the
MPCs' supervisor (:class:`Supervisor`).

Importing this package imports neither CasADi nor do-mpc (``tests/test_edge.py`` checks it in a fresh
interpreter). ``calmline export`` writes the artifacts (``docs/edge.md``).
"""

from mpc.edge._artifact import (
    FORMAT,
    REQUIRED,
    Artifact,
    ArtifactError,
    check_cpu,
    cpu_features,
    file_sha256,
    model_sha256,
    open_library,
    private_library,
    read_artifact,
)
from mpc.edge._bounds import stage_input_bounds
from mpc.edge._compiled import CompiledFunction, load_library
from mpc.edge._context import LINE_FILE, LineSide, from_plain, read_line, to_plain, write_line
from mpc.edge._ekf import BiasLayout, EkfModel, FilterView, SubstepEkf
from mpc.edge._estimation import EstimationStep
from mpc.edge._estimator import EdgeEstimator, edge_estimation
from mpc.edge._gauge import GaugeBiasFilter
from mpc.edge._hpipm import QpStatus, StageQp
from mpc.edge._install import (
    EDGE_DISTRIBUTIONS,
    REQUIREMENTS_FILE,
    edge_requirements,
    loaded_distributions,
)
from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue
from mpc.edge._ocp import EdgeOcp
from mpc.edge._offset_free import OffsetFreeKalman, augmented_rank
from mpc.edge._rti import RtiResult, RtiSolver
from mpc.edge._supervisor import MODES, Decision, PlanMemory, Supervisor, fallback_move
from mpc.edge._target import StampedTarget, TargetRequest, TargetSource
from mpc.edge._watchdog import StepWatchdog

__all__ = [
    "EDGE_DISTRIBUTIONS",
    "FORMAT",
    "LINE_FILE",
    "MODES",
    "REQUIRED",
    "REQUIREMENTS_FILE",
    "Artifact",
    "ArtifactError",
    "BiasLayout",
    "CompiledFunction",
    "Decision",
    "EdgeEstimator",
    "EdgeOcp",
    "EkfModel",
    "EstimationStep",
    "FilterView",
    "GaugeBiasFilter",
    "KalmanCore",
    "LineSide",
    "OffsetFreeKalman",
    "Outputs",
    "PlanMemory",
    "QpStatus",
    "RtiResult",
    "RtiSolver",
    "StageQp",
    "StampedTarget",
    "Step",
    "StepValue",
    "StepWatchdog",
    "SubstepEkf",
    "Supervisor",
    "TargetRequest",
    "TargetSource",
    "augmented_rank",
    "check_cpu",
    "cpu_features",
    "edge_estimation",
    "edge_requirements",
    "fallback_move",
    "file_sha256",
    "from_plain",
    "load_library",
    "loaded_distributions",
    "model_sha256",
    "open_library",
    "private_library",
    "read_artifact",
    "read_line",
    "stage_input_bounds",
    "to_plain",
    "write_line",
]
