"""Plant KPIs of a closed-loop run, as pure functions over the run's time series.

The harness hands :func:`compute_kpis` the run's plant-truth time series (one
row per control interval, index ``time_s``) and a :class:`KpiSpec`; the result
is a flat record with the keys :data:`KPI_KEYS`, every number finite.
Definitions, units and directions: ``docs/kpis.md``.
"""

from mpc.kpis._capability import S_REL_TOL, capability, capability_upper
from mpc.kpis._compute import compute_kpis, per_metre_table, primary_energy
from mpc.kpis._errors import KpiInputError, KpiSpecError
from mpc.kpis._input import REQUIRED_COLUMNS
from mpc.kpis._io import write_kpis_json
from mpc.kpis._keys import KPI_DIRECTIONS, KPI_KEYS
from mpc.kpis._proxy import resistance_proxy
from mpc.kpis._spec import KpiSpec
from mpc.kpis._web import sample_metres

__all__ = [
    "KPI_DIRECTIONS",
    "KPI_KEYS",
    "REQUIRED_COLUMNS",
    "S_REL_TOL",
    "KpiInputError",
    "KpiSpec",
    "KpiSpecError",
    "capability",
    "capability_upper",
    "compute_kpis",
    "per_metre_table",
    "primary_energy",
    "resistance_proxy",
    "sample_metres",
    "write_kpis_json",
]
