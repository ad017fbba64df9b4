"""Helpers shared by the closed-loop controller tests: short scenario variants and the LEL envelope."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mpc.scenario import ScenarioSetup, build_setup, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def short_setup(name: str, duration: float, **changes: object) -> ScenarioSetup:
    """A shipped scenario cut to ``duration`` s; ``a__b=v`` sets ``data[a][b] = v``."""
    data = load_scenario(ROOT / "scenarios" / name).model_dump()
    data["duration_s"] = duration
    data["warmup_s"] = min(data["warmup_s"], duration / 2)
    for path, value in changes.items():
        d = data
        keys = path.split("__")
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return build_setup(scenario_from_dict(data))


def max_lel(ts: pd.DataFrame) -> np.ndarray:
    """The highest zone LEL fraction at every step."""
    return ts[[c for c in ts.columns if c.startswith("zone") and c.endswith("_lel_frac")]].to_numpy().max(axis=1)
