"""The regression suite of historical disturbances (``calmline regress``).

:func:`load_suite` reads ``scenarios/regression/suite.toml`` (cases: a log
or its window, a base scenario, a controller; a tolerance per KPI, the
direction from :data:`mpc.kpis.KPI_DIRECTIONS`); :func:`run_suite` replays
every case with :func:`mpc.historian.replay_log` and compares its KPIs with
the golden files (:func:`compare_kpis`: only a change in the worse direction
beyond the tolerance is a regression; step times are never compared);
``update=True`` rewrites the golden files and returns their diffs.
Reference: ``docs/regression.md``.
"""

from mpc.regress._compare import KpiCheck, Verdict, compare_kpis
from mpc.regress._golden import (
    GOLDEN_VERSION_PACKAGES,
    golden_record,
    golden_text,
    read_golden,
    write_golden,
)
from mpc.regress._run import (
    CaseResult,
    CaseVerdict,
    SuiteResult,
    case_record,
    check_case,
    run_case,
    run_suite,
)
from mpc.regress._suite import (
    Case,
    RegressionSuiteError,
    Suite,
    Tolerance,
    default_suite_path,
    load_suite,
)
from mpc.regress._table import format_table, result_json

__all__ = [
    "GOLDEN_VERSION_PACKAGES",
    "Case",
    "CaseResult",
    "CaseVerdict",
    "KpiCheck",
    "RegressionSuiteError",
    "Suite",
    "SuiteResult",
    "Tolerance",
    "Verdict",
    "case_record",
    "check_case",
    "compare_kpis",
    "default_suite_path",
    "format_table",
    "golden_record",
    "golden_text",
    "load_suite",
    "read_golden",
    "result_json",
    "run_case",
    "run_suite",
    "write_golden",
]
