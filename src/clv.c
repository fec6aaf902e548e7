/* SPDX-License-Identifier: MIT */
/*
 * BG/NBD and Gamma-Gamma: likelihoods, Nelder-Mead maximum likelihood,
 * per-customer predictions, 2F1 and the heuristic fallback. Pure (libm only):
 * the formulas and their sources are in docs/intelligence-models.md.
 */
#include "tracksies/clv.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NM_MAX_DIM 4
#define NM_STEP 1.0			/* initial simplex edge, in log units */
#define NM_FTOL 1e-12			/* relative spread of f over the simplex */
#define NM_XTOL 1e-8			/* simplex size, in log units */
#define NM_MAX_ITER_RUN 2000
#define NM_MAX_RESTARTS 10
#define NM_MAX_ITER_TOTAL 6000		/* ~20x a normal fit; bounds a bad day */
#define NM_MAX_THETA 40.0		/* exp(40): beyond that, reject the point */
#define FIT_MAX_THETA 18.42		/* parameters must stay in [1e-8, 1e8] */

#define HYP_MAX_TERMS 100000
#define HYP_SERIES_MAX_Z 0.75
#define HYP_C_STEP 3e-6			/* interpolation step near integer c-a-b */
#define EY_A_STEP 1e-5			/* interpolation step near a == 1 */

/* ---- shared helpers -------------------------------------------------- */

static bool
customer_valid(const struct clv_customer *c)
{
	return isfinite(c->x) && isfinite(c->t_x) && isfinite(c->T) &&
	    isfinite(c->m_x) && c->x >= 0.0 && c->x <= 1e9 &&
	    c->x == floor(c->x) && c->T >= 0.0 && c->t_x >= 0.0 &&
	    c->t_x <= c->T && c->m_x >= 0.0;
}

static enum ts_rc
customers_valid(const struct clv_customer *c, size_t n)
{
	if (c == NULL || n == 0)
		return TS_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!customer_valid(&c[i]))
			return TS_ERR_INVALID;
	return TS_OK;
}

/* log(exp(u) + exp(v)) without overflow or loss when both are very negative. */
static double
log_sum_exp(double u, double v)
{
	double hi = u > v ? u : v, lo = u > v ? v : u;

	if (hi == -INFINITY)
		return -INFINITY;
	return hi + log1p(exp(lo - hi));
}

static int
cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* ---- Nelder-Mead ----------------------------------------------------- */

static bool
theta_in_range(const double *theta, int dim)
{
	for (int k = 0; k < dim; k++)
		if (!(fabs(theta[k]) <= FIT_MAX_THETA))
			return false;
	return true;
}

struct nm_result {
	double f;
	int iterations;
	int restarts;
	bool converged;
};

enum nm_stop {
	NM_TOLERANCE,		/* converged */
	NM_CAP,			/* out of iterations */
	NM_ESCAPED,		/* best vertex left [-FIT_MAX_THETA, FIT_MAX_THETA] */
};

/*
 * One Nelder-Mead run from theta (standard coefficients: reflect 1, expand
 * 2, contract 1/2, shrink 1/2). theta gets the best vertex. A best vertex
 * outside the box means the optimum is on the boundary (say, a -> 0: no one
 * ever drops out); stop there rather than crawl along the ridge.
 */
static enum nm_stop
nm_run(double (*fn)(const double *, void *), void *ctx, int dim,
    double *theta, double *f_out, int *iterations)
{
	double v[NM_MAX_DIM + 1][NM_MAX_DIM], f[NM_MAX_DIM + 1];
	double cen[NM_MAX_DIM], xr[NM_MAX_DIM], xe[NM_MAX_DIM], xc[NM_MAX_DIM];
	enum nm_stop stop = NM_CAP;
	int it;

	for (int i = 0; i <= dim; i++) {
		memcpy(v[i], theta, sizeof(double) * (size_t)dim);
		if (i > 0)
			v[i][i - 1] += NM_STEP;
		f[i] = fn(v[i], ctx);
	}
	for (it = 0; it < NM_MAX_ITER_RUN; it++) {
		double fr, fe, fc, size = 0.0;

		/* Insertion sort: v[0] best, v[dim] worst. */
		for (int i = 1; i <= dim; i++) {
			for (int j = i; j > 0 && f[j] < f[j - 1]; j--) {
				double tf = f[j], tv[NM_MAX_DIM];

				memcpy(tv, v[j], sizeof(tv));
				memcpy(v[j], v[j - 1], sizeof(tv));
				memcpy(v[j - 1], tv, sizeof(tv));
				f[j] = f[j - 1];
				f[j - 1] = tf;
			}
		}
		for (int i = 1; i <= dim; i++)
			for (int k = 0; k < dim; k++)
				size = fmax(size, fabs(v[i][k] - v[0][k]));
		if (isfinite(f[0]) && f[dim] - f[0] <= NM_FTOL * (1.0 + fabs(f[0])) &&
		    size <= NM_XTOL) {
			stop = NM_TOLERANCE;
			break;
		}
		if (!theta_in_range(v[0], dim)) {
			stop = NM_ESCAPED;
			break;
		}
		for (int k = 0; k < dim; k++) {
			cen[k] = 0.0;
			for (int i = 0; i < dim; i++)
				cen[k] += v[i][k];
			cen[k] /= dim;
			xr[k] = cen[k] + (cen[k] - v[dim][k]);
		}
		fr = fn(xr, ctx);
		if (fr < f[0]) {
			for (int k = 0; k < dim; k++)
				xe[k] = cen[k] + 2.0 * (cen[k] - v[dim][k]);
			fe = fn(xe, ctx);
			if (fe < fr) {
				memcpy(v[dim], xe, sizeof(double) * (size_t)dim);
				f[dim] = fe;
			} else {
				memcpy(v[dim], xr, sizeof(double) * (size_t)dim);
				f[dim] = fr;
			}
			continue;
		}
		if (fr < f[dim - 1]) {
			memcpy(v[dim], xr, sizeof(double) * (size_t)dim);
			f[dim] = fr;
			continue;
		}
		if (fr < f[dim]) {
			for (int k = 0; k < dim; k++)
				xc[k] = cen[k] + 0.5 * (xr[k] - cen[k]);
			fc = fn(xc, ctx);
			if (fc <= fr) {
				memcpy(v[dim], xc, sizeof(double) * (size_t)dim);
				f[dim] = fc;
				continue;
			}
		} else {
			for (int k = 0; k < dim; k++)
				xc[k] = cen[k] + 0.5 * (v[dim][k] - cen[k]);
			fc = fn(xc, ctx);
			if (fc < f[dim]) {
				memcpy(v[dim], xc, sizeof(double) * (size_t)dim);
				f[dim] = fc;
				continue;
			}
		}
		for (int i = 1; i <= dim; i++) {
			for (int k = 0; k < dim; k++)
				v[i][k] = v[0][k] + 0.5 * (v[i][k] - v[0][k]);
			f[i] = fn(v[i], ctx);
		}
	}
	/* The loop may end on the cap with the best vertex not yet in front. */
	{
		int best = 0;

		for (int i = 1; i <= dim; i++)
			if (f[i] < f[best])
				best = i;
		memcpy(theta, v[best], sizeof(double) * (size_t)dim);
		*f_out = f[best];
	}
	*iterations += it;
	return stop;
}

/*
 * Minimise fn from theta, restarting a fresh simplex at the best point until
 * a restart no longer improves f: a single Nelder-Mead run can stall on a
 * collapsed simplex in the long, curved valleys these likelihoods have.
 */
static void
nm_minimize(double (*fn)(const double *, void *), void *ctx, int dim,
    double *theta, struct nm_result *res)
{
	double f_prev = HUGE_VAL, f = HUGE_VAL;
	enum nm_stop stop;
	bool done = false;

	memset(res, 0, sizeof(*res));
	for (int run = 0; run <= NM_MAX_RESTARTS && !done &&
	    res->iterations < NM_MAX_ITER_TOTAL; run++) {
		stop = nm_run(fn, ctx, dim, theta, &f, &res->iterations);
		if (run > 0)
			res->restarts++;
		if (stop == NM_ESCAPED)
			break;
		done = run > 0 && stop == NM_TOLERANCE &&
		    f_prev - f <= NM_FTOL * (1.0 + fabs(f));
		f_prev = f;
	}
	res->f = f;
	res->converged = done && isfinite(f);
}

/* ---- BG/NBD ---------------------------------------------------------- */

/*
 * XXX: glibc's lgamma() stores the sign of Gamma in the global signgam, so
 * two threads fitting at once race on that int (the values are unaffected:
 * every argument here is positive). Fit from one thread; lgamma_r or an own
 * Lanczos log-gamma would close this.
 */

/* log L for one customer: A1 + A2 + log(exp(A3) + [x > 0] exp(A4)). */
static double
bg_ll_one(double r, double alpha, double a, double b, double x, double t_x,
    double T)
{
	double a12 = lgamma(r + x) - lgamma(r) + r * log(alpha) +
	    lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
	double a3 = -(r + x) * log(alpha + T);

	if (x == 0.0)
		return a12 + a3;
	return a12 + log_sum_exp(a3,
	    log(a) - log(b + x - 1.0) - (r + x) * log(alpha + t_x));
}

/* One customer's (x, t_x, T) while sorting. */
struct bg_key {
	double x, t_x, T;
};

/*
 * Customers with equal (x, t_x, T), evaluated once and weighted by count;
 * i_tx and i_T index bg_fit.times. 16 bytes, so a million rows stream
 * through the cache cheaply on every evaluation.
 */
struct bg_row {
	uint32_t x, count, i_tx, i_T;
};

struct bg_fit {
	struct bg_row *rows;	/* sorted by x */
	size_t nrows;
	double *times;		/* distinct t_x and T values, ascending */
	double *log_at;		/* log(alpha + times[k]), per evaluation */
	size_t nt;
};

static int
cmp_bg_key(const void *pa, const void *pb)
{
	const struct bg_key *a = pa, *b = pb;

	if (a->x != b->x)
		return (a->x > b->x) - (a->x < b->x);
	if (a->t_x != b->t_x)
		return (a->t_x > b->t_x) - (a->t_x < b->t_x);
	return (a->T > b->T) - (a->T < b->T);
}

static uint32_t
time_index(const struct bg_fit *bf, double t)
{
	size_t lo = 0, hi = bf->nt;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (bf->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/*
 * The hot loop of the fit. Besides the grouping, two savings: the lgamma
 * terms depend on x alone (rows are sorted by x), and log-sum-exp's
 * log(1 + e), e = exp(lo - hi) in (0, 1], is summed as the log of a running
 * product over rows of count 1 (each factor is in (1, 2], so 512 of them
 * cannot overflow): one exp per row instead of exp and log1p.
 */
static double
bg_loglik_grouped(const struct bg_fit *bf, double r, double alpha, double a,
    double b)
{
	double ll = 0.0, a12 = 0.0, c4 = 0.0, x = 0.0, prod = 1.0;
	uint32_t prev_x = UINT32_MAX;
	int nprod = 0;

	for (size_t k = 0; k < bf->nt; k++)
		bf->log_at[k] = log(alpha + bf->times[k]);
	for (size_t i = 0; i < bf->nrows; i++) {
		const struct bg_row *g = &bf->rows[i];
		double a3, a4, hi, e;

		if (g->x != prev_x) {
			prev_x = g->x;
			x = (double)g->x;
			a12 = lgamma(r + x) - lgamma(r) + r * log(alpha) +
			    lgamma(a + b) + lgamma(b + x) - lgamma(b) -
			    lgamma(a + b + x);
			c4 = x > 0.0 ? log(a) - log(b + x - 1.0) : 0.0;
		}
		a3 = -(r + x) * bf->log_at[g->i_T];
		if (g->x == 0) {
			ll += g->count * (a12 + a3);
			continue;
		}
		a4 = c4 - (r + x) * bf->log_at[g->i_tx];
		hi = a3 > a4 ? a3 : a4;
		e = exp(-fabs(a3 - a4));
		ll += g->count * (a12 + hi);
		if (g->count != 1) {
			ll += g->count * log1p(e);
			continue;
		}
		prod *= 1.0 + e;
		if (++nprod == 512) {
			ll += log(prod);
			prod = 1.0;
			nprod = 0;
		}
	}
	return ll + log(prod);
}

static double
bg_objective(const double *theta, void *ctx)
{
	double ll;

	for (int k = 0; k < 4; k++)
		if (!(fabs(theta[k]) <= NM_MAX_THETA))
			return HUGE_VAL;
	ll = bg_loglik_grouped(ctx, exp(theta[0]), exp(theta[1]),
	    exp(theta[2]), exp(theta[3]));
	return isfinite(ll) ? -ll : HUGE_VAL;
}

/* Sort, count equal summaries, index the distinct times. n < 2^32. */
static enum ts_rc
bg_fit_build(const struct clv_customer *c, size_t n, struct bg_fit *bf)
{
	struct bg_key *keys = NULL;
	size_t nk = 0, nt = 0;
	enum ts_rc rc = TS_ERR_NOMEM;

	memset(bf, 0, sizeof(*bf));
	if (n > SIZE_MAX / sizeof(*keys))
		goto out;
	if ((keys = malloc(n * sizeof(*keys))) == NULL ||
	    (bf->times = malloc(2 * n * sizeof(double))) == NULL ||
	    (bf->rows = malloc(n * sizeof(*bf->rows))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		keys[i].x = c[i].x;
		keys[i].t_x = c[i].x > 0.0 ? c[i].t_x : 0.0;
		keys[i].T = c[i].T;
	}
	qsort(keys, n, sizeof(*keys), cmp_bg_key);
	for (size_t i = 0; i < n; i++) {
		if (nk > 0 && cmp_bg_key(&keys[nk - 1], &keys[i]) == 0) {
			bf->rows[nk - 1].count++;
			continue;
		}
		keys[nk] = keys[i];
		bf->rows[nk].x = (uint32_t)keys[i].x;
		bf->rows[nk].count = 1;
		nk++;
	}
	bf->nrows = nk;
	for (size_t i = 0; i < nk; i++) {
		bf->times[nt++] = keys[i].T;
		if (keys[i].x > 0.0)
			bf->times[nt++] = keys[i].t_x;
	}
	qsort(bf->times, nt, sizeof(double), cmp_double);
	for (size_t k = 0; k < nt; k++)
		if (bf->nt == 0 || bf->times[bf->nt - 1] != bf->times[k])
			bf->times[bf->nt++] = bf->times[k];
	if ((bf->log_at = malloc(bf->nt * sizeof(double))) == NULL)
		goto out;
	for (size_t i = 0; i < nk; i++) {
		bf->rows[i].i_T = time_index(bf, keys[i].T);
		bf->rows[i].i_tx = time_index(bf, keys[i].t_x);
	}
	rc = TS_OK;
out:
	free(keys);
	return rc;
}

static void
bg_fit_fini(struct bg_fit *bf)
{
	free(bf->rows);
	free(bf->times);
	free(bf->log_at);
}

enum ts_rc
clv_fit_bgnbd(const struct clv_customer *c, size_t n, struct clv_bgnbd *out)
{
	struct bg_fit bf = { 0 };
	struct nm_result res;
	double theta[4], sum_x = 0.0, sum_T = 0.0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = customers_valid(c, n)) != TS_OK)
		return rc;
	if (n > UINT32_MAX)
		return TS_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		sum_x += c[i].x;
		sum_T += c[i].T;
	}
	if (sum_x == 0.0)
		return TS_ERR_INVALID;
	if ((rc = bg_fit_build(c, n, &bf)) != TS_OK)
		goto out;
	/* Start at r = a = b = 1 with r / alpha = the population's weekly rate. */
	theta[0] = 0.0;
	theta[1] = log(fmax(sum_T, 1e-3) / sum_x);
	theta[2] = 0.0;
	theta[3] = 0.0;
	nm_minimize(bg_objective, &bf, 4, theta, &res);
	out->r = exp(theta[0]);
	out->alpha = exp(theta[1]);
	out->a = exp(theta[2]);
	out->b = exp(theta[3]);
	out->loglik = -res.f;
	out->iterations = res.iterations;
	out->restarts = res.restarts;
	out->converged = res.converged && theta_in_range(theta, 4);
out:
	bg_fit_fini(&bf);
	return rc;
}

double
clv_bgnbd_loglik(const struct clv_bgnbd *m, const struct clv_customer *c,
    size_t n)
{
	double ll = 0.0;

	for (size_t i = 0; i < n; i++)
		ll += bg_ll_one(m->r, m->alpha, m->a, m->b, c[i].x, c[i].t_x,
		    c[i].T);
	return ll;
}

double
clv_p_alive(const struct clv_bgnbd *m, double x, double t_x, double T)
{
	double log_odds;

	if (!(x >= 0.0 && t_x >= 0.0 && T >= t_x))
		return NAN;
	if (x == 0.0)
		return 1.0;
	log_odds = log(m->a) - log(m->b + x - 1.0) +
	    (m->r + x) * (log(m->alpha + T) - log(m->alpha + t_x));
	return 1.0 / (1.0 + exp(log_odds));
}

/*
 * FHL (2005) eq. 10 with Euler's transformation applied to its 2F1:
 * ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
 *   = ((alpha+T)/(alpha+T+t))^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),
 * which stays O(1) for heavy buyers where the original overflows.
 */
static double
expected_transactions_at(double r, double alpha, double a, double b, double t,
    double x, double t_x, double T)
{
	double z = t / (alpha + T + t);
	double log_1mz = log(alpha + T) - log(alpha + T + t);
	double f = clv_hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z);
	double num = (a + b + x - 1.0) / (a - 1.0) *
	    (1.0 - exp((a - 1.0) * log_1mz) * f);
	double den = 1.0;

	if (x > 0.0)
		den += exp(log(a) - log(b + x - 1.0) +
		    (r + x) * (log(alpha + T) - log(alpha + t_x)));
	return num / den;
}

double
clv_expected_transactions(const struct clv_bgnbd *m, double t, double x,
    double t_x, double T)
{
	double lo, hi, w;

	if (!(t >= 0.0 && x >= 0.0 && t_x >= 0.0 && T >= t_x))
		return NAN;
	if (t == 0.0)
		return 0.0;
	if (fabs(m->a - 1.0) >= EY_A_STEP / 2)
		return expected_transactions_at(m->r, m->alpha, m->a, m->b, t,
		    x, t_x, T);
	/* a == 1 is a removable singularity: interpolate across it. */
	lo = expected_transactions_at(m->r, m->alpha, 1.0 - EY_A_STEP, m->b, t,
	    x, t_x, T);
	hi = expected_transactions_at(m->r, m->alpha, 1.0 + EY_A_STEP, m->b, t,
	    x, t_x, T);
	w = (m->a - (1.0 - EY_A_STEP)) / (2.0 * EY_A_STEP);
	return lo + w * (hi - lo);
}

/* ---- Gamma-Gamma ----------------------------------------------------- */

/* Customers with equal (x, x m_x), counted once. */
struct gg_group {
	double x, y, w;
};

struct gg_fit {
	struct gg_group *g;
	size_t ng;
	double n;		/* customers used */
	double s_x_log_m;	/* sum of x log m_x */
	double s_log_m;		/* sum of log m_x */
	double s_x_log_x;	/* sum of x log x */
};

static int
cmp_gg_group(const void *pa, const void *pb)
{
	const struct gg_group *a = pa, *b = pb;

	if (a->x != b->x)
		return (a->x > b->x) - (a->x < b->x);
	return (a->y > b->y) - (a->y < b->y);
}

static bool
gg_usable(const struct clv_customer *c)
{
	return c->x >= 1.0 && c->m_x > 0.0;
}

/*
 * log f(m | p, q, gamma, x) = lgamma(px+q) - lgamma(px) - lgamma(q)
 *   + q log gamma + (px-1) log m + px log x - (px+q) log(gamma + m x),
 * summed with the terms that do not involve gamma precomputed.
 */
static double
gg_loglik_grouped(const struct gg_fit *gf, double p, double q, double gamma)
{
	double ll = gf->n * (q * log(gamma) - lgamma(q)) +
	    p * (gf->s_x_log_m + gf->s_x_log_x) - gf->s_log_m;
	double prev_x = -1.0, lg = 0.0;

	for (size_t i = 0; i < gf->ng; i++) {
		const struct gg_group *g = &gf->g[i];

		if (g->x != prev_x) {
			prev_x = g->x;
			lg = lgamma(p * g->x + q) - lgamma(p * g->x);
		}
		ll += g->w * (lg - (p * g->x + q) * log(gamma + g->y));
	}
	return ll;
}

static double
gg_objective(const double *theta, void *ctx)
{
	double ll;

	for (int k = 0; k < 3; k++)
		if (!(fabs(theta[k]) <= NM_MAX_THETA))
			return HUGE_VAL;
	ll = gg_loglik_grouped(ctx, exp(theta[0]), exp(theta[1]), exp(theta[2]));
	return isfinite(ll) ? -ll : HUGE_VAL;
}

enum ts_rc
clv_fit_gamma_gamma(const struct clv_customer *c, size_t n, struct clv_gg *out)
{
	struct gg_fit gf = { 0 };
	struct nm_result res;
	double theta[3], scale = 0.0;
	size_t used = 0, ng = 0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = customers_valid(c, n)) != TS_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (gg_usable(&c[i])) {
			used++;
			scale += c[i].m_x;
		}
	}
	if (used == 0)
		return TS_ERR_INVALID;
	if (used > SIZE_MAX / sizeof(*gf.g) ||
	    (gf.g = malloc(used * sizeof(*gf.g))) == NULL)
		return TS_ERR_NOMEM;
	/*
	 * Fit in units of the mean m_x, so the same start and bounds serve
	 * dollars and dong alike: gamma scales with the money, p and q do not,
	 * and each density picks up a factor 1 / scale.
	 */
	scale /= (double)used;
	for (size_t i = 0, j = 0; i < n; i++) {
		double m;

		if (!gg_usable(&c[i]))
			continue;
		m = c[i].m_x / scale;
		gf.g[j].x = c[i].x;
		gf.g[j].y = c[i].x * m;
		gf.g[j].w = 1.0;
		gf.s_x_log_m += c[i].x * log(m);
		gf.s_log_m += log(m);
		gf.s_x_log_x += c[i].x * log(c[i].x);
		j++;
	}
	gf.n = (double)used;
	qsort(gf.g, used, sizeof(*gf.g), cmp_gg_group);
	for (size_t i = 0; i < used; i++) {
		if (ng > 0 && cmp_gg_group(&gf.g[ng - 1], &gf.g[i]) == 0)
			gf.g[ng - 1].w += 1.0;
		else
			gf.g[ng++] = gf.g[i];
	}
	gf.ng = ng;
	/* p = 1, q = 2: the population mean p gamma / (q-1) is the data's. */
	theta[0] = 0.0;
	theta[1] = log(2.0);
	theta[2] = 0.0;
	nm_minimize(gg_objective, &gf, 3, theta, &res);
	out->p = exp(theta[0]);
	out->q = exp(theta[1]);
	out->gamma = exp(theta[2]) * scale;
	out->loglik = -res.f - (double)used * log(scale);
	out->iterations = res.iterations;
	out->restarts = res.restarts;
	out->converged = res.converged && theta_in_range(theta, 3);
	out->n_used = used;
	free(gf.g);
	return TS_OK;
}

double
clv_gg_loglik(const struct clv_gg *g, const struct clv_customer *c, size_t n)
{
	double ll = 0.0, lgq = lgamma(g->q);

	for (size_t i = 0; i < n; i++) {
		double px, x = c[i].x, m = c[i].m_x;

		if (!gg_usable(&c[i]))
			continue;
		px = g->p * x;
		ll += lgamma(px + g->q) - lgamma(px) - lgq +
		    g->q * log(g->gamma) + (px - 1.0) * log(m) + px * log(x) -
		    (px + g->q) * log(g->gamma + m * x);
	}
	return ll;
}

double
clv_expected_spend(const struct clv_gg *g, double x, double m_x)
{
	double den = g->p * x + g->q - 1.0;

	if (!(x >= 0.0 && m_x >= 0.0) || !(den > 0.0))
		return NAN;
	return g->p * (g->gamma + m_x * x) / den;
}

/* ---- fallback -------------------------------------------------------- */

enum ts_rc
clv_fallback_fit(const struct clv_customer *c, size_t n, struct clv_fallback *out)
{
	double sum_tx = 0.0, sum_x = 0.0, sum_spend = 0.0, sum_x_spend = 0.0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = customers_valid(c, n)) != TS_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (c[i].x < 1.0)
			continue;
		out->n_repeat++;
		sum_tx += c[i].t_x;
		sum_x += c[i].x;
		if (c[i].m_x > 0.0) {
			sum_spend += c[i].x * c[i].m_x;
			sum_x_spend += c[i].x;
		}
	}
	out->gap_weeks = sum_x > 0.0 ?
	    fmax(sum_tx / sum_x, CLV_FALLBACK_MIN_GAP_WEEKS) :
	    CLV_FALLBACK_GAP_WEEKS;
	out->spend = sum_x_spend > 0.0 ? sum_spend / sum_x_spend : 0.0;
	return TS_OK;
}

/* The customer's own mean gap, shrunk towards the population's. */
static double
fallback_gap(const struct clv_fallback *f, double x, double t_x)
{
	return fmax((t_x + f->gap_weeks) / (x + 1.0), CLV_FALLBACK_MIN_GAP_WEEKS);
}

double
clv_fallback_p_alive(const struct clv_fallback *f, double x, double t_x, double T)
{
	double gap, since;

	if (!(x >= 0.0 && t_x >= 0.0 && T >= t_x))
		return NAN;
	if (x == 0.0)
		t_x = 0.0;
	gap = fallback_gap(f, x, t_x);
	since = T - t_x;
	return since <= gap ? 1.0 : exp(-(since - gap) / gap);
}

double
clv_fallback_expected_transactions(const struct clv_fallback *f, double t,
    double x, double t_x, double T)
{
	if (!(t >= 0.0))
		return NAN;
	return clv_fallback_p_alive(f, x, t_x, T) * t * (x + 1.0) /
	    (T + f->gap_weeks);
}

double
clv_fallback_expected_spend(const struct clv_fallback *f, double x, double m_x)
{
	return x >= 1.0 && m_x > 0.0 ? m_x : f->spend;
}

/* ---- all together ---------------------------------------------------- */

enum ts_rc
clv_fit(const struct clv_customer *c, size_t n, struct clv_model *out)
{
	size_t usable = 0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = clv_fallback_fit(c, n, &out->fallback)) != TS_OK)
		return rc;
	if (out->fallback.n_repeat >= CLV_MIN_REPEAT_CUSTOMERS) {
		if ((rc = clv_fit_bgnbd(c, n, &out->bgnbd)) != TS_OK)
			return rc;
		out->bgnbd_ok = out->bgnbd.converged;
	}
	for (size_t i = 0; i < n; i++)
		usable += gg_usable(&c[i]);
	if (usable >= CLV_MIN_REPEAT_CUSTOMERS) {
		if ((rc = clv_fit_gamma_gamma(c, n, &out->gg)) != TS_OK)
			return rc;
		/* q <= 1: the population mean spend is infinite. */
		out->gg_ok = out->gg.converged && out->gg.q > 1.0;
	}
	return TS_OK;
}

enum ts_rc
clv_predict(const struct clv_model *m, const struct clv_customer *c,
    double t_weeks, struct clv_prediction *out)
{
	memset(out, 0, sizeof(*out));
	if (!customer_valid(c) || !(t_weeks >= 0.0) || !isfinite(t_weeks))
		return TS_ERR_INVALID;
	if (m->bgnbd_ok) {
		out->p_alive = clv_p_alive(&m->bgnbd, c->x, c->t_x, c->T);
		out->expected_transactions = clv_expected_transactions(&m->bgnbd,
		    t_weeks, c->x, c->t_x, c->T);
		out->transactions_from_model = isfinite(out->p_alive) &&
		    isfinite(out->expected_transactions);
	}
	if (!out->transactions_from_model) {
		out->p_alive = clv_fallback_p_alive(&m->fallback, c->x, c->t_x,
		    c->T);
		out->expected_transactions = clv_fallback_expected_transactions(
		    &m->fallback, t_weeks, c->x, c->t_x, c->T);
	}
	if (m->gg_ok) {
		out->expected_spend = clv_expected_spend(&m->gg, c->x, c->m_x);
		out->spend_from_model = isfinite(out->expected_spend);
	}
	if (!out->spend_from_model)
		out->expected_spend = clv_fallback_expected_spend(&m->fallback,
		    c->x, c->m_x);
	out->value = out->expected_transactions * out->expected_spend;
	return TS_OK;
}

/* ---- Gauss's hypergeometric function ---------------------------------- */

static bool
nonpositive_integer(double v)
{
	return v <= 0.0 && v == floor(v);
}

/* log|Gamma(v)| and its sign; sign 0 at the poles. */
static double
lgamma_signed(double v, int *sign)
{
	if (nonpositive_integer(v)) {
		*sign = 0;
		return INFINITY;
	}
	*sign = v > 0.0 || fmod(floor(v), 2.0) == 0.0 ? 1 : -1;
	return lgamma(v);
}

/* The defining series; NaN when it does not settle in HYP_MAX_TERMS. */
static double
hyp2f1_series(double a, double b, double c, double z)
{
	double term = 1.0, sum = 1.0;

	for (int n = 0; n < HYP_MAX_TERMS; n++) {
		double ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;

		term *= ratio;
		sum += term;
		if (term == 0.0)
			return sum;
		if (!isfinite(sum))
			return NAN;
		if (fabs(term) <= 0.5 * DBL_EPSILON * fabs(sum) && fabs(ratio) < 1.0)
			return sum;
	}
	return NAN;
}

/*
 * Abramowitz & Stegun 15.3.6, for 0.75 < z < 1 and c - a - b not an integer:
 * F(a,b;c;z) = G(c)G(s)/(G(c-a)G(c-b)) F(a,b;1-s;1-z)
 *            + (1-z)^s G(c)G(-s)/(G(a)G(b)) F(c-a,c-b;1+s;1-z), s = c-a-b.
 */
static double
hyp2f1_connection(double a, double b, double c, double z)
{
	double s = c - a - b, w = 1.0 - z, t1 = 0.0, t2 = 0.0;
	int sc, ss, sca, scb, sms, sa, sb;
	double lc = lgamma_signed(c, &sc);
	double ls = lgamma_signed(s, &ss), lms = lgamma_signed(-s, &sms);
	double lca = lgamma_signed(c - a, &sca), lcb = lgamma_signed(c - b, &scb);
	double la = lgamma_signed(a, &sa), lb = lgamma_signed(b, &sb);

	/* A pole in a denominator makes that coefficient exactly 0. */
	if (sca != 0 && scb != 0)
		t1 = sc * ss * sca * scb * exp(lc + ls - lca - lcb) *
		    hyp2f1_series(a, b, 1.0 - s, w);
	if (sa != 0 && sb != 0)
		t2 = sc * sms * sa * sb * exp(lc + lms - la - lb + s * log(w)) *
		    hyp2f1_series(c - a, c - b, 1.0 + s, w);
	return t1 + t2;
}

/* 2F1 for 0 <= z < 1. */
static double
hyp2f1_unit(double a, double b, double c, double z)
{
	double s, k, lo, hi;

	if (z <= HYP_SERIES_MAX_Z || nonpositive_integer(a) ||
	    nonpositive_integer(b))
		return hyp2f1_series(a, b, c, z);
	s = c - a - b;
	k = nearbyint(s);
	if (fabs(s - k) >= HYP_C_STEP / 2)
		return hyp2f1_connection(a, b, c, z);
	/*
	 * At integer s the formula's two terms have poles that cancel. F is
	 * smooth in c, so interpolate between c -+ HYP_C_STEP, where both
	 * terms are finite (|s -+ step - k| >= step / 2): the cancellation
	 * costs ~6 digits, the midpoint rule O(HYP_C_STEP^2); together about
	 * 1e-9 relative, measured against closed forms up to z = 1 - 1e-6.
	 */
	lo = hyp2f1_connection(a, b, c - HYP_C_STEP, z);
	hi = hyp2f1_connection(a, b, c + HYP_C_STEP, z);
	return 0.5 * (lo + hi);
}

double
clv_hyp2f1(double a, double b, double c, double z)
{
	if (isnan(a) || isnan(b) || isnan(c) || isnan(z) || z > 1.0 ||
	    nonpositive_integer(c))
		return NAN;
	if (nonpositive_integer(a) || nonpositive_integer(b))
		return hyp2f1_series(a, b, c, z);
	if (z == 1.0) {
		int sc, ss, sca, scb;
		double l;

		if (!(c - a - b > 0.0))
			return NAN;
		l = lgamma_signed(c, &sc) + lgamma_signed(c - a - b, &ss) -
		    lgamma_signed(c - a, &sca) - lgamma_signed(c - b, &scb);
		if (sca == 0 || scb == 0)
			return 0.0;
		return sc * ss * sca * scb * exp(l);
	}
	if (z < 0.0) {
		/* Pfaff: F(a,b;c;z) = (1-z)^-a F(a,c-b;c;z/(z-1)), 0 < z/(z-1) < 1. */
		return pow(1.0 - z, -a) * hyp2f1_unit(a, c - b, c, z / (z - 1.0));
	}
	return hyp2f1_unit(a, b, c, z);
}
