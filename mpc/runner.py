"""Run and compare scenarios: the API behind ``calmline run`` and ``calmline compare``.

:func:`run_scenario` runs one controller on one scenario and computes the
KPIs; :func:`save_run` writes ``kpis.json``, ``timeseries.parquet`` (with the
scenario, seeds and package versions in its metadata) and ``report.html``
with its PNG plots; :func:`compare_scenario` runs several controllers on
identical disturbances, mismatch and seeds and writes them side by side.
An existing output directory is never overwritten without ``force``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mpc.errors import CalmlineError, OutputExistsError
from mpc.harness import RunResult, run_closed_loop
from mpc.interfaces import Controller
from mpc.kpis import KpiSpec, compute_kpis, per_metre_table, write_kpis_json
from mpc.machine import package_versions
from mpc.scenario import (
    Scenario,
    ScenarioSetup,
    build_setup,
    load_scenario,
    resolve_scenario_path,
    run_duration_s,
    warmup_used_s,
)
from plants.capacity import cell_energy_kWh_per_m2

__all__ = [
    "OutputExistsError",
    "compare_scenario",
    "kpi_spec",
    "load_saved_run",
    "run_scenario",
    "run_setup",
    "save_run",
]


def kpi_spec(setup: ScenarioSetup, controller: str, duration_s: float | None = None) -> KpiSpec:
    """The KPI specification of a scenario (limits, warm-up, geometry, cell energy per m2)."""
    sc = setup.scenario
    sp = sc.spec
    co = setup.plant_params.coater
    return KpiSpec(
        coat_weight_target_kg_m2=sp.coat_weight_target_kg_m2,
        coat_weight_lsl_kg_m2=sp.coat_weight_target_kg_m2 * (1 - sp.coat_weight_tolerance_frac),
        coat_weight_usl_kg_m2=sp.coat_weight_target_kg_m2 * (1 + sp.coat_weight_tolerance_frac),
        residual_usl_kg_kg=sp.residual_usl_kg_kg,
        film_temp_max_K=sp.film_temp_max_K,
        warmup_s=warmup_used_s(sc, run_duration_s(sc, duration_s)),
        settling_after_restart_m=sp.settling_after_restart_m,
        die_to_dryer_exit_m=setup.plant_params.dryer.zone_length_m * setup.plant_params.dryer.n_zones,
        width_m=co.width_m,
        cell_kwh_per_m2_at_target=float(cell_energy_kWh_per_m2(sp.coat_weight_target_kg_m2, co)),
        scenario=sc.name,
        controller=controller,
    )


@dataclass
class _Prepared:
    scenario: Scenario
    setup: ScenarioSetup
    source: str


def _prepare(scenario: str | Path | Scenario) -> _Prepared:
    if isinstance(scenario, Scenario):
        return _Prepared(scenario, build_setup(scenario), f"<{scenario.name}>")
    path = resolve_scenario_path(scenario)
    sc = load_scenario(path)
    return _Prepared(sc, build_setup(sc, source=str(path)), str(path))


def run_scenario(
    scenario: str | Path | Scenario,
    controller: str,
    *,
    duration_s: float | None = None,
    progress: bool = False,
) -> RunResult:
    """Run ``controller`` (a name, see ``controllers.controller_names()``) on a scenario; KPIs included."""
    from controllers.registry import make_controller

    prep = _prepare(scenario)
    return run_setup(prep.setup, make_controller(controller), duration_s=duration_s, progress=progress,
                     source=prep.source)


def run_setup(
    setup: ScenarioSetup,
    controller: Controller,
    *,
    duration_s: float | None = None,
    progress: bool = False,
    source: str = "<scenario>",
) -> RunResult:
    """Run a controller object on a built scenario setup; KPIs, versions and KPI spec in the result.

    The one place a run gets its KPIs: :func:`run_scenario`, historian replay
    and step tests all go through it.
    """
    res = run_closed_loop(setup, controller, duration_s=duration_s, progress=progress)
    spec = kpi_spec(setup, controller.name, duration_s)
    res.kpis = compute_kpis(res.timeseries, spec)
    res.meta["versions"] = package_versions()
    res.meta["source"] = source
    res.meta["kpi_spec"] = dict(spec.__dict__)
    return res


def _per_metre(res: RunResult) -> pd.DataFrame:
    return per_metre_table(res.timeseries, KpiSpec(**res.meta["kpi_spec"]))


def _prepare_dir(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            raise OutputExistsError(f"output directory {str(out_dir)!r} exists and is not empty; use --force to replace it")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_run_files(res: RunResult, out_dir: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mpc.report import write_run_report

    write_kpis_json(res.kpis, out_dir / "kpis.json")
    table = pa.Table.from_pandas(res.timeseries)
    meta = dict(table.schema.metadata or {})
    meta[b"calmline"] = json.dumps(
        {k: v for k, v in res.meta.items() if k != "scenario_json"}, default=str
    ).encode()
    meta[b"calmline_scenario"] = res.meta.get("scenario_json", "{}").encode()
    pq.write_table(table.replace_schema_metadata(meta), out_dir / "timeseries.parquet")
    write_run_report(out_dir, res.timeseries, res.kpis, _report_meta(res), per_metre=_per_metre(res))


def _report_meta(res: RunResult) -> dict[str, Any]:
    return {k: v for k, v in res.meta.items() if k not in ("scenario_json", "kpi_spec")}


def save_run(res: RunResult, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write ``kpis.json``, ``timeseries.parquet``, ``report.html`` and PNG plots into ``out_dir``."""
    out = Path(out_dir)
    _prepare_dir(out, force)
    _write_run_files(res, out)
    return out


def load_saved_run(run_dir: str | Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any], str]:
    """A run written by :func:`save_run` / :func:`compare_scenario`: ``(timeseries, kpis, meta, scenario_json)``."""
    import pyarrow.parquet as pq

    d = Path(run_dir)
    ts_path, k_path = d / "timeseries.parquet", d / "kpis.json"
    for f in (ts_path, k_path):
        if not f.is_file():
            raise CalmlineError(f"saved run {str(d)!r} lacks {f.name}")
    table = pq.read_table(ts_path)
    md = table.schema.metadata or {}
    meta = json.loads(md.get(b"calmline", b"{}"))
    kpis = json.loads(k_path.read_text())
    return table.to_pandas(), kpis, meta, md.get(b"calmline_scenario", b"{}").decode()


def compare_scenario(
    scenario: str | Path | Scenario,
    controllers: list[str],
    out_dir: str | Path,
    *,
    duration_s: float | None = None,
    force: bool = False,
    progress: bool = False,
    reuse: tuple[str, ...] | list[str] = (),
) -> pd.DataFrame:
    """Run each controller on identical disturbances, mismatch and seeds; write the comparison.

    ``reuse`` names controllers whose earlier runs in ``out_dir`` are kept
    instead of re-run; each must exist and have been run on exactly this
    scenario (its saved scenario JSON is compared), otherwise it is an error.
    The caller vouches that the reused controllers' code has not changed.
    """
    from controllers.registry import make_controller
    from mpc.report import comparison_table, write_compare_report

    for name in controllers:
        make_controller(name)  # unknown names fail before anything runs
    out = Path(out_dir)
    unknown = [r for r in reuse if r not in controllers]
    if unknown:
        raise CalmlineError(f"reuse: {', '.join(unknown)} not among the compared controllers")
    kept: dict[str, Any] = {}
    if reuse:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        want = sc.model_dump(mode="json")
        dur = float(duration_s if duration_s is not None else sc.duration_s)
        for name in reuse:
            ts, kpis, meta, sc_json = load_saved_run(out / name)
            try:  # through today's schema: fields added since (at their defaults) compare equal
                saved = Scenario.model_validate(json.loads(sc_json)).model_dump(mode="json")
            except ValueError:
                saved = None
            if saved != want or abs(float(kpis.get("duration_s", -1.0)) - dur) > 1e-6:
                raise CalmlineError(f"saved run {str(out / name)!r} was made on a different scenario or duration; "
                                 f"run it again (drop {name!r} from reuse)")
            kept[name] = (ts, kpis, {k: v for k, v in meta.items() if k != "kpi_spec"})
    if out.exists() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"output directory {str(out)!r} exists and is not empty; use --force to replace it")
        for child in out.iterdir():
            if child.name in kept:
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    for name in controllers:
        if name in kept:
            runs[name] = kept[name]
            continue
        res = run_scenario(scenario, name, duration_s=duration_s, progress=progress)
        sub = out / name
        sub.mkdir()
        _write_run_files(res, sub)
        runs[name] = (res.timeseries, res.kpis, _report_meta(res))
    table = comparison_table(runs)
    table.to_csv(out / "comparison.csv")
    write_compare_report(out, runs)
    return table
