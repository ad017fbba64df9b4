/*
 * calmline's driver of HPIPM's OCP QP interior point (Frison & Diehl 2020, "HPIPM: a high-performance
 * quadratic programming framework for model predictive control", IFAC-PapersOnLine 53(2)).
 *
 * One QP of the tracking OCP, stage-structured, stages k = 0..N:
 *
 *   min  sum_k 0.5 [u_k; x_k]' [R_k S_k; S_k' Q_k] [u_k; x_k] + r_k' u_k + q_k' x_k + sum_k zu_k' s_k
 *   s.t. x_{k+1} = A_k x_k + B_k u_k + b_k                      k < N
 *        lbx_k <= x_k[0:nbx_k] <= ubx_k                        (stage 0: the initial state, lbx = ubx)
 *        lbu_k <= u_k <= ubu_k
 *        C_k x_k + D_k u_k - s_k <= ug_k,  s_k >= 0            (soft: an exact L1 penalty zu_k)
 *
 * Every matrix column-major; each argument holds the stages' blocks one after the other. All memory is
 * taken in cl_qp_create; cl_qp_solve allocates nothing. Part of calmline (mpc/edge/csrc); compiled into an
 * edge artifact's library by `calmline export`, linked against the HPIPM and BLASFEO copied beside it.
 */
#include <stdlib.h>
#include <string.h>

#include "hpipm_d_cond.h"
#include "hpipm_d_dense_qp.h"
#include "hpipm_d_dense_qp_dim.h"
#include "hpipm_d_dense_qp_ipm.h"
#include "hpipm_d_dense_qp_sol.h"
#include "hpipm_d_ocp_qp.h"
#include "hpipm_d_ocp_qp_dim.h"
#include "hpipm_d_ocp_qp_ipm.h"
#include "hpipm_d_ocp_qp_sol.h"
#include "blasfeo_d_aux.h"

#define CL_MAX_N 64

typedef struct {
  int N;
  int nx[CL_MAX_N + 1], nu[CL_MAX_N + 1], nbx[CL_MAX_N + 1], ng[CL_MAX_N + 1];
  struct d_ocp_qp_dim *dim;
  struct d_ocp_qp *qp;
  struct d_ocp_qp_sol *sol;
  struct d_ocp_qp_ipm_arg *arg;
  struct d_ocp_qp_ipm_ws *ws;
  int condense; /* 1: condensed into a dense QP (x_0 eliminated: nx[0] = 0), solved by the dense interior point */
  struct d_cond_qp_arg *cond_arg;
  struct d_cond_qp_ws *cond_ws;
  struct d_dense_qp_dim *ddim;
  struct d_dense_qp *dqp;
  struct d_dense_qp_sol *dsol;
  struct d_dense_qp_ipm_arg *darg;
  struct d_dense_qp_ipm_ws *dws;
  void *mem_cond, *mem_cond2, *mem_cond3;
  long cond_bytes;
  double *coup;  /* the move suppression's coupling of consecutive inputs (2 r), added to the condensed Hessian */
  int coupled;
  int *idx;      /* 0, 1, 2, ...: every box index */
  int *idxs;     /* the soft constraints' indices */
  double *zeros; /* the lower general bounds and their mask */
  void *mem_dim, *mem_arg, *mem;
} cl_qp;

static size_t al(size_t n) { return (n + 63) & ~(size_t)63; }
static char *aligned(void *p) { return (char *)(((size_t)p + 63) & ~(size_t)63); }

void cl_qp_free(void *handle) {
  cl_qp *h = (cl_qp *)handle;
  if (!h) return;
  void *a = h->mem_dim, *b = h->mem_arg, *c = h->mem;
  free(h->mem_cond);
  free(h->mem_cond2);
  free(h->mem_cond3);
  free(a);
  free(b);
  free(c);
}

/* mode: 0 speed_abs, 1 speed, 2 balance, 3 robust; ric_alg: 0 classical Riccati, 1 square-root; condense: 1
 * condenses the stages into one dense QP (needs nx[0] = 0); warm_start: HPIPM's (0 none, 1 the last solution's
 * primal values, 2 primal and dual, 3 hot start). NULL on bad dimensions or no memory. */
void *cl_qp_create(int N, const int *nx, const int *nu, const int *nbx, const int *ng, int mode, int iter_max,
                   double tol, double mu0, int ric_alg, int condense, int warm_start) {
  if (N < 1 || N > CL_MAX_N) return NULL;
  if (condense && (nx[0] != 0 || nbx[0] != 0)) return NULL;
  int nmax = 1;
  for (int k = 0; k <= N; k++) {
    if (nx[k] < 0 || nu[k] < 0 || nbx[k] < 0 || nbx[k] > nx[k] || ng[k] < 0) return NULL;
    if (k == N && nu[k] != 0) return NULL;
    int m = nx[k] + nu[k] + ng[k];
    if (m > nmax) nmax = m;
  }
  void *mem_dim = malloc(al(d_ocp_qp_dim_strsize()) + al(d_ocp_qp_dim_memsize(N)) + 64);
  if (!mem_dim) return NULL;
  char *c = aligned(mem_dim);
  struct d_ocp_qp_dim *dim = (struct d_ocp_qp_dim *)c;
  d_ocp_qp_dim_create(N, dim, c + al(d_ocp_qp_dim_strsize()));
  for (int k = 0; k <= N; k++) {
    d_ocp_qp_dim_set_nx(k, nx[k], dim);
    d_ocp_qp_dim_set_nu(k, nu[k], dim);
    d_ocp_qp_dim_set_nbx(k, nbx[k], dim);
    d_ocp_qp_dim_set_nbu(k, nu[k], dim);
    d_ocp_qp_dim_set_ng(k, ng[k], dim);
    d_ocp_qp_dim_set_ns(k, ng[k], dim);
  }
  void *mem_arg = malloc(al(d_ocp_qp_ipm_arg_strsize()) + al(d_ocp_qp_ipm_arg_memsize(dim)) + 64);
  if (!mem_arg) { free(mem_dim); return NULL; }
  c = aligned(mem_arg);
  struct d_ocp_qp_ipm_arg *arg = (struct d_ocp_qp_ipm_arg *)c;
  d_ocp_qp_ipm_arg_create(dim, arg, c + al(d_ocp_qp_ipm_arg_strsize()));
  d_ocp_qp_ipm_arg_set_default((enum hpipm_mode)mode, arg);
  d_ocp_qp_ipm_arg_set_iter_max(&iter_max, arg);
  d_ocp_qp_ipm_arg_set_mu0(&mu0, arg);
  d_ocp_qp_ipm_arg_set_tol_stat(&tol, arg);
  d_ocp_qp_ipm_arg_set_tol_eq(&tol, arg);
  d_ocp_qp_ipm_arg_set_tol_ineq(&tol, arg);
  d_ocp_qp_ipm_arg_set_tol_comp(&tol, arg);
  d_ocp_qp_ipm_arg_set_ric_alg(&ric_alg, arg);
  d_ocp_qp_ipm_arg_set_warm_start(&warm_start, arg);
  size_t s_qp = al(d_ocp_qp_strsize()) + al(d_ocp_qp_memsize(dim));
  size_t s_sol = al(d_ocp_qp_sol_strsize()) + al(d_ocp_qp_sol_memsize(dim));
  /* the stage-wise interior point's workspace: not taken when the QP is condensed (the dense solver's is) */
  size_t s_ws = condense ? 0 : al(d_ocp_qp_ipm_ws_strsize()) + al(d_ocp_qp_ipm_ws_memsize(dim, arg));
  size_t s_int = al(2 * (size_t)nmax * sizeof(int));
  size_t s_dbl = al(2 * (size_t)nmax * sizeof(double));
  size_t total = al(sizeof(cl_qp)) + s_qp + s_sol + s_ws + s_int + s_dbl + 64;
  void *mem = malloc(total);
  if (!mem) { free(mem_dim); free(mem_arg); return NULL; }
  memset(mem, 0, total);
  c = aligned(mem);
  cl_qp *h = (cl_qp *)c;
  c += al(sizeof(cl_qp));
  h->mem_dim = mem_dim;
  h->mem_arg = mem_arg;
  h->mem = mem;
  h->N = N;
  for (int k = 0; k <= N; k++) { h->nx[k] = nx[k]; h->nu[k] = nu[k]; h->nbx[k] = nbx[k]; h->ng[k] = ng[k]; }
  h->dim = dim;
  h->arg = arg;
  h->qp = (struct d_ocp_qp *)c;
  d_ocp_qp_create(dim, h->qp, c + al(d_ocp_qp_strsize()));
  c += s_qp;
  h->sol = (struct d_ocp_qp_sol *)c;
  d_ocp_qp_sol_create(dim, h->sol, c + al(d_ocp_qp_sol_strsize()));
  c += s_sol;
  h->ws = NULL;
  if (!condense) {
    h->ws = (struct d_ocp_qp_ipm_ws *)c;
    d_ocp_qp_ipm_ws_create(dim, arg, h->ws, c + al(d_ocp_qp_ipm_ws_strsize()));
  }
  c += s_ws;
  h->idx = (int *)c;
  h->idxs = h->idx + nmax;
  c += s_int;
  h->zeros = (double *)c;
  h->coup = h->zeros + nmax;
  h->coupled = 0;
  for (int i = 0; i < nmax; i++) { h->idx[i] = i; h->zeros[i] = 0.0; h->coup[i] = 0.0; }
  for (int k = 0; k <= N; k++) {
    if (nbx[k] > 0) d_ocp_qp_set_idxbx(k, h->idx, h->qp);
    if (nu[k] > 0) d_ocp_qp_set_idxbu(k, h->idx, h->qp);
    if (ng[k] > 0) {
      for (int j = 0; j < ng[k]; j++) h->idxs[j] = nu[k] + nbx[k] + j;
      d_ocp_qp_set_idxs(k, h->idxs, h->qp);
      /* one-sided: the lower side of the general constraints off (the lower slacks stay >= 0, priced) */
      d_ocp_qp_set_lg(k, h->zeros, h->qp);
      d_ocp_qp_set_lg_mask(k, h->zeros, h->qp);
    }
  }
  h->condense = condense;
  if (condense) {
    size_t s_ca = al(sizeof(struct d_cond_qp_arg)) + al(d_cond_qp_arg_memsize());
    size_t s_dd = al(sizeof(struct d_dense_qp_dim)) + al(d_dense_qp_dim_memsize());
    size_t s_cw = al(sizeof(struct d_cond_qp_ws));
    /* the sizes that depend on the condensed dimensions are taken in a second pass below */
    void *m1 = malloc(s_ca + s_dd + 128);
    if (!m1) { cl_qp_free(h); return NULL; }
    char *p = aligned(m1);
    struct d_cond_qp_arg *ca = (struct d_cond_qp_arg *)p;
    d_cond_qp_arg_create(ca, p + al(sizeof(struct d_cond_qp_arg)));
    d_cond_qp_arg_set_default(ca);
    d_cond_qp_arg_set_ric_alg(ric_alg, ca);
    /* HPIPM's condensing algorithm 1 (cost O(N^3 nx^2)) rather than its default 0 (O(N^2 nx^3), which keeps
     * every stage's Gamma matrix): for the NMPC's QP (N = 6, nx = 51) half the workspace, 0.24 against
     * 0.46 MB (docs/edge.md, "Speed") */
    d_cond_qp_arg_set_cond_alg(1, ca);
    p += s_ca;
    struct d_dense_qp_dim *dd = (struct d_dense_qp_dim *)p;
    d_dense_qp_dim_create(dd, p + al(sizeof(struct d_dense_qp_dim)));
    d_cond_qp_compute_dim(dim, dd);
    size_t s_cwm = al(d_cond_qp_ws_memsize(dim, ca));
    size_t s_dq = al(sizeof(struct d_dense_qp)) + al(d_dense_qp_memsize(dd));
    size_t s_ds = al(sizeof(struct d_dense_qp_sol)) + al(d_dense_qp_sol_memsize(dd));
    size_t s_da = al(sizeof(struct d_dense_qp_ipm_arg)) + al(d_dense_qp_ipm_arg_memsize(dd));
    void *m2 = malloc(s_cw + s_cwm + s_dq + s_ds + s_da + 128);
    if (!m2) { free(m1); cl_qp_free(h); return NULL; }
    p = aligned(m2);
    struct d_cond_qp_ws *cw = (struct d_cond_qp_ws *)p;
    d_cond_qp_ws_create(dim, ca, cw, p + s_cw);
    p += s_cw + s_cwm;
    struct d_dense_qp *dq = (struct d_dense_qp *)p;
    d_dense_qp_create(dd, dq, p + al(sizeof(struct d_dense_qp)));
    p += s_dq;
    struct d_dense_qp_sol *ds = (struct d_dense_qp_sol *)p;
    d_dense_qp_sol_create(dd, ds, p + al(sizeof(struct d_dense_qp_sol)));
    p += s_ds;
    struct d_dense_qp_ipm_arg *da = (struct d_dense_qp_ipm_arg *)p;
    d_dense_qp_ipm_arg_create(dd, da, p + al(sizeof(struct d_dense_qp_ipm_arg)));
    d_dense_qp_ipm_arg_set_default((enum hpipm_mode)mode, da);
    d_dense_qp_ipm_arg_set_iter_max(&iter_max, da);
    d_dense_qp_ipm_arg_set_mu0(&mu0, da);
    d_dense_qp_ipm_arg_set_tol_stat(&tol, da);
    d_dense_qp_ipm_arg_set_tol_eq(&tol, da);
    d_dense_qp_ipm_arg_set_tol_ineq(&tol, da);
    d_dense_qp_ipm_arg_set_tol_comp(&tol, da);
    d_dense_qp_ipm_arg_set_warm_start(&warm_start, da);
    size_t s_dw = al(sizeof(struct d_dense_qp_ipm_ws)) + al(d_dense_qp_ipm_ws_memsize(dd, da));
    void *m3 = malloc(s_dw + 64);
    if (!m3) { free(m1); free(m2); cl_qp_free(h); return NULL; }
    p = aligned(m3);
    struct d_dense_qp_ipm_ws *dw = (struct d_dense_qp_ipm_ws *)p;
    d_dense_qp_ipm_ws_create(dd, da, dw, p + al(sizeof(struct d_dense_qp_ipm_ws)));
    h->cond_arg = ca;
    h->cond_ws = cw;
    h->ddim = dd;
    h->dqp = dq;
    h->dsol = ds;
    h->darg = da;
    h->dws = dw;
    h->mem_cond = m1;
    h->mem_cond2 = m2;
    h->mem_cond3 = m3;
    h->cond_bytes = (long)(s_ca + s_dd + s_cw + s_cwm + s_dq + s_ds + s_da + s_dw);
  }
  return h;
}

/* HPIPM's warm start for the next solves (0 none, 1 primal, 2 primal and dual, 3 hot start). */
void cl_qp_set_warm_start(void *handle, int warm_start) {
  cl_qp *h = (cl_qp *)handle;
  d_ocp_qp_ipm_arg_set_warm_start(&warm_start, h->arg);
  if (h->condense) d_dense_qp_ipm_arg_set_warm_start(&warm_start, h->darg);
}

/*
 * The move suppression sum_k r' (u_k - u_{k-1})^2 without carrying the previous input as states (condensed QPs
 * only): the stages' R_k and r_k hold its diagonal and gradient, and this adds the coupling -2 r between u_k
 * and u_{k-1} (k = 1..N-1) to the condensed Hessian, whose inputs HPIPM orders [u_0; ...; u_{N-1}] (tested). r2 = 2 r,
 * one per input. Returns 0, or -1 when the QP is not condensed or the stages' input counts differ.
 */
int cl_qp_set_coupling(void *handle, const double *r2) {
  cl_qp *h = (cl_qp *)handle;
  if (!h->condense) return -1;
  for (int k = 1; k < h->N; k++)
    if (h->nu[k] != h->nu[0]) return -1;
  h->coupled = 0;
  for (int i = 0; i < h->nu[0]; i++) {
    h->coup[i] = r2[i];
    if (r2[i] != 0.0) h->coupled = 1;
  }
  return 0;
}

/* The stage dimensions' total memory HPIPM took (bytes), for the static-memory figure. */
long cl_qp_memory_bytes(void *handle) {
  cl_qp *h = (cl_qp *)handle;
  return (long)(al(d_ocp_qp_dim_strsize()) + al(d_ocp_qp_dim_memsize(h->N)) + al(d_ocp_qp_ipm_arg_strsize()) +
                al(d_ocp_qp_ipm_arg_memsize(h->dim)) + al(d_ocp_qp_strsize()) + al(d_ocp_qp_memsize(h->dim)) +
                al(d_ocp_qp_sol_strsize()) + al(d_ocp_qp_sol_memsize(h->dim)) +
                (h->condense ? 0 : al(d_ocp_qp_ipm_ws_strsize()) + al(d_ocp_qp_ipm_ws_memsize(h->dim, h->arg))) +
                h->cond_bytes);
}

/*
 * Solve one QP. Outputs: x (sum nx), u (sum nu), s (sum ng: the upper slacks), lam (sum ng: the soft
 * constraints' upper multipliers), stats[6] = {status, iterations, res_stat, res_eq, res_ineq, res_comp}.
 * HPIPM's status: 0 success, 1 maximum iterations, 2 minimum step length, 3 NaN.
 */
int cl_qp_solve(void *handle, const double *A, const double *B, const double *b, const double *Q, const double *S,
                const double *R, const double *q, const double *r, const double *lbx, const double *ubx,
                const double *lbu, const double *ubu, const double *C, const double *D, const double *ug,
                const double *Zu, const double *zu, double *x, double *u, double *s, double *lam, double *stats) {
  cl_qp *h = (cl_qp *)handle;
  struct d_ocp_qp *qp = h->qp;
  int N = h->N;
  size_t oA = 0, oB = 0, ob = 0, oQ = 0, oS = 0, oR = 0, oq = 0, or_ = 0, obx = 0, ou = 0, oC = 0, oD = 0, og = 0;
  for (int k = 0; k <= N; k++) {
    int nx = h->nx[k], nu = h->nu[k], nbx = h->nbx[k], ng = h->ng[k];
    if (k < N) {
      int nx1 = h->nx[k + 1];
      d_ocp_qp_set_A(k, (double *)A + oA, qp);
      d_ocp_qp_set_B(k, (double *)B + oB, qp);
      d_ocp_qp_set_b(k, (double *)b + ob, qp);
      oA += (size_t)nx1 * nx;
      oB += (size_t)nx1 * nu;
      ob += (size_t)nx1;
    }
    d_ocp_qp_set_Q(k, (double *)Q + oQ, qp);
    d_ocp_qp_set_q(k, (double *)q + oq, qp);
    oQ += (size_t)nx * nx;
    oq += (size_t)nx;
    if (nu > 0) {
      d_ocp_qp_set_S(k, (double *)S + oS, qp);
      d_ocp_qp_set_R(k, (double *)R + oR, qp);
      d_ocp_qp_set_r(k, (double *)r + or_, qp);
      d_ocp_qp_set_lbu(k, (double *)lbu + ou, qp);
      d_ocp_qp_set_ubu(k, (double *)ubu + ou, qp);
      oS += (size_t)nu * nx;
      oR += (size_t)nu * nu;
      or_ += (size_t)nu;
      ou += (size_t)nu;
    }
    if (nbx > 0) {
      d_ocp_qp_set_lbx(k, (double *)lbx + obx, qp);
      d_ocp_qp_set_ubx(k, (double *)ubx + obx, qp);
      obx += (size_t)nbx;
    }
    if (ng > 0) {
      d_ocp_qp_set_C(k, (double *)C + oC, qp);
      d_ocp_qp_set_D(k, (double *)D + oD, qp);
      d_ocp_qp_set_ug(k, (double *)ug + og, qp);
      d_ocp_qp_set_Zl(k, (double *)Zu + og, qp);
      d_ocp_qp_set_Zu(k, (double *)Zu + og, qp);
      d_ocp_qp_set_zl(k, (double *)zu + og, qp);
      d_ocp_qp_set_zu(k, (double *)zu + og, qp);
      oC += (size_t)ng * nx;
      oD += (size_t)ng * nu;
      og += (size_t)ng;
    }
  }
  int status = 0, iter = 0;
  double res[4] = {0, 0, 0, 0};
  if (h->condense) {
    d_cond_qp_cond(qp, h->dqp, h->cond_arg, h->cond_ws);
    if (h->coupled) {
      int nu = h->nu[0];
      for (int k = 1; k < N; k++) {
        int ik = k * nu, ip = (k - 1) * nu; /* u_k and u_{k-1} in [u_0; ...; u_{N-1}] */
        for (int i = 0; i < nu; i++) {
          double v = blasfeo_dgeex1(h->dqp->Hv, ik + i, ip + i) - h->coup[i];
          blasfeo_dgein1(v, h->dqp->Hv, ik + i, ip + i);
          blasfeo_dgein1(v, h->dqp->Hv, ip + i, ik + i);
        }
      }
    }
    d_dense_qp_ipm_solve(h->dqp, h->dsol, h->darg, h->dws);
    d_cond_qp_expand_sol(qp, h->dsol, h->sol, h->cond_arg, h->cond_ws);
    d_dense_qp_ipm_get_status(h->dws, &status);
    d_dense_qp_ipm_get_iter(h->dws, &iter);
    d_dense_qp_ipm_get_max_res_stat(h->dws, &res[0]);
    d_dense_qp_ipm_get_max_res_eq(h->dws, &res[1]);
    d_dense_qp_ipm_get_max_res_ineq(h->dws, &res[2]);
    d_dense_qp_ipm_get_max_res_comp(h->dws, &res[3]);
  } else {
    d_ocp_qp_ipm_solve(qp, h->sol, h->arg, h->ws);
    d_ocp_qp_ipm_get_status(h->ws, &status);
    d_ocp_qp_ipm_get_iter(h->ws, &iter);
    d_ocp_qp_ipm_get_max_res_stat(h->ws, &res[0]);
    d_ocp_qp_ipm_get_max_res_eq(h->ws, &res[1]);
    d_ocp_qp_ipm_get_max_res_ineq(h->ws, &res[2]);
    d_ocp_qp_ipm_get_max_res_comp(h->ws, &res[3]);
  }
  size_t ox = 0;
  ou = 0;
  og = 0;
  for (int k = 0; k <= N; k++) {
    d_ocp_qp_sol_get_x(k, h->sol, x + ox);
    ox += (size_t)h->nx[k];
    if (h->nu[k] > 0) {
      d_ocp_qp_sol_get_u(k, h->sol, u + ou);
      ou += (size_t)h->nu[k];
    }
    if (h->ng[k] > 0) {
      d_ocp_qp_sol_get_su(k, h->sol, s + og);
      d_ocp_qp_sol_get_lam_ug(k, h->sol, lam + og);
      og += (size_t)h->ng[k];
    }
  }
  stats[0] = status;
  stats[1] = iter;
  for (int i = 0; i < 4; i++) stats[2 + i] = res[i];
  return status;
}
