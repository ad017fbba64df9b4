"""Sizing a dryer's exhausts by a ventilation rule: every zone at one design level.

A recipe states each zone's air temperature and nozzle velocity; the exhaust
(= make-up) air that goes with them is what holds every zone at one design
level of the solvent vapour in its air:

* a flammable solvent (NMP): a fraction of the lower explosive limit,
  temperature-corrected as the model's analysers read it (``zone*_lel_frac``);
* a solvent that is not flammable (water): an exhaust humidity ratio, kg of
  vapour per kg of air (``zone*_humidity_ratio_kg_kg``).

At steady state a zone's vapour balance is ``evaporation = Q (c - c_in)``
(``Q`` the exhaust delivered: the command times the dryer's
``exhaust_flow_factor``; ``c`` the zone's vapour concentration, ``c_in`` the
make-up air's), so at the same evaporation the exhaust command for the design
concentration ``c*`` is ``evaporation / ((c* - c_in) exhaust_flow_factor)``.
The evaporation itself rises as the zone's vapour falls, so
:func:`ventilated_steady_state` iterates: steady state at the current exhausts,
new exhausts from its evaporation (a secant step per zone, with the slope of
that map between the last two iterates; a plain substitution after a step that
did not shrink the largest change), until no exhaust changes by more than
``rel_tol`` (relative). Each iteration is one :func:`plants.steady.steady_state`;
about eight reach ``1e-6`` on the presets. The zone levels then match the design
level to the steady state's own accuracy (a few ``1e-4`` relative in a zone with
little evaporation).
"""

from __future__ import annotations

import math

import numpy as np

from plants.backend import ops_by_name
from plants.line import LineModel
from plants.params import ParameterError
from plants.properties import GAS_CONSTANT_J_MOLK, lel_temperature_factor
from plants.steady import OperatingPoint, SteadyState, steady_state

__all__ = ["ventilated_steady_state"]


def _design_concentration(model: LineModel, t_air_K: np.ndarray, rho_air: np.ndarray, lel_frac: float | None,
                          humidity_ratio_kg_kg: float | None) -> np.ndarray:
    """The zone-air vapour concentration of the design level, kg/m3, per zone."""
    p = model.params
    so = p.solvent
    if so.lel_vol_frac > 0:
        if lel_frac is None or humidity_ratio_kg_kg is not None:
            raise ParameterError(f"solvent {so.name!r} is flammable: size its exhausts by lel_frac (and only by it)")
        p_design = lel_frac * so.lel_vol_frac * lel_temperature_factor(t_air_K) * p.dryer.pressure_Pa
        return p_design * so.molar_mass_kg_mol / (GAS_CONSTANT_J_MOLK * t_air_K)
    if humidity_ratio_kg_kg is None or lel_frac is not None:
        raise ParameterError(
            f"solvent {so.name!r} is not flammable: size its exhausts by humidity_ratio_kg_kg (and only by it)"
        )
    return humidity_ratio_kg_kg * rho_air


def ventilated_steady_state(model: LineModel, op: OperatingPoint, *, lel_frac: float | None = None,
                            humidity_ratio_kg_kg: float | None = None, exhaust_min_m3_s: float = 1e-3,
                            exhaust_max_m3_s: float = math.inf, rel_tol: float = 1e-6,
                            max_iter: int = 200) -> SteadyState:
    """Steady state of ``model`` under ``op`` with every zone's exhaust sized for one design level.

    Parameters
    ----------
    model : LineModel
        The line the exhausts are sized on.
    op : OperatingPoint
        Speed, coat weight, air temperatures, nozzle velocities and conditions; its exhausts are
        the first guess.
    lel_frac : float, optional
        Design LEL fraction of every zone (0.2 = 20 % LEL); for a flammable solvent, and only for one.
    humidity_ratio_kg_kg : float, optional
        Design exhaust humidity ratio of every zone, kg/kg; for a solvent that is not flammable.
    exhaust_min_m3_s, exhaust_max_m3_s : float
        Range of the exhaust command, m3/s. A zone that needs less than the minimum runs at the
        minimum (below the design level); one that needs more than the maximum runs at the maximum
        (above it): compare the returned zone levels with the design level.
    rel_tol : float
        Largest relative change of any exhaust between two iterations at convergence.
    max_iter : int
        Iterations before giving up.

    Returns
    -------
    SteadyState
        At the sized exhausts (``u`` holds them; ``y`` the zone levels).

    Raises
    ------
    ParameterError
        The design level is not the solvent's kind, or is not positive.
    RuntimeError
        The iteration did not converge in ``max_iter`` steps.
    """
    level = lel_frac if lel_frac is not None else humidity_ratio_kg_kg
    if level is not None and not (math.isfinite(level) and level > 0.0):
        raise ParameterError(f"design level {level!r}: expected a positive number")
    if not 0.0 < exhaust_min_m3_s < exhaust_max_m3_s:
        raise ParameterError(
            f"exhaust range [{exhaust_min_m3_s!r}, {exhaust_max_m3_s!r}] m3/s: expected 0 < minimum < maximum"
        )
    L = model.layout
    ops = ops_by_name("numpy")
    t_air = np.asarray(op.air_temp_K, float)
    ex = np.clip(np.asarray(op.exhaust_m3_s, float), exhaust_min_m3_s, exhaust_max_m3_s)
    flow_factor = model.params.dryer.exhaust_flow_factor
    prev: tuple[np.ndarray, np.ndarray] | None = None
    change = math.inf
    for _ in range(max_iter):
        ss = steady_state(model, OperatingPoint(**{**op.__dict__, "exhaust_m3_s": tuple(ex)}))
        a = model._algebra(ops, ss.x, ss.u, ss.d)
        c_design = _design_concentration(model, t_air, np.asarray(a["rho_air"], float), lel_frac,
                                         humidity_ratio_kg_kg)
        headroom = c_design - np.asarray(a["conc_in"], float)
        if np.any(headroom <= 0.0):
            raise ParameterError(
                f"design humidity ratio {humidity_ratio_kg_kg!r} kg/kg: at or below the make-up air's "
                f"({float(np.max(np.asarray(a['conc_in']) / np.asarray(a['rho_air']))):.4g} kg/kg); no exhaust reaches it"
            )
        mapped = np.asarray(a["evap_zone"], float) / headroom / flow_factor
        last_change = change
        change = float(np.max(np.abs(np.clip(mapped, exhaust_min_m3_s, exhaust_max_m3_s) - ex) / ex))
        if change <= rel_tol:
            return ss
        # the exhaust of a zone's balance, F(ex), rises with ex (less vapour, more evaporation): a secant step on
        # F(ex) - ex with the slope of F seen between the last two iterates (0 at first, and after a step that
        # did not shrink the change: a plain substitution)
        slope = np.zeros_like(ex) if prev is None or change >= last_change else np.clip(
            np.divide(mapped - prev[1], ex - prev[0], out=np.zeros_like(ex), where=np.abs(ex - prev[0]) > 0.0),
            0.0, 0.9)
        prev = (ex, mapped)
        ex = np.clip(ex + (mapped - ex) / (1.0 - slope), exhaust_min_m3_s, exhaust_max_m3_s)
    raise RuntimeError(
        f"exhaust sizing did not converge in {max_iter} iterations (last relative change {change:.2e}, "
        f"exhausts {np.round(ex, 4).tolist()} m3/s, zones {L.n_zones})"
    )
