/* SPDX-License-Identifier: MIT */
/*
 * wc_client against the fake WooCommerce 8.4 store (tests/fakewc) over
 * 127.0.0.1: OAuth 1.0a over plain http checked by the store's own
 * verifier, every call the worker makes, the store's paging headers, and
 * each fault the control API injects mapped to what the worker needs.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "th.h"
#include "tracksies/wc_client.h"

#define CK "ck_0123456789abcdef0123456789abcdef01234567"
#define CS "cs_fedcba9876543210fedcba9876543210fedcba98"
#define MISSING_ID 999999

static pid_t fake_pid = -1;
static uint16_t fake_port;
static char base_url[64];

/* Start fakewc (our own child) and read its port from its one stdout line. */
static void
fake_start(void)
{
	char line[128];
	int pfd[2];
	unsigned port = 0;
	FILE *out;

	ck_assert_int_eq(pipe(pfd), 0);
	fake_pid = fork();
	ck_assert_int_ge(fake_pid, 0);
	if (fake_pid == 0) {
		(void)dup2(pfd[1], STDOUT_FILENO);
		(void)close(pfd[0]);
		(void)close(pfd[1]);
		execl(TS_FAKEWC_PATH, "fakewc", "--consumer-key", CK,
		    "--consumer-secret", CS, "--listen", "127.0.0.1:0",
		    "--orders", "40", "--customers", "10", "--seed", "7",
		    "--workers", "8", (char *)NULL);
		_exit(127);
	}
	(void)close(pfd[1]);
	out = fdopen(pfd[0], "r");
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(fgets(line, sizeof(line), out) != NULL &&
	    sscanf(line, "fakewc: listening port=%u", &port) == 1 && port > 0,
	    "fakewc did not start");
	(void)fclose(out);
	fake_port = (uint16_t)port;
	(void)snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", port);
}

static void
fake_stop(void)
{
	int st;

	if (fake_pid > 0) {
		(void)kill(fake_pid, SIGTERM);
		(void)waitpid(fake_pid, &st, 0);
		fake_pid = -1;
	}
}

static void
control(const char *method, const char *path, const char *body,
    long want_status)
{
	static const char *const hdrs[] = { "Content-Type: application/json",
		NULL };
	struct th_resp r;

	ck_assert_int_eq(th_http(fake_port, method, path, hdrs, body,
	    body ? strlen(body) : 0, &r), 0);
	ck_assert_msg(r.status == want_status, "%s %s: %ld %s", method, path,
	    r.status, r.body ? r.body : "");
	th_resp_free(&r);
}

static void
fault(const char *spec)
{
	control("POST", "/_fake/faults", spec, 201);
}

static void
clear_faults(void)
{
	control("DELETE", "/_fake/faults", NULL, 200);
}

static struct wc_client *
client(enum config_auth auth, const char *secret, long timeout_ms,
    int max_in_flight)
{
	struct wc_client_options opt = {
		.base_url = base_url, .auth = auth, .consumer_key = CK,
		.consumer_secret = secret, .timeout_ms = timeout_ms,
		.max_in_flight = max_in_flight,
	};
	struct wc_client *wc = NULL;

	ck_assert_int_eq(wc_client_new(&opt, &wc), TS_OK);
	return wc;
}

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first n order ids the store lists. */
static void
order_ids(struct wc_client *wc, int64_t *ids, size_t n)
{
	struct wc_list_query q = { .page = 1, .per_page = (int)n,
		.status = "any", .orderby = "id", .order = "asc" };
	struct wc_call *c = wc_call_list_orders(&q);
	size_t i;

	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_uint_eq(json_array_size(c->response), n);
	for (i = 0; i < n; i++)
		ids[i] = json_integer_value(json_object_get(
		    json_array_get(c->response, i), "id"));
	wc_call_free(c);
}

static void
setup(void)
{
	clear_faults();
}

/* ---- requests ---------------------------------------------------------- */

START_TEST(oauth1_over_plain_http_fetches_one_order)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c;
	int64_t id;

	order_ids(wc, &id, 1);
	c = wc_call_get_order(id);
	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_int_eq(c->status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(c->response, "id")),
	    id);
	ck_assert_str_eq(c->error_code, "");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(include_list_returns_the_orders_that_exist)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c;
	int64_t ids[4];
	size_t i, j;
	int found;

	order_ids(wc, ids, 3);
	ids[3] = MISSING_ID;
	c = wc_call_get_orders(ids, 4);
	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_uint_eq(json_array_size(c->response), 3);
	ck_assert_int_eq(c->total, 3);
	for (i = 0; i < 3; i++) {
		found = 0;
		for (j = 0; j < 3; j++)
			found += json_integer_value(json_object_get(
			    json_array_get(c->response, j), "id")) == ids[i];
		ck_assert_int_eq(found, 1);
	}
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(list_reads_the_paging_headers)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_list_query q = { .page = 2, .per_page = 3, .status = "any",
		.modified_after = "2000-01-01T00:00:00", .orderby = "modified",
		.order = "asc" };
	struct wc_call *c = wc_call_list_orders(&q);

	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_int_ge(c->total, 6);
	ck_assert_int_eq(c->total_pages, (c->total + 2) / 3);
	ck_assert_uint_eq(json_array_size(c->response), 3);
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

static const char *
meta_value(const json_t *order, const char *key)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(order, "meta_data"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0)
			return json_string_value(json_object_get(m, "value"));
	return NULL;
}

START_TEST(put_writes_meta_the_store_returns_on_get)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c;
	int64_t id;

	order_ids(wc, &id, 1);
	c = wc_call_put_order(id, json_pack("{s:[{s:s,s:s}]}", "meta_data",
	    "key", "_tracksies_sync_error", "value", "no_billing_email: a b+c%"));
	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_str_eq(meta_value(c->response, "_tracksies_sync_error"),
	    "no_billing_email: a b+c%");
	wc_call_free(c);
	c = wc_call_get_order(id);
	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	ck_assert_str_eq(meta_value(c->response, "_tracksies_sync_error"),
	    "no_billing_email: a b+c%");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(batch_updates_every_item)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c;
	json_t *upd;
	int64_t ids[2];

	order_ids(wc, ids, 2);
	c = wc_call_batch_orders(json_pack("{s:[{s:I,s:[{s:s,s:s}]},"
	    "{s:I,s:[{s:s,s:s}]}]}", "update",
	    "id", (json_int_t)ids[0], "meta_data", "key", "_tracksies_synced",
	    "value", "1795409423",
	    "id", (json_int_t)ids[1], "meta_data", "key", "_tracksies_synced",
	    "value", "1795409424"));
	ck_assert_int_eq(wc_client_perform(wc, c), TS_OK);
	upd = json_object_get(c->response, "update");
	ck_assert_uint_eq(json_array_size(upd), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(upd,
	    0), "id")), ids[0]);
	ck_assert_str_eq(meta_value(json_array_get(upd, 1),
	    "_tracksies_synced"), "1795409424");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

/* ---- error mapping ----------------------------------------------------- */

START_TEST(unknown_order_is_notfound)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_NOTFOUND);
	ck_assert_int_eq(c->status, 404);
	ck_assert_str_eq(c->error_code, "woocommerce_rest_shop_order_invalid_id");
	ck_assert_str_eq(c->error_message, "Invalid ID.");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(unknown_route_is_invalid_not_notfound)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_new(WC_GET, "/no-such-route", NULL);

	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_INVALID);
	ck_assert_int_eq(c->status, 404);
	ck_assert_str_eq(c->error_code, "rest_no_route");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(rate_limit_is_transient_with_retry_after)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	fault("{\"type\":\"rate_limit\",\"endpoint\":\"get_order\","
	    "\"count\":1,\"retry_after\":7}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_int_eq(c->status, 429);
	ck_assert_int_eq(c->retry_after_s, 7);
	/* The fault is used up: the same call now reaches the store. */
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_NOTFOUND);
	ck_assert_int_eq(c->retry_after_s, 0);
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(server_errors_are_transient)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	fault("{\"type\":\"status\",\"status\":503,\"endpoint\":\"get_order\","
	    "\"count\":1,\"retry_after\":30}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_int_eq(c->status, 503);
	ck_assert_int_eq(c->retry_after_s, 30);
	ck_assert_str_eq(c->error_code, "http_503");

	fault("{\"type\":\"status\",\"status\":500,\"endpoint\":\"get_order\","
	    "\"count\":1}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_int_eq(c->status, 500);
	ck_assert_str_eq(c->error_code, "internal_server_error");
	ck_assert_ptr_nonnull(c->response);

	fault("{\"type\":\"status\",\"status\":502,\"endpoint\":\"get_order\","
	    "\"count\":1}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_int_eq(c->status, 502);
	ck_assert_ptr_null(c->response);
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(timeout_is_transient)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 1500, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);
	double t0;

	fault("{\"type\":\"timeout\",\"endpoint\":\"get_order\",\"count\":1,"
	    "\"ms\":4000}");
	t0 = now_s();
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_double_lt(now_s() - t0, 3.0);
	ck_assert_int_eq(c->status, 0);
	ck_assert_str_eq(c->error_code, "timeout");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(dropped_connection_is_transient)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	fault("{\"type\":\"drop\",\"endpoint\":\"get_order\",\"count\":1}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_TRANSIENT);
	ck_assert_str_eq(c->error_code, "dropped");
	ck_assert_str_ne(c->error_message, "");
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

START_TEST(bad_credentials_are_auth_and_never_echoed)
{
	static const char wrong[] = "cs_wrongwrongwrongwrongwrongwrongwrongwrong";
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, wrong, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_AUTH);
	ck_assert_int_eq(c->status, 401);
	ck_assert_str_eq(c->error_code, "woocommerce_rest_authentication_error");
	ck_assert_str_eq(c->error_message,
	    "Invalid signature - provided signature does not match.");
	ck_assert_ptr_null(strstr(c->error_message, CK));
	ck_assert_ptr_null(strstr(c->error_message, wrong));
	wc_call_free(c);
	wc_client_free(wc);

	/* Stock WooCommerce ignores Basic credentials over plain http. */
	wc = client(CONFIG_AUTH_BASIC, CS, 5000, 2);
	c = wc_call_get_order(MISSING_ID);
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_AUTH);
	ck_assert_int_eq(c->status, 401);
	wc_call_free(c);
	wc_client_free(wc);

	wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	c = wc_call_get_order(MISSING_ID);
	fault("{\"type\":\"auth\",\"endpoint\":\"get_order\",\"count\":1}");
	ck_assert_int_eq(wc_client_perform(wc, c), TS_ERR_AUTH);
	ck_assert_int_eq(c->status, 401);
	wc_call_free(c);
	wc_client_free(wc);
}
END_TEST

/* ---- concurrency -------------------------------------------------------- */

START_TEST(several_calls_run_at_once)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 4);
	struct wc_call *calls[5], *done, *solo;
	struct wc_client_stats st;
	int64_t ids[4];
	double t0, took;
	int i, got = 0;

	order_ids(wc, ids, 4);
	fault("{\"type\":\"latency\",\"endpoint\":\"get_order\",\"count\":4,"
	    "\"ms\":700}");
	for (i = 0; i < 4; i++)
		calls[i] = wc_call_get_order(ids[i]);
	calls[4] = wc_call_get_order(ids[0]);
	t0 = now_s();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(wc_client_start(wc, calls[i]), TS_OK);
	ck_assert_int_eq(wc_client_in_flight(wc), 4);
	ck_assert_int_eq(wc_client_start(wc, calls[4]), TS_ERR_TRANSIENT);

	/* A synchronous call runs beside them; theirs wait for _wait. */
	solo = wc_call_list_orders(&(struct wc_list_query){ .page = 1,
	    .per_page = 1 });
	ck_assert_int_eq(wc_client_perform(wc, solo), TS_OK);
	wc_call_free(solo);
	ck_assert_int_eq(wc_client_in_flight(wc), 4);

	while (got < 4) {
		ck_assert_int_eq(wc_client_wait(wc, 5000, &done), TS_OK);
		ck_assert_ptr_nonnull(done);
		ck_assert_int_eq(done->rc, TS_OK);
		got++;
	}
	took = now_s() - t0;
	/* Four 700 ms requests one after another would take 2.8 s. */
	ck_assert_msg(took < 2.0, "took %.2fs", took);
	ck_assert_int_eq(wc_client_in_flight(wc), 0);
	ck_assert_int_eq(wc_client_wait(wc, 10, &done), TS_OK);
	ck_assert_ptr_null(done);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(
		    calls[i]->response, "id")), ids[i]);

	wc_client_stats(wc, &st);
	ck_assert_uint_eq(st.requests, 6);	/* list, solo, four gets */
	ck_assert_uint_eq(st.ok, 6);
	for (i = 0; i < 5; i++)
		wc_call_free(calls[i]);
	wc_client_free(wc);
}
END_TEST

START_TEST(freeing_the_client_aborts_calls_in_flight)
{
	struct wc_client *wc = client(CONFIG_AUTH_AUTO, CS, 5000, 2);
	struct wc_call *c = wc_call_get_order(MISSING_ID);

	fault("{\"type\":\"latency\",\"endpoint\":\"get_order\",\"count\":1,"
	    "\"ms\":2000}");
	ck_assert_int_eq(wc_client_start(wc, c), TS_OK);
	wc_client_free(wc);
	ck_assert_ptr_null(c->priv);
	ck_assert_int_eq(c->rc, TS_ERR_TRANSIENT);
	ck_assert_str_eq(c->error_code, "aborted");
	wc_call_free(c);
}
END_TEST

static Suite *
wc_client_suite(void)
{
	Suite *s = suite_create("wc_client");
	TCase *tc;

	tc = tcase_create("requests");
	tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, oauth1_over_plain_http_fetches_one_order);
	tcase_add_test(tc, include_list_returns_the_orders_that_exist);
	tcase_add_test(tc, list_reads_the_paging_headers);
	tcase_add_test(tc, put_writes_meta_the_store_returns_on_get);
	tcase_add_test(tc, batch_updates_every_item);
	suite_add_tcase(s, tc);

	tc = tcase_create("error_mapping");
	tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, unknown_order_is_notfound);
	tcase_add_test(tc, unknown_route_is_invalid_not_notfound);
	tcase_add_test(tc, rate_limit_is_transient_with_retry_after);
	tcase_add_test(tc, server_errors_are_transient);
	tcase_add_test(tc, timeout_is_transient);
	tcase_add_test(tc, dropped_connection_is_transient);
	tcase_add_test(tc, bad_credentials_are_auth_and_never_echoed);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, several_calls_run_at_once);
	tcase_add_test(tc, freeing_the_client_aborts_calls_in_flight);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	sr = srunner_create(wc_client_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
