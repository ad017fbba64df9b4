"""Operating points and steady states of the line.

An :class:`OperatingPoint` is what a recipe states: web speed, target dry
coat weight, per-zone air temperature, nozzle velocity and exhaust flow, and
the nominal disturbances. :func:`steady_state` finds the state at which the
line sits still under that recipe, and the heater powers that hold the air
temperatures (pseudo-transient integration with CasADi's CVODES, then a
Newton polish with exact Jacobians).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plants import coater as cot
from plants.backend import NUMPY
from plants.building import hvac_supply_humidity_ratio, room_rh_frac
from plants.line import LineModel
from plants.params import ParameterError

__all__ = [
    "OperatingPoint",
    "SteadyProblem",
    "SteadyState",
    "nominal_disturbances",
    "steady_from_free",
    "steady_problem",
    "steady_state",
]


@dataclass(frozen=True)
class OperatingPoint:
    """A recipe: the set points a line runs at (SI units)."""

    speed_m_s: float
    coat_weight_kg_m2: float
    air_temp_K: tuple[float, ...]
    nozzle_velocity_m_s: tuple[float, ...]
    exhaust_m3_s: tuple[float, ...]
    outdoor_temp_K: float = 293.15
    outdoor_rh_frac: float = 0.5
    solids_frac: float | None = None
    heater_efficiency: tuple[float, ...] | None = None
    fan_flow_factor: tuple[float, ...] | None = None
    heat_transfer_factor: float = 1.0
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.speed_m_s < 5.0:
            raise ParameterError(f"operating point speed_m_s = {self.speed_m_s!r}: expected (0, 5) m/s")
        if not 0.005 < self.coat_weight_kg_m2 < 1.0:
            raise ParameterError(
                f"operating point coat_weight_kg_m2 = {self.coat_weight_kg_m2!r}: expected (0.005, 1) kg/m2"
            )
        for t in self.air_temp_K:
            if not 280.0 <= t <= 520.0:
                raise ParameterError(
                    f"operating point air_temp_K = {t!r}: expected 280-520 K"
                    + (" (this looks like degC: add 273.15)" if t < 280.0 else "")
                )


@dataclass(frozen=True)
class SteadyState:
    """A steady state: state, inputs, disturbances and outputs (NumPy vectors)."""

    x: np.ndarray
    u: np.ndarray
    d: np.ndarray
    y: dict[str, float]
    residual_norm: float


def nominal_disturbances(model: LineModel, op: OperatingPoint) -> np.ndarray:
    """Disturbance vector for an operating point (process noise zero)."""
    L = model.layout
    p = model.params
    d = np.zeros(L.n_disturbances)
    d[L.D_OUT_T] = op.outdoor_temp_K
    d[L.D_OUT_RH] = op.outdoor_rh_frac
    d[L.D_SOLIDS] = op.solids_frac if op.solids_frac is not None else p.coater.solids_frac_nominal
    d[L.D_HTF] = op.heat_transfer_factor
    d[L.D_XCR] = 1.0
    d[L.d_heater_eff] = op.heater_efficiency if op.heater_efficiency is not None else 1.0
    d[L.d_fan_factor] = op.fan_flow_factor if op.fan_flow_factor is not None else 1.0
    return d


def _check_len(name: str, values: tuple[float, ...], n: int) -> np.ndarray:
    arr = np.asarray(values, float)
    if arr.shape != (n,):
        raise ParameterError(f"operating point {name} has {arr.size} values; the line has {n} zones")
    return arr


@dataclass(frozen=True)
class SteadyProblem:
    """What :func:`steady_state` solves: the fixed part of the state, the inputs and disturbances, and the
    states left free (every state but the air temperatures, which the recipe sets, and the heaters, which
    follow from the heat balance).

    Attributes
    ----------
    x0 : numpy.ndarray
        The start state (air temperatures at the recipe's, the coater's states from the recipe).
    u, d : numpy.ndarray
        Inputs (heater powers left at zero) and disturbances.
    free : numpy.ndarray
        Indices of the free states.
    """

    x0: np.ndarray
    u: np.ndarray
    d: np.ndarray
    free: np.ndarray


def steady_problem(model: LineModel, op: OperatingPoint, *, critical_content_factor: float = 1.0) -> SteadyProblem:
    """The equations of the steady state of ``model`` under ``op`` (see :func:`steady_state`).

    ``critical_content_factor`` is the disturbance that scales the film's critical content (1: the model's).
    """
    L = model.layout
    p = model.params
    n = L.n_zones
    t_air = _check_len("air_temp_K", op.air_temp_K, n)
    noz = _check_len("nozzle_velocity_m_s", op.nozzle_velocity_m_s, n)
    exh = _check_len("exhaust_m3_s", op.exhaust_m3_s, n)
    d = nominal_disturbances(model, op)
    d[L.D_XCR] = critical_content_factor

    # Building and slurry at steady state.
    w_room = float(hvac_supply_humidity_ratio(NUMPY, d[L.D_OUT_T], d[L.D_OUT_RH], p.building))
    rh = float(room_rh_frac(NUMPY, w_room, p.building))
    water = p.coater.water_uptake_per_rh * rh
    solids = d[L.D_SOLIDS] * (1.0 - water)
    rho = float(cot.slurry_density_kg_m3(solids, p.coater, p.solvent))
    pump = op.coat_weight_kg_m2 * p.coater.width_m * op.speed_m_s / (rho * solids)

    fan_factor = d[L.d_fan_factor]
    u = np.zeros(L.n_inputs)
    u[L.u_speed] = op.speed_m_s
    u[L.u_pump] = pump
    u[L.u_nozzle] = noz / fan_factor
    u[L.u_exhaust] = exh

    x0 = np.zeros(L.n_states)
    x0[L.pump] = pump
    x0[L.room_w] = w_room
    x0[L.slurry_water] = water
    x0[L.air_temp] = t_air
    x0[L.nozzle] = noz
    x0[L.dry_loading] = op.coat_weight_kg_m2
    x0[L.solvent_load] = op.coat_weight_kg_m2 * (1.0 - solids) / solids
    fixed = np.zeros(L.n_states, bool)
    fixed[L.air_temp] = True
    fixed[L.heater] = True
    return SteadyProblem(x0=x0, u=u, d=d, free=np.flatnonzero(~fixed))


def steady_from_free(model: LineModel, prob: SteadyProblem, z: np.ndarray) -> SteadyState:
    """The steady state whose free states are ``z``: the heater powers that hold each zone's air temperature
    follow from the zone's heat balance."""
    L = model.layout
    p = model.params
    x = prob.x0.copy()
    x[prob.free] = z
    u, d = prob.u.copy(), prob.d
    bal_parts = model._algebra(NUMPY, x, u, d)
    need = (
        bal_parts["makeup_heat"] + bal_parts["q_web_zone"] + bal_parts["wall_loss"] - bal_parts["fan_power"]
    )
    heat = np.asarray(need, float) / (d[L.d_heater_eff] * p.dryer.heater_efficiency_nominal)
    x[L.heater] = heat
    u[L.u_heater] = heat
    f, gfun = model.casadi_functions()
    resid = np.asarray(f(x, u, d)).ravel()
    yv = np.asarray(gfun(x, u, d)).ravel()
    y = dict(zip(model.output_names(), yv.tolist(), strict=True))
    return SteadyState(x=x, u=u, d=d, y=y, residual_norm=float(np.linalg.norm(resid / np.maximum(1.0, np.abs(x)))))


def steady_state(model: LineModel, op: OperatingPoint, *, settle_s: float | None = None,
                 critical_content_factor: float = 1.0) -> SteadyState:
    """Steady state of ``model`` under the recipe ``op``.

    The pump flow is set for the target coat weight at the slurry's actual
    solids (including water taken up at the steady room humidity); heater
    powers are whatever holds the air temperatures. ``critical_content_factor``
    scales the film's critical content (the ``D_XCR`` disturbance; 1: the
    model's).
    """
    import casadi as ca

    L = model.layout
    prob = steady_problem(model, op, critical_content_factor=critical_content_factor)
    f, _ = model.casadi_functions()
    xs = ca.SX.sym("x", L.n_states)
    rhs = f(xs, prob.u, prob.d)
    free_rhs = ca.vertcat(*[rhs[int(i)] for i in prob.free])
    xf = ca.SX.sym("xf", prob.free.size)
    full = ca.SX(prob.x0)
    for k, i in enumerate(prob.free):
        full[int(i)] = xf[k]
    g = ca.substitute(free_rhs, xs, full)

    residence = model.dryer_length_m / op.speed_m_s
    horizon = settle_s if settle_s is not None else 6.0 * residence + 600.0
    dae = {"x": xf, "ode": g}
    integ = ca.integrator("settle", "cvodes", dae, 0.0, horizon, {"abstol": 1e-10, "reltol": 1e-8})
    z = np.asarray(integ(x0=prob.x0[prob.free])["xf"]).ravel()
    newton = ca.rootfinder("polish", "newton", ca.Function("g", [xf], [g]), {"abstol": 1e-12, "max_iter": 50})
    try:
        z = np.asarray(newton(z)).ravel()
    except RuntimeError:
        pass
    return steady_from_free(model, prob, z)
