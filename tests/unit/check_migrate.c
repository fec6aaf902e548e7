/* SPDX-License-Identifier: MIT */
/* migrate.c and db.c: versions, idempotence, refusal of newer schemas. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "th.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"

static char *dir;
static char db_path[512];

static void
setup(void)
{
	dir = th_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/t.db", dir);
}

static void
teardown(void)
{
	th_rmrf(dir);
}

static struct db *
open_db(void)
{
	struct db *db = NULL;

	ck_assert_int_eq(db_open(db_path, &db, NULL), TS_OK);
	return db;
}

START_TEST(empty_database_is_migrated_to_the_latest_version)
{
	struct db *db = open_db();
	int from = -1, to = -1;
	sqlite3_int64 v = 0;

	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, &from, &to, NULL), TS_OK);
	ck_assert_int_eq(from, 0);
	ck_assert_int_eq(to, migrate_latest(migrate_embedded,
	    migrate_embedded_count));
	ck_assert_int_ge(to, 1);
	ck_assert_int_eq(db_query_int64(db, "PRAGMA user_version", &v), TS_OK);
	ck_assert_int_eq(v, to);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM schema_migrations",
	    &v), TS_OK);
	ck_assert_int_eq(v, (sqlite3_int64)migrate_embedded_count);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM events", &v), TS_OK);
	ck_assert_int_eq(v, 0);
	db_close(db);
}
END_TEST

START_TEST(migrated_database_is_left_alone)
{
	struct db *db = open_db();
	int from = -1, to = -1;
	sqlite3_int64 v = 0;

	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	ck_assert_int_eq(db_exec(db, "INSERT INTO events (received_at, topic)"
	    " VALUES (1, 'order.updated')"), TS_OK);
	db_close(db);
	db = open_db();
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, &from, &to, NULL), TS_OK);
	ck_assert_int_eq(from, to);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM events", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	db_close(db);
}
END_TEST

START_TEST(newer_schema_is_refused_untouched)
{
	struct db *db = open_db();
	char *err = NULL;
	sqlite3_int64 v = 0;

	ck_assert_int_eq(db_exec(db, "PRAGMA user_version=9999"), TS_OK);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, &err), TS_ERR_INVALID);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "9999 is newer than this tracksiesd"));
	free(err);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM sqlite_master",
	    &v), TS_OK);
	ck_assert_int_eq(v, 0);
	db_close(db);
}
END_TEST

START_TEST(failing_migration_is_rolled_back_whole)
{
	static const struct migration steps[] = {
		{ 1, "0001_one", "CREATE TABLE a (x INTEGER);" },
		{ 2, "0002_broken", "CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1);" },
	};
	struct db *db = open_db();
	char *err = NULL;
	int to = -1;
	sqlite3_int64 v = 0;

	ck_assert_int_eq(migrate_apply(db, steps, 2, NULL, &to, &err),
	    TS_ERR_INVALID);
	ck_assert_int_eq(to, 1);
	ck_assert_ptr_nonnull(strstr(err, "0002_broken"));
	free(err);
	ck_assert_int_eq(db_query_int64(db, "PRAGMA user_version", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'b'", &v), TS_OK);
	ck_assert_int_eq(v, 0);
	db_close(db);
}
END_TEST

START_TEST(connection_uses_wal_and_foreign_keys_and_private_file)
{
	struct db *db = open_db();
	sqlite3_int64 v = 0;
	struct stat st;

	ck_assert_int_eq(db_query_int64(db, "PRAGMA foreign_keys", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(db_query_int64(db, "PRAGMA synchronous", &v), TS_OK);
	ck_assert_int_eq(v, 2);		/* FULL */
	ck_assert_int_eq(db_query_int64(db, "SELECT journal_mode = 'wal' FROM"
	    " pragma_journal_mode", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(stat(db_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	db_close(db);
}
END_TEST

START_TEST(unopenable_path_is_an_io_error_with_a_message)
{
	struct db *db = NULL;
	char *err = NULL;

	ck_assert_int_eq(db_open("/nonexistent-dir/x/t.db", &db, &err), TS_ERR_IO);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x/t.db"));
	free(err);
}
END_TEST

/*
 * 0008 drops the per-row tag_count triggers of 0005: the counts they kept
 * stay, and from then on only the recalculation (tags_recalc.c) sets them.
 */
START_TEST(tag_counts_kept_by_the_old_triggers_survive_0008)
{
	struct db *db = open_db();
	size_t before = 0;
	sqlite3_int64 v = -1;

	while (before < migrate_embedded_count &&
	    migrate_embedded[before].version < 8)
		before++;
	ck_assert_int_lt(before, migrate_embedded_count);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded, before, NULL, NULL,
	    NULL), TS_OK);
	ck_assert_int_eq(db_exec(db, "INSERT INTO customers (id, email, created_at)"
	    " VALUES (1, 'a@x.test', 0), (2, 'b@x.test', 0);"
	    "INSERT INTO customer_tags (customer_id, tag_id, earned_at, lost_at)"
	    " VALUES (1, 'first_order', 1, NULL), (1, 'recent', 1, NULL),"
	    " (1, 'big_basket', 1, 2), (2, 'first_order', 1, NULL)"), TS_OK);
	/* Kept by 0005's triggers: 2 held (one lost) and 1. */
	ck_assert_int_eq(db_query_int64(db, "SELECT tag_count FROM customers"
	    " WHERE id = 1", &v), TS_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'trigger' AND tbl_name = 'customer_tags'", &v), TS_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(db_query_int64(db, "SELECT tag_count FROM customers"
	    " WHERE id = 1", &v), TS_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(db_query_int64(db, "SELECT tag_count FROM customers"
	    " WHERE id = 2", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	/* No trigger counts any more: a row written by hand changes nothing. */
	ck_assert_int_eq(db_exec(db, "INSERT INTO customer_tags (customer_id,"
	    " tag_id, earned_at) VALUES (2, 'recent', 3)"), TS_OK);
	ck_assert_int_eq(db_query_int64(db, "SELECT tag_count FROM customers"
	    " WHERE id = 2", &v), TS_OK);
	ck_assert_int_eq(v, 1);
	db_close(db);
}
END_TEST

/* Releases the other process's lock after 300 ms. */
static void *
commit_later(void *arg)
{
	nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
	ck_assert_int_eq(sqlite3_exec(arg, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	return NULL;
}

/*
 * Someone else holds the file locked as a connection opens (the daemon
 * and --import starting together, a reader polling a new database, an
 * operator's sqlite3): db_open waits for the busy timeout, even for
 * journal_mode=WAL, its first statement, instead of failing at once.
 */
START_TEST(open_waits_for_a_lock_held_elsewhere)
{
	sqlite3 *other = NULL;
	struct db *db = NULL;
	pthread_t t;
	sqlite3_int64 tables = -1;

	ck_assert_int_eq(sqlite3_open(db_path, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "CREATE TABLE t (x); BEGIN EXCLUSIVE;"
	    " INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, commit_later, other), 0);
	ck_assert_int_eq(db_open(db_path, &db, NULL), TS_OK);
	pthread_join(t, NULL);
	ck_assert_int_eq(db_query_int64(db, "SELECT count(*) FROM t", &tables), TS_OK);
	ck_assert_int_eq(tables, 1);
	db_close(db);
	sqlite3_close(other);
}
END_TEST

static Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("schema");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_database_is_migrated_to_the_latest_version);
	tcase_add_test(tc, migrated_database_is_left_alone);
	tcase_add_test(tc, newer_schema_is_refused_untouched);
	tcase_add_test(tc, failing_migration_is_rolled_back_whole);
	tcase_add_test(tc, connection_uses_wal_and_foreign_keys_and_private_file);
	tcase_add_test(tc, unopenable_path_is_an_io_error_with_a_message);
	tcase_add_test(tc, tag_counts_kept_by_the_old_triggers_survive_0008);
	tcase_add_test(tc, open_waits_for_a_lock_held_elsewhere);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(migrate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
