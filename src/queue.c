/* SPDX-License-Identifier: MIT */
/*
 * The events table as a durable queue. This file owns appending (intake);
 * claiming and acknowledging belong to the worker.
 *
 * DESIGN: group commit on a thread of its own. queue_submit links a job into
 * the batch being filled and wakes the committer; the committer takes the
 * whole batch, writes it in one IMMEDIATE transaction (one WAL write), and
 * calls each job's done callback with its verdict. Jobs that arrive during a
 * commit form the next batch, so under load one commit covers every delivery
 * that arrived while the previous one ran, and no caller's thread waits for
 * the disk: the webhook listener suspends the request and answers it from
 * the callback (intake.c). queue_enqueue is the blocking form for callers
 * that have a thread to spare (admin API, reconciler). The connection is
 * used by the committer thread only.
 */
#include "tracksies/queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "tracksies/db.h"

struct job {
	const struct queue_event *ev;	/* borrowed until done is called */
	queue_done_fn done;
	void *arg;
	int64_t id;
	enum ts_rc rc;
	struct job *next;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* the committer waits here for work */
	struct job *head;	/* the batch being filled; guarded by lock */
	struct job **tail;	/* guarded by lock */
	bool stop;		/* guarded by lock */
	bool started;
	pthread_t thread;
	struct db *db;		/* used by the committer only */
	sqlite3_stmt *insert;	/* used by the committer only */
	void (*notify)(void *arg);
	void *notify_arg;
	uint64_t commits;	/* guarded by lock */
	uint64_t events;	/* guarded by lock */
};

static void *committer_main(void *arg);

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
	(void)pthread_cond_init(&q->wake, NULL);
	if ((rc = db_open(path, &q->db, NULL)) != TS_OK)
		goto fail;
	/*
	 * Checkpoints copy the WAL into the database file and fsync it: not on
	 * this connection, whose commits every webhook request waits for. The
	 * worker checkpoints (worker.c), and the last close checkpoints too.
	 *
	 * synchronous=NORMAL (decision 7): a commit here is written to the WAL
	 * but not fsynced, so a 2xx survives a crash or kill -9 of the daemon;
	 * the worker's checkpoint, at least once a second, fsyncs the WAL, and
	 * so does any other connection's commit. A power cut can lose the
	 * deliveries acknowledged since; the reconciler finds their orders.
	 */
	if ((rc = db_exec(q->db, "PRAGMA wal_autocheckpoint=0;"
	    "PRAGMA synchronous=NORMAL")) != TS_OK)
		goto fail;
	if ((rc = db_rc(sqlite3_prepare_v3(db_handle(q->db), insert_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &q->insert, NULL))) != TS_OK)
		goto fail;
	if (pthread_create(&q->thread, NULL, committer_main, q) != 0) {
		rc = TS_ERR_IO;
		goto fail;
	}
	q->started = true;
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
	if (q->started) {
		/* The committer writes what is queued, then leaves. */
		(void)pthread_mutex_lock(&q->lock);
		q->stop = true;
		(void)pthread_cond_signal(&q->wake);
		(void)pthread_mutex_unlock(&q->lock);
		(void)pthread_join(q->thread, NULL);
	}
	(void)sqlite3_finalize(q->insert);
	db_close(q->db);
	(void)pthread_cond_destroy(&q->wake);
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
	(void)sqlite3_reset(s);	/* every parameter is bound again next time */
	return rc;
}

/* Write batch in one transaction; every slot gets the same verdict. */
static bool
commit_batch(struct queue *q, struct job *batch)
{
	int64_t now = (int64_t)time(NULL);
	bool any_pending = false;
	enum ts_rc rc;

	if ((rc = db_begin(q->db)) != TS_OK)
		goto out;
	for (struct job *j = batch; j != NULL; j = j->next) {
		if ((rc = insert_one(q, j->ev, now, &j->id)) != TS_OK)
			goto out;
		any_pending |= j->ev->state == QUEUE_PENDING;
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
	for (struct job *j = batch; j != NULL; j = j->next)
		j->rc = rc;
	return any_pending;
}

static void *
committer_main(void *arg)
{
	struct queue *q = arg;
	struct job *batch, *next;
	uint64_t n;
	bool notify;

	(void)pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stop)
			(void)pthread_cond_wait(&q->wake, &q->lock);
		if (q->head == NULL)
			break;
		/* Everything queued so far, in one transaction. */
		batch = q->head;
		q->head = NULL;
		q->tail = &q->head;
		(void)pthread_mutex_unlock(&q->lock);

		notify = commit_batch(q, batch);
		n = 0;
		for (struct job *j = batch; j != NULL; j = j->next)
			n += j->rc == TS_OK;
		/* Counted before anyone hears back, so stats never lag a verdict. */
		(void)pthread_mutex_lock(&q->lock);
		q->commits++;
		q->events += n;
		(void)pthread_mutex_unlock(&q->lock);
		/* The worker hears of new events before any sender hears back. */
		if (notify && q->notify != NULL)
			q->notify(q->notify_arg);
		for (struct job *j = batch; j != NULL; j = next) {
			next = j->next;
			j->done(j->arg, j->rc, j->rc == TS_OK ? j->id : 0);
			free(j);
		}
		(void)pthread_mutex_lock(&q->lock);
	}
	(void)pthread_mutex_unlock(&q->lock);
	return NULL;
}

enum ts_rc
queue_submit(struct queue *q, const struct queue_event *ev, queue_done_fn done,
    void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return TS_ERR_NOMEM;
	j->ev = ev;
	j->done = done;
	j->arg = arg;
	(void)pthread_mutex_lock(&q->lock);
	*q->tail = j;
	q->tail = &j->next;
	(void)pthread_cond_signal(&q->wake);
	(void)pthread_mutex_unlock(&q->lock);
	return TS_OK;
}

/* queue_enqueue's wait for its own job. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
	enum ts_rc rc;
	int64_t id;
};

static void
waiter_done(void *arg, enum ts_rc rc, int64_t id)
{
	struct waiter *w = arg;

	(void)pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->id = id;
	w->done = true;
	(void)pthread_cond_signal(&w->cv);
	(void)pthread_mutex_unlock(&w->lock);
}

enum ts_rc
queue_enqueue(struct queue *q, const struct queue_event *ev, int64_t *id_out)
{
	struct waiter w = { .rc = TS_ERR_IO };
	enum ts_rc rc;

	if (id_out != NULL)
		*id_out = 0;
	(void)pthread_mutex_init(&w.lock, NULL);
	(void)pthread_cond_init(&w.cv, NULL);
	if ((rc = queue_submit(q, ev, waiter_done, &w)) == TS_OK) {
		(void)pthread_mutex_lock(&w.lock);
		while (!w.done)
			(void)pthread_cond_wait(&w.cv, &w.lock);
		(void)pthread_mutex_unlock(&w.lock);
		rc = w.rc;
		if (id_out != NULL)
			*id_out = w.id;
	}
	(void)pthread_cond_destroy(&w.cv);
	(void)pthread_mutex_destroy(&w.lock);
	return rc;
}

void
queue_stats(struct queue *q, uint64_t *commits, uint64_t *events)
{
	(void)pthread_mutex_lock(&q->lock);
	*commits = q->commits;
	*events = q->events;
	(void)pthread_mutex_unlock(&q->lock);
}
