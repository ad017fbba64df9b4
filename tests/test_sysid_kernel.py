"""The TC-kernel regularised impulse response (``mpc.sysid._kernel``, ``method="tc"``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mpc.sysid import IdentificationError, StateSpaceModel, compare, identify
from mpc.sysid._kernel import tc_impulse_response


def _second_order(rng: np.random.Generator, n: int = 800) -> tuple[StateSpaceModel, np.ndarray, np.ndarray, np.ndarray]:
    A = np.array([[1.6, -0.68], [1.0, 0.0]])  # poles 0.8 +- 0.2j
    true = StateSpaceModel(A, np.array([[1.0], [0.0]]), np.array([[0.2, 0.1]]), np.zeros((1, 1)),
                           np.zeros((2, 1)), np.zeros(2), 1.0)
    u = rng.normal(size=(n, 1))
    y0 = true.simulate(u)
    return true, u, y0, y0 + 0.1 * y0.std() * rng.normal(size=y0.shape)


def test_impulse_response_and_realisation_recover_a_known_system() -> None:
    rng = np.random.default_rng(3)
    true, u, y0, y = _second_order(rng)
    ir = tc_impulse_response(y, u, length=60)
    pulses = np.array([(true.C @ np.linalg.matrix_power(true.A, k) @ true.B)[0, 0] for k in range(60)])
    assert np.max(np.abs(ir.g[0, 0] - pulses)) < 0.05 * np.max(np.abs(pulses))
    assert 0.0 < ir.decay[0] < 1.0 and ir.scale[0] > 0.0
    model = ir.model(2, y, u)
    assert model.stable
    assert compare(model, y0[-200:], u[-200:]).fit_percent[0] > 90.0
    with pytest.raises(IdentificationError, match="order 40"):
        ir.model(40, y, u)


def test_method_tc_through_identify() -> None:
    rng = np.random.default_rng(4)
    _, u, _, y = _second_order(rng, 600)
    frame = pd.DataFrame({"u": u[:, 0], "y": y[:, 0]})
    result = identify(frame, "u", "y", estimate="0:400", validate="400:", method="tc", order=2)
    assert result.method == "tc" and result.order == 2 and result.stable
    assert result.details["candidate"] == "TC-kernel impulse response n=2"
    assert result.fit_percent["y"] > 85.0
    with pytest.raises(IdentificationError, match="too few"):
        tc_impulse_response(y[:20], u[:20])
