"""Run and compare scenarios: the API behind ``calmline run`` and ``calmline compare``.

:func:`run_scenario` runs one controller on one scenario and computes the
KPIs; :func:`save_run` writes ``kpis.json``, ``timeseries.parquet`` (with the
scenario, seeds and package versions in its metadata) and ``report.html``
with its PNG plots; :func:`compare_scenario` runs several controllers on
identical disturbances, mismatch and seeds and writes them side by side.
Every file goes through :mod:`mpc.outputs`: a folder holding files is
refused without ``force``, and with it only calmline's own files there are
replaced; the run's input files are never written or removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mpc.errors import CalmlineError, OutputExistsError
from mpc.harness import RunResult, run_closed_loop
from mpc.interfaces import Controller
from mpc.kpis import KpiSpec, compute_kpis, per_metre_table, write_kpis_json
from mpc.machine import package_versions
from mpc.outputs import OutputFolder
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
    "RUN_DATA_FILES",
    "OutputExistsError",
    "attach_kpis",
    "compare_scenario",
    "kpi_spec",
    "load_saved_run",
    "run_output_folder",
    "run_scenario",
    "run_setup",
    "save_run",
    "scenario_inputs",
    "write_run",
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
        primary_factor_heater=sc.energy.factor(setup.plant_params.dryer.heater_carrier),
        primary_factor_electricity=sc.energy.primary_factor_electricity,
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
    return attach_kpis(res, setup, duration_s=duration_s, source=source)


def attach_kpis(res: RunResult, setup: ScenarioSetup, *, duration_s: float | None = None,
                source: str = "<scenario>") -> RunResult:
    """Compute a run's KPIs (and record versions, source and KPI spec in its metadata); returns ``res``.

    Every run's KPIs come from here: in process (:func:`run_setup`) and over OPC UA
    (``calmline line serve``).
    """
    spec = kpi_spec(setup, res.meta["controller"], duration_s)
    res.kpis = compute_kpis(res.timeseries, spec)
    res.meta["versions"] = package_versions()
    res.meta["source"] = source
    res.meta["kpi_spec"] = dict(spec.__dict__)
    return res


def _per_metre(res: RunResult) -> pd.DataFrame:
    return per_metre_table(res.timeseries, KpiSpec(**res.meta["kpi_spec"]))


#: The files of a saved run (beside its report's, :data:`mpc.report.RUN_REPORT_FILES`).
RUN_DATA_FILES: tuple[str, ...] = ("kpis.json", "timeseries.parquet")


def _run_files() -> tuple[str, ...]:
    from mpc.report import RUN_REPORT_FILES

    return (*RUN_DATA_FILES, *RUN_REPORT_FILES)


def scenario_inputs(scenario: str | Path | Scenario, controllers: Iterable[str] = ()) -> list[Path]:
    """The files a scenario run reads: the scenario file and the files it names.

    That is the scenario file (a shipped scenario by name resolved), its
    ``[mismatch] model_params_file`` and, for each of ``controllers``, every
    ``*_file`` setting of its ``[controllers.<name>]`` table (and the lmpc's
    default model file ``models/lmpc_<preset>.json``), relative to the
    scenario's folder as the run resolves them; an output is never written
    over any of them. A :class:`Scenario` object has no file: nothing.
    """
    if isinstance(scenario, Scenario):
        return []
    path = resolve_scenario_path(scenario)
    if not path.is_file():
        return [path]
    sc = load_scenario(path)
    here = path.parent

    def rel(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else here / p

    out = [path]
    if sc.mismatch.model_params_file:
        out.append(rel(sc.mismatch.model_params_file))
    for name in controllers:
        table = sc.controllers.get(name, {})
        out += [rel(v) for k, v in table.items() if k.endswith("_file") and isinstance(v, str) and v]
        if name == "lmpc" and not table.get("model_file"):
            out.append(here / "models" / f"lmpc_{sc.preset}.json")
    return out


def _meta_inputs(res: RunResult) -> list[Path]:
    """The files a run's metadata names as its sources (scenario or log, base scenario, mapping)."""
    rep = res.meta.get("replay", {}) if isinstance(res.meta.get("replay"), dict) else {}
    names = [res.meta.get("source"), rep.get("log"), rep.get("base_scenario"), rep.get("mapping")]
    return [Path(n) for n in names if isinstance(n, str) and n and not n.startswith("<") and Path(n).is_file()]


def run_output_folder(
    out_dir: str | Path,
    *,
    force: bool = False,
    inputs: Iterable[str | Path | None] = (),
    subfolders: Iterable[str] = ("",),
) -> OutputFolder:
    """The output folder of one or more saved runs, checked now (:mod:`mpc.outputs`), written later.

    Parameters
    ----------
    out_dir : path-like
        The folder.
    force : bool
        Write into a folder that holds files: replace calmline's own files,
        remove those it wrote before and does not write again, touch nothing
        else.
    inputs : iterable of path-like
        The command's input files (never written or removed).
    subfolders : iterable of str
        Where the runs go: ``""`` the folder itself; ``"seg1"``,
        ``"seg2"`` ... one subfolder per run.

    Raises
    ------
    OutputExistsError
        The folder holds files and ``force`` is False, or a file to replace
        or remove is not calmline's, was edited, or is an input.
    """
    names = [f"{s}/{n}" if s else n for s in subfolders for n in _run_files()]
    return OutputFolder(out_dir, names, force=force, inputs=inputs)


def write_run(res: RunResult, folder: OutputFolder) -> Path:
    """Write a run's ``kpis.json``, ``timeseries.parquet``, ``report.html`` and charts into ``folder``.

    ``folder`` is an open :class:`~mpc.outputs.OutputFolder` (or a subfolder
    view of one) planned with :func:`run_output_folder`; returns its path.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mpc.report import write_run_report

    folder.write_with("kpis.json", lambda p: write_kpis_json(res.kpis, p))
    table = pa.Table.from_pandas(res.timeseries)
    meta = dict(table.schema.metadata or {})
    meta[b"calmline"] = json.dumps(
        {k: v for k, v in res.meta.items() if k != "scenario_json"}, default=str
    ).encode()
    meta[b"calmline_scenario"] = res.meta.get("scenario_json", "{}").encode()
    table = table.replace_schema_metadata(meta)
    folder.write_with("timeseries.parquet", lambda p: pq.write_table(table, p))
    write_run_report(folder, res.timeseries, res.kpis, _report_meta(res), per_metre=_per_metre(res))
    return folder.root


def _report_meta(res: RunResult) -> dict[str, Any]:
    return {k: v for k, v in res.meta.items() if k not in ("scenario_json", "kpi_spec")}


def save_run(
    res: RunResult, out_dir: str | Path, *, force: bool = False, inputs: Iterable[str | Path | None] = ()
) -> Path:
    """Write ``kpis.json``, ``timeseries.parquet``, ``report.html`` and PNG plots into ``out_dir``.

    The folder rules of :mod:`mpc.outputs` apply: a folder holding files is
    refused unless ``force``, and then only calmline's own files there are
    replaced. ``inputs`` (and the scenario or log the run's metadata names)
    are never written or removed.

    Raises
    ------
    OutputExistsError
        See :func:`run_output_folder`; nothing is written then.
    """
    folder = run_output_folder(out_dir, force=force, inputs=[*inputs, *_meta_inputs(res)])
    with folder:
        return write_run(res, folder)


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
    inputs: Iterable[str | Path | None] = (),
) -> pd.DataFrame:
    """Run each controller on identical disturbances, mismatch and seeds; write the comparison.

    Writes ``out_dir/<controller>/`` (each run, as :func:`save_run`),
    ``out_dir/comparison.csv`` (:func:`mpc.report.comparison_table`: one row
    per controller) and ``out_dir/report.html`` with its charts, under the
    folder rules of :mod:`mpc.outputs`; the scenario's files
    (:func:`scenario_inputs`) and ``inputs`` are never written or removed.

    ``reuse`` names controllers whose earlier runs in ``out_dir`` are kept
    instead of re-run; each must exist and have been run on exactly this
    scenario (its saved scenario JSON is compared), otherwise it is an error.
    The caller vouches that the reused controllers' code has not changed.

    Returns
    -------
    pandas.DataFrame
        The comparison table (what ``comparison.csv`` holds).

    Raises
    ------
    CalmlineError
        A controller named twice or unknown, a ``reuse`` name not compared
        or not reusable; :class:`~mpc.errors.OutputExistsError` for the
        output folder. Raised before anything runs or is written.
    """
    from controllers.registry import controller_label, make_controller
    from mpc.report import COMPARE_REPORT_FILES, comparison_table, write_compare_report

    dup = sorted({c for c in controllers if list(controllers).count(c) > 1})
    if dup:
        raise CalmlineError(f"controllers {','.join(controllers)}: {', '.join(dup)} named more than once; "
                            "expected each controller once")
    for name in controllers:
        make_controller(name)  # unknown names fail before anything runs
    label = {c: controller_label(c) for c in controllers}
    clash = sorted({label[c] for c in controllers if list(label.values()).count(label[c]) > 1})
    if clash:
        raise CalmlineError(f"controllers {','.join(controllers)}: more than one would be filed as "
                            f"{', '.join(clash)}; give the artifacts' folders different names")
    out = Path(out_dir)
    unknown = [r for r in reuse if r not in controllers]
    if unknown:
        raise CalmlineError(f"reuse: {', '.join(unknown)} not among the compared controllers")
    names = ["comparison.csv", *COMPARE_REPORT_FILES]
    names += [f"{label[c]}/{n}" for c in controllers if c not in reuse for n in _run_files()]
    ins = [*inputs, *scenario_inputs(scenario, controllers)]
    prep = _prepare(scenario)  # a bad scenario or duration fails before anything is written
    run_duration_s(prep.scenario, duration_s)
    folder = OutputFolder(out, names, force=force, inputs=ins, keep=[label[c] for c in reuse])
    kept: dict[str, Any] = {}
    if reuse:
        sc = prep.scenario
        want = sc.model_dump(mode="json")
        dur = float(duration_s if duration_s is not None else sc.duration_s)
        for name in reuse:
            ts, kpis, meta, sc_json = load_saved_run(out / label[name])
            try:  # through today's schema: fields added since (at their defaults) compare equal
                saved = Scenario.model_validate(json.loads(sc_json)).model_dump(mode="json")
            except ValueError:
                saved = None
            if saved != want or abs(float(kpis.get("duration_s", -1.0)) - dur) > 1e-6:
                raise CalmlineError(f"saved run {str(out / label[name])!r} was made on a different scenario or duration; "
                                 f"run it again (drop {name!r} from reuse)")
            kept[label[name]] = (ts, kpis, {k: v for k, v in meta.items() if k != "kpi_spec"})
    runs: dict[str, Any] = {}
    with folder:
        for name in controllers:
            key = label[name]
            if key in kept:
                runs[key] = kept[key]
                continue
            res = run_setup(prep.setup, make_controller(name), duration_s=duration_s, progress=progress,
                            source=prep.source)
            write_run(res, folder.sub(key))
            runs[key] = (res.timeseries, res.kpis, _report_meta(res))
        table = comparison_table(runs)
        folder.write_with("comparison.csv", lambda p: table.to_csv(p, index=False))
        write_compare_report(folder, runs)
    return table
