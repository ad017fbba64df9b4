"""An unannounced lot change (a solids step nobody announces) is corrected by every feedback controller.

For a step of either sign at nominal speed, the coat-weight mean returns within +-0.5 % of its
target and no off-specification web is made later than 300 m after the gauge first reads the
new lot (``tests/_steps.py`` measures it; ``python tests/test_unannounced_steps.py`` prints the
table for docs/results.md).
"""

from __future__ import annotations

import pytest
from _steps import step_recovery, step_setup

from controllers.registry import make_controller
from mpc.runner import run_setup

pytestmark = pytest.mark.slow

CASES = [
    ("nmc_nmp", "pid", 3.0), ("nmc_nmp", "pid", -3.0), ("graphite_water", "pid", -3.0),
    ("graphite_water", "pid_opt", 3.0),
    ("nmc_nmp", "nmpc", 3.0), ("nmc_nmp", "nmpc", -3.0), ("graphite_water", "nmpc", 3.0),
    ("nmc_nmp", "lmpc", 3.0), ("nmc_nmp", "lmpc", -3.0), ("graphite_water", "lmpc", 3.0),
    ("graphite_water", "lmpc", -3.0),
]


def _run(preset: str, controller: str, step: float):
    setup = step_setup(preset, step)
    res = run_setup(setup, make_controller(controller))
    return res, step_recovery(res.timeseries, res.meta["kpi_spec"], setup)


@pytest.mark.parametrize(("preset", "controller", "step"), CASES)
def test_feedback_controllers_correct_an_unannounced_step(preset: str, controller: str, step: float) -> None:
    res, rec = _run(preset, controller, step)
    assert rec.scrap_coat_weight_m > 0  # the step was large enough to matter
    assert rec.last_bad_after_gauge_m <= 300.0, rec
    assert abs(rec.final_mean_error_frac) <= 0.005, rec
    assert res.kpis["time_above_lel_limit_s"] == 0.0


def test_replayed_lot_changes_cost_the_nmpc_no_more_coat_weight_scrap_than_the_recipe() -> None:
    """The historian log's lots are unannounced in a replay (the log carries the solids). The July log's first
    1.5 h hold a +1 wt% change at 0:50; the regression suite replays exactly that for the recipe and the NMPC,
    and ``tests/test_regress.py::test_suite_passes_against_committed_goldens`` checks that today's code gives
    its golden KPIs (coat-weight scrap within 10 m or 5 %). So the relation is read from those goldens here
    rather than replayed a second time (measured by replaying: 1163 m against 74 m)."""
    import json

    from mpc.regress import load_suite

    suite = load_suite()
    kpis = {}
    for ctrl in ("recipe", "nmpc"):
        case = suite.case(f"greensboro_july_nmc_{ctrl}")
        assert case.controller == ctrl and case.log.endswith("greensboro_july_nmc.csv") and case.window_s == 5400.0
        kpis[ctrl] = json.loads(suite.golden_path(case).read_text())["kpis"]
    recipe, nmpc = kpis["recipe"], kpis["nmpc"]
    assert recipe["scrap_coat_weight_m"] > 0
    # beyond the suite's tolerance on either side: the relation cannot flip while the goldens pass
    assert nmpc["scrap_coat_weight_m"] + 10.0 < 0.95 * recipe["scrap_coat_weight_m"] - 10.0
    assert nmpc["time_above_lel_limit_s"] == 0.0


if __name__ == "__main__":  # the table in docs/results.md: every feedback controller, both signs, 0.5 and 3 wt%
    print("| preset | controller | step, wt% | last off-spec metre after the gauge sees the lot, m | "
          "final coat-weight mean error | coat-weight scrap, m | s above LEL limit |")
    print("|---|---|---|---|---|---|---|")
    for preset in ("nmc_nmp", "graphite_water"):
        for ctrl in ("pid", "pid_opt", "nmpc", "lmpc"):
            for step in (0.5, -0.5, 3.0, -3.0):
                res, r = _run(preset, ctrl, step)
                print(f"| {preset} | {ctrl} | {step:+.1f} | {max(r.last_bad_after_gauge_m, 0.0):.0f} | "
                      f"{r.final_mean_error_frac * 100:+.2f} % | {r.scrap_coat_weight_m:.0f} | "
                      f"{res.kpis['time_above_lel_limit_s']:.0f} |", flush=True)
