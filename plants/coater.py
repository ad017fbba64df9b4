"""Slot-die coater and slurry: pre-metered film, viscosity, coating window.

Equations (symbols as in ``docs/theory.md``):

* slurry density ``1/rho = w/rho_s + (1 - w)/rho_l``;
* pre-metered wet thickness ``h_wet = Q / (W v)``; dry areal loading
  ``m_A = rho h_wet w``; solvent load ``S0 = rho h_wet (1 - w)``. A line stop
  (``v -> 0``) is handled on fluxes: the die lays ``rho w Q / W`` kg of dry
  mass per metre of width and second, and the web carries it away at ``v``;
* viscosity: Krieger-Dougherty in the solids volume fraction times a
  gelation factor ``exp(k_gel w_water)`` for water taken up from the room air
  (NMP is hygroscopic and PVDF gels);
* coating window, low-flow limit: the minimum wet thickness grows with the
  capillary number ``Ca = mu v / sigma``.

References
----------
.. [KD1959] I. M. Krieger, T. J. Dougherty, Trans. Soc. Rheol. 3 (1959) 137-152.
.. [CK2000] M. S. Carvalho, H. S. Kheshgi, "Low-flow limit in slot coating:
   theory and experiments", AIChE J. 46 (2000) 1907-1917 (visco-capillary
   model: ``h_min/H0 = 0.65 (2 Ca)**(2/3)`` at low Ca).
.. [R1976] K. J. Ruschak, Chem. Eng. Sci. 31 (1976) 1057-1060 (the gap-to-
   thickness ratio of a pre-metered bead is limited to about 3 at high Ca).
"""

from __future__ import annotations

from typing import Any

from plants.backend import ArrayOps
from plants.params import CoaterParams, SolventParams

__all__ = [
    "SPEED_EPS_M_S",
    "min_wet_thickness_m",
    "slurry_density_kg_m3",
    "slurry_viscosity_Pa_s",
    "solids_volume_frac",
]

SPEED_EPS_M_S = 1e-3
"""Speed below which the web counts as stopped in flux expressions, m/s."""


def slurry_density_kg_m3(solids_frac: Any, coater: CoaterParams, solvent: SolventParams) -> Any:
    """Density of the slurry with solids mass fraction ``solids_frac``."""
    return 1.0 / (solids_frac / coater.solids_density_kg_m3 + (1.0 - solids_frac) / solvent.density_kg_m3)


def solids_volume_frac(solids_frac: Any, coater: CoaterParams, solvent: SolventParams) -> Any:
    """Solids volume fraction ``phi`` of the slurry."""
    return solids_frac / coater.solids_density_kg_m3 * slurry_density_kg_m3(solids_frac, coater, solvent)


def slurry_viscosity_Pa_s(
    ops: ArrayOps, solids_frac: Any, water_frac: Any, coater: CoaterParams, solvent: SolventParams
) -> Any:
    """Slurry viscosity: Krieger-Dougherty times the water-gelation factor."""
    phi = solids_volume_frac(solids_frac, coater, solvent)
    rel = ops.maximum(1.0 - phi / coater.max_packing_frac, 0.02)
    kd = rel ** (-coater.intrinsic_viscosity * coater.max_packing_frac)
    return coater.binder_solution_viscosity_Pa_s * kd * ops.exp(coater.gel_viscosity_coeff * water_frac)


def min_wet_thickness_m(ops: ArrayOps, viscosity_Pa_s: Any, speed_m_s: Any, coater: CoaterParams) -> Any:
    """Low-flow limit: smallest wet thickness the bead sustains at this speed.

    ``r = 0.65 (2 Ca)**(2/3)`` is the visco-capillary law of [CK2000];
    ``h_min = H0 r / (1 + 3 r)`` blends it with the high-Ca limit
    ``h_min -> H0/3`` [R1976] (the blend is an assumption of calmline).
    """
    ca_num = viscosity_Pa_s * ops.maximum(speed_m_s, SPEED_EPS_M_S) / coater.surface_tension_N_m
    r = 0.65 * (2.0 * ca_num) ** (2.0 / 3.0)
    return coater.die_gap_m * r / (1.0 + 3.0 * r)
