/* SPDX-License-Identifier: MIT */
/*
 * The worker thread (PRODUCT.md section 3). It owns the claim of pending
 * events, the REST traffic of the sync, and the write-back of order meta.
 *
 * DESIGN. An order is a job from the moment its events are claimed until
 * its meta is written (or needs none); while it is a job no other event of
 * that order is claimed, so our own order.updated echo is looked at only
 * after the write it echoes has been applied. Jobs flow through two queues
 * that share max_in_flight REST slots: "fetch" (GET /orders?include=, 100
 * ids a request) and "write" (POST /orders/batch, 100 orders a request, or
 * PUT /orders/{id} for a single one). A webhook whose payload shows
 * nothing newer than the state already applied is settled without any
 * request. Store
 * failures back the whole store off, since the next order would fail the
 * same way; a success makes every waiting event due again at once.
 */
#include "tracksies/worker.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "tracksies/alert.h"
#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/import.h"
#include "tracksies/profile.h"
#include "tracksies/log.h"
#include "tracksies/metrics.h"
#include "tracksies/sync.h"
#include "tracksies/tags_recalc.h"
#include "tracksies/wc_client.h"
#include "tracksies/wc_order.h"

#define MAX_JOBS 2048		/* orders in hand at once */
#define BATCH 100		/* WooCommerce's per-request limit */
#define BACKOFF_MAX_S 30
#define AUTH_PROBE_MAX_S 30
#define IMPORT_MAX_FAILURES 5	/* import: store requests failed in a row */
/*
 * While requests are in flight, a partial batch waits this long for more
 * orders before it goes: under a burst, full batches of 100; alone, an
 * order goes at once (nothing in flight).
 */
#define LINGER_MS 1500
/*
 * After this long with nothing in hand, a page cache larger than
 * IDLE_CACHE_BYTES is released: the pages read for a burst are not kept
 * while the daemon idles (they are read again if needed).
 */
#define IDLE_RELEASE_S 10
#define IDLE_CACHE_BYTES (256 * 1024)

/* One row of the claim query. */
struct claimed {
	int64_t order_id;
	int64_t max_event_id;
	int64_t received_at;
	bool current;		/* every pending event shows the applied state */
};

enum call_kind { CALL_FETCH = 1, CALL_FETCH_ONE, CALL_WRITE, CALL_PAGE };

enum job_state {
	JOB_FREE = 0,
	JOB_FETCH,		/* to fetch with others (?include=) */
	JOB_FETCH_ONE,		/* to fetch alone: tells trash from deletion */
	JOB_FETCHING,
	JOB_WRITE,		/* meta to write */
	JOB_WRITING,
};

struct job {
	enum job_state state;
	int64_t order_id;
	int64_t max_event_id;		/* events up to this id are settled by the job */
	json_t *meta;			/* to write, when state is JOB_WRITE(ING) */
	bool complete;			/* also set status completed (digital auto-complete) */
	int64_t received_at;		/* oldest event of the job (sync latency) */
};

/* The orders one REST call carries (or, for a page, its import token). */
struct call_ctx {
	size_t n;
	int job[BATCH];
	int page;
};

struct worker {
	const struct config *cfg;
	struct import *import;		/* --import: pages instead of events */
	atomic_bool finished;		/* import mode: everything applied and written, or gave up */
	atomic_bool gave_up;		/* import mode: the store is down or refuses the keys */
	char gave_up_why[512];		/* written by the worker before gave_up is set */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool woken;			/* guarded by lock */
	bool waits_for_events;		/* guarded by lock: see idle() */
	atomic_bool stop;

	/* worker thread only */
	struct db *db;
	int64_t last_checkpoint;	/* unix second of the last one */
	struct sync *sync;
	struct wc_client *wc;
	sqlite3_stmt *claim;
	sqlite3_stmt *settle;
	sqlite3_stmt *reschedule;
	sqlite3_stmt *make_due;
	struct job jobs[MAX_JOBS];
	struct claimed claimed[MAX_JOBS];	/* claim()'s rows */
	int n_jobs;
	char currency[4];
	int decimals;
	int64_t store_ready_at;		/* no store requests before this time */
	int64_t fetch_since_ms;		/* oldest partial fetch batch waiting, 0 */
	int64_t write_since_ms;		/* oldest partial write batch waiting, 0 */
	int backoff_s;
	int import_failures;		/* import mode: failed store requests in a row */
	bool auth_paused;
	bool sync_off;			/* feature woo.order_sync is off: claim nothing */
	bool auto_complete;		/* feature hq.digital_auto_complete */
	bool tags_on;			/* feature woo.tags */
	struct tags_recalc *tags;	/* tags, RFM, automatic statuses per customer */
	struct alert_smtp smtp;		/* Do-Not-Serve alerts */
	int64_t recalc_retry_at;	/* after a failed full recalculation */
	int64_t busy_at;		/* last second with jobs or requests */
	struct wc_client *products;	/* one-at-a-time client for product look-ups */

	/* status, guarded by lock */
	struct worker_status status;
	struct wc_client_stats rest;
	struct metrics_histogram latency;	/* event received -> synced; atomics */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Whether a batch of n ready jobs should go now; *since tracks how long a
 * partial one has waited.
 */
static bool
batch_due(struct worker *w, int n, int64_t *since)
{
	int64_t t = now_ms();

	if (n == 0) {
		*since = 0;
		return false;
	}
	if (*since == 0)
		*since = t;
	if (n >= BATCH || wc_client_in_flight(w->wc) == 0 || t - *since >= LINGER_MS) {
		*since = 0;
		return true;
	}
	return false;
}

static void
status_update(struct worker *w, void (*fn)(struct worker_status *, void *),
    void *arg)
{
	(void)pthread_mutex_lock(&w->lock);
	fn(&w->status, arg);
	(void)pthread_mutex_unlock(&w->lock);
}

const struct metrics_histogram *
worker_sync_latency(struct worker *w)
{
	return &w->latency;
}

void
worker_rest_stats(struct worker *w, struct wc_client_stats *out)
{
	(void)pthread_mutex_lock(&w->lock);
	*out = w->rest;
	(void)pthread_mutex_unlock(&w->lock);
}

void
worker_get_status(struct worker *w, struct worker_status *out)
{
	(void)pthread_mutex_lock(&w->lock);
	*out = w->status;
	(void)pthread_mutex_unlock(&w->lock);
}

void
worker_notify(void *arg)
{
	struct worker *w = arg;

	(void)pthread_mutex_lock(&w->lock);
	w->woken = true;
	if (w->waits_for_events)
		(void)pthread_cond_signal(&w->wake);
	(void)pthread_mutex_unlock(&w->lock);
}

/*
 * Sleep until stopped or timeout_ms passed, or, when for_events, until
 * notified. Without for_events (order sync paused, the store backed off)
 * a new event changes nothing before the timeout, and the queue commits
 * thousands of times a second under load: waking for each would spend the
 * intake's CPU on nothing. A notification meanwhile is kept for the next
 * idle() that waits for events.
 */
static void
idle(struct worker *w, long timeout_ms, bool for_events)
{
	struct timespec until;

	(void)clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	(void)pthread_mutex_lock(&w->lock);
	w->waits_for_events = for_events;
	while (!(for_events && w->woken) && !atomic_load(&w->stop))
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) != 0)
			break;
	if (for_events)
		w->woken = false;
	w->waits_for_events = false;
	(void)pthread_mutex_unlock(&w->lock);
}

/* ---- jobs ---------------------------------------------------------- */

static int
job_find(struct worker *w, int64_t order_id)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (w->jobs[i].state != JOB_FREE && w->jobs[i].order_id == order_id)
			return i;
	return -1;
}

static int
job_new(struct worker *w, int64_t order_id, int64_t max_event_id)
{
	for (int i = 0; i < MAX_JOBS; i++) {
		if (w->jobs[i].state == JOB_FREE) {
			w->jobs[i] = (struct job){ JOB_FETCH, order_id, max_event_id, NULL,
			    false, 0 };
			w->n_jobs++;
			return i;
		}
	}
	return -1;
}

static void
job_free(struct worker *w, int j)
{
	json_decref(w->jobs[j].meta);
	w->jobs[j] = (struct job){ 0 };
	w->n_jobs--;
}

/* Mark an order's pending events up to max_event_id done. */
static enum ts_rc
settle_events(struct worker *w, int64_t order_id, int64_t max_event_id)
{
	sqlite3_stmt *st = w->settle;
	enum ts_rc rc;

	(void)sqlite3_bind_int64(st, 1, order_id);
	(void)sqlite3_bind_int64(st, 2, max_event_id);
	rc = db_rc(sqlite3_step(st));
	(void)sqlite3_reset(st);
	return rc;
}

/* The job's events are settled: mark them done and forget the job. */
static enum ts_rc
job_done(struct worker *w, int j)
{
	enum ts_rc rc = settle_events(w, w->jobs[j].order_id,
	    w->jobs[j].max_event_id);

	job_free(w, j);
	return rc;
}

/* Give the job back to the queue, due when the store is expected back. */
static void
job_retry_later(struct worker *w, int j)
{
	sqlite3_stmt *st = w->reschedule;

	(void)sqlite3_bind_int64(st, 1, w->jobs[j].order_id);
	(void)sqlite3_bind_int64(st, 2, w->jobs[j].max_event_id);
	(void)sqlite3_bind_int64(st, 3, w->store_ready_at);
	(void)sqlite3_step(st);
	(void)sqlite3_reset(st);
	job_free(w, j);
}

/* ---- the store's health ------------------------------------------------ */

static void
set_reachable(struct worker_status *st, void *arg)
{
	st->store_reachable = *(bool *)arg;
}

static void
set_paused(struct worker_status *st, void *arg)
{
	st->paused_auth = *(bool *)arg;
}

static void
store_ok(struct worker *w)
{
	bool yes = true, no = false;

	if (w->auth_paused) {
		log_info("worker: store accepts our keys again, resuming");
		w->auth_paused = false;
		status_update(w, set_paused, &no);
	}
	if (w->backoff_s > 0) {
		log_info("worker: store is back, retrying waiting orders now");
		/* Everything that waited for the store is due now. */
		(void)sqlite3_bind_int64(w->make_due, 1, now_s());
		(void)sqlite3_step(w->make_due);
		(void)sqlite3_reset(w->make_due);
	}
	w->backoff_s = 0;
	w->import_failures = 0;
	w->store_ready_at = 0;
	status_update(w, set_reachable, &yes);
}

/*
 * An import gives up instead of backing off for ever (its operator waits at
 * a terminal, and docs/operations.md promises exit 1): at once when the store
 * refuses the keys, or after IMPORT_MAX_FAILURES requests in a row (about 15 s
 * of backoff) that got no answer or an error. A 429 is the store pacing us,
 * not failing. The checkpoint stays; the same command resumes.
 */
static void
import_check_give_up(struct worker *w, const struct wc_call *c)
{
	if (c->rc == TS_ERR_AUTH) {
		(void)snprintf(w->gave_up_why, sizeof(w->gave_up_why), "the store"
		    " refused our keys (HTTP %ld %s): check [store] consumer_key and"
		    " consumer_secret", c->status, c->error_code);
	} else if (c->status == 429 || ++w->import_failures < IMPORT_MAX_FAILURES) {
		return;
	} else if (c->status == 0) {
		(void)snprintf(w->gave_up_why, sizeof(w->gave_up_why), "the store did"
		    " not answer %d requests in a row (last: %s: %s): check [store] url"
		    " and that the store is up", w->import_failures, c->error_code,
		    c->error_message);
	} else {
		(void)snprintf(w->gave_up_why, sizeof(w->gave_up_why), "the store"
		    " failed %d requests in a row (last: HTTP %ld %s): check that the"
		    " store is up", w->import_failures, c->status, c->error_code);
	}
	atomic_store(&w->gave_up, true);
}

/* Exponential backoff with +-25 % jitter; Retry-After wins when longer. */
static void
store_failed(struct worker *w, const struct wc_call *c)
{
	unsigned char r = 0;
	int wait_s;
	bool reachable = c->status != 0, yes = true;

	if (c->rc == TS_ERR_AUTH) {
		if (!w->auth_paused)
			log_error("worker: store refused our keys status=%ld code=%s:"
			    " paused; check [store] consumer_key/consumer_secret",
			    c->status, c->error_code);
		w->auth_paused = true;
		status_update(w, set_paused, &yes);
		w->backoff_s = w->backoff_s == 0 ? 2 : w->backoff_s * 2;
		if (w->backoff_s > AUTH_PROBE_MAX_S)
			w->backoff_s = AUTH_PROBE_MAX_S;
	} else {
		w->backoff_s = w->backoff_s == 0 ? 1 : w->backoff_s * 2;
		if (w->backoff_s > BACKOFF_MAX_S)
			w->backoff_s = BACKOFF_MAX_S;
	}
	(void)RAND_bytes(&r, 1);
	wait_s = w->backoff_s * (75 + (r % 51)) / 100;
	if (wait_s < 1)
		wait_s = 1;
	if (c->retry_after_s > wait_s)
		wait_s = (int)(c->retry_after_s > 3600 ? 3600 : c->retry_after_s);
	w->store_ready_at = now_s() + wait_s;
	status_update(w, set_reachable, &reachable);
	if (w->import != NULL)
		import_check_give_up(w, c);
	if (c->rc != TS_ERR_AUTH && !atomic_load(&w->gave_up))
		log_warn("worker: store request failed status=%ld code=%s: retry in %ds",
		    c->status, c->error_code, wait_s);
}

/* ---- claim -------------------------------------------------------------- */

/*
 * Take pending orders into jobs. An order whose every pending event shows a
 * state no newer than the one applied (older date_modified, or the same
 * with the same status and total) is settled at once.
 */
static enum ts_rc
claim(struct worker *w, int64_t now)
{
	sqlite3_stmt *st = w->claim;
	int want = MAX_JOBS - w->n_jobs, n = 0, settled = 0, src;
	bool in_txn = false;
	enum ts_rc rc = TS_OK;

	if (want <= 0)
		return TS_OK;
	/*
	 * Read every row first: a write while the query's read transaction is
	 * open fails with SQLITE_BUSY_SNAPSHOT as soon as intake commits.
	 */
	(void)sqlite3_bind_int64(st, 1, now);
	(void)sqlite3_bind_int(st, 2, want + w->n_jobs);
	while (n < MAX_JOBS && (src = sqlite3_step(st)) == SQLITE_ROW) {
		w->claimed[n].order_id = sqlite3_column_int64(st, 0);
		w->claimed[n].max_event_id = sqlite3_column_int64(st, 1);
		w->claimed[n].received_at = sqlite3_column_int64(st, 2);
		w->claimed[n].current = sqlite3_column_int(st, 3) != 0;
		n++;
	}
	if (n < MAX_JOBS && src != SQLITE_DONE)
		rc = db_rc(src);
	(void)sqlite3_reset(st);

	for (int i = 0; i < n && rc == TS_OK; i++) {
		const struct claimed *c = &w->claimed[i];
		int j;

		if (job_find(w, c->order_id) >= 0)
			continue;
		if (!c->current) {
			if ((j = job_new(w, c->order_id, c->max_event_id)) < 0)
				break;
			w->jobs[j].received_at = c->received_at;
			continue;
		}
		/* Settled at once: all of them in one transaction (one fsync). */
		if (!in_txn && (rc = db_begin(w->db)) != TS_OK)
			break;
		in_txn = true;
		rc = settle_events(w, c->order_id, c->max_event_id);
		settled += rc == TS_OK;
	}
	if (in_txn) {
		if (rc == TS_OK)
			rc = db_commit(w->db);
		if (rc != TS_OK) {
			db_rollback(w->db);	/* they stay pending: next claim */
			settled = 0;
		}
	}
	if (settled > 0)
		log_debug("worker: settled orders=%d without a fetch (already current)",
		    settled);
	return rc;
}

/* ---- starting calls -------------------------------------------------------- */

static int
collect(struct worker *w, enum job_state from, struct call_ctx *ctx)
{
	ctx->n = 0;
	for (int i = 0; i < MAX_JOBS && ctx->n < BATCH; i++)
		if (w->jobs[i].state == from)
			ctx->job[ctx->n++] = i;
	return (int)ctx->n;
}

static int
count_state(struct worker *w, enum job_state s)
{
	int n = 0;

	for (int i = 0; i < MAX_JOBS; i++)
		n += w->jobs[i].state == s;
	return n;
}

static bool
start_call(struct worker *w, struct wc_call *c, struct call_ctx *ctx, int kind,
    enum job_state next)
{
	if (c == NULL) {
		free(ctx);
		return false;
	}
	c->kind = kind;
	c->user = ctx;
	if (wc_client_start(w->wc, c) != TS_OK) {
		wc_call_free(c);
		free(ctx);
		return false;
	}
	for (size_t i = 0; i < ctx->n; i++)
		w->jobs[ctx->job[i]].state = next;
	return true;
}

static bool
start_fetch(struct worker *w, enum job_state from)
{
	struct call_ctx *ctx = calloc(1, sizeof(*ctx));
	int64_t ids[BATCH];

	if (ctx == NULL || collect(w, from, ctx) == 0) {
		free(ctx);
		return false;
	}
	if (from == JOB_FETCH_ONE)
		ctx->n = 1;
	for (size_t i = 0; i < ctx->n; i++)
		ids[i] = w->jobs[ctx->job[i]].order_id;
	return start_call(w, ctx->n == 1 ? wc_call_get_order(ids[0]) :
	    wc_call_get_orders(ids, ctx->n), ctx,
	    ctx->n == 1 ? CALL_FETCH_ONE : CALL_FETCH, JOB_FETCHING);
}

static bool
start_write(struct worker *w)
{
	struct call_ctx *ctx = calloc(1, sizeof(*ctx));
	json_t *update;

	if (ctx == NULL || collect(w, JOB_WRITE, ctx) == 0) {
		free(ctx);
		return false;
	}
	if (w->import != NULL)
		import_count_request(w->import);
	if (ctx->n == 1) {
		struct job *job = &w->jobs[ctx->job[0]];
		json_t *body = json_pack("{s:O}", "meta_data", job->meta);
		if (job->complete)
			(void)json_object_set_new(body, "status", json_string("completed"));
		return start_call(w, wc_call_put_order(job->order_id, body), ctx,
		    CALL_WRITE, JOB_WRITING);
	}
	if ((update = json_array()) == NULL) {
		free(ctx);
		return false;
	}
	for (size_t i = 0; i < ctx->n; i++) {
		struct job *job = &w->jobs[ctx->job[i]];
		json_t *item = json_pack("{s:I,s:O}", "id", (json_int_t)job->order_id,
		    "meta_data", job->meta);
		if (job->complete)
			(void)json_object_set_new(item, "status", json_string("completed"));
		(void)json_array_append_new(update, item);
	}
	return start_call(w, wc_call_batch_orders(json_pack("{s:o}", "update",
	    update)), ctx, CALL_WRITE, JOB_WRITING);
}

/* Import mode: whether another page could be asked for now. */
static bool
import_wants_page(struct worker *w)
{
	return w->import != NULL && !import_pages_done(w->import) &&
	    w->n_jobs <= MAX_JOBS - BATCH;
}

static bool
start_page(struct worker *w)
{
	struct call_ctx *ctx = calloc(1, sizeof(*ctx));
	struct wc_list_query q;
	int token;

	if (ctx == NULL || !import_next_page(w->import, &q, &token)) {
		free(ctx);
		return false;
	}
	ctx->page = token;
	if (!start_call(w, wc_call_list_orders(&q), ctx, CALL_PAGE, JOB_FREE)) {
		import_page_failed(w->import, token);
		return false;
	}
	import_count_request(w->import);
	return true;
}

/*
 * Fill free REST slots. Writes go first once a full batch is ready (they
 * finish jobs and free memory) or when no more orders wait to be fetched.
 */
static void
start_calls(struct worker *w)
{
	if (w->store_ready_at > now_s())
		return;
	while (wc_client_in_flight(w->wc) < w->cfg->max_in_flight) {
		int writes = count_state(w, JOB_WRITE);
		int fetches = count_state(w, JOB_FETCH);
		bool started = false;

		if (writes >= BATCH || (fetches == 0 && !import_wants_page(w) &&
		    batch_due(w, writes, &w->write_since_ms)))
			started = start_write(w);
		else if (batch_due(w, fetches, &w->fetch_since_ms))
			started = start_fetch(w, JOB_FETCH);
		else if (w->import != NULL && w->n_jobs <= MAX_JOBS - BATCH)
			started = start_page(w);
		if (!started && count_state(w, JOB_FETCH_ONE) > 0)
			started = start_fetch(w, JOB_FETCH_ONE);
		if (!started)
			break;
		/* While the store is unknown, one request at a time probes it. */
		if (w->backoff_s > 0)
			break;
	}
}

/* ---- completions ----------------------------------------------------------- */

static void
count_result(struct worker_status *st, void *arg)
{
	const struct sync_result *r = arg;

	if (r->ignored)
		return;
	if (r->error_code != NULL) {
		st->orders_failed++;
	} else {
		st->orders_synced++;
		st->last_sync_at = now_s();
	}
}

/* After sync: the job waits for its write-back or is finished. */
static enum ts_rc
after_sync(struct worker *w, int j, struct sync_result *r)
{
	status_update(w, count_result, r);
	if (w->jobs[j].received_at > 0 && r->error_code == NULL && !r->ignored)
		metrics_histogram_observe(&w->latency,
		    (double)(now_s() - w->jobs[j].received_at));
	if (r->ignored)
		log_debug("worker: ignored order=%" PRId64 " (%s)", r->order_id,
		    r->stale ? "older than what we hold" : "checkout draft");
	else if (r->error_code != NULL)
		log_warn("worker: order failed order=%" PRId64 " error=%s: %s",
		    r->order_id, r->error_code, r->error_message);
	else
		log_info("worker: synced order=%" PRId64 " customer=%" PRId64 "%s%s",
		    r->order_id, r->customer_id, r->counted ? " counted" : "",
		    r->customer_created ? " new_customer" : "");
	if (r->meta != NULL || w->jobs[j].complete) {
		w->jobs[j].meta = r->meta != NULL ? r->meta : json_array();
		r->meta = NULL;
		w->jobs[j].state = JOB_WRITE;
		return TS_OK;
	}
	return job_done(w, j);
}

/*
 * Digital auto-complete: a processing order whose every line item is a
 * virtual or downloadable product. Line items carry no such flag, so the
 * products are looked up once (GET /products?include=) and kept in the
 * products table. The look-up is one small request on a client of its own,
 * made the first time a product is seen.
 */
static bool
all_digital(struct worker *w, const json_t *doc)
{
	const json_t *items = json_object_get(doc, "line_items"), *it;
	const char *status = json_string_value(json_object_get(doc, "status"));
	int64_t ids[BATCH], missing[BATCH];
	size_t n = 0, n_missing = 0, i;
	sqlite3_stmt *st = NULL;
	bool all = true;

	if (status == NULL || strcmp(status, "processing") != 0 ||
	    json_array_size(items) == 0 || json_array_size(items) > BATCH)
		return false;
	json_array_foreach(items, i, it)
		ids[n++] = (int64_t)json_integer_value(json_object_get(it, "product_id"));
	if (sqlite3_prepare_v2(db_handle(w->db), "SELECT virtual OR downloadable FROM"
	    " products WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return false;
	for (i = 0; i < n; i++) {
		(void)sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) == SQLITE_ROW)
			all &= sqlite3_column_int(st, 0) != 0;
		else
			missing[n_missing++] = ids[i];
		(void)sqlite3_reset(st);
	}
	(void)sqlite3_finalize(st);
	if (!all)
		return false;
	if (n_missing > 0) {
		struct wc_call *c = wc_call_get_products(missing, n_missing);
		json_t *p;

		if (c == NULL || wc_client_perform(w->products, c) != TS_OK ||
		    sqlite3_prepare_v2(db_handle(w->db), "INSERT OR REPLACE INTO"
		    " products (id, virtual, downloadable, fetched_at) VALUES (?1, ?2,"
		    " ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
			wc_call_free(c);
			return false;	/* next time */
		}
		json_array_foreach(c->response, i, p) {
			bool v = json_is_true(json_object_get(p, "virtual"));
			bool dl = json_is_true(json_object_get(p, "downloadable"));
			(void)sqlite3_bind_int64(st, 1, (int64_t)json_integer_value(
			    json_object_get(p, "id")));
			(void)sqlite3_bind_int(st, 2, v);
			(void)sqlite3_bind_int(st, 3, dl);
			(void)sqlite3_bind_int64(st, 4, now_s());
			(void)sqlite3_step(st);
			(void)sqlite3_reset(st);
			all &= v || dl;
		}
		(void)sqlite3_finalize(st);
		all &= json_array_size(c->response) == n_missing;
		wc_call_free(c);
	}
	return all;
}

/* One customer's tags, RFM figures and automatic status (woo.tags). */
static enum ts_rc
retag(struct worker *w, int64_t customer_id, int64_t now)
{
	enum ts_rc rc;

	if (customer_id <= 0 || !w->tags_on || w->tags == NULL)
		return TS_OK;
	rc = tags_recalc_customer(w->tags, customer_id, now);
	if (rc == TS_ERR_INVALID) {
		log_warn("tags: a rule failed for customer=%" PRId64 "; tags kept as"
		    " they were", customer_id);
		rc = TS_OK;
	}
	return rc;
}

/*
 * After an order was applied, in the same transaction: the tags of every
 * customer whose rows changed - the order's customer and the one it left
 * (moved by a new billing email, trashed, deleted), so that the one who
 * lost an order loses its tags now, not at the daily run - and a
 * Do-Not-Serve alert queued if the order's customer is banned (sent later
 * by background_jobs).
 */
static enum ts_rc
after_apply(struct worker *w, const struct sync_result *r, int64_t now)
{
	enum ts_rc rc;

	if (r->ignored)
		return TS_OK;
	if ((rc = retag(w, r->old_customer_id, now)) != TS_OK)
		return rc;
	if (r->customer_id <= 0 || r->error_code != NULL)
		return TS_OK;
	if ((rc = retag(w, r->customer_id, now)) != TS_OK)
		return rc;
	return alert_note_order(w->db, r->customer_id, r->order_id, now, NULL);
}

/* A full recalculation stops (consistently) when the daemon stops. */
static bool
recalc_progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	struct worker *w = arg;

	(void)phase;
	(void)done;
	(void)total;
	return !atomic_load(&w->stop);
}

/*
 * Once a second, outside any transaction: Do-Not-Serve alerts that are due,
 * and the full recalculation of tags when it is due (asked for by the admin
 * API, rules changed, or a new UTC day for time-based rules).
 */
static void
background_jobs(struct worker *w, int64_t now)
{
	int64_t due_at = 0;
	bool due = false;

	if (w->smtp.url != NULL && alert_next_due(w->db, &due_at) == TS_OK &&
	    due_at <= now) {
		struct alert_report rep;
		if (alert_deliver_pending(w->db, &w->smtp, now, &rep) == TS_OK &&
		    (rep.sent > 0 || rep.failed > 0))
			log_info("alert: sent=%d failed=%d%s%s", rep.sent, rep.failed,
			    rep.failed > 0 ? " last_error=" : "",
			    rep.failed > 0 ? rep.last_error : "");
	}
	if (w->tags_on && w->import == NULL && now >= w->recalc_retry_at &&
	    tags_recalc_due(w->db, now, &due) == TS_OK && due) {
		enum ts_rc rc = tags_recalc_all(w->db, now, recalc_progress, w);
		if (rc != TS_OK && !atomic_load(&w->stop)) {
			/* Still due: try again in an hour, not every second. */
			w->recalc_retry_at = now + 3600;
			log_warn("tags: recalculating everyone failed (%s); again in an"
			    " hour", rc_name(rc));
		} else if (rc == TS_OK) {
			log_info("tags: recalculated everyone");
		}
	}
}

/* A fetched page: apply every order in one transaction. */
static void
on_fetched(struct worker *w, struct wc_call *c, struct call_ctx *ctx)
{
	int64_t now = now_s();
	bool seen[BATCH] = { false };
	size_t i;
	json_t *doc;
	enum ts_rc rc;

	if (c->kind == CALL_FETCH_ONE && c->rc == TS_ERR_NOTFOUND) {
		/* 404: deleted for good. */
		struct sync_result r = { 0 };
		if ((rc = db_begin(w->db)) == TS_OK &&
		    (rc = sync_apply_missing(w->sync, w->jobs[ctx->job[0]].order_id,
		    false, now, &r)) == TS_OK &&
		    (rc = after_apply(w, &r, now)) == TS_OK &&
		    (rc = after_sync(w, ctx->job[0], &r)) == TS_OK)
			rc = db_commit(w->db);
		sync_result_fini(&r);
		if (rc != TS_OK) {
			db_rollback(w->db);
			job_retry_later(w, ctx->job[0]);
		}
		return;
	}
	if (c->rc != TS_OK) {
		store_failed(w, c);
		for (i = 0; i < ctx->n; i++)
			job_retry_later(w, ctx->job[i]);
		return;
	}
	store_ok(w);
	if ((rc = db_begin(w->db)) != TS_OK) {
		for (i = 0; i < ctx->n; i++)
			job_retry_later(w, ctx->job[i]);
		return;
	}
	/* GET /orders/{id} answers one object; ?include= a list. */
	json_t *list = json_is_array(c->response) ? json_incref(c->response) :
	    json_pack("[O]", c->response);
	json_array_foreach(list, i, doc) {
		int64_t id = (int64_t)json_integer_value(json_object_get(doc, "id"));
		struct sync_result r;
		size_t k;

		for (k = 0; k < ctx->n; k++)
			if (!seen[k] && w->jobs[ctx->job[k]].order_id == id)
				break;
		if (k == ctx->n)
			continue;	/* not asked for */
		seen[k] = true;
		if ((rc = sync_apply_order(w->sync, doc, now, &r)) != TS_OK)
			break;
		if ((rc = after_apply(w, &r, now)) != TS_OK) {
			sync_result_fini(&r);
			break;
		}
		w->jobs[ctx->job[k]].complete = w->auto_complete &&
		    r.error_code == NULL && !r.ignored && all_digital(w, doc);
		rc = after_sync(w, ctx->job[k], &r);
		sync_result_fini(&r);
		if (rc != TS_OK)
			break;
	}
	json_decref(list);
	if (rc == TS_OK)
		rc = db_commit(w->db);
	if (rc != TS_OK) {
		log_error("worker: database write failed (%s): orders retried later",
		    rc_name(rc));
		db_rollback(w->db);
		w->store_ready_at = now + 5;
		for (i = 0; i < ctx->n; i++)
			if (w->jobs[ctx->job[i]].state != JOB_FREE)
				job_retry_later(w, ctx->job[i]);
		return;
	}
	/*
	 * The list leaves trashed orders out: ask for those one by one, to
	 * tell the trash (200, status trash) from a deletion (404).
	 */
	for (i = 0; i < ctx->n; i++)
		if (!seen[i] && w->jobs[ctx->job[i]].state == JOB_FETCHING)
			w->jobs[ctx->job[i]].state = JOB_FETCH_ONE;
}

static void
count_write(struct worker_status *st, void *arg)
{
	(void)arg;
	st->meta_writes++;
}

/*
 * A write-back came back. The batch answers each order with its state after
 * the write (or a per-item error): applying that state records its
 * date_modified, so the order.updated echo of this very write finds the
 * order current and costs nothing.
 */
static void
on_written(struct worker *w, struct wc_call *c, struct call_ctx *ctx)
{
	int64_t now = now_s();
	json_t *items, *item;
	size_t i;
	enum ts_rc rc;

	if (c->rc == TS_ERR_INVALID && ctx->n == 1) {
		/* PUT to an order deleted meanwhile answers 400: nothing to write on. */
		log_warn("worker: meta write refused order=%" PRId64 " status=%ld code=%s",
		    w->jobs[ctx->job[0]].order_id, c->status, c->error_code);
		if (db_begin(w->db) == TS_OK &&
		    sync_set_writeback(w->sync, w->jobs[ctx->job[0]].order_id, NULL) == TS_OK &&
		    job_done(w, ctx->job[0]) == TS_OK && db_commit(w->db) == TS_OK)
			return;
		db_rollback(w->db);
		job_retry_later(w, ctx->job[0]);
		return;
	}
	if (c->rc != TS_OK) {
		/* Keep the jobs and their meta: written when the store is back. */
		store_failed(w, c);
		for (i = 0; i < ctx->n; i++)
			w->jobs[ctx->job[i]].state = JOB_WRITE;
		return;
	}
	store_ok(w);
	items = json_is_array(json_object_get(c->response, "update")) ?
	    json_incref(json_object_get(c->response, "update")) :
	    json_pack("[O]", c->response);
	if ((rc = db_begin(w->db)) != TS_OK) {
		json_decref(items);
		for (i = 0; i < ctx->n; i++)
			w->jobs[ctx->job[i]].state = JOB_WRITE;
		w->store_ready_at = now + 5;
		return;
	}
	json_array_foreach(items, i, item) {
		int64_t id = (int64_t)json_integer_value(json_object_get(item, "id"));
		json_t *err = json_object_get(item, "error");
		struct sync_result r;
		size_t k;
		int j;

		for (k = 0; k < ctx->n; k++)
			if (w->jobs[ctx->job[k]].state == JOB_WRITING &&
			    w->jobs[ctx->job[k]].order_id == id)
				break;
		if (k == ctx->n)
			continue;
		j = ctx->job[k];
		if (err != NULL) {
			log_warn("worker: meta write refused order=%" PRId64 " code=%s",
			    id, json_string_value(json_object_get(err, "code")));
			if ((rc = sync_set_writeback(w->sync, id, NULL)) != TS_OK ||
			    (rc = job_done(w, j)) != TS_OK)
				break;
			continue;
		}
		if ((rc = sync_apply_order(w->sync, item, now, &r)) != TS_OK)
			break;
		/* The store moved the order to another email meanwhile. */
		if (r.old_customer_id != 0 &&
		    (rc = after_apply(w, &r, now)) != TS_OK) {
			sync_result_fini(&r);
			break;
		}
		if (r.meta != NULL)
			log_warn("worker: order=%" PRId64 " meta still differs after"
			    " the write; not writing again", id);
		sync_result_fini(&r);
		if ((rc = sync_mark_written(w->sync, id, now)) != TS_OK)
			break;
		status_update(w, count_write, NULL);
		if ((rc = job_done(w, j)) != TS_OK)
			break;
	}
	json_decref(items);
	if (rc == TS_OK)
		rc = db_commit(w->db);
	if (rc != TS_OK) {
		db_rollback(w->db);
		log_error("worker: database write failed (%s) after a meta write",
		    rc_name(rc));
	}
	/* Anything the store did not answer for is written again later. */
	for (i = 0; i < ctx->n; i++)
		if (w->jobs[ctx->job[i]].state == JOB_WRITING)
			w->jobs[ctx->job[i]].state = JOB_WRITE;
}

/* ---- settings, start-up and the loop -------------------------------------- */

/*
 * The store's currency and money decimals: from [store] currency when set,
 * else from the store's general settings (remembered for restarts while
 * the store is down).
 */
static enum ts_rc
learn_store_settings(struct worker *w)
{
	struct wc_call *c = NULL;
	char cached[16];
	size_t i;
	json_t *v;
	enum ts_rc rc;

	w->decimals = 2;
	if (db_kv_get(w->db, "store.decimals", cached, sizeof(cached)) == TS_OK)
		w->decimals = atoi(cached);
	if (w->cfg->currency[0] != '\0') {
		(void)snprintf(w->currency, sizeof(w->currency), "%s", w->cfg->currency);
		(void)db_kv_set(w->db, "store.currency", w->currency);
		return TS_OK;
	}
	if ((c = wc_call_new(WC_GET, "/settings/general", NULL)) == NULL)
		return TS_ERR_NOMEM;
	rc = wc_client_perform(w->wc, c);
	if (rc == TS_OK) {
		store_ok(w);
		json_array_foreach(c->response, i, v) {
			const char *id = json_string_value(json_object_get(v, "id"));
			const char *value = json_string_value(json_object_get(v, "value"));
			if (id == NULL || value == NULL)
				continue;
			if (strcmp(id, "woocommerce_currency") == 0) {
				(void)snprintf(w->currency, sizeof(w->currency), "%s", value);
				(void)db_kv_set(w->db, "store.currency", w->currency);
			} else if (strcmp(id, "woocommerce_price_num_decimals") == 0) {
				w->decimals = atoi(value);
				(void)db_kv_set(w->db, "store.decimals", value);
			}
		}
	} else {
		store_failed(w, c);
	}
	wc_call_free(c);
	if (w->currency[0] == '\0' &&
	    db_kv_get(w->db, "store.currency", w->currency, sizeof(w->currency)) != TS_OK)
		return rc == TS_OK ? TS_ERR_INVALID : rc;
	if (w->decimals < 0 || w->decimals > 4)
		w->decimals = 2;
	return TS_OK;
}

/* Meta whose write was cut short by a stop or crash: write it now. */
static void
resume_writebacks(struct worker *w)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (sqlite3_prepare_v2(db_handle(w->db), "SELECT order_id, writeback FROM"
	    " order_sync WHERE writeback IS NOT NULL LIMIT ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	(void)sqlite3_bind_int(st, 1, MAX_JOBS / 2);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *meta = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		int j = meta != NULL ? job_new(w, sqlite3_column_int64(st, 0), 0) : -1;

		if (j < 0) {
			json_decref(meta);
			continue;
		}
		w->jobs[j].state = JOB_WRITE;
		w->jobs[j].meta = meta;
		n++;
	}
	(void)sqlite3_finalize(st);
	if (n > 0)
		log_info("worker: resuming meta write-back orders=%d", n);
}

static const char claim_sql[] =
	"SELECT e.order_id, MAX(e.id), MIN(e.received_at),"
	/* settled without a fetch: every event carries the applied state */
	" MIN(CASE WHEN e.modified_at IS NULL OR o.modified_at IS NULL THEN 0"
	"  WHEN e.modified_at < o.modified_at THEN 1"
	"  WHEN e.modified_at = o.modified_at AND e.status = o.status"
	"   AND e.total_minor = o.total_minor AND e.refund_count = o.refund_count"
	"  THEN 1 ELSE 0 END)"
	" FROM events AS e LEFT JOIN orders AS o ON o.id = e.order_id"
	" WHERE e.state = 'pending' AND e.next_attempt_at <= ?1"
	" AND e.order_id IS NOT NULL"
	" GROUP BY e.order_id ORDER BY MIN(e.id) LIMIT ?2";

/*
 * Intake never checkpoints and does not fsync its commits (queue.c): this
 * PASSIVE checkpoint, at most once a second from every loop the worker
 * waits in, fsyncs the WAL and copies it into the database file. It keeps
 * the WAL short, and bounds what a power cut can take from the queue.
 */
static void
checkpoint_each_second(struct worker *w, int64_t now)
{
	if (now == w->last_checkpoint)
		return;
	(void)db_exec(w->db, "PRAGMA wal_checkpoint(PASSIVE)");
	w->last_checkpoint = now;
}

static enum ts_rc
prepare(struct worker *w)
{
	struct sync_settings set = { 0 };
	struct wc_client_options opt = {
		.base_url = w->cfg->store_url,
		.auth = w->cfg->store_auth,
		.consumer_key = w->cfg->consumer_key,
		.consumer_secret = w->cfg->consumer_secret,
		.ca_file = w->cfg->ca_file,
		.timeout_ms = w->cfg->timeout_ms,
		.max_in_flight = w->cfg->max_in_flight,
	};
	sqlite3 *h;
	enum ts_rc rc;

	if ((rc = db_open(w->cfg->db_path, &w->db, NULL)) != TS_OK ||
	    (rc = wc_client_new(&opt, &w->wc)) != TS_OK)
		return rc;
	opt.max_in_flight = 1;
	if ((rc = wc_client_new(&opt, &w->products)) != TS_OK ||
	    (rc = tags_recalc_open(w->db, &w->tags)) != TS_OK)
		return rc;
	alert_smtp_from_config(w->cfg, &w->smtp);
	w->tags_on = true;
	h = db_handle(w->db);
	if ((rc = db_rc(sqlite3_prepare_v3(h, claim_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &w->claim, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v3(h, "UPDATE events SET state = 'done'"
	    " WHERE order_id = ?1 AND state = 'pending' AND id <= ?2", -1,
	    SQLITE_PREPARE_PERSISTENT, &w->settle, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v3(h, "UPDATE events SET attempts ="
	    " attempts + 1, next_attempt_at = ?3 WHERE order_id = ?1 AND"
	    " state = 'pending' AND id <= ?2", -1, SQLITE_PREPARE_PERSISTENT,
	    &w->reschedule, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v3(h, "UPDATE events SET next_attempt_at = 0"
	    " WHERE state = 'pending' AND next_attempt_at > ?1", -1,
	    SQLITE_PREPARE_PERSISTENT, &w->make_due, NULL))) != TS_OK)
		return rc;
	while (!atomic_load(&w->stop) && !atomic_load(&w->gave_up)) {
		if ((rc = learn_store_settings(w)) == TS_OK)
			break;
		if (atomic_load(&w->gave_up))
			break;
		log_warn("worker: cannot learn the store's currency yet (%s);"
		    " set [store] currency to start without the store", rc_name(rc));
		/*
		 * New events do not make the store answer sooner: sleep it out,
		 * checkpointing each second meanwhile (queue.c counts on it).
		 */
		for (int64_t until = w->store_ready_at > now_s() ? w->store_ready_at :
		    now_s() + 5; !atomic_load(&w->stop) && now_s() < until;) {
			checkpoint_each_second(w, now_s());
			idle(w, 1000, false);
		}
	}
	if (atomic_load(&w->stop) || atomic_load(&w->gave_up))
		return TS_OK;
	set.store_currency = w->currency;
	set.qualifying_statuses = w->cfg->qualifying_statuses;
	set.n_qualifying_statuses = w->cfg->n_qualifying_statuses;
	set.decimals = w->decimals;
	if ((rc = sync_new(w->db, &set, &w->sync)) != TS_OK)
		return rc;
	log_info("worker: started currency=%s decimals=%d in_flight=%d",
	    w->currency, w->decimals, w->cfg->max_in_flight);
	/*
	 * An import replays them too: a run interrupted (or given up) between
	 * applying a page and writing its meta leaves them here, and the pages
	 * before its checkpoint are not applied again to plan them anew. The
	 * import is finished only once every job in hand is written.
	 */
	resume_writebacks(w);
	return TS_OK;
}

static void
heartbeat(struct worker_status *st, void *arg)
{
	struct worker *w = arg;

	st->running = true;
	st->last_loop_at = now_s();
	st->in_progress = w->n_jobs;
	if (w->wc != NULL)
		wc_client_stats(w->wc, &w->rest);
}

/*
 * An import page: apply its orders in one transaction, as fetched (no
 * second fetch), and queue the meta of those that need it.
 */
static void
on_page(struct worker *w, struct wc_call *c, struct call_ctx *ctx)
{
	int64_t now = now_s();
	size_t i;
	json_t *doc;
	enum ts_rc rc;

	if (c->rc != TS_OK || !json_is_array(c->response)) {
		if (c->rc == TS_OK)
			log_warn("import: page %d was not a list of orders", ctx->page);
		else
			store_failed(w, c);
		import_page_failed(w->import, ctx->page);
		return;
	}
	store_ok(w);
	if ((rc = db_begin(w->db)) != TS_OK) {
		import_page_failed(w->import, ctx->page);
		w->store_ready_at = now + 1;
		return;
	}
	ctx->n = 0;
	json_array_foreach(c->response, i, doc) {
		struct sync_result r;
		int j;

		if ((rc = sync_apply_order(w->sync, doc, now, &r)) != TS_OK)
			break;
		status_update(w, count_result, &r);
		if ((rc = after_apply(w, &r, now)) != TS_OK ||
		    (rc = import_note(w->import, w->db, &r)) != TS_OK) {
			sync_result_fini(&r);
			break;
		}
		/*
		 * The seam order of two pages, or a write-back replayed from an
		 * earlier session: its write is already queued. One not sent
		 * yet takes the meta planned now (order_sync holds that too).
		 */
		if (r.meta != NULL && (j = job_find(w, r.order_id)) >= 0 &&
		    w->jobs[j].state == JOB_WRITE) {
			json_decref(w->jobs[j].meta);
			w->jobs[j].meta = r.meta;
			r.meta = NULL;
		} else if (r.meta != NULL && j < 0 &&
		    (j = job_new(w, r.order_id, 0)) >= 0) {
			w->jobs[j].state = JOB_WRITE;
			w->jobs[j].meta = r.meta;
			r.meta = NULL;
			if (ctx->n < BATCH)
				ctx->job[ctx->n++] = j;
		}
		sync_result_fini(&r);
	}
	if (rc == TS_OK)
		rc = import_page_applied(w->import, w->db, ctx->page, c->response,
		    c->total, now);
	if (rc == TS_OK)
		rc = db_commit(w->db);
	if (rc != TS_OK) {
		log_error("import: database write failed (%s): page %d again later",
		    rc_name(rc), ctx->page);
		db_rollback(w->db);
		/* The page is applied again later: its meta is planned again then. */
		for (size_t k = 0; k < ctx->n; k++)
			job_free(w, ctx->job[k]);
		import_page_failed(w->import, ctx->page);
		w->store_ready_at = now + 1;
	}
}

static void
dispatch(struct worker *w, struct wc_call *c)
{
	struct call_ctx *ctx = c->user;

	switch (c->kind) {
	case CALL_PAGE:
		on_page(w, c, ctx);
		break;
	case CALL_FETCH:
	case CALL_FETCH_ONE:
		on_fetched(w, c, ctx);
		break;
	case CALL_WRITE:
		on_written(w, c, ctx);
		break;
	}
	free(ctx);
	wc_call_free(c);
}

static void
release_idle_cache(struct worker *w, int64_t now)
{
	int used = 0, high = 0;

	if (w->n_jobs > 0 || wc_client_in_flight(w->wc) > 0) {
		w->busy_at = now;
		return;
	}
	if (now - w->busy_at < IDLE_RELEASE_S ||
	    sqlite3_db_status(db_handle(w->db), SQLITE_DBSTATUS_CACHE_USED,
	    &used, &high, 0) != SQLITE_OK || used <= IDLE_CACHE_BYTES)
		return;
	(void)sqlite3_db_release_memory(db_handle(w->db));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t last_housekeeping = 0;
	sigset_t all;
	enum ts_rc rc;

	/* Signals belong to main's sigtimedwait(). */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, NULL);
	if ((rc = prepare(w)) != TS_OK) {
		log_error("worker: cannot start (%s); orders stay queued", rc_name(rc));
		if (w->import != NULL) {
			(void)snprintf(w->gave_up_why, sizeof(w->gave_up_why),
			    "cannot start (%s)", rc_name(rc));
			atomic_store(&w->gave_up, true);
			atomic_store(&w->finished, true);
		}
		return NULL;
	}
	while (!atomic_load(&w->stop) && !atomic_load(&w->gave_up)) {
		int64_t now = now_s();
		struct wc_call *done = NULL;
		bool claims;	/* new events are claimed this round */

		status_update(w, heartbeat, w);
		if (now != last_housekeeping) {
			bool on = true, purged;
			checkpoint_each_second(w, now);
			/* Search index merges an erasure left for later (profile.c). */
			(void)profile_search_purge(w->db, 200, &purged);
			/* Feature flags take effect within a second. */
			if (features_get(w->db, FEATURE_ORDER_SYNC, &on) == TS_OK)
				w->sync_off = !on;
			if (features_get(w->db, FEATURE_ALIASES, &on) == TS_OK)
				sync_set_aliases(w->sync, on);
			if (features_get(w->db, FEATURE_DIGITAL_AUTO_COMPLETE, &on) == TS_OK)
				w->auto_complete = on;
			if (features_get(w->db, FEATURE_TAGS, &on) == TS_OK)
				w->tags_on = on;
			background_jobs(w, now);
			release_idle_cache(w, now);
			last_housekeeping = now;
		}
		claims = w->import == NULL && !w->sync_off && now >= w->store_ready_at;
		if (claims && claim(w, now) != TS_OK)
			log_error("worker: cannot read the queue");
		if (w->import != NULL && import_pages_done(w->import) &&
		    w->n_jobs == 0 && wc_client_in_flight(w->wc) == 0) {
			atomic_store(&w->finished, true);
			break;
		}
		start_calls(w);
		if (wc_client_in_flight(w->wc) > 0) {
			if (wc_client_wait(w->wc, 50, &done) == TS_OK && done != NULL)
				dispatch(w, done);
			continue;
		}
		/*
		 * At least once a second round the loop, even while the store
		 * is backed off: the checkpoint above is what makes the
		 * intake's commits survive a power cut (queue.c).
		 */
		idle(w, w->n_jobs == 0 || w->store_ready_at > now ? 1000 : LINGER_MS,
		    claims);
	}
	/*
	 * Stopping: let the requests already sent finish (their results are
	 * applied); what is left in hand stays queued for the next start.
	 */
	for (long waited = 0; wc_client_in_flight(w->wc) > 0 &&
	    waited < w->cfg->timeout_ms; waited += 250) {
		struct wc_call *done = NULL;
		if (wc_client_wait(w->wc, 250, &done) == TS_OK && done != NULL)
			dispatch(w, done);
	}
	if (atomic_load(&w->gave_up))
		atomic_store(&w->finished, true);
	return NULL;
}

enum ts_rc
worker_start(const struct config *cfg, struct worker **out)
{
	return worker_start_import(cfg, NULL, out);
}

bool
worker_finished(struct worker *w)
{
	return atomic_load(&w->finished);
}

const char *
worker_import_failed(struct worker *w)
{
	return atomic_load(&w->gave_up) ? w->gave_up_why : NULL;
}

enum ts_rc
worker_start_import(const struct config *cfg, struct import *imp,
    struct worker **out)
{
	struct worker *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TS_ERR_NOMEM;
	w->cfg = cfg;
	w->import = imp;
	metrics_histogram_init(&w->latency);
	/* Unknown until the first request: not reported as a failure. */
	w->status.store_reachable = true;
	(void)pthread_mutex_init(&w->lock, NULL);
	(void)pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		(void)pthread_cond_destroy(&w->wake);
		(void)pthread_mutex_destroy(&w->lock);
		free(w);
		return TS_ERR_NOMEM;
	}
	*out = w;
	return TS_OK;
}

void
worker_stop(struct worker *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	(void)pthread_mutex_lock(&w->lock);
	(void)pthread_cond_signal(&w->wake);
	(void)pthread_mutex_unlock(&w->lock);
	(void)pthread_join(w->thread, NULL);
	for (int i = 0; i < MAX_JOBS; i++)
		if (w->jobs[i].state != JOB_FREE)
			json_decref(w->jobs[i].meta);
	wc_client_free(w->wc);
	wc_client_free(w->products);
	tags_recalc_close(w->tags);
	(void)sqlite3_finalize(w->claim);
	(void)sqlite3_finalize(w->settle);
	(void)sqlite3_finalize(w->reschedule);
	(void)sqlite3_finalize(w->make_due);
	sync_free(w->sync);
	db_close(w->db);
	(void)pthread_cond_destroy(&w->wake);
	(void)pthread_mutex_destroy(&w->lock);
	free(w);
}
