"""calmline framework core (domain-agnostic): array back ends, identification, CLI.

The documented Python API that the CLI and the scenario scripts share is
re-exported from :mod:`mpc.api`.
"""

from mpc.backend import ArrayOps, CasadiOps, JaxOps, NumpyOps, ops_by_name

__all__ = ["ArrayOps", "CasadiOps", "JaxOps", "NumpyOps", "ops_by_name"]
