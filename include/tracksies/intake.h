/* SPDX-License-Identifier: MIT */
/*
 * The webhook listener's handler: routes {webhook.path}, classifies each
 * request (webhook.c), stores what must be stored (queue.c) and answers
 * only after the commit. Counts what it did for /metrics.
 */
#ifndef TRACKSIES_INTAKE_H
#define TRACKSIES_INTAKE_H

#include <stdatomic.h>
#include <stdint.h>

#include "tracksies/http_server.h"
#include "tracksies/webhook.h"

struct queue;

/*
 * Request threads of the webhook listener. None waits for a commit (a
 * request waits suspended, queue.c commits), so a few serve many
 * connections; bench/intake/bare.c uses the same number.
 */
#define INTAKE_THREADS 4

/* Counters by outcome, readable from any thread. */
struct intake_counters {
	atomic_uint_fast64_t by_verdict[WEBHOOK_BAD_SIGNATURE + 1];
	atomic_uint_fast64_t too_large;		/* 413 */
	atomic_uint_fast64_t storage_failed;	/* 503 */
	atomic_uint_fast64_t not_found;		/* 404 */
	atomic_uint_fast64_t bad_method;	/* 405 */
};

struct intake {
	const char *path;		/* borrowed from the config */
	const struct hmac_key *key;	/* the webhook secret; borrowed */
	struct queue *queue;		/* borrowed */
	struct intake_counters counters;
};

/*
 * The http_handler_fn for the webhook listener; ctx is a struct intake that
 * outlives the listener. Called on MHD's threads, concurrently.
 */
void intake_handle(void *ctx, const struct http_request *req,
    struct http_response *resp);

#endif
