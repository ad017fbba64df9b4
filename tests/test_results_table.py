"""The results script's saving split adds up to the NMPC's whole saving against the recipe."""

from __future__ import annotations

import pandas as pd
import pytest

from scenarios.results_table import saving_split, split_row, verdicts


def _table() -> pd.DataFrame:
    rows = {
        "recipe": (0.40, 0.50), "pid": (0.25, 0.33), "pid_opt": (0.20, 0.26), "nmpc": (0.18, 0.24), "lmpc": (0.3, 0.4),
    }
    t = pd.DataFrame({"controller": list(rows), "energy_kwh_per_m2": [v[0] for v in rows.values()],
                      "primary_energy_kwh_per_m2": [v[1] for v in rows.values()]}).set_index("controller")
    for key, val in (("time_above_lel_limit_s", 0.0), ("coat_weight_cpk", 2.0), ("residual_solvent_cpk", 5.0),
                     ("throughput_m2_h", 1700.0), ("resistance_proxy_cv", 0.002), ("yield_frac", 1.0)):
        t[key] = val
    return t


def test_the_split_adds_up_to_the_whole_saving() -> None:
    t = _table()
    parts = saving_split(t, "energy_kwh_per_m2")
    assert parts == pytest.approx([-0.375, -0.125, -0.05])
    assert sum(parts) == pytest.approx(0.18 / 0.40 - 1.0)
    row = split_row("x", t)
    assert row is not None and row.startswith("| x | -38 % (-34 %) | -12 % (-14 %) | -5 % (-4 %) | -55 % (-52 %)")


def test_no_split_without_the_whole_chain() -> None:
    assert saving_split(_table().drop(index="pid_opt"), "energy_kwh_per_m2") is None


def test_verdicts_compare_the_nmpc_with_the_fair_baseline() -> None:
    v = verdicts(_table())
    assert "primary energy <= pid_opt" in v and "yield >= pid_opt" in v and "LEL ok" in v
