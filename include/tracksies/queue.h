/* SPDX-License-Identifier: MIT */
/*
 * The durable event queue: the events table. Intake appends with group
 * commit: events submitted while a commit runs are written together in the
 * next transaction (one fsync) by the queue's committer thread, and each
 * submitter hears back only once its own row is committed. There is no
 * dedupe by delivery id: WooCommerce reuses ids within a second, so
 * idempotency belongs to the sync.
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
 * migrated) and start its committer thread. notify (may be NULL) is called
 * with arg after every commit that added pending events, from the committer
 * thread, without locks held, before the submitters hear back (once
 * queue_enqueue returns, notify has run). On TS_OK *out belongs to the caller
 * (queue_close). TS_ERR_IO, TS_ERR_NOMEM.
 */
enum ts_rc queue_open(const char *path, void (*notify)(void *arg), void *arg,
    struct queue **out);

/*
 * Write what is still queued, stop the committer and close q. No
 * queue_submit or queue_enqueue may be running or follow. NULL is a no-op.
 */
void queue_close(struct queue *q);

/*
 * The verdict on one submitted event, from the committer thread: rc TS_OK
 * and the row id once it is durable (committed with synchronous=FULL);
 * TS_ERR_IO when the disk or database refused the write (full disk,
 * read-only file): the event is NOT stored and must not be acknowledged;
 * TS_ERR_TRANSIENT when the database stayed locked. Keep it short: the next
 * batch waits for it.
 */
typedef void (*queue_done_fn)(void *arg, enum ts_rc rc, int64_t id);

/*
 * Append ev without waiting: done(arg, ...) is called exactly once, later,
 * from the committer thread; ev and everything it points to stay borrowed
 * until then. TS_ERR_NOMEM (done is then never called). Any thread.
 */
enum ts_rc queue_submit(struct queue *q, const struct queue_event *ev,
    queue_done_fn done, void *arg);

/*
 * Append ev and return once it is durable: queue_submit and a wait for its
 * verdict. *id_out (may be NULL) gets the row id. Any thread, concurrently.
 */
enum ts_rc queue_enqueue(struct queue *q, const struct queue_event *ev,
    int64_t *id_out);

/* Statistics since queue_open: commits done and events written. */
void queue_stats(struct queue *q, uint64_t *commits, uint64_t *events);

#endif
