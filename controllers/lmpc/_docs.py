"""The lmpc's settings as a markdown table, read from :class:`LmpcSettings` (names, types, defaults, docstrings)."""

from __future__ import annotations

import ast
import inspect
from dataclasses import MISSING, fields
from pathlib import Path

from controllers.lmpc._controller import LmpcSettings
from controllers.lmpc._modelfile import load_model_file

__all__ = ["fit_table", "settings_docs", "settings_table"]


def settings_docs() -> dict[str, str]:
    """Each setting's docstring (the string literal after its field)."""
    tree = ast.parse(inspect.getsource(LmpcSettings))
    body = tree.body[0].body
    docs: dict[str, str] = {}
    for node, nxt in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = ""
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                text = " ".join(nxt.value.value.split())
            docs[node.target.id] = text
    return docs


def settings_table() -> str:
    """Markdown table: setting, type, default, meaning."""
    docs = settings_docs()
    rows = ["| setting | type | default | meaning |", "|---|---|---|---|"]
    for f in fields(LmpcSettings):
        default = f.default if f.default is not MISSING else ""
        rows.append(f"| `{f.name}` | {f.type} | `{default!r}` | {docs.get(f.name, '')} |")
    return "\n".join(rows) + "\n"


def fit_table(model_files: list[Path]) -> str:
    """Markdown table of the shipped models: structure and validation fit per output."""
    models = [load_model_file(p) for p in model_files]
    names: list[str] = []
    for m in models:
        names += [n for n in m.output_names if n not in names]
    head = "| output | " + " | ".join(f"{m.preset} fit %" for m in models) + " |"
    rows = [head, "|---|" + "---|" * len(models)]
    for n in names:
        rows.append(f"| `{n}` | " + " | ".join(f"{m.fit_percent[n]:.1f}" if n in m.fit_percent else "" for m in models)
                    + " |")
    rows.append("| structure | " + " | ".join(
        ", ".join(_block_text(b) for b in m.blocks) + f"; {m.n_states} states" for m in models) + " |")
    return "\n".join(rows) + "\n"


def _block_text(b: dict) -> str:
    if b.get("method") == "arx":
        return f"{b['name']}: ARX na={b['na']} nb={b['nb']} nk={b['nk']}"
    return f"{b['name']}: {b['method']} order {b['order']}"


SHIPPED = [Path(__file__).resolve().parents[2] / "scenarios" / "models" / f"lmpc_{p}.json"
           for p in ("nmc_nmp", "graphite_water")]


if __name__ == "__main__":
    print(fit_table(SHIPPED))
    print(settings_table(), end="")
