"""A user's mistakes, as a table: each input, what calmline answers, and its exit code.

Every row runs the real command line. ``python tests/test_bad_inputs.py`` prints the table
(input, first line of the answer, exit code) for the docs and the release notes.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _quick_charts import draw_charts_once  # noqa: E402

from mpc.cli import main  # noqa: E402

NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"
LOG = ROOT / "scenarios" / "data" / "logs" / "greensboro_january_nmc.csv"


NOZZLES = "nozzle_velocity_m_s = [18.0, 20.0, 20.0, 15.0]\n"
"""The nominal recipe's nozzle line: a listed exhaust goes after it."""


def _variant(tmp: Path, old: str, new: str, name: str = "variant.toml") -> Path:
    text = NOMINAL.read_text()
    assert old in text, old
    path = tmp / name
    path.write_text(text.replace(old, new))
    return path


def _append(tmp: Path, extra: str, name: str = "variant.toml") -> Path:
    path = tmp / name
    path.write_text(NOMINAL.read_text() + "\n" + extra + "\n")
    return path


def _user_file(tmp: Path, rel: str, text: str = "my notes") -> Path:
    p = tmp / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@dataclass
class Case:
    """One mistake: how to make its files, the command line, the exit code and what the answer must say."""

    name: str
    args: Callable[[Path], list[str]]
    code: int
    says: str = ""
    """A regular expression the output must match (stdout and stderr together)."""
    check: Callable[[Path], None] | None = None
    """After the command: what must still be there (the user's files)."""
    tags: tuple[str, ...] = field(default_factory=tuple)


def _kept(rel: str, text: str = "my notes") -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert (tmp / rel).read_text() == text, f"{rel} was changed or removed"

    return check


def _absent(rel: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert not (tmp / rel).exists(), f"{rel} was created"

    return check


def _run(*extra: str) -> list[str]:
    return ["run", str(NOMINAL), "--controller", "recipe", "--duration", "600", *extra]


CASES: list[Case] = [
    # --- output folders and files: nothing the user gave is overwritten or lost
    Case("run --force into a folder holding a user's notes.txt",
         lambda t: (_user_file(t, "out/notes.txt"), _run("--out", str(t / "out"), "--force"))[1],
         0, "wrote", _kept("out/notes.txt")),
    Case("run into a folder holding files, without --force",
         lambda t: (_user_file(t, "out/notes.txt"), _run("--out", str(t / "out")))[1],
         2, r"--force", _kept("out/notes.txt")),
    Case("run --out the scenario's own folder --force",
         lambda t: ["run", str(_variant(t, "lab_delay_s = 1200.0", "lab_delay_s = 1200.0")), "--controller", "recipe",
                    "--duration", "600", "--out", str(t), "--force"],
         0, "wrote", _kept("variant.toml", NOMINAL.read_text())),
    Case("run --out the scenario file itself",
         lambda t: ["run", str(_variant(t, "lab_delay_s", "lab_delay_s")), "--controller", "recipe", "--duration", "600",
                    "--out", str(t / "variant.toml"), "--force"],
         2, r"variant\.toml", _kept("variant.toml", NOMINAL.read_text())),
    Case("run into an existing empty folder, without --force",
         lambda t: ((t / "empty").mkdir(), _run("--out", str(t / "empty")))[1], 0, "wrote"),
    Case("identify --save over an existing file, without --force",
         lambda t: (_user_file(t, "model.json"),
                    ["identify", str(ROOT / "tests" / "data" / "daisy" / "daisy_dryer.dat"), "--inputs", "c0",
                     "--outputs", "c1", "--estimate", "0:500", "--validate", "500:", "--method", "arx",
                     "--save", str(t / "model.json")])[1],
         2, r"model\.json", _kept("model.json")),
    Case("lmpc identify --out over an existing file, without --force",
         lambda t: (_user_file(t, "m.json"), ["lmpc", "identify", str(NOMINAL), "--out", str(t / "m.json")])[1],
         2, r"m\.json", _kept("m.json")),
    Case("calibrate --out over an existing file, without --force",
         lambda t: (_user_file(t, "params.toml"),
                    ["calibrate", str(LOG), "--scenario", str(NOMINAL), "--params", "dryer.heat_transfer_multiplier",
                     "--out", str(t / "params.toml")])[1],
         2, r"params\.toml", _kept("params.toml")),
    Case("steptest design --out over an existing file, without --force",
         lambda t: (_user_file(t, "gbn.csv"),
                    ["steptest", "design", str(NOMINAL), "--inputs", "speed_m_s", "--out", str(t / "gbn.csv")])[1],
         2, r"gbn\.csv", _kept("gbn.csv")),
    # --- controller settings, checked like the scenario
    Case("[controllers.pid] lel_setpoint_of_limit = 5.0",
         lambda t: ["run", str(_append(t, "[controllers.pid]\nlel_setpoint_of_limit = 5.0")), "--controller", "pid",
                    "--out", str(t / "o")],
         2, r"lel_setpoint_of_limit.*5\.0", _absent("o")),
    Case("a misspelt key under [controllers.pid]",
         lambda t: ["run", str(_append(t, "[controllers.pid]\nlel_setpoint_of_limt = 0.5")), "--controller", "pid",
                    "--out", str(t / "o")],
         2, r"lel_setpoint_of_limt", _absent("o")),
    Case("an unknown controller table [controllers.nmcp]",
         lambda t: ["run", str(_append(t, "[controllers.nmcp]\nx = 1")), "--controller", "recipe", "--out", str(t / "o")],
         2, r"nmcp", _absent("o")),
    Case("an NMPC key outside its sub-table ([controllers.nmpc] lel_margin)",
         lambda t: ["run", str(_append(t, "[controllers.nmpc]\nlel_margin = 0.9")), "--controller", "nmpc",
                    "--out", str(t / "o")],
         2, r"lel_margin", _absent("o")),
    Case("a setting of the wrong type (lab_delay_s = \"soon\")",
         lambda t: ["run", str(_variant(t, "lab_delay_s = 1200.0", 'lab_delay_s = "soon"')), "--controller", "recipe",
                    "--out", str(t / "o")],
         2, r"lab_delay_s", _absent("o")),
    # --- recipe values against the actuators
    Case("a negative recipe exhaust",
         lambda t: ["run", str(_variant(t, NOZZLES, NOZZLES + "exhaust_m3_s = [2.0, -3.5, 2.5, 0.6]\n")),
                    "--controller", "recipe", "--out", str(t / "o")],
         2, r"exhaust_m3_s\[1\]", _absent("o")),
    Case("a recipe nozzle velocity of 0 m/s",
         lambda t: ["run", str(_variant(t, "nozzle_velocity_m_s = [18.0, 20.0, 20.0, 15.0]",
                                        "nozzle_velocity_m_s = [0.0, 20.0, 20.0, 15.0]")),
                    "--controller", "recipe", "--out", str(t / "o")],
         2, r"nozzle_velocity_m_s\[0\]", _absent("o")),
    Case("a recipe nozzle velocity of 1,500 m/s",
         lambda t: ["run", str(_variant(t, "nozzle_velocity_m_s = [18.0, 20.0, 20.0, 15.0]",
                                        "nozzle_velocity_m_s = [18.0, 1500.0, 20.0, 15.0]")),
                    "--controller", "recipe", "--out", str(t / "o")],
         2, r"nozzle_velocity_m_s\[1\]", _absent("o")),
    # --- exit codes
    Case("a run whose plant breaks the LEL limit (a starved exhaust)",
         lambda t: ["run", str(_variant(t, NOZZLES, NOZZLES + "exhaust_m3_s = [0.4, 0.6, 0.5, 0.2]\n")),
                    "--controller", "recipe", "--duration", "600", "--out", str(t / "o")],
         3, r"safety: \d+ s above the LEL limit"),
    Case("a run that makes no good web (a target the recipe never makes)",
         lambda t: ["run", str(_variant(t, "coat_weight_target_kg_m2 = 0.200", "coat_weight_target_kg_m2 = 0.250")),
                    "--controller", "recipe", "--duration", "600", "--out", str(t / "o")],
         3, r"no good web"),
    Case("compare with a violating controller",
         lambda t: ["compare", str(_variant(t, NOZZLES, NOZZLES + "exhaust_m3_s = [0.4, 0.6, 0.5, 0.2]\n")),
                    "--controllers", "recipe", "--duration", "600", "--out", str(t / "c")],
         0, r"recipe.*safety"),
    Case("compare --strict with a violating controller",
         lambda t: ["compare", str(_variant(t, NOZZLES, NOZZLES + "exhaust_m3_s = [0.4, 0.6, 0.5, 0.2]\n")),
                    "--controllers", "recipe", "--duration", "600", "--out", str(t / "c"), "--strict"],
         3, r"safety"),
    # --- --duration
    *[Case(f"--duration {v}", lambda t, v=v: _run(f"--duration={v}", "--out", str(t / "o")), 2, r"--duration = ",
           _absent("o")) for v in ("1e9", "-5", "nan", "0", "inf")],
    Case("compare --duration nan",
         lambda t: ["compare", str(NOMINAL), "--controllers", "recipe,pid", "--duration", "nan", "--out", str(t / "c")],
         2, r"--duration = nan", _absent("c")),
    Case("compare pid,pid", lambda t: ["compare", str(NOMINAL), "--controllers", "pid,pid", "--out", str(t / "c")],
         2, r"pid.*more than once", _absent("c")),
    Case("a run shorter than the warm-up (runs, with a warning)",
         lambda t: _run("--out", str(t / "o")), 0, r"warning: .*warm-up"),
    Case("a run that ends before a scheduled event (runs, with a warning)",
         lambda t: ["run", str(ROOT / "scenarios" / "nmc_nmp_batch_change.toml"), "--controller", "recipe",
                    "--duration", "3600", "--out", str(t / "o")],
         0, r"warning: .*batch_changes\[0\]"),
    # --- names, files and units
    Case("an unknown controller", lambda t: _run("--out", str(t / "o"), "--controller", "mpc9"), 2,
         r"'mpc9' is not one of", _absent("o")),
    Case("a scenario file that does not exist",
         lambda t: ["run", str(t / "nope.toml"), "--controller", "recipe", "--out", str(t / "o")],
         2, r"nope\.toml.*not found", _absent("o")),
    Case("a scenario that is not TOML",
         lambda t: ["run", str(_user_file(t, "bad.toml", "name = [")), "--controller", "recipe", "--out", str(t / "o")],
         2, r"not valid TOML", _absent("o")),
    Case("an unknown scenario key",
         lambda t: ["run", str(_variant(t, 'preset = "nmc_nmp"', 'preset = "nmc_nmp"\ncolour = "blue"')), "--controller",
                    "recipe", "--out", str(t / "o")],
         2, r"unknown key 'colour'", _absent("o")),
    Case("replay --speed-cap in m/min by mistake (40)",
         lambda t: ["replay", str(LOG), "--controller", "recipe", "--speed-cap", "40", "--out", str(t / "o")],
         2, r"--speed-cap", _absent("o")),
]


def _invoke(case: Case, tmp: Path):
    args = case.args(tmp)
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(autouse=True)
def _charts(monkeypatch: pytest.MonkeyPatch) -> None:
    draw_charts_once(monkeypatch)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    res = _invoke(case, tmp_path)
    out = res.output
    assert res.exit_code == case.code, f"exit {res.exit_code}, expected {case.code}: {out[-1500:]}"
    assert "Traceback" not in out, out[-2000:]
    if case.says:
        assert re.search(case.says, out, re.S), f"expected /{case.says}/ in: {out[-1500:]}"
    if case.check:
        case.check(tmp_path)


def _first_line(text: str) -> str:
    """The line that says most: an error, else a safety verdict, else what was written, else a warning."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for prefix in ("Error", "safety", "recipe: safety", "no good", "wrote", "warning"):
        hits = [ln for ln in lines if ln.startswith(prefix)]
        if hits:
            line = hits[0]
            return line if len(line) <= 160 else line[:157] + "..."
    return lines[0] if lines else ""


if __name__ == "__main__":
    print("| input | answer (first line) | exit code |")
    print("|---|---|---|")
    for case in CASES:
        with tempfile.TemporaryDirectory() as d:
            res = _invoke(case, Path(d))
        print(f"| {case.name} | {_first_line(res.output).replace('|', '/')} | {res.exit_code} |", flush=True)
