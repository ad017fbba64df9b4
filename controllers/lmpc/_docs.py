"""The shipped lmpc models' validation fits as a markdown table (``docs/lmpc.md``; the settings are in ``docs/controllers.md``)."""

from __future__ import annotations

from pathlib import Path

from controllers.lmpc._modelfile import load_model_file

__all__ = ["fit_table"]


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
    print(fit_table(SHIPPED), end="")
