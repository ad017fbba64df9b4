"""The coupled coating line: coater into an N-zone dryer, written once.

:class:`LineModel` assembles the coater (:mod:`plants.coater`), the dryer
(:mod:`plants.dryer`) and the building humidity path (:mod:`plants.building`)
into one continuous-time model ``dx/dt = f(x, u, d)`` and its algebraic
outputs ``y = g(x, u, d)``, evaluated by any array back end
(:mod:`plants.backend`). The simulated plant and a controller's model are two
:class:`LineModel` objects built from different :class:`~plants.params.LineParams`
(the plant's "true" parameters and more cells per zone; the controller's
nominal parameters and fewer cells).

Dryer discretisation: finite volumes along the web (``cells_per_zone`` per
zone, first-order upwind), in conservative form for dry loading ``m_A``,
solvent load ``S`` and film enthalpy ``H = C (T_f - T_ref)`` per web area
(``C = m_A cp_s + S cp_l + m_foil cp_foil``, ``T_ref`` the room
temperature). Conservative transport closes the discrete mass and energy
balances exactly at steady state (``calmline plant validate`` checks it).

State vector (blocks, in order): pump flow; room humidity ratio; slurry water
fraction; per zone solvent-vapour concentration, air temperature, nozzle
velocity, heater input power; per cell ``m_A``, ``S``, ``H``.
Inputs: web speed; pump-flow command; per zone nozzle-velocity command,
heater-power command, exhaust (= make-up) air flow.
Disturbances: outdoor temperature and RH; tank solids fraction; pump-flow
noise and local coating variation (relative, unmeasured process noise); a
heat-transfer factor; per zone heater efficiency and fan flow factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from plants import building as bld
from plants import coater as cot
from plants import dryer as dry
from plants.backend import ArrayOps, ops_by_name
from plants.params import LineParams
from plants.properties import (
    AIR_CP_J_KGK,
    GAS_CONSTANT_J_MOLK,
    air_density_kg_m3,
    lel_temperature_factor,
)

__all__ = ["LineLayout", "LineModel"]


@dataclass(frozen=True)
class LineLayout:
    """Index map of the state, input and disturbance vectors."""

    n_zones: int
    cells_per_zone: int

    @property
    def n_cells(self) -> int:
        return self.n_zones * self.cells_per_zone

    # --- state blocks -------------------------------------------------
    @property
    def pump(self) -> int:
        return 0

    @property
    def room_w(self) -> int:
        return 1

    @property
    def slurry_water(self) -> int:
        return 2

    def _zone_block(self, k: int) -> slice:
        start = 3 + k * self.n_zones
        return slice(start, start + self.n_zones)

    @property
    def zone_conc(self) -> slice:
        return self._zone_block(0)

    @property
    def air_temp(self) -> slice:
        return self._zone_block(1)

    @property
    def nozzle(self) -> slice:
        return self._zone_block(2)

    @property
    def heater(self) -> slice:
        return self._zone_block(3)

    def _cell_block(self, k: int) -> slice:
        start = 3 + 4 * self.n_zones + k * self.n_cells
        return slice(start, start + self.n_cells)

    @property
    def dry_loading(self) -> slice:
        return self._cell_block(0)

    @property
    def solvent_load(self) -> slice:
        return self._cell_block(1)

    @property
    def enthalpy(self) -> slice:
        return self._cell_block(2)

    @property
    def n_states(self) -> int:
        return 3 + 4 * self.n_zones + 3 * self.n_cells

    # --- inputs -------------------------------------------------------
    @property
    def u_speed(self) -> int:
        return 0

    @property
    def u_pump(self) -> int:
        return 1

    @property
    def u_nozzle(self) -> slice:
        return slice(2, 2 + self.n_zones)

    @property
    def u_heater(self) -> slice:
        return slice(2 + self.n_zones, 2 + 2 * self.n_zones)

    @property
    def u_exhaust(self) -> slice:
        return slice(2 + 2 * self.n_zones, 2 + 3 * self.n_zones)

    @property
    def n_inputs(self) -> int:
        return 2 + 3 * self.n_zones

    # --- disturbances -------------------------------------------------
    D_OUT_T, D_OUT_RH, D_SOLIDS, D_PUMP_NOISE, D_COAT_NOISE, D_HTF, D_XCR = range(7)

    @property
    def d_heater_eff(self) -> slice:
        return slice(7, 7 + self.n_zones)

    @property
    def d_fan_factor(self) -> slice:
        return slice(7 + self.n_zones, 7 + 2 * self.n_zones)

    @property
    def n_disturbances(self) -> int:
        return 7 + 2 * self.n_zones

    # --- names ----------------------------------------------------------
    def state_names(self) -> list[str]:
        z = range(1, self.n_zones + 1)
        c = range(1, self.n_cells + 1)
        return (
            ["pump_flow_m3_s", "room_humidity_ratio_kg_kg", "slurry_water_frac"]
            + [f"zone{i}_solvent_conc_kg_m3" for i in z]
            + [f"zone{i}_air_temp_K" for i in z]
            + [f"zone{i}_nozzle_velocity_m_s" for i in z]
            + [f"zone{i}_heater_power_W" for i in z]
            + [f"cell{j}_dry_loading_kg_m2" for j in c]
            + [f"cell{j}_solvent_load_kg_m2" for j in c]
            + [f"cell{j}_enthalpy_J_m2" for j in c]
        )

    def input_names(self) -> list[str]:
        z = range(1, self.n_zones + 1)
        return (
            ["speed_m_s", "pump_flow_cmd_m3_s"]
            + [f"zone{i}_nozzle_velocity_cmd_m_s" for i in z]
            + [f"zone{i}_heater_power_cmd_W" for i in z]
            + [f"zone{i}_exhaust_flow_m3_s" for i in z]
        )

    def disturbance_names(self) -> list[str]:
        z = range(1, self.n_zones + 1)
        return (
            [
                "outdoor_temp_K",
                "outdoor_rh_frac",
                "slurry_solids_frac",
                "pump_flow_noise_rel",
                "coat_noise_rel",
                "heat_transfer_factor",
                "critical_content_factor",
            ]
            + [f"zone{i}_heater_efficiency" for i in z]
            + [f"zone{i}_fan_flow_factor" for i in z]
        )

    @cached_property
    def zone_of_cell(self) -> list[int]:
        return [j // self.cells_per_zone for j in range(self.n_cells)]


class LineModel:
    """Continuous-time model of the coating line for one parameter set.

    Parameters
    ----------
    params : LineParams
        Physical parameters and discretisation (``params.dryer.cells_per_zone``).

    Notes
    -----
    :meth:`rhs` and :meth:`outputs` take an array back end, so the same code
    builds the CasADi function (:meth:`casadi_functions`) and the JAX
    function (:meth:`jax_functions`).
    """

    def __init__(self, params: LineParams) -> None:
        self.params = params
        self.layout = LineLayout(params.dryer.n_zones, params.dryer.cells_per_zone)

    # ------------------------------------------------------------------
    @property
    def cell_length_m(self) -> float:
        return self.params.dryer.zone_length_m / self.params.dryer.cells_per_zone

    @property
    def fan_rating_velocity_m_s(self) -> float:
        """Nozzle velocity at which a clean fan draws its motor's rating (fan power ~ velocity cubed)."""
        dr = self.params.dryer
        return dr.fan_ref_velocity_m_s * (dr.fan_motor_rating_W / dr.fan_power_ref_W) ** (1.0 / 3.0)

    @property
    def nozzle_command_max_m_s(self) -> np.ndarray:
        """Highest nozzle-velocity command per zone: the nozzles' limit, zone 1's over the wet film, the fan motor's."""
        dr = self.params.dryer
        v = np.full(self.layout.n_zones, min(dr.nozzle_velocity_max_m_s, self.fan_rating_velocity_m_s))
        v[0] = min(v[0], dr.wet_film_nozzle_velocity_max_m_s)
        return v

    @property
    def dryer_length_m(self) -> float:
        return self.params.dryer.zone_length_m * self.params.dryer.n_zones

    def _algebra(self, ops: ArrayOps, x: Any, u: Any, d: Any) -> dict[str, Any]:
        """Every intermediate quantity, shared by :meth:`rhs` and :meth:`outputs`."""
        p = self.params
        L = self.layout
        co, dr, so, bu = p.coater, p.dryer, p.solvent, p.building

        speed = u[L.u_speed]
        v_pos = ops.maximum(speed, 0.0)
        v_eff = ops.maximum(v_pos, cot.SPEED_EPS_M_S)
        pump = x[L.pump]
        w_room = x[L.room_w]
        water = x[L.slurry_water]
        conc = x[L.zone_conc]
        t_air = x[L.air_temp]
        noz = x[L.nozzle]
        heat = x[L.heater]
        m_a = x[L.dry_loading]
        s_load = x[L.solvent_load]
        enth = x[L.enthalpy]

        solids_tank = d[L.D_SOLIDS]
        solids = solids_tank * (1.0 - water)
        rho_sl = cot.slurry_density_kg_m3(solids, co, so)
        coat_factor = 1.0 + d[L.D_COAT_NOISE]
        pump_pos = ops.maximum(pump, 0.0)
        # Fluxes laid by the die per metre of width, kg/(m s); carried off at speed v.
        flux_dry = rho_sl * solids * pump_pos / co.width_m * coat_factor
        flux_solv = rho_sl * (1.0 - solids) * pump_pos / co.width_m * coat_factor
        stop_gate = v_pos / v_eff
        coat_weight_die = flux_dry / v_eff
        wet_thickness = pump_pos / (co.width_m * v_eff)
        viscosity = cot.slurry_viscosity_Pa_s(ops, solids, water, co, so)
        h_min = cot.min_wet_thickness_m(ops, viscosity, speed, co)

        # Film temperature from enthalpy.
        m_a_safe = ops.maximum(m_a, 1e-6)
        heat_cap = m_a * co.solids_cp_J_kgK + s_load * so.cp_liquid_J_kgK + co.foil_areal_mass_kg_m2 * co.foil_cp_J_kgK
        t_film = bu.room_temp_K + enth / heat_cap
        content = s_load / m_a_safe

        # Zone air.
        rho_air = air_density_kg_m3(t_air, dr.pressure_Pa)
        p_zone = conc * GAS_CONSTANT_J_MOLK * t_air / so.molar_mass_kg_mol
        h_zone = heat_transfer_coeff = dry.heat_transfer_coeff_W_m2K(ops, noz, t_air, dr) * d[L.D_HTF]
        beta_zone = dry.mass_transfer_coeff_m_s(heat_transfer_coeff, t_air, dr, so)

        c_per_z = L.cells_per_zone
        h_cell = ops.repeat_each(h_zone, c_per_z)
        beta_cell = ops.repeat_each(beta_zone, c_per_z)
        p_cell = ops.repeat_each(p_zone, c_per_z)
        tair_cell = ops.repeat_each(t_air, c_per_z)
        # the film's critical content varies with the slurry it was coated from (critical_content_factor)
        x_cr = dr.critical_content_kg_kg * d[L.D_XCR]
        evap = dry.evaporation_flux_kg_m2_s(ops, t_film, p_cell, beta_cell, content, dr, so, x_cr)
        q_conv = 2.0 * h_cell * (tair_cell - t_film)  # both web sides, W/m2
        sides = float(co.sides)
        crit_weight = dry.critical_stage_weight(ops, content, dr, x_cr)
        crit = crit_weight * evap / dr.critical_rate_limit_kg_m2_s

        dz = self.cell_length_m
        area_cell = co.width_m * dz
        evap_zone = ops.segment_sums(evap, L.n_zones, L.cells_per_zone) * sides * area_cell  # kg/s
        q_web_zone = ops.segment_sums(q_conv, L.n_zones, L.cells_per_zone) * area_cell  # W

        # Make-up air: room air; carries water vapour into a water-based dryer.
        if so.vapour_pressure == "water":
            conc_in = w_room * rho_air
        else:
            conc_in = ops.full(L.n_zones, 0.0) * rho_air
        exhaust = ops.maximum(u[L.u_exhaust], 0.0) * dr.exhaust_flow_factor
        heater_eff = d[L.d_heater_eff]
        fan_factor = ops.maximum(d[L.d_fan_factor], 0.05)
        fan_speed_rel = noz / (fan_factor * dr.fan_ref_velocity_m_s)
        fan_power = dr.fan_power_ref_W * ops.maximum(fan_speed_rel, 0.0) ** 3
        delivered_heat = heater_eff * dr.heater_efficiency_nominal * heat
        # make-up air enters preheated by the exhaust-to-supply heat recovery
        recovered = dr.heat_recovery_effectiveness * (t_air - bu.room_temp_K)
        makeup_heat = rho_air * AIR_CP_J_KGK * exhaust * (t_air - bu.room_temp_K - recovered)
        # solvent recovery: a chiller cools the exhaust, past the recuperator, to the condensing temperature
        if dr.solvent_recovery_cop > 0.0:
            chill = ops.maximum(t_air - recovered - dr.solvent_recovery_condense_K, 0.0)
            recovery_power = ops.sum(rho_air * AIR_CP_J_KGK * exhaust * chill) / dr.solvent_recovery_cop
        else:
            recovery_power = 0.0 * ops.sum(exhaust)
        wall_loss = dr.wall_UA_W_K * (t_air - bu.room_temp_K)

        lel = so.lel_vol_frac
        if lel > 0.0:
            lel_frac = p_zone / dr.pressure_Pa / (lel * lel_temperature_factor(t_air, ops=ops))
        else:
            lel_frac = 0.0 * p_zone

        return {
            "speed": speed,
            "v_pos": v_pos,
            "stop_gate": stop_gate,
            "flux_dry": flux_dry,
            "flux_solv": flux_solv,
            "coat_weight_die": coat_weight_die,
            "wet_thickness": wet_thickness,
            "viscosity": viscosity,
            "h_min": h_min,
            "solids": solids,
            "t_film": t_film,
            "content": content,
            "heat_cap": heat_cap,
            "p_zone": p_zone,
            "h_zone": h_zone,
            "beta_zone": beta_zone,
            "evap": evap,
            "q_conv": q_conv,
            "crit": crit,
            "crit_weight": crit_weight,
            "evap_zone": evap_zone,
            "q_web_zone": q_web_zone,
            "conc_in": conc_in,
            "exhaust": exhaust,
            "fan_factor": fan_factor,
            "fan_power": fan_power,
            "delivered_heat": delivered_heat,
            "makeup_heat": makeup_heat,
            "recovery_power": recovery_power,
            "wall_loss": wall_loss,
            "lel_frac": lel_frac,
            "rho_air": rho_air,
            "m_a": m_a,
            "s_load": s_load,
            "enth": enth,
            "w_room": w_room,
            "water": water,
            "pump": pump,
            "conc": conc,
            "t_air": t_air,
            "noz": noz,
            "heat": heat,
        }

    # ------------------------------------------------------------------
    def rhs(self, ops: ArrayOps, x: Any, u: Any, d: Any) -> Any:
        """``dx/dt`` of the whole line (a 1-D vector in the back end's type)."""
        p = self.params
        L = self.layout
        co, dr, so, bu = p.coater, p.dryer, p.solvent, p.building
        a = self._algebra(ops, x, u, d)

        # Coater and building.
        pump_cmd = ops.maximum(u[L.u_pump], 0.0) * (1.0 + d[L.D_PUMP_NOISE])
        d_pump = (pump_cmd - a["pump"]) / co.pump_time_constant_s
        w_sup = bld.hvac_supply_humidity_ratio(ops, d[L.D_OUT_T], d[L.D_OUT_RH], bu)
        d_wroom = bld.room_humidity_rate(ops, a["w_room"], w_sup, bu)
        rh_room = bld.room_rh_frac(ops, a["w_room"], bu)
        d_water = bld.slurry_water_rate(ops, a["water"], rh_room, co)

        # Zone air.
        d_conc = (a["evap_zone"] - a["exhaust"] * (a["conc"] - a["conc_in"])) / dr.zone_air_volume_m3
        d_tair = (
            a["delivered_heat"] + a["fan_power"] - a["makeup_heat"] - a["q_web_zone"] - a["wall_loss"]
        ) / dr.zone_heat_capacity_J_K
        # the nozzles deliver the command times the fan factor, up to what the fan motor's rating allows
        noz_cmd = ops.clip(u[L.u_nozzle], 0.0, self.nozzle_command_max_m_s)
        noz_target = ops.minimum(noz_cmd, self.fan_rating_velocity_m_s) * a["fan_factor"]
        d_noz = ops.clip((noz_target - a["noz"]) / dr.fan_time_constant_s, -dr.fan_rate_m_s2, dr.fan_rate_m_s2)
        heat_target = ops.clip(u[L.u_heater], 0.0, dr.heater_max_W)
        d_heat = ops.clip(
            (heat_target - a["heat"]) / dr.heater_time_constant_s, -dr.heater_rate_W_s, dr.heater_rate_W_s
        )

        # Web cells: conservative first-order upwind transport + sources.
        v = a["v_pos"]
        dz = self.cell_length_m
        sides = float(co.sides)
        inflow_dry = a["flux_dry"] * a["stop_gate"]
        inflow_solv = a["flux_solv"] * a["stop_gate"]
        m_a, s_load, enth = a["m_a"], a["s_load"], a["enth"]
        n = L.n_cells
        up_dry = ops.concat([inflow_dry, v * m_a[0 : n - 1]])
        up_solv = ops.concat([inflow_solv, v * s_load[0 : n - 1]])
        up_enth = ops.concat([0.0 * inflow_dry, v * enth[0 : n - 1]])  # slurry and foil enter at T_ref
        evap = a["evap"]
        d_ma = (up_dry - v * m_a) / dz
        d_s = (up_solv - v * s_load) / dz - sides * evap
        latent = sides * evap * (so.dh_vap_J_kg + so.cp_liquid_J_kgK * (a["t_film"] - bu.room_temp_K))
        d_h = (up_enth - v * enth) / dz + a["q_conv"] - latent

        return ops.concat([d_pump, d_wroom, d_water, d_conc, d_tair, d_noz, d_heat, d_ma, d_s, d_h])

    # ------------------------------------------------------------------
    OUTPUT_NAMES_SCALAR = (
        "coat_weight_die_kg_m2",
        "wet_thickness_m",
        "min_wet_thickness_m",
        "coating_window_margin",
        "slurry_viscosity_Pa_s",
        "slurry_solids_frac",
        "room_rh_frac",
        "exit_dry_loading_kg_m2",
        "exit_residual_kg_kg",
        "max_film_temp_K",
        "exit_film_temp_K",
        "critical_rate_ratio",
        "heater_power_W",
        "fan_power_W",
        "dryer_power_W",
        "evaporation_kg_s",
        "critical_window_rate_ratio",
        "solvent_recovery_power_W",
        "makeup_air_heat_W",
    )

    def output_names(self) -> list[str]:
        """Names (with units) of the entries of :meth:`outputs`, in order."""
        z = range(1, self.layout.n_zones + 1)
        return (
            list(self.OUTPUT_NAMES_SCALAR)
            + [f"zone{i}_lel_frac" for i in z]
            + [f"zone{i}_solvent_p_Pa" for i in z]
            + [f"zone{i}_humidity_ratio_kg_kg" for i in z]
            + [f"zone{i}_air_temp_K" for i in z]
            + [f"zone{i}_nozzle_velocity_m_s" for i in z]
            + [f"zone{i}_heater_power_W" for i in z]
            + [f"zone{i}_fan_power_W" for i in z]
            + [f"zone{i}_max_film_temp_K" for i in z]
            + [f"zone{i}_film_temp_K" for i in z]
            + [f"zone{i}_residual_kg_kg" for i in z]
            + [f"cell{j}_film_temp_K" for j in range(1, self.layout.n_cells + 1)]
            + [f"cell{j}_critical_rate_ratio" for j in range(1, self.layout.n_cells + 1)]
        )

    def outputs(self, ops: ArrayOps, x: Any, u: Any, d: Any) -> Any:
        """Algebraic outputs (a 1-D vector ordered as :meth:`output_names`)."""
        L = self.layout
        bu = self.params.building
        a = self._algebra(ops, x, u, d)
        n = L.n_cells
        last = n - 1
        c = L.cells_per_zone
        zone_last = [(i + 1) * c - 1 for i in range(L.n_zones)]
        t_film = a["t_film"]
        max_tf = t_film[0]
        for j in range(1, n):
            max_tf = ops.maximum(max_tf, t_film[j])
        crit_max = a["crit"][0]
        for j in range(1, n):
            crit_max = ops.maximum(crit_max, a["crit"][j])
        heater_total = ops.sum(a["heat"])
        fan_total = ops.sum(a["fan_power"])
        scalars = [
            a["coat_weight_die"],
            a["wet_thickness"],
            a["h_min"],
            a["wet_thickness"] / a["h_min"],
            a["viscosity"],
            a["solids"],
            bld.room_rh_frac(ops, a["w_room"], bu),
            a["m_a"][last],
            a["content"][last],
            max_tf,
            t_film[last],
            crit_max,
            heater_total,
            fan_total,
            heater_total + fan_total + a["recovery_power"],
            ops.sum(a["evap_zone"]),
            # the mean drying rate over the film inside the critical stage (cells weighted by how far
            # their content lies in it), against its limit: a length average, so it converges with
            # the grid, where the peak over cells (critical_rate_ratio) grows as the cells shrink
            ops.sum(a["crit"]) / ops.maximum(ops.sum(a["crit_weight"]), 1e-6),
            a["recovery_power"],
            ops.sum(a["makeup_heat"]),
        ]
        return ops.concat(
            [
                ops.concat(scalars),
                a["lel_frac"],
                a["p_zone"],
                a["conc"] / a["rho_air"],
                a["t_air"],
                a["noz"],
                a["heat"],
                a["fan_power"],
                ops.segment_max(t_film, L.n_zones, c),
                ops.take(t_film, zone_last),
                ops.take(a["content"], zone_last),
                t_film,
                a["crit"],
            ]
        )

    # ------------------------------------------------------------------
    def balances(self, x: np.ndarray, u: np.ndarray, d: np.ndarray) -> dict[str, float]:
        """Mass and energy flows of the dryer at a state (NumPy), for balance checks.

        All in kg/s or W for the coated width. At a steady state
        ``solvent_in = solvent_evaporated + solvent_out`` and
        ``heat_to_web = web_enthalpy_out - web_enthalpy_in + latent_and_vapour``.
        """
        ops = ops_by_name("numpy")
        a = self._algebra(ops, np.asarray(x, float), np.asarray(u, float), np.asarray(d, float))
        L = self.layout
        co, so, bu = self.params.coater, self.params.solvent, self.params.building
        w = co.width_m
        area_cell = w * self.cell_length_m
        sides = float(co.sides)
        v = float(a["v_pos"])
        last = L.n_cells - 1
        latent = sides * a["evap"] * (so.dh_vap_J_kg + so.cp_liquid_J_kgK * (a["t_film"] - bu.room_temp_K))
        return {
            "solvent_in_kg_s": float(a["flux_solv"] * a["stop_gate"] * w),
            "solvent_out_kg_s": float(v * a["s_load"][last] * w),
            "solvent_evaporated_kg_s": float(np.sum(a["evap_zone"])),
            "dry_in_kg_s": float(a["flux_dry"] * a["stop_gate"] * w),
            "dry_out_kg_s": float(v * a["m_a"][last] * w),
            "heat_to_web_W": float(np.sum(a["q_conv"]) * area_cell),
            "web_enthalpy_out_W": float(v * a["enth"][last] * w),
            "web_enthalpy_in_W": 0.0,
            "latent_and_vapour_W": float(np.sum(latent) * area_cell),
            "heater_delivered_W": float(np.sum(a["delivered_heat"])),
            "heater_input_W": float(np.sum(a["heat"])),
            "fan_power_W": float(np.sum(a["fan_power"])),
            "makeup_heat_W": float(np.sum(a["makeup_heat"])),
            "wall_loss_W": float(np.sum(a["wall_loss"])),
        }

    # ------------------------------------------------------------------
    def casadi_functions(self) -> tuple[Any, Any]:
        """``(f, g)``: CasADi ``Function`` objects ``f(x,u,d) -> dx/dt``, ``g(x,u,d) -> y`` (built once per model;
        CasADi functions are immutable)."""
        cached = self.__dict__.get("_casadi_fg")
        if cached is None:
            cached = self.__dict__["_casadi_fg"] = self._build_casadi_functions()
        return cached

    def _build_casadi_functions(self) -> tuple[Any, Any]:
        import casadi as ca

        ops = ops_by_name("casadi")
        L = self.layout
        x = ca.SX.sym("x", L.n_states)
        u = ca.SX.sym("u", L.n_inputs)
        d = ca.SX.sym("d", L.n_disturbances)
        f = ca.Function("line_rhs", [x, u, d], [self.rhs(ops, x, u, d)], ["x", "u", "d"], ["xdot"])
        g = ca.Function("line_out", [x, u, d], [self.outputs(ops, x, u, d)], ["x", "u", "d"], ["y"])
        return f, g

    def jax_functions(self) -> tuple[Any, Any]:
        """``(f, g)``: pure JAX functions ``f(x,u,d) -> dx/dt``, ``g(x,u,d) -> y`` (jit/vmap-able)."""
        ops = ops_by_name("jax")

        def f(x: Any, u: Any, d: Any) -> Any:
            return self.rhs(ops, x, u, d)

        def g(x: Any, u: Any, d: Any) -> Any:
            return self.outputs(ops, x, u, d)

        return f, g

    def numpy_functions(self) -> tuple[Any, Any]:
        """``(f, g)`` evaluated with NumPy (slow; for reports and checks)."""
        ops = ops_by_name("numpy")
        return (
            lambda x, u, d: self.rhs(ops, np.asarray(x, float), np.asarray(u, float), np.asarray(d, float)),
            lambda x, u, d: self.outputs(ops, np.asarray(x, float), np.asarray(u, float), np.asarray(d, float)),
        )
