"""Model, order and method selection on the estimation rows only.

The validation rows are never looked at. Candidates are scored by
cross-validation over contiguous blocks of the ESTIMATION rows (Ljung 1999,
sec. 16.4-16.5; Stone 1974):

* the estimation rows are cut into ``k`` contiguous blocks of equal length
  (``k = 4`` by default);
* fold ``i`` estimates the candidate on the other blocks (one or two
  contiguous training segments, each with its own initial state, no
  regressor spanning the gap) and scores it on block ``i``;
* each fold applies the chosen detrending protocol to its training segments
  and held-out block exactly as the final estimation/validation split does
  (:func:`mpc.sysid._detrend.apply_protocol_segments`), and the held-out
  fit uses the least-squares initial state of :func:`mpc.sysid.compare`.

The score of a candidate is its cross-validated fit: the NRMSE fit of all
its held-out predictions together (per output, squared errors and squared
deviations from each block's mean summed over the blocks), averaged over
outputs, each output floored at -100 % so that one diverging output cannot
dominate; a candidate that is unstable or fails on any fold is discarded.

That score estimates the initial state of each held-out block from the
block's own outputs (as :func:`mpc.sysid.compare` does on the validation
rows). A model with lightly damped slow modes can then fit a short block
through its initial state alone (a slow oscillation or drift of the
outputs that the inputs do not explain), and win the cross-validation
without predicting anything. Two rules guard the choice:

* **carried-state check** (``mean`` and ``none`` protocols, where the
  held-out block and the rows before it share one operating point): the
  fold's model is also run into each held-out block from the state that
  the block-length of estimation rows just before it gives (least-squares
  initial state on those rows only; the first block, which has no rows
  before it, estimates it on its own first quarter and is scored on the
  rest). The pooled fit of these runs, computed like the score, must be
  positive: the model must predict the held-out rows better than their
  mean when its state comes from data it was allowed to see. Candidates
  that fail are not chosen; if every candidate fails, the one with the
  best carried-state fit is. Under ``segment-mean`` and
  ``segment-linear`` every segment is detrended on its own, so there is
  no common operating point to carry a state across and the check does
  not apply.
* **PEM kept only if it helps**: a prediction-error refinement is a
  candidate only if its cross-validated score is higher than that of the
  start it refines.

Candidates (for ``method="auto"``):

1. ARX on a grid of ``(na, nb, nk)`` (``1..4`` each, one ``nk`` for all
   inputs; ``nk = 0`` added when a feed-through is allowed);
2. subspace models, N4SID, MOESP and CVA weightings, orders ``1..n_max``,
   past = future horizon from a small set adapted to the order range;
3. prediction-error refinements (output-error criterion by default) of
   the best subspace start of each order, for the ``top_k`` orders whose
   starts scored best, and of the best ARX start if its realisation has at
   most ``n_max`` states (fewer iterations than the final fit).

The winner is re-estimated on all estimation rows.

References
----------
L. Ljung, *System Identification: Theory for the User*, 2nd ed., Prentice
Hall, 1999, sections 16.4-16.5 (model structure selection, cross-validation).

M. Stone, "Cross-validatory choice and assessment of statistical
predictions", *J. Royal Statistical Society B* 36(2), 111-147, 1974.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from mpc.sysid._arx import ArxOrders, arx
from mpc.sysid._detrend import apply_protocol_segments
from mpc.sysid._errors import IdentificationError
from mpc.sysid._kernel import TcImpulseResponse, tc_impulse_response
from mpc.sysid._model import StateSpaceModel
from mpc.sysid._pem import estimate_kalman_gain, pem
from mpc.sysid._simulate import estimate_x0, output_weights, simulate
from mpc.sysid._subspace import (
    SUBSPACE_METHODS,
    SubspaceProjections,
    enforce_stability,
    estimate_bd,
    subspace,
)
from mpc.sysid._validate import compare

__all__ = [
    "METHODS",
    "Candidate",
    "SelectionOptions",
    "SelectionRecord",
    "fit_candidate",
    "select_model",
]

METHODS: tuple[str, ...] = ("auto", "arx", "subspace", "pem", *SUBSPACE_METHODS, "tc")
_FIT_FLOOR = -100.0
_FAIL = (IdentificationError, np.linalg.LinAlgError, ValueError, KeyError)


@dataclass(frozen=True)
class Candidate:
    """One model structure and estimation route.

    Attributes
    ----------
    method : str
        ``"arx"``, ``"n4sid"``, ``"moesp"``, ``"cva"`` or ``"tc"`` (TC-kernel
        impulse response realised at ``order``) (the initial estimate).
    order : int
        Subspace or realisation order (0 for ARX).
    horizon : int
        Subspace past = future horizon (0 for ARX).
    arx : ArxOrders or None
        ARX orders.
    refine : str or None
        ``"simulation"`` or ``"prediction"`` for a PEM refinement.
    """

    method: str
    order: int = 0
    horizon: int = 0
    arx: ArxOrders | None = None
    refine: str | None = None

    @property
    def name(self) -> str:
        """Method label: ``"cva+pem-oe"``, ``"arx"``, ..."""
        suffix = {None: "", "simulation": "+pem-oe", "prediction": "+pem"}[self.refine]
        return self.method + suffix

    @property
    def label(self) -> str:
        """Full label with orders and horizons."""
        if self.arx is not None:
            base = self.arx.label()
        elif self.method == "tc":
            base = f"TC-kernel impulse response n={self.order}"
        else:
            base = f"{self.method.upper()} n={self.order} f=p={self.horizon}"
        suffix = {None: "", "simulation": " + PEM (output error)", "prediction": " + PEM (1-step)"}
        return base + suffix[self.refine]


@dataclass(frozen=True)
class SelectionOptions:
    """Options of :func:`select_model` (see :func:`mpc.sysid.identify`)."""

    method: str = "auto"
    order: int | None = None
    arx_orders: ArxOrders | None = None
    feedthrough: bool = False
    stability: str = "reflect"
    pem_criterion: str = "simulation"
    n_max: int = 10
    folds: int = 4
    top_k: int = 3
    horizons: tuple[int, ...] | None = None
    arx_na: tuple[int, ...] = (1, 2, 3, 4)
    arx_nb: tuple[int, ...] = (1, 2, 3, 4)
    arx_nk: tuple[int, ...] = (1, 2, 3, 4)
    pem_max_nfev: int = 30
    final_pem_max_nfev: int = 100
    #: relative cost decrease per step below which a refinement inside selection stops
    pem_ftol: float = 1e-3
    dt: float = 1.0


@dataclass
class SelectionRecord:
    """Scores of every candidate tried (JSON-ready via ``to_dict``)."""

    chosen: Candidate
    scores: dict[str, float] = field(default_factory=dict)
    fold_fits: dict[str, list[float]] = field(default_factory=dict)
    folds: list[tuple[list[tuple[int, int]], tuple[int, int]]] = field(default_factory=list)
    #: pooled fit of the runs from the carried-over state (``mean``/``none`` protocols)
    carried: dict[str, float] = field(default_factory=dict)
    #: why a candidate was not eligible (label -> reason)
    excluded: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self, top: int = 12) -> dict[str, object]:
        """The ``top`` best candidates with their scores, checks and per-fold fits."""
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        return {
            "criterion": "cross-validated free-run fit (%): NRMSE fit of all held-out blocks "
                         "of the estimation rows together, mean over outputs",
            "rules": [
                "stable on every fold",
                "carried-state check (mean/none protocols): the run into each held-out block "
                "from the state the preceding estimation rows give has a pooled fit above 0 %",
                "a PEM refinement only if its score beats its start's",
            ] if self.carried else [
                "stable on every fold",
                "a PEM refinement only if its score beats its start's",
            ],
            "chosen": self.chosen.label,
            "chosen_score": self.scores.get(self.chosen.label),
            "chosen_carried_state_fit": self.carried.get(self.chosen.label),
            "reason": self.reason,
            "folds": [
                {"train_rows": [f"{a}:{b}" for a, b in train], "test_rows": f"{test[0]}:{test[1]}"}
                for train, test in self.folds
            ],
            "n_candidates": len(self.scores),
            "ranking": [
                {"candidate": k, "score": v, "carried_state_fit": self.carried.get(k),
                 "eligible": k not in self.excluded, "excluded_because": self.excluded.get(k),
                 "fold_fits": self.fold_fits.get(k, [])}
                for k, v in ranked[:top]
            ],
        }


_FAILED = np.full((2, 1), np.inf)


def fit_candidate(
    cand: Candidate,
    y: np.ndarray | list[np.ndarray],
    u: np.ndarray | list[np.ndarray],
    opts: SelectionOptions,
    *,
    projections: SubspaceProjections | None = None,
    kernel: TcImpulseResponse | None = None,
    base_model: StateSpaceModel | None = None,
    max_nfev: int | None = None,
    final: bool = False,
) -> StateSpaceModel:
    """Estimate one candidate on ``(y, u)`` (detrended; arrays or lists of segments).

    Inside selection (``final=False``) an output-error refinement skips the
    Kalman-gain fit, which the free-run score does not use.
    """
    model = base_model
    if model is None:
        if cand.arx is not None:
            model = arx(y, u, cand.arx.na, cand.arx.nb, cand.arx.nk, dt=opts.dt)[0]
        elif cand.method == "tc":
            model = (kernel or tc_impulse_response(y, u)).model(
                cand.order, y, u, dt=opts.dt, stability=opts.stability)
        else:
            model = subspace(
                y, u, cand.order, method=cand.method, future=cand.horizon, past=cand.horizon,
                feedthrough=opts.feedthrough, stability=opts.stability, dt=opts.dt,
                projections=projections,
            ).model
    if cand.refine is not None:
        budget = opts.pem_max_nfev if max_nfev is None else max_nfev
        refined = pem(model, y, u, criterion=cand.refine, max_nfev=budget,
                      estimate_k=final, ftol=1e-7 if final else opts.pem_ftol).model
        if not refined.stable and opts.stability != "none":
            A = enforce_stability(np.array(refined.A), mode=opts.stability)
            B, D, x0s = estimate_bd(A, np.array(refined.C), y, u,
                                    feedthrough=bool(np.any(refined.D != 0)))
            refined = refined.replace(A=A, B=B, D=D, x0=x0s[0])
            if final:
                refined = estimate_kalman_gain(refined, y, u)
        if refined.stable or not model.stable:
            model = refined
    return model


def _errors(model: StateSpaceModel, y: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per output: squared error of the free-run prediction and squared deviation from the mean."""
    if not model.stable:
        return np.full((2, y.shape[1]), np.inf)
    yhat = compare(model, y, u).yhat
    sse = np.sum((y - yhat) ** 2, axis=0)
    sst = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    if not np.all(np.isfinite(sse)):
        return np.full((2, y.shape[1]), np.inf)
    return np.stack([sse, sst])


def _carried_errors(model: StateSpaceModel, y: np.ndarray, u: np.ndarray, lead: int) -> np.ndarray:
    """Errors of the run into a held-out block from a state the block's outputs did not fit.

    ``y, u`` hold ``lead`` estimation rows before the block, then the block.
    With ``lead > 0`` the initial state at the first row is the
    least-squares estimate on the ``lead`` rows only and the block is scored;
    with ``lead == 0`` (the first block) it is estimated on the block's first
    quarter and the rest is scored.
    """
    if not model.stable:
        return np.full((2, y.shape[1]), np.inf)
    fit_rows = lead if lead > 0 else max(y.shape[0] // 4, 1)
    A, B, C, D = (np.asarray(m) for m in (model.A, model.B, model.C, model.D))
    ys, us = y[:fit_rows], u[:fit_rows]
    x0 = estimate_x0(A, B, C, D, us, ys, weights=output_weights(y[fit_rows:]))
    yhat = simulate(A, B, C, D, u, x0)[fit_rows:]
    yb = y[fit_rows:]
    with np.errstate(over="ignore", invalid="ignore"):
        sse = np.sum((yb - yhat) ** 2, axis=0)
    sst = np.sum((yb - yb.mean(axis=0)) ** 2, axis=0)
    if not np.all(np.isfinite(sse)):
        return np.full((2, y.shape[1]), np.inf)
    return np.stack([sse, sst])


def _pooled_fit(errs: list[np.ndarray]) -> float:
    """Cross-validated fit: NRMSE fit of all held-out predictions together, mean over outputs."""
    if not errs or any(not np.all(np.isfinite(e)) for e in errs):
        return float("-inf")
    total = np.sum(errs, axis=0)
    fit = 100.0 * (1.0 - np.sqrt(total[0] / np.where(total[1] > 0, total[1], np.inf)))
    return float(np.mean(np.maximum(fit, _FIT_FLOOR)))


def _fold_fit(err: np.ndarray) -> float:
    if not np.all(np.isfinite(err)):
        return float("-inf")
    return float(np.mean(100.0 * (1.0 - np.sqrt(err[0] / np.where(err[1] > 0, err[1], np.inf)))))


def cv_folds(N: int, k: int) -> list[tuple[list[slice], slice]]:
    """``k`` contiguous held-out blocks and the training segments around each.

    Raises
    ------
    IdentificationError
        Blocks shorter than 20 samples.
    """
    if k < 2:
        raise IdentificationError(f"cross-validation needs at least 2 folds (got {k})")
    edges = np.round(np.linspace(0, N, k + 1)).astype(int)
    if np.min(np.diff(edges)) < 20:
        raise IdentificationError(
            f"automatic selection cross-validates on {k} blocks of the estimation rows, but "
            f"{N} estimation samples give blocks shorter than 20 samples; give more "
            "estimation rows, or --method and --order explicitly"
        )
    folds = []
    for i in range(k):
        a, b = int(edges[i]), int(edges[i + 1])
        train = [s for s in (slice(0, a), slice(b, N)) if s.stop > s.start]
        folds.append((train, slice(a, b)))
    return folds


def _horizons(opts: SelectionOptions, n_out: int, n_train: int, m: int) -> tuple[int, ...]:
    if opts.horizons:
        return opts.horizons
    n_top = opts.order or opts.n_max
    base = max(-(-(n_top + 1) // n_out) + 1, 5)
    hs = sorted({base, max(base, 10), max(2 * base, 15)})
    # keep horizons the data can carry (Hankel columns >= 3 x rows)
    ok = [h for h in hs if n_train - 2 * h + 1 >= 3 * 2 * h * (m + n_out)]
    return tuple(ok or hs[:1])


def _base_candidates(opts: SelectionOptions, n_out: int, n_in: int, n_train: int) -> list[Candidate]:
    cands: list[Candidate] = []
    if opts.method in ("auto", "arx"):
        if opts.arx_orders is not None:
            cands.append(Candidate("arx", arx=opts.arx_orders))
        else:
            nks = (0, *opts.arx_nk) if opts.feedthrough else opts.arx_nk
            for na in opts.arx_na:
                for nb in opts.arx_nb:
                    for nk in nks:
                        cands.append(Candidate("arx", arx=ArxOrders(na, (nb,) * n_in, (nk,) * n_in)))
    if opts.method in ("auto", "subspace", "pem", *SUBSPACE_METHODS):
        methods = (opts.method,) if opts.method in SUBSPACE_METHODS else SUBSPACE_METHODS
        orders = (opts.order,) if opts.order else tuple(range(1, opts.n_max + 1))
        for h in _horizons(opts, n_out, n_train, n_in):
            for meth in methods:
                for n in orders:
                    cands.append(Candidate(meth, order=n, horizon=h))
    if opts.method == "tc":
        # not among the automatic candidates: on the DaISy sets it never validated best and it
        # took a third of the selection's time (docs/identification.md)
        orders = (opts.order,) if opts.order else tuple(range(1, opts.n_max + 1))
        cands += [Candidate("tc", order=n) for n in orders]
    return cands


def select_model(
    y: np.ndarray,
    u: np.ndarray,
    protocol: str,
    opts: SelectionOptions,
    *,
    log: Callable[[str], None] | None = None,
) -> tuple[Candidate, SelectionRecord]:
    """Choose a candidate by cross-validated free-run fit inside the estimation rows.

    Parameters
    ----------
    y, u : numpy.ndarray
        Estimation rows, NOT detrended (each fold applies ``protocol``).
    protocol : str
        Detrending protocol (see :mod:`mpc.sysid._detrend`).
    opts : SelectionOptions
    log : callable, optional
        Progress messages.

    Returns
    -------
    (Candidate, SelectionRecord)

    Raises
    ------
    IdentificationError
        Too few estimation rows, or no candidate could be estimated.
    """
    say = log or (lambda _msg: None)
    N = y.shape[0]
    n_out, n_in = y.shape[1], u.shape[1]
    try:
        folds = cv_folds(N, opts.folds)
    except IdentificationError:
        if opts.method == "auto" or (opts.order is None and opts.arx_orders is None):
            raise
        # a fully specified structure needs no selection: use it without cross-validation
        cand = _base_candidates(opts, n_out, n_in, N)[0]
        if opts.method == "pem":
            cand = replace(cand, refine=opts.pem_criterion)
        say(f"selection: too few rows to cross-validate; using {cand.label} as given")
        return cand, SelectionRecord(chosen=cand)
    n_train = min(sum(s.stop - s.start for s in train) for train, _ in folds)
    cands = _base_candidates(opts, n_out, n_in, n_train)
    errs: dict[Candidate, list[np.ndarray]] = {c: [] for c in cands}
    carry_errs: dict[Candidate, list[np.ndarray]] = {c: [] for c in cands}
    # the carried-state check needs one operating point across the block's boundary
    carry = protocol in ("mean", "none")
    data = []
    carry_data: list[tuple[np.ndarray, np.ndarray, int]] = []
    for train, test in folds:
        lead = min(test.start, test.stop - test.start)
        window = slice(test.start - lead, test.stop)
        segs, (uv, yv) = apply_protocol_segments(
            protocol, [(u[s], y[s]) for s in train], (u[test], y[test]))
        data.append(([ys for _, ys in segs], [us for us, _ in segs], yv, uv))
        if carry:
            # the same offsets as the block (training means for "mean", none for "none")
            _, (uw, yw) = apply_protocol_segments(
                protocol, [(u[s], y[s]) for s in train], (u[window], y[window]))
            carry_data.append((yw, uw, lead))
    say(f"selection: {len(cands)} candidate structures, {len(folds)}-fold cross-validation "
        "on the estimation rows")
    base_models: dict[tuple[Candidate, int], StateSpaceModel] = {}
    for k, (yt, ut, yv, uv) in enumerate(data):
        projections: dict[int, SubspaceProjections | None] = {}
        kernel: list[TcImpulseResponse | None] = []
        for c in cands:
            try:
                proj = None
                if c.method == "tc":
                    if not kernel:
                        try:
                            kernel.append(tc_impulse_response(yt, ut))
                        except IdentificationError:
                            kernel.append(None)
                    if kernel[0] is None or c.order > kernel[0].max_order:
                        raise IdentificationError("too few samples for the kernel estimate")
                elif c.arx is None:
                    if c.horizon not in projections:
                        try:
                            projections[c.horizon] = SubspaceProjections(yt, ut, c.horizon, c.horizon)
                        except IdentificationError:
                            projections[c.horizon] = None
                    proj = projections[c.horizon]
                    if proj is None or c.order > proj.max_order:
                        raise IdentificationError("horizon too long for this fold")
                model = fit_candidate(c, yt, ut, opts, projections=proj,
                                      kernel=kernel[0] if kernel else None)
                base_models[(c, k)] = model
                errs[c].append(_errors(model, yv, uv))
                if carry:
                    carry_errs[c].append(_carried_errors(model, *carry_data[k]))
            except _FAIL:
                errs[c].append(_FAILED)
                carry_errs[c].append(_FAILED)
    scores = {c: _pooled_fit(v) for c, v in errs.items()}
    if opts.method in ("auto", "pem"):
        # PEM starts: the best subspace start of each order, for the top_k orders
        best_per_order: dict[int, Candidate] = {}
        for c in cands:
            if c.arx is not None or not np.isfinite(scores[c]):
                continue
            if c.order not in best_per_order or scores[c] > scores[best_per_order[c.order]]:
                best_per_order[c.order] = c
        starts = sorted(best_per_order.values(), key=lambda c: -scores[c])[: opts.top_k]
        # and the best ARX structure, when its observer realisation is small enough
        arx_ok = [c for c in cands if c.arx is not None and np.isfinite(scores[c])
                  and n_out * c.arx.lags <= opts.n_max]
        if arx_ok:
            starts.append(max(arx_ok, key=lambda c: scores[c]))
        say(f"selection: refining the best start of {len(starts)} orders by PEM")
        for c in starts:
            rc = replace(c, refine=opts.pem_criterion)
            errs[rc], carry_errs[rc] = [], []
            for k, (yt, ut, yv, uv) in enumerate(data):
                try:
                    model = fit_candidate(rc, yt, ut, opts, base_model=base_models[(c, k)])
                    errs[rc].append(_errors(model, yv, uv))
                    if carry:
                        carry_errs[rc].append(_carried_errors(model, *carry_data[k]))
                except _FAIL:
                    errs[rc].append(_FAILED)
                    carry_errs[rc].append(_FAILED)
            scores[rc] = _pooled_fit(errs[rc])
    if opts.method == "pem":
        pool = [c for c in scores if c.refine is not None]
    else:
        pool = list(scores)
    if not pool or not np.isfinite(max(scores[c] for c in pool)):
        raise IdentificationError(
            "no candidate model could be estimated and simulated stably on the estimation rows; "
            "check the data, or choose --method/--order explicitly"
        )
    carried = {c: _pooled_fit(v) for c, v in carry_errs.items()} if carry else {}
    best, excluded, reason = _choose(pool, scores, carried)
    record = SelectionRecord(
        chosen=best,
        scores={c.label: float(v) for c, v in scores.items()},
        fold_fits={c.label: [_fold_fit(e) for e in v] for c, v in errs.items()},
        folds=[([(s.start, s.stop) for s in train], (test.start, test.stop))
               for train, test in folds],
        carried={c.label: float(v) for c, v in carried.items()},
        excluded={c.label: why for c, why in excluded.items()},
        reason=reason,
    )
    say(f"selection: chose {best.label} ({reason})")
    return best, record


def _choose(
    pool: list[Candidate], scores: dict[Candidate, float], carried: dict[Candidate, float]
) -> tuple[Candidate, dict[Candidate, str], str]:
    """The best eligible candidate, the reasons for the ineligible ones, and why."""
    excluded: dict[Candidate, str] = {}
    for c in pool:
        if not np.isfinite(scores[c]):
            excluded[c] = "unstable or failed on a fold"
            continue
        if c.refine is not None:
            start = replace(c, refine=None)
            if start in scores and not scores[c] > scores[start]:
                excluded[c] = (f"PEM does not improve its start's score "
                               f"({scores[c]:.1f} <= {scores[start]:.1f} %)")
                continue
        if carried and not carried[c] > 0.0:
            excluded[c] = (f"carried-state fit {carried[c]:.1f} % <= 0: no better than the "
                           "held-out rows' mean when its state comes from the preceding rows")
    eligible = [c for c in pool if c not in excluded]
    if eligible:
        best = max(eligible, key=lambda c: scores[c])
        reason = f"highest cross-validated fit {scores[best]:.1f} % among {len(eligible)} eligible"
        if carried:
            reason += f"; carried-state fit {carried[best]:.2f} %"
        return best, excluded, reason
    # nothing passes the carried-state check: the one that predicts best from a carried state
    finite = [c for c in pool if np.isfinite(scores[c])]
    best = max(finite, key=lambda c: carried[c])
    return best, excluded, (f"no candidate passed the carried-state check; best carried-state "
                            f"fit {carried[best]:.1f} % (cross-validated fit {scores[best]:.1f} %)")
