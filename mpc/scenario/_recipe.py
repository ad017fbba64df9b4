"""The recipe's operating point: the scenario's set points, with exhausts by the design rule where it lists none.

The rule (``[recipe]`` in ``docs/scenarios.md``, reasons in ``docs/baselines.md``):
every zone at one design level of solvent vapour, at the recipe's air
temperatures and nozzle velocities, the schedule's speed and the coat-weight
target, nominal conditions, on the nominal model: the preset at the
controllers' model's cells per zone (no ``[mismatch]`` overrides, no parameter
file), so that every scenario of a preset with the same set points runs the
same recipe. A flammable solvent's
level is ``design_lel_of_limit`` (default: the NMPC economic target's
``lel_margin``, read from :class:`mpc.scenario.TargetSettings`) of the LEL limit
without an analyser; a water line's is ``design_humidity_ratio_kg_kg``
(default :data:`mpc.scenario._schema.DESIGN_HUMIDITY_RATIO_KG_KG`). The
exhausts are sized by :func:`plants.design.ventilated_steady_state` within the
exhaust actuators' range.
"""

from __future__ import annotations

from functools import lru_cache

from mpc.scenario._load import ScenarioError
from mpc.scenario._nmpc_settings import TargetSettings
from mpc.scenario._plant import apply_overrides
from mpc.scenario._schema import DESIGN_HUMIDITY_RATIO_KG_KG, Scenario
from plants.actuators import ActuatorSpec
from plants.design import ventilated_steady_state
from plants.line import LineModel
from plants.params import LineParams
from plants.presets import get_preset
from plants.steady import OperatingPoint

__all__ = ["check_recipe_rule", "design_level", "nominal_model_params", "recipe_operating_point"]


def check_recipe_rule(sc: Scenario, params: LineParams, source: str = "<scenario>") -> None:
    """Refuse a design-rule parameter of the other kind of solvent (``design_humidity_ratio_kg_kg`` on an NMP line).

    Raises
    ------
    ScenarioError
        Naming the key, its value and the solvent.
    """
    r = sc.recipe
    flammable = params.solvent.lel_vol_frac > 0
    wrong = "design_humidity_ratio_kg_kg" if flammable else "design_lel_of_limit"
    if getattr(r, wrong) is not None:
        kind = "a flammable solvent: its rule is design_lel_of_limit" if flammable else (
            "not flammable: its rule is design_humidity_ratio_kg_kg")
        raise ScenarioError(
            f"{source}: 'recipe.{wrong}' = {getattr(r, wrong)!r}: preset {sc.preset}'s solvent "
            f"{params.solvent.name!r} is {kind}"
        )


def design_level(sc: Scenario, params: LineParams) -> tuple[str, float]:
    """The design rule's level: ``("lel_frac", fraction of LEL)`` or ``("humidity_ratio_kg_kg", kg/kg)``."""
    r = sc.recipe
    if params.solvent.lel_vol_frac > 0:
        of_limit = r.design_lel_of_limit if r.design_lel_of_limit is not None else TargetSettings().lel_margin
        return "lel_frac", of_limit * sc.spec.lel_limit_frac
    w = r.design_humidity_ratio_kg_kg
    return "humidity_ratio_kg_kg", DESIGN_HUMIDITY_RATIO_KG_KG if w is None else w


def nominal_model_params(sc: Scenario) -> LineParams:
    """The model the recipe is designed on: the preset at the controllers' model's cells per zone."""
    return apply_overrides(get_preset(sc.preset), sc.mismatch.model_cells_per_zone, {})


@lru_cache(maxsize=32)
def _sized(params: LineParams, op: OperatingPoint, kind: str, level: float, lower: float,
           upper: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The sized exhausts and every zone's level with them."""
    model = LineModel(params)
    ss = ventilated_steady_state(model, op, exhaust_min_m3_s=lower, exhaust_max_m3_s=upper, **{kind: level})
    levels = tuple(float(ss.y[f"zone{i}_{kind}"]) for i in range(1, model.layout.n_zones + 1))
    return tuple(float(v) for v in ss.u[model.layout.u_exhaust]), levels


def recipe_operating_point(sc: Scenario, specs: list[ActuatorSpec], source: str = "<scenario>") -> OperatingPoint:
    """The recipe as an operating point: its listed exhausts, or exhausts by the design rule.

    Parameters
    ----------
    sc : Scenario
        The scenario (its recipe, spec, schedule, preset and the controllers' cells per zone).
    specs : list of ActuatorSpec
        The line's actuators (the exhausts' range).
    source : str
        The scenario file, named in errors.

    Raises
    ------
    ScenarioError
        A zone would need more exhaust than its actuator gives to stay at the design level.
    """
    r = sc.recipe
    nominal = nominal_model_params(sc)
    base = nominal.coater.solids_frac_nominal
    op = OperatingPoint(
        speed_m_s=sc.schedule.speed_target_m_s,
        coat_weight_kg_m2=sc.spec.coat_weight_target_kg_m2,
        air_temp_K=tuple(r.air_temp_K),
        nozzle_velocity_m_s=tuple(r.nozzle_velocity_m_s),
        exhaust_m3_s=tuple(r.exhaust_m3_s) if r.exhaust_m3_s is not None else (1.0,) * len(r.air_temp_K),
        solids_frac=base,
    )
    if r.exhaust_m3_s is not None:
        return op
    by_name = {s.name: s for s in specs}
    n = len(r.air_temp_K)
    ranges = [(by_name[f"zone{i}_exhaust_flow_m3_s"].lower, by_name[f"zone{i}_exhaust_flow_m3_s"].upper)
              for i in range(1, n + 1)]
    lower = max(lo for lo, _ in ranges)
    upper = min(hi for _, hi in ranges)
    kind, level = design_level(sc, nominal)
    ex, levels = _sized(nominal, op, kind, level, lower, upper)
    full = [i for i, v in enumerate(levels) if v > level * (1.0 + 1e-4)]  # only a zone held at the upper limit
    if full:
        what = f"{level:.3g} LEL" if kind == "lel_frac" else f"{level:.4g} kg/kg exhaust humidity"
        zones = ", ".join(f"zone {i + 1} at {levels[i]:.3g}" for i in full)
        raise ScenarioError(
            f"{source}: [recipe]: the design rule ({what} in every zone, at the recipe's air_temp_K and "
            f"nozzle_velocity_m_s, nominal conditions) needs more exhaust than the actuator's upper limit "
            f"{upper:g} m3/s ({zones} with it); expected a recipe a zone's exhaust can ventilate: lower that "
            f"zone's air temperature or nozzle velocity, or list exhaust_m3_s"
        )
    return OperatingPoint(**{**op.__dict__, "exhaust_m3_s": ex})

