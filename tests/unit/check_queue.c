/* SPDX-License-Identifier: MIT */
/* queue.c: durable appends, group commit under concurrency, refused writes. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "th.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/queue.h"

#define THREADS 8
#define PER_THREAD 150

static char *dir;
static char db_path[512];

static void
setup(void)
{
	struct db *db = NULL;

	dir = th_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/q.db", dir);
	ck_assert_int_eq(db_open(db_path, &db, NULL), TS_OK);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	db_close(db);
}

static void
teardown(void)
{
	th_rmrf(dir);
}

static void
count_notify(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(enqueued_event_is_stored_with_its_fields)
{
	struct queue *q = NULL;
	struct queue_event ev = {
		.topic = "order.updated", .webhook_id = 2, .delivery_id = "abc123",
		.order_id = 19, .body_bytes = 2857,
	};
	int64_t id = 0;
	int notified = 0;

	ck_assert_int_eq(queue_open(db_path, count_notify, &notified, &q), TS_OK);
	ck_assert_int_eq(queue_enqueue(q, &ev, &id), TS_OK);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(notified, 1);
	queue_close(q);
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM events WHERE"
	    " topic = 'order.updated' AND order_id = 19 AND webhook_id = 2 AND"
	    " delivery_id = 'abc123' AND state = 'pending' AND source = 'webhook'"
	    " AND body_bytes = 2857"), 1);
}
END_TEST

START_TEST(failed_event_keeps_its_reason_and_does_not_wake_the_worker)
{
	struct queue *q = NULL;
	struct queue_event ev = {
		.topic = "order.updated", .state = QUEUE_FAILED,
		.error_code = "malformed_payload", .error_message = "bad json",
	};
	int notified = 0;

	ck_assert_int_eq(queue_open(db_path, count_notify, &notified, &q), TS_OK);
	ck_assert_int_eq(queue_enqueue(q, &ev, NULL), TS_OK);
	ck_assert_int_eq(notified, 0);
	queue_close(q);
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM events WHERE"
	    " state = 'failed' AND error_code = 'malformed_payload' AND"
	    " error_message = 'bad json' AND order_id IS NULL"), 1);
}
END_TEST

static void *
enqueue_many(void *arg)
{
	struct queue *q = arg;
	struct queue_event ev = { .topic = "order.created", .delivery_id = "same" };

	for (int i = 0; i < PER_THREAD; i++) {
		ev.order_id = i + 1;
		if (queue_enqueue(q, &ev, NULL) != TS_OK)
			return (void *)1;
	}
	return NULL;
}

START_TEST(concurrent_appends_are_all_stored_in_fewer_commits)
{
	struct queue *q = NULL;
	pthread_t t[THREADS];
	uint64_t commits = 0, events = 0;
	void *ret;

	ck_assert_int_eq(queue_open(db_path, NULL, NULL, &q), TS_OK);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, enqueue_many, q), 0);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	queue_stats(q, &commits, &events);
	queue_close(q);
	ck_assert_int_eq(events, THREADS * PER_THREAD);
	ck_assert_int_le(commits, events);
	/* Same delivery id every time: every one of them is kept. */
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM events WHERE"
	    " delivery_id = 'same'"), THREADS * PER_THREAD);
}
END_TEST

START_TEST(read_only_database_refuses_and_reports_io)
{
	struct queue *q = NULL;
	struct queue_event ev = { .topic = "order.created", .order_id = 5 };

	char uri[600];

	/* As a disk remounted read-only would: root ignores file modes. */
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", db_path);
	ck_assert_int_eq(queue_open(uri, NULL, NULL, &q), TS_OK);
	ck_assert_int_eq(queue_enqueue(q, &ev, NULL), TS_ERR_IO);
	ck_assert_int_eq(queue_enqueue(q, &ev, NULL), TS_ERR_IO);
	queue_close(q);
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM events"), 0);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("append");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, enqueued_event_is_stored_with_its_fields);
	tcase_add_test(tc, failed_event_keeps_its_reason_and_does_not_wake_the_worker);
	tcase_add_test(tc, concurrent_appends_are_all_stored_in_fewer_commits);
	tcase_add_test(tc, read_only_database_refuses_and_reports_io);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
