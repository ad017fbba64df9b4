"""The edge runtime: exported controller parts, loaded and run with numpy and ctypes only.

Importing this package imports neither CasADi nor do-mpc (``tests/test_edge.py`` checks it in a fresh
interpreter). ``calmline export`` writes the artifacts (``docs/edge.md``).
"""

from mpc.edge._artifact import FORMAT, Artifact, ArtifactError, file_sha256, read_artifact
from mpc.edge._compiled import CompiledFunction, load_library
from mpc.edge._ekf import EkfModel, SubstepEkf
from mpc.edge._estimator import EdgeEstimator
from mpc.edge._kalman import KalmanCore, Outputs, Step, StepValue

__all__ = [
    "FORMAT",
    "Artifact",
    "ArtifactError",
    "CompiledFunction",
    "EdgeEstimator",
    "EkfModel",
    "KalmanCore",
    "Outputs",
    "Step",
    "StepValue",
    "SubstepEkf",
    "file_sha256",
    "load_library",
    "read_artifact",
]
