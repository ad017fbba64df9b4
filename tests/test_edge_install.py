"""What an edge PC installs (``mpc.edge.edge_requirements``) and what a process imported (``loaded_distributions``).
The edge core running in an environment that holds only these is in ``tests/test_edge.py``."""

from __future__ import annotations

from importlib import metadata

import pytest

from mpc.edge import EDGE_DISTRIBUTIONS, edge_requirements, loaded_distributions


def test_the_edge_requirements_close_over_what_they_require_and_leave_the_design_machine_out() -> None:
    req = edge_requirements()
    assert set(EDGE_DISTRIBUTIONS) <= set(req)
    for name, version in req.items():
        assert metadata.version(name) == version  # pinned to what is installed here
    # requirements of requirements come with them: pandas needs python-dateutil, asyncua cryptography
    assert {"python-dateutil", "cryptography"} <= set(req)
    assert not {"casadi", "do-mpc", "jax", "jaxlib", "dask", "distributed", "matplotlib", "pvlib"} & set(req)
    assert list(req) == sorted(req)


def test_a_distribution_that_is_not_installed_is_named() -> None:
    with pytest.raises(metadata.PackageNotFoundError, match="not-a-calmline-dependency"):
        edge_requirements(("numpy", "not-a-calmline-dependency"))


def test_the_loaded_distributions_are_this_processes_third_party_ones() -> None:
    import numpy  # noqa: F401

    loaded = loaded_distributions()
    assert "numpy" in loaded and "pytest" in loaded
    assert "calmline" not in loaded and loaded == sorted(loaded)
