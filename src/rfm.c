/* SPDX-License-Identifier: MIT */
/*
 * Customer metrics as of a time (docs/intelligence.md): totals, the median
 * gap between order days, expected next order and overdue, RFM scores by
 * quintile and segments, and the purchase models' predictions. The pure
 * part works on arrays; struct rfm is one customer's SQLite side, the
 * stored model too. Everyone at once is rfm_snapshot.c. Money stays in
 * minor units here except where clv.c wants major units.
 */
#include "tracksies/rfm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tracksies/db.h"

#define DAY 86400

/* ---- pure ------------------------------------------------------------ */

uint32_t
rfm_order_time(int64_t t)
{
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static int64_t
day_of(int64_t t)
{
	return t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY);
}

static int
cmp_order(const void *pa, const void *pb)
{
	const struct rfm_order *a = pa, *b = pb;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->total_minor < b->total_minor ? -1 : a->total_minor > b->total_minor;
}

static void
sort_orders(struct rfm_order *o, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (o[i].at < o[i - 1].at) {
			qsort(o, n, sizeof(*o), cmp_order);
			return;
		}
}

/* Gaps, in days, between consecutive distinct order days, at most g. */
static size_t
gaps_at_most(const struct rfm_order *o, size_t n, int64_t g)
{
	size_t count = 0;
	int64_t prev = day_of(o[0].at);

	for (size_t i = 1; i < n; i++) {
		int64_t d = day_of(o[i].at);
		if (d == prev)
			continue;
		count += d - prev <= g;
		prev = d;
	}
	return count;
}

/*
 * The j-th smallest gap (1-based), by bisection on the value: gaps are
 * whole days, so this needs no memory however many orders there are.
 */
static int64_t
kth_gap(const struct rfm_order *o, size_t n, size_t j, int64_t span)
{
	int64_t lo = 1, hi = span;

	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (gaps_at_most(o, n, mid) >= j)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void
rfm_summarize(struct rfm_order *o, size_t n, int64_t as_of, bool cutoff,
    double scale, struct rfm_customer *out)
{
	int64_t first_day, last_day, prev_day, repeat_minor = 0, end_day;
	size_t gaps;

	memset(out, 0, sizeof(*out));
	out->median_gap_days = NAN;
	out->p_alive = out->expected_orders_90d = out->predicted_value_12m = NAN;
	if (n == 0)
		return;
	sort_orders(o, n);
	out->order_count = (int64_t)n;
	out->first_order_at = o[0].at;
	out->last_order_at = o[n - 1].at;
	first_day = prev_day = day_of(o[0].at);
	out->order_days = 1;
	for (size_t i = 0; i < n; i++) {
		int64_t d = day_of(o[i].at);

		out->ltv_minor += o[i].total_minor;
		out->coupon_order_count += o[i].coupon;
		if (d != prev_day) {
			out->order_days++;
			prev_day = d;
		}
		/* Same-day orders are one transaction (BG/NBD convention). */
		if (d != first_day)
			repeat_minor += o[i].total_minor;
	}
	last_day = prev_day;
	gaps = (size_t)out->order_days - 1;
	if (gaps > 0) {
		int64_t span = last_day - first_day;
		double med = gaps % 2 == 1 ?
		    (double)kth_gap(o, n, gaps / 2 + 1, span) :
		    ((double)kth_gap(o, n, gaps / 2, span) +
		    (double)kth_gap(o, n, gaps / 2 + 1, span)) / 2.0;

		out->median_gap_days = med;
		out->next_order_at = out->last_order_at + llround(med * DAY);
		out->overdue_at = out->next_order_at +
		    llround(fmax(RFM_OVERDUE_GAP_FACTOR * med,
		    RFM_OVERDUE_MIN_DAYS) * DAY);
	}
	/*
	 * Days are the models' ticks: the window ends at the start of the last
	 * day observed, whose orders are in (t_x = T for them). As of the
	 * start of a day (cutoff), that is the day before.
	 */
	end_day = day_of(cutoff ? as_of - 1 : as_of);
	out->clv.x = (double)gaps;
	out->clv.t_x = (double)(last_day - first_day) / 7.0;
	out->clv.T = fmax((double)(end_day - first_day) / 7.0, out->clv.t_x);
	out->clv.m_x = gaps > 0 && repeat_minor > 0 ?
	    (double)repeat_minor / (double)gaps / scale : 0.0;
}

int
rfm_score(const int64_t t[4], int64_t v)
{
	int s = 1;

	for (int k = 0; k < 4; k++)
		if (t[k] != RFM_UNREACHED && v >= t[k])
			s++;
	return s;
}

void
rfm_breaks_from_sorted(const int64_t *v, size_t n, int64_t t[4])
{
	for (int k = 0; k < 4; k++) {
		/* The least value with 5 * (values below it) >= (k + 1) * n. */
		size_t j = ((size_t)(k + 1) * n + 4) / 5;

		while (j > 0 && j < n && v[j] == v[j - 1])
			j++;
		t[k] = j < n ? v[j] : RFM_UNREACHED;
	}
}

const char *
rfm_segment(int r, int f, int m)
{
	if (r < 1 || f < 1 || m < 1)
		return NULL;
	if (r >= 4)
		return f >= 4 ? "champions" : f == 3 ? "loyal" :
		    f == 2 ? "potential_loyalist" : "new";
	if (r == 3)
		return f >= 3 ? "loyal" : "hibernating";
	if (f >= 4 && m >= 4)
		return "cannot_lose";
	if (f >= 3)
		return "at_risk";
	return r == 2 ? "hibernating" : "lost";
}

void
rfm_score_customer(const struct rfm_breaks *b, struct rfm_customer *c)
{
	c->r_score = c->f_score = c->m_score = 0;
	c->segment = NULL;
	if (b->n == 0 || c->order_count == 0)
		return;
	c->r_score = rfm_score(b->r, c->last_order_at);
	c->f_score = rfm_score(b->f, c->order_count);
	c->m_score = rfm_score(b->m, c->ltv_minor);
	c->segment = rfm_segment(c->r_score, c->f_score, c->m_score);
}

void
rfm_predict(const struct rfm_model *m, struct rfm_customer *c)
{
	struct clv_prediction soon, year;

	c->p_alive = c->expected_orders_90d = c->predicted_value_12m = NAN;
	c->clv_from_model = false;
	if (!m->have_clv || c->order_count == 0)
		return;
	if (clv_predict(&m->clv, &c->clv, RFM_ORDERS_HORIZON_WEEKS, &soon) != TS_OK ||
	    clv_predict(&m->clv, &c->clv, CLV_HORIZON_WEEKS, &year) != TS_OK)
		return;
	c->p_alive = soon.p_alive;
	c->expected_orders_90d = soon.expected_transactions;
	c->predicted_value_12m = year.value;
	c->clv_from_model = year.transactions_from_model;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

enum ts_rc
rfm_parse_date(const char *text, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, len = 0;

	*out = 0;
	if (text == NULL || strlen(text) != 10 ||
	    sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &len) != 3 || len != 10 ||
	    text[4] != '-' || text[7] != '-' || y < 1970 || y > 9999 ||
	    m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return TS_ERR_INVALID;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return TS_ERR_INVALID;
	*out = days_from_civil(y, m, d) * DAY;
	return TS_OK;
}

/* ---- per-customer SQL ------------------------------------------------ */

enum rfm_stmt {
	R_SETTINGS,
	R_BREAKS,
	R_CLV,
	R_EXISTS,
	R_ORDERS,
	R_REFUNDS,
	R_STORE,
	R_INTERACTIONS,
	R_COUNT
};

static const char *const rfm_sql[R_COUNT] = {
	[R_SETTINGS] =
	    "SELECT (SELECT value FROM kv WHERE key = 'store.currency'),"
	    " (SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'store.decimals')",
	[R_BREAKS] =
	    "SELECT rfm_n, r2, r3, r4, r5, f2, f3, f4, f5, m2, m3, m4, m5"
	    " FROM intel_state WHERE id = 1",
	[R_CLV] =
	    "SELECT fitted_at, n_customers, n_repeat, bgnbd_ok, r, alpha, a, b,"
	    " bgnbd_loglik, gg_ok, p, q, gamma, gg_loglik, fallback_gap_weeks,"
	    " fallback_spend FROM clv_model WHERE id = 1",
	[R_EXISTS] = "SELECT 1 FROM customers WHERE id = ?1",
	[R_ORDERS] =
	    "SELECT total_minor, created_at, coupon_codes <> '' FROM transactions"
	    " WHERE customer_id = ?1 AND (?2 IS NULL OR currency = ?2)"
	    " AND (?3 IS NULL OR created_at < ?3)",
	/* Refunds carry no date of their own: as of a date, those on orders
	 * placed before it count. */
	[R_REFUNDS] =
	    "SELECT COALESCE(SUM(refunded_minor), 0), COALESCE(SUM(refund_count), 0)"
	    " FROM orders WHERE customer_id = ?1 AND (?2 IS NULL OR currency = ?2)"
	    " AND status NOT IN ('trash', 'deleted')"
	    " AND (?3 IS NULL OR created_at < ?3)",
	[R_STORE] =
	    "INSERT INTO customer_intel (customer_id, as_of, seq, ltv_minor,"
	    " order_count, first_order_at, last_order_at, refunded_minor,"
	    " refund_count, coupon_order_count, order_days, median_gap_days,"
	    " next_order_at, overdue_at, r_score, f_score, m_score, rfm_segment,"
	    " p_alive, expected_orders_90d, predicted_value_12m, clv_from_model)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
	    " ON CONFLICT (customer_id) DO UPDATE SET as_of = excluded.as_of,"
	    " seq = excluded.seq, ltv_minor = excluded.ltv_minor,"
	    " order_count = excluded.order_count,"
	    " first_order_at = excluded.first_order_at,"
	    " last_order_at = excluded.last_order_at,"
	    " refunded_minor = excluded.refunded_minor,"
	    " refund_count = excluded.refund_count,"
	    " coupon_order_count = excluded.coupon_order_count,"
	    " order_days = excluded.order_days,"
	    " median_gap_days = excluded.median_gap_days,"
	    " next_order_at = excluded.next_order_at,"
	    " overdue_at = excluded.overdue_at, r_score = excluded.r_score,"
	    " f_score = excluded.f_score, m_score = excluded.m_score,"
	    " rfm_segment = excluded.rfm_segment, p_alive = excluded.p_alive,"
	    " expected_orders_90d = excluded.expected_orders_90d,"
	    " predicted_value_12m = excluded.predicted_value_12m,"
	    " clv_from_model = excluded.clv_from_model"
	    " WHERE ?23 < 0 OR customer_intel.seq <= ?23",
	/* Only rows that have, or had, interactions are touched. */
	[R_INTERACTIONS] =
	    "UPDATE customer_intel SET (interactions, calls, emails, notes,"
	    " complaints, compliments, refund_requests, returns, preferences,"
	    " contact_forms, last_interaction_at) = (SELECT count(*),"
	    " COALESCE(sum(type = 'call'), 0), COALESCE(sum(type = 'email'), 0),"
	    " COALESCE(sum(type = 'note'), 0), COALESCE(sum(type = 'complaint'), 0),"
	    " COALESCE(sum(type = 'compliment'), 0),"
	    " COALESCE(sum(type = 'refund'), 0), COALESCE(sum(type = 'return'), 0),"
	    " COALESCE(sum(type = 'preference'), 0),"
	    " COALESCE(sum(type = 'contact_form'), 0), max(occurred_at)"
	    " FROM customer_interactions"
	    " WHERE customer_id = customer_intel.customer_id"
	    " AND (?3 IS NULL OR occurred_at < ?3))"
	    " WHERE customer_id BETWEEN ?1 AND ?2 AND (interactions > 0 OR EXISTS"
	    " (SELECT 1 FROM customer_interactions"
	    " WHERE customer_id = customer_intel.customer_id))",
};

struct rfm {
	struct db *db;
	sqlite3_stmt *st[R_COUNT];
	struct rfm_order *buf;
	size_t cap;
};

static enum ts_rc
step_done(sqlite3_stmt *st)
{
	int src = sqlite3_step(st);
	enum ts_rc rc = db_rc(src);

	(void)sqlite3_reset(st);
	return rc;
}

enum ts_rc
rfm_new(struct db *db, struct rfm **out)
{
	struct rfm *r;
	enum ts_rc rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TS_ERR_NOMEM;
	r->db = db;
	for (int i = 0; i < R_COUNT; i++)
		if ((rc = db_rc(sqlite3_prepare_v3(db_handle(db), rfm_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL))) != TS_OK) {
			rfm_free(r);
			return rc == TS_OK ? TS_ERR_IO : rc;
		}
	*out = r;
	return TS_OK;
}

void
rfm_free(struct rfm *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < R_COUNT; i++)
		(void)sqlite3_finalize(r->st[i]);
	free(r->buf);
	free(r);
}

static double
scale_of(int decimals)
{
	double s = 1.0;

	if (decimals < 0 || decimals > 8)
		decimals = 2;
	while (decimals-- > 0)
		s *= 10.0;
	return s;
}

/* currency[4] ("" when unknown: every currency counts) and the money scale. */
static enum ts_rc
read_settings(sqlite3_stmt *st, char currency[4], double *scale)
{
	const unsigned char *cur;
	int src;

	currency[0] = '\0';
	*scale = 100.0;
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		cur = sqlite3_column_text(st, 0);
		if (cur != NULL && strlen((const char *)cur) == 3)
			memcpy(currency, cur, 4);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*scale = scale_of(sqlite3_column_int(st, 1));
	}
	(void)sqlite3_reset(st);
	return src == SQLITE_ROW ? TS_OK : db_rc(src);
}

static int64_t
col_i64_or(sqlite3_stmt *st, int col, int64_t none)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? none :
	    sqlite3_column_int64(st, col);
}

enum ts_rc
rfm_store_settings(struct db *db, char currency[4], double *scale)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), rfm_sql[R_SETTINGS], -1,
	    &st, NULL))) != TS_OK)
		return rc;
	rc = read_settings(st, currency, scale);
	(void)sqlite3_finalize(st);
	return rc;
}

enum ts_rc
rfm_model_load(struct rfm *r, struct rfm_model *out)
{
	sqlite3_stmt *st;
	int src;

	memset(out, 0, sizeof(*out));
	st = r->st[R_BREAKS];
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		out->breaks.n = sqlite3_column_int64(st, 0);
		for (int k = 0; k < 4; k++) {
			out->breaks.r[k] = col_i64_or(st, 1 + k, RFM_UNREACHED);
			out->breaks.f[k] = col_i64_or(st, 5 + k, RFM_UNREACHED);
			out->breaks.m[k] = col_i64_or(st, 9 + k, RFM_UNREACHED);
		}
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return db_rc(src);
	st = r->st[R_CLV];
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct clv_model *m = &out->clv;

		out->have_clv = true;
		out->fitted_at = sqlite3_column_int64(st, 0);
		out->clv_n_customers = (size_t)sqlite3_column_int64(st, 1);
		m->fallback.n_repeat = (size_t)sqlite3_column_int64(st, 2);
		m->bgnbd_ok = sqlite3_column_int(st, 3) != 0;
		m->bgnbd.r = sqlite3_column_double(st, 4);
		m->bgnbd.alpha = sqlite3_column_double(st, 5);
		m->bgnbd.a = sqlite3_column_double(st, 6);
		m->bgnbd.b = sqlite3_column_double(st, 7);
		m->bgnbd.loglik = sqlite3_column_double(st, 8);
		m->bgnbd.converged = m->bgnbd_ok;
		m->gg_ok = sqlite3_column_int(st, 9) != 0;
		m->gg.p = sqlite3_column_double(st, 10);
		m->gg.q = sqlite3_column_double(st, 11);
		m->gg.gamma = sqlite3_column_double(st, 12);
		m->gg.loglik = sqlite3_column_double(st, 13);
		m->gg.converged = m->gg_ok;
		m->fallback.gap_weeks = sqlite3_column_double(st, 14);
		m->fallback.spend = sqlite3_column_double(st, 15);
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return db_rc(src);
	return TS_OK;
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		(void)sqlite3_bind_null(st, i);
	else
		(void)sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void
bind_cutoff(sqlite3_stmt *st, int i, int64_t as_of, bool cutoff)
{
	if (cutoff)
		(void)sqlite3_bind_int64(st, i, as_of);
	else
		(void)sqlite3_bind_null(st, i);
}

enum ts_rc
rfm_customer_compute(struct rfm *r, int64_t id, int64_t as_of, bool cutoff,
    const struct rfm_model *m, struct rfm_customer *out)
{
	sqlite3_stmt *st;
	char currency[4];
	double scale;
	size_t n = 0;
	enum ts_rc rc;
	int src;

	memset(out, 0, sizeof(*out));
	if ((rc = read_settings(r->st[R_SETTINGS], currency, &scale)) != TS_OK)
		return rc;
	st = r->st[R_EXISTS];
	(void)sqlite3_bind_int64(st, 1, id);
	src = sqlite3_step(st);
	(void)sqlite3_reset(st);
	if (src != SQLITE_ROW)
		return src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);

	st = r->st[R_ORDERS];
	(void)sqlite3_bind_int64(st, 1, id);
	bind_text_or_null(st, 2, currency);
	bind_cutoff(st, 3, as_of, cutoff);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 64;
			struct rfm_order *b = realloc(r->buf, cap * sizeof(*b));
			if (b == NULL) {
				(void)sqlite3_reset(st);
				return TS_ERR_NOMEM;
			}
			r->buf = b;
			r->cap = cap;
		}
		r->buf[n].total_minor = sqlite3_column_int64(st, 0);
		r->buf[n].at = rfm_order_time(sqlite3_column_int64(st, 1));
		r->buf[n].coupon = sqlite3_column_int(st, 2) != 0;
		n++;
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(src);
	rfm_summarize(r->buf, n, as_of, cutoff, scale, out);

	st = r->st[R_REFUNDS];
	(void)sqlite3_bind_int64(st, 1, id);
	bind_text_or_null(st, 2, currency);
	bind_cutoff(st, 3, as_of, cutoff);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		out->refunded_minor = sqlite3_column_int64(st, 0);
		out->refund_count = sqlite3_column_int64(st, 1);
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_ROW)
		return db_rc(src);
	rfm_score_customer(&m->breaks, out);
	rfm_predict(m, out);
	return TS_OK;
}

static void
bind_opt_i64(sqlite3_stmt *st, int i, int64_t v, bool present)
{
	if (present)
		(void)sqlite3_bind_int64(st, i, v);
	else
		(void)sqlite3_bind_null(st, i);
}

static void
bind_opt_double(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		(void)sqlite3_bind_double(st, i, v);
	else
		(void)sqlite3_bind_null(st, i);
}

enum ts_rc
rfm_customer_store(struct rfm *r, int64_t id, int64_t as_of,
    const struct rfm_customer *c, int64_t seq, int64_t guard)
{
	sqlite3_stmt *st = r->st[R_STORE];
	bool has = c->order_count > 0, gap = isfinite(c->median_gap_days);
	bool scored = c->r_score > 0;

	/*
	 * Only for a customer that exists: the caller checks, in the same
	 * transaction (a full run reads the ids of its chunk's range). Not by
	 * INSERT ... SELECT ... WHERE EXISTS: SQLite takes that for a
	 * statement of many rows and keeps a statement journal of every page
	 * it touches, once per customer.
	 */
	(void)sqlite3_bind_int64(st, 1, id);
	(void)sqlite3_bind_int64(st, 2, as_of);
	(void)sqlite3_bind_int64(st, 3, seq);
	(void)sqlite3_bind_int64(st, 4, c->ltv_minor);
	(void)sqlite3_bind_int64(st, 5, c->order_count);
	bind_opt_i64(st, 6, c->first_order_at, has);
	bind_opt_i64(st, 7, c->last_order_at, has);
	(void)sqlite3_bind_int64(st, 8, c->refunded_minor);
	(void)sqlite3_bind_int64(st, 9, c->refund_count);
	(void)sqlite3_bind_int64(st, 10, c->coupon_order_count);
	(void)sqlite3_bind_int64(st, 11, c->order_days);
	bind_opt_double(st, 12, c->median_gap_days);
	bind_opt_i64(st, 13, c->next_order_at, gap);
	bind_opt_i64(st, 14, c->overdue_at, gap);
	bind_opt_i64(st, 15, c->r_score, scored);
	bind_opt_i64(st, 16, c->f_score, scored);
	bind_opt_i64(st, 17, c->m_score, scored);
	bind_text_or_null(st, 18, c->segment);
	bind_opt_double(st, 19, c->p_alive);
	bind_opt_double(st, 20, c->expected_orders_90d);
	bind_opt_double(st, 21, c->predicted_value_12m);
	bind_opt_i64(st, 22, c->clv_from_model, isfinite(c->p_alive));
	(void)sqlite3_bind_int64(st, 23, guard);
	return step_done(st);
}

enum ts_rc
rfm_interactions_refresh(struct rfm *r, int64_t lo, int64_t hi, int64_t as_of,
    bool cutoff)
{
	sqlite3_stmt *st = r->st[R_INTERACTIONS];

	(void)sqlite3_bind_int64(st, 1, lo);
	(void)sqlite3_bind_int64(st, 2, hi);
	bind_cutoff(st, 3, as_of, cutoff);
	return step_done(st);
}

static enum ts_rc
prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	enum ts_rc rc = db_rc(sqlite3_prepare_v2(db_handle(db), sql, -1, st, NULL));

	return rc == TS_OK && *st == NULL ? TS_ERR_IO : rc;
}

static void
bind_break(sqlite3_stmt *st, int i, int64_t v)
{
	bind_opt_i64(st, i, v, v != RFM_UNREACHED);
}

enum ts_rc
rfm_model_store(struct db *db, const struct rfm_model *m)
{
	sqlite3_stmt *st = NULL;
	const struct clv_model *c = &m->clv;
	enum ts_rc rc;

	if ((rc = prepare(db, "UPDATE intel_state SET rfm_n = ?1, r2 = ?2,"
	    " r3 = ?3, r4 = ?4, r5 = ?5, f2 = ?6, f3 = ?7, f4 = ?8, f5 = ?9,"
	    " m2 = ?10, m3 = ?11, m4 = ?12, m5 = ?13 WHERE id = 1", &st)) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, m->breaks.n);
	for (int k = 0; k < 4; k++) {
		bind_break(st, 2 + k, m->breaks.r[k]);
		bind_break(st, 6 + k, m->breaks.f[k]);
		bind_break(st, 10 + k, m->breaks.m[k]);
	}
	rc = step_done(st);
	(void)sqlite3_finalize(st);
	st = NULL;
	if (rc != TS_OK)
		return rc;
	if (!m->have_clv)
		return db_exec(db, "DELETE FROM clv_model");
	if ((rc = prepare(db, "INSERT OR REPLACE INTO clv_model (id, fitted_at,"
	    " n_customers, n_repeat, bgnbd_ok, r, alpha, a, b, bgnbd_loglik, gg_ok,"
	    " p, q, gamma, gg_loglik, fallback_gap_weeks, fallback_spend) VALUES"
	    " (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	    " ?16)", &st)) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, m->fitted_at);
	(void)sqlite3_bind_int64(st, 2, (int64_t)m->clv_n_customers);
	(void)sqlite3_bind_int64(st, 3, (int64_t)c->fallback.n_repeat);
	(void)sqlite3_bind_int(st, 4, c->bgnbd_ok);
	bind_opt_double(st, 5, c->bgnbd.r);
	bind_opt_double(st, 6, c->bgnbd.alpha);
	bind_opt_double(st, 7, c->bgnbd.a);
	bind_opt_double(st, 8, c->bgnbd.b);
	bind_opt_double(st, 9, c->bgnbd.loglik);
	(void)sqlite3_bind_int(st, 10, c->gg_ok);
	bind_opt_double(st, 11, c->gg.p);
	bind_opt_double(st, 12, c->gg.q);
	bind_opt_double(st, 13, c->gg.gamma);
	bind_opt_double(st, 14, c->gg.loglik);
	(void)sqlite3_bind_double(st, 15, c->fallback.gap_weeks);
	(void)sqlite3_bind_double(st, 16, c->fallback.spend);
	rc = step_done(st);
	(void)sqlite3_finalize(st);
	return rc;
}
