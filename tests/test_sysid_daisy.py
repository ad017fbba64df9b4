"""Acceptance on real measured data (DaISy), against existing Python libraries' figures.

Every row of the reference table in ``tests/data/daisy/PROVENANCE.md`` is run
with ``method="auto", order="auto"`` under its protocol: the model is chosen
on the estimation rows only, and the free-run fit (least-squares initial
state, :func:`mpc.sysid.compare`) on the validation rows must be at least as
good on every output as the best single library model (the glass furnace: on
the mean of its six outputs). These are honest acceptance tests; a row that
is not met is marked ``xfail(strict=True)`` with the measured figure (none at
present; the hair dryer's ``mean`` row may lie 0.5 point below its figure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mpc.sysid import IdentifiedModel, identify

DAISY = Path(__file__).parent / "data" / "daisy"

#: name -> (file, inputs, outputs, estimate, validate, protocol, dt)
ROWS = {
    "hair-mean": ("daisy_dryer.dat", "c0", "c1", "0:500", "500:1000", "mean", 0.08),
    "hair-segment-mean": ("daisy_dryer.dat", "c0", "c1", "0:300", "799:900", "segment-mean", 0.08),
    "dryer2-segment-linear": ("daisy_dryer2.dat", "c1,c2,c3", "c4,c5,c6", "0:600", "600:867",
                              "segment-linear", 10.0),
    "furnace-mean": ("daisy_glassfurnace.dat", "c1,c2,c3", "c4,c5,c6,c7,c8,c9", "0:800",
                     "800:1247", "mean", None),
}

_CACHE: dict[str, IdentifiedModel] = {}


def _result(name: str) -> IdentifiedModel:
    if name not in _CACHE:
        f, ins, outs, est, val, protocol, dt = ROWS[name]
        _CACHE[name] = identify(DAISY / f, ins, outs, estimate=est, validate=val,
                                detrend=protocol, dt=dt, method="auto", order="auto")
    return _CACHE[name]


def _fits(name: str) -> np.ndarray:
    return np.array(list(_result(name).fit_percent.values()))


def test_hair_dryer_mean_protocol() -> None:
    # library ARX(4,4): 85.9 %; this row may lie at most 0.5 point below it (issue 19's
    # allowance: almost every candidate validates at 85.6-86.0 % under this protocol, and
    # the offset between the estimation and validation rows is what separates them,
    # docs/identification.md)
    assert _fits("hair-mean")[0] >= 85.9 - 0.5


def test_hair_dryer_segment_mean_protocol() -> None:
    fit = _fits("hair-segment-mean")[0]
    assert fit >= 89.2  # best single library model: CVA n=4 (ARX(2,2,3): 88.2)


@pytest.mark.slow
def test_industrial_dryer_segment_linear_every_output() -> None:
    fit = _fits("dryer2-segment-linear")
    # best single library model (N4SID n=4): 47.2 / 59.1 / 0.7
    assert np.all(fit >= np.array([47.2, 59.1, 0.7])), fit
    # the mark to aim for, best per output over all libraries: 47.2 / 59.1 / 3.4
    assert np.all(fit >= np.array([47.2, 59.1, 3.4])), fit


@pytest.mark.slow
def test_glass_furnace_mean_of_six_outputs() -> None:
    fit = _fits("furnace-mean")
    assert fit.size == 6
    assert fit.mean() >= 55.3  # PARSIM-K n=10 (CVA: 50.8)


@pytest.mark.parametrize("name", list(ROWS))
def test_chosen_models_are_stable_and_validated(name: str) -> None:
    result = _result(name)  # computed once per row, shared with the acceptance tests
    assert result.stable and result.details["spectral_radius"] < 1.0
    assert set(result.fit_percent) == set(result.output_names)
    assert all(np.isfinite(v) for v in result.rmse.values())
    assert set(result.fit_percent_1step) == set(result.output_names)
    assert all(np.isfinite(v) for v in result.fit_percent_1step.values())
    # selection never saw the validation rows
    sel = result.details["selection"]
    test_rows = [fold["test_rows"] for fold in sel["folds"]]
    est_stop = int(result.details["estimate_rows"].split(":")[1])
    assert all(int(r.split(":")[1]) <= est_stop for r in test_rows)
