"""``calmline sweep``: every controller on N draws of a scenario, one row a run, a report, resumable.

The folder (``--out``):

==================  ==============================================================================
``sweep.json``      the sweep's arguments (scenario and its sha256, controllers, samples, seed,
                    variations, duration) and versions: a later ``sweep`` with the same arguments
                    resumes from it
``runs.jsonl``      the rows so far, written as runs finish (at most every 2 s): what a resume reads
``runs.parquet``    one row per run (draw id, the draw's seeds and varied values, controller,
                    ``status`` ok or failed, ``error``, ``wall_s``, the KPI record as ``kpi_*``)
``report.html``     distributions, paired differences with bootstrap intervals, the worst draws
``draws/*.toml``    the worst draws' scenarios, for ``calmline run`` to reproduce each alone
==================  ==============================================================================
"""

from __future__ import annotations

import json
import math
import shlex
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mpc.sweep._dist import SweepError, parse_vary
from mpc.sweep._draws import Draw, default_dispersion, make_draws
from mpc.sweep._exec import Task, run_dask, run_local
from mpc.sweep._plant import (
    PLANT_ONLY_POLICY,
    check_plant_only_vary,
    plant_only_dispersion,
    plant_only_rows,
)

__all__ = ["SWEEP_FILES", "SweepResult", "run_sweep", "worst_runs"]

SWEEP_FILES = ("sweep.json", "runs.jsonl", "runs.parquet", "report.html")
"""The files a sweep writes (and ``draws/draw_NNNNN.toml`` for its worst draws)."""

WORST_PER_CONTROLLER = 5
"""How many worst runs per controller the report lists (with their draws' scenario files)."""


@dataclass
class SweepResult:
    """A finished sweep: its rows, its folder, and how many runs this call ran (the rest resumed)."""

    runs: pd.DataFrame
    folder: Path
    ran: int
    resumed: int


def _args(source: str, sha: str | None, controllers: Sequence[str], samples: int, seed: int,
          vary: dict[str, str], default: bool, duration_s: float) -> dict[str, Any]:
    return {"scenario": source, "scenario_sha256": sha, "controllers": list(controllers), "samples": samples,
            "seed": seed, "vary": vary, "default_dispersion": default, "duration_s": duration_s,
            "calmline": _versions().get("calmline", "?")}


def worst_runs(runs: pd.DataFrame, n: int = WORST_PER_CONTROLLER) -> list[tuple[int, str, str]]:
    """The ``n`` worst runs of each controller, ``(draw_id, controller, why)``: failed first, then the most time
    above the LEL limit, the lowest yield, the most energy per good m2."""
    out = []
    for ctrl, g in runs.groupby("controller", sort=False):
        g = g.assign(_failed=(g["status"] != "ok").astype(int))
        cols = {"kpi_time_above_lel_limit_s": 0.0, "kpi_yield_frac": 1.0, "kpi_energy_kwh_per_m2": 0.0}
        for c, fill in cols.items():
            g[c] = g[c].fillna(fill) if c in g else fill
        g = g.sort_values(["_failed", "kpi_time_above_lel_limit_s", "kpi_yield_frac", "kpi_energy_kwh_per_m2"],
                          ascending=[False, False, True, False], kind="stable")
        for _, r in g.head(n).iterrows():
            if r["_failed"]:
                why = f"failed: {str(r['error']).splitlines()[0][:120]}"
            else:
                why = (f"{r['kpi_time_above_lel_limit_s']:.0f} s above the LEL limit, yield "
                       f"{100 * r['kpi_yield_frac']:.1f} %, {r['kpi_energy_kwh_per_m2']:.4f} kWh per good m2")
            out.append((int(r["draw_id"]), str(ctrl), why))
    return out


def _absolute_files(d: dict[str, Any], here: Path) -> dict[str, Any]:
    """A scenario dict whose relative file names are made absolute (the draw's file lives elsewhere)."""
    mm = d.get("mismatch", {})
    if mm.get("model_params_file") and not Path(mm["model_params_file"]).is_absolute():
        mm["model_params_file"] = str((here / mm["model_params_file"]).resolve())
    for table in d.get("controllers", {}).values():
        for k, v in list(table.items()):
            if k.endswith("_file") and isinstance(v, str) and v and not Path(v).is_absolute():
                table[k] = str((here / v).resolve())
    return d


def _draw_toml(draw: Draw, here: Path) -> str:
    import tomli_w

    d = _absolute_files(draw.scenario.model_dump(exclude_none=True), here)
    d["name"] = f"{draw.scenario.name}_draw{draw.draw_id:05d}"
    head = f"# calmline sweep draw {draw.draw_id} of {draw.scenario.name}: {json.dumps(draw.values, default=str)}\n"
    return head + tomli_w.dumps(d)


def _table(rows: list[dict[str, Any]], draws: list[Draw], controllers: Sequence[str], seed: int) -> pd.DataFrame:
    by_id = {d.draw_id: d for d in draws}
    order = {c: i for i, c in enumerate(controllers)}
    recs = []
    for r in sorted(rows, key=lambda r: (r["draw_id"], order.get(r["controller"], 99))):
        d = by_id[r["draw_id"]]
        recs.append({"draw_id": r["draw_id"], "sweep_seed": seed, **d.values, "controller": r["controller"],
                     "status": r["status"], "error": r.get("error", ""), "wall_s": r.get("wall_s", math.nan),
                     **{k: v for k, v in r.items() if k.startswith("kpi_")}})
    df = pd.DataFrame.from_records(recs)
    if not df.empty:
        df["status"] = df["status"].astype(str)
    return df


def run_sweep(scenario: str | Path, controllers: Sequence[str], samples: int, *, out_dir: str | Path,
              vary: Iterable[str] = (), seed: int = 0, duration_s: float | None = None, workers: int = 1,
              scheduler: str | None = None, force: bool = False, progress: bool = False,
              plant_only: bool = False) -> SweepResult:
    """Run a sweep (module docstring); resume one with the same arguments in ``out_dir``.

    ``plant_only``: no controller; the recipe held open loop on every draw, batched on the JAX plant
    (:mod:`mpc.sweep._plant`; ``controllers`` must be empty, one process).

    Raises
    ------
    SweepError
        A variation, controller or option is wrong, or ``out_dir`` holds another sweep (without ``force``).
    OutputExistsError
        ``out_dir`` holds files that are not a sweep's (without ``force``).
    """
    import hashlib

    from controllers.registry import EDGE_PREFIX, controller_names
    from mpc.outputs import OutputFolder
    from mpc.runner import _prepare
    from mpc.scenario import run_duration_s
    from mpc.sweep._report import render_sweep_report

    controllers = list(controllers)
    known = controller_names()
    if plant_only:
        if controllers:
            raise SweepError(f"--plant-only runs no controller; leave out --controllers {','.join(controllers)}")
        if scheduler is not None or workers != 1:
            raise SweepError("--plant-only runs batched in this process; leave out --scheduler and --workers")
        controllers, known = [PLANT_ONLY_POLICY], [PLANT_ONLY_POLICY]
    if not controllers:
        raise SweepError("--controllers: expected at least one controller")
    for c in controllers:
        if c not in known and not c.startswith(EDGE_PREFIX):
            raise SweepError(f"--controllers: {c!r} is not a controller; expected one of {', '.join(known)}")
    if len(set(controllers)) != len(controllers):
        raise SweepError(f"--controllers {','.join(controllers)}: a controller given twice")
    if workers < 1:
        raise SweepError(f"--workers {workers}: expected at least 1")
    prep = _prepare(scenario)
    base = prep.scenario
    duration = run_duration_s(base, duration_s)
    vary_d = parse_vary(list(vary))
    default = not vary_d
    if plant_only:
        check_plant_only_vary(vary_d)
    if default:
        vary_d = plant_only_dispersion(base) if plant_only else default_dispersion(base)
    draws = make_draws(base, vary_d, samples, seed, duration_s=duration, source=prep.source)
    src_path = Path(prep.source)
    sha = hashlib.sha256(src_path.read_bytes()).hexdigest() if src_path.is_file() else None
    args = _args(prep.source, sha, controllers, samples, seed, {k: d.text for k, d in vary_d.items()}, default,
                 duration)
    if plant_only:
        args["plant_only"] = True
    out = Path(out_dir)
    done_rows: list[dict[str, Any]] = []
    resume = False
    man = out / "sweep.json"
    if man.is_file():
        try:
            old = json.loads(man.read_text())["args"]
        except (ValueError, KeyError, TypeError):
            old = None
        if old == args:
            resume = True
            part = out / "runs.jsonl"
            if part.is_file():
                done_rows = [json.loads(line) for line in part.read_text().splitlines() if line.strip()]
        elif not force:
            differ = sorted(k for k in args if old is None or old.get(k) != args[k])
            raise SweepError(f"{out} holds another sweep (its sweep.json differs in {', '.join(differ) or 'format'}); "
                             "give the same arguments to resume it, another --out, or --force to replace it")
    names = [*SWEEP_FILES, *(f"draws/draw_{d.draw_id:05d}.toml" for d in draws)]
    folder = OutputFolder(out, names, force=force or resume, inputs=[src_path] if src_path.is_file() else [])
    keys = {(r["draw_id"], r["controller"]) for r in done_rows}
    valid_ids = {d.draw_id for d in draws}
    done_rows = [r for r in done_rows if r["draw_id"] in valid_ids and r["controller"] in controllers]
    tasks = [Task(d.draw_id, c, d.scenario.model_dump_json(), prep.source, duration)
             for d in draws for c in controllers if (d.draw_id, c) not in keys]
    if plant_only:
        pending = [d for d in draws if (d.draw_id, PLANT_ONLY_POLICY) not in keys]
        rows_iter = plant_only_rows(base, pending, duration)
        where = "batched JAX plant in this process"
    elif scheduler is not None:
        rows_iter = run_dask(tasks, scheduler)
        where = f"Dask scheduler {scheduler}"
    else:
        rows_iter = run_local(tasks, workers)
        where = f"{workers} local worker process{'es' if workers > 1 else ''}"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(draws) * len(controllers), initial=len(done_rows), desc=f"sweep {base.name}",
                   unit="run", mininterval=1.0)
    t0 = time.perf_counter()
    rows = list(done_rows)
    with folder:
        folder.write_text("sweep.json", json.dumps({"format": "calmline-sweep/1", "args": args,
                                                    "versions": _versions()}, indent=1) + "\n")
        last = 0.0

        def flush() -> None:
            folder.write_text("runs.jsonl", "".join(json.dumps(r, default=_json_default) + "\n" for r in rows))

        flush()
        for row in rows_iter:
            rows.append(row)
            if bar is not None:
                bar.update(1)
            if time.perf_counter() - last > 2.0:
                flush()
                last = time.perf_counter()
        flush()
        if bar is not None:
            bar.close()
        wall = time.perf_counter() - t0
        df = _table(rows, draws, controllers, seed)
        folder.write_with("runs.parquet", lambda p: df.to_parquet(p, index=False))
        worst = []
        by_id = {d.draw_id: d for d in draws}
        here = src_path.parent if src_path.is_file() else Path.cwd()
        for draw_id, ctrl, why in worst_runs(df):
            name = f"draws/draw_{draw_id:05d}.toml"
            path = folder.write_text(name, _draw_toml(by_id[draw_id], here))
            # a plant-only draw reproduces in closed loop with the recipe (the PLC's loops hold its set points)
            run_ctrl = "recipe" if plant_only else ctrl
            out_run = f"runs/draw{draw_id:05d}_{run_ctrl.replace(':', '_').replace('/', '_')}"
            cmd = shlex.join(["calmline", "run", str(path), "--controller", run_ctrl, "--duration",
                              f"{duration:g}", "--out", out_run])
            if plant_only:
                why += "; the command runs the draw in closed loop (the recipe with the PLC's loops)"
            worst.append({"draw_id": draw_id, "controller": ctrl, "why": why, "command": cmd,
                          "values": by_id[draw_id].values})
        manifest = {**args, "calmline": _versions().get("calmline", "?"), "workers": where, "wall_s": wall}
        folder.write_text("report.html", render_sweep_report(df, manifest, worst))
    return SweepResult(df, out, ran=len(rows) - len(done_rows), resumed=len(done_rows))


def _json_default(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _versions() -> dict[str, str]:
    from mpc.machine import package_versions

    return {k: str(v) for k, v in package_versions().items()}
