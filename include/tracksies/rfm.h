/* SPDX-License-Identifier: MIT */
/*
 * Customer metrics "as of" a time, computed from rows: totals, the median
 * gap between orders with the expected next order and the overdue flag,
 * RFM scores by quintile with a segment name, and P(alive), expected orders
 * and predicted value from the purchase models of clv.c (fitted on the
 * store's own orders by rfm_snapshot.h). Formulas: docs/intelligence.md.
 * The pure functions do no I/O; struct rfm reads and writes SQLite. Never
 * logs.
 */
#ifndef TRACKSIES_RFM_H
#define TRACKSIES_RFM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/clv.h"
#include "tracksies/rc.h"

struct db;

/* Overdue when now > next_order_at + max(GAP_FACTOR * gap, MIN_DAYS). */
#define RFM_OVERDUE_GAP_FACTOR 0.5
#define RFM_OVERDUE_MIN_DAYS 14.0
/* The purchase models are fitted on at most this many customers. */
#define RFM_CLV_FIT_MAX 5000
/* Horizons of the predictions, in weeks. */
#define RFM_ORDERS_HORIZON_WEEKS (90.0 / 7.0)
/* A score threshold no customer reached. */
#define RFM_UNREACHED INT64_MAX

/* One counted order, as the metrics need it. */
struct rfm_order {
	int64_t total_minor;
	uint32_t at;		/* created_at, unix seconds (16 bytes an order) */
	bool coupon;
};

/* created_at clamped into struct rfm_order's range. */
uint32_t rfm_order_time(int64_t created_at);

/*
 * RFM thresholds learned by the last full recalculation: t[k] is the least
 * value that scores k + 2 (RFM_UNREACHED when none does), for recency
 * (last_order_at), frequency (order_count) and monetary (ltv_minor).
 */
struct rfm_breaks {
	int64_t n;		/* customers with at least one counted order */
	int64_t r[4], f[4], m[4];
};

/* What recalculations score and predict with. */
struct rfm_model {
	struct rfm_breaks breaks;	/* n == 0: no RFM scores yet */
	struct clv_model clv;
	bool have_clv;			/* a fit (or its fallback) is stored */
	size_t clv_n_customers;
	int64_t fitted_at;
};

/* One customer's metrics as of a time. NAN / 0 mark "none" as noted. */
struct rfm_customer {
	int64_t ltv_minor;
	int64_t order_count;
	int64_t first_order_at;		/* 0 when order_count == 0 */
	int64_t last_order_at;
	int64_t coupon_order_count;
	int64_t refunded_minor;
	int64_t refund_count;
	int64_t order_days;		/* distinct UTC days with an order */
	double median_gap_days;		/* NAN with fewer than 2 order days */
	int64_t next_order_at;		/* 0 when median_gap_days is NAN */
	int64_t overdue_at;		/* 0 likewise */
	int r_score, f_score, m_score;	/* 1..5, 0 when none */
	const char *segment;		/* static string, NULL when none */
	struct clv_customer clv;	/* BG/NBD summary, weeks, major units */
	double p_alive;			/* NAN when no orders or no model */
	double expected_orders_90d;
	double predicted_value_12m;	/* major units */
	bool clv_from_model;		/* false: the fallback's formulas */
};

/*
 * Metrics of the n orders o (sorted here by time, in place) as of as_of;
 * with cutoff they are the orders placed before as_of, otherwise every
 * order up to as_of (the live clock). The purchase models' age T runs to
 * the start of the last day observed: as_of's day, or with cutoff the day
 * of the instant before as_of, whose orders are the last to count (the
 * convention that reproduces the published CDNOW fits,
 * docs/intelligence-models.md). scale converts minor to major units (100
 * for cents). Refunds and scores are left zero: see rfm_score_customer and
 * rfm_predict. Pure.
 */
void rfm_summarize(struct rfm_order *o, size_t n, int64_t as_of, bool cutoff,
    double scale, struct rfm_customer *out);

/* 1 + the number of thresholds t[0..3] at or below v. Pure. */
int rfm_score(const int64_t t[4], int64_t v);

/*
 * Thresholds from the n values sorted ascending: score(v) =
 * 1 + floor(5 * (customers with a value below v) / n). Pure.
 */
void rfm_breaks_from_sorted(const int64_t *sorted, size_t n, int64_t t[4]);

/* The segment name of scores r, f, m (1..5); NULL when any is 0. Pure. */
const char *rfm_segment(int r, int f, int m);

/* Set scores and segment of c from b (none when b->n == 0). Pure. */
void rfm_score_customer(const struct rfm_breaks *b, struct rfm_customer *c);

/* Set the predictions of c from m (NAN when !m->have_clv). Pure. */
void rfm_predict(const struct rfm_model *m, struct rfm_customer *c);

/* Parse "YYYY-MM-DD" as the start of that day, UTC. TS_ERR_INVALID. */
enum ts_rc rfm_parse_date(const char *text, int64_t *out);

/*
 * Statements of one connection for per-customer work. On TS_OK *out
 * belongs to the caller (rfm_free). The thread that owns db.
 */
struct rfm;
enum ts_rc rfm_new(struct db *db, struct rfm **out);
void rfm_free(struct rfm *r);

/*
 * The store currency ("" when unknown: every currency counts) and the
 * factor from minor to major units (100 unless kv says otherwise).
 */
enum ts_rc rfm_store_settings(struct db *db, char currency[4], double *scale);

/* The stored model (thresholds and fitted purchase models). TS_ERR_IO. */
enum ts_rc rfm_model_load(struct rfm *r, struct rfm_model *out);

/*
 * Compute customer id's metrics from its rows as of as_of (cutoff: ignore
 * orders created at or after as_of), scored and predicted with m.
 * TS_ERR_NOTFOUND when the customer does not exist; TS_ERR_IO.
 */
enum ts_rc rfm_customer_compute(struct rfm *r, int64_t id, int64_t as_of,
    bool cutoff, const struct rfm_model *m, struct rfm_customer *out);

/*
 * Write c as customer id's metrics row, tagged seq; customer id must exist
 * (the caller checks, in the same transaction: foreign keys may be off).
 * With guard >= 0 an existing row written after the snapshot guard
 * (seq > guard) is kept. TS_ERR_IO.
 */
enum ts_rc rfm_customer_store(struct rfm *r, int64_t id, int64_t as_of,
    const struct rfm_customer *c, int64_t seq, int64_t guard);

/*
 * Recount the interaction columns of customers lo..hi from interactions
 * (cutoff: only those created before as_of). TS_ERR_IO.
 */
enum ts_rc rfm_interactions_refresh(struct rfm *r, int64_t lo, int64_t hi,
    int64_t as_of, bool cutoff);

/* Store m as the current model (in the caller's transaction). TS_ERR_IO. */
enum ts_rc rfm_model_store(struct db *db, const struct rfm_model *m);

#endif
