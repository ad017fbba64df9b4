"""The identified-model MPC: model file, offset-free estimator, identification pieces, short closed loops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _closed_loop import max_lel, short_setup

from controllers.lmpc import LmpcController, LmpcSettings, load_model_file
from controllers.lmpc._identify import _miso_arx
from mpc.edge import OffsetFreeKalman, augmented_rank
from mpc.harness import run_closed_loop

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "scenarios" / "models"


@pytest.mark.parametrize("preset", ["nmc_nmp", "graphite_water"])
def test_shipped_models_are_stable_and_offset_free_detectable(preset: str) -> None:
    mdl = load_model_file(MODELS / f"lmpc_{preset}.json")
    assert np.max(np.abs(np.linalg.eigvals(mdl.A))) < 1.0
    rank, need = augmented_rank(mdl.A, mdl.C)
    assert rank == need == mdl.n_states + len(mdl.output_names)
    assert mdl.preset == preset and mdl.dt_s == 20.0
    # every output was validated on rows the identification never used
    assert set(mdl.fit_percent) == set(mdl.output_names)


def test_integrator_makes_the_augmented_model_undetectable() -> None:
    A = np.array([[1.0, 0.0], [0.0, 0.5]])
    C = np.eye(2)
    assert augmented_rank(A, C) == (3, 4)
    with pytest.raises(ValueError, match="not detectable"):
        OffsetFreeKalman(A, np.ones((2, 1)), C, np.ones(2))


def test_kalman_filter_removes_a_constant_output_offset() -> None:
    """Plant = model + a step in an unmeasured output disturbance: the filtered outputs converge to the readings."""
    rng = np.random.default_rng(0)
    A = np.array([[0.8, 0.1], [0.0, 0.6]])
    B = np.array([[1.0], [0.5]])
    C = np.array([[1.0, 0.0], [0.3, 1.0]])
    kf = OffsetFreeKalman(A, B, C, np.full(2, 1e-4), q_x=1e-4, q_d=1e-3)
    kf.reset(np.zeros(1), np.zeros(2))
    x = np.zeros(2)
    offset = np.array([0.5, -0.2])
    for k in range(200):
        u = np.array([np.sin(0.1 * k)])
        y = C @ x + offset + 1e-3 * rng.standard_normal(2)
        # the second output is missing every other step (a stale analyser)
        kf.update(y, np.array([True, k % 2 == 0]))
        kf.predict(u)
        x = A @ x + B @ u
    assert np.allclose(kf.d, offset, atol=0.02)


def test_miso_arx_finds_the_transport_delay() -> None:
    rng = np.random.default_rng(1)
    n = 900
    u = np.repeat(rng.choice([-1.0, 1.0], size=(n // 10, 2)), 10, axis=0)
    y = np.zeros(n)
    for k in range(7, n):
        y[k] = 0.6 * y[k - 1] + 0.4 * u[k - 6, 0] - 0.3 * u[k - 6, 1]
    y += 0.02 * rng.standard_normal(n)
    model, info = _miso_arx(y, u, 700, 20.0, range(1, 10))
    # nk <= 6 <= nk + nb - 1: the structure spans the true delay, and the leading coefficients vanish
    assert info["nk"] <= 6 <= info["nk"] + info["nb"] - 1
    step = model.simulate(np.c_[np.ones(12), np.zeros(12)])[:, 0]
    assert np.all(np.abs(step[:6]) < 0.03) and step[6] > 0.3
    gain = model.C @ np.linalg.solve(np.eye(model.A.shape[0]) - model.A, model.B)
    assert np.allclose(gain.ravel(), [1.0, -0.75], atol=0.05)


def _mutate(tmp_path: Path, **changes: object) -> Path:
    d = json.loads((MODELS / "lmpc_nmc_nmp.json").read_text())
    d.update(changes)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(d))
    return p


def test_model_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"not found \(make one with: calmline lmpc identify"):
        load_model_file(tmp_path / "nope.json")
    with pytest.raises(ValueError, match=r"m.json: field 'B' has shape"):
        load_model_file(_mutate(tmp_path, B=[[1.0]]))
    with pytest.raises(ValueError, match=r"field 'format'"):
        load_model_file(_mutate(tmp_path, format="other"))
    with pytest.raises(ValueError, match=r"field 'y_scale' has non-positive"):
        d = json.loads((MODELS / "lmpc_nmc_nmp.json").read_text())
        load_model_file(_mutate(tmp_path, y_scale=[0.0] * len(d["y_scale"])))


def test_unknown_or_mistyped_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"\[controllers.lmpc\]: unknown setting 'horizon'"):
        LmpcSettings.from_mapping({"horizon": 3}, where="[controllers.lmpc]")
    with pytest.raises(ValueError, match=r"n_horizon = 'many': expected an integer >= 1"):
        LmpcSettings.from_mapping({"n_horizon": "many"}, where="[controllers.lmpc]")


def test_lmpc_closed_loop_saves_energy_within_limits_and_holds_nozzles() -> None:
    setup = short_setup("nmc_nmp_nominal.toml", 1200.0)
    mdl = load_model_file(MODELS / "lmpc_nmc_nmp.json")
    ctrl = LmpcController(model=mdl)
    ts = run_closed_loop(setup, ctrl).timeseries
    # the line speed is written as a ramp the ratio station's pump can follow, one control interval at a time
    remote = ts["line_speed_mode"].to_numpy() == 1
    dv = np.abs(np.diff(ts["line_speed_setpoint_m_s"].to_numpy()))[remote[1:] & remote[:-1]]
    assert dv.size > 0 and dv.max() > 0 and dv.max() <= ctrl.speed_step_m_s * (1 + 1e-9)
    # it solves once per model step (every 10 control intervals), and says so
    at = np.flatnonzero(ts["solved"].to_numpy() == 1)
    assert at.size >= len(ts) // 10 - 1 and np.all(np.diff(at) % 10 == 0)
    assert np.all(max_lel(ts) <= ts["lel_limit_frac"].to_numpy())
    assert ts["solver_failure"].sum() == 0
    assert ts["dryer_power_W"].iloc[-50:].mean() < 0.9 * ts["dryer_power_W"].iloc[0]
    # heaters and exhausts stay inside the model's trust region around the step test's operating point
    s = LmpcSettings()
    for j, name in enumerate(mdl.input_names):
        if name.endswith("_exhaust_flow_m3_s"):  # the exhaust-flow loops' set points
            v = ts[name.replace("_flow_m3_s", "_setpoint_m3_s")].to_numpy()
            assert np.all(v >= mdl.u0[j] * (1 - s.trust_rel) - 1e-6)
            assert np.all(v <= mdl.u0[j] * (1 + s.trust_rel) + 1e-6)
    nozzles = ts[[c for c in ts.columns if c.startswith("zone") and c.endswith("_fan_speed_setpoint_m_s")]]
    assert np.ptp(nozzles.to_numpy(), axis=0).max() < 1e-9
    cw = ts["coat_weight_die_kg_m2"].iloc[-100:].mean()
    assert abs(cw / 0.2 - 1) < 0.01


def test_forced_failures_fall_back_within_move_limits() -> None:
    setup = short_setup("nmc_nmp_nominal.toml", 600.0)
    ctrl = LmpcController(model=load_model_file(MODELS / "lmpc_nmc_nmp.json"), force_failure_every=2)
    ts = run_closed_loop(setup, ctrl).timeseries
    assert ts["solver_failure"].sum() > 0 and ts["fallback"].sum() == ts["solver_failure"].sum()
    direct = [lp for lp in setup.plc_loops() if lp.kind == "direct"]  # speed, fans, exhausts: set point = output
    rate = np.array([lp.output_rate_per_s for lp in direct])
    cmd = ts[[lp.setpoint_key for lp in direct]].to_numpy()
    step = np.abs(np.diff(cmd, axis=0)).max(axis=0)
    assert np.all(step <= rate * 20.0 * 1.0001 + 1e-12)
    assert np.all(max_lel(ts) <= ts["lel_limit_frac"].to_numpy())


def test_model_of_the_wrong_preset_is_refused() -> None:
    setup = short_setup("graphite_water_nominal.toml", 60.0)
    with pytest.raises(ValueError, match="identified on preset 'nmc_nmp'"):
        run_closed_loop(setup, LmpcController(model=load_model_file(MODELS / "lmpc_nmc_nmp.json")))



def test_the_pump_window_follows_the_lot_not_the_plans_own_moves() -> None:
    """The lot's pump-to-speed ratio: target over measured coat weight times the ratio applied one gauge
    transport time earlier, filtered, within [0.8, 1.25] of the step test's."""
    setup = short_setup("nmc_nmp_nominal.toml", 60.0)
    mdl = load_model_file(MODELS / "lmpc_nmc_nmp.json")
    ctrl = LmpcController(model=mdl)
    run_closed_loop(setup, ctrl)
    r, base = ctrl.r, float(mdl.pump_per_speed)
    target = ctrl.ctx.spec.coat_weight_target_kg_m2
    lag = round(setup.model_params.coater.coater_to_gauge_m / 0.5 / mdl.dt_s)
    assert lag >= 1

    def feed(ratio_of_k, cw_of_k, n=300):
        ctrl.lot_ratio = None
        ctrl.ratio_history.clear()
        u = np.array(mdl.u0, float)
        u[r.speed] = 0.5
        for k in range(n):
            u[r.ratio] = ratio_of_k(k)
            ctrl._learn_lot(cw_of_k(k), u)
        return ctrl.lot_ratio

    # a lot 10 % heavier at the step test's ratio: the window moves to 1/1.1 of it
    assert feed(lambda k: base, lambda k: 1.1 * target) == pytest.approx(base / 1.1, rel=1e-3)
    # the plan cuts the ratio by 4 %; the gauge sees it one transport time later: no lot change, no move
    got = feed(lambda k: base * (0.96 if k >= 50 else 1.0),
               lambda k: target * (0.96 if k - lag >= 50 else 1.0), n=50 + lag + 2)
    assert got == pytest.approx(base, rel=1e-9)
    # a reading far off is held within [0.8, 1.25] of the step test's ratio
    assert feed(lambda k: base, lambda k: 2.0 * target) == pytest.approx(0.8 * base)


def test_shipped_models_move_the_plcs_set_points_and_see_the_heaters_as_outputs() -> None:
    """The lmpc is identified on the PLC's air-temperature and pump-ratio set points (the loops' dynamics are in
    its model); the loops' heater powers are outputs, and in closed loop the loops run in remote mode, never in
    manual."""
    for preset in ("nmc_nmp", "graphite_water"):
        mdl = load_model_file(MODELS / f"lmpc_{preset}.json")
        assert [n for n in mdl.input_names if "air_temp" in n] == [f"zone{i}_air_temp_setpoint_K" for i in range(1, 5)]
        assert "pump_ratio_setpoint_m3_m" in mdl.input_names and "pump_flow_cmd_m3_s" not in mdl.input_names
        assert not any("heater" in n for n in mdl.input_names)
        assert [n for n in mdl.output_names if "heater" in n] == [f"zone{i}_heater_power_cmd_W" for i in range(1, 5)]
    setup = short_setup("graphite_water_nominal.toml", 400.0)
    ts = run_closed_loop(setup, LmpcController(model=load_model_file(MODELS / "lmpc_graphite_water.json"))).timeseries
    modes = ts[[f"zone{i}_air_temp_mode" for i in range(1, 5)]].to_numpy()
    assert np.all(modes[5:] == 1)
    # its set-point move limit, per 20 s model step (at 1 K/s zone 1's set point moved 13 K in 40 s and its LEL went over the limit)
    sp = ts["zone2_air_temp_setpoint_K"].to_numpy()
    assert np.abs(sp[10:] - sp[:-10]).max() <= 2 * LmpcSettings().setpoint_rate_K_s * 20.0 + 1e-9


def test_a_model_identified_on_heater_power_is_refused(tmp_path: Path) -> None:
    data = json.loads((MODELS / "lmpc_nmc_nmp.json").read_text())
    data["input_names"] = [n.replace("_air_temp_setpoint_K", "_heater_power_cmd_W") for n in data["input_names"]]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    setup = short_setup("nmc_nmp_nominal.toml", 60.0)
    with pytest.raises(ValueError, match=r"identified on zone1_heater_power_cmd_W, .*identify it again"):
        run_closed_loop(setup, LmpcController(model=load_model_file(path)))
