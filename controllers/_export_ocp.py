"""A do-mpc tracking OCP as stage functions for the edge's real-time iteration (``calmline export``).

One export for both MPCs: the NMPC's (:class:`controllers.nmpc.DynamicOcp`, a continuous model discretised by
orthogonal collocation) and the lmpc's (:class:`controllers.lmpc.LinearOcp`, the identified discrete-time
model). Everything is taken from the do-mpc controller itself, so that the edge solves the very NLP do-mpc
builds: do-mpc's own discretisation function (its collocation equations and the interval's end state, any
degree and number of elements; or the discrete model's update), its stage and terminal costs, its
move-suppression factors, its soft nonlinear constraints with their penalties. Per interval ``k`` the NLP has
the node state ``x_k``, the input ``u_k``, the collocation states ``c_k`` (none for a discrete model) and one
slack per soft constraint; do-mpc evaluates the stage cost and the path constraints at ``(x_k, u_k)``
(``path_constraints = "interval_start"``) and the terminal cost at ``x_N``.

What the export reads from the OCP object (:class:`ExportableOcp`): ``mpc`` (the do-mpc MPC, set up),
``track_terms`` (the stage cost as weighted residuals), ``lqr``, ``speed_index``, ``u_lb_s`` / ``u_ub_s`` and
``_tvp_values`` (the parameters it starts with).

The generated function ``ocp_stage(x, u, c, tvp)`` linearises one interval for a Gauss-Newton SQP step
(Bock & Plitt 1984; Diehl, Bock & Schloder 2005, "A real-time iteration scheme for nonlinear optimization in
optimal feedback control", SIAM J. Control Optim. 43(5)): the collocation equations ``G(x, c, u) = 0`` are
condensed into the interval (``dc = -G_c^{-1} (G + G_x dx + G_u du)``, a sparse QR in the generated C), which
leaves

* the linearised end state ``x_end ~ f0 + A dx + B du``;
* the collocation update ``dc = K [1; dx; du]``;
* the stage cost's gradient and its Gauss-Newton Hessian ``2 J' J`` (the cost is a weighted sum of squares,
  :attr:`DynamicOcp.track_terms`);
* the soft constraints ``h`` and their Jacobians;
* the stage cost, the interval's end state and the collocation equations' residual (the line search's merit).

For a discrete model there is nothing to condense: ``x_end = f(x, u)``, ``K`` is empty and the residual 0;
with the lmpc's linear model and quadratic cost the Gauss-Newton QP is the OCP itself, solved in one iteration.

The manifest also lists the constraints whose input Jacobian is structurally non-zero
(``stage0_constraints``, :func:`input_constraint_rows`): the first stage's QP carries only those.

``ocp_terminal(x, tvp)`` gives the terminal cost's gradient and Hessian (quadratic: exact). The QP is solved
by HPIPM (:mod:`mpc.edge`, ``csrc/calmline_qp.c``), the slacks its own soft constraints.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import casadi as ca
import numpy as np

from controllers._codegen import generate_c
from mpc.errors import CalmlineError

__all__ = [
    "OCP_FUNCTIONS",
    "OCP_SOURCE",
    "QP_SOURCE",
    "SOLVER_LIBRARIES",
    "ExportableOcp",
    "blasfeo_target",
    "generate_ocp_c",
    "hpipm_files",
    "input_constraint_rows",
    "linear_quadratic",
    "ocp_functions",
    "ocp_manifest",
]

OCP_FUNCTIONS = {"stage": "ocp_stage", "terminal": "ocp_terminal"}
"""The generated functions of the tracking OCP, by role."""
OCP_SOURCE = "ocp.c"
"""The OCP's generated C in the artifact."""
QP_SOURCE = "calmline_qp.c"
"""calmline's QP driver (``mpc/edge/csrc``), copied into the artifact beside the library built from it."""
SOLVER_LIBRARIES = ("libblasfeo.so.0", "libhpipm.so")
"""The solver libraries an artifact carries, in the order they are loaded (HPIPM needs BLASFEO)."""


def hpipm_files(solver_libs: str | Path | None = None) -> tuple[tuple[Path, ...], list[Path], Path]:
    """HPIPM's and BLASFEO's include folders, their libraries (in :data:`SOLVER_LIBRARIES` order) and calmline's QP
    driver.

    Parameters
    ----------
    solver_libs : path, optional
        An HPIPM and BLASFEO build to use instead of the CasADi wheel's (whose BLASFEO is built for its generic
        target): a folder holding, anywhere below it, ``hpipm_d_ocp_qp_ipm.h``, ``blasfeo_target.h``,
        ``libhpipm.so`` and ``libblasfeo.so`` (or ``libblasfeo.so.0``): an install prefix of both, or acados'.

    Raises
    ------
    CalmlineError
        A file is missing (named), or the folder holds more than one of one.
    """
    driver = Path(str(resources.files("mpc.edge") / "csrc" / QP_SOURCE))
    if solver_libs is None:
        root = Path(ca.__file__).parent
        libs = [root / name for name in SOLVER_LIBRARIES]
        include = root / "include"
        missing = [str(p) for p in (*libs, include / "hpipm_d_ocp_qp_ipm.h") if not p.exists()]
        if missing:
            raise CalmlineError(f"the edge QP needs HPIPM and BLASFEO from the CasADi installation; missing: "
                                f"{', '.join(missing)}")
        return (include,), libs, driver
    root = Path(solver_libs)
    if not root.is_dir():
        raise CalmlineError(f"--solver-libs {root}: no such folder (expected an HPIPM and BLASFEO build: their "
                            f"headers and libhpipm.so, libblasfeo.so)")

    def one(*names: str) -> Path:
        for name in names:
            found = sorted(root.rglob(name))
            if len(found) > 1:
                raise CalmlineError(f"--solver-libs {root}: {len(found)} files named {name} "
                                    f"({', '.join(map(str, found[:3]))}): expected one")
            if found:
                return found[0]
        raise CalmlineError(f"--solver-libs {root}: no {' or '.join(names)} below it (expected an HPIPM and BLASFEO "
                            f"build: their headers and libhpipm.so, libblasfeo.so)")

    blasfeo = one("libblasfeo.so", "libblasfeo.so.0")
    hpipm = one("libhpipm.so")
    inc_b, inc_h = one("blasfeo_target.h").parent, one("hpipm_d_ocp_qp_ipm.h").parent
    return (inc_h,) if inc_b == inc_h else (inc_h, inc_b), [blasfeo, hpipm], driver


def blasfeo_target(includes: tuple[Path, ...]) -> dict[str, Any]:
    """BLASFEO's build target and the CPU features it needs, from its ``blasfeo_target.h`` in one of ``includes``:
    ``{"target": "X64_INTEL_HASWELL", "cpu_features": ["avx2", "fma"]}`` (``GENERIC``: none)."""
    import re

    heads = [d / "blasfeo_target.h" for d in includes]
    text = next((h.read_text() for h in heads if h.exists()), "")
    target = re.search(r"#define\s+TARGET_(\w+)", text)
    feats = re.findall(r"#define\s+TARGET_NEED_FEATURE_(\w+)\s+1", text)
    return {"target": target.group(1) if target else "unknown",
            "cpu_features": sorted({f.lower() for f in feats})}


class ExportableOcp(Protocol):
    """What the export reads from a controller's OCP (the NMPC's and the lmpc's answer it)."""

    mpc: Any
    """The do-mpc MPC, set up."""
    track_terms: list[tuple[float, Any]]
    """The stage cost as ``(weight, residual)`` pairs: do-mpc's lterm is the weighted sum of squares."""
    lqr: bool
    """Whether the terminal matrix is a parameter solved every step (not exported)."""
    speed_index: int
    """The line speed's index among the inputs."""
    u_lb_s: np.ndarray
    u_ub_s: np.ndarray
    _tvp_values: dict[str, object]


def generate_ocp_c(ocp: ExportableOcp, out_dir: Path) -> Path:
    """Write the OCP's generated C into ``out_dir`` (:data:`OCP_SOURCE`); return its path."""
    return generate_c(OCP_SOURCE, ocp_functions(ocp), out_dir)


def _check(ocp: ExportableOcp) -> None:
    mpc = ocp.mpc
    st = mpc.settings
    why = []
    if mpc.model.model_type != "discrete" and st.state_discretization != "collocation":
        why.append(f"state_discretization = {st.state_discretization!r} (collocation expected)")
    if st.nl_cons_check_colloc_points:
        why.append("path_constraints = 'collocation_points' (the edge QP checks them at each interval's start)")
    if st.n_robust or mpc.model.n_z or mpc.model.n_p or st.nl_cons_single_slack or mpc.flags["rterm_fun"]:
        why.append("scenarios, algebraic states, parameters, a single slack or a custom rterm")
    if ocp.lqr:
        why.append("terminal_cost = 'lqr' (its terminal matrix is solved on the design machine every solve; export "
                   "with 'identity')")
    if not (np.all(np.asarray(mpc._x_scaling.cat) == 1) and np.all(np.asarray(mpc._u_scaling.cat) == 1)):
        why.append("do-mpc variable scaling (the NMPC's model is scaled already)")
    soft = {d["slack_name"] for d in mpc.slack_vars_list}
    hard = [d["expr_name"] for d in mpc.nl_cons_list if d["expr_name"] not in soft]
    if hard:
        why.append(f"hard nonlinear constraints {hard}")
    if any(np.any(np.isfinite(np.asarray(d["ub"], float))) for d in mpc.slack_vars_list):
        why.append("a bounded slack (maximum_violation)")
    if why:
        raise CalmlineError("the OCP cannot be exported to the edge QP: " + "; ".join(why))


def _tvp_layout(model: Any) -> list[tuple[str, int]]:
    """The time-varying parameters' names and sizes, in do-mpc's order (``default`` excluded)."""
    out = []
    for name in model._tvp.keys():
        if name == "default":
            continue
        out.append((name, int(np.prod(model._tvp[name].shape))))
    return out


def ocp_functions(ocp: ExportableOcp) -> list[ca.Function]:
    """The tracking OCP's stage and terminal functions (dense outputs) for the edge's RTI."""
    _check(ocp)
    mpc = ocp.mpc
    model = mpc.model
    ifcn, n_coll = mpc._setup_discretization()
    nx, nu = model.n_x, model.n_u
    x = ca.SX.sym("x", nx)
    u = ca.SX.sym("u", nu)
    c = ca.SX.sym("c", nx * n_coll)
    tvp = ca.SX.sym("tvp", model.n_tvp)
    z = ca.SX(model.n_z * n_coll, 1)
    p = ca.SX(model.n_p, 1)
    w = ca.SX(model.n_w, 1)
    G, xf = ifcn(x, c, u, z, tvp, p, w)
    discrete = n_coll == 0
    if not discrete:  # the collocation equations condensed into the interval (a sparse QR in the generated code)
        Gc = ca.jacobian(G, c)
        rhs = ca.horzcat(G, ca.jacobian(G, x), ca.jacobian(G, u))
    # the stage cost as the weighted residuals rho (lterm = rho' rho), do-mpc's lterm its sum of squares
    xs_m, us_m, tv_m = model._x, model._u, model._tvp
    rho = ca.vertcat(*[np.sqrt(wt) * e for wt, e in ocp.track_terms])
    rho_fn = ca.Function("rho", [xs_m, us_m, tv_m], [rho])
    r = rho_fn(x, u, tvp)
    Jx, Ju = ca.jacobian(r, x), ca.jacobian(r, u)
    h = mpc._nl_cons_fun(x, u, ca.SX(model.n_z, 1), tvp, p, ca.SX.zeros(mpc.n_eps))
    xm, tvm = ca.SX.sym("x", nx), ca.SX.sym("tvp", model.n_tvp)
    m = mpc.mterm_fun(xm, tvm, p)
    Hm, gm = ca.hessian(m, xm)
    X, U, C, T = (ca.MX.sym(n, k) for n, k in (("x", nx), ("u", nu), ("c", nx * n_coll), ("tvp", model.n_tvp)))
    if discrete:  # the model's update itself: nothing to condense
        fx = ca.Function("stage_sx", [x, u, tvp],
                         [xf, ca.jacobian(xf, x), ca.jacobian(xf, u), r, Jx, Ju, h, ca.jacobian(h, x),
                          ca.jacobian(h, u)])
        xf_v, A, B, r_v, Jx_v, Ju_v, h_v, hx_v, hu_v = fx(X, U, T)
        f0, K = xf_v, ca.MX(0, 1 + nx + nu)
        G_v = ca.MX.zeros(1, 1)
    else:  # the stage's symbolic part, then the condensation in MX around it
        xf_c = ca.jacobian(xf, c)
        sym = ca.Function("stage_sx", [x, u, c, tvp],
                          [Gc, rhs, xf, xf_c, ca.jacobian(xf, x), ca.jacobian(xf, u), r, Jx, Ju, h,
                           ca.jacobian(h, x), ca.jacobian(h, u), G])
        Gc_v, rhs_v, xf_v, xfc_v, xfx_v, xfu_v, r_v, Jx_v, Ju_v, h_v, hx_v, hu_v, G_v = sym(X, U, C, T)
        # dc = K [1; dx; du]. The solve inline in the stage function, not a Function of its own called from it: the
        # called function held its own copy of the dense right-hand side, and the stage's work vector was 26727
        # doubles against 19046 (the NMPC's, 0.21 against 0.15 MB), with the same arithmetic
        K = -ca.solve(Gc_v, ca.densify(rhs_v), "qr")
        lin = xfc_v @ K
        f0 = xf_v + lin[:, 0]
        A = xfx_v + lin[:, 1:1 + nx]
        B = xfu_v + lin[:, 1 + nx:]
    d = ca.densify
    stage = ca.Function(
        OCP_FUNCTIONS["stage"], [X, U, C, T],
        [d(f0), d(A), d(B), d(K), d(2 * Jx_v.T @ r_v), d(2 * Ju_v.T @ r_v), d(2 * Jx_v.T @ Jx_v),
         d(2 * Ju_v.T @ Jx_v), d(2 * Ju_v.T @ Ju_v), d(h_v), d(hx_v), d(hu_v), d(ca.sumsqr(r_v)), d(ca.norm_inf(G_v)),
         d(xf_v), d(ca.norm_1(G_v))],
        ["x", "u", "c", "tvp"],
        ["f0", "A", "B", "K", "gx", "gu", "Hxx", "Hux", "Huu", "h", "hx", "hu", "lterm", "colloc_residual", "x_end",
         "colloc_l1"])
    terminal = ca.Function(OCP_FUNCTIONS["terminal"], [xm, tvm], [d(m), d(gm), d(Hm)],
                           ["x", "tvp"], ["mterm", "gx", "Hxx"])
    return [stage, terminal]


def input_constraint_rows(ocp: ExportableOcp) -> list[int]:
    """The soft constraints whose Jacobian in the inputs is structurally non-zero: the only ones the first stage's QP
    carries (its state is the estimate, fixed, so a constraint on the state alone has a fixed value there and its
    slack a fixed price: dropping it changes no move)."""
    mpc = ocp.mpc
    model = mpc.model
    x, u = ca.SX.sym("x", model.n_x), ca.SX.sym("u", model.n_u)
    tvp = ca.SX.sym("tvp", model.n_tvp)
    h = mpc._nl_cons_fun(x, u, ca.SX(model.n_z, 1), tvp, ca.SX(model.n_p, 1), ca.SX.zeros(mpc.n_eps))
    rows, _ = ca.jacobian(h, u).sparsity().get_triplet()
    return sorted({int(r) for r in rows})


def linear_quadratic(ocp: ExportableOcp) -> bool:
    """Whether the OCP is a QP: the discrete model's update, the stage cost's residuals and the soft constraints
    affine in the state and input, the terminal cost quadratic (the lmpc's). Its Gauss-Newton QP is then the
    problem itself: one SQP iteration solves it."""
    mpc = ocp.mpc
    model = mpc.model
    if model.model_type != "discrete":
        return False
    ifcn, _ = mpc._setup_discretization()
    x, u = ca.SX.sym("x", model.n_x), ca.SX.sym("u", model.n_u)
    tvp, p = ca.SX.sym("tvp", model.n_tvp), ca.SX(model.n_p, 1)
    xu = ca.vertcat(x, u)
    _, xf = ifcn(x, ca.SX.sym("c", 0), u, ca.SX(model.n_z, 1), tvp, p, ca.SX(model.n_w, 1))
    rho = ca.Function("rho", [model._x, model._u, model._tvp],
                      [ca.vertcat(*[e for _, e in ocp.track_terms])])(x, u, tvp)
    h = mpc._nl_cons_fun(x, u, ca.SX(model.n_z, 1), tvp, p, ca.SX.zeros(mpc.n_eps))
    m = mpc.mterm_fun(x, tvp, p)
    return bool(ca.is_linear(xf, xu) and ca.is_linear(rho, xu) and ca.is_linear(h, xu) and ca.is_quadratic(m, x))


def ocp_manifest(ocp: ExportableOcp, *, condense: bool = True) -> dict[str, Any]:
    """The manifest's ``ocp`` section: dimensions, the parameters' layout, penalties and settings, the parameters
    and guess the controller starts with (the recipe's steady state: the edge's target before any is
    published), whether the problem is a QP (:func:`linear_quadratic`) and how the edge solves its QP
    (``condense``: HPIPM's full condensing and dense interior point, else its Riccati recursion; ``docs/edge.md``,
    "Solve time")."""
    _check(ocp)
    mpc = ocp.mpc
    model = mpc.model
    _, n_coll = mpc._setup_discretization()
    penalties: list[float] = []
    names: list[str] = []
    soft = {d["slack_name"]: d for d in mpc.slack_vars_list}
    for d in mpc.nl_cons_list:
        size = int(np.prod(d["expr"].shape))
        penalties += [float(soft[d["expr_name"]]["penalty"])] * size
        names += [d["expr_name"] if size == 1 else f"{d['expr_name']}[{i}]" for i in range(size)]
    ub = np.asarray(mpc._nl_cons_ub.cat, float).ravel()
    st = mpc.settings
    discrete = model.model_type == "discrete"
    return {
        "n_states": int(model.n_x),
        "n_inputs": int(model.n_u),
        "n_colloc": int(model.n_x * n_coll),
        "n_horizon": int(st.n_horizon),
        "t_step_s": float(st.t_step),
        "discretization": "discrete" if discrete else "collocation",
        "collocation_degree": 0 if discrete else int(st.collocation_deg),
        "collocation_elements": 0 if discrete else int(st.collocation_ni),
        "collocation": "" if discrete else str(st.collocation_type),
        "tvp": [[n, k] for n, k in _tvp_layout(model)],
        "constraints": names,
        "constraint_ub": [float(v) for v in ub],
        "stage0_constraints": input_constraint_rows(ocp),
        "penalties": penalties,
        "move_weights": [float(v) for v in np.asarray(mpc.rterm_factor.cat, float).ravel()],
        "speed_index": int(ocp.speed_index),
        "input_lower": [float(v) for v in ocp.u_lb_s],
        "input_upper": [float(v) for v in ocp.u_ub_s],
        "initial_parameters": {k: np.asarray(v, float).ravel(order="F").tolist() for k, v in ocp._tvp_values.items()},
        "initial_guess": {"x": np.asarray(ocp.mpc.x0.cat, float).ravel().tolist(),
                          "u": np.asarray(ocp.mpc.u0.cat, float).ravel().tolist()},
        "functions": dict(OCP_FUNCTIONS),
        "solver_libraries": list(SOLVER_LIBRARIES),
        "linear_quadratic": linear_quadratic(ocp),
        "qp": {"condense": bool(condense)},
    }
