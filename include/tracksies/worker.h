/* SPDX-License-Identifier: MIT */
/*
 * The worker thread: takes pending events from the queue, coalesces them by
 * order, fetches orders from the store in batches of up to 100 with up to
 * max_in_flight requests at once, runs each through sync.c, and writes the
 * _tracksies_* meta back (/orders/batch when several are ready). Transient
 * store failures back off for the whole store (exponential, with jitter,
 * Retry-After honoured) and never fail an order; a 401/403 pauses the
 * worker, which probes until the store accepts its keys again.
 */
#ifndef TRACKSIES_WORKER_H
#define TRACKSIES_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "tracksies/config.h"
#include "tracksies/rc.h"

struct worker;

/* A snapshot for /healthz, /metrics and sd_notify. */
struct worker_status {
	bool running;			/* the thread is in its loop */
	bool paused_auth;		/* the store refuses our keys */
	bool store_reachable;		/* the last store request got an answer */
	int64_t last_sync_at;		/* unix seconds of the last synced order, 0 */
	int64_t last_loop_at;		/* unix seconds the loop last turned */
	uint64_t orders_synced;		/* since start */
	uint64_t orders_failed;		/* terminal errors since start */
	uint64_t meta_writes;		/* orders whose meta was written */
	uint64_t rest_requests;
	int in_progress;		/* orders being fetched or written */
};

/*
 * Start the worker thread on its own connection to cfg->db_path (already
 * migrated) and its own REST client. cfg is borrowed and must outlive the
 * worker. On TS_OK *out belongs to the caller (worker_stop). Main thread.
 */
enum ts_rc worker_start(const struct config *cfg, struct worker **out);

/*
 * The same engine for `tracksiesd --import`: no events are claimed; pages of
 * imp are fetched, applied and their meta written, and then the thread ends
 * (worker_finished turns true). imp is borrowed and must outlive it.
 */
struct import;
enum ts_rc worker_start_import(const struct config *cfg, struct import *imp,
    struct worker **out);
bool worker_finished(struct worker *w);
/*
 * Import mode: why the import gave up (the store refused the keys, did not
 * answer IMPORT_MAX_FAILURES requests in a row, or the worker could not
 * start), or NULL. worker_finished is true too then; the checkpoint stays
 * for a resume. The string is owned by w. Any thread.
 */
const char *worker_import_failed(struct worker *w);

/*
 * New events were committed: wakes the worker when it can claim them now
 * (not while order sync is paused or the store is backed off; it looks
 * again within a second). Any thread.
 */
void worker_notify(void *worker);

/* Ask the worker to finish what it holds in hand and stop; join; free. */
void worker_stop(struct worker *w);

void worker_get_status(struct worker *w, struct worker_status *out);

/* For /metrics: sync latency (event received -> synced) and REST counts. */
struct metrics_histogram;
struct wc_client_stats;
const struct metrics_histogram *worker_sync_latency(struct worker *w);
void worker_rest_stats(struct worker *w, struct wc_client_stats *out);

#endif
