"""Output safety (mpc.outputs): every writer keeps the user's files and inputs, replaces only its own.

The plant is run once (recipe, 600 s) and its charts drawn once; the CLI tests
reuse that run (``fast``) because what they test is the file handling, not the run.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _quick_charts import draw_charts_once
from click.testing import CliRunner, Result

import mpc.historian
import mpc.runner
from mpc.cli import main
from mpc.errors import CalmlineError, OutputExistsError
from mpc.harness import RunResult
from mpc.outputs import (
    MANIFEST_NAME,
    Manifest,
    OutputFile,
    OutputFolder,
    file_digest,
    write_declared_file,
)

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("outputs")

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
LOG = ROOT / "scenarios" / "data" / "logs" / "greensboro_january_nmc.csv"
MODEL = ROOT / "scenarios" / "models" / "lmpc_nmc_nmp.json"


# ------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def result() -> RunResult:
    return mpc.runner.run_scenario(NOMINAL, "recipe", duration_s=600.0)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch, result: RunResult) -> RunResult:
    """Runs, replays and charts come from one real run (drawn once per module)."""

    def run_scenario(scenario: object, controller: str, **_: object) -> RunResult:
        res = copy.deepcopy(result)
        res.kpis["controller"] = res.meta["controller"] = controller
        return res

    def replay_log(log: object, controller: str, **_: object) -> RunResult:
        return run_scenario(None, controller)

    monkeypatch.setattr(mpc.runner, "run_scenario", run_scenario)
    monkeypatch.setattr(mpc.historian, "replay_log", replay_log)
    draw_charts_once(monkeypatch)
    return result


def cli(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative POSIX name -> content), the manifest included."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def inode(p: Path) -> int:
    return os.stat(p).st_ino


def mine(folder: Path) -> dict[str, bytes]:
    """A user's files in ``folder``: one beside the outputs, one in a subfolder."""
    (folder / "notes").mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "notes" / "plan.csv").write_text("a,b\n1,2\n")
    return {"notes.txt": b"my notes\n", "notes/plan.csv": b"a,b\n1,2\n"}


def assert_kept(folder: Path, user: dict[str, bytes]) -> None:
    have = files(folder)
    for name, data in user.items():
        assert have.get(name) == data, name


def assert_manifest_matches(folder: Path, command: str) -> None:
    """The manifest lists exactly calmline's files there, each with its current size and sha256."""
    data = json.loads((folder / MANIFEST_NAME).read_text())
    assert data["format"] == "calmline-manifest/1" and data["command"] == command and data["written_utc"]
    for name, entry in data["files"].items():
        assert file_digest(folder / name) == (entry["size"], entry["sha256"]), name
        assert entry["command"] and entry["written_utc"] and entry["scope"] in ("folder", "file")


RUN_FILES = {"kpis.json", "timeseries.parquet", "report.html", "coat_weight_spc.png"}


# ------------------------------------------------------------------ the module itself


def test_folder_rules_on_the_api(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with OutputFolder(root, ["a.txt", "sub/b.txt", "c.png"]) as out:
        out.write_text("a.txt", "1")
        out.sub("sub").write_text("b.txt", "2")
        out.write_text("c.png", "3")
    assert set(files(root)) == {"a.txt", "sub/b.txt", "c.png", MANIFEST_NAME}
    assert_manifest_matches(root, "calmline Python API")
    user = mine(root)
    with pytest.raises(OutputExistsError, match=r"already holds 5 file\(s\) \(notes.txt, notes/plan.csv, a.txt, c"):
        OutputFolder(root, ["a.txt"])
    # --force: a.txt replaced, c.png and sub/b.txt not written again: removed (sub/ with them)
    with OutputFolder(root, ["a.txt", "c.png"], force=True) as out:
        out.write_text("a.txt", "new")
    assert set(files(root)) == {"a.txt", MANIFEST_NAME, *user} and not (root / "sub").exists()
    assert (root / "a.txt").read_text() == "new"
    assert_kept(root, user)
    assert set(json.loads((root / MANIFEST_NAME).read_text())["files"]) == {"a.txt"}
    # a planned name that is the user's: refused, nothing written
    with pytest.raises(OutputExistsError, match=r"notes\.txt would be replaced but calmline did not write it"):
        OutputFolder(root, ["a.txt", "notes.txt"], force=True)
    with pytest.raises(OutputExistsError, match=r"notes/plan\.csv/x cannot be written: a file or folder"):
        OutputFolder(root, ["notes/plan.csv/x"], force=True)  # a file where a folder would go
    # an edited calmline file: refused whether it would be replaced or removed
    (root / "a.txt").write_text("edited by hand")
    for names in (["a.txt"], ["z.txt"]):
        with pytest.raises(OutputExistsError, match=r"a.txt was written by calmline but changed since"):
            OutputFolder(root, names, force=True)
    assert (root / "a.txt").read_text() == "edited by hand"
    assert_kept(root, user)


def test_inputs_are_never_written_or_removed(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with OutputFolder(root, ["old.csv", "x.txt"]) as out:
        out.write_text("old.csv", "1")
        out.write_text("x.txt", "2")
    with pytest.raises(OutputExistsError, match=r"old.csv is an input of this command .*never removes"):
        OutputFolder(root, ["x.txt"], force=True, inputs=[root / "old.csv"])
    with pytest.raises(OutputExistsError, match=r"x.txt is an input of this command .*never overwrites"):
        OutputFolder(root, ["x.txt", "old.csv"], force=True, inputs=[str(root / "sub" / ".." / "x.txt")])
    with pytest.raises(OutputExistsError, match="is an input of this command"):
        OutputFolder(root / "x.txt", ["a"], inputs=[root / "x.txt"])
    link = tmp_path / "link.csv"
    link.symlink_to(root / "old.csv")
    with pytest.raises(OutputExistsError, match="never overwrites"):
        OutputFile(root / "old.csv", force=True, inputs=[link])
    assert files(root)["old.csv"] == b"1" and files(root)["x.txt"] == b"2"


def test_single_file_rules(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    OutputFile(f).write_text("1")
    assert Manifest.load(tmp_path).state("m.json") == "same"
    with pytest.raises(OutputExistsError, match=r"m.json exists; use --force"):
        OutputFile(f)
    ino = inode(f)
    OutputFile(f, force=True).write_text("2")
    assert f.read_text() == "2" and inode(f) != ino
    f.write_text("edited")
    with pytest.raises(OutputExistsError, match="changed since"):
        OutputFile(f, force=True)
    theirs = tmp_path / "theirs.json"
    theirs.write_text("x")
    with pytest.raises(OutputExistsError, match="calmline did not write it"):
        OutputFile(theirs, force=True)
    with pytest.raises(OutputExistsError, match="is a folder"):
        OutputFile(tmp_path)
    with pytest.raises(OutputExistsError, match="manifest"):
        OutputFile(tmp_path / MANIFEST_NAME)
    assert f.read_text() == "edited" and theirs.read_text() == "x"


def test_a_damaged_manifest_is_an_error_not_a_licence(tmp_path: Path) -> None:
    (tmp_path / "kpis.json").write_text("{}")
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(CalmlineError, match=r"not a readable calmline manifest"):
        OutputFolder(tmp_path, ["kpis.json"], force=True)
    assert (tmp_path / "kpis.json").read_text() == "{}"


def test_declared_files_and_a_failed_writer(tmp_path: Path) -> None:
    g = tmp_path / "golden" / "case.json"
    write_declared_file(g, "1")
    write_declared_file(g, "2")
    assert g.read_text() == "2"
    with pytest.raises(OutputExistsError, match="input"):
        write_declared_file(g, "3", inputs=[g])

    def broken(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), OutputFolder(tmp_path / "o", ["a.txt"]) as out:
        out.write_with("a.txt", broken)
    assert files(tmp_path / "o") == {}  # no half file, no temporary file


# ------------------------------------------------------------------ calmline run


def test_run_manifest_and_force(tmp_path: Path, fast: RunResult) -> None:
    out = tmp_path / "run"
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out)
    assert r.exit_code == 0, r.output
    assert RUN_FILES <= set(files(out))
    assert_manifest_matches(out, "calmline run")
    listed = set(json.loads((out / MANIFEST_NAME).read_text())["files"])
    assert listed == set(files(out)) - {MANIFEST_NAME}
    user = mine(out)
    before = files(out)
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"output folder {out}" in r.output and "notes.txt" in r.output and "--force" in r.output
    assert files(out) == before
    old = inode(out / "kpis.json")
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out, "--force")
    assert r.exit_code == 0, r.output
    assert inode(out / "kpis.json") != old  # replaced
    assert_kept(out, user)
    assert_manifest_matches(out, "calmline run")


def test_run_into_an_empty_folder_and_an_edited_file(tmp_path: Path, fast: RunResult) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out)
    assert r.exit_code == 0, r.output
    (out / "kpis.json").write_text('{"mine": true}\n')
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out, "--force")
    assert r.exit_code == 2 and "kpis.json was written by calmline but changed since" in r.output
    assert (out / "kpis.json").read_text() == '{"mine": true}\n'


def test_run_beside_the_scenario_keeps_it_and_never_writes_an_input(tmp_path: Path, fast: RunResult) -> None:
    folder = tmp_path / "sc"
    folder.mkdir()
    scen = folder / "line.toml"
    shutil.copy(NOMINAL, scen)
    text = scen.read_bytes()
    r = cli("run", scen, "--controller", "recipe", "--out", folder)
    assert r.exit_code == 2 and "--force" in r.output
    r = cli("run", scen, "--controller", "recipe", "--out", folder, "--force")
    assert r.exit_code == 0, r.output
    assert scen.read_bytes() == text and RUN_FILES <= set(files(folder))
    # --out is the scenario file; a scenario named like an output: refused, untouched
    r = cli("run", scen, "--controller", "recipe", "--out", scen)
    assert r.exit_code == 2 and scen.read_bytes() == text
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "kpis.json").write_bytes(text)
    r = cli("run", odd / "kpis.json", "--controller", "recipe", "--out", odd, "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output
    assert files(odd) == {"kpis.json": text}


def test_run_then_compare_then_run_replaces_the_folder_output_as_a_whole(tmp_path: Path, fast: RunResult) -> None:
    out = tmp_path / "o"
    assert cli("compare", NOMINAL, "--controllers", "recipe,pid", "--out", out, "--duration", 600).exit_code == 0
    user = mine(out)
    assert {"comparison.csv", "pid/kpis.json", "recipe/report.html"} <= set(files(out))
    r = cli("run", NOMINAL, "--controller", "recipe", "--out", out, "--force")
    assert r.exit_code == 0, r.output
    have = set(files(out))
    assert RUN_FILES <= have and not {"comparison.csv", "pid/kpis.json"} & have
    assert not (out / "pid").exists() and not (out / "recipe").exists()
    assert_kept(out, user)


# ------------------------------------------------------------------ calmline compare


def test_compare_force_reuse_and_duplicates(tmp_path: Path, fast: RunResult) -> None:
    out = tmp_path / "cmp"
    out.mkdir()
    r = cli("compare", NOMINAL, "--controllers", "recipe,pid", "--out", out, "--duration", 600)
    assert r.exit_code == 0, r.output
    assert {"comparison.csv", "report.html", "recipe/kpis.json", "pid/timeseries.parquet"} <= set(files(out))
    assert_manifest_matches(out, "calmline compare")
    user = mine(out)
    (out / "pid" / "my_remarks.txt").write_text("keep me")
    r = cli("compare", NOMINAL, "--controllers", "recipe,pid", "--out", out, "--duration", 600)
    assert r.exit_code == 2 and "--force" in r.output
    kept, redone = inode(out / "recipe" / "timeseries.parquet"), inode(out / "pid" / "kpis.json")
    r = cli("compare", NOMINAL, "--controllers", "recipe,pid", "--out", out, "--duration", 600, "--force", "--reuse",
            "recipe")
    assert r.exit_code == 0, r.output
    assert inode(out / "recipe" / "timeseries.parquet") == kept and inode(out / "pid" / "kpis.json") != redone
    assert_manifest_matches(out, "calmline compare")
    # pid not compared again: its files go, the user's file in its folder stays (and so the folder)
    r = cli("compare", NOMINAL, "--controllers", "recipe", "--out", out, "--force", "--duration", 600)
    assert r.exit_code == 0, r.output
    assert set(files(out / "pid")) == {"my_remarks.txt"}
    assert list(pd.read_csv(out / "comparison.csv")["controller"]) == ["recipe"]
    assert_kept(out, user)
    before = files(out)
    r = cli("compare", NOMINAL, "--controllers", "pid,recipe,pid", "--out", out, "--force")
    assert r.exit_code == 2 and "pid named more than once" in r.output and "Traceback" not in r.output
    assert files(out) == before
    (out / "comparison.csv").write_text("controller\nmine\n")
    r = cli("compare", NOMINAL, "--controllers", "recipe", "--out", out, "--force", "--duration", 600)
    assert r.exit_code == 2 and "comparison.csv was written by calmline but changed since" in r.output


# ------------------------------------------------------------------ calmline replay


def _split_log(tmp_path: Path) -> tuple[Path, Path]:
    t0 = pd.Timestamp("2024-07-01T08:00:00+02:00")
    rows = [f"{(t0 + pd.Timedelta(minutes=i)).isoformat()},{20 + 0.1 * i:.1f},{50 + i},65.0,30"
            for i in range(50) if not 15 <= i < 25]
    log = tmp_path / "gap.csv"
    log.write_text("timestamp,ambient_temp_C,ambient_rh_pct,slurry_solids_wt_pct,speed_request_m_min\n"
                   + "\n".join(rows) + "\n")
    mapping = tmp_path / "split.toml"
    mapping.write_text('[gaps]\non_long_gap = "split"\nmin_segment_s = 600.0\n')
    return log, mapping


def test_replay_segments_force_and_inputs(tmp_path: Path, fast: RunResult) -> None:
    log, mapping = _split_log(tmp_path)
    out = tmp_path / "rp"
    r = cli("replay", log, "--mapping", mapping, "--controller", "recipe", "--out", out)
    assert r.exit_code == 0, r.output
    assert {"seg1/kpis.json", "seg2/report.html"} <= set(files(out))
    assert_manifest_matches(out, "calmline replay")
    user = mine(out)
    r = cli("replay", log, "--mapping", mapping, "--controller", "recipe", "--out", out)
    assert r.exit_code == 2 and "--force" in r.output
    # the same folder, now a log that does not split: the segments go, the user's files stay
    r = cli("replay", LOG, "--controller", "recipe", "--window", "600", "--out", out, "--force")
    assert r.exit_code == 0, r.output
    assert RUN_FILES <= set(files(out)) and not (out / "seg1").exists() and not (out / "seg2").exists()
    assert_kept(out, user)
    # the mapping or log inside the output folder, named like an output: refused, untouched
    shutil.copy(mapping, out / "report.html")
    r = cli("replay", log, "--mapping", out / "report.html", "--controller", "recipe", "--out", out, "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output
    assert (out / "report.html").read_bytes() == mapping.read_bytes()


# ------------------------------------------------------------------ step tests, identification, lmpc


def test_steptest_design_and_run(tmp_path: Path) -> None:
    sched = tmp_path / "sched.csv"
    design = ["steptest", "design", NOMINAL, "--inputs", "speed_m_s", "--duration", "300", "--min-switch", "20",
              "--out", sched]
    assert cli(*design).exit_code == 0
    first = sched.read_bytes()
    r = cli(*design)
    assert r.exit_code == 2 and "exists; use --force" in r.output
    assert cli(*design, "--force").exit_code == 0 and sched.read_bytes() == first
    sched.write_text(sched.read_text() + "\n")
    r = cli(*design, "--force")
    assert r.exit_code == 2 and "changed since" in r.output
    r = cli("steptest", "design", NOMINAL, "--inputs", "speed_m_s", "--duration", "300", "--out", NOMINAL, "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output
    shutil.copy(sched, tmp_path / "s.csv")

    out = tmp_path / "st"
    out.mkdir()
    r = cli("steptest", "run", NOMINAL, tmp_path / "s.csv", "--out", out)
    assert r.exit_code == 0, r.output
    user = mine(out)
    r = cli("steptest", "run", NOMINAL, tmp_path / "s.csv", "--out", out)
    assert r.exit_code == 2 and "--force" in r.output
    old = inode(out / "timeseries.parquet")
    r = cli("steptest", "run", NOMINAL, tmp_path / "s.csv", "--out", out, "--force")
    assert r.exit_code == 0 and inode(out / "timeseries.parquet") != old
    assert_kept(out, user)
    shutil.copy(tmp_path / "s.csv", out / "kpis.json")
    r = cli("steptest", "run", NOMINAL, out / "kpis.json", "--out", out, "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output


def test_identify_save(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal(400)
    y = np.convolve(u, [0.0, 0.5, 0.25], mode="full")[:400] + 0.01 * rng.standard_normal(400)
    data = tmp_path / "d.csv"
    pd.DataFrame({"u": u, "y": y}).to_csv(data, index=False)
    args = ["identify", data, "--inputs", "u", "--outputs", "y", "--estimate", "0:300", "--validate", "300:400",
            "--method", "arx", "--arx-orders", "2,2,1"]
    save = tmp_path / "model.json"
    assert cli(*args, "--save", save).exit_code == 0
    r = cli(*args, "--save", save)
    assert r.exit_code == 2 and "exists; use --force" in r.output
    assert cli(*args, "--save", save, "--force").exit_code == 0
    r = cli(*args, "--save", data, "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output
    assert cli(*args, "--force").exit_code == 2  # --force without --save
    theirs = tmp_path / "theirs.json"
    theirs.write_text("{}")
    r = cli(*args, "--save", theirs, "--force")
    assert r.exit_code == 2 and "calmline did not write it" in r.output and theirs.read_text() == "{}"


def test_lmpc_identify_out_and_save_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mpc.campaign
    from controllers.lmpc import load_model_file

    ts = pd.DataFrame({"speed_m_s": [0.5, 0.5]}, index=pd.Index([2.0, 4.0], name="time_s"))
    monkeypatch.setattr(mpc.campaign, "identify_line", lambda setup, **kw: (load_model_file(MODEL), ts))
    out, logdir = tmp_path / "m.json", tmp_path / "log"
    args = ["lmpc", "identify", NOMINAL, "--out", out, "--save-log", logdir]
    assert cli(*args).exit_code == 0
    assert set(files(logdir)) == {"timeseries.parquet", MANIFEST_NAME}
    assert load_model_file(out).n_states == load_model_file(MODEL).n_states
    user = mine(logdir)
    r = cli(*args)
    assert r.exit_code == 2 and "exists; use --force" in r.output
    old = inode(out)
    assert cli(*args, "--force").exit_code == 0 and inode(out) != old
    assert_kept(logdir, user)
    r = cli("lmpc", "identify", NOMINAL, "--log", logdir / "timeseries.parquet", "--out",
            logdir / "timeseries.parquet", "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output
    r = cli("lmpc", "identify", NOMINAL, "--log", logdir / "timeseries.parquet", "--out", out, "--save-log", logdir)
    assert r.exit_code == 2 and "--save-log" in r.output


def test_calibrate_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mpc.calibrate
    from mpc.calibrate._params import ParamSpec
    from mpc.calibrate._result import CalibrationResult
    from plants import load_params_file
    from plants.presets import get_preset

    spec = ParamSpec("dryer.heat_transfer_multiplier", "dryer", "heat_transfer_multiplier", "1", 1.0, 0.5, 1.5, "")
    one = np.ones((1, 1))
    fake = CalibrationResult([spec], np.array([0.93]), np.array([0.01]), np.array([[0.91, 0.95]]), one, one * 1e-4,
                             2.0, {}, {}, 2.0, 1.0, 1.0, 100, 99, True, "Solve_Succeeded", 5, 1.0, 1.0,
                             {"preset": "nmc_nmp"})
    monkeypatch.setattr(mpc.calibrate, "calibrate", lambda *a, **kw: fake)
    out = tmp_path / "params.toml"
    args = ["calibrate", LOG, "--scenario", NOMINAL, "--params", "dryer.heat_transfer_multiplier", "--out", out]
    assert cli(*args).exit_code == 0
    assert load_params_file(out, get_preset("nmc_nmp")).dryer.heat_transfer_multiplier == pytest.approx(0.93)
    r = cli(*args)
    assert r.exit_code == 2 and "exists; use --force" in r.output
    assert cli(*args, "--force").exit_code == 0
    out.write_text(out.read_text() + "# tuned by hand\n")
    r = cli(*args, "--force")
    assert r.exit_code == 2 and "changed since" in r.output and out.read_text().endswith("# tuned by hand\n")
    scen = tmp_path / "s.toml"
    shutil.copy(NOMINAL, scen)
    r = cli("calibrate", LOG, "--scenario", scen, "--params", "dryer.heat_transfer_multiplier", "--out", scen,
            "--force")
    assert r.exit_code == 2 and "is an input of this command" in r.output


def test_plant_simulate_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import plants.openloop
    from plants.openloop import simulate_recipe

    run = simulate_recipe("nmc_nmp", duration_s=120.0, solids_step_frac=0.01)
    monkeypatch.setattr(plants.openloop, "simulate_recipe", lambda *a, **kw: run)
    out = tmp_path / "ol.parquet"
    assert cli("plant", "simulate", "--out", out).exit_code == 0
    assert len(pd.read_parquet(out)) == len(run.timeseries)
    r = cli("plant", "simulate", "--out", out)
    assert r.exit_code == 2 and "exists; use --force" in r.output
    assert cli("plant", "simulate", "--out", out, "--force").exit_code == 0
    assert cli("plant", "simulate", "--force").exit_code == 2  # --force without --out


def test_report_writers_keep_the_run_files_beside_them(tmp_path: Path, result: RunResult) -> None:
    from mpc.report import write_run_report

    out = tmp_path / "r"
    mpc.runner.save_run(result, out)
    user = mine(out)
    before = files(out)
    with pytest.raises(OutputExistsError, match="--force"):
        write_run_report(out, result.timeseries, result.kpis, {})
    assert files(out) == before
    write_run_report(out, result.timeseries, result.kpis, {}, overwrite=True)
    have = files(out)
    assert have["kpis.json"] == before["kpis.json"] and have["timeseries.parquet"] == before["timeseries.parquet"]
    assert have["report.html"] != before["report.html"]
    assert_kept(out, user)
    assert_manifest_matches(out, "calmline Python API")


def test_regress_update_never_writes_an_input(tmp_path: Path) -> None:
    from mpc.regress import load_suite
    from mpc.regress._golden import write_golden
    from mpc.regress._run import _suite_inputs

    golden = tmp_path / "golden"
    golden.mkdir()
    base = golden / "jan_recipe.json"  # a scenario (TOML) where the case's golden file goes
    shutil.copy(NOMINAL, base)
    text = base.read_bytes()
    suite = tmp_path / "suite.toml"
    suite.write_text(f"""
golden_dir = "golden"
[tolerances]
scrap_m = {{ abs = 10.0 }}
[[cases]]
name = "jan_recipe"
log = "{LOG.as_posix()}"
base = "golden/jan_recipe.json"
controller = "recipe"
""")
    s = load_suite(suite)
    assert s.golden_path(s.cases[0]) == base.resolve()
    with pytest.raises(OutputExistsError, match="is an input of this command"):
        write_golden(s.golden_path(s.cases[0]), {"kpis": {}}, _suite_inputs(s))
    assert base.read_bytes() == text
    assert write_golden(golden / "other.json", {"kpis": {"scrap_m": 1.0}}, _suite_inputs(s)).startswith("---")
