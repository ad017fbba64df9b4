"""calmline's HPIPM driver (``mpc/edge/csrc/calmline_qp.c``) on small QPs whose solutions are known.

The driver is compiled here against the CasADi wheel's HPIPM, as ``calmline export`` compiles it into an
artifact. Each QP is also solved as one dense KKT system (numpy) or checked against its optimality conditions.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mpc.edge import StageQp

# costly module fixtures: one worker runs the whole module (pytest -n 2 with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("edge_qp")

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "mpc" / "edge" / "csrc" / "calmline_qp.c"


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    from controllers._export_ocp import hpipm_files

    includes, libs, driver = hpipm_files()
    assert driver == DRIVER.resolve()
    out = tmp_path_factory.mktemp("qp")
    for f in libs:
        shutil.copy(f, out / f.name)
    so = out / "libqp.so"
    subprocess.run(["cc", "-O1", "-fPIC", "-shared", *[f"-I{d}" for d in includes], str(driver), "-o", str(so),
                    f"-L{out}",
                    "-lhpipm", "-l:libblasfeo.so.0", "-Wl,-rpath,$ORIGIN", "-lm"], check=True)
    for f in libs:
        ctypes.CDLL(str(out / f.name), mode=ctypes.RTLD_GLOBAL)
    return ctypes.CDLL(str(so))


def _double_integrator(qp: StageQp, N: int, x0: np.ndarray) -> None:
    """x+ = A x + B u from x0 (eliminated: stage 0 has no state), cost sum x'Qx + u'Ru (halved)."""
    A = np.array([[1.0, 1.0], [0.0, 1.0]])
    B = np.array([[0.5], [1.0]])
    st = qp.stage
    for k in range(N):
        st["B"][k][:] = B
        st["b"][k][:] = A @ x0 if k == 0 else 0.0
        if k > 0:
            st["A"][k][:] = A
            st["Q"][k][:] = np.eye(2)
        st["R"][k][:] = 0.1
        st["lbu"][k][:] = -10.0
        st["ubu"][k][:] = 10.0
    st["Q"][N][:] = np.eye(2)


def _kkt_solution(N: int, x0: np.ndarray) -> np.ndarray:
    """The unconstrained optimum's inputs by one dense solve (the inputs' condensed Hessian)."""
    A = np.array([[1.0, 1.0], [0.0, 1.0]])
    B = np.array([[0.5], [1.0]])
    # x_k = A^k x0 + sum_j A^(k-1-j) B u_j
    G = np.zeros((2 * N, N))
    f = np.zeros(2 * N)
    for k in range(1, N + 1):
        f[2 * (k - 1):2 * k] = np.linalg.matrix_power(A, k) @ x0
        for j in range(k):
            G[2 * (k - 1):2 * k, j] = (np.linalg.matrix_power(A, k - 1 - j) @ B).ravel()
    H = G.T @ G + 0.1 * np.eye(N)
    return np.linalg.solve(H, -G.T @ f)


@pytest.mark.parametrize("condense", [False, True])
def test_an_unconstrained_qp_equals_its_kkt_solution(lib: ctypes.CDLL, condense: bool) -> None:
    N, x0 = 5, np.array([1.0, -0.5])
    qp = StageQp(lib, [0] + [2] * N, [1] * N + [0], [0] * (N + 1), [0] * (N + 1), condense=condense)
    _double_integrator(qp, N, x0)
    st = qp.solve()
    assert st.ok and st.iterations >= 1
    u = np.array([qp.stage["u"][k][0] for k in range(N)])
    np.testing.assert_allclose(u, _kkt_solution(N, x0), atol=1e-7)
    assert qp.memory_bytes > 0


@pytest.mark.parametrize("condense", [False, True])
def test_a_soft_constraint_is_an_exact_penalty(lib: ctypes.CDLL, condense: bool) -> None:
    """x_1[0] <= ug softened with penalty z: held exactly while the penalty exceeds the constraint's multiplier,
    violated (slack > 0, multiplier = z) when it does not."""
    N, x0 = 3, np.array([1.0, -0.5])
    free = _kkt_solution(N, x0)
    x1_free = (np.array([[1.0, 1.0], [0.0, 1.0]]) @ x0 + np.array([0.5, 1.0]) * free[0])[0]
    bound = x1_free - 0.2  # binding
    for z, held in ((1e3, True), (1e-3, False)):
        qp = StageQp(lib, [0] + [2] * N, [1] * N + [0], [0] * (N + 1), [0, 1, 0, 0], condense=condense)
        _double_integrator(qp, N, x0)
        qp.stage["C"][1][:] = [[1.0, 0.0]]
        qp.stage["ug"][1][:] = bound
        qp.stage["zu"][1][:] = z
        assert qp.solve().ok
        x1 = qp.stage["x"][1][0]
        s = qp.stage["s"][1][0]
        if held:
            assert x1 <= bound + 1e-7 and s <= 1e-7
        else:
            # the constraint x1 - s <= bound is held to the interior point's complementarity: its gap times its
            # multiplier (z) is at most the tolerance (1e-8), so the gap is at most 1e-8 / z = 1e-5
            assert x1 > bound + 1e-3 and s == pytest.approx(x1 - bound, abs=1e-8 / z)
            assert qp.stage["lam"][1][0] == pytest.approx(z, rel=1e-4)


def test_the_condensed_coupling_equals_the_carried_previous_input(lib: ctypes.CDLL) -> None:
    """The move suppression r (u_k - u_{k-1})^2 two ways: stage-wise with the previous input carried as states
    (stages 1..N-1: [x; u_{k-1}]), and condensed with the coupling -2r added to the condensed Hessian
    (StageQp.set_coupling); on a random QP with soft constraints, active and not, the same solution."""
    rng = np.random.default_rng(3)
    N, n, nu, ng = 4, 3, 2, 2
    A = 0.9 * np.eye(n) + 0.05 * rng.standard_normal((n, n))
    B = rng.standard_normal((n, nu))
    x0 = rng.standard_normal(n)
    rw = np.array([0.7, 2.0])
    u_prev = np.array([0.3, -0.2])
    C = rng.standard_normal((ng, n))
    D = rng.standard_normal((ng, nu))
    ug = np.array([-0.6, -0.9])

    def fill(qp: StageQp, carry: bool) -> None:
        st = qp.stage
        for k in range(N):
            st["B"][k][:n] = B
            st["b"][k][:n] = A @ x0 if k == 0 else 0.0
            if k > 0:
                st["A"][k][:n, :n] = A
                st["Q"][k][:n, :n] = np.eye(n)
                st["C"][k][:, :n] = C
            st["D"][k][:] = D
            st["ug"][k][:] = ug
            st["zu"][k][:] = 5.0
            st["R"][k][:] = 0.1 * np.eye(nu) + np.diag(2.0 * rw)  # the move from the previous input
            st["r"][k][:] = -2.0 * rw * u_prev if k == 0 else 0.0
            st["lbu"][k][:] = -3.0
            st["ubu"][k][:] = 3.0
            if carry:
                if k + 1 < N:
                    st["B"][k][n:, :] = np.eye(nu)
                if k >= 1:
                    st["Q"][k][n:, n:] = np.diag(2.0 * rw)
                    st["S"][k][:, n:] = -np.diag(2.0 * rw)
            elif k + 1 < N:
                st["R"][k][np.diag_indices(nu)] += 2.0 * rw  # the next move's term in this input
        st["Q"][N][:] = np.eye(n)

    carried = StageQp(lib, [0] + [n + nu] * (N - 1) + [n], [nu] * N + [0], [0] * (N + 1), [ng] * N + [0])
    fill(carried, True)
    dense = StageQp(lib, [0] + [n] * N, [nu] * N + [0], [0] * (N + 1), [ng] * N + [0], condense=True)
    fill(dense, False)
    dense.set_coupling(2.0 * rw)
    assert carried.solve().ok and dense.solve().ok
    u1 = np.array([carried.stage["u"][k] for k in range(N)])
    u2 = np.array([dense.stage["u"][k] for k in range(N)])
    np.testing.assert_allclose(u2, u1, atol=1e-7)
    assert np.abs(np.diff(u1, axis=0)).max() > 1e-3  # the coupling matters here
    s = np.array([carried.stage["s"][k] for k in range(N)])
    assert s.max() > 1e-3  # a soft constraint is violated: the penalties are part of the optimum
    # without the coupling the condensed QP is another problem
    loose = StageQp(lib, [0] + [n] * N, [nu] * N + [0], [0] * (N + 1), [ng] * N + [0], condense=True)
    fill(loose, False)
    assert loose.solve().ok
    assert np.abs(np.array([loose.stage["u"][k] for k in range(N)]) - u1).max() > 1e-3
    with pytest.raises(ValueError, match="input coupling"):
        carried.set_coupling(2.0 * rw)  # stage-wise: the previous input is carried instead


def test_bad_dimensions_are_refused(lib: ctypes.CDLL) -> None:
    with pytest.raises(ValueError, match="refused the dimensions"):
        StageQp(lib, [2, 2, 2], [1, 1, 0], [0, 0, 0], [0, 0, 0], condense=True)  # condensing needs nx[0] = 0
    with pytest.raises(ValueError, match="QP mode"):
        StageQp(lib, [0, 2], [1, 0], [0, 0], [0, 0], mode="fast")


def test_the_driver_allocates_only_when_created() -> None:
    """Every malloc is in cl_qp_create: a solve allocates nothing (HPIPM's own solve works in the memory given)."""
    src = DRIVER.read_text()
    bodies = dict(re.findall(r"\n(?:void \*|int |long |void )(cl_qp_\w+)\(.*?\{(.*?)\n\}", src, re.S))
    assert set(bodies) >= {"cl_qp_create", "cl_qp_solve", "cl_qp_free", "cl_qp_memory_bytes"}
    assert "malloc" in bodies["cl_qp_create"]
    for name, body in bodies.items():
        if name != "cl_qp_create":
            assert "malloc" not in body and "calloc" not in body, name


def test_stage_bounds_are_cumulative_move_limits_under_the_speed_cap() -> None:
    from mpc.edge import stage_input_bounds

    u = np.array([0.5, 0.2, 0.9])
    up, down = np.array([0.1, 0.05, 0.2]), np.array([0.1, 0.01, 0.2])
    lo, hi = stage_input_bounds(u, up, down, np.array([0.3, 0.4, 0.7]), np.zeros(3), np.ones(3), 0)
    np.testing.assert_allclose(hi[:, 0], [0.3, 0.4, 0.7])  # the speed under its cap per stage
    np.testing.assert_allclose(lo[:, 0], [0.3, 0.3, 0.2])  # stage 1: the cap below the move limit wins
    np.testing.assert_allclose(lo[:, 1], [0.19, 0.18, 0.17])  # falls slowly, rises fast
    np.testing.assert_allclose(hi[:, 1], [0.25, 0.3, 0.35])
    np.testing.assert_allclose(hi[:, 2], [1.0, 1.0, 1.0])  # within the input's range
    assert np.all(lo <= hi)  # the lower bound gives way where the cap is below it


_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
long calmline_malloc_count = 0;
void *malloc(size_t n) {
  static void *(*real)(size_t) = NULL;
  if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  calmline_malloc_count++;
  return real(n);
}
void *realloc(void *p, size_t n) {
  static void *(*real)(void *, size_t) = NULL;
  if (!real) real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  calmline_malloc_count++;
  return real(p, n);
}
"""

_PROGRAM = r"""
#include <dlfcn.h>
#include <stdio.h>
void *cl_qp_create(int, const int *, const int *, const int *, const int *, int, int, double, double, int, int, int);
int cl_qp_solve(void *, const double *, const double *, const double *, const double *, const double *,
                const double *, const double *, const double *, const double *, const double *, const double *,
                const double *, const double *, const double *, const double *, const double *, const double *,
                double *, double *, double *, double *, double *);
int cl_qp_set_coupling(void *, const double *);
static double A[64], B[64], b[64], Q[64], S[64], R[64], q[64], r[64], lbx[64], ubx[64], lbu[64], ubu[64], C[64],
    D[64], ug[64], Zu[64], zu[64], x[64], u[64], s[64], lam[64], st[6];
int main(int argc, char **argv) {
  int nx[3] = {0, 2, 2}, nu[3] = {1, 1, 0}, nbx[3] = {0, 0, 0}, ng[3] = {1, 1, 0};
  int condense = argc > 1;
  long *count = (long *)dlsym(RTLD_DEFAULT, "calmline_malloc_count");
  if (!count) return 3;
  long at_start = *count;
  void *h = cl_qp_create(2, nx, nu, nbx, ng, 1, 30, 1e-8, 1e2, 1, condense, 2);
  if (!h) return 2;
  long created = *count - at_start;
  double r2[1] = {0.4};
  if (condense && cl_qp_set_coupling(h, r2) != 0) return 4;  /* the move coupling's path too */
  for (int i = 0; i < 64; i++) { lbu[i] = -1.0; ubu[i] = 1.0; ug[i] = 1.0; zu[i] = 10.0; }
  R[0] = R[1] = 1.0; Q[0] = Q[3] = Q[4] = Q[7] = 1.0; B[0] = 0.5; B[1] = 1.0; B[2] = 0.5; B[3] = 1.0;
  A[0] = A[1] = A[3] = 1.0; b[0] = 1.0; b[1] = -0.5; D[0] = D[1] = 1.0;
  long before = *count;
  for (int i = 0; i < 20; i++) cl_qp_solve(h, A, B, b, Q, S, R, q, r, lbx, ubx, lbu, ubu, C, D, ug, Zu, zu, x, u, s, lam, st);
  printf("%ld %ld %g\n", created, *count - before, st[0]);
  return 0;
}
"""


@pytest.mark.parametrize("condense", [False, True])
def test_a_solve_calls_no_malloc_at_run_time(tmp_path: Path, condense: bool) -> None:
    """Run for real, every malloc and realloc counted (an LD_PRELOAD shim): 20 solves after the QP's creation
    call neither, in the driver, HPIPM or BLASFEO."""
    from controllers._export_ocp import hpipm_files

    includes, libs, driver = hpipm_files()
    for f in libs:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "shim.c").write_text(_SHIM)
    (tmp_path / "main.c").write_text(_PROGRAM)
    subprocess.run(["cc", "-O1", "-fPIC", "-shared", str(tmp_path / "shim.c"), "-o", str(tmp_path / "shim.so"),
                    "-ldl"], check=True)
    subprocess.run(["cc", "-O1", *[f"-I{d}" for d in includes], str(tmp_path / "main.c"), str(driver), "-o",
                    str(tmp_path / "main"),
                    f"-L{tmp_path}", "-lhpipm", "-l:libblasfeo.so.0", "-Wl,-rpath,$ORIGIN", "-ldl", "-lm"], check=True)
    env = {"LD_PRELOAD": str(tmp_path / "shim.so"), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([str(tmp_path / "main"), *(["condense"] if condense else [])], capture_output=True,
                         text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    created, mallocs, status = res.stdout.split()
    assert int(created) >= 3  # the shim counts: creating the QP takes its memory
    assert int(mallocs) == 0 and float(status) == 0.0, res.stdout
