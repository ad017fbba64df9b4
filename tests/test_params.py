"""Bad input gets a clear error naming the field, the value and the expected range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plants.params import ParameterError, params_from_dict, params_to_dict
from plants.presets import get_preset, preset_names
from plants.steady import OperatingPoint


def test_presets_are_complete_with_sources() -> None:
    for name in preset_names():
        p = get_preset(name)
        d = params_to_dict(p)
        for group in ("solvent", "coater", "dryer", "building"):
            for key in d[group]:
                if key == "name":
                    continue
                assert f"{group}.{key}" in p.sources, f"{name}: {group}.{key} has no source or 'assumption'"
        # round trip
        assert params_from_dict(d) == p


def _dict(name: str = "nmc_nmp") -> dict:
    return params_to_dict(get_preset(name))


def test_missing_field_is_named() -> None:
    d = _dict()
    del d["dryer"]["zone_length_m"]
    with pytest.raises(ParameterError, match=r"params.toml: missing parameter\(s\) dryer.zone_length_m"):
        params_from_dict(d, source="params.toml")


def test_unknown_field_is_named() -> None:
    d = _dict()
    d["coater"]["widht_m"] = 1.0
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) coater.widht_m"):
        params_from_dict(d, source="params.toml")


def test_nan_is_rejected() -> None:
    d = _dict()
    d["coater"]["die_gap_m"] = math.nan
    with pytest.raises(ParameterError, match=r"coater.die_gap_m = nan"):
        params_from_dict(d)


def test_solids_fraction_at_one_is_rejected() -> None:
    with pytest.raises(ParameterError, match=r"coater.solids_frac_nominal = 1.0 1 is outside the plausible range \[0.2, 0.9\]"):
        get_preset("nmc_nmp").replace(coater={"solids_frac_nominal": 1.0})


def test_celsius_where_kelvin_expected_gets_a_hint() -> None:
    with pytest.raises(ParameterError, match=r"building.room_temp_K = 22.0 K .*looks like degC"):
        get_preset("nmc_nmp").replace(building={"room_temp_K": 22.0})
    with pytest.raises(ParameterError, match=r"air_temp_K = 95.0.*looks like degC"):
        OperatingPoint(speed_m_s=0.5, coat_weight_kg_m2=0.2, air_temp_K=(95.0,) * 4,
                       nozzle_velocity_m_s=(20.0,) * 4, exhaust_m3_s=(1.0,) * 4)


def test_negative_speed_is_rejected() -> None:
    with pytest.raises(ParameterError, match=r"speed_m_s = -0.5"):
        OperatingPoint(speed_m_s=-0.5, coat_weight_kg_m2=0.2, air_temp_K=(350.0,) * 4,
                       nozzle_velocity_m_s=(20.0,) * 4, exhaust_m3_s=(1.0,) * 4)


def test_wrong_type_and_unknown_group() -> None:
    with pytest.raises(ParameterError, match=r"dryer.n_zones = 2.5: expected an integer"):
        get_preset("nmc_nmp").replace(dryer={"n_zones": 2.5})
    with pytest.raises(ParameterError, match=r"unknown parameter group 'oven'"):
        get_preset("nmc_nmp").replace(oven={"x": 1})
    with pytest.raises(ParameterError, match=r"dryer.heater_max_W = 'big'"):
        get_preset("nmc_nmp").replace(dryer={"heater_max_W": "big"})


def test_unknown_preset_lists_known() -> None:
    with pytest.raises(ParameterError, match=r"unknown preset 'nmc'; known presets: graphite_water, nmc_nmp"):
        get_preset("nmc")


def test_equilibrium_above_critical_rejected() -> None:
    msg = r"equilibrium_content_kg_kg \+ dryer.sorption_slope_kg_kg = 0.05 .* must be below"
    with pytest.raises(ParameterError, match=msg):
        get_preset("nmc_nmp").replace(dryer={"equilibrium_content_kg_kg": 0.04, "critical_content_kg_kg": 0.03})
    # the equilibrium content in saturated air counts, not only the dry-air one
    with pytest.raises(ParameterError, match=r"= 0.201 \(the equilibrium content in saturated air\)"):
        get_preset("nmc_nmp").replace(dryer={"equilibrium_content_kg_kg": 0.001, "sorption_slope_kg_kg": 0.2})
    # and below the lowest critical content the along-web variation reaches (0.75 x 0.06 = 0.045)
    with pytest.raises(ParameterError, match=r"must be below 0.75 x dryer.critical_content_kg_kg = 0.045"):
        get_preset("nmc_nmp").replace(dryer={"equilibrium_content_kg_kg": 0.04, "sorption_slope_kg_kg": 0.01,
                                             "critical_content_kg_kg": 0.06})


def test_equilibrium_content_rises_with_relative_saturation() -> None:
    from plants.backend import ops_by_name
    from plants.dryer import equilibrium_content_kg_kg

    dr = get_preset("nmc_nmp").dryer
    ops = ops_by_name("numpy")
    x = equilibrium_content_kg_kg(ops, np.array([-0.1, 0.0, 0.02, 1.0, 3.0]), dr)
    np.testing.assert_allclose(x, dr.equilibrium_content_kg_kg + dr.sorption_slope_kg_kg * np.array([0, 0, 0.02, 1, 1]))
