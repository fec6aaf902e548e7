/* SPDX-License-Identifier: MIT */
/*
 * The durable event queue: the events table. Intake appends with group
 * commit: concurrent callers of queue_enqueue are written in one transaction
 * (one fsync) by whichever of them finds no commit running, and each caller
 * returns only once its own row is committed. There is no dedupe by delivery
 * id: WooCommerce reuses ids within a second, so idempotency belongs to the
 * sync.
 */
#ifndef TRACKSIES_QUEUE_H
#define TRACKSIES_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct queue;

enum queue_state {
	QUEUE_PENDING = 0,	/* work for the worker */
	QUEUE_FAILED,		/* kept for the record; the worker skips it */
};

/* One event to append. Every pointer is borrowed for the call. */
struct queue_event {
	const char *source;		/* "webhook", ... */
	const char *topic;		/* never NULL */
	int64_t webhook_id;		/* 0 when unknown */
	const char *delivery_id;	/* may be NULL */
	int64_t order_id;		/* 0 when the payload had none */
	int64_t modified_at;		/* payload's date_modified_gmt, 0 when none */
	const char *order_status;	/* payload's status, or NULL */
	int64_t total_minor;		/* payload's total, with has_total */
	int has_total;
	int refund_count;		/* payload's refunds, -1 when unknown */
	enum queue_state state;
	const char *error_code;		/* with QUEUE_FAILED */
	const char *error_message;
	size_t body_bytes;
};

/*
 * Open the queue's own connection to the database at path (already
 * migrated). notify (may be NULL) is called with arg after every commit that
 * added pending events, from the committing thread, without locks held.
 * On TS_OK *out belongs to the caller (queue_close). TS_ERR_IO, TS_ERR_NOMEM.
 */
enum ts_rc queue_open(const char *path, void (*notify)(void *arg), void *arg,
    struct queue **out);

/* Close q. No queue_enqueue may be running. NULL is a no-op. */
void queue_close(struct queue *q);

/*
 * Append ev and return once it is durable (committed with
 * synchronous=FULL). *id_out (may be NULL) gets the row id. TS_ERR_IO when
 * the disk or database refused the write (full disk, read-only file): the
 * event is NOT stored and must not be acknowledged. TS_ERR_TRANSIENT when
 * the database stayed locked. Any thread, concurrently.
 */
enum ts_rc queue_enqueue(struct queue *q, const struct queue_event *ev,
    int64_t *id_out);

/* Statistics since queue_open: commits done and events written. */
void queue_stats(struct queue *q, uint64_t *commits, uint64_t *events);

#endif
