"""The sweep report: the bootstrap, the headline figures, the edge cases, a self-contained page."""

from __future__ import annotations

import html
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mpc.sweep._report import paired_bootstrap, render_sweep_report

N_DRAWS = 60
FAILED = {("pid", 7), ("pid", 31), ("nmpc", 44)}
#: Draws with time above the LEL limit, per controller (draw 44 of nmpc fails: not counted).
ABOVE = {"pid": {3, 12, 50}, "nmpc": {12, 44}}


def _runs(controllers: tuple[str, ...] = ("pid", "nmpc"), n_draws: int = N_DRAWS) -> pd.DataFrame:
    """A synthetic sweep table: n_draws draws x controllers, a few failed rows."""
    rng = np.random.default_rng(42)
    solids = rng.normal(0.62, 0.01, n_draws)
    rows = []
    for ci, c in enumerate(controllers):
        for d in range(n_draws):
            ok = (c, d) not in FAILED
            kpis = {
                "kpi_yield_frac": 0.90 + 0.02 * ci + 0.01 * rng.standard_normal(),
                "kpi_energy_kwh_per_m2": 0.45 - 0.02 * ci + 0.01 * rng.standard_normal(),
                "kpi_energy_kwh_per_kwh_cell": 1.1 + 0.05 * rng.standard_normal(),
                "kpi_coat_weight_cpk": 1.3 + 0.2 * rng.standard_normal(),
                "kpi_max_lel_fraction": 0.25 + 0.03 * rng.standard_normal(),
                "kpi_time_above_lel_limit_s": 40.0 * (d + 1) if d in ABOVE.get(c, set()) else 0.0,
                "kpi_scrap_m": 10.0,
                "kpi_step_time_ms_median": 3.0,
            }
            if not ok:
                kpis = dict.fromkeys(kpis, math.nan)
            rows.append(
                {
                    "draw_id": d,
                    "controller": c,
                    "status": "ok" if ok else "failed",
                    "error": "" if ok else "SolverError: diverged\nTraceback ...",
                    "wall_s": 1.5,
                    "disturbances.slurry.solids_frac": solids[d],
                    "disturbances.weather.source": "file",
                    "seeds.sensors": 1000 + d,
                    "analyser_fault": "none",
                    **kpis,
                }
            )
    return pd.DataFrame(rows)


def _manifest(controllers: tuple[str, ...] = ("pid", "nmpc")) -> dict:
    return {
        "scenario": "scenarios/baseline.toml",
        "controllers": list(controllers),
        "samples": N_DRAWS,
        "seed": 7,
        "duration_s": 1800.0,
        "vary": {"disturbances.slurry.solids_frac": "normal(0.62, 0.01)"},
        "default_dispersion": False,
        "calmline": "9.9.9",
        "workers": "4 local worker processes",
        "wall_s": 321.0,
    }


WORST = [
    {
        "draw_id": 12,
        "controller": "pid",
        "why": "480 s above the LEL limit",
        "command": "calmline run out/draws/draw_00012.toml --controller pid --duration 1800 "
        "--out 'runs/draw00012 pid'",
        "values": {"disturbances.slurry.solids_frac": 0.6312345, "seeds.sensors": 1012},
    },
    {
        "draw_id": 44,
        "controller": "nmpc",
        "why": "failed",
        "command": "calmline run out/draws/draw_00044.toml --controller nmpc --duration 1800",
        "values": {"disturbances.slurry.solids_frac": 0.61},
    },
]


class _Elements(HTMLParser):
    """Collects every element with an id: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        eid = a.get("id")
        if eid is not None:
            self.attrs[eid] = a
            self.text[eid] = ""
        if tag not in {"br", "img", "meta", "path", "use", "rect", "circle", "line"}:
            self._open.append((tag, eid))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            t, _ = self._open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, eid in self._open:
            if eid is not None:
                self.text[eid] += data


def _parse(page: str) -> _Elements:
    p = _Elements()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def page() -> str:
    return render_sweep_report(_runs(), _manifest(), WORST)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_exact_shift() -> None:
    """b = a + 1 exactly: every resample's mean is 1, so the interval collapses onto it."""
    a = np.arange(50, dtype=float)
    mean, lo, hi = paired_bootstrap(a, a + 1.0, seed=3)
    assert (mean, lo, hi) == (1.0, 1.0, 1.0)


def test_bootstrap_noisy_covers_truth_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(10.0, 2.0, 80)
    b = a + 0.5 + rng.normal(0.0, 1.0, 80)
    mean, lo, hi = paired_bootstrap(a, b, seed=11)
    assert lo < 0.5 < hi
    assert lo < mean < hi
    assert mean == pytest.approx(float(np.mean(b - a)))
    # the interval is about mean +- 1.96 sd / sqrt(n)
    half = 1.96 * float(np.std(b - a)) / math.sqrt(80)
    assert hi - lo == pytest.approx(2 * half, rel=0.2)
    assert paired_bootstrap(a, b, seed=11) == (mean, lo, hi)
    assert paired_bootstrap(a, b, seed=12)[1] != lo
    # a wider level gives a wider interval
    _, lo99, hi99 = paired_bootstrap(a, b, seed=11, level=0.99)
    assert lo99 < lo and hi99 > hi


def _binom_quantile(n: int, p: float, q: float) -> int:
    """Smallest k with P(X <= k) >= q for X ~ Binomial(n, p)."""
    cdf = 0.0
    for k in range(n + 1):
        cdf += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if cdf >= q:
            return k
    return n


@pytest.mark.parametrize("level", [0.95, 0.5])
def test_bootstrap_percentiles_match_the_binomial(level: float) -> None:
    """Differences of 0 and 1 (half each): a resample's mean is Binomial(n, 1/2) / n, so the
    percentile interval is that distribution's quantiles (independent of how it is drawn)."""
    n = 50
    d = np.array([0.0, 1.0] * (n // 2))
    mean, lo, hi = paired_bootstrap(np.zeros(n), d, n_boot=4000, seed=5, level=level)
    tail = (1 - level) / 2
    assert mean == 0.5
    assert lo == pytest.approx(_binom_quantile(n, 0.5, tail) / n, abs=0.011)
    assert hi == pytest.approx(_binom_quantile(n, 0.5, 1 - tail) / n, abs=0.011)


def test_bootstrap_too_few_pairs_and_bad_input() -> None:
    assert all(math.isnan(x) for x in paired_bootstrap(np.array([1.0]), np.array([2.0])))
    assert all(math.isnan(x) for x in paired_bootstrap(np.array([]), np.array([])))
    # non-finite pairs are dropped before counting
    a = np.array([1.0, np.nan, 2.0])
    b = np.array([2.0, 3.0, np.inf])
    assert all(math.isnan(x) for x in paired_bootstrap(a, b))
    a = np.array([1.0, np.nan, 2.0, 3.0])
    b = np.array([2.0, 3.0, 4.0, 4.0])
    assert paired_bootstrap(a, b)[0] == pytest.approx(4.0 / 3.0)
    with pytest.raises(ValueError, match="shape"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(np.zeros(3), np.zeros(3), level=1.0)


# --------------------------------------------------------------------------- the page


def test_share_above_lel(page: str) -> None:
    el = _parse(page)
    pid = el.attrs["share-above-lel-pid"]
    assert el.text["share-above-lel-pid"].strip() == "3 of 58 (5.2 %)"
    assert float(pid["data-value"] or "nan") == pytest.approx(3 / 58)
    assert el.text["share-above-lel-nmpc"].strip() == "1 of 59 (1.7 %)"
    assert float(el.attrs["share-above-lel-nmpc"]["data-value"] or "nan") == pytest.approx(1 / 59)
    assert el.attrs["failed-pid"]["data-value"] == "2"
    assert el.attrs["failed-nmpc"]["data-value"] == "1"


def test_headline_medians(page: str) -> None:
    runs = _runs()
    ok = runs[(runs.controller == "nmpc") & (runs.status == "ok")]
    el = _parse(page)
    cell = el.attrs["kpi-yield-nmpc"]
    assert float(cell["data-median"] or "nan") == pytest.approx(100 * ok.kpi_yield_frac.median())
    lel = el.attrs["kpi-max-lel-pid"]
    ok_pid = runs[(runs.controller == "pid") & (runs.status == "ok")]
    assert float(lel["data-p95"] or "nan") == pytest.approx(
        100 * np.percentile(ok_pid.kpi_max_lel_fraction, 95)
    )
    assert "% LEL" in page


def test_paired_section(page: str) -> None:
    runs = _runs()
    both = runs[runs.status == "ok"].pivot(index="draw_id", columns="controller")
    both = both.dropna(subset=[("kpi_yield_frac", "pid"), ("kpi_yield_frac", "nmpc")])
    a = 100 * both[("kpi_yield_frac", "pid")].to_numpy()
    b = 100 * both[("kpi_yield_frac", "nmpc")].to_numpy()
    mean, lo, hi = paired_bootstrap(a, b, seed=7)
    row = _parse(page).attrs["diff-yield-nmpc-vs-pid"]
    assert row["data-n"] == str(N_DRAWS - 3)
    assert float(row["data-mean"] or "nan") == pytest.approx(mean)
    assert float(row["data-lo"] or "nan") == pytest.approx(lo)
    assert float(row["data-hi"] or "nan") == pytest.approx(hi)
    assert lo > 0  # nmpc's yield is 2 percentage points higher by construction
    assert "nmpc better" in page


def test_worst_and_failed(page: str) -> None:
    for w in WORST:
        assert f'<code class="cmd">{html.escape(w["command"], quote=False)}</code>' in page
    assert "480 s above the LEL limit" in page
    assert "0.6312" in page
    failed = page[page.index('id="failed"') :]
    assert failed.count("SolverError: diverged") == 3
    assert "Traceback" not in failed


def test_sections_in_order(page: str) -> None:
    ids = ["summary-text", "headline", "distributions", "paired", "worst", "failed", "footer"]
    pos = [page.index(f'id="{i}"') for i in ids]
    assert pos == sorted(pos)
    summary = _parse(page).text["summary-text"]
    for part in ("60", "30 min", "seed 7", "solids_frac", "58 ok, 2 failed", "4 local worker"):
        assert part in summary
    assert "runs.parquet" in page and "9.9.9" in page
    assert page.count("<svg") == 5


def test_self_contained(page: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", page))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<img" not in page and "<link" not in page and "src=" not in page
    assert "xlink" not in page  # SVG 2 href: each inline chart is valid XML on its own
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate element ids"


def test_deterministic() -> None:
    """400 draws x 2 controllers render twice to the same text (no timing here: the machines are shared)."""
    big = _runs(n_draws=400)
    first = render_sweep_report(big, _manifest(), WORST)
    assert render_sweep_report(big, _manifest(), WORST) == first


def test_single_controller() -> None:
    page = render_sweep_report(_runs(("pid",)), _manifest(("pid",)), WORST[:1])
    assert 'id="paired-none"' in page
    assert "Only one controller" in page
    assert _parse(page).text["share-above-lel-pid"].strip() == "3 of 58 (5.2 %)"


def test_controller_without_successful_run() -> None:
    runs = _runs()
    nm = runs.controller == "nmpc"
    runs.loc[nm, "status"] = "failed"
    runs.loc[nm, [c for c in runs.columns if c.startswith("kpi_")]] = math.nan
    page = render_sweep_report(runs, _manifest(), [])
    el = _parse(page)
    assert el.text["share-above-lel-nmpc"] == "no successful run"
    assert el.attrs["share-above-lel-nmpc"]["data-value"] == "nan"
    assert el.text["kpi-yield-nmpc"] == "no successful run"
    assert el.attrs["diff-yield-nmpc-vs-pid"]["data-n"] == "0"
    assert page.count("No data for nmpc.") == 5  # each chart says so instead of drawing nothing
    assert el.attrs["failed-nmpc"]["data-value"] == str(N_DRAWS)
    assert "No worst draws" in page


def test_constant_and_missing_columns() -> None:
    """Constant KPIs chart without error; a KPI column no run reported becomes a note."""
    runs = _runs()
    runs["kpi_coat_weight_cpk"] = 1.5
    runs = runs.drop(columns=["kpi_energy_kwh_per_m2"])
    runs.loc[runs.index[:5], "kpi_max_lel_fraction"] = math.inf
    page = render_sweep_report(runs, _manifest(), WORST)
    el = _parse(page)
    assert float(el.attrs["kpi-cpk-pid"]["data-median"] or "nan") == 1.5
    assert el.text["kpi-energy-per-m2-pid"] == "no finite value"
    assert page.count("<svg") == 4
    assert 'data-chart="energy-per-m2"' in page
    assert "left out (pid: 5)" in page
