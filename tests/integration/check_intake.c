/* SPDX-License-Identifier: MIT */
/*
 * Webhook intake end to end: the real tracksiesd on 127.0.0.1:0, real
 * deliveries captured from WooCommerce 8.4, the real SQLite file.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "th.h"

static char *dir;
static char *conf;
static struct th_daemon d;

static void
start_with(const char *extra)
{
	dir = th_tmpdir();
	conf = th_write_config(dir, extra);
	ck_assert_msg(th_daemon_start(dir, conf, &d) == 0, "daemon did not start");
}

static void
setup(void)
{
	start_with(NULL);
}

static void
limits_setup(void)
{
	start_with("webhook.max_body_bytes = 1K");
}

static void
teardown(void)
{
	/* A clean stop, so that a run under valgrind checks its exit too. */
	if (d.pid > 0)
		ck_assert_int_eq(th_daemon_stop(&d), 0);
	free(conf);
	th_rmrf(dir);
}

static long long
events(const char *where)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events%s%s",
	    where ? " WHERE " : "", where ? where : "");
	return th_db_int(d.db_path, sql);
}

static char *
fixture_body(const char *name, size_t *len)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "woocommerce/webhooks/%s.body", name);
	return th_fixture(rel, len);
}

START_TEST(signed_delivery_is_acknowledged_and_stored)
{
	struct th_resp r;
	size_t len;
	char *body = fixture_body("17-order.updated--order-create-processing-paid", &len);

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated",
	    "7d581ae86766c50c874a08a2e2e9bcfe", body, len, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"queued\""));
	ck_assert_int_eq(events("order_id = 19 AND state = 'pending' AND"
	    " topic = 'order.updated' AND delivery_id ="
	    " '7d581ae86766c50c874a08a2e2e9bcfe'"), 1);
	th_resp_free(&r);
	free(body);
}
END_TEST

START_TEST(wrong_or_missing_signature_is_401_and_stores_nothing)
{
	struct th_resp r;
	size_t len;
	char *body = fixture_body("17-order.updated--order-create-processing-paid", &len);

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "a1",
	    body, len, "not-the-secret", &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"bad_signature\""));
	th_resp_free(&r);
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "a2",
	    body, len, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"unsigned\""));
	th_resp_free(&r);
	ck_assert_int_eq(events(NULL), 0);
	ck_assert(!th_file_contains(d.log_path, TH_SECRET));
	free(body);
}
END_TEST

START_TEST(creation_ping_gets_exactly_200_and_stores_nothing)
{
	const char *headers[] = {
		"User-Agent: WooCommerce/8.4.0 Hookshot (WordPress/6.4.2)",
		"Content-Type: application/x-www-form-urlencoded", NULL,
	};
	struct th_resp r;
	size_t len;
	char *body = fixture_body("01-ping--webhook-create-order_created", &len);

	ck_assert_int_eq(th_http(d.webhook_port, "POST", "/webhooks/woocommerce",
	    headers, body, len, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(events(NULL), 0);
	th_resp_free(&r);
	free(body);
}
END_TEST

START_TEST(same_delivery_id_with_different_bodies_keeps_both)
{
	struct th_resp r;
	size_t l1, l2;
	char *b1 = fixture_body("16-order.created--order-create-processing-paid", &l1);
	char *b2 = fixture_body("21-order.created--order-create-completed-coupon-fee", &l2);

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.created",
	    "0123456789abcdef0123456789abcdef", b1, l1, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.created",
	    "0123456789abcdef0123456789abcdef", b2, l2, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
	ck_assert_int_eq(events("delivery_id = '0123456789abcdef0123456789abcdef'"), 2);
	ck_assert_int_eq(events("order_id = 19"), 1);
	ck_assert_int_eq(events("order_id = 21"), 1);
	free(b1);
	free(b2);
}
END_TEST

START_TEST(unknown_topic_is_200_and_ignored)
{
	struct th_resp r;
	size_t len;
	char *body = fixture_body("08-product.created--product-create-simple", &len);

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "product.created", "b1",
	    body, len, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "ignored"));
	ck_assert_int_eq(events(NULL), 0);
	th_resp_free(&r);
	free(body);
}
END_TEST

START_TEST(signed_malformed_json_is_200_and_stored_failed)
{
	struct th_resp r;
	const char *body = "{\"id\": 19, \"status\": \"processing\"";

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "c1",
	    body, strlen(body), TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "stored_failed"));
	ck_assert_int_eq(events("state = 'failed' AND error_code ="
	    " 'malformed_payload' AND error_message LIKE 'malformed JSON%'"), 1);
	ck_assert_int_eq(events("state = 'pending'"), 0);
	th_resp_free(&r);
}
END_TEST

START_TEST(oversized_body_is_413_and_stores_nothing)
{
	struct th_resp r;
	const char *chunked[] = { "Transfer-Encoding: chunked",
		"Content-Type: application/json", NULL };
	char *body = malloc(4096);

	memset(body, ' ', 4095);
	body[0] = '{';
	memcpy(body + 1, "\"id\":19", 7);
	body[4094] = '}';
	body[4095] = '\0';
	/* Content-Length announces it: refused before the body is read. */
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "d1",
	    body, 4095, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 413);
	ck_assert_ptr_nonnull(strstr(r.body, "body_too_large"));
	th_resp_free(&r);
	/* Chunked: no length up front, cut off at the cap. */
	ck_assert_int_eq(th_http(d.webhook_port, "POST", "/webhooks/woocommerce",
	    chunked, body, 4095, &r), 0);
	ck_assert_int_eq(r.status, 413);
	th_resp_free(&r);
	ck_assert_int_eq(events(NULL), 0);
	free(body);
}
END_TEST

START_TEST(other_paths_are_404_and_other_methods_405)
{
	struct th_resp r;

	ck_assert_int_eq(th_http(d.webhook_port, "POST", "/other", NULL, "{}", 2,
	    &r), 0);
	ck_assert_int_eq(r.status, 404);
	th_resp_free(&r);
	ck_assert_int_eq(th_http(d.webhook_port, "GET", "/webhooks/woocommerce",
	    NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.headers, "Allow: POST"));
	th_resp_free(&r);
	ck_assert_int_eq(events(NULL), 0);
}
END_TEST

START_TEST(every_captured_delivery_gets_the_answer_woocommerce_needs)
{
	/* Replay all 50 real deliveries with their original headers. */
	int stored = 0, answered = 0;

	for (int i = 1; i <= 60; i++) {
		char rel[800], path[512], *meta;
		const char *headers[24];
		json_t *doc, *hdrs, *v;
		const char *k, *file = NULL;
		int n = 0;
		struct th_resp r;
		size_t len;
		char *body, hbuf[24][256];
		FILE *ls;
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "ls %s/woocommerce/webhooks/ | grep '^%02d-.*json$'",
		    TS_FIXTURES_DIR, i);
		if ((ls = popen(cmd, "r")) == NULL || fgets(path, sizeof(path), ls) == NULL) {
			if (ls != NULL)
				pclose(ls);
			continue;
		}
		pclose(ls);
		path[strcspn(path, "\n")] = '\0';
		file = path;
		snprintf(rel, sizeof(rel), "woocommerce/webhooks/%s", file);
		meta = th_fixture(rel, NULL);
		doc = json_loads(meta, 0, NULL);
		free(meta);
		hdrs = json_object_get(doc, "headers");
		json_object_foreach(hdrs, k, v) {
			if (strcasecmp(k, "Host") == 0 || strcasecmp(k, "Content-Length") == 0 ||
			    strcasecmp(k, "Connection") == 0 || strcasecmp(k, "Accept-Encoding") == 0)
				continue;
			snprintf(hbuf[n], sizeof(hbuf[n]), "%s: %s", k, json_string_value(v));
			headers[n] = hbuf[n];
			n++;
		}
		headers[n] = NULL;
		snprintf(rel, sizeof(rel), "woocommerce/webhooks/%.*s.body",
		    (int)(strlen(file) - 5), file);
		body = th_fixture(rel, &len);
		ck_assert_int_eq(th_http(d.webhook_port, "POST", "/webhooks/woocommerce",
		    headers, body, len, &r), 0);
		ck_assert_msg(r.status == 200, "%s: %ld", file, r.status);
		answered++;
		if (strstr(r.body, "queued") != NULL)
			stored++;
		th_resp_free(&r);
		free(body);
		json_decref(doc);
	}
	ck_assert_int_eq(answered, 50);
	/* 7 pings, 8 product/customer deliveries: the other 35 are orders. */
	ck_assert_int_eq(stored, 35);
	ck_assert_int_eq(events("state = 'pending'"), 35);
	ck_assert_int_eq(events("topic = 'order.deleted'"), 2);
	ck_assert_int_eq(events("topic = 'action.woocommerce_payment_complete'"), 3);
}
END_TEST

START_TEST(acknowledged_delivery_survives_kill_9)
{
	struct th_resp r;
	size_t len;
	char *body = fixture_body("33-order.updated--order-create-for-partial-refund", &len);

	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "e1",
	    body, len, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
	th_daemon_kill9(&d);
	ck_assert_int_eq(events("order_id = 26"), 1);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(events("order_id = 26 AND state = 'pending'"), 1);
	free(body);
}
END_TEST

/* Copies the database file alone, without its WAL: what a power cut keeps. */
static long long
events_in_database_file(const char *where)
{
	char copy[600], sql[256], buf[65536];
	FILE *in, *out;
	size_t n;
	long long count;

	snprintf(copy, sizeof(copy), "%s/file-only.db", dir);
	ck_assert_ptr_nonnull(in = fopen(d.db_path, "rb"));
	ck_assert_ptr_nonnull(out = fopen(copy, "wb"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE %s", where);
	count = th_db_int(copy, sql);
	unlink(copy);
	return count;
}

/*
 * Intake commits are not fsynced (decision 7); the worker's checkpoint,
 * about once a second, fsyncs the WAL and copies it into the database file.
 * So within seconds an acknowledged delivery is in the file itself — even
 * while the store is down and the worker backs off (the store here is).
 */
START_TEST(acknowledged_delivery_reaches_the_database_file_within_seconds)
{
	struct th_resp r;
	size_t len;
	char *body = fixture_body("33-order.updated--order-create-for-partial-refund", &len);
	long waited = 0, limit = th_scaled_ms(5000);
	long long in_file = 0;

	/* The worker has found the store down and backs off. */
	th_nap_ms(1500);
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "f1",
	    body, len, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
	while ((in_file = events_in_database_file("order_id = 26")) == 0 &&
	    waited < limit) {
		th_nap_ms(100);
		waited += 100;
	}
	ck_assert_msg(in_file == 1, "the acknowledged delivery was not in the "
	    "database file after %ld ms", waited);
	free(body);
}
END_TEST

struct burst {
	uint16_t port;
	int acked;
	int sent;
};

static void *
post_burst(void *arg)
{
	struct burst *b = arg;
	char body[64], did[40];
	struct th_resp r;

	for (int i = 0; i < 400; i++) {
		snprintf(body, sizeof(body), "{\"id\":%d}", 1000 + i);
		snprintf(did, sizeof(did), "%032d", i);
		b->sent++;
		if (th_post_webhook(b->port, "order.updated", did, body,
		    strlen(body), TH_SECRET, &r) == 0 && r.status == 200)
			b->acked++;
		th_resp_free(&r);
		if (r.status != 200 && b->acked > 0)
			break;
	}
	return NULL;
}

START_TEST(sigterm_drains_and_every_acknowledged_delivery_is_stored)
{
	struct burst b[4];
	pthread_t t[4];
	int acked = 0, status;
	char wal[600];

	for (int i = 0; i < 4; i++) {
		b[i] = (struct burst){ .port = d.webhook_port };
		pthread_create(&t[i], NULL, post_burst, &b[i]);
	}
	th_nap_ms(150);
	status = th_daemon_stop(&d);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		acked += b[i].acked;
	}
	ck_assert_int_eq(status, 0);
	/* Closed cleanly: the last connection checkpointed and removed the WAL. */
	snprintf(wal, sizeof(wal), "%s-wal", d.db_path);
	ck_assert_int_ne(access(wal, F_OK), 0);
	ck_assert_int_gt(acked, 0);
	/*
	 * Every acknowledged delivery is stored. A request whose connection
	 * was open when the signal came may be stored without its 200
	 * reaching the client: harmless, the sync is idempotent.
	 */
	ck_assert_int_ge(events(NULL), acked);
	ck_assert_int_le(events(NULL), acked + 4);
	ck_assert(th_file_contains(d.log_path, "shutdown: done"));
}
END_TEST

START_TEST(read_only_database_answers_503_and_acknowledges_nothing)
{
	struct th_resp r;
	char extra[700];
	size_t len;
	char *body = fixture_body("17-order.updated--order-create-processing-paid", &len);

	/* Migrated by the first start; then the file as a read-only mount. */
	ck_assert_int_eq(th_daemon_stop(&d), 0);
	free(conf);
	snprintf(extra, sizeof(extra), "database.path = file:%s/tracksies.db?mode=ro", dir);
	conf = th_write_config(dir, extra);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated", "f1",
	    body, len, TH_SECRET, &r), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "storage_unavailable"));
	th_resp_free(&r);
	ck_assert_int_eq(th_db_int(d.db_path, "SELECT count(*) FROM events"), 0);
	free(body);
}
END_TEST

static Suite *
intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *tc = tcase_create("deliveries");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, signed_delivery_is_acknowledged_and_stored);
	tcase_add_test(tc, wrong_or_missing_signature_is_401_and_stores_nothing);
	tcase_add_test(tc, creation_ping_gets_exactly_200_and_stores_nothing);
	tcase_add_test(tc, same_delivery_id_with_different_bodies_keeps_both);
	tcase_add_test(tc, unknown_topic_is_200_and_ignored);
	tcase_add_test(tc, signed_malformed_json_is_200_and_stored_failed);
	tcase_add_test(tc, other_paths_are_404_and_other_methods_405);
	tcase_add_test(tc, every_captured_delivery_gets_the_answer_woocommerce_needs);
	tcase_add_test(tc, acknowledged_delivery_survives_kill_9);
	tcase_add_test(tc, acknowledged_delivery_reaches_the_database_file_within_seconds);
	tcase_add_test(tc, sigterm_drains_and_every_acknowledged_delivery_is_stored);
	tcase_add_test(tc, read_only_database_answers_503_and_acknowledges_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, limits_setup, teardown);
	tcase_add_test(tc, oversized_body_is_413_and_stores_nothing);
	suite_add_tcase(s, tc);
	return s;
}


int
main(void)
{
	SRunner *sr = srunner_create(intake_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
