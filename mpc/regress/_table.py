"""The suite's result as a text table (``calmline regress``) and as one JSON object (``--json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpc.regress._compare import KpiCheck
from mpc.regress._run import CaseResult, SuiteResult

__all__ = ["format_table", "result_json"]

_MARK = {"ok": "ok", "better": "better", "regression": "REGRESSION"}


def _f(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _window(res: CaseResult) -> str:
    c = res.case
    end = "end" if c.window_s is None else f"{c.start_s + c.window_s:g} s"
    return f"{Path(c.log).name} {c.start_s:g} s-{end}"


def _check_row(c: KpiCheck) -> str:
    change = "-" if c.change is None else f"{c.change:+.4g}"
    return (f"    {c.kpi:26s} {_f(c.golden):>10s} {_f(c.value):>10s} {change:>10s} {_f(c.tolerance):>9s} "
            f"{c.direction:>6s}  {_MARK[c.verdict]}{'  (' + c.note + ')' if c.note else ''}")


def format_table(result: SuiteResult) -> str:
    """Per case: the verdict, then each compared KPI against its golden value."""
    lines = []
    head = (f"    {'KPI':26s} {'golden':>10s} {'now':>10s} {'change':>10s} {'tolerance':>9s} "
            f"{'better':>6s}  verdict")
    for res in result.cases:
        c = res.case
        lines.append(f"{c.name}  [{c.controller} | {_window(res)} | base {Path(c.base).stem}]  "
                     f"{res.verdict.upper()}  ({res.elapsed_s:.1f} s)")
        if res.checks:
            lines.append(head)
            lines.extend(_check_row(k) for k in res.checks)
        lines.extend(f"    note: {n}" for n in res.notes)
    n_pass = sum(r.verdict == "pass" for r in result.cases)
    lines.append("")
    lines.append(f"{n_pass}/{len(result.cases)} cases passed in {result.elapsed_s:.1f} s: "
                 f"{'PASS' if result.passed else 'FAIL'}")
    return "\n".join(lines)


def _check_json(c: KpiCheck) -> dict[str, Any]:
    return {"kpi": c.kpi, "direction": c.direction, "golden": c.golden, "value": c.value,
            "change": c.change, "tolerance": c.tolerance, "verdict": c.verdict, "note": c.note}


def result_json(result: SuiteResult) -> dict[str, Any]:
    """The suite's result as a JSON-ready dict."""
    return {
        "suite": str(result.suite.path),
        "passed": result.passed,
        "elapsed_s": result.elapsed_s,
        "cases": [
            {
                "name": r.case.name,
                "controller": r.case.controller,
                "log": r.case.log,
                "base": r.case.base,
                "start_s": r.case.start_s,
                "window_s": r.case.window_s,
                "verdict": r.verdict,
                "elapsed_s": r.elapsed_s,
                "golden": str(r.golden_path),
                "checks": [_check_json(k) for k in r.checks],
                "notes": r.notes,
            }
            for r in result.cases
        ],
        "updated": sorted(result.updated),
    }
