"""Controller settings: one mechanism for every controller (``mpc/scenario/_settings.py``).

In the style of python-control's parameter checks: every field of every settings class has a
docstring and a row in ``docs/controllers.md`` (generated, and current); every field is read by its
controller; a scenario's table reaches the controller; and every bad input is refused with a message
that names the file, the table, the key, the value and what is allowed, when the scenario is loaded
(the command line exits with 2 before anything runs) and again at ``Controller.reset``.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
import typing
from pathlib import Path

import pytest
from _closed_loop import short_setup
from click.testing import CliRunner

from controllers.docs import controllers_reference_markdown
from controllers.pid import PidController
from controllers.registry import controller_names, make_controller
from mpc.harness import run_closed_loop
from mpc.scenario import (
    CONTROLLER_SETTINGS,
    EstimatorSettings,
    LmpcSettings,
    ModelSettings,
    NmpcSettings,
    OcpSettings,
    PidOptSettings,
    PidSettings,
    RecipeSettings,
    Settings,
    SettingsError,
    SupervisorSettings,
    TargetSettings,
    controller_settings,
    field_docs,
    load_scenario,
    scenario_from_dict,
    settings_tables,
)

ROOT = Path(__file__).resolve().parents[1]
NOMINAL = ROOT / "scenarios" / "nmc_nmp_nominal.toml"

# every settings class and the modules that read its fields
READERS: dict[type[Settings], list[str]] = {
    RecipeSettings: ["controllers/recipe.py"],
    PidSettings: ["controllers/pid.py"],
    PidOptSettings: ["controllers/pid_opt.py"],
    SupervisorSettings: ["mpc/edge/_supervisor.py"],
    OcpSettings: ["controllers/nmpc/_ocp.py", "controllers/nmpc/_controller.py", "controllers/nmpc/_logic.py"],
    TargetSettings: ["controllers/nmpc/_target.py", "controllers/nmpc/_supervisory.py", "controllers/nmpc/_logic.py"],
    ModelSettings: ["mpc/scenario/_nmpc_settings.py", "controllers/nmpc/_controller.py",  # apply()
                    "controllers/nmpc/_logic.py"],  # temperature_loops
    EstimatorSettings: ["controllers/nmpc/_controller.py", "controllers/nmpc/_logic.py"],
    NmpcSettings: ["controllers/nmpc/_controller.py", "controllers/nmpc/_logic.py"],
    LmpcSettings: ["controllers/lmpc/_controller.py"],
}


def _all_classes() -> set[type[Settings]]:
    return {c for cls in CONTROLLER_SETTINGS.values() for _, c in settings_tables(cls, "[x]")}


def test_every_controller_has_settings_and_every_settings_class_a_reader() -> None:
    assert list(CONTROLLER_SETTINGS) == controller_names()
    assert _all_classes() == set(READERS)


@pytest.mark.parametrize("cls", sorted(READERS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_field_has_a_docstring_a_range_and_a_unit_free_type(cls: type[Settings]) -> None:
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        assert docs[f.name], f"{cls.__name__}.{f.name} has no docstring"
        tp = hints[f.name]
        if tp in (float, int):
            b = f.metadata["bounds"]
            assert b.text(), f"{cls.__name__}.{f.name} has no allowed range"
        assert tp in (float, int, str, bool, float | None) or issubclass(tp, Settings), (cls, f.name, tp)
    cls()  # the defaults are within their ranges


@pytest.mark.parametrize("cls", sorted(READERS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_field_is_read_by_its_controller(cls: type[Settings]) -> None:
    """Each field name is read as an attribute (``settings.name``) in the modules that use the class."""
    read: set[str] = set()
    for rel in READERS[cls]:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        read |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    unread = [f.name for f in dataclasses.fields(cls) if f.name not in read]
    assert not unread, f"{cls.__name__}: never read in {READERS[cls]}: {unread}"


def test_the_docs_page_is_current_and_has_a_row_for_every_field() -> None:
    text = (ROOT / "docs" / "controllers.md").read_text(encoding="utf-8")
    assert text == controllers_reference_markdown(), "docs/controllers.md: run python -m controllers.docs > docs/controllers.md"
    sections = dict(re.findall(r"^## `(\[controllers\.[^\]]+\])`\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    for name, cls in CONTROLLER_SETTINGS.items():
        for where, table_cls in settings_tables(cls, f"[controllers.{name}]"):
            rows = re.findall(r"^\| `(\w+)` \|", sections[where], flags=re.M)
            assert rows == [f.name for f in dataclasses.fields(table_cls)], where
    for doc in ("nmpc.md", "lmpc.md", "baselines.md"):
        assert "docs/controllers.md" in (ROOT / "docs" / doc).read_text(encoding="utf-8"), doc


def _distinct(cls: type[Settings]) -> dict[str, object]:
    """A table that changes every field of ``cls`` (sub-tables included) to another valid value."""
    out: dict[str, object] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if isinstance(tp, type) and issubclass(tp, Settings):
            out[f.name] = _distinct(tp)
            continue
        b = f.metadata["bounds"]
        if tp is bool:
            out[f.name] = not f.default
            continue
        if tp is str:
            if b.choices:
                out[f.name] = next(c for c in b.choices if c != f.default and c != "default")
            continue  # a file name: the default is the file there is
        if f.default is None:
            value: object = 0.05
        elif tp is int:
            value = f.default - 1 if f.default > 2 else f.default + 1
        elif f.default == 0:
            value = 7.0
        elif f.default == float("inf"):
            value = 600.0
        else:
            value = f.default * 0.9
        assert b.admits(value), (cls.__name__, f.name, value)
        out[f.name] = value
    return out


@pytest.mark.parametrize("name", ["recipe", "pid", "pid_opt", "nmpc", "lmpc"])
def test_a_scenario_table_reaches_the_controller(name: str) -> None:
    """Every field set to a value of its own: the controller ends up with exactly those settings."""
    table = _distinct(CONTROLLER_SETTINGS[name])
    if name == "lmpc":  # the shipped model, named by its absolute path (the scenario here has no folder)
        table["model_file"] = str(ROOT / "scenarios" / "models" / "lmpc_nmc_nmp.json")
    if name == "nmpc":
        table["ocp"]["config"] = "tuned"  # type: ignore[index]  # the experimental ones are slow to build
    if name == "pid_opt":
        table["lel_setpoint_of_limit"] = 0.75  # at 0.05 of the limit the economic target has no solution
    setup = short_setup("nmc_nmp_nominal.toml", 4.0, controllers={name: table})
    ctrl = make_controller(name)
    run_closed_loop(setup, ctrl)
    expected = CONTROLLER_SETTINGS[name].from_mapping(table)
    got = ctrl.settings  # type: ignore[attr-defined]
    assert got == expected
    assert got != CONTROLLER_SETTINGS[name]()
    if name == "pid":
        assert ctrl.lel_sp == table["lel_setpoint_of_limit"] and ctrl.scan_s == table["gauge_scan_s"]
        assert (ctrl.hum_sp == table["humidity_setpoint_kg_kg"]).all()
    if name == "pid_opt":
        assert ctrl.cw.scan_s == table["gauge_scan_s"] and ctrl.ramp_s == table["setpoint_ramp_s"]
        assert ctrl.target_settings.lel_margin == table["lel_setpoint_of_limit"]
    if name == "recipe":
        assert ctrl.check_every == table["manual_check_interval_s"] and ctrl.lab_delay == table["lab_delay_s"]
    if name == "nmpc":
        assert ctrl.ocp.s is got.ocp and ctrl.target.s is got.target and ctrl.supervisor.settings is got.supervisor
        assert ctrl.m.params.dryer.rate_law_smoothing_kg_kg == got.model.rate_law_smoothing_kg_kg
    if name == "lmpc":
        assert ctrl.supervisor.settings is got.supervisor and ctrl.ocp.n_horizon == got.n_horizon


def test_python_settings_are_the_base_a_scenario_table_changes() -> None:
    setup = short_setup("nmc_nmp_nominal.toml", 4.0, controllers={"pid": {"gauge_scan_s": 20}})
    ctrl = PidController(PidSettings(lel_setpoint_of_limit=0.5))
    run_closed_loop(setup, ctrl)
    assert ctrl.settings == PidSettings(lel_setpoint_of_limit=0.5, gauge_scan_s=20.0)
    assert isinstance(ctrl.settings.gauge_scan_s, float)  # an int is fine for a float, and becomes one


# ---- bad input -------------------------------------------------------------------------------------

BAD = [
    # (controller, table, message)
    ("pid", {"lel_setpoint_of_limit": 5.0},
     r"x\.toml: \[controllers\.pid\] lel_setpoint_of_limit = 5\.0: expected a value in \(0, 1\]"),
    ("pid", {"lel_setpoint_of_limit": True}, r"\[controllers\.pid\] lel_setpoint_of_limit = True: expected a number"),
    ("pid", {"gauge_scan_s": "10"}, r"gauge_scan_s = '10': expected a number > 0"),
    ("pid", {"gauge_scan_s": math.nan}, r"gauge_scan_s = nan: expected a finite number > 0"),
    ("pid", {"analyser_delay_s": math.inf}, r"analyser_delay_s = inf: expected a finite number >= 0"),
    ("pid", {"analyser_delay_s": -1}, r"analyser_delay_s = -1: expected a value >= 0"),
    ("pid", {"lel_setpoint": 0.5},
     r"\[controllers\.pid\]: unknown setting 'lel_setpoint'; known: gauge_scan_s, restart_skip_m, lel_setpoint_of_limit, "
     r"humidity_setpoint_kg_kg, analyser_delay_s"),
    ("recipe", {"lab_delay_s": {"a": 1}}, r"\[controllers\.recipe\] lab_delay_s: a table was given; expected a float"),
    ("nmpc", {"ocp": {"n_horizon": 6.0}}, r"\[controllers\.nmpc\.ocp\] n_horizon = 6\.0: expected an integer >= 1"),
    ("nmpc", {"ocp": {"config": "fast"}},
     r"\[controllers\.nmpc\.ocp\] config = 'fast': expected one of 'tuned', 'default', 'sqp', 'fatrop'"),
    ("nmpc", {"ocp": 3}, r"\[controllers\.nmpc\.ocp\] = 3: expected a table"),
    ("nmpc", {"target": {"max_move_scaled": 0}}, r"max_move_scaled = 0: expected a value > 0 or inf"),
    ("nmpc", {"model": {"rate_law_smoothing_kg_kg": -0.1}}, r"rate_law_smoothing_kg_kg = -0\.1: expected a value in \[0, 0\.05\]"),
    ("nmpc", {"rate_law_smoothing_kg_kg": 0.0},
     r"\[controllers\.nmpc\]: 'rate_law_smoothing_kg_kg' is not a setting of this table; it belongs in \[controllers\.nmpc\.model\]"),
    ("nmpc", {"lel_margin": 0.85},
     r"'lel_margin' is not a setting of this table; it belongs in \[controllers\.nmpc\.ocp\] or \[controllers\.nmpc\.target\]"),
    ("nmpc", {"ocp": {"nozzle_min_m_s": 9.0}}, r"\[controllers\.nmpc\.ocp\]: 'nozzle_min_m_s' .* belongs in \[controllers\.nmpc\.target\]"),
    ("nmpc", {"supervisor": {"restart_guard_s": -5.0}}, r"\[controllers\.nmpc\.supervisor\] restart_guard_s = -5\.0"),
    ("lmpc", {"restart_guard_s": 600.0}, r"\[controllers\.lmpc\]: 'restart_guard_s' .* belongs in \[controllers\.lmpc\.supervisor\]"),
    ("lmpc", {"n_horizon": "many"}, r"\[controllers\.lmpc\] n_horizon = 'many': expected an integer >= 1"),
    ("nmcp", {}, r"x\.toml: \[controllers\.nmcp\]: unknown controller 'nmcp'; known: recipe, pid, pid_opt, nmpc, lmpc"),
]


@pytest.mark.parametrize(("name", "table", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_table_is_refused_with_a_message_naming_it(name: str, table: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        controller_settings(name, table, source="x.toml")


def test_the_scenario_loader_checks_every_table(tmp_path: Path) -> None:
    d = load_scenario(NOMINAL).model_dump()
    d["controllers"]["pid"] = {"lel_setpoint_of_limit": 5.0}
    with pytest.raises(SettingsError, match=r"x\.toml: \[controllers\.pid\] lel_setpoint_of_limit = 5\.0"):
        scenario_from_dict(d, source="x.toml")
    p = tmp_path / "bad.toml"
    p.write_text(NOMINAL.read_text(encoding="utf-8") + "\n[controllers.nmpc.ocp]\nn_horizon = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad\.toml: \[controllers\.nmpc\.ocp\] n_horizon = 0: expected a value >= 1"):
        load_scenario(p)
    good = tmp_path / "good.toml"
    good.write_text(NOMINAL.read_text(encoding="utf-8")
                    + "\n[controllers.nmpc.ocp]\nn_horizon = 8\n[controllers.lmpc.supervisor]\nrestart_guard_s = 450\n",
                    encoding="utf-8")
    assert load_scenario(good).controllers["nmpc"] == {"ocp": {"n_horizon": 8}}


@pytest.mark.parametrize("command", ["run", "compare"])
def test_the_command_line_refuses_a_bad_table_before_anything_runs(tmp_path: Path, command: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import mpc.runner
    from mpc.cli import main

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a controller ran")

    monkeypatch.setattr(mpc.runner, "run_closed_loop", no_run)
    p = tmp_path / "bad.toml"
    p.write_text(NOMINAL.read_text(encoding="utf-8").replace("[controllers.recipe]", "[controllers.pid]\n"
                 "lel_setpoint_of_limit = 5.0\n\n[controllers.recipe]"), encoding="utf-8")
    which = ["--controller", "pid"] if command == "run" else ["--controllers", "recipe,pid"]
    r = CliRunner().invoke(main, [command, str(p), *which, "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "Error:" in r.output and "[controllers.pid] lel_setpoint_of_limit = 5.0: expected a value in (0, 1]" in r.output
    assert "Traceback" not in r.output and "a controller ran" not in r.output


def test_reset_checks_the_table_on_the_python_path() -> None:
    """A context built by hand (not from a loaded scenario) is checked when the controller is reset."""
    setup = short_setup("nmc_nmp_nominal.toml", 4.0)
    bad = setup.scenario.model_copy(update={"controllers": {"pid": {"humidity_setpoint_kg_kg": 2.0}}})
    with pytest.raises(SettingsError, match=r"\[controllers\.pid\] humidity_setpoint_kg_kg = 2\.0: expected a value in \(0, 1\)"):
        run_closed_loop(dataclasses.replace(setup, scenario=bad), make_controller("pid"))


def test_settings_built_in_python_are_checked() -> None:
    with pytest.raises(SettingsError, match=r"OcpSettings\.config = 'fast'"):
        OcpSettings(config="fast")
    with pytest.raises(SettingsError, match=r"PidSettings\.lel_setpoint_of_limit = 0: expected a value in \(0, 1\]"):
        PidSettings(lel_setpoint_of_limit=0)
    with pytest.raises(SettingsError, match=r"NmpcSettings\.ocp = 3: expected a table of OcpSettings settings"):
        NmpcSettings(ocp=3)  # type: ignore[arg-type]
    assert TargetSettings(max_move_scaled=math.inf).max_move_scaled == math.inf
