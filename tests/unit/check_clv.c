/* SPDX-License-Identifier: MIT */
/*
 * clv.c: the BG/NBD and Gamma-Gamma fits reproduce the published CDNOW
 * results from the raw transactions, 2F1 against closed forms, the models'
 * limits, parameter recovery on simulated customers, and the fallback.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ith.h"
#include "tracksies/clv.h"

#define CDNOW_CUSTOMERS 2357

/* ---- building the CDNOW calibration summaries from raw purchases ------ */

struct purchase {
	int id;
	long day;		/* days since 1970-01-01 */
	double value;
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
cmp_purchase(const void *pa, const void *pb)
{
	const struct purchase *a = pa, *b = pb;

	if (a->id != b->id)
		return (a->id > b->id) - (a->id < b->id);
	return (a->day > b->day) - (a->day < b->day);
}

static FILE *
open_fixture(const char *rel)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", TS_FIXTURES_DIR, rel);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

/*
 * The README's conventions: one transaction per customer and day (values
 * summed); calibration ends at the start of 1997-09-30, so T runs to that
 * instant and purchases dated 09-30 land at t_x = T; x counts repeat
 * transactions; m_x averages the repeat transactions only. Weeks.
 */
static struct clv_customer *
cdnow_summaries(size_t *n_out)
{
	FILE *f = open_fixture("cdnow/CDNOW_sample.txt");
	struct purchase *p = NULL;
	struct clv_customer *c = calloc(CDNOW_CUSTOMERS, sizeof(*c));
	size_t np = 0, cap = 0, i = 0;
	long end = days_from_civil(1997, 9, 30);
	char line[256];
	int n = 0;

	ck_assert_ptr_nonnull(c);
	while (fgets(line, sizeof(line), f) != NULL) {
		int id, cds;
		long date;
		double value;

		if (sscanf(line, "%*d %d %ld %d %lf", &id, &date, &cds, &value) != 4)
			continue;
		if (np == cap) {
			cap = cap ? 2 * cap : 8192;
			p = realloc(p, cap * sizeof(*p));
			ck_assert_ptr_nonnull(p);
		}
		p[np].id = id;
		p[np].day = days_from_civil(date / 10000, date / 100 % 100,
		    date % 100);
		p[np].value = value;
		np++;
	}
	fclose(f);
	qsort(p, np, sizeof(*p), cmp_purchase);
	while (i < np) {
		int id = p[i].id;
		long first = p[i].day, last = first, day = first;
		double repeat_value = 0.0;
		int x = 0;

		ck_assert_int_eq(id, n + 1);
		for (; i < np && p[i].id == id; i++) {
			if (p[i].day > end)
				continue;
			if (p[i].day != day) {
				x++;
				day = last = p[i].day;
			}
			if (p[i].day != first)
				repeat_value += p[i].value;
		}
		c[n].x = x;
		c[n].t_x = (double)(last - first) / 7.0;
		c[n].T = (double)(end - first) / 7.0;
		c[n].m_x = x > 0 ? repeat_value / x : 0.0;
		n++;
	}
	free(p);
	ck_assert_int_eq(n, CDNOW_CUSTOMERS);
	*n_out = (size_t)n;
	return c;
}

/* ---- CDNOW ------------------------------------------------------------ */

START_TEST(summaries_built_from_raw_purchases_match_the_published_summary)
{
	size_t n, repeaters = 0;
	struct clv_customer *c = cdnow_summaries(&n);
	FILE *f = open_fixture("cdnow/cdnow_customers_summary.csv");
	char line[256];
	size_t rows = 0;

	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));	/* header */
	while (fgets(line, sizeof(line), f) != NULL) {
		int id;
		double freq, rec, T;

		ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf", &id, &freq, &rec,
		    &T), 4);
		ck_assert(id >= 1 && (size_t)id <= n);
		ck_assert_msg(c[id - 1].x == freq, "id %d x %g vs %g", id,
		    c[id - 1].x, freq);
		ck_assert_msg(fabs(c[id - 1].t_x - rec) <= 0.005 + 1e-9,
		    "id %d t_x %g vs %g", id, c[id - 1].t_x, rec);
		ck_assert_msg(fabs(c[id - 1].T - T) <= 0.005 + 1e-9,
		    "id %d T %g vs %g", id, c[id - 1].T, T);
		rows++;
	}
	fclose(f);
	ck_assert_uint_eq(rows, n);
	/* A customer who first bought on 1997-01-01. */
	ck_assert_double_eq_tol(c[0].T, 272.0 / 7.0, 1e-12);
	for (size_t i = 0; i < n; i++)
		repeaters += c[i].x > 0;
	ck_assert_uint_eq(repeaters, 946);
	free(c);
}
END_TEST

START_TEST(bgnbd_fit_reproduces_the_published_cdnow_parameters)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_bgnbd m;

	ck_assert_int_eq(clv_fit_bgnbd(c, n, &m), TS_OK);
	ck_assert(m.converged);
	ith_assert_3sig("r", m.r, 0.243);
	ith_assert_3sig("alpha", m.alpha, 4.414);
	ith_assert_3sig("a", m.a, 0.793);
	ith_assert_3sig("b", m.b, 2.426);
	ith_assert_3sig("loglik", m.loglik, -9582.4);
	/* Tighter than the 3 digits: the published log-likelihood is to 0.1. */
	ck_assert_double_eq_tol(m.loglik, -9582.4, 0.05);
	/* The grouped likelihood the fit climbs equals the plain sum. */
	ck_assert_double_eq_tol(clv_bgnbd_loglik(&m, c, n), m.loglik, 1e-6);
	free(c);
}
END_TEST

START_TEST(published_parameters_give_the_published_loglik)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };

	/* The parameters are rounded to 3 decimals, so allow 0.1. */
	ck_assert_double_eq_tol(clv_bgnbd_loglik(&pub, c, n), -9582.4, 0.1);
	free(c);
}
END_TEST

START_TEST(gamma_gamma_fit_reproduces_the_published_cdnow_parameters)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_gg g;

	ck_assert_int_eq(clv_fit_gamma_gamma(c, n, &g), TS_OK);
	ck_assert(g.converged);
	ck_assert_uint_eq(g.n_used, 946);
	ith_assert_3sig("p", g.p, 6.25);
	ith_assert_3sig("q", g.q, 3.74);
	ith_assert_3sig("gamma", g.gamma, 15.44);
	ck_assert_double_eq_tol(clv_gg_loglik(&g, c, n), g.loglik, 1e-6);
	free(c);
}
END_TEST

START_TEST(gamma_gamma_is_indifferent_to_the_currency_unit)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_gg usd, dong;

	ck_assert_int_eq(clv_fit_gamma_gamma(c, n, &usd), TS_OK);
	for (size_t i = 0; i < n; i++)
		c[i].m_x *= 25000.0;
	ck_assert_int_eq(clv_fit_gamma_gamma(c, n, &dong), TS_OK);
	ck_assert(dong.converged);
	ck_assert_double_eq_tol(dong.p, usd.p, 1e-6 * usd.p);
	ck_assert_double_eq_tol(dong.q, usd.q, 1e-6 * usd.q);
	ck_assert_double_eq_tol(dong.gamma, 25000.0 * usd.gamma,
	    1e-6 * 25000.0 * usd.gamma);
	free(c);
}
END_TEST

/*
 * Fader, Hardie & Lee's BG/NBD spreadsheet (also lifetimes' test suite):
 * with the published parameters, the customer with x = 2, t_x = 30.43,
 * T = 38.86 is expected to make 1.226 transactions in the next 39 weeks.
 */
START_TEST(expected_transactions_match_the_published_cdnow_customer)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_bgnbd fit;

	ck_assert_double_eq_tol(clv_expected_transactions(&pub, 39, 2, 30.43,
	    38.86), 1.226, 5e-4);
	ck_assert_int_eq(clv_fit_bgnbd(c, n, &fit), TS_OK);
	ck_assert_double_eq_tol(clv_expected_transactions(&fit, 39, 2, 30.43,
	    38.86), 1.226, 1e-3);
	free(c);
}
END_TEST

/* FHL eq. 10 as printed, with 2F1(r+x, b+x; a+b+x-1; z), for comparison. */
static double
expected_transactions_direct(const struct clv_bgnbd *m, double t, double x,
    double t_x, double T)
{
	double z = t / (m->alpha + T + t);
	double num = (m->a + m->b + x - 1.0) / (m->a - 1.0) *
	    (1.0 - pow((m->alpha + T) / (m->alpha + T + t), m->r + x) *
	    clv_hyp2f1(m->r + x, m->b + x, m->a + m->b + x - 1.0, z));
	double den = 1.0 + (x > 0 ? m->a / (m->b + x - 1.0) *
	    pow((m->alpha + T) / (m->alpha + t_x), m->r + x) : 0.0);

	return num / den;
}

START_TEST(expected_transactions_agree_with_the_untransformed_formula)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };
	static const double cases[][4] = {	/* t, x, t_x, T */
		{ 39, 2, 30.43, 38.86 }, { 52, 0, 0, 38.86 }, { 52, 0, 0, 0 },
		{ 52, 1, 1.71, 38.86 }, { 52, 14, 36.0, 38.0 },
		{ 5, 3, 10, 30 }, { 104, 7, 20, 25 }, { 1, 0, 0, 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const double *k = cases[i];
		double got = clv_expected_transactions(&pub, k[0], k[1], k[2], k[3]);
		double want = expected_transactions_direct(&pub, k[0], k[1], k[2],
		    k[3]);

		ck_assert_msg(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want)),
		    "case %zu: %.12g vs %.12g", i, got, want);
	}
}
END_TEST

START_TEST(expected_transactions_are_continuous_across_a_equal_one)
{
	struct clv_bgnbd m = { .r = 0.5, .alpha = 3.0, .a = 1.0, .b = 2.0 };
	struct clv_bgnbd lo = m, hi = m;
	double at, below, above;

	lo.a = 1.0 - 1e-3;
	hi.a = 1.0 + 1e-3;
	at = clv_expected_transactions(&m, 52, 3, 20, 30);
	below = clv_expected_transactions(&lo, 52, 3, 20, 30);
	above = clv_expected_transactions(&hi, 52, 3, 20, 30);
	ck_assert(isfinite(at));
	ck_assert(at > fmin(below, above) - 1e-6 && at < fmax(below, above) + 1e-6);
	ck_assert_double_eq_tol(at, 0.5 * (below + above), 1e-5);
}
END_TEST

START_TEST(expected_transactions_grow_with_the_horizon)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };
	double prev = 0.0;

	ck_assert_double_eq(clv_expected_transactions(&pub, 0, 2, 30.43, 38.86),
	    0.0);
	for (double t = 1; t <= 520; t *= 2) {
		double e = clv_expected_transactions(&pub, t, 2, 30.43, 38.86);

		ck_assert_msg(e > prev, "t=%g: %g <= %g", t, e, prev);
		prev = e;
	}
	ck_assert(isnan(clv_expected_transactions(&pub, -1, 2, 30.43, 38.86)));
	ck_assert(isnan(clv_expected_transactions(&pub, 1, 2, 40, 38.86)));
}
END_TEST

/* ---- P(alive) --------------------------------------------------------- */

START_TEST(p_alive_is_one_without_a_repeat_purchase)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };

	/* BG/NBD drops customers only right after a repeat purchase. */
	ck_assert_double_eq(clv_p_alive(&pub, 0, 0, 0), 1.0);
	ck_assert_double_eq(clv_p_alive(&pub, 0, 0, 38.86), 1.0);
	ck_assert_double_eq(clv_p_alive(&pub, 0, 0, 1e4), 1.0);
}
END_TEST

START_TEST(p_alive_right_after_a_purchase_is_one_minus_the_dropout_odds)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };

	/* t_x == T: P = 1 / (1 + a / (b + x - 1)), the chance of not dropping. */
	for (double x = 1; x <= 20; x++)
		ck_assert_double_eq_tol(clv_p_alive(&pub, x, 10, 10),
		    1.0 / (1.0 + pub.a / (pub.b + x - 1.0)), 1e-15);
}
END_TEST

START_TEST(p_alive_falls_as_the_customer_ages)
{
	struct clv_bgnbd pub = { .r = 0.243, .alpha = 4.414, .a = 0.793,
		.b = 2.426 };
	double prev = 1.0;

	for (double T = 30.43; T <= 1000; T += 5) {
		double p = clv_p_alive(&pub, 2, 30.43, T);

		ck_assert_msg(p < prev && p > 0.0, "T=%g: %g (prev %g)", T, p, prev);
		prev = p;
	}
	ck_assert(prev < 0.01);
	ck_assert(clv_p_alive(&pub, 50, 1, 1e6) < 1e-200);
	/* A more recent last purchase, same x and T: more likely alive. */
	for (double t_x = 0; t_x + 1 <= 38.86; t_x += 1)
		ck_assert(clv_p_alive(&pub, 2, t_x + 1, 38.86) >
		    clv_p_alive(&pub, 2, t_x, 38.86));
	/* The same 8.4 weeks of silence says more about a frequent buyer. */
	ck_assert(clv_p_alive(&pub, 6, 30.43, 38.86) <
	    clv_p_alive(&pub, 2, 30.43, 38.86));
}
END_TEST

/* ---- Gamma-Gamma ------------------------------------------------------ */

START_TEST(expected_spend_weights_the_population_mean_and_the_customer)
{
	struct clv_gg g = { .p = 6.25, .q = 3.74, .gamma = 15.44 };
	double pop = g.p * g.gamma / (g.q - 1.0);

	ck_assert_double_eq_tol(clv_expected_spend(&g, 0, 0), pop, 1e-12);
	for (double x = 1; x <= 50; x *= 2) {
		double w = (g.q - 1.0) / (g.p * x + g.q - 1.0);
		double e = clv_expected_spend(&g, x, 100.0);

		ck_assert_double_eq_tol(e, w * pop + (1.0 - w) * 100.0, 1e-9);
		ck_assert(e > pop && e < 100.0);
	}
	g.q = 0.9;
	ck_assert(isnan(clv_expected_spend(&g, 0, 0)));
}
END_TEST

/* ---- 2F1 -------------------------------------------------------------- */

START_TEST(hyp2f1_matches_closed_forms)
{
	static const double zs[] = { -20, -3, -0.5, 0, 0.1, 0.5, 0.75, 0.8, 0.9,
		0.99, 0.9999 };

	for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
		double z = zs[i];
		/* c - a - b == 0: the interpolated path near z = 1. */
		double want = z == 0 ? 1.0 : -log1p(-z) / z;

		ck_assert_msg(fabs(clv_hyp2f1(1, 1, 2, z) - want) <= 1e-8 * want,
		    "2F1(1,1;2;%g) = %.15g, want %.15g", z, clv_hyp2f1(1, 1, 2, z),
		    want);
		/* c == b: (1-z)^-a, non-integer c - a - b. */
		want = pow(1.0 - z, -0.7);
		ck_assert_msg(fabs(clv_hyp2f1(0.7, 2.3, 2.3, z) - want) <=
		    1e-12 * want, "2F1(0.7,2.3;2.3;%g) = %.15g, want %.15g", z,
		    clv_hyp2f1(0.7, 2.3, 2.3, z), want);
	}
	/* arcsin(u)/u = 2F1(1/2, 1/2; 3/2; u^2). */
	for (double u = 0.1; u < 1.0; u += 0.1) {
		double want = asin(u) / u;

		ck_assert_double_eq_tol(clv_hyp2f1(0.5, 0.5, 1.5, u * u), want,
		    1e-12 * want);
	}
	/* atanh(u)/u = 2F1(1/2, 1; 3/2; u^2): c - a - b == 0 again. */
	ck_assert_double_eq_tol(clv_hyp2f1(0.5, 1, 1.5, 0.95),
	    atanh(sqrt(0.95)) / sqrt(0.95), 1e-8);
	/* A polynomial: 1 - 1.5 z + 0.6 z^2. */
	ck_assert_double_eq_tol(clv_hyp2f1(-2, 3, 4, 0.9), 1 - 1.35 + 0.486,
	    1e-15);
	ck_assert_double_eq_tol(clv_hyp2f1(-2, 3, 4, -7), 1 + 10.5 + 29.4, 1e-12);
	/* Gauss at z = 1: Gamma(3)Gamma(1) / (Gamma(2)Gamma(2)) = 2. */
	ck_assert_double_eq_tol(clv_hyp2f1(1, 1, 3, 1), 2.0, 1e-12);
}
END_TEST

START_TEST(hyp2f1_refuses_its_undefined_cases)
{
	ck_assert(isnan(clv_hyp2f1(1, 1, 2, 1.5)));
	ck_assert(isnan(clv_hyp2f1(1, 1, 2, 1)));	/* diverges */
	ck_assert(isnan(clv_hyp2f1(1, 1, 0, 0.5)));
	ck_assert(isnan(clv_hyp2f1(1, 1, -3, 0.5)));
	ck_assert(isnan(clv_hyp2f1(NAN, 1, 2, 0.5)));
}
END_TEST

/* ---- parameter recovery on simulated customers ------------------------ */

static uint64_t rng_state;

static double
rng_uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double
rng_gamma(double shape)
{
	double d, c;

	if (shape < 1.0)	/* Marsaglia & Tsang's boost */
		return rng_gamma(shape + 1.0) * pow(rng_uniform(), 1.0 / shape);
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double u1 = rng_uniform(), u2 = rng_uniform();
		double nz = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
		double v = 1.0 + c * nz, u;

		if (v <= 0.0)
			continue;
		v = v * v * v;
		u = rng_uniform();
		if (log(u) < 0.5 * nz * nz + d - d * v + d * log(v))
			return d * v;
	}
}

/*
 * n customers from BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma),
 * ages uniform over 0..age_days, times rounded to days as a store's are.
 */
static struct clv_customer *
simulate(size_t n, const struct clv_bgnbd *m, const struct clv_gg *g,
    int age_days)
{
	struct clv_customer *c = calloc(n, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; i < n; i++) {
		double lambda = rng_gamma(m->r) / m->alpha;
		double ga = rng_gamma(m->a), p = ga / (ga + rng_gamma(m->b));
		double nu = rng_gamma(g->q) / g->gamma, sum = 0.0;
		int T = (int)(rng_uniform() * age_days), day = 0, last = 0, x = 0;
		double t = 0.0;

		for (;;) {
			t += -log(rng_uniform()) / lambda;
			if (!(t * 7.0 < T + 1.0))
				break;
			day = (int)(t * 7.0);
			if (day == last)	/* same day: one transaction */
				continue;
			x++;
			last = day;
			sum += rng_gamma(g->p) / nu;
			if (rng_uniform() < p)
				break;
		}
		c[i].x = x;
		c[i].t_x = last / 7.0;
		c[i].T = T / 7.0;
		c[i].m_x = x > 0 ? sum / x : 0.0;
	}
	return c;
}

START_TEST(fits_recover_simulated_parameters)
{
	struct clv_bgnbd truth = { .r = 0.8, .alpha = 6.0, .a = 0.6, .b = 3.0 };
	struct clv_gg gtruth = { .p = 4.0, .q = 5.0, .gamma = 80.0 };
	struct clv_bgnbd fit;
	struct clv_gg gfit;
	size_t n = 20000;
	struct clv_customer *c;

	rng_state = 42;
	c = simulate(n, &truth, &gtruth, 730);
	ck_assert_int_eq(clv_fit_bgnbd(c, n, &fit), TS_OK);
	ck_assert(fit.converged);
	/* The optimum is at least as likely as the truth ... */
	ck_assert(fit.loglik >= clv_bgnbd_loglik(&truth, c, n) - 1e-6);
	/* ... and near it. */
	ck_assert_msg(fabs(fit.r / truth.r - 1) < 0.15 &&
	    fabs(fit.alpha / truth.alpha - 1) < 0.15 &&
	    fabs(fit.a / truth.a - 1) < 0.2 && fabs(fit.b / truth.b - 1) < 0.25,
	    "r %g alpha %g a %g b %g", fit.r, fit.alpha, fit.a, fit.b);
	ck_assert_int_eq(clv_fit_gamma_gamma(c, n, &gfit), TS_OK);
	ck_assert(gfit.converged);
	ck_assert(gfit.loglik >= clv_gg_loglik(&gtruth, c, n) - 1e-6);
	ck_assert_msg(fabs(gfit.p / gtruth.p - 1) < 0.15 &&
	    fabs(gfit.q / gtruth.q - 1) < 0.2 &&
	    fabs(gfit.gamma / gtruth.gamma - 1) < 0.25,
	    "p %g q %g gamma %g", gfit.p, gfit.q, gfit.gamma);
	free(c);
}
END_TEST

START_TEST(fits_are_deterministic)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_bgnbd m1, m2;

	ck_assert_int_eq(clv_fit_bgnbd(c, n, &m1), TS_OK);
	ck_assert_int_eq(clv_fit_bgnbd(c, n, &m2), TS_OK);
	ck_assert(memcmp(&m1, &m2, sizeof(m1)) == 0);
	free(c);
}
END_TEST

/* ---- the whole model and the fallback ---------------------------------- */

START_TEST(twelve_month_value_is_transactions_times_spend)
{
	size_t n;
	struct clv_customer *c = cdnow_summaries(&n);
	struct clv_model m;
	struct clv_prediction pr;
	const struct clv_customer *one = &c[0];	/* x 2, t_x 30.43, T 38.86 */

	ck_assert_int_eq(clv_fit(c, n, &m), TS_OK);
	ck_assert(m.bgnbd_ok && m.gg_ok);
	ck_assert_int_eq(clv_predict(&m, one, CLV_HORIZON_WEEKS, &pr), TS_OK);
	ck_assert(pr.transactions_from_model && pr.spend_from_model);
	ck_assert_double_eq_tol(pr.p_alive, clv_p_alive(&m.bgnbd, one->x,
	    one->t_x, one->T), 1e-15);
	ck_assert_double_eq_tol(pr.expected_transactions,
	    clv_expected_transactions(&m.bgnbd, 52, one->x, one->t_x, one->T),
	    1e-15);
	ck_assert_double_eq_tol(pr.expected_spend, clv_expected_spend(&m.gg,
	    one->x, one->m_x), 1e-12);
	ck_assert_double_eq_tol(pr.value, pr.expected_transactions *
	    pr.expected_spend, 1e-9);
	ck_assert(pr.value > 0.0);
	free(c);
}
END_TEST

START_TEST(too_little_history_falls_back_to_the_documented_heuristic)
{
	/* Three repeat buyers: far below CLV_MIN_REPEAT_CUSTOMERS. */
	static const struct clv_customer c[] = {
		{ 0, 0, 10, 0 }, { 0, 0, 30, 0 }, { 2, 8, 20, 25.0 },
		{ 1, 2, 4, 40.0 }, { 4, 30, 60, 10.0 },
	};
	struct clv_model m;
	struct clv_prediction pr;
	double gap, rate;

	ck_assert_int_eq(clv_fit(c, 5, &m), TS_OK);
	ck_assert(!m.bgnbd_ok && !m.gg_ok);
	ck_assert_uint_eq(m.fallback.n_repeat, 3);
	/* Pooled gap sum(t_x) / sum(x) = 40 / 7; spend weighted by x. */
	ck_assert_double_eq_tol(m.fallback.gap_weeks, 40.0 / 7.0, 1e-12);
	ck_assert_double_eq_tol(m.fallback.spend, (50.0 + 40.0 + 40.0) / 7.0,
	    1e-12);

	/* Customer 3: gap (8 + 40/7) / 3, 12 weeks silent: decayed. */
	ck_assert_int_eq(clv_predict(&m, &c[2], 52, &pr), TS_OK);
	ck_assert(!pr.transactions_from_model && !pr.spend_from_model);
	gap = (8.0 + 40.0 / 7.0) / 3.0;
	rate = 3.0 / (20.0 + 40.0 / 7.0);
	ck_assert_double_eq_tol(pr.p_alive, exp(-(12.0 - gap) / gap), 1e-12);
	ck_assert_double_eq_tol(pr.expected_transactions,
	    pr.p_alive * 52.0 * rate, 1e-12);
	ck_assert_double_eq_tol(pr.expected_spend, 25.0, 1e-12);
	ck_assert_double_eq_tol(pr.value, pr.expected_transactions * 25.0, 1e-12);

	/* Customer 4: silent 2 weeks, less than its gap: alive. */
	ck_assert_int_eq(clv_predict(&m, &c[3], 52, &pr), TS_OK);
	ck_assert_double_eq(pr.p_alive, 1.0);
	ck_assert_double_eq_tol(pr.expected_transactions,
	    52.0 * 2.0 / (4.0 + 40.0 / 7.0), 1e-12);

	/* Customer 1: one purchase, 10 weeks old: population gap and spend. */
	ck_assert_int_eq(clv_predict(&m, &c[0], 52, &pr), TS_OK);
	gap = 40.0 / 7.0;
	ck_assert_double_eq_tol(pr.p_alive, exp(-(10.0 - gap) / gap), 1e-12);
	ck_assert_double_eq_tol(pr.expected_transactions,
	    pr.p_alive * 52.0 / (10.0 + gap), 1e-12);
	ck_assert_double_eq_tol(pr.expected_spend, m.fallback.spend, 1e-12);
}
END_TEST

START_TEST(a_store_without_repeat_buyers_uses_the_default_gap)
{
	static const struct clv_customer c[] = { { 0, 0, 10, 0 }, { 0, 0, 1, 0 } };
	struct clv_model m;
	struct clv_prediction pr;

	ck_assert_int_eq(clv_fit(c, 2, &m), TS_OK);
	ck_assert_double_eq(m.fallback.gap_weeks, CLV_FALLBACK_GAP_WEEKS);
	ck_assert_double_eq(m.fallback.spend, 0.0);
	ck_assert_int_eq(clv_predict(&m, &c[1], 52, &pr), TS_OK);
	ck_assert_double_eq(pr.p_alive, 1.0);
	ck_assert_double_eq_tol(pr.expected_transactions,
	    52.0 / (1.0 + CLV_FALLBACK_GAP_WEEKS), 1e-12);
	/* No BG/NBD is identifiable without a single repeat purchase. */
	{
		struct clv_bgnbd bg;

		ck_assert_int_eq(clv_fit_bgnbd(c, 2, &bg), TS_ERR_INVALID);
	}
}
END_TEST

START_TEST(malformed_summaries_are_refused)
{
	static const struct clv_customer bad[] = {
		{ -1, 0, 10, 0 }, { 1.5, 1, 10, 5 }, { 2, 11, 10, 5 },
		{ 2, 1, -1, 5 }, { 2, 1, 10, -5 }, { NAN, 0, 1, 0 },
		{ 1, 1, INFINITY, 1 },
	};
	struct clv_customer ok[2] = { { 1, 2, 3, 4 }, { 0, 0, 3, 0 } };
	struct clv_model m;
	struct clv_bgnbd bg;
	struct clv_gg gg;
	struct clv_prediction pr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok[1] = bad[i];
		ck_assert_int_eq(clv_fit(ok, 2, &m), TS_ERR_INVALID);
		ck_assert_int_eq(clv_fit_bgnbd(ok, 2, &bg), TS_ERR_INVALID);
		ck_assert_int_eq(clv_fit_gamma_gamma(ok, 2, &gg), TS_ERR_INVALID);
	}
	ck_assert_int_eq(clv_fit(ok, 0, &m), TS_ERR_INVALID);
	ok[1] = (struct clv_customer){ 0, 0, 3, 0 };
	ck_assert_int_eq(clv_fit(ok, 2, &m), TS_OK);
	ck_assert_int_eq(clv_predict(&m, &bad[2], 52, &pr), TS_ERR_INVALID);
	ck_assert_int_eq(clv_predict(&m, &ok[0], -1, &pr), TS_ERR_INVALID);
}
END_TEST

static Suite *
clv_suite(void)
{
	Suite *s = suite_create("clv");
	TCase *tc;

	tc = tcase_create("cdnow");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, summaries_built_from_raw_purchases_match_the_published_summary);
	tcase_add_test(tc, bgnbd_fit_reproduces_the_published_cdnow_parameters);
	tcase_add_test(tc, published_parameters_give_the_published_loglik);
	tcase_add_test(tc, gamma_gamma_fit_reproduces_the_published_cdnow_parameters);
	tcase_add_test(tc, gamma_gamma_is_indifferent_to_the_currency_unit);
	tcase_add_test(tc, expected_transactions_match_the_published_cdnow_customer);
	tcase_add_test(tc, fits_are_deterministic);
	tcase_add_test(tc, twelve_month_value_is_transactions_times_spend);
	suite_add_tcase(s, tc);

	tc = tcase_create("bgnbd");
	tcase_add_test(tc, expected_transactions_agree_with_the_untransformed_formula);
	tcase_add_test(tc, expected_transactions_are_continuous_across_a_equal_one);
	tcase_add_test(tc, expected_transactions_grow_with_the_horizon);
	tcase_add_test(tc, p_alive_is_one_without_a_repeat_purchase);
	tcase_add_test(tc, p_alive_right_after_a_purchase_is_one_minus_the_dropout_odds);
	tcase_add_test(tc, p_alive_falls_as_the_customer_ages);
	suite_add_tcase(s, tc);

	tc = tcase_create("gamma_gamma");
	tcase_add_test(tc, expected_spend_weights_the_population_mean_and_the_customer);
	suite_add_tcase(s, tc);

	tc = tcase_create("hyp2f1");
	tcase_add_test(tc, hyp2f1_matches_closed_forms);
	tcase_add_test(tc, hyp2f1_refuses_its_undefined_cases);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, fits_recover_simulated_parameters);
	suite_add_tcase(s, tc);

	tc = tcase_create("fallback");
	tcase_add_test(tc, too_little_history_falls_back_to_the_documented_heuristic);
	tcase_add_test(tc, a_store_without_repeat_buyers_uses_the_default_gap);
	tcase_add_test(tc, malformed_summaries_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clv_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
