"""A sweep's draws: N variations of one scenario, each a complete scenario of its own.

Every draw gets its own random generator, spawned from the sweep's seed (``numpy.random.SeedSequence``),
so a draw is the same whatever the number of samples, workers or backend. A draw sets scenario keys
by dotted path (``disturbances.slurry.solids_frac``, ``mismatch.plant.dryer.heat_transfer_multiplier``)
and is validated as any scenario file is: a key that does not exist or a value out of range is an
error naming it.

The default dispersion (no ``--vary``; ``docs/sweep.md``):

==============================================  ============================================
key                                             drawn as
==============================================  ============================================
``seeds.disturbances/process_noise/sensors``    ``integer(0, 2**31 - 1)`` each (always, unless varied)
``disturbances.slurry.solids_frac``             the scenario's (or preset's) x ``normal(1, 0.01)``
``mismatch.plant.dryer.heat_transfer_multiplier``  the scenario's x ``uniform(0.92, 1.05)``
``mismatch.plant.dryer.critical_content_kg_kg``  the scenario's x ``normal(1, 0.04)``
``disturbances.weather``                        ``source = choice(greensboro, sand_point)``, ``window = "start"``,
                                                ``start_day = integer(1, 365)``
``analyser_fault``                              ``choice(none x 8, fail, stuck)``: in one of
                                                ten draws an analyser fault in a random zone
                                                at a random time of the KPI window
==============================================  ============================================
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from mpc.scenario import Scenario, ScenarioError, build_setup, scenario_from_dict
from mpc.sweep._dist import Dist, SweepError, parse_dist

__all__ = ["ANALYSER_FAULT", "Draw", "default_dispersion", "make_draws"]

ANALYSER_FAULT = "analyser_fault"
"""A variation that is not a scenario key: ``none``, or an analyser fault kind (``fail``, ``stuck``,
``drift``) in a zone and at a time drawn from the KPI window."""

_SEED_KEYS = ("seeds.disturbances", "seeds.process_noise", "seeds.sensors")


@dataclass(frozen=True)
class Draw:
    """One variation of the scenario.

    Attributes
    ----------
    draw_id : int
        Its index, 0 .. N-1.
    values : dict
        Each varied key and the value drawn (``analyser_fault``: the kind, with ``analyser_fault_zone`` and
        ``analyser_fault_t_s`` where one was drawn).
    scenario : Scenario
        The complete, validated scenario.
    """

    draw_id: int
    values: dict[str, Any]
    scenario: Scenario


def _get(d: dict[str, Any], path: str) -> Any:
    cur: Any = d
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _set(d: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = d
    for part in parts[:-1]:
        nxt = cur.get(part)
        if nxt is None:
            nxt = cur[part] = {}
        if not isinstance(nxt, dict):
            raise SweepError(f"--vary {path}: {part!r} is not a table of the scenario")
        cur = nxt
    cur[parts[-1]] = value


def default_dispersion(base: Scenario) -> dict[str, Dist]:
    """The documented default variations of ``base`` (module docstring)."""
    setup = build_setup(base)
    pp = setup.plant_params
    mp = base.mismatch.plant.get("dryer", {})
    solids = base.disturbances.slurry.solids_frac or pp.coater.solids_frac_nominal
    htm = mp.get("heat_transfer_multiplier", pp.dryer.heat_transfer_multiplier)
    xcr = mp.get("critical_content_kg_kg", pp.dryer.critical_content_kg_kg)
    return {
        "disturbances.slurry.solids_frac": parse_dist(f"normal({solids:.6g},{0.01 * solids:.6g})"),
        "mismatch.plant.dryer.heat_transfer_multiplier": parse_dist(f"uniform({0.92 * htm:.6g},{1.05 * htm:.6g})"),
        "mismatch.plant.dryer.critical_content_kg_kg": parse_dist(f"normal({xcr:.6g},{0.04 * xcr:.6g})"),
        "disturbances.weather.source": parse_dist("choice(greensboro,sand_point)"),
        "disturbances.weather.window": parse_dist("choice(start)"),
        "disturbances.weather.start_day": parse_dist("integer(1,365)"),
        ANALYSER_FAULT: parse_dist("choice(none,none,none,none,none,none,none,none,fail,stuck)"),
    }


def make_draws(base: Scenario, vary: dict[str, Dist], n: int, seed: int, *, duration_s: float,
               source: str = "<scenario>") -> list[Draw]:
    """``n`` draws of ``base`` (``vary``: the variations; seeds are always drawn unless varied)."""
    if n < 1:
        raise SweepError(f"--samples {n}: expected at least 1")
    raw = base.model_dump()
    children = np.random.SeedSequence(seed).spawn(n)
    n_zones = build_setup(base).plant_params.dryer.n_zones
    warm = min(base.warmup_s, duration_s / 2.0)
    draws = []
    for i, child in enumerate(children):
        rng = np.random.default_rng(child)
        d = copy.deepcopy(raw)
        values: dict[str, Any] = {}
        for key in _SEED_KEYS:
            if key not in vary:
                values[key] = int(rng.integers(0, 2**31 - 1))
                _set(d, key, values[key])
        for key, dist in sorted(vary.items()):  # the order of --vary options does not change a draw
            v = dist.sample(rng)
            values[key] = v
            if key == ANALYSER_FAULT:
                if v not in ("none", "fail", "stuck", "drift"):
                    raise SweepError(f"--vary {ANALYSER_FAULT}: {v!r}: expected none, fail, stuck or drift")
                if v != "none":
                    zone = int(rng.integers(1, n_zones + 1))
                    t = float(rng.uniform(warm, duration_s))
                    values["analyser_fault_zone"], values["analyser_fault_t_s"] = zone, t
                    fault = {"zone": zone, "t_s": t, "kind": v}
                    if v == "drift":
                        fault["drift_per_s"] = 1e-4
                    d["disturbances"]["analyser_faults"] = [*d["disturbances"]["analyser_faults"], fault]
                continue
            _set(d, key, v)
        try:
            sc = scenario_from_dict(d, source=f"{source} (draw {i})")
        except ScenarioError as exc:
            raise SweepError(f"draw {i} ({', '.join(f'{k} = {v!r}' for k, v in values.items())}): {exc}") from None
        draws.append(Draw(i, values, sc))
    return draws


def base_value(base: Scenario, key: str) -> Any:
    """The base scenario's value of a dotted key (None where it has none)."""
    return _get(base.model_dump(), key)
