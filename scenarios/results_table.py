"""Regenerate the results table: every shipped scenario, recipe vs PID vs pid_opt vs NMPC vs lmpc, at its own duration.

Run from the repository root:

    python scenarios/results_table.py --out runs/results --markdown docs/results.md

Each scenario is compared with :func:`mpc.runner.compare_scenario` (identical
disturbances, mismatch and seeds per controller); the full reports land in
``--out``; the markdown table (headline KPIs per scenario and controller, and
the NMPC's targets with a verdict) is written to ``--markdown``, and the
identified-model MPC beside the NMPC to ``--lmpc-markdown`` (docs/lmpc.md),
each between its ``results`` markers.
``--reuse pid,recipe`` keeps those controllers' runs already in ``--out``
(checked to be of the same scenario and duration) when only others changed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import pandas as pd

from mpc.runner import compare_scenario

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    ("yield_frac", "yield", "{:.3f}"),
    ("coat_weight_cpk", "CW Cpk", "{:.2f}"),
    ("residual_solvent_cpk", "RS Cpk", "{:.2f}"),
    ("energy_kwh_per_m2", "kWh/good m2", "{:.4f}"),
    ("energy_kwh_per_m2_total", "kWh/m2 all", "{:.4f}"),
    ("primary_energy_kwh_per_m2", "primary kWh/good m2", "{:.4f}"),
    ("energy_kwh_per_kwh_cell", "kWh/kWh cell", "{:.3f}"),
    ("resistance_proxy_cv", "R-proxy CV", "{:.4f}"),
    ("binder_migration_index", "binder idx", "{:.3f}"),
    ("throughput_m2_h", "good m2/h", "{:.0f}"),
    ("scrap_m", "scrap m", "{:.0f}"),
    ("max_lel_fraction", "max LEL", "{:.3f}"),
    ("time_above_lel_limit_s", "s above LEL limit", "{:.0f}"),
    ("solver_failures", "solver failures", "{:.0f}"),
]

SPLIT = (("recipe", "pid", "safety basis"), ("pid", "pid_opt", "optimised set points"),
         ("pid_opt", "nmpc", "closed-loop control"))
"""The NMPC's saving against the recipe, split: recipe -> pid (the same %LEL basis), pid -> pid_opt (the
NMPC's own steady-state optimum as fixed set points), pid_opt -> nmpc (what the closed loop adds)."""


def saving_split(t: pd.DataFrame, key: str) -> list[float] | None:
    """Each step's change of ``key`` as a fraction of the recipe's value (negative: a saving); None if a
    controller of the chain is missing."""
    if not all(c in t.index for pair in SPLIT for c in pair[:2]):
        return None
    base = float(t.at["recipe", key])
    return [(float(t.at[b, key]) - float(t.at[a, key])) / base for a, b, _ in SPLIT]


def by_controller(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table (one row per controller) indexed by controller name."""
    return table.set_index("controller")


def verdicts(t: pd.DataFrame) -> list[str]:
    """The NMPC's result targets, checked on one scenario's comparison table (:func:`by_controller`); none without
    both the NMPC and the recipe in it."""
    if "nmpc" not in t.index or "recipe" not in t.index:
        return []
    n, r = t.loc["nmpc"], t.loc["recipe"]
    out = []
    out.append("LEL ok" if n["time_above_lel_limit_s"] == 0 else "LEL EXCEEDED")
    out.append("CW Cpk ok" if n["coat_weight_cpk"] >= 1.33 else "CW Cpk < 1.33")
    out.append("RS Cpk ok" if n["residual_solvent_cpk"] >= 1.33 else "RS Cpk < 1.33")
    out.append("energy < recipe" if n["energy_kwh_per_m2"] < r["energy_kwh_per_m2"] else "energy >= recipe")
    out.append("throughput ok" if n["throughput_m2_h"] >= 0.99 * r["throughput_m2_h"] else "throughput < 99 % recipe")
    out.append("CV < recipe" if n["resistance_proxy_cv"] < r["resistance_proxy_cv"] else "CV >= recipe")
    if "pid" in t.index:
        p = t.loc["pid"]
        out.append("CW Cpk >= pid" if n["coat_weight_cpk"] >= p["coat_weight_cpk"] else "CW Cpk < pid")
        out.append("energy <= pid" if n["energy_kwh_per_m2"] <= p["energy_kwh_per_m2"] else "energy > pid")
    if "pid_opt" in t.index:
        o = t.loc["pid_opt"]
        out.append("primary energy <= pid_opt" if n["primary_energy_kwh_per_m2"] <= o["primary_energy_kwh_per_m2"]
                   else "primary energy > pid_opt")
        out.append("yield >= pid_opt" if n["yield_frac"] >= o["yield_frac"] else "yield < pid_opt")
    return out


BEGIN = "<!-- results:begin (written by scenarios/results_table.py) -->"
END = "<!-- results:end -->"


def write_between_markers(path: Path, text: str) -> None:
    """Replace what lies between the markers (the prose around them is kept); a new file gets just the table."""
    if path.exists():
        old = path.read_text()
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            path.write_text(head + BEGIN + "\n" + text.rstrip("\n") + "\n" + END + tail)
            return
        raise ValueError(f"{path} has no results markers ({BEGIN!r} ... {END!r}); not overwriting its prose")
    path.write_text(BEGIN + "\n" + text.rstrip("\n") + "\n" + END + "\n")


def lmpc_summary(t: pd.DataFrame) -> str:
    """The lmpc beside the NMPC on one scenario (where it falls short); ``t`` by controller."""
    if "lmpc" not in t.index or "nmpc" not in t.index:
        return ""
    lm, n, r = t.loc["lmpc"], t.loc["nmpc"], t.loc["recipe"]
    parts = [
        "LEL ok" if lm["time_above_lel_limit_s"] == 0 else f"{lm['time_above_lel_limit_s']:.0f} s above the LEL limit",
        f"CW Cpk {lm['coat_weight_cpk']:.2f} (nmpc {n['coat_weight_cpk']:.2f})",
        f"RS Cpk {lm['residual_solvent_cpk']:.2f} (nmpc {n['residual_solvent_cpk']:.2f})",
        f"energy {100 * (lm['energy_kwh_per_m2'] / r['energy_kwh_per_m2'] - 1):+.0f} % vs recipe "
        f"(nmpc {100 * (n['energy_kwh_per_m2'] / r['energy_kwh_per_m2'] - 1):+.0f} %)",
        f"CV {lm['resistance_proxy_cv']:.4f} (nmpc {n['resistance_proxy_cv']:.4f}, recipe {r['resistance_proxy_cv']:.4f})",
        f"scrap {lm['scrap_m']:.0f} m (nmpc {n['scrap_m']:.0f} m)",
    ]
    return ", ".join(parts)


LMPC_HEADER = [
    "| scenario | CW Cpk lmpc / nmpc | RS Cpk lmpc / nmpc | kWh/m2 lmpc / nmpc / recipe "
    "| R-proxy CV lmpc / nmpc | scrap m lmpc / nmpc | max LEL lmpc |",
    "|---|---|---|---|---|---|---|",
]


def lmpc_row(name: str, t: pd.DataFrame) -> str:
    """One row of docs/lmpc.md's table: the lmpc beside the NMPC (and the recipe's energy); ``t`` by controller."""
    lm, n, r = t.loc["lmpc"], t.loc["nmpc"], t.loc["recipe"]
    return (
        f"| {name} | {lm['coat_weight_cpk']:.2f} / {n['coat_weight_cpk']:.2f} "
        f"| {lm['residual_solvent_cpk']:.2f} / {n['residual_solvent_cpk']:.2f} "
        f"| {lm['energy_kwh_per_m2']:.4f} / {n['energy_kwh_per_m2']:.4f} / {r['energy_kwh_per_m2']:.4f} "
        f"| {lm['resistance_proxy_cv']:.4f} / {n['resistance_proxy_cv']:.4f} "
        f"| {lm['scrap_m']:.0f} / {n['scrap_m']:.0f} | {lm['max_lel_fraction']:.3f} |"
    )


def _compare(path: str, ctrls: list[str], out: str, force: bool, reuse: list[str], progress: bool) -> pd.DataFrame:
    return compare_scenario(path, ctrls, out, force=force, progress=progress, reuse=reuse)


SPLIT_HEADER = [
    "| scenario | recipe -> pid: safety basis | pid -> pid_opt: optimised set points | pid_opt -> nmpc: closed-loop "
    "control | nmpc vs recipe |",
    "|---|---|---|---|---|",
]


def split_row(name: str, t: pd.DataFrame) -> str | None:
    """One row of the saving split: energy per good m2 (and primary energy per good m2), as % of the recipe's."""
    fin = saving_split(t, "energy_kwh_per_m2")
    pri = saving_split(t, "primary_energy_kwh_per_m2")
    if fin is None or pri is None:
        return None
    cells = [f"{100 * f:+.0f} % ({100 * q:+.0f} %)" for f, q in zip(fin, pri, strict=True)]
    return f"| {name} | " + " | ".join(cells) + f" | {100 * sum(fin):+.0f} % ({100 * sum(pri):+.0f} %) |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/results", help="directory for the comparison reports")
    ap.add_argument("--markdown", default=None, help="write the markdown table here")
    ap.add_argument("--lmpc-markdown", default=None, help="write the lmpc-beside-nmpc table here (docs/lmpc.md)")
    ap.add_argument("--controllers", default="recipe,pid,pid_opt,nmpc,lmpc")
    ap.add_argument("--reuse", default="", help="controllers whose runs in --out are kept (same scenario checked)")
    ap.add_argument("--scenarios", default=None, help="comma-separated scenario names (default: all)")
    ap.add_argument("--jobs", type=int, default=1, help="scenarios compared at once (processes)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    ctrls = args.controllers.split(",")
    paths = sorted((ROOT / "scenarios").glob("*.toml"))
    if args.scenarios:
        keep = set(args.scenarios.split(","))
        paths = [p for p in paths if p.stem in keep]
    reuse = [c for c in args.reuse.split(",") if c]
    t0 = time.time()
    jobs = [(str(p), ctrls, str(Path(args.out) / p.stem), args.force, reuse, args.jobs == 1) for p in paths]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(_compare, *j) for j in jobs]
            tables = []
            for path, fut in zip(paths, futures, strict=True):
                tables.append(fut.result())
                print(f"{path.stem} done ({time.time() - t0:.0f} s)", flush=True)
    else:
        tables = []
        for path, j in zip(paths, jobs, strict=True):
            tables.append(_compare(*j))
            print(f"{path.stem} done ({time.time() - t0:.0f} s)", flush=True)
    lines = [
        "| scenario | controller | " + " | ".join(c[1] for c in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    notes, lnotes, lrows, srows = [], [], [], []
    for path, raw in zip(paths, tables, strict=True):
        table = by_controller(raw)
        for c in ctrls:
            vals = [fmt.format(float(table.at[c, key])) for key, _, fmt in COLUMNS]
            lines.append(f"| {path.stem} | {c} | " + " | ".join(vals) + " |")
        v = verdicts(table)
        if v:
            notes.append(f"- {path.stem}: " + ", ".join(v))
        lm = lmpc_summary(table)
        if lm:
            lnotes.append(f"- {path.stem}: {lm}")
            lrows.append(lmpc_row(path.stem, table))
        sr = split_row(path.stem, table)
        if sr:
            srows.append(sr)
    text = "\n".join(lines) + "\n"
    if srows:
        text += ("\nThe NMPC's energy saving against the recipe, split (energy per good m2, in % of the recipe's; "
                 "primary energy per good m2 in brackets):\n\n" + "\n".join(SPLIT_HEADER + srows) + "\n")
    text += "\nNMPC targets per scenario:\n\n" + "\n".join(notes) + "\n"
    if lnotes:
        text += "\nThe identified-model MPC beside the NMPC (docs/lmpc.md):\n\n" + "\n".join(lnotes) + "\n"
    text += (f"\nMeasured on {platform.machine()} ({platform.processor() or 'cpu'}), {os.cpu_count()} cores, "
             f"{args.jobs} scenario(s) at a time, total {time.time() - t0:.0f} s.\n")
    if args.markdown:
        write_between_markers(Path(args.markdown), text)
    if args.lmpc_markdown and lrows:
        write_between_markers(Path(args.lmpc_markdown), "\n".join(LMPC_HEADER + lrows) + "\n\n"
                              + f"Measured on {platform.machine()}; regenerated with the table of docs/results.md.\n")
    print(text)


if __name__ == "__main__":
    main()
