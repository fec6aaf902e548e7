/* SPDX-License-Identifier: MIT */
/*
 * /metrics: a snapshot of the daemon's counters and gauges rendered as
 * Prometheus text exposition format 0.0.4, and the sync latency histogram
 * the worker observes into. Pure: the caller gathers the snapshot (intake
 * counters, worker status, REST client stats, a few database counts) and
 * serves the text; this module does no I/O and never logs.
 */
#ifndef TRACKSIES_METRICS_H
#define TRACKSIES_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct intake_counters;
struct worker_status;
struct wc_client_stats;

/* Content-Type of the rendered text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The rendered text never exceeds this; see metrics_render. */
#define METRICS_MAX_BYTES (4u << 20)

/*
 * Database reads the snapshot needs, for the caller to run on its own
 * connection (an admin request's). One row each.
 *   METRICS_SQL_QUEUE: pending events, oldest received_at (NULL: none),
 *     events failed for good (malformed payloads).
 *   METRICS_SQL_FAILED_BY_CODE: one row per error code, count; order_sync's
 *     partial index on failed rows keeps it cheap.
 */
#define METRICS_SQL_QUEUE "SELECT (SELECT count(*) FROM events WHERE state =" \
	" 'pending'), (SELECT min(received_at) FROM events WHERE state =" \
	" 'pending'), (SELECT count(*) FROM events WHERE state = 'failed')"
#define METRICS_SQL_FAILED_BY_CODE "SELECT coalesce(error_code, ''), count(*)" \
	" FROM order_sync WHERE state = 'failed' GROUP BY 1 ORDER BY 1"

/*
 * What a request to the webhook path came to: the outcome label of
 * tracksies_webhook_deliveries_total.
 */
enum metrics_outcome {
	METRICS_QUEUED,			/* stored, 200 */
	METRICS_MALFORMED,		/* signed, unreadable payload: stored as failed */
	METRICS_PING,			/* WooCommerce's creation ping */
	METRICS_IGNORED_TOPIC,		/* signed, a topic we do not sync */
	METRICS_UNSIGNED,		/* 401 */
	METRICS_BAD_SIGNATURE,		/* 401 */
	METRICS_TOO_LARGE,		/* 413 */
	METRICS_STORAGE_FAILED,		/* 503: the commit failed */
	METRICS_NOT_FOUND,		/* 404: another path */
	METRICS_METHOD_NOT_ALLOWED,	/* 405 */
	METRICS_OUTCOME_COUNT
};

/* The label value of an outcome ("queued", ...); NULL when out of range. */
const char *metrics_outcome_name(enum metrics_outcome o);

/*
 * Sync latency: seconds from an event's received_at to the sync of its
 * order. Buckets 0.1 0.25 0.5 1 2.5 5 10 30 60 +Inf. Counts are kept per
 * bucket (not cumulative) and made cumulative when rendered; every field
 * is atomic, so any thread may observe while another renders.
 */
#define METRICS_LATENCY_BUCKETS 10	/* the last one is +Inf */

struct metrics_histogram {
	atomic_uint_fast64_t bucket[METRICS_LATENCY_BUCKETS];
	atomic_uint_fast64_t sum_us;	/* microseconds */
};

/* Zero h (caller's storage). */
void metrics_histogram_init(struct metrics_histogram *h);

/*
 * Count one observation of seconds (negative or NaN counts as 0: a clock
 * stepped back). Lock-free; any thread.
 */
void metrics_histogram_observe(struct metrics_histogram *h, double seconds);

/* One labelled count: tracksies_orders_failed{code="no_billing_email"}. */
struct metrics_code_count {
	const char *code;
	uint64_t count;
};

/* tracksies_rest_requests_total{endpoint=..., status=...}. */
struct metrics_rest_count {
	const char *endpoint;		/* "orders", "orders_batch", ... or "all" */
	const char *status;		/* "ok", "transient", "auth", "not_found", "invalid" */
	uint64_t count;
};

/* tracksies_webhook_health{topic=..., status=...} 1, one per webhook. */
struct metrics_webhook {
	const char *topic;		/* "order.created" */
	const char *status;		/* WooCommerce's: active, paused, disabled; or missing */
};

/*
 * Everything /metrics shows, gathered by the caller. Pointers are borrowed
 * for the metrics_render call; a NULL array with n = 0 renders the family
 * with no samples, a NULL sync_latency leaves the histogram out.
 */
struct metrics_snapshot {
	const char *version;		/* tracksies_build_info{version} */
	int64_t start_time;		/* unix seconds; 0: left out */

	/* webhook intake: metrics_snapshot_set_intake */
	uint64_t deliveries[METRICS_OUTCOME_COUNT];

	/* the queue: METRICS_SQL_QUEUE */
	uint64_t queue_depth;		/* events pending */
	int64_t oldest_pending_age_s;	/* now - min(received_at), 0 when none */
	uint64_t events_failed;		/* events that will never be synced */

	/* the worker: metrics_snapshot_set_worker */
	uint64_t orders_synced;		/* since start */
	uint64_t orders_failed;		/* terminal errors since start */
	uint64_t meta_writes;		/* orders whose meta was written since start */
	bool worker_running;
	bool worker_paused;		/* the store refuses our keys */
	bool store_reachable;
	int64_t last_sync_at;		/* unix seconds, 0 never */

	/* orders failed now, by error code: METRICS_SQL_FAILED_BY_CODE */
	const struct metrics_code_count *failed_by_code;
	size_t n_failed_by_code;

	/* REST requests: metrics_rest_from_stats, or finer counts */
	const struct metrics_rest_count *rest;
	size_t n_rest;

	const struct metrics_histogram *sync_latency;

	/* the reconciler; has_reconciler false leaves its gauge out */
	bool has_reconciler;
	int64_t reconciler_lag_s;	/* now - the modified_after watermark */
	const struct metrics_webhook *webhooks;
	size_t n_webhooks;
};

/* Copy the intake's counters (atomic loads) into s->deliveries. Any thread. */
void metrics_snapshot_set_intake(struct metrics_snapshot *s,
    const struct intake_counters *c);

/* Copy the worker's status into s. */
void metrics_snapshot_set_worker(struct metrics_snapshot *s,
    const struct worker_status *w);

/*
 * Turn a REST client's counts into five entries out[0..5) for endpoint
 * (borrowed, e.g. "all"), statuses ok, transient, auth, not_found, invalid.
 * Returns 5.
 */
size_t metrics_rest_from_stats(const struct wc_client_stats *st,
    const char *endpoint, struct metrics_rest_count out[5]);

/*
 * Render s as Prometheus text format 0.0.4: # HELP and # TYPE before each
 * family, label values escaped (\\, \", \n), every family present even when
 * it has no samples. On TS_OK *out is NUL-terminated text owned by the
 * caller (free()). TS_ERR_INVALID when the text would exceed
 * METRICS_MAX_BYTES, TS_ERR_NOMEM. Any thread.
 */
enum ts_rc metrics_render(const struct metrics_snapshot *s, char **out);

#endif
