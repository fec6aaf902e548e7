/* SPDX-License-Identifier: MIT */
/* The tracksiesd command line: what an operator sees and the exit statuses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <sqlite3.h>

#include "th.h"

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
