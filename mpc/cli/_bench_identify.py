"""``calmline bench identify``: identification speed on seeded random systems.

Two figures, each timed on this machine (never golden values):

* subspace identification (MOESP) and an output-error PEM refinement on a
  long record (100,000 samples, 3 inputs x 3 outputs, order 6 by default);
* the whole automatic choice, ``identify --method auto --order auto``, on
  10,000 samples of a seeded random stable 4 x 4 system (target: 60 s).
"""

from __future__ import annotations

import time
from typing import Any

import click
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from mpc.cli._common import echo_json, stderr
from mpc.machine import machine_info
from mpc.sysid import StateSpaceModel, compare, identify, pem, subspace

__all__ = ["bench_identify"]

#: target of the subspace step on the long record, seconds
SUBSPACE_TARGET_S = 2.0
#: target of ``identify --method auto`` on the 4 x 4 record, seconds
AUTO_TARGET_S = 60.0


def random_system(n: int, m: int, p: int, rng: np.random.Generator) -> StateSpaceModel:
    """Random stable real system: poles at radius 0.5-0.95, random orthogonal basis.

    Parameters
    ----------
    n, m, p : int
        States, inputs, outputs.
    rng : numpy.random.Generator
        Seeded generator.

    Returns
    -------
    StateSpaceModel
        ``D = 0``, innovation gain ``K`` of size 0.2, ``dt = 1 s``.
    """
    blocks = []
    k = 0
    while k < n:
        r = rng.uniform(0.5, 0.95)
        if n - k >= 2 and rng.random() < 0.6:
            th = rng.uniform(0.1, 1.2)
            blocks.append(r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]))
            k += 2
        else:
            blocks.append(np.array([[r * rng.choice([-1.0, 1.0])]]))
            k += 1
    A = np.zeros((n, n))
    pos = 0
    for blk in blocks:
        s = blk.shape[0]
        A[pos : pos + s, pos : pos + s] = blk
        pos += s
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ A @ Q.T
    B = rng.normal(size=(n, m))
    C = rng.normal(size=(p, n))
    K = 0.2 * rng.normal(size=(n, p))
    return StateSpaceModel(A, B, C, np.zeros((p, m)), K, np.zeros(n), 1.0)


def random_record(true: StateSpaceModel, samples: int, noise: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """White-noise inputs and innovation-form outputs ``(u, y, y_noise_free)``.

    ``x+ = A x + B u + K e``, ``y = C x + e``, ``e`` white with standard
    deviation ``noise`` times the noise-free output's, per output.
    """
    u = rng.normal(size=(samples, true.n_inputs))
    y0 = true.simulate(u)
    e = noise * y0.std(axis=0) * rng.normal(size=y0.shape)
    n_out = true.n_outputs
    y = y0 + StateSpaceModel(true.A, true.K, true.C, np.eye(n_out), true.K,
                             np.zeros(true.n_states), 1.0).simulate(e)
    return u, y, y0


def bench_subspace(samples: int, order: int, n_in: int, n_out: int, noise: float,
                   pem_nfev: int, seed: int) -> dict[str, Any]:
    """Subspace identification (and a PEM refinement) on a long record."""
    rng = np.random.default_rng(seed)
    true = random_system(order, n_in, n_out, rng)
    u, y, y0 = random_record(true, samples, noise, rng)
    t0 = time.perf_counter()
    fit = subspace(y, u, order, method="moesp")
    t_sub = time.perf_counter() - t0
    model = fit.model
    n_val = samples // 10
    dist = np.abs(np.linalg.eigvals(true.A)[:, None] - np.linalg.eigvals(model.A)[None, :])
    rows, cols = linear_sum_assignment(dist)  # pair each true pole with one estimate
    out: dict[str, Any] = {
        "benchmark": "subspace identification (MOESP) + PEM refinement",
        "samples": samples, "inputs": n_in, "outputs": n_out, "order": order, "seed": seed,
        "noise_relative": noise,
        "horizon": fit.future,
        "subspace_s": t_sub,
        "subspace_target_s": SUBSPACE_TARGET_S,
        "subspace_meets_target": bool(t_sub <= SUBSPACE_TARGET_S),
        "pole_error_max": float(np.max(dist[rows, cols])),
        "fit_percent_noise_free_last_10pct": [
            float(v) for v in compare(model, y0[-n_val:], u[-n_val:]).fit_percent],
    }
    if pem_nfev > 0:
        t0 = time.perf_counter()
        res = pem(model, y, u, criterion="simulation", max_nfev=pem_nfev, estimate_k=False)
        t_pem = time.perf_counter() - t0
        out.update({
            "pem_s": t_pem,
            "pem_nfev": res.nfev,
            "pem_cost_initial": res.cost_initial,
            "pem_cost_final": res.cost_final,
            "pem_s_per_evaluation": t_pem / max(res.nfev, 1),
            "fit_percent_noise_free_last_10pct_after_pem": [
                float(v) for v in compare(res.model, y0[-n_val:], u[-n_val:]).fit_percent],
        })
    return out


def bench_auto(samples: int, size: int, order: int, noise: float, seed: int) -> dict[str, Any]:
    """``identify(method="auto", order="auto")`` on a seeded random ``size x size`` system.

    The first 80 % of the record are the estimation rows, the rest the
    validation rows (validated against the measured, noisy outputs).
    """
    rng = np.random.default_rng(seed)
    true = random_system(order, size, size, rng)
    u, y, _ = random_record(true, samples, noise, rng)
    ins = [f"u{i + 1}" for i in range(size)]
    outs = [f"y{i + 1}" for i in range(size)]
    frame = pd.DataFrame(np.concatenate([u, y], axis=1), columns=ins + outs)
    n_est = int(0.8 * samples)
    t0 = time.perf_counter()
    result = identify(frame, ins, outs, estimate=f"0:{n_est}", validate=f"{n_est}:",
                      method="auto", order="auto", detrend="mean")
    elapsed = time.perf_counter() - t0
    return {
        "benchmark": "identify --method auto --order auto --detrend mean",
        "samples": samples, "inputs": size, "outputs": size, "true_order": order, "seed": seed,
        "noise_relative": noise,
        "estimate_rows": f"0:{n_est}", "validate_rows": f"{n_est}:",
        "auto_s": elapsed,
        "auto_target_s": AUTO_TARGET_S,
        "auto_meets_target": bool(elapsed <= AUTO_TARGET_S),
        "chosen": result.details["candidate"],
        "chosen_order": result.order,
        "stable": result.stable,
        "fit_percent_mean": float(np.mean(list(result.fit_percent.values()))),
        "n_candidates": result.details["selection"]["n_candidates"],
    }


@click.command("identify")
@click.option("--samples", type=click.IntRange(1000), default=100_000, show_default=True,
              help="Samples of the subspace/PEM record.")
@click.option("--order", type=click.IntRange(1, 30), default=6, show_default=True,
              help="Order of the subspace/PEM system.")
@click.option("--inputs", "n_in", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--outputs", "n_out", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--noise", type=float, default=0.1, show_default=True,
              help="Innovation standard deviation relative to the noise-free output's.")
@click.option("--pem-nfev", type=click.IntRange(0), default=10, show_default=True,
              help="Residual evaluations of the PEM refinement (0 skips it).")
@click.option("--auto-samples", type=click.IntRange(0), default=10_000, show_default=True,
              help="Samples of the automatic-choice record (0 skips that benchmark).")
@click.option("--auto-size", type=click.IntRange(1, 8), default=4, show_default=True,
              help="Inputs = outputs of the automatic-choice system.")
@click.option("--auto-order", type=click.IntRange(1, 20), default=6, show_default=True,
              help="Order of the automatic-choice system.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def bench_identify(
    samples: int, order: int, n_in: int, n_out: int, noise: float, pem_nfev: int,
    auto_samples: int, auto_size: int, auto_order: int, seed: int, as_json: bool,
) -> None:
    """Time subspace identification, a PEM refinement and the automatic choice on seeded random systems.

    Targets: the subspace step on 100,000 samples, 3 inputs x 3 outputs,
    order 6, in at most 2 s; ``identify --method auto --order auto`` on
    10,000 samples of a 4 x 4 system in at most 60 s. The times are this
    machine's; compare ratios within one run only.
    """
    stderr("timing subspace identification ...")
    out = bench_subspace(samples, order, n_in, n_out, noise, pem_nfev, seed)
    if auto_samples > 0:
        if auto_samples < 400:
            raise click.BadParameter("at least 400 samples (or 0 to skip)",
                                     param_hint="--auto-samples")
        stderr(f"timing identify --method auto on {auto_samples} samples "
               f"({auto_size} x {auto_size}) ...")
        out["auto"] = bench_auto(auto_samples, auto_size, auto_order, noise, seed)
    out["machine"] = machine_info()
    if as_json:
        echo_json(out)
        return
    m = out["machine"]
    click.echo(f"machine: {m['processor']} ({m['machine']}), {m['cpu_count']} CPUs, "
               f"node {m['node']}, numpy {m['numpy']}")
    click.echo(f"data: {samples} samples, {n_in} inputs x {n_out} outputs, order {order}, "
               f"seed {seed}, noise {noise:g}")
    click.echo(f"subspace (MOESP, f=p={out['horizon']}): {out['subspace_s']:.3f} s "
               f"(target <= {SUBSPACE_TARGET_S:g} s: "
               f"{'met' if out['subspace_meets_target'] else 'NOT met'}); "
               f"max pole error {out['pole_error_max']:.2e}")
    if pem_nfev > 0:
        click.echo(f"PEM output-error refinement: {out['pem_s']:.3f} s for {out['pem_nfev']} "
                   f"evaluations ({out['pem_s_per_evaluation']:.3f} s each)")
    if "auto" in out:
        a = out["auto"]
        click.echo(f"identify --method auto ({a['samples']} samples, {a['inputs']} x "
                   f"{a['outputs']}): {a['auto_s']:.1f} s (target <= {AUTO_TARGET_S:g} s: "
                   f"{'met' if a['auto_meets_target'] else 'NOT met'}); chose {a['chosen']}, "
                   f"validation fit {a['fit_percent_mean']:.1f} %")
