"""The README starts with the two commands a new user runs, and CI runs exactly the second one."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    """The README's indented command lines before its first rule (``---``)."""
    top = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("\n---\n", 1)[0]
    return [line.strip() for line in top.splitlines() if line.startswith("    ") and line.strip()]


def test_readme_opens_with_a_main_job_and_a_test_command() -> None:
    cmds = _commands()
    assert len(cmds) == 2, cmds
    main_job, tests = cmds
    assert main_job.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/calmline compare ")
    assert "--controllers recipe,pid,pid_opt,nmpc" in main_job
    assert "ruff check ." in tests and tests.endswith("python -m pytest -n 2")  # two worker processes
    assert "-m" not in tests.split("pytest", 1)[1]  # every test, slow ones included


def test_ci_runs_the_readme_test_command_exactly() -> None:
    ci = ROOT.joinpath(".ci", "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1].strip() == _commands()[1]


def test_the_main_job_names_a_shipped_scenario() -> None:
    from scenarios import shipped_path

    words = _commands()[0].split()
    scenario = words[words.index("compare") + 1]
    assert shipped_path(f"{scenario}.toml").is_file()
