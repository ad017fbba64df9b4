"""Run the regression suite: replay every case, compare with its golden file, update on request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mpc.interfaces import Controller
from mpc.regress._compare import KpiCheck, compare_kpis
from mpc.regress._golden import golden_record, read_golden, write_golden
from mpc.regress._suite import Case, Suite

__all__ = ["CaseResult", "CaseVerdict", "SuiteResult", "case_record", "check_case", "run_case", "run_suite"]

CaseVerdict = Literal["pass", "regression", "no golden", "error"]


@dataclass
class CaseResult:
    """The outcome of one case.

    Attributes
    ----------
    case : Case
    verdict : {"pass", "regression", "no golden", "error"}
    checks : list of KpiCheck
        One per compared KPI (empty without a golden file or on error).
    kpis : dict
        The run's KPI record (empty on error).
    record : dict
        What ``--update`` would write as the golden file.
    golden_path : pathlib.Path
    elapsed_s : float
        Wall time of the replay, s.
    notes : list of str
        Version differences to the golden file, a changed log, the error.
    """

    case: Case
    verdict: CaseVerdict
    checks: list[KpiCheck] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    golden_path: Path = Path()
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[KpiCheck]:
        """The KPIs that got worse than their tolerance."""
        return [c for c in self.checks if c.verdict == "regression"]


@dataclass
class SuiteResult:
    """The outcome of the suite (or of the cases asked for)."""

    suite: Suite
    cases: list[CaseResult]
    elapsed_s: float
    updated: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every case passed."""
        return all(c.verdict == "pass" for c in self.cases)


def case_record(suite: Suite, case: Case, kpis: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The golden record of ``case`` from a run's KPIs and metadata."""
    rep = meta.get("replay", {})
    desc = {
        "name": case.name,
        "log": case.log,
        "log_sha256": rep.get("log_sha256", ""),
        "mapping": case.mapping,
        "base": case.base,
        "controller": case.controller,
        "start_s": case.start_s,
        "window_s": case.window_s,
    }
    return golden_record(desc, kpis, meta.get("versions", {}))


def run_case(
    suite: Suite, case: Case, controller: Controller | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replay ``case`` (with ``controller`` instead of the case's, if given); return (kpis, meta)."""
    from mpc.historian import replay_log

    res = replay_log(
        suite.resolve(case.log),
        controller if controller is not None else case.controller,
        scenario=suite.resolve(case.base),
        mapping=suite.resolve(case.mapping) if case.mapping else None,
        start_s=case.start_s,
        window_s=case.window_s,
    )
    return res.kpis, res.meta


def check_case(
    suite: Suite, case: Case, kpis: dict[str, Any], meta: dict[str, Any], elapsed_s: float = 0.0
) -> CaseResult:
    """Compare a run of ``case`` with its golden file."""
    gpath = suite.golden_path(case)
    record = case_record(suite, case, kpis, meta)
    golden = read_golden(gpath)
    if golden is None:
        return CaseResult(case, "no golden", [], kpis, record, gpath, elapsed_s,
                          [f"no golden file {gpath}: run `calmline regress --update` to create it"])
    checks = compare_kpis(kpis, golden["kpis"], suite.tolerances_for(case))
    notes = []
    old_v, new_v = golden.get("versions", {}), record["versions"]
    diff = [f"{k} {old_v.get(k)} -> {new_v[k]}" for k in new_v if old_v.get(k) != new_v[k]]
    if diff:
        notes.append("versions differ from the golden file's: " + ", ".join(diff))
    old_sha = golden.get("case", {}).get("log_sha256")
    if old_sha and old_sha != record["case"]["log_sha256"]:
        notes.append("the log file changed since the golden file was written")
    verdict: CaseVerdict = "regression" if any(c.verdict == "regression" for c in checks) else "pass"
    return CaseResult(case, verdict, checks, kpis, record, gpath, elapsed_s, notes)


def _suite_inputs(suite: Suite) -> list[Path]:
    """The files the suite reads: the suite file and every case's log, mapping and base scenario."""
    out = [suite.path]
    for case in suite.cases:
        out += [suite.resolve(rel) for rel in (case.log, case.mapping, case.base) if rel]
    return out


def run_suite(
    suite: Suite,
    *,
    cases: list[str] | None = None,
    update: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Replay the suite's cases (all, or those named), compare, and with ``update`` rewrite goldens.

    A case that fails to run gets the verdict ``"error"`` (the others still
    run). With ``update``, every case that ran has its golden file rewritten
    (when its content changed); :attr:`SuiteResult.updated` maps the golden
    path to the unified diff.
    """
    chosen = [suite.case(n) for n in cases] if cases else list(suite.cases)
    t_all = time.perf_counter()
    results = []
    updated: dict[str, str] = {}
    for case in chosen:
        if progress is not None:
            progress(f"{case.name}: {case.controller} on {Path(case.log).name} ...")
        t0 = time.perf_counter()
        try:
            kpis, meta = run_case(suite, case)
        except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            results.append(CaseResult(case, "error", golden_path=suite.golden_path(case),
                                      elapsed_s=time.perf_counter() - t0, notes=[str(msg)]))
            continue
        res = check_case(suite, case, kpis, meta, time.perf_counter() - t0)
        results.append(res)
        if update:
            diff = write_golden(res.golden_path, res.record, _suite_inputs(suite))
            if diff:
                updated[str(res.golden_path)] = diff
        if progress is not None:
            progress(f"{case.name}: {res.verdict} ({res.elapsed_s:.1f} s)")
    return SuiteResult(suite, results, time.perf_counter() - t_all, updated)
