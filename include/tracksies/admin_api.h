/* SPDX-License-Identifier: MIT */
/*
 * The JSON admin API for the WordPress companion plugin and operators
 * (docs/admin-api.yaml): its own libmicrohttpd listener on [admin] listen,
 * bearer-token auth on every route but /healthz, and a small pool of SQLite
 * connections of its own, one borrowed per request.
 */
#ifndef TRACKSIES_ADMIN_API_H
#define TRACKSIES_ADMIN_API_H

#include <stddef.h>
#include <stdint.h>

#include "tracksies/config.h"
#include "tracksies/rc.h"

struct admin_api;
struct queue;
struct worker;

struct intake_counters;

struct admin_api_options {
	const struct config *cfg;	/* admin_listen, admin_token, db_path */
	struct queue *queue;		/* sync now, retry, erasure meta removal */
	struct worker *worker;		/* /healthz, /metrics; may be NULL */
	const struct intake_counters *intake;	/* /metrics; may be NULL */
	int64_t started_at;		/* unix seconds, for /metrics */
	size_t max_body_bytes;		/* 0: 1 MiB */
	unsigned threads;		/* request threads and most pooled connections; 0: 8 */
};

/*
 * Open the first pooled connection on cfg->db_path (already migrated; more
 * are opened as requests need them) and start listening. Everything in opt is borrowed and must outlive the API. On
 * TS_OK *out belongs to the caller (admin_api_stop). TS_ERR_INVALID for an
 * unusable listen address, TS_ERR_IO when the database cannot be opened or
 * the address cannot be bound; *errmsg (may be NULL) then gets an owned
 * message to free(). Main thread.
 */
enum ts_rc admin_api_start(const struct admin_api_options *opt,
    struct admin_api **out, char **errmsg);

/* The bound port (useful with port 0). */
uint16_t admin_api_port(const struct admin_api *api);

/* Requests being handled right now. */
unsigned admin_api_in_flight(const struct admin_api *api);

/* Pooled connections open now (in use or free). */
size_t admin_api_pool_size(struct admin_api *api);

/*
 * Close the pooled connections unused for unused_s seconds, all but one,
 * and let that one give back its page cache if it too was unused that
 * long: an idle daemon holds one connection, not one per request thread.
 * NULL is a no-op. Any thread (main calls it on its status tick with
 * ADMIN_API_POOL_IDLE_S).
 */
#define ADMIN_API_POOL_IDLE_S 60
void admin_api_release_idle(struct admin_api *api, int64_t unused_s);

/*
 * Stop accepting, let requests being handled finish (up to 10 s), close the
 * pool and free api. NULL is a no-op. Main thread, before the queue and the
 * worker are stopped.
 */
void admin_api_stop(struct admin_api *api);

#endif
