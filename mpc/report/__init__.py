"""Run and comparison reports: self-contained HTML pages with embedded charts.

The plant's three figures lead every report: process capability (Cp/Cpk) of
coat weight and residual solvent, dryer energy per kWh of cell, and the
spread (CV) of the end-of-line cell-resistance proxy.

Public API
----------
:func:`write_run_report`
    ``out_dir/report.html`` (+ ``*.png``) for one run.
:func:`write_compare_report`
    ``out_dir/report.html`` (+ ``compare_*.png``) setting controllers side by side.
:func:`comparison_table`
    KPIs side by side as a DataFrame (rows KPIs, columns controllers).
:func:`best_per_row`
    Which controller is best per KPI row (what the comparison highlights).
:func:`kpi_direction`, :func:`format_kpi`
    Better-direction and display formatting of a KPI key.

Display-unit conversions live in :mod:`mpc.report._units` (SI stays inside).
"""

from mpc.report._compare import best_per_row, comparison_table, write_compare_report
from mpc.report._kpis import format_kpi, kpi_direction
from mpc.report._run import CHART_NAMES, write_run_report

__all__ = [
    "CHART_NAMES",
    "best_per_row",
    "comparison_table",
    "format_kpi",
    "kpi_direction",
    "write_compare_report",
    "write_run_report",
]
