"""The binder-migration index does not depend on the plant's grid."""

from __future__ import annotations

import numpy as np
import pytest

from plants import LineModel, get_preset, nominal_operating_point, steady_state
from plants.backend import ops_by_name


def _window_ratio(preset: str, cells: int) -> tuple[float, float]:
    """(window-mean, peak-over-cells) critical-rate ratios at the recipe's steady state."""
    p = get_preset(preset).replace(dryer={"cells_per_zone": cells})
    m = LineModel(p)
    ss = steady_state(m, nominal_operating_point(preset))
    y = np.asarray(m.outputs(ops_by_name("numpy"), ss.x, ss.u, ss.d), dtype=float)
    names = m.output_names()
    return y[names.index("critical_window_rate_ratio")], y[names.index("critical_rate_ratio")]


@pytest.mark.parametrize("preset", ["nmc_nmp", "graphite_water"])
def test_window_mean_rate_converges_with_the_grid(preset: str) -> None:
    """8, 16, 32 and 64 cells per zone agree within 5 % (the peak over cells does not, on the cathode)."""
    ratios = {c: _window_ratio(preset, c) for c in (8, 16, 32, 64)}
    window = np.array([r[0] for r in ratios.values()])
    assert window.min() > 0.1
    assert np.ptp(window) / window[-1] < 0.05, ratios
    if preset == "nmc_nmp":  # the grid-dependence the window mean removes
        peak = np.array([r[1] for r in ratios.values()])
        assert np.ptp(peak) / peak[-1] > 0.2, ratios


def test_window_mean_is_zero_without_film_in_the_critical_stage() -> None:
    """A dryer whose film never reaches the critical stage reports no exposure."""
    p = get_preset("nmc_nmp")
    m = LineModel(p)
    op = nominal_operating_point("nmc_nmp")
    ss = steady_state(m, op)
    x = ss.x.copy()
    L = m.layout
    x[L.solvent_load] = 10.0 * x[L.dry_loading] * p.dryer.critical_content_kg_kg  # soaking wet everywhere
    names = m.output_names()
    y = np.asarray(m.outputs(ops_by_name("numpy"), x, ss.u, ss.d), dtype=float)
    assert y[names.index("critical_window_rate_ratio")] == pytest.approx(0.0, abs=1e-9)


if __name__ == "__main__":  # the table in docs/kpis.md
    for name in ("nmc_nmp", "graphite_water"):
        rows = {c: _window_ratio(name, c) for c in (8, 16, 32, 64)}
        print(f"| `{name}` | window mean | " + " | ".join(f"{r[0]:.3f}" for r in rows.values()) + " |")
        print(f"| `{name}` | peak over cells | " + " | ".join(f"{r[1]:.3f}" for r in rows.values()) + " |")
