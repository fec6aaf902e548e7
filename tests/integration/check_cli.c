/* SPDX-License-Identifier: MIT */
/* The tracksiesd command line: what an operator sees and the exit statuses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <sqlite3.h>

#include "ith.h"
#include "th.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"

static char *dir;

static void
setup(void)
{
	dir = th_tmpdir();
}

static void
teardown(void)
{
	th_rmrf(dir);
}

START_TEST(version_and_help_exit_zero)
{
	const char *v[] = { TS_DAEMON_PATH, "--version", NULL };
	const char *h[] = { TS_DAEMON_PATH, "--help", NULL };
	char *err = NULL;

	ck_assert_int_eq(th_run(v, &err), 0);
	free(err);
	ck_assert_int_eq(th_run(h, &err), 0);
	free(err);
}
END_TEST

START_TEST(check_config_accepts_a_valid_file)
{
	char *conf = th_write_config(dir, NULL);
	const char *argv[] = { TS_DAEMON_PATH, "--config", conf, "--check-config", NULL };
	char *err = NULL;

	ck_assert_int_eq(th_run(argv, &err), 0);
	free(err);
	free(conf);
}
END_TEST

START_TEST(bad_configuration_exits_78_naming_file_line_and_key)
{
	char path[600];
	const char *argv[] = { TS_DAEMON_PATH, "--config", path, NULL };
	char *err = NULL;

	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	th_write_file(path,
	    "[store]\n"
	    "url = http://127.0.0.1:9\n"
	    "consumer_key = ck\n"
	    "consumer_secret = cs\n"
	    "[webhook]\n"
	    "secret = s3cret-value\n"
	    "max_body_bytes = lots\n"
	    "colour = blue\n"
	    "[admin]\n"
	    "token = 0123456789abcdef0123\n");
	ck_assert_int_eq(th_run(argv, &err), 78);
	ck_assert_msg(strstr(err, ":7:") != NULL && strstr(err, "max_body_bytes") != NULL,
	    "%s", err);
	ck_assert_msg(strstr(err, ":8:") != NULL && strstr(err, "colour") != NULL,
	    "%s", err);
	ck_assert_ptr_null(strstr(err, "s3cret-value"));
	free(err);
}
END_TEST

START_TEST(missing_required_secret_exits_78)
{
	char path[600];
	const char *argv[] = { TS_DAEMON_PATH, "--config", path, "--check-config", NULL };
	char *err = NULL;

	snprintf(path, sizeof(path), "%s/nosecret.conf", dir);
	th_write_file(path,
	    "[store]\n"
	    "url = https://shop.example\n"
	    "consumer_key = ck\n"
	    "consumer_secret = cs\n"
	    "[admin]\n"
	    "token = 0123456789abcdef0123\n");
	ck_assert_int_eq(th_run(argv, &err), 78);
	ck_assert_msg(strstr(err, "webhook.secret") != NULL, "%s", err);
	free(err);
}
END_TEST

START_TEST(unreadable_config_file_exits_78)
{
	const char *argv[] = { TS_DAEMON_PATH, "--config", "/nonexistent/t.conf", NULL };
	char *err = NULL;

	ck_assert_int_eq(th_run(argv, &err), 78);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/t.conf"));
	free(err);
}
END_TEST

START_TEST(no_config_argument_is_a_usage_error)
{
	const char *argv[] = { TS_DAEMON_PATH, NULL };
	char *err = NULL;

	ck_assert_int_eq(th_run(argv, &err), 64);
	ck_assert_ptr_nonnull(strstr(err, "--config"));
	free(err);
}
END_TEST

START_TEST(database_newer_than_the_binary_is_refused)
{
	char *conf = th_write_config(dir, NULL);
	const char *argv[] = { TS_DAEMON_PATH, "--config", conf, NULL };
	char db_path[600];
	char *err = NULL;
	sqlite3 *db = NULL;

	snprintf(db_path, sizeof(db_path), "%s/tracksies.db", dir);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version=4242", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(th_run(argv, &err), 65);
	ck_assert_msg(strstr(err, "4242 is newer than this tracksiesd") != NULL,
	    "%s", err);
	ck_assert_int_eq(th_db_int(db_path, "PRAGMA user_version"), 4242);
	free(err);
	free(conf);
}
END_TEST

START_TEST(port_in_use_is_a_clear_runtime_error)
{
	char *conf1 = th_write_config(dir, NULL);
	struct th_daemon d;
	char over[64], sub[600];
	char *conf2, *err = NULL;

	ck_assert_int_eq(th_daemon_start(dir, conf1, &d), 0);
	snprintf(sub, sizeof(sub), "%s/second", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(over, sizeof(over), "webhook.listen = 127.0.0.1:%u", d.webhook_port);
	conf2 = th_write_config(sub, over);
	{
		const char *argv[] = { TS_DAEMON_PATH, "--config", conf2, NULL };
		ck_assert_int_eq(th_run(argv, &err), 1);
	}
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:") != NULL, "%s", err);
	ck_assert_int_eq(th_daemon_stop(&d), 0);
	free(err);
	free(conf1);
	free(conf2);
}
END_TEST

/* ---- --recalculate ------------------------------------------------------ */

#define JAN_10_NOON 1673352000	/* 2023-01-10T12:00:00Z */
#define JUL_11 1689033600	/* 2023-07-11T00:00:00Z: 181.5 days later */
#define JUL_12 1689120000	/* 2023-07-12T00:00:00Z: 182.5 days later */
#define AUG_01 1690848000	/* 2023-08-01T00:00:00Z */

/* The database conf names, migrated, with one customer's two orders. */
static char *
seeded_config(void)
{
	char *conf = th_write_config(dir, NULL);
	char path[600];
	struct db *db = NULL;
	int64_t c;

	snprintf(path, sizeof(path), "%s/tracksies.db", dir);
	ck_assert_int_eq(db_open(path, &db, NULL), TS_OK);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	ith_exec(db, "INSERT INTO kv (key, value, updated_at) VALUES"
	    " ('store.currency', 'USD', 0), ('store.decimals', '2', 0)");
	c = ith_customer(db, "tenure@example.test");
	ith_order(db, c, 1, JAN_10_NOON, 4500, 0);
	ith_order(db, c, 2, AUG_01 + 3600, 3000, 0);
	db_close(db);
	return conf;
}

/* held, earned, lost of tag in the summary's table; -1s when absent. */
static void
summary_row(const char *out, const char *tag, long long v[3])
{
	char needle[64];
	const char *p;

	v[0] = v[1] = v[2] = -1;
	snprintf(needle, sizeof(needle), "\n  %s ", tag);
	ck_assert_msg((p = strstr(out, needle)) != NULL, "no %s in:\n%s", tag, out);
	ck_assert_int_eq(sscanf(p + strlen(needle), "%lld %lld %lld", &v[0], &v[1],
	    &v[2]), 3);
}

START_TEST(recalculate_as_of_earns_time_based_tags_at_that_date)
{
	char *conf = seeded_config(), *out = NULL, *err = NULL;
	const char *before[] = { TS_DAEMON_PATH, "--config", conf, "--recalculate",
	    "--as-of", "2023-07-11", NULL };
	const char *after[] = { TS_DAEMON_PATH, "--config", conf, "--recalculate",
	    "--as-of", "2023-07-12", NULL };
	char db_path[600];
	long long v[3];

	snprintf(db_path, sizeof(db_path), "%s/tracksies.db", dir);
	/* 181 whole days after the first order: not six months yet. */
	ck_assert_int_eq(th_run_out(before, &out, &err), 0);
	ck_assert_msg(strstr(out, "recalculated as of 2023-07-11") != NULL, "%s", out);
	ck_assert_msg(strstr(err, "recalculate: reading every counted order") !=
	    NULL, "%s", err);
	summary_row(out, "six_months", v);
	ck_assert(v[0] == 0 && v[1] == 0 && v[2] == 0);
	summary_row(out, "first_order", v);
	ck_assert(v[0] == 1 && v[1] == 1 && v[2] == 0);
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM customer_tags"
	    " WHERE tag_id = 'six_months'"), 0);
	ck_assert_int_eq(th_db_int(db_path, "SELECT earned_at FROM customer_tags"
	    " WHERE tag_id = 'first_order'"), JUL_11);
	free(out);
	free(err);

	/* 182 days: earned, at the start of that day. */
	ck_assert_int_eq(th_run_out(after, &out, &err), 0);
	summary_row(out, "six_months", v);
	ck_assert(v[0] == 1 && v[1] == 1 && v[2] == 0);
	ck_assert_int_eq(th_db_int(db_path, "SELECT earned_at FROM customer_tags"
	    " WHERE tag_id = 'six_months' AND lost_at IS NULL"), JUL_12);
	/* The August order does not exist yet as of July. */
	ck_assert_int_eq(th_db_int(db_path, "SELECT order_count FROM"
	    " customer_intel"), 1);
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM customer_tags"
	    " WHERE tag_id = 'repeat_buyer'"), 0);
	ck_assert_int_eq(th_db_int(db_path, "SELECT tag_count FROM customers"),
	    th_db_int(db_path, "SELECT count(*) FROM customer_tags"
	    " WHERE lost_at IS NULL"));
	free(out);
	free(err);
	free(conf);
}
END_TEST

START_TEST(recalculate_without_a_date_is_as_of_now)
{
	char *conf = seeded_config(), *out = NULL, *err = NULL;
	const char *argv[] = { TS_DAEMON_PATH, "--config", conf, "--recalculate",
	    NULL };
	char db_path[600];
	long long v[3];

	snprintf(db_path, sizeof(db_path), "%s/tracksies.db", dir);
	ck_assert_int_eq(th_run_out(argv, &out, &err), 0);
	summary_row(out, "repeat_buyer", v);
	ck_assert(v[0] == 1 && v[1] == 1 && v[2] == 0);
	ck_assert_int_eq(th_db_int(db_path, "SELECT order_count FROM"
	    " customer_intel"), 2);
	ck_assert_int_ge(th_db_int(db_path, "SELECT recalc_at FROM intel_state"),
	    AUG_01);
	free(out);
	free(err);
	free(conf);
}
END_TEST

START_TEST(recalculate_with_a_bad_date_is_a_usage_error)
{
	char *conf = seeded_config(), *err = NULL;
	const char *bad[] = { TS_DAEMON_PATH, "--config", conf, "--recalculate",
	    "--as-of", "2023-02-29", NULL };
	const char *future[] = { TS_DAEMON_PATH, "--config", conf, "--recalculate",
	    "--as-of", "2999-01-01", NULL };
	const char *alone[] = { TS_DAEMON_PATH, "--config", conf, "--as-of",
	    "2023-07-12", NULL };
	char db_path[600];

	snprintf(db_path, sizeof(db_path), "%s/tracksies.db", dir);
	ck_assert_int_eq(th_run(bad, &err), 64);
	ck_assert_msg(strstr(err, "--as-of 2023-02-29: expected a date YYYY-MM-DD"
	    " (UTC), today or earlier") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(th_run(future, &err), 64);
	ck_assert_msg(strstr(err, "--as-of 2999-01-01: expected") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(th_run(alone, &err), 64);
	ck_assert_msg(strstr(err, "--as-of goes with --recalculate") != NULL, "%s",
	    err);
	free(err);
	/* Nothing ran. */
	ck_assert_int_eq(th_db_int(db_path, "SELECT count(*) FROM customer_intel"),
	    0);
	free(conf);
}
END_TEST

START_TEST(recalculate_with_a_rule_failing_at_run_time_exits_78)
{
	char *conf, *err = NULL, rules[600], over[700];
	const char *argv[] = { TS_DAEMON_PATH, "--config", NULL, "--recalculate",
	    NULL };

	snprintf(rules, sizeof(rules), "%s/rules.conf", dir);
	/* Valid SQL, but with two orders abs() of INT64_MIN overflows. */
	th_write_file(rules, "[tag boom]\nlabel = Boom\nchannel = value\n"
	    "kind = live\nwhen = abs(order_count - 2 - 9223372036854775807 - 1)"
	    " > 0\n");
	snprintf(over, sizeof(over), "tags.rules_file = %s", rules);
	free(seeded_config());
	conf = th_write_config(dir, over);
	argv[2] = conf;
	ck_assert_int_eq(th_run(argv, &err), 78);
	ck_assert_msg(strstr(err, "a tag or status rule failed at run time") !=
	    NULL, "%s", err);
	free(err);
	free(conf);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("command_line");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, version_and_help_exit_zero);
	tcase_add_test(tc, check_config_accepts_a_valid_file);
	tcase_add_test(tc, bad_configuration_exits_78_naming_file_line_and_key);
	tcase_add_test(tc, missing_required_secret_exits_78);
	tcase_add_test(tc, unreadable_config_file_exits_78);
	tcase_add_test(tc, no_config_argument_is_a_usage_error);
	tcase_add_test(tc, database_newer_than_the_binary_is_refused);
	tcase_add_test(tc, port_in_use_is_a_clear_runtime_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("recalculate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, recalculate_as_of_earns_time_based_tags_at_that_date);
	tcase_add_test(tc, recalculate_without_a_date_is_as_of_now);
	tcase_add_test(tc, recalculate_with_a_bad_date_is_a_usage_error);
	tcase_add_test(tc, recalculate_with_a_rule_failing_at_run_time_exits_78);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
