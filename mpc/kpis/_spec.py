"""The specification a run is judged against (:class:`KpiSpec`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from mpc.kpis._errors import KpiSpecError

__all__ = ["KpiSpec"]


def _f(unit: str, lo: float, hi: float, doc: str, default: float | None = None) -> Any:
    """A float field with its unit, closed plausible range and description."""
    meta = {"unit": unit, "range": (lo, hi), "doc": doc}
    if default is None:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class KpiSpec:
    """Specification limits and constants of the KPI computation (keyword-only, validated).

    Every float field has a unit and a plausible closed range (see the field
    metadata and ``docs/kpis.md``); a value outside it, a NaN or a wrong type
    raises :class:`~mpc.kpis.KpiSpecError` naming the field, the value and the
    range.

    Attributes
    ----------
    coat_weight_target_kg_m2 : float
        Dry coat-weight target (kg/m2).
    coat_weight_lsl_kg_m2, coat_weight_usl_kg_m2 : float
        Lower and upper specification limits of dry coat weight (kg/m2);
        ``LSL <= target <= USL`` and ``LSL < USL``.
    residual_usl_kg_kg : float
        Upper specification limit of residual solvent at the dryer exit,
        dry basis (kg/kg).
    film_temp_max_K : float
        Film-temperature limit (K); a metre whose film exceeded it anywhere in
        the dryer is scrap.
    warmup_s : float
        Warm-up (s from scenario start): web that passed the die before it is
        not assessed.
    settling_after_restart_m : float
        Web length (m) counted as scrap after each restart of the line.
    die_to_dryer_exit_m : float
        Web length (m) from the coating die to the dryer exit.
    width_m : float
        Coated width (m).
    cell_kwh_per_m2_at_target : float
        Cell energy (kWh) enabled by one m2 of good electrode at the target
        coat weight (``plants.capacity.cell_energy_kWh_per_m2``).
    scenario, controller : str
        Labels copied into the KPI record (non-empty).
    capability_cap : float
        Cap on ``|Cp|`` and ``|Cpk|`` (default 5.0).
    proxy_coat_weight_coeff, proxy_binder_coeff, proxy_residual_coeff : float
        Coefficients ``a_cw``, ``a_bm``, ``a_rs`` of the end-of-line
        resistance proxy (assumptions, not fitted; defaults 0.8, 0.5, 0.05).
    primary_factor_heater, primary_factor_electricity : float
        Primary energy per kWh of the heaters' carrier and of electricity (fans,
        solvent recovery); defaults 1.0 (final energy).
    """

    coat_weight_target_kg_m2: float = _f("kg/m2", 1e-3, 2.0, "dry coat-weight target")
    coat_weight_lsl_kg_m2: float = _f(
        "kg/m2", 1e-3, 2.0, "lower specification limit of dry coat weight"
    )
    coat_weight_usl_kg_m2: float = _f(
        "kg/m2", 1e-3, 2.0, "upper specification limit of dry coat weight"
    )
    residual_usl_kg_kg: float = _f(
        "kg/kg", 1e-6, 5.0, "upper specification limit of exit residual solvent, dry basis"
    )
    film_temp_max_K: float = _f("K", 250.0, 800.0, "film-temperature limit")
    warmup_s: float = _f("s", 0.0, 1e7, "warm-up: web passing the die before it is not assessed")
    settling_after_restart_m: float = _f("m", 0.0, 1e5, "web counted as scrap after each restart")
    die_to_dryer_exit_m: float = _f("m", 1e-2, 1e4, "web length from the die to the dryer exit")
    width_m: float = _f("m", 1e-2, 10.0, "coated width")
    cell_kwh_per_m2_at_target: float = _f(
        "kWh/m2",
        1e-4,
        10.0,
        "cell energy enabled by one m2 of good electrode at the target coat weight",
    )
    scenario: str = field(metadata={"doc": "scenario name (copied into the KPI record)"})
    controller: str = field(metadata={"doc": "controller name (copied into the KPI record)"})
    capability_cap: float = _f("1", 0.5, 100.0, "cap on |Cp| and |Cpk|", 5.0)
    proxy_coat_weight_coeff: float = _f(
        "1",
        0.0,
        10.0,
        "a_cw: relative resistance per relative coat-weight deviation (assumption)",
        0.8,
    )
    proxy_binder_coeff: float = _f(
        "1",
        0.0,
        10.0,
        "a_bm: relative resistance per unit binder-migration ratio above 1 (assumption)",
        0.5,
    )
    proxy_residual_coeff: float = _f(
        "1",
        0.0,
        10.0,
        "a_rs: relative resistance per unit residual solvent / its USL (assumption)",
        0.05,
    )
    primary_factor_heater: float = _f("1", 1e-3, 5.0, "primary energy per kWh of the heaters' carrier", 1.0)
    primary_factor_electricity: float = _f("1", 1e-3, 5.0, "primary energy per kWh of electricity", 1.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if "range" not in meta:
                if not isinstance(value, str) or not value.strip():
                    raise KpiSpecError(f"KpiSpec.{f.name} = {value!r}: expected a non-empty string")
                continue
            lo, hi = meta["range"]
            unit = meta["unit"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise KpiSpecError(
                    f"KpiSpec.{f.name} = {value!r}: expected a number in [{lo}, {hi}] {unit}"
                )
            if not math.isfinite(value):
                raise KpiSpecError(
                    f"KpiSpec.{f.name} = {value!r}: expected a finite number in [{lo}, {hi}] {unit}"
                )
            if not lo <= value <= hi:
                hint = ""
                if unit == "K" and -60.0 <= value <= 250.0:
                    hint = " (this looks like degC; temperatures are in K: add 273.15)"
                raise KpiSpecError(
                    f"KpiSpec.{f.name} = {value!r} {unit} is outside the plausible range [{lo}, {hi}] {unit}{hint}"
                )
        lsl, usl, tgt = (
            self.coat_weight_lsl_kg_m2,
            self.coat_weight_usl_kg_m2,
            self.coat_weight_target_kg_m2,
        )
        if not lsl < usl:
            raise KpiSpecError(
                f"KpiSpec.coat_weight_lsl_kg_m2 = {lsl!r} must be below coat_weight_usl_kg_m2 = {usl!r}"
            )
        if not lsl <= tgt <= usl:
            raise KpiSpecError(
                f"KpiSpec.coat_weight_target_kg_m2 = {tgt!r}: expected within "
                f"[coat_weight_lsl_kg_m2, coat_weight_usl_kg_m2] = [{lsl!r}, {usl!r}]"
            )
