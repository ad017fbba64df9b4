"""Markdown tables for ``docs/theory.md``, generated from the parameter sets.

``python -m plants.doctables`` prints the table; a test checks that the
copy in ``docs/theory.md`` is current.
"""

from __future__ import annotations

from plants.params import describe_fields, params_to_dict
from plants.presets import get_preset, preset_names

__all__ = ["parameter_table_markdown"]


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def parameter_table_markdown() -> str:
    """One row per parameter: unit, value in each preset, and the preset's source."""
    names = preset_names()
    presets = {n: get_preset(n) for n in names}
    values = {n: params_to_dict(p) for n, p in presets.items()}
    head = "| parameter | unit | " + " | ".join(names) + " | source (" + " / ".join(names) + ") |"
    sep = "|" + "---|" * (3 + len(names))
    rows = [head, sep]
    for f in describe_fields():
        group, key = f["name"].split(".")
        vals = [_fmt(values[n][group][key]) for n in names]
        srcs = []
        for n in names:
            s = presets[n].sources.get(f["name"], "")
            if s not in srcs:
                srcs.append(s)
        rows.append(f"| `{f['name']}` | {f['unit']} | " + " | ".join(vals) + " | " + " / ".join(srcs) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(parameter_table_markdown(), end="")
