"""The lmpc on the edge: its tracking OCP exported (a QP of the identified model), its Kalman filter built from
the artifact's copy of the model file, verified against the do-mpc lmpc in closed loop."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mpc.edge import read_artifact
from mpc.edge_verify import verify_artifact
from mpc.errors import CalmlineError
from mpc.export import export_controller

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
MODEL = ROOT / "scenarios" / "models" / "lmpc_nmc_nmp.json"

pytestmark = [pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine"),
              pytest.mark.xdist_group("edge_lmpc")]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edge") / "lmpc"
    export_controller(SCENARIO, "lmpc", out, cflags=("-O0",))
    return out


def test_the_lmpc_artifact_holds_its_qp_and_model_file(artifact: Path) -> None:
    files = sorted(p.name for p in artifact.iterdir())
    assert files == [".calmline-manifest.json", "calmline_qp.c", "libblasfeo.so.0", "libcalmline_edge.so",
                     "libhpipm.so", "line.json", "lmpc_model.json", "manifest.json", "manifest.sha256", "ocp.c",
                     "requirements-edge.txt"]
    man = read_artifact(artifact, "lmpc").manifest
    assert man["controller"] == "lmpc" and man["parts"] == ["ocp", "lmpc"]
    o = man["ocp"]
    assert o["discretization"] == "discrete" and o["n_colloc"] == 0 and o["linear_quadratic"] is True
    assert (o["n_horizon"], o["t_step_s"], o["n_states"], o["n_inputs"]) == (12, 20.0, 18, 10)
    assert o["qp"] == {"condense": False}
    # no hard general constraint is left (the edge QP's are soft): the pump's trim window is an input bound
    assert not any("pump_trim" in c for c in o["constraints"])
    assert (artifact / "lmpc_model.json").read_bytes() == MODEL.read_bytes()
    k = man["lmpc"]["kalman"]
    assert len(k["Q"]) == 18 + 15 and len(k["R"]) == 15
    assert "malloc" not in (artifact / "ocp.c").read_text()


def test_the_lmpc_edge_core_runs_without_casadi_or_do_mpc(artifact: Path) -> None:
    """The edge core's numerical parts, the OCP and the offset-free Kalman filter, load and solve in a fresh
    interpreter that never imports casadi or do_mpc."""
    code = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from mpc.edge import EdgeOcp, OffsetFreeKalman
        d = json.load(open({str(artifact / "lmpc_model.json")!r}))
        kf = OffsetFreeKalman(np.asarray(d["A"]), np.asarray(d["B"]), np.asarray(d["C"]), np.full(15, 1e-3))
        kf.reset(np.zeros(10), np.zeros(15))
        kf.predict(np.full(10, 0.1))
        kf.update(np.full(15, 0.05), np.ones(15, bool))
        assert np.all(np.isfinite(kf.z))
        o = EdgeOcp({str(artifact)!r})
        m = o.manifest
        lo, hi = np.asarray(m["input_lower"]), np.asarray(m["input_upper"])
        x = kf.x
        o.set_guess(x, np.zeros(10))
        r = o.solve_with(x, m["initial_parameters"], np.zeros(10), np.tile(lo, (o.N, 1)), np.tile(hi, (o.N, 1)))
        assert r.ok and r.iterations == 1 and np.all((r.u0 >= lo - 1e-9) & (r.u0 <= hi + 1e-9)), r
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("casadi", "do_mpc")))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_the_lmpc_edge_equals_the_do_mpc_lmpc_in_closed_loop(artifact: Path) -> None:
    """Fed what do-mpc's lmpc is fed at every solve, the edge's first moves are within 1e-3 of each input's range
    (measured: 6.7e-4 at most, from IPOPT's tolerance), its filter is the design machine's to the bit, and the
    edge core's own closed loop holds the issue's KPI bands; do-mpc's defaults are timed on the first solves."""
    res = verify_artifact(artifact, SCENARIO, duration_s=2400.0, default_solves=10)
    assert res["controller"] == "lmpc" and set(res["max_abs_diff"]) == {"kalman_state", "kalman_covariance"}
    assert res["estimator_max_abs_diff"] <= 1e-9
    o = res["ocp"]
    assert o["solves"] == 120 and o["tvp_pack_max_abs_diff"] == 0.0
    assert o["edge_failures"] == 0 and o["dompc_failures"] == 0
    assert o["share_within_1e-3"] >= 0.99 and res["max_rel_move_diff"] <= 1e-2, o["worst"]
    assert o["edge_iterations_mean"] == 1.0  # a QP: one iteration
    assert o["dompc_default_solves"] == 10 and np.isfinite(res["speedup_vs_default"])
    assert o["qp_memory_bytes"] <= 2 * 1024 * 1024
    d = res["kpi_diff"]
    assert abs(d["energy_rel"]) <= 0.01 and abs(d["coat_weight_cpk"]) <= 0.05 and abs(d["scrap_m"]) <= 10.0, d
    assert res["kpis"]["edge"]["time_above_lel_limit_s"] == 0.0 == res["kpis"]["dompc"]["time_above_lel_limit_s"]
    assert d["solver_failures"] == 0 and d["fallbacks"] == 0


def test_forced_failures_take_the_same_fallbacks_on_the_lmpc_edge(artifact: Path) -> None:
    res = verify_artifact(artifact, SCENARIO, duration_s=1200.0, force_failure_every=4, default_solves=0)
    d, k = res["kpi_diff"], res["kpis"]
    assert k["dompc"]["solver_failures"] >= 10 and k["dompc"]["fallbacks"] >= 10  # the hook fired
    assert d["solver_failures"] == 0 and d["fallbacks"] == 0, (k["dompc"], k["edge"])


def test_the_lmpc_edge_refuses_another_tuning_or_model(artifact: Path, tmp_path: Path) -> None:
    from mpc.runner import run_scenario

    retuned = tmp_path / "retuned.toml"
    retuned.write_text(SCENARIO.read_text().replace('name = "nmc_nmp_nominal"', 'name = "nmc_nmp_retuned"')
                       + "\n[controllers.lmpc]\nmove_weight = 0.7\nmodel_file = "
                       + json.dumps(str(MODEL)) + "\n")
    with pytest.raises(CalmlineError, match="move_weights"):
        run_scenario(retuned, f"edge:{artifact}", duration_s=60.0)
    # the scenario's model file is not the artifact's copy: refused
    other = tmp_path / "other_model.json"
    d = json.loads(MODEL.read_text())
    d["A"][0][0] *= 0.99
    other.write_text(json.dumps(d))
    moved = tmp_path / "moved.toml"
    moved.write_text(SCENARIO.read_text() + "\n[controllers.lmpc]\nmodel_file = " + json.dumps(str(other)) + "\n")
    with pytest.raises(CalmlineError, match="not the identified model the artifact"):
        run_scenario(moved, f"edge:{artifact}", duration_s=60.0)
    # nor another scenario in verify
    with pytest.raises(CalmlineError, match="not the scenario the artifact"):
        verify_artifact(artifact, moved, duration_s=60.0)


def test_cli_verify_prints_the_headline_fields_as_one_json_object(artifact: Path) -> None:
    from click.testing import CliRunner

    from mpc.cli._main import main

    res = CliRunner().invoke(main, ["edge", "verify", str(artifact), "--scenario", str(SCENARIO), "--duration", "400",
                                    "--no-edge-run", "--default-solves", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("max_rel_move_diff", "edge_median_ms", "edge_p95_ms", "edge_p99_ms", "dompc_median_ms",
                "dompc_default_median_ms", "speedup_vs_default", "kpis"):
        assert key in out, key
    assert set(out["kpis"]) == {"edge", "dompc"} and out["kpis"]["edge"] is None  # --no-edge-run
    assert out["ocp"]["dompc_default_solves"] == 3 and out["dompc_default_median_ms"] > 0


def test_edge_run_closes_the_loop_on_a_served_line_within_its_step_budget(artifact: Path, tmp_path: Path) -> None:
    """``calmline edge run`` end to end from the command line: the lmpc artifact on a served line (loopback, lockstep,
    five simulated minutes), every step answered and logged (--step-log), its step budget reported (generous here: no overrun, the OCP never
    cut short), the line's record showing the edge controller in charge and 0 s above the LEL limit."""
    from _served import serve_and_run

    out = tmp_path / "served"
    serve, ctl = serve_and_run(
        ["nmc_nmp_nominal", "--pace", "lockstep", "--duration", "300", "--out", str(out), "--json"],
        ["edge", "run", str(artifact), "--step-budget-ms", "1500", "--json", "--step-log", str(tmp_path / "steps.jsonl")])
    s_out, s_err = serve.stdout, serve.stderr
    assert ctl.returncode == 0, ctl.stderr
    summary = json.loads(ctl.stdout)
    assert summary["steps"] == 150 and summary["step_overruns"] == 0 and summary["ocp_out_of_time"] == 0, summary
    assert serve.returncode == 0, s_err
    rec = json.loads(s_out)
    assert rec["controller"] == "edge" and rec["opcua"]["answers"] == 150
    assert rec["time_above_lel_limit_s"] == 0.0 and rec["solver_failures"] == 0
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert [r["cycle"] for r in steps] == list(range(len(steps))) and len(steps) == 150
    assert all(r["overrun"] is False and r["info"]["ocp_out_of_time"] == 0.0 for r in steps)
    assert sum(r["solved"] for r in steps) >= 10 and all(r["setpoints"] for r in steps)
    assert max(r["info"]["step_time_s"] for r in steps) < 1.5
    assert not (tmp_path / ".steps.jsonl.calmline-partial").exists()  # streamed there, then moved into place

    from mpc.opcua import control_line

    with pytest.raises(CalmlineError, match=r"--step-budget-ms 2500: expected > 0 and at most the control interval "
                                            r"\(2000 ms\)"):
        control_line(SCENARIO, f"edge:{artifact}", "opc.tcp://127.0.0.1:1/x", insecure=True, step_budget_s=2.5)


def test_an_hpipm_build_of_ones_own_is_linked_copied_and_its_cpu_needs_checked(tmp_path: Path) -> None:
    """``--solver-libs``: an HPIPM and BLASFEO build laid out as an install prefix (here the CasADi wheel's own files
    in acados' layout) is found, linked and copied in under the artifact's names; the manifest records where it came
    from and what BLASFEO needs of the CPU, and an artifact that needs a feature this CPU lacks is refused before
    anything is loaded; a second build of a solver library in the same process is refused. A folder missing a file
    is named in the error."""
    import casadi as ca

    from controllers._export_ocp import blasfeo_target, hpipm_files
    from mpc.edge import ArtifactError, EdgeOcp, check_cpu, open_library

    wheel = Path(ca.__file__).parent
    prefix = tmp_path / "install"
    (prefix / "lib").mkdir(parents=True)
    for sub, pattern in (("hpipm", "hpipm_*.h"), ("blasfeo", "blasfeo_*.h")):
        inc = prefix / "include" / sub / "include"
        inc.mkdir(parents=True)
        for h in wheel.joinpath("include").glob(pattern):
            shutil.copy(h, inc / h.name)
    shutil.copy(wheel / "libhpipm.so", prefix / "lib" / "libhpipm.so")
    shutil.copy(wheel / "libblasfeo.so.0", prefix / "lib" / "libblasfeo.so")
    includes, libs, _ = hpipm_files(prefix)
    assert len(includes) == 2 and [p.name for p in libs] == ["libblasfeo.so", "libhpipm.so"]
    assert blasfeo_target(includes) == {"target": "GENERIC", "cpu_features": []}

    out = tmp_path / "art"
    man = export_controller(SCENARIO, "lmpc", out, cflags=("-O0",), solver_libs=prefix)
    assert man["ocp"]["solver"] == {"source": str(prefix.resolve()), "blasfeo_target": "GENERIC",
                                    "blasfeo_cpu_features": []}
    assert (out / "libblasfeo.so.0").read_bytes() == (wheel / "libblasfeo.so.0").read_bytes()
    art = read_artifact(out, "ocp")
    art.manifest["ocp"]["solver"]["blasfeo_cpu_features"] = ["avx2", "fma"]
    with pytest.raises(ArtifactError, match="needs the CPU features fma, which this CPU lacks"):
        check_cpu(art, have={"sse2", "avx2"})
    check_cpu(art, have={"avx2", "fma"})  # a CPU that has them

    # one build of each solver library in a process: the loader would link the first one loaded to both
    EdgeOcp(out)  # loads this build (the wheel's: the same files)
    other = read_artifact(out, "ocp")
    other.manifest["files"]["libhpipm.so"] = "0" * 64
    with pytest.raises(ArtifactError, match=r"libhpipm\.so is another build than the one this process loaded"):
        open_library(other)

    (prefix / "lib" / "libhpipm.so").unlink()
    with pytest.raises(CalmlineError, match=r"--solver-libs .*install: no libhpipm.so below it"):
        hpipm_files(prefix)
    with pytest.raises(CalmlineError, match="no such folder"):
        hpipm_files(tmp_path / "nowhere")
