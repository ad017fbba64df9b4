"""Print the baselines' loop tuning tables (``docs/baselines.md``, "Tuning"), and rewrite them there with ``--write``.

Usage: ``python scenarios/tuning_tables.py [--write docs/baselines.md]``. The rows come from each
controller's ``tuning_table()`` after a reset by the harness (a 2 s run of the preset's nominal scenario),
the PLC's air-temperature loops first.
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

from controllers.registry import make_controller
from mpc.harness import run_closed_loop
from mpc.scenario import build_setup, load_scenario


def _fmt(v: object) -> str:
    if isinstance(v, str):
        return v
    x = float(v)  # type: ignore[arg-type]
    if abs(x) < 1e-9:  # a fitted dead time at its bound
        return "0.0"
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def table(preset: str, controller: str) -> str:
    """The markdown table of one preset's controller."""
    name = f"{preset}_nominal"
    setup = build_setup(load_scenario(name), source=name)
    ctrl = make_controller(controller)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_closed_loop(setup, ctrl, duration_s=2.0)
    lines = ["| loop | k | tau_s | theta_s | Kc | tau_I_s |", "|---|---|---|---|---|---|"]
    for r in ctrl.tuning_table():  # type: ignore[attr-defined]
        lines.append("| " + " | ".join(_fmt(r[k]) for k in ("loop", "k", "tau_s", "theta_s", "kc", "tau_i_s")) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", type=Path, help="markdown file whose tables to replace")
    args = ap.parse_args()
    text = args.write.read_text() if args.write else None
    for preset in ("nmc_nmp", "graphite_water"):
        for controller in ("pid", "pid_opt"):
            t = table(preset, controller)
            head = f"### {preset}: `{controller}`"
            if text is None:
                print(f"{head}\n\n{t}\n")
                continue
            pat = re.compile(re.escape(head) + r"\n\n(\|.*\n)+")
            if not pat.search(text):
                raise SystemExit(f"{args.write}: no table under {head!r}")
            text = pat.sub(lambda _m: f"{head}\n\n{t}\n", text, count=1)  # noqa: B023
    if args.write and text is not None:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
