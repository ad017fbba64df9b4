"""Run and comparison reports: self-contained HTML pages with embedded charts.

The plant's three figures lead every report: process capability (Cp/Cpk) of
coat weight and residual solvent beside the yield and scrap, dryer energy per
kWh of cell (final and primary, by carrier), and the spread (CV) of the
end-of-line cell-resistance proxy. A one-line verdict on fixed targets
(:data:`TARGETS`) heads each run report and each controller's column of a
comparison (``docs/report.md``).

Public API
----------
:func:`write_run_report`
    ``out_dir/report.html`` (+ ``*.png``) for one run.
:func:`write_compare_report`
    ``out_dir/report.html`` (+ ``compare_*.png``) setting controllers side by side.
:func:`comparison_table`
    KPIs side by side as a DataFrame (one row per controller, one column per
    KPI, plus the ``violation`` and verdict columns); what ``comparison.csv`` holds.
:func:`best_per_kpi`
    Which controller is best per KPI (what the comparison highlights).
:func:`run_violations`
    What a run broke (time above the LEL limit in force, no good web), in words.
:func:`run_verdict`, :class:`Verdict`, :data:`TARGETS`, :class:`Target`
    The run against the fixed targets: ``"targets met"`` or which not.
:func:`kpi_direction`, :func:`format_kpi`
    Better-direction and display formatting of a KPI key.

Display-unit conversions live in :mod:`mpc.report._units` (SI stays inside).
"""

from mpc.report._compare import (
    COMPARE_REPORT_FILES,
    VERDICT_COLUMNS,
    VIOLATION_COLUMNS,
    best_per_kpi,
    comparison_table,
    write_compare_report,
)
from mpc.report._kpis import format_kpi, kpi_direction
from mpc.report._run import CHART_NAMES, RUN_REPORT_FILES, write_run_report
from mpc.report._targets import TARGETS, Target
from mpc.report._violations import Verdict, run_verdict, run_violations

__all__ = [
    "CHART_NAMES",
    "COMPARE_REPORT_FILES",
    "RUN_REPORT_FILES",
    "TARGETS",
    "VERDICT_COLUMNS",
    "VIOLATION_COLUMNS",
    "Target",
    "Verdict",
    "best_per_kpi",
    "comparison_table",
    "format_kpi",
    "kpi_direction",
    "run_verdict",
    "run_violations",
    "write_compare_report",
    "write_run_report",
]
