/* SPDX-License-Identifier: MIT */
/*
 * rfm.c: the metrics of one customer (median gap, next order, overdue,
 * the purchase-model summary), RFM quintile scores and segments checked
 * against an answer computed here independently, the metrics view and its
 * clock, and predictions from the purchase models.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ith.h"
#include "th.h"
#include "tracksies/db.h"
#include "tracksies/rfm.h"
#include "tracksies/sync.h"
#include "tracksies/tags.h"
#include "tracksies/tags_recalc.h"

#define DAY ITH_DAY
#define T0 ITH_T0

static char *dir;
static struct db *db;
static struct tags_recalc *tr;

static void
setup(void)
{
	db = ith_open(&dir);
	ith_rules(db, tags_default_rules());
	ck_assert_int_eq(tags_recalc_open(db, &tr), TS_OK);
}

static void
teardown(void)
{
	tags_recalc_close(tr);
	db_close(db);
	th_rmrf(dir);
}

static struct rfm_order
ord(int64_t at, int64_t total)
{
	return (struct rfm_order){ .total_minor = total, .at = (uint32_t)at };
}

/* ---- one customer ---------------------------------------------------- */

START_TEST(median_gap_counts_order_days_not_orders)
{
	/* Days 0, 10 (twice), 30, 31: gaps 10, 20, 1 -> median 10. */
	struct rfm_order o[] = {
		ord(T0 + 31 * DAY, 400), ord(T0, 100), ord(T0 + 10 * DAY + 5, 200),
		ord(T0 + 10 * DAY, 50), ord(T0 + 30 * DAY, 300),
	};
	struct rfm_customer c;

	rfm_summarize(o, 5, T0 + 70 * DAY, false, 100.0, &c);
	ck_assert_int_eq(c.order_count, 5);
	ck_assert_int_eq(c.ltv_minor, 1050);
	ck_assert_int_eq(c.order_days, 4);
	ck_assert_int_eq(c.first_order_at, T0);
	ck_assert_int_eq(c.last_order_at, T0 + 31 * DAY);
	ck_assert_double_eq(c.median_gap_days, 10.0);
	ck_assert_int_eq(c.next_order_at, T0 + 41 * DAY);
	/* margin max(0.5 * 10, 14) days */
	ck_assert_int_eq(c.overdue_at, T0 + 55 * DAY);
	/* BG/NBD summary: 3 repeat days, weeks, repeat spend in major units. */
	ck_assert_double_eq(c.clv.x, 3.0);
	ck_assert_double_eq_tol(c.clv.t_x, 31.0 / 7.0, 1e-12);
	ck_assert_double_eq_tol(c.clv.T, 70.0 / 7.0, 1e-12);
	ck_assert_double_eq_tol(c.clv.m_x, (250.0 + 300.0 + 400.0) / 3.0 / 100.0,
	    1e-12);
}
END_TEST

START_TEST(the_models_window_ends_at_the_start_of_the_last_day_observed)
{
	struct rfm_order o[] = { ord(T0, 100), ord(T0 + 13 * DAY + 20 * 3600, 200) };
	struct rfm_customer c;

	/* Live, during day 14: today is observed (so far). */
	rfm_summarize(o, 2, T0 + 14 * DAY + 3600, false, 100.0, &c);
	ck_assert_double_eq_tol(c.clv.T, 14.0 / 7.0, 1e-12);
	/* As of the start of day 14: day 13 is the last observed, and its
	 * order lands at t_x = T. */
	rfm_summarize(o, 2, T0 + 14 * DAY, true, 100.0, &c);
	ck_assert_double_eq_tol(c.clv.T, 13.0 / 7.0, 1e-12);
	ck_assert_double_eq_tol(c.clv.t_x, c.clv.T, 1e-12);
	ck_assert_double_eq(c.clv.x, 1.0);
}
END_TEST

START_TEST(median_of_an_even_count_is_the_mean_of_the_middle_two)
{
	struct rfm_order o[] = { ord(T0, 1), ord(T0 + 4 * DAY, 1),
	    ord(T0 + 10 * DAY, 1) };
	struct rfm_order one[] = { ord(T0, 1), ord(T0 + 3600, 1) };
	struct rfm_customer c;

	rfm_summarize(o, 3, T0 + 10 * DAY, false, 100.0, &c);
	ck_assert_double_eq(c.median_gap_days, 5.0);
	ck_assert_int_eq(c.next_order_at, T0 + 15 * DAY);
	ck_assert_int_eq(c.overdue_at, T0 + 29 * DAY);
	/* Two orders on one day: no gap yet, no rhythm, x = 0. */
	rfm_summarize(one, 2, T0 + DAY, false, 100.0, &c);
	ck_assert(isnan(c.median_gap_days));
	ck_assert_int_eq(c.next_order_at, 0);
	ck_assert_double_eq(c.clv.x, 0.0);
	ck_assert_double_eq(c.clv.m_x, 0.0);
	rfm_summarize(NULL, 0, T0, false, 100.0, &c);
	ck_assert_int_eq(c.order_count, 0);
	ck_assert(isnan(c.p_alive));
}
END_TEST

START_TEST(dates_parse_as_the_start_of_the_day_utc)
{
	int64_t t;

	ck_assert_int_eq(rfm_parse_date("1970-01-01", &t), TS_OK);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(rfm_parse_date("1997-09-30", &t), TS_OK);
	ck_assert_int_eq(t, 875577600);
	ck_assert_int_eq(rfm_parse_date("2024-02-29", &t), TS_OK);
	ck_assert_int_eq(t, 1709164800);
	ck_assert_int_eq(rfm_parse_date("2023-02-29", &t), TS_ERR_INVALID);
	ck_assert_int_eq(rfm_parse_date("2023-13-01", &t), TS_ERR_INVALID);
	ck_assert_int_eq(rfm_parse_date("2023-01-01x", &t), TS_ERR_INVALID);
	ck_assert_int_eq(rfm_parse_date("23-01-01", &t), TS_ERR_INVALID);
	ck_assert_int_eq(rfm_parse_date(NULL, &t), TS_ERR_INVALID);
}
END_TEST

/* ---- RFM -------------------------------------------------------------- */

START_TEST(quintile_scores_give_ties_one_score)
{
	static const int64_t v[] = { 1, 1, 1, 1, 2, 3, 3, 4, 5, 6 };
	int64_t t[4];

	rfm_breaks_from_sorted(v, 10, t);
	for (int i = 0; i < 10; i++) {
		int below = 0;
		for (int j = 0; j < 10; j++)
			below += v[j] < v[i];
		ck_assert_int_eq(rfm_score(t, v[i]), 1 + 5 * below / 10);
	}
	/* Values never seen score by the thresholds. */
	ck_assert_int_eq(rfm_score(t, 0), 1);
	ck_assert_int_eq(rfm_score(t, 100), 5);
}
END_TEST

/* The segment grid as docs/intelligence.md draws it, rows R 5..1. */
static const char *
expected_segment(int r, int f, int m)
{
	static const char *const grid[5][5] = {
		/* F=1        F=2                   F=3       F=4          F=5 */
		{ "new", "potential_loyalist", "loyal", "champions", "champions" },
		{ "new", "potential_loyalist", "loyal", "champions", "champions" },
		{ "hibernating", "hibernating", "loyal", "loyal", "loyal" },
		{ "hibernating", "hibernating", "at_risk", "at_risk", "at_risk" },
		{ "lost", "lost", "at_risk", "at_risk", "at_risk" },
	};

	if (r <= 2 && f >= 4 && m >= 4)
		return "cannot_lose";
	return grid[5 - r][f - 1];
}

START_TEST(rfm_scores_and_segments_match_an_independent_count)
{
	enum { N = 37 };
	int64_t id[N], last[N], cnt[N], ltv[N];
	int64_t now = T0 + 400 * DAY, oid = 1;

	for (int i = 0; i < N; i++) {
		char email[32];

		snprintf(email, sizeof(email), "r%d@example.test", i);
		id[i] = ith_customer(db, email);
		cnt[i] = 1 + (i * 7) % 6;			/* ties in F */
		last[i] = T0 + (int64_t)((i * 13) % 29) * 10 * DAY;	/* ties in R */
		ltv[i] = 0;
		for (int k = 0; k < cnt[i]; k++) {
			int64_t total = 1000 * (1 + (i * 5 + k) % 4);
			ith_order(db, id[i], oid++, last[i] - (int64_t)k * 3 * DAY,
			    total, 0);
			ltv[i] += total;
		}
	}
	/* A customer without a counted order gets no scores. */
	int64_t none = ith_customer(db, "none@example.test");
	ith_order_uncounted(db, none, 9999, T0, 5000, "pending");

	ck_assert_int_eq(tags_recalc_all(db, now, NULL, NULL), TS_OK);
	for (int i = 0; i < N; i++) {
		int r = 1, f = 1, m = 1, br = 0, bf = 0, bm = 0;
		char *seg;

		for (int j = 0; j < N; j++) {
			br += last[j] < last[i];
			bf += cnt[j] < cnt[i];
			bm += ltv[j] < ltv[i];
		}
		r += 5 * br / N;
		f += 5 * bf / N;
		m += 5 * bm / N;
		ck_assert_int_eq(ith_int(db, "SELECT r_score FROM customer_metrics"
		    " WHERE id = %lld", (long long)id[i]), r);
		ck_assert_int_eq(ith_int(db, "SELECT f_score FROM customer_metrics"
		    " WHERE id = %lld", (long long)id[i]), f);
		ck_assert_int_eq(ith_int(db, "SELECT m_score FROM customer_metrics"
		    " WHERE id = %lld", (long long)id[i]), m);
		seg = ith_text(db, "SELECT rfm_segment FROM customer_metrics WHERE"
		    " id = %lld", (long long)id[i]);
		ck_assert_str_eq(seg, expected_segment(r, f, m));
		free(seg);
	}
	ck_assert_int_eq(ith_int(db, "SELECT r_score FROM customer_metrics WHERE"
	    " id = %lld", (long long)none), -1);
	ck_assert_int_eq(ith_int(db, "SELECT rfm_n FROM intel_state"), N);
	/* The grid is total: every score triple has a segment. */
	for (int r = 1; r <= 5; r++)
		for (int f = 1; f <= 5; f++)
			for (int m = 1; m <= 5; m++)
				ck_assert_str_eq(rfm_segment(r, f, m),
				    expected_segment(r, f, m));
}
END_TEST

START_TEST(a_customer_synced_later_is_scored_by_the_stored_thresholds)
{
	int64_t ids[10], late;
	char *seg;

	/* Ten customers, each above the last in R, F and M. */
	for (int i = 0; i < 10; i++) {
		char email[32];

		snprintf(email, sizeof(email), "s%d@example.test", i);
		ids[i] = ith_customer(db, email);
		for (int k = 0; k <= i; k++)
			ith_order(db, ids[i], 100 * (i + 1) + k, T0 + (i + k) * DAY,
			    1000, 0);
	}
	ck_assert_int_eq(tags_recalc_all(db, T0 + 30 * DAY, NULL, NULL), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT r_score || f_score || m_score FROM"
	    " customer_metrics WHERE id = %lld", (long long)ids[0]), 111);
	ck_assert_int_eq(ith_int(db, "SELECT r_score || f_score || m_score FROM"
	    " customer_metrics WHERE id = %lld", (long long)ids[9]), 555);
	/* Synced after the full run: scored against its thresholds. */
	late = ith_customer(db, "late@example.test");
	for (int k = 0; k < 12; k++)
		ith_order(db, late, 5000 + k, T0 + (10 + k) * DAY, 2000, 0);
	ith_recalc(db, tr, late, T0 + 31 * DAY);
	ck_assert_int_eq(ith_int(db, "SELECT r_score || f_score || m_score FROM"
	    " customer_metrics WHERE id = %lld", (long long)late), 555);
	ith_order(db, ith_customer(db, "one@example.test"), 9000, T0, 1000, 0);
	ith_recalc(db, tr, 12, T0 + 31 * DAY);
	seg = ith_text(db, "SELECT r_score || f_score || m_score || rfm_segment"
	    " FROM customer_metrics WHERE id = 12");
	ck_assert_str_eq(seg, "111lost");
	free(seg);
}
END_TEST

/* ---- the view and its clock ------------------------------------------- */

START_TEST(the_view_reads_the_clock_so_overdue_comes_with_time)
{
	int64_t c = ith_customer(db, "a@example.test");
	long long overdue_at;

	ith_order(db, c, 1, T0, 5000, 1);
	ith_order(db, c, 2, T0 + 20 * DAY, 7000, 0);
	ith_recalc(db, tr, c, T0 + 20 * DAY);
	overdue_at = ith_int(db, "SELECT overdue_at FROM customer_intel");
	ck_assert_int_eq(overdue_at, T0 + 54 * DAY);		/* 20 + 20 + 14 */
	ith_exec(db, "BEGIN");
	ith_exec(db, "UPDATE intel_state SET as_of = 1700006400 + 54 * 86400");
	ck_assert_int_eq(ith_int(db, "SELECT overdue FROM customer_metrics"), 0);
	ck_assert_int_eq(ith_int(db, "SELECT days_since_last_order FROM"
	    " customer_metrics"), 34);
	ith_exec(db, "UPDATE intel_state SET as_of = as_of + 1");
	ck_assert_int_eq(ith_int(db, "SELECT overdue FROM customer_metrics"), 1);
	ith_exec(db, "ROLLBACK");
	/* Money in major units; shares and counts as stored. */
	ck_assert_double_eq(ith_real(db, "SELECT ltv FROM customer_metrics"), 120.0);
	ck_assert_double_eq(ith_real(db, "SELECT aov FROM customer_metrics"), 60.0);
	ck_assert_double_eq(ith_real(db, "SELECT coupon_share FROM"
	    " customer_metrics"), 0.5);
	ck_assert_int_eq(ith_int(db, "SELECT full_price_order_count FROM"
	    " customer_metrics"), 1);
	ith_refund(db, 2, 1250);
	ith_recalc(db, tr, c, T0 + 21 * DAY);
	ck_assert_double_eq(ith_real(db, "SELECT refunded_total FROM"
	    " customer_metrics"), 12.5);
	/* A store with 0 decimals (JPY): major = minor. */
	ith_exec(db, "UPDATE kv SET value = '0' WHERE key = 'store.decimals'");
	ck_assert_double_eq(ith_real(db, "SELECT ltv FROM customer_metrics"), 12000.0);
}
END_TEST

START_TEST(other_currencies_and_uncounted_orders_stay_out)
{
	int64_t c = ith_customer(db, "a@example.test");

	ith_order(db, c, 1, T0, 5000, 0);
	ith_order(db, c, 2, T0 + DAY, 7000, 0);
	ith_exec(db, "UPDATE transactions SET currency = 'EUR' WHERE order_id = 2");
	ith_order_uncounted(db, c, 3, T0 + 2 * DAY, 9000, "pending");
	ith_recalc(db, tr, c, T0 + 3 * DAY);
	ck_assert_int_eq(ith_int(db, "SELECT order_count FROM customer_intel"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT ltv_minor FROM customer_intel"), 5000);
}
END_TEST

START_TEST(full_and_single_recalculation_compute_the_same_metrics)
{
	static const char cols[] = "customer_id, ltv_minor, order_count,"
	    " first_order_at, last_order_at, refunded_minor, refund_count,"
	    " coupon_order_count, order_days, median_gap_days, next_order_at,"
	    " overdue_at, r_score, f_score, m_score, rfm_segment,"
	    " round(p_alive, 9), round(expected_orders_90d, 9),"
	    " round(predicted_value_12m, 6), clv_from_model, interactions,"
	    " compliments";
	char *all, *one;
	int64_t oid = 1;

	for (int i = 0; i < 80; i++) {
		char email[32];
		int64_t c;

		snprintf(email, sizeof(email), "f%d@example.test", i);
		c = ith_customer(db, email);
		for (int k = 0; k < 1 + i % 6; k++)
			ith_order(db, c, oid++, T0 + (int64_t)((i * 31 + k * 47) % 300) *
			    DAY, 1500 + (i * 271 + k * 89) % 9000, k % 3 == 0);
		if (i % 7 == 0)
			ith_refund(db, oid - 1, 300);
		if (i % 9 == 0)
			ith_interaction(db, c, "compliment", T0 + DAY);
	}
	ck_assert_int_eq(tags_recalc_all(db, T0 + 310 * DAY, NULL, NULL), TS_OK);
	/* Every column of interest, as text, customer by customer. */
	all = ith_text(db, "SELECT group_concat(quote(v), ';') FROM (SELECT"
	    " json_array(%s) AS v FROM customer_intel ORDER BY customer_id)", cols);
	for (int64_t c = 1; c <= 80; c++)
		ith_recalc(db, tr, c, T0 + 310 * DAY);
	one = ith_text(db, "SELECT group_concat(quote(v), ';') FROM (SELECT"
	    " json_array(%s) AS v FROM customer_intel ORDER BY customer_id)", cols);
	ck_assert_ptr_nonnull(all);
	ck_assert_str_eq(one, all);
	free(all);
	free(one);
}
END_TEST

/* ---- purchase models -------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

static double
uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

/* Gamma with an integer shape: a sum of exponentials. */
static double
gamma_int(int shape, double rate)
{
	double x = 0.0;

	for (int i = 0; i < shape; i++)
		x -= log(uniform());
	return x / rate;
}

START_TEST(predictions_come_from_the_fitted_models_with_enough_history)
{
	enum { N = 800 };
	int64_t oid = 1, now = T0 + 52 * 7 * DAY, best = 0, worst = 0;
	double best_ratio = -1.0, worst_ratio = 2.0;

	/*
	 * Customers drawn from the models themselves: purchase rate
	 * lambda ~ Gamma(1, 4) per week, dropout after each purchase with
	 * p ~ Beta(1, 3), spend ~ Gamma(6, nu) with nu ~ Gamma(4, 15).
	 */
	for (int i = 0; i < N; i++) {
		char email[32];
		double lambda = gamma_int(1, 4.0), p = 1.0 - pow(uniform(), 1.0 / 3.0);
		double nu = gamma_int(4, 15.0), t = uniform() * 8.0, last = t;
		int64_t c;
		int n = 0;

		snprintf(email, sizeof(email), "p%d@example.test", i);
		c = ith_customer(db, email);
		for (;;) {
			ith_order(db, c, oid++, T0 + (int64_t)(t * 7 * DAY),
			    (int64_t)llround(gamma_int(6, nu) * 100.0) + 1, 0);
			last = t;
			n++;
			if (uniform() < p)
				break;
			t += -log(uniform()) / lambda;
			if (t >= 52.0)
				break;
		}
		/* Frequent buyers: the most and least recent of them. */
		if (n >= 4 && last / 52.0 > best_ratio) {
			best_ratio = last / 52.0;
			best = c;
		}
		if (n >= 4 && last / 52.0 < worst_ratio) {
			worst_ratio = last / 52.0;
			worst = c;
		}
	}
	ck_assert(best != 0 && worst != 0 && best != worst);
	ck_assert_int_eq(tags_recalc_all(db, now, NULL, NULL), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT bgnbd_ok AND gg_ok AND time_unit ="
	    " 'week' AND n_customers = %d FROM clv_model", N), 1);
	/* Near the truth: mean dropout a/(a+b) = 0.25, rate r/alpha = 0.25/wk. */
	ck_assert(fabs(ith_real(db, "SELECT a / (a + b) FROM clv_model") - 0.25) < 0.1);
	ck_assert(fabs(ith_real(db, "SELECT r / alpha FROM clv_model") - 0.25) < 0.1);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_metrics WHERE"
	    " p_alive BETWEEN 0 AND 1 AND expected_orders_90d >= 0 AND"
	    " predicted_value_12m >= 0"), N);
	ck_assert(ith_real(db, "SELECT p_alive FROM customer_metrics WHERE id ="
	    " %lld", (long long)best) > ith_real(db, "SELECT p_alive FROM"
	    " customer_metrics WHERE id = %lld", (long long)worst));
	ck_assert_int_eq(ith_int(db, "SELECT min(clv_from_model) FROM"
	    " customer_intel"), 1);
}
END_TEST

START_TEST(a_tiny_store_falls_back_to_the_heuristic)
{
	int64_t a = ith_customer(db, "a@example.test");
	int64_t b = ith_customer(db, "b@example.test");

	ith_order(db, a, 1, T0, 1000, 0);
	ith_order(db, a, 2, T0 + 14 * DAY, 3000, 0);
	ith_order(db, b, 3, T0, 2000, 0);
	ck_assert_int_eq(tags_recalc_all(db, T0 + 30 * DAY, NULL, NULL), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT bgnbd_ok + gg_ok FROM clv_model"), 0);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_intel WHERE"
	    " clv_from_model = 0 AND p_alive BETWEEN 0 AND 1"), 2);
	/* One repeat purchase: the fallback spend is that repeat's value. */
	ck_assert_double_eq_tol(ith_real(db, "SELECT fallback_spend FROM"
	    " clv_model"), 30.0, 1e-9);
}
END_TEST

/* ---- CDNOW through the order pipeline ---------------------------------- */

#define CDNOW_PURCHASES 6919
#define CDNOW_SAMPLE 2357

/* A WooCommerce 8.4 order as the REST API returns it (captured). */
static json_t *
captured_order(void)
{
	char *text = th_fixture("woocommerce/rest/25-order-create-processing-paid"
	    ".json", NULL);
	json_t *doc = json_loads(text, 0, NULL), *body;

	free(text);
	ck_assert_ptr_nonnull(doc);
	body = json_incref(json_object_get(doc, "body"));
	json_decref(doc);
	ck_assert_ptr_nonnull(body);
	return body;
}

/*
 * The order the store would hold for one CDNOW purchase: a guest order by
 * the sample customer's email, completed, one line of `cds` CDs for
 * `value` dollars (the file's own decimal text), placed on `date`
 * (YYYYMMDD) at `hour` UTC. Everything else stays as captured, with no
 * tax, shipping, coupon, refund or meta.
 */
static void
cdnow_order(json_t *o, int64_t id, int sample, const char *date, int hour,
    int cds, const char *value)
{
	char when[32], email[64], number[24];

	snprintf(when, sizeof(when), "%.4s-%.2s-%.2sT%02d:00:00", date, date + 4,
	    date + 6, hour);
	snprintf(email, sizeof(email), "cdnow%04d@example.test", sample);
	snprintf(number, sizeof(number), "%lld", (long long)id);
	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "number", json_string(number));
	json_object_set_new(o, "status", json_string("completed"));
	json_object_set_new(o, "customer_id", json_integer(0));
	json_object_set_new(o, "date_created", json_string(when));
	json_object_set_new(o, "date_created_gmt", json_string(when));
	json_object_set_new(o, "date_modified", json_string(when));
	json_object_set_new(o, "date_modified_gmt", json_string(when));
	json_object_set_new(o, "date_paid", json_string(when));
	json_object_set_new(o, "date_paid_gmt", json_string(when));
	json_object_set_new(o, "total", json_string(value));
	json_object_set_new(o, "shipping_total", json_string("0.00"));
	json_object_set_new(o, "shipping_tax", json_string("0.00"));
	json_object_set_new(o, "cart_tax", json_string("0.00"));
	json_object_set_new(o, "total_tax", json_string("0.00"));
	json_object_set_new(json_object_get(o, "billing"), "email",
	    json_string(email));
	json_object_set_new(o, "line_items", json_pack("[{s:i,s:s,s:i,s:i,s:i,"
	    "s:s,s:s,s:s,s:s,s:s,s:[],s:[]}]", "id", (int)id, "name", "CD",
	    "product_id", 12, "variation_id", 0, "quantity", cds, "subtotal", value,
	    "subtotal_tax", "0.00", "total", value, "total_tax", "0.00", "sku",
	    "CD-1", "taxes", "meta_data"));
	json_object_set_new(o, "shipping_lines", json_array());
	json_object_set_new(o, "tax_lines", json_array());
	json_object_set_new(o, "coupon_lines", json_array());
	json_object_set_new(o, "refunds", json_array());
	json_object_set_new(o, "meta_data", json_array());
}

/* Every CDNOW purchase applied by sync.c, 100 orders per transaction. */
static void
load_cdnow_through_the_sync(void)
{
	static char *statuses[] = { "processing", "completed" };
	struct sync_settings set = { .store_currency = "USD",
	    .qualifying_statuses = statuses, .n_qualifying_statuses = 2,
	    .decimals = 2 };
	char path[1024], line[256], date[16], value[32];
	struct sync *sy = NULL;
	json_t *o = captured_order();
	int64_t id = 0;
	int sample, cds;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cdnow/CDNOW_sample.txt", TS_FIXTURES_DIR);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_int_eq(sync_new(db, &set, &sy), TS_OK);
	ck_assert_int_eq(db_begin(db), TS_OK);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct sync_result r;

		if (sscanf(line, "%*s %d %15s %d %31s", &sample, date, &cds,
		    value) != 4)
			continue;
		/* Orders of one day at different hours: one transaction still. */
		id++;
		cdnow_order(o, id, sample, date, 8 + (int)(id % 12), cds, value);
		ck_assert_int_eq(sync_apply_order(sy, o, 1700000000, &r), TS_OK);
		ck_assert_msg(r.error_code == NULL && r.counted, "order %lld: %s",
		    (long long)id, r.error_code != NULL ? r.error_code : "not counted");
		sync_result_fini(&r);
		if (id % 100 == 0) {
			ck_assert_int_eq(db_commit(db), TS_OK);
			ck_assert_int_eq(db_begin(db), TS_OK);
		}
	}
	ck_assert_int_eq(db_commit(db), TS_OK);
	fclose(f);
	sync_free(sy);
	json_decref(o);
	ck_assert_int_eq(id, CDNOW_PURCHASES);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customers"), CDNOW_SAMPLE);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM transactions"),
	    CDNOW_PURCHASES);
}

/*
 * The published CDNOW fits (docs/intelligence-models.md), from the store's
 * own rows: every purchase went through sync.c as an order, and the daily
 * job's full recalculation fitted the models as of the end of calibration.
 * Calibration is every purchase up to and including 1997-09-30, with T
 * running to the start of that day: as of the start of 1997-10-01, the
 * last day observed is 09-30.
 */
START_TEST(cdnow_through_the_sync_fits_the_published_models)
{
	int64_t as_of;

	load_cdnow_through_the_sync();
	ck_assert_int_eq(rfm_parse_date("1997-10-01", &as_of), TS_OK);
	ck_assert_int_eq(tags_recalc_all_as_of(db, as_of, NULL, NULL), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT fitted_at FROM clv_model"), as_of);
	ck_assert_int_eq(ith_int(db, "SELECT n_customers FROM clv_model"),
	    CDNOW_SAMPLE);
	ck_assert_int_eq(ith_int(db, "SELECT n_repeat FROM clv_model"), 946);
	ck_assert_int_eq(ith_int(db, "SELECT bgnbd_ok AND gg_ok AND time_unit ="
	    " 'week' FROM clv_model"), 1);
	ith_assert_3sig("r", ith_real(db, "SELECT r FROM clv_model"), 0.243);
	ith_assert_3sig("alpha", ith_real(db, "SELECT alpha FROM clv_model"), 4.414);
	ith_assert_3sig("a", ith_real(db, "SELECT a FROM clv_model"), 0.793);
	ith_assert_3sig("b", ith_real(db, "SELECT b FROM clv_model"), 2.426);
	ck_assert_double_eq_tol(ith_real(db, "SELECT bgnbd_loglik FROM clv_model"),
	    -9582.4, 0.05);
	ith_assert_3sig("p", ith_real(db, "SELECT p FROM clv_model"), 6.25);
	ith_assert_3sig("q", ith_real(db, "SELECT q FROM clv_model"), 3.74);
	ith_assert_3sig("gamma", ith_real(db, "SELECT gamma FROM clv_model"), 15.44);
	/*
	 * Sample customer 1 (x = 2, t_x = 30.43, T = 38.86): the purchases of
	 * 1997-01-01, 01-18 and 08-02 are three order days; the later ones
	 * are not there yet.
	 */
	ck_assert_int_eq(ith_int(db, "SELECT order_days FROM customer_metrics"
	    " WHERE id = (SELECT id FROM customers WHERE email ="
	    " 'cdnow0001@example.test')"), 3);
}
END_TEST

static Suite *
rfm_suite(void)
{
	Suite *s = suite_create("rfm");
	TCase *tc;

	tc = tcase_create("one_customer");
	tcase_add_test(tc, median_gap_counts_order_days_not_orders);
	tcase_add_test(tc, median_of_an_even_count_is_the_mean_of_the_middle_two);
	tcase_add_test(tc, the_models_window_ends_at_the_start_of_the_last_day_observed);
	tcase_add_test(tc, dates_parse_as_the_start_of_the_day_utc);
	tcase_add_test(tc, quintile_scores_give_ties_one_score);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rfm_scores_and_segments_match_an_independent_count);
	tcase_add_test(tc, a_customer_synced_later_is_scored_by_the_stored_thresholds);
	tcase_add_test(tc, the_view_reads_the_clock_so_overdue_comes_with_time);
	tcase_add_test(tc, other_currencies_and_uncounted_orders_stay_out);
	tcase_add_test(tc, full_and_single_recalculation_compute_the_same_metrics);
	tcase_add_test(tc, predictions_come_from_the_fitted_models_with_enough_history);
	tcase_add_test(tc, a_tiny_store_falls_back_to_the_heuristic);
	suite_add_tcase(s, tc);

	tc = tcase_create("cdnow");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cdnow_through_the_sync_fits_the_published_models);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rfm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
