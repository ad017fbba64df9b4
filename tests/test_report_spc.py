"""The coat-weight SPC chart's control limits are individuals / moving-range (I-MR) limits, checked by hand."""

from __future__ import annotations

import html as _html
import math
import re

import numpy as np
import pandas as pd
import pytest

from mpc.report._charts_quality import coat_weight_spc
from mpc.report._figure import Chart
from mpc.report._spc import D4, E2, imr_limits, moving_ranges
from mpc.report._view import make_view

# Five individuals, by hand: mean 12.2; moving ranges 2, 1, 4, 2 -> MR_bar 2.25;
# limits 12.2 -+ 2.66 * 2.25 = 6.215 / 18.185; moving-range UCL 3.267 * 2.25 = 7.35075.
X = [10.0, 12.0, 11.0, 15.0, 13.0]


def test_imr_limits_hand_case() -> None:
    lim = imr_limits(X)
    assert lim is not None
    assert (E2, D4) == (2.66, 3.267)
    assert lim.centre == pytest.approx(12.2)
    assert lim.mr_bar == pytest.approx(2.25)
    assert lim.ucl == pytest.approx(18.185)
    assert lim.lcl == pytest.approx(6.215)
    assert lim.mr_ucl == pytest.approx(7.35075)
    assert (lim.n, lim.n_mr) == (5, 4)
    # not mean +- 3 s: s = sqrt(14.8 / 4) = 1.9235 gives 6.43 / 17.97
    s = float(np.std(X, ddof=1))
    assert s == pytest.approx(math.sqrt(3.7))
    assert abs(lim.ucl - (12.2 + 3 * s)) > 0.2


def test_no_moving_range_across_a_gap_or_a_missing_value() -> None:
    # a gap before the 4th individual: moving ranges 2, 1, 2 -> MR_bar 5/3
    lim = imr_limits(X, breaks=[False, False, False, True, False])
    assert lim is not None and lim.n_mr == 3
    assert lim.mr_bar == pytest.approx(5.0 / 3.0)
    assert lim.ucl == pytest.approx(12.2 + 2.66 * 5.0 / 3.0)
    np.testing.assert_allclose(moving_ranges(X, [False, False, False, True, False]),
                               [np.nan, 2.0, 1.0, np.nan, 2.0])
    # a NaN is not a sample: no moving range starts or ends at it
    lim = imr_limits([10.0, np.nan, 12.0, 11.0])
    assert lim is not None and (lim.n, lim.n_mr) == (3, 1)
    assert lim.mr_bar == pytest.approx(1.0) and lim.centre == pytest.approx(11.0)
    assert imr_limits([10.0]) is None
    assert imr_limits([10.0, np.nan, 12.0]) is None  # two individuals, never consecutive


def _view(n: int = 12) -> tuple[pd.DataFrame, dict]:
    t = np.arange(1, n + 1, dtype=float)
    ts = pd.DataFrame(
        {"web_position_m": t, "coat_weight_die_kg_m2": 0.12, "line_running": True},
        index=pd.Index(t, name="time_s"),
    )
    meta = {"coat_weight_lsl_kg_m2": 0.05, "coat_weight_usl_kg_m2": 0.20, "warmup_s": 0.0}
    return ts, meta


def _caption(chart: object) -> str:
    assert isinstance(chart, Chart)
    return _html.unescape(chart.caption)


def test_the_chart_draws_the_limits_of_the_web_made_per_metre() -> None:
    """Per metre: the individuals are the web made (scrap included), settling web left out and a gap."""
    ts, meta = _view()
    # kg/m2 -> mg/cm2 is x100: the individuals read 10, 12, 11, 15, 13 mg/cm2
    cw = [0.10, 0.12, 0.11, 0.90, 0.90, 0.15, 0.13]
    per_metre = pd.DataFrame(
        {
            "position_m": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "coat_weight_kg_m2": cw,
            "good": [True, True, True, False, False, True, True],
            "settling": [False, False, False, True, True, False, False],
            "made": [True, True, True, False, False, True, True],
        }
    )
    text = _caption(coat_weight_spc(make_view(ts, {}, meta), per_metre))
    # the settling metres are not individuals and break the moving range: 2, 1, 2 -> MR_bar 5/3
    mr_bar = 5.0 / 3.0
    assert f"MR̄ = {mr_bar:.4f} mg/cm²" in text
    assert f"control limits {12.2 - 2.66 * mr_bar:.3f}–{12.2 + 2.66 * mr_bar:.3f} mg/cm²" in text
    assert "5 individuals" in text and "0 individuals outside them" in text
    assert "each metre of web made after the warm-up, scrap included, settling web" in text
    assert "± 3 s" not in text

    # without the settling flags every metre is an individual and the outliers are counted
    text = _caption(coat_weight_spc(make_view(ts, {}, meta), per_metre[["position_m", "coat_weight_kg_m2"]]))
    lim = imr_limits(np.multiply(cw, 100.0))
    assert lim is not None
    assert f"control limits {lim.lcl:.3f}–{lim.ucl:.3f} mg/cm²" in text
    assert "7 individuals" in text


def test_the_chart_over_time_uses_the_running_intervals_after_the_warm_up() -> None:
    ts, meta = _view(8)
    ts["coat_weight_die_kg_m2"] = [0.5, 0.5, 0.10, 0.12, 0.11, 0.15, 0.13, 0.13]
    ts["line_running"] = [True, True, True, True, True, True, True, False]
    meta["warmup_s"] = 2.0  # rows at t = 1, 2 are warm-up; the last row the line is stopped
    text = _caption(coat_weight_spc(make_view(ts, {}, meta), None))
    assert "5 individuals" in text
    assert re.search(r"control limits 6\.215–18\.185 mg/cm²", text)
    assert "in each control interval after the warm-up with the line running" in text
