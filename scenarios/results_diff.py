"""Before -> after table of two results tables (``docs/results.md``), for the chosen controllers.

Usage, from the repository root::

    python scenarios/results_diff.py --before 92ee2c7 --controllers lmpc

``--before`` is a git revision whose ``docs/results.md`` is the "before" (``--after`` defaults to the
working tree's file). Prints a markdown table: one row per scenario and controller, each headline KPI
as ``before -> after``.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAD = ["scenario", "controller", "yield", "CW Cpk", "RS Cpk", "kWh/good m2", "kWh/m2 all", "primary kWh/good m2",
        "kWh/kWh cell", "R-proxy CV", "binder idx", "good m2/h", "scrap m", "max LEL", "s above LEL limit",
        "solver failures"]
SHOWN = ["yield", "CW Cpk", "RS Cpk", "kWh/good m2", "primary kWh/good m2", "kWh/kWh cell", "R-proxy CV", "scrap m", "max LEL",
         "s above LEL limit", "solver failures"]


def main_table(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The main table's rows of a results page, by (scenario, controller)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == len(HEAD) and "->" not in line and cells[0] != "scenario":
            rows.setdefault((cells[0], cells[1]), dict(zip(HEAD, cells, strict=True)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--before", required=True, help="git revision of the 'before' docs/results.md")
    ap.add_argument("--after", default=None, help="git revision of the 'after' (default: the working tree's)")
    ap.add_argument("--controllers", default="recipe,pid,pid_opt,nmpc,lmpc", help="comma-separated")
    args = ap.parse_args()

    def page(rev: str | None) -> str:
        if rev is None:
            return (ROOT / "docs" / "results.md").read_text()
        return subprocess.run(["git", "show", f"{rev}:docs/results.md"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout

    before, after = main_table(page(args.before)), main_table(page(args.after))
    wanted = args.controllers.split(",")
    print("| scenario | controller | " + " | ".join(f"{k} before -> after" for k in SHOWN) + " |")
    print("|---|---|" + "---|" * len(SHOWN))
    for key in sorted(after):
        if key[1] in wanted and key in before:
            print(f"| {key[0]} | {key[1]} | " + " | ".join(f"{before[key][k]} -> {after[key][k]}" for k in SHOWN) + " |")


if __name__ == "__main__":
    main()
