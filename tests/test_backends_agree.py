"""Physics written once: the CasADi and JAX evaluations agree to round-off."""

from __future__ import annotations

import numpy as np
import pytest

from plants.backend import ops_by_name
from plants.line import LineModel
from plants.presets import get_preset, preset_names
from plants.simulate import casadi_stepper, rk4_step
from plants.steady import OperatingPoint, steady_state


def _close(a: np.ndarray, b: np.ndarray) -> None:
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    err = np.abs(a - b) / (1.0 + np.abs(b))
    assert err.max() <= 1e-9, f"max relative disagreement {err.max():.3e} at index {err.argmax()}"


def _points(name: str, n: int, seed: int):
    p = get_preset(name).replace(dryer={"cells_per_zone": 3})
    m = LineModel(p)
    op = OperatingPoint(
        speed_m_s=0.5,
        coat_weight_kg_m2=0.2 if name == "nmc_nmp" else 0.113,
        air_temp_K=(348.0, 368.0, 378.0, 378.0),
        nozzle_velocity_m_s=(18.0, 20.0, 20.0, 15.0),
        exhaust_m3_s=(2.5, 3.0, 1.5, 0.5),
    )
    ss = steady_state(m, op)
    rng = np.random.default_rng(seed)
    L = m.layout
    pts = []
    for k in range(n):
        x = ss.x * (1.0 + 0.3 * rng.uniform(-1, 1, ss.x.size))
        u = ss.u * (1.0 + 0.3 * rng.uniform(-1, 1, ss.u.size))
        d = ss.d.copy()
        d[L.D_OUT_T] = rng.uniform(260, 310)
        d[L.D_OUT_RH] = rng.uniform(0.1, 1.0)
        d[L.D_SOLIDS] *= 1 + 0.02 * rng.uniform(-1, 1)
        d[L.D_PUMP_NOISE] = 0.02 * rng.standard_normal()
        d[L.D_COAT_NOISE] = 0.01 * rng.standard_normal()
        d[L.d_heater_eff] = rng.uniform(0.6, 1.0, L.n_zones)
        d[L.d_fan_factor] = rng.uniform(0.6, 1.0, L.n_zones)
        if k % 3 == 1:
            # exactly at the falling-rate kink in every cell
            x[L.solvent_load] = p.dryer.critical_content_kg_kg * x[L.dry_loading]
        if k % 3 == 2:
            u[L.u_speed] = 0.0  # a line stop
            u[L.u_pump] = 0.0
        pts.append((x, u, d))
    return m, pts


@pytest.mark.parametrize("name", preset_names())
def test_rhs_and_outputs_agree(name: str) -> None:
    m, pts = _points(name, 9, seed=1)
    fc, gc = m.casadi_functions()
    fj, gj = m.jax_functions()
    import jax.numpy as jnp

    for x, u, d in pts:
        _close(fj(jnp.asarray(x), jnp.asarray(u), jnp.asarray(d)), np.asarray(fc(x, u, d)))
        _close(gj(jnp.asarray(x), jnp.asarray(u), jnp.asarray(d)), np.asarray(gc(x, u, d)))


def test_rk4_step_agrees() -> None:
    m, pts = _points("nmc_nmp", 3, seed=2)
    step = casadi_stepper(m, 1.0)
    fj, _ = m.jax_functions()
    import jax.numpy as jnp

    for x, u, d in pts:
        xj = rk4_step(fj, jnp.asarray(x), jnp.asarray(u), jnp.asarray(d), 1.0, 2)
        _close(xj, np.asarray(step(x, u, d)))


def test_numpy_backend_matches_casadi() -> None:
    m, pts = _points("graphite_water", 3, seed=3)
    fc, _ = m.casadi_functions()
    ops = ops_by_name("numpy")
    for x, u, d in pts:
        _close(m.rhs(ops, x, u, d), np.asarray(fc(x, u, d)))
