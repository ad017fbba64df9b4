"""Generate the controller settings page (``docs/controllers.md``) from the settings classes.

Run ``python -m controllers.docs > docs/controllers.md``; a test checks the
committed page is current.
"""

from __future__ import annotations

from mpc.scenario import CONTROLLER_SETTINGS, settings_rows, settings_tables

__all__ = ["controllers_reference_markdown"]

_HEAD = """# Controller settings

Generated from the settings classes (`mpc/scenario/_controller_settings.py`,
`_nmpc_settings.py`, `_lmpc_settings.py`) by `python -m controllers.docs`; do not edit by hand.

A scenario sets a controller's settings in its `[controllers.NAME]` table (the NMPC's in
sub-tables, one per part of the controller); every setting not given keeps its default. Every
table is checked when the scenario is loaded, and again when a controller is reset through the
Python API: an unknown controller or key (a key of another table says where it belongs), a
wrong type (a bool is not a number; an integer is fine for a float, a float is not an integer),
NaN, an infinite value where none is allowed, or a value outside its range is an error that names
the file, the table, the key, the value and what is allowed; `calmline run` and `compare` then
exit with code 2 before anything runs. Units are SI and in the names.

```toml
[controllers.pid]
lel_setpoint_of_limit = 0.5     # a fraction of the LEL limit in force

[controllers.nmpc.ocp]
n_horizon = 8

[controllers.nmpc.supervisor]
restart_guard_s = 300.0
```

In Python, each controller takes the same settings class (`PidController(PidSettings(...))`,
`PidOptController(PidOptSettings(...))`,
`NmpcController(ocp=OcpSettings(...))`, `LmpcController(LmpcSettings(...))`); a scenario's
table then changes the values it names.
"""


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("``", "`")


def controllers_reference_markdown() -> str:
    """The page: one table per controller and sub-table (setting, type, default, allowed range, meaning)."""
    out = [_HEAD]
    for name, cls in CONTROLLER_SETTINGS.items():
        for where, table_cls in settings_tables(cls, f"[controllers.{name}]"):
            doc = (table_cls.__doc__ or "").strip().split("\n\n")[0]
            out += [f"## `{where}`", "", _cell(" ".join(doc.split())), "",
                    "| setting | type | default | allowed | meaning |", "|---|---|---|---|---|"]
            for r in settings_rows(table_cls):
                default = f"`{r.default}`" if r.default else "" if r.type == "table" else "not given"
                out.append(f"| `{r.name}` | {r.type} | {default} | {_cell(r.allowed)} | {_cell(r.meaning)} |")
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(controllers_reference_markdown(), end="")
