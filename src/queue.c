/* SPDX-License-Identifier: MIT */
/*
 * The events table as a durable queue. This file owns appending (intake);
 * claiming and acknowledging belong to the worker.
 *
 * DESIGN: group commit without a thread of its own. Every caller of
 * queue_enqueue links a slot on its stack into the batch being filled. If no
 * commit is running, that caller becomes the committer: it takes the whole
 * batch, writes it in one IMMEDIATE transaction (one WAL fsync), marks every
 * slot done and wakes exactly those callers. Callers that arrived meanwhile
 * form the next batch, and the committer hands the role to the first of
 * them. So under load one fsync covers as many deliveries as there are
 * request threads waiting, each caller is woken once, and no caller returns
 * before its row is durable. The connection is only ever used by the
 * current committer.
 */
#include "tracksies/queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "tracksies/db.h"

struct slot {
	const struct queue_event *ev;
	int64_t id;
	enum ts_rc rc;
	bool done;		/* guarded by queue.lock */
	bool lead;		/* guarded by queue.lock: commit the next batch */
	pthread_cond_t cv;	/* its owner waits here */
	struct slot *next;
};

struct queue {
	pthread_mutex_t lock;
	struct slot *head;	/* the batch being filled; guarded by lock */
	struct slot **tail;	/* guarded by lock */
	bool committing;	/* guarded by lock */
	struct db *db;		/* used by the committer only */
	sqlite3_stmt *insert;	/* used by the committer only */
	void (*notify)(void *arg);
	void *notify_arg;
	uint64_t commits;	/* guarded by lock */
	uint64_t events;	/* guarded by lock */
};

static const char insert_sql[] =
	"INSERT INTO events (received_at, source, topic, webhook_id,"
	" delivery_id, order_id, state, error_code, error_message, body_bytes,"
	" modified_at, status, total_minor, refund_count) VALUES (?1, ?2, ?3, ?4,"
	" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

enum ts_rc
queue_open(const char *path, void (*notify)(void *arg), void *arg,
    struct queue **out)
{
	struct queue *q = NULL;
	enum ts_rc rc;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TS_ERR_NOMEM;
	q->tail = &q->head;
	q->notify = notify;
	q->notify_arg = arg;
	(void)pthread_mutex_init(&q->lock, NULL);
	if ((rc = db_open(path, &q->db, NULL)) != TS_OK)
		goto fail;
	/*
	 * Checkpoints copy the WAL into the database file and fsync it: not on
	 * this connection, whose commits every webhook request waits for. The
	 * worker checkpoints (worker.c), and the last close checkpoints too.
	 */
	if ((rc = db_exec(q->db, "PRAGMA wal_autocheckpoint=0")) != TS_OK)
		goto fail;
	if ((rc = db_rc(sqlite3_prepare_v3(db_handle(q->db), insert_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &q->insert, NULL))) != TS_OK)
		goto fail;
	*out = q;
	return TS_OK;
fail:
	queue_close(q);
	return rc == TS_OK ? TS_ERR_IO : rc;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	(void)sqlite3_finalize(q->insert);
	db_close(q->db);
	(void)pthread_mutex_destroy(&q->lock);
	free(q);
}

static void
bind_text_or_null(sqlite3_stmt *stmt, int col, const char *text)
{
	if (text != NULL)
		(void)sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(stmt, col);
}

static enum ts_rc
insert_one(struct queue *q, const struct queue_event *ev, int64_t now,
    int64_t *id)
{
	sqlite3_stmt *s = q->insert;
	enum ts_rc rc;

	(void)sqlite3_bind_int64(s, 1, now);
	bind_text_or_null(s, 2, ev->source != NULL ? ev->source : "webhook");
	bind_text_or_null(s, 3, ev->topic);
	if (ev->webhook_id > 0)
		(void)sqlite3_bind_int64(s, 4, ev->webhook_id);
	else
		(void)sqlite3_bind_null(s, 4);
	bind_text_or_null(s, 5, ev->delivery_id);
	if (ev->order_id > 0)
		(void)sqlite3_bind_int64(s, 6, ev->order_id);
	else
		(void)sqlite3_bind_null(s, 6);
	bind_text_or_null(s, 7, ev->state == QUEUE_FAILED ? "failed" : "pending");
	bind_text_or_null(s, 8, ev->error_code);
	bind_text_or_null(s, 9, ev->error_message);
	(void)sqlite3_bind_int64(s, 10, (sqlite3_int64)ev->body_bytes);
	if (ev->modified_at > 0)
		(void)sqlite3_bind_int64(s, 11, ev->modified_at);
	else
		(void)sqlite3_bind_null(s, 11);
	bind_text_or_null(s, 12, ev->order_status);
	if (ev->has_total)
		(void)sqlite3_bind_int64(s, 13, ev->total_minor);
	else
		(void)sqlite3_bind_null(s, 13);
	if (ev->refund_count >= 0)
		(void)sqlite3_bind_int(s, 14, ev->refund_count);
	else
		(void)sqlite3_bind_null(s, 14);
	rc = db_rc(sqlite3_step(s));
	*id = sqlite3_last_insert_rowid(db_handle(q->db));
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return rc;
}

/* Write batch in one transaction; every slot gets the same verdict. */
static bool
commit_batch(struct queue *q, struct slot *batch)
{
	int64_t now = (int64_t)time(NULL);
	bool any_pending = false;
	enum ts_rc rc;

	if ((rc = db_begin(q->db)) != TS_OK)
		goto out;
	for (struct slot *s = batch; s != NULL; s = s->next) {
		if ((rc = insert_one(q, s->ev, now, &s->id)) != TS_OK)
			goto out;
		any_pending |= s->ev->state == QUEUE_PENDING;
	}
	rc = db_commit(q->db);
out:
	if (rc != TS_OK) {
		db_rollback(q->db);
		any_pending = false;
		/* A refused write is a disk problem, not the sender's. */
		if (rc == TS_ERR_INVALID)
			rc = TS_ERR_IO;
	}
	for (struct slot *s = batch; s != NULL; s = s->next)
		s->rc = rc;
	return any_pending;
}

enum ts_rc
queue_enqueue(struct queue *q, const struct queue_event *ev, int64_t *id_out)
{
	struct slot me = { .ev = ev, .rc = TS_ERR_IO };
	struct slot *batch, *next;
	uint64_t n = 0;
	bool notify;

	(void)pthread_cond_init(&me.cv, NULL);
	(void)pthread_mutex_lock(&q->lock);
	*q->tail = &me;
	q->tail = &me.next;
	if (!q->committing) {
		q->committing = true;
		me.lead = true;
	}
	while (!me.done && !me.lead)
		(void)pthread_cond_wait(&me.cv, &q->lock);
	if (me.done)
		goto out;

	/* The committer: everything queued so far, in one transaction. */
	batch = q->head;
	q->head = NULL;
	q->tail = &q->head;
	(void)pthread_mutex_unlock(&q->lock);

	notify = commit_batch(q, batch);

	(void)pthread_mutex_lock(&q->lock);
	/* A slot lives on its owner's stack: no touching it after done. */
	for (struct slot *s = batch; s != NULL; s = next) {
		next = s->next;
		n += s->rc == TS_OK;
		s->done = true;
		if (s != &me)
			(void)pthread_cond_signal(&s->cv);
	}
	q->commits++;
	q->events += n;
	if (q->head != NULL) {
		q->head->lead = true;
		(void)pthread_cond_signal(&q->head->cv);
	} else {
		q->committing = false;
	}
	if (notify && q->notify != NULL) {
		(void)pthread_mutex_unlock(&q->lock);
		q->notify(q->notify_arg);
		(void)pthread_mutex_lock(&q->lock);
	}
out:
	(void)pthread_mutex_unlock(&q->lock);
	(void)pthread_cond_destroy(&me.cv);
	if (id_out != NULL)
		*id_out = me.rc == TS_OK ? me.id : 0;
	return me.rc;
}

void
queue_stats(struct queue *q, uint64_t *commits, uint64_t *events)
{
	(void)pthread_mutex_lock(&q->lock);
	*commits = q->commits;
	*events = q->events;
	(void)pthread_mutex_unlock(&q->lock);
}
