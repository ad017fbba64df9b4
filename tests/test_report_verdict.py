"""The report's verdict on fixed targets, the card colours beside scrap, and the energy by carrier."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpc.kpis import KpiSpec, compute_kpis
from mpc.report import (
    TARGETS,
    VERDICT_COLUMNS,
    comparison_table,
    run_verdict,
    run_violations,
    write_compare_report,
    write_run_report,
)
from mpc.report._cards import capability_status, yield_status
from mpc.report._charts_dryer import energy_after_warmup_kwh
from mpc.report._energy import energy_table
from mpc.report._view import make_view


def _ts(n: int = 200, dt: float = 1.0, **cols: object) -> pd.DataFrame:
    """A clean run: 1 m/s, in spec, two zones well below the LEL limit."""
    t = np.arange(1, n + 1) * dt
    data: dict[str, object] = {
        "speed_m_s": 1.0,
        "web_position_m": t.copy(),
        "coat_weight_die_kg_m2": 0.2 + 0.001 * np.sin(t / 7.0),
        "exit_residual_kg_kg": 0.002,
        "max_film_temp_K": 350.0,
        "critical_window_rate_ratio": 0.5,
        "lel_limit_frac": 0.5,
        "dryer_power_W": 1000.0,
        "heater_power_W": 700.0,
        "fan_power_W": 200.0,
        "solvent_recovery_power_W": 100.0,
        "makeup_air_heat_W": 300.0,
        "line_running": True,
        "step_time_ms": 10.0,
        "solver_failure": 0,
        "fallback": 0,
        "zone1_lel_frac": 0.1,
        "zone2_lel_frac": 0.2,
    }
    data.update(cols)
    return pd.DataFrame(data, index=pd.Index(t, name="time_s"))


def _spec(**kw: object) -> KpiSpec:
    base: dict[str, object] = dict(
        coat_weight_target_kg_m2=0.2, coat_weight_lsl_kg_m2=0.19, coat_weight_usl_kg_m2=0.21,
        residual_usl_kg_kg=0.01, film_temp_max_K=400.0, warmup_s=10.5, settling_after_restart_m=0.0,
        die_to_dryer_exit_m=20.0, width_m=1.0, cell_kwh_per_m2_at_target=0.1, scenario="s", controller="c",
        primary_factor_heater=1.0, primary_factor_electricity=1.9,
    )
    base.update(kw)
    return KpiSpec(**base)  # type: ignore[arg-type]


def _good_kpis() -> dict:
    return {"time_above_lel_limit_s": 0.0, "coat_weight_cpk": 1.5, "residual_solvent_cpk": 5.0,
            "yield_frac": 1.0, "scrap_m": 0.0, "no_good_web": False}


# ---------------------------------------------------------------- verdict


def test_targets_are_the_documented_data() -> None:
    assert [(t.key, t.relation, t.bound) for t in TARGETS] == [
        ("time_above_lel_limit_s", "≤", 0.0),
        ("coat_weight_cpk", "≥", 1.33),
        ("residual_solvent_cpk", "≥", 1.33),
        ("yield_frac", "≥", 0.99),
    ]
    doc = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text(encoding="utf-8")
    for line in ("| `time_above_lel_limit_s` | 0 s |", "| `coat_weight_cpk` | ≥ 1.33 |",
                 "| `residual_solvent_cpk` | ≥ 1.33 |", "| `yield_frac` | ≥ 0.99 |"):
        assert line in doc


def test_verdict_met_and_each_miss_named() -> None:
    v = run_verdict(_good_kpis())
    assert v.met and v.text == "targets met" and v.violations == ()
    k = _good_kpis() | {"coat_weight_cpk": 1.33, "yield_frac": 0.99}  # a bound itself meets it
    assert run_verdict(k).met
    k = _good_kpis() | {"coat_weight_cpk": 1.3299, "residual_solvent_cpk": 0.5, "yield_frac": 0.9725}
    v = run_verdict(k)
    assert not v.met and v.violations == ()
    assert v.text == (
        "targets not met: coat-weight Cpk 1.3299 (target ≥ 1.33); residual-solvent Cpk 0.50 "
        "(target ≥ 1.33); yield 97.25 % (target ≥ 99 %)"
    )


def test_verdict_builds_on_the_violations() -> None:
    """The LEL target's miss is the safety violation's sentence (one mechanism), no good web too."""
    k = _good_kpis() | {"time_above_lel_limit_s": 4.0, "max_lel_fraction": 0.61}
    v = run_verdict(k)
    assert v.violations == tuple(run_violations(k)) and len(v.violations) == 1
    assert v.missed == v.violations  # the LEL target is not named twice
    assert v.text == "targets not met: safety: 4 s above the LEL limit in force (max LEL fraction 0.61)"
    k = _good_kpis() | {"no_good_web": True, "good_m": 0.0, "total_m": 80.0, "yield_frac": 0.0}
    v = run_verdict(k)
    assert v.missed[0] == "no good web: every metre after warm-up (80 m) was scrap"
    assert v.missed[1].startswith("yield 0.00 %")


def test_a_target_the_record_lacks_is_not_met() -> None:
    k = _good_kpis()
    del k["yield_frac"]
    k["residual_solvent_cpk"] = float("nan")
    v = run_verdict(k)
    assert not v.met and v.violations == ()
    assert v.missed == (
        "residual-solvent Cpk unknown (residual_solvent_cpk not in the KPI record)",
        "yield unknown (yield_frac not in the KPI record)",
    )
    assert run_violations(k) == []  # not knowing is not a violation (exit code 3)


# ---------------------------------------------------------------- card colours


@pytest.mark.parametrize(
    ("cpk", "yield_frac", "scrap_m", "status"),
    [
        (1.5, 1.0, 0.0, "good"),
        (1.33, None, None, "good"),
        (1.5, 0.995, 5.0, "warn"),  # scrap: never green
        (1.5, 1.0, 5.0, "warn"),  # scrap_m alone counts
        (1.5, 0.999, 0.0, "warn"),  # yield alone counts
        (5.0, 0.94, 60.0, "bad"),  # large scrap
        (1.2, 1.0, 0.0, "warn"),
        (1.2, 0.99, 10.0, "bad"),  # below the target with scrap
        (0.9, 1.0, 0.0, "bad"),
        (None, 0.5, 10.0, ""),
    ],
)
def test_capability_card_status(cpk, yield_frac, scrap_m, status) -> None:
    assert capability_status(cpk, yield_frac, scrap_m) == status


def test_yield_card_status() -> None:
    assert [yield_status(y) for y in (1.0, 0.99, 0.985, 0.95, 0.9, None)] == [
        "good", "good", "warn", "warn", "bad", ""]
    assert yield_status(1.0, no_good_web=True) == "bad"


# ---------------------------------------------------------------- in the reports


def _card(html: str, key: str) -> tuple[str, str]:
    m = re.search(rf'<div class="card ([^"]*)" data-key="{key}">(.*?)</div></div>', html, re.S)
    assert m is not None, key
    return m.group(1), m.group(2)


def _run(cw_scrap_s: tuple[float, float] | None = None, **kw: object) -> tuple[pd.DataFrame, dict, dict]:
    ts = _ts(**kw)
    if cw_scrap_s is not None:
        t = ts.index.to_numpy()
        ts["coat_weight_die_kg_m2"] = np.where((t > cw_scrap_s[0]) & (t <= cw_scrap_s[1]), 0.2101,
                                               ts["coat_weight_die_kg_m2"])
    spec = _spec()
    kpis = compute_kpis(ts, spec)
    meta = {"scenario": "s", "controller": "c", "preset": "nmc_nmp", "warmup_s": spec.warmup_s,
            "coat_weight_lsl_kg_m2": 0.19, "coat_weight_usl_kg_m2": 0.21, "residual_usl_kg_kg": 0.01,
            "heater_carrier": "natural_gas", "kpi_spec": dict(spec.__dict__)}
    return ts, kpis, meta


def test_run_report_leads_with_the_verdict_and_puts_scrap_beside_cpk(tmp_path: Path) -> None:
    ts, kpis, meta = _run(cw_scrap_s=(100.0, 102.0))  # 2 m of coat-weight scrap
    assert kpis["scrap_coat_weight_m"] == 2.0 and kpis["total_m"] == 170.0 and kpis["coat_weight_cpk"] >= 1.33
    html = write_run_report(tmp_path / "r", ts, kpis, meta).read_text(encoding="utf-8")
    verdict = re.search(r'<p class="verdict (\w+)" id="verdict" data-met="(\w+)">(.*?)</p>', html, re.S)
    assert verdict is not None and html.index('id="verdict"') < html.index('id="headline"')
    assert verdict.group(1, 2) == ("missed", "false")
    assert "targets not met: yield 98.82 % (target ≥ 99 %)" in verdict.group(3)
    assert "coat-weight Cpk ≥ 1.33" in verdict.group(3)  # the targets are named
    status, body = _card(html, "coat_weight_cpk")
    assert status == "warn"  # Cpk above 1.33, but scrap: not green
    assert "yield 98.82 %" in body and "scrap 2.0 m (coat weight 2.0 m)" in body
    status, body = _card(html, "yield_frac")
    assert status == "warn" and "98.82" in body
    assert "scrap by cause (a metre may have several): coat weight 2.0 m" in body and "residual" not in body
    status, body = _card(html, "energy_kwh_per_kwh_cell")
    assert "primary" in body and "fans 20 % (electricity)" in body and "heaters 70 % (natural gas)" in body

    ts, kpis, meta = _run()
    html = write_run_report(tmp_path / "clean", ts, kpis, meta).read_text(encoding="utf-8")
    assert kpis["scrap_m"] == 0.0 and _card(html, "coat_weight_cpk")[0] == "good"
    assert 'class="verdict met" id="verdict" data-met="true"><b>Verdict:</b> targets met' in html


def test_comparison_gives_each_controller_its_verdict(tmp_path: Path) -> None:
    clean, scrap = _run(), _run(cw_scrap_s=(100.0, 102.0))
    runs = {"nmpc": clean, "pid": scrap}
    table = comparison_table(runs)
    assert VERDICT_COLUMNS == ("targets_met", "targets_missed")
    assert table["targets_met"].tolist() == [True, False] and table["targets_met"].dtype == bool
    assert table["targets_missed"].tolist() == ["", "yield 98.82 % (target ≥ 99 %)"]
    assert table["violation"].tolist() == [False, False]
    html = write_compare_report(tmp_path, runs).read_text(encoding="utf-8")
    lines = dict(re.findall(r'<p class="verdict \w+" data-controller="(\w+)" data-met="\w+">(.*?)</p>', html))
    assert lines == {"nmpc": "<b>nmpc</b>: targets met",
                     "pid": "<b>pid</b>: targets not met: yield 98.82 % (target ≥ 99 %)"}
    assert html.index('id="verdicts"') < html.index('id="headline"')
    status, body = _card(html, "coat_weight_cpk")
    assert "best: nmpc" in body and status == "good"  # the best controller's own colour
    assert "pid 2.64 (yield 98.82 %, scrap 2.0 m)" in body

    scrap[1]["coat_weight_cpk"] = 4.9  # the best now has scrap: its card is not green
    html = write_compare_report(tmp_path / "b", runs).read_text(encoding="utf-8")
    status, body = _card(html, "coat_weight_cpk")
    assert "best: pid" in body and status == "warn"


# ---------------------------------------------------------------- energy


def test_energy_table_names_each_carrier_final_and_primary() -> None:
    _, kpis, meta = _run()
    html = energy_table(kpis, meta)
    rows = dict(re.findall(r'<tr data-key="(\w+)"><td>[^<]*</td><td>([^<]*)</td>', html))
    assert rows == {
        "heater_energy_kwh": "natural gas",
        "fan_energy_kwh": "electricity",
        "solvent_recovery_energy_kwh": "electricity",
        "energy_kwh": "—",
        "makeup_air_heat_kwh": "not a carrier: a part of the heaters&#x27; duty, after heat recovery",
    }
    share = re.search(r'data-key="fan_energy_kwh">.*?<td class="num">([^<]*)</td><td class="num">([^<]*)</td>',
                      html).group(1, 2)
    assert share == (f"{kpis['fan_energy_kwh']:,.1f}", "20.0")
    assert f"primary {kpis['primary_energy_kwh_per_m2']:.3f} kWh/m²" in html
    assert "heaters&#x27; carrier 1, electricity 1.9" in html
    without = energy_table(kpis, {})
    assert "the preset&#x27;s heater carrier" in without and "the scenario&#x27;s [energy] table" in without


def test_energy_chart_cumulates_as_the_kpis_count() -> None:
    """The chart's energy after the warm-up is the KPI's, the row straddling the warm-up counted in part."""
    t = np.arange(1, 201, dtype=float)
    power = 1000.0 + 400.0 * np.sin(t / 9.0)
    ts = _ts(dryer_power_W=power, heater_power_W=power - 300.0)
    kpis = compute_kpis(ts, _spec(warmup_s=10.5))
    view = make_view(ts, kpis, {"warmup_s": 10.5})
    assert energy_after_warmup_kwh(view, power)[-1] == pytest.approx(kpis["energy_kwh"], rel=1e-12)
    assert energy_after_warmup_kwh(view, power - 300.0)[-1] == pytest.approx(kpis["heater_energy_kwh"], rel=1e-12)
    assert energy_after_warmup_kwh(view, power)[9] == 0.0  # t = 10 s: still warm-up
