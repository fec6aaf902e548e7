/* SPDX-License-Identifier: MIT */
/*
 * The admin API's connection pool (admin_api.c), in process: one
 * connection at start, more only while requests overlap, and all but one
 * closed again once unused (what keeps an idle daemon small).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "th.h"
#include "tracksies/admin_api.h"
#include "tracksies/config.h"
#include "tracksies/db.h"
#include "tracksies/log.h"
#include "tracksies/migrate.h"
#include "tracksies/queue.h"

#define THREADS 4

static char *dir;
static struct config *cfg;
static struct queue *queue;
static struct admin_api *api;
static uint16_t port;

static void
setup(void)
{
	struct admin_api_options opt = { 0 };
	struct db *db = NULL;
	char text[1024], *errors = NULL;

	dir = th_tmpdir();
	snprintf(text, sizeof(text),
	    "[store]\nurl = http://127.0.0.1:9\nconsumer_key = ck_test\n"
	    "consumer_secret = cs_test\n[webhook]\nsecret = %s\n"
	    "[admin]\nlisten = 127.0.0.1:0\ntoken = %s\n"
	    "[database]\npath = %s/pool.db\n[log]\nlevel = error\n",
	    TH_SECRET, TH_TOKEN, dir);
	ck_assert_int_eq(config_load_string("pool.conf", text, &cfg, &errors), TS_OK);
	log_set_level(LOG_LEVEL_ERROR);
	ck_assert_int_eq(db_open(cfg->db_path, &db, NULL), TS_OK);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	db_close(db);
	ck_assert_int_eq(queue_open(cfg->db_path, NULL, NULL, &queue), TS_OK);
	opt.cfg = cfg;
	opt.queue = queue;
	opt.threads = THREADS;
	ck_assert_int_eq(admin_api_start(&opt, &api, NULL), TS_OK);
	port = admin_api_port(api);
}

static void
teardown(void)
{
	admin_api_stop(api);
	queue_close(queue);
	config_free(cfg);
	th_rmrf(dir);
}

static long
get_customers(void)
{
	const char *auth[] = { "Authorization: Bearer " TH_TOKEN, NULL };
	struct th_resp r;
	long status;

	if (th_http(port, "GET", "/v1/customers?per_page=5", auth, NULL, 0, &r) != 0)
		return -1;
	status = r.status;
	th_resp_free(&r);
	return status;
}

static void *
client(void *arg)
{
	long *ok = arg;

	for (int i = 0; i < 25; i++)
		*ok += get_customers() == 200;
	return NULL;
}

START_TEST(one_connection_at_start_and_for_requests_one_at_a_time)
{
	ck_assert_uint_eq(admin_api_pool_size(api), 1);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(get_customers(), 200);
	ck_assert_uint_eq(admin_api_pool_size(api), 1);
}
END_TEST

START_TEST(overlapping_requests_open_at_most_one_per_thread_and_idle_ones_close)
{
	pthread_t t[THREADS * 2];
	long ok[THREADS * 2] = { 0 }, total = 0;

	for (int i = 0; i < THREADS * 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, client, &ok[i]), 0);
	for (int i = 0; i < THREADS * 2; i++) {
		pthread_join(t[i], NULL);
		total += ok[i];
	}
	ck_assert_int_eq(total, THREADS * 2 * 25);
	ck_assert_uint_ge(admin_api_pool_size(api), 1);
	ck_assert_uint_le(admin_api_pool_size(api), THREADS);
	/* Used within the last minute: nothing closes yet. */
	admin_api_release_idle(api, ADMIN_API_POOL_IDLE_S);
	ck_assert_uint_ge(admin_api_pool_size(api), 1);
	/* Unused for 0 s or more: all but one close, and it still answers. */
	admin_api_release_idle(api, 0);
	ck_assert_uint_eq(admin_api_pool_size(api), 1);
	ck_assert_int_eq(get_customers(), 200);
	ck_assert_uint_eq(admin_api_pool_size(api), 1);
}
END_TEST

static Suite *
admin_pool_suite(void)
{
	Suite *s = suite_create("admin_pool");
	TCase *tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_connection_at_start_and_for_requests_one_at_a_time);
	tcase_add_test(tc, overlapping_requests_open_at_most_one_per_thread_and_idle_ones_close);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(admin_pool_suite());
	int failed;

	/* Before the client threads: libcurl's global set-up is done once. */
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
