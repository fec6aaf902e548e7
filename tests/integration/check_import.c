/* SPDX-License-Identifier: MIT */
/*
 * Backfill and self-healing end to end: `tracksiesd --import` and the
 * reconciler against the fake WooCommerce store, on 127.0.0.1.
 */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <jansson.h>
#include <sqlite3.h>

#include "fakewc_ctl.h"
#include "th.h"

static char *dir;
static char *conf;
static struct th_daemon d;
static struct fakewc *fw;
static char db_path[600];
static uint16_t hook_port;
static const char *anchor_date = "2026-11-01";	/* the store's history ends here */

/* The configuration pointing at the running fake store (into conf). */
static void
start_store_config(const char *extra_overrides)
{
	char url[128], overrides[2048];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/woocommerce", hook_port);
	snprintf(overrides, sizeof(overrides),
	    "store.url = %s\nstore.consumer_key = %s\nstore.consumer_secret = %s\n"
	    "store.timeout_ms = 2000\nwebhook.listen = 127.0.0.1:%u\n"
	    "webhook.public_url = %s\nreconcile.interval = 10s\nlog.level = info\n%s",
	    fw->url, fw->consumer_key, fw->consumer_secret, hook_port, url,
	    extra_overrides != NULL ? extra_overrides : "");
	conf = th_write_config(dir, overrides);
}

/* A store of n generated orders and a configuration pointing at it. */
static void
start_store(int orders, const char *extra_overrides, const char *const *fake_args)
{
	char url[128], fake_log[600];
	struct fakewc_opts o = { 0 };

	dir = th_tmpdir();
	hook_port = th_free_port();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/woocommerce", hook_port);
	snprintf(fake_log, sizeof(fake_log), "%s/fakewc.log", dir);
	snprintf(db_path, sizeof(db_path), "%s/tracksies.db", dir);
	o.webhook_url = url;
	o.webhook_secret = TH_SECRET;
	o.orders = orders > 0 ? orders : FAKEWC_NONE;
	o.customers = orders > 0 ? orders / 6 + 1 : FAKEWC_NONE;
	o.seed = 11;
	o.anchor_date = anchor_date;
	o.extra_args = fake_args;
	o.log_path = fake_log;
	ck_assert_int_eq(fakewc_ctl_start(&o, &fw), TS_OK);
	start_store_config(extra_overrides);
}

static void
teardown(void)
{
	/* A clean stop, so that a run under valgrind checks its exit too. */
	if (d.pid > 0)
		ck_assert_int_eq(th_daemon_stop(&d), 0);
	(void)fakewc_ctl_stop(fw);
	free(conf);
	th_rmrf(dir);
}

/*
 * Run tracksiesd --import; its exit status, stdout to *out (owned), stderr
 * left in dir/import.err. One still running after two minutes is killed
 * (exit status -1): an import that never ends is a failure too.
 */
static int
import(const char *config, const char *since, char **out)
{
	char path[700], err_path[700];
	const char *argv[] = { TS_DAEMON_PATH, "--config", config, "--import",
		since ? "--since" : NULL, since, NULL };
	FILE *f;
	pid_t pid;
	int status;
	long waited = 0;

	snprintf(path, sizeof(path), "%s/import.out", dir);
	snprintf(err_path, sizeof(err_path), "%s/import.err", dir);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (freopen(path, "w", stdout) == NULL || freopen(err_path, "w", stderr) == NULL)
			_exit(126);
		th_exec_daemon(argv);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited > th_scaled_ms(120000)) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
		waited += 50;
	}
	if (out != NULL) {
		f = fopen(path, "r");
		*out = f != NULL ? th_read_file(path, NULL) : strdup("");
		if (f != NULL)
			fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What the last import() wrote on stderr (owned). */
static char *
import_stderr(void)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/import.err", dir);
	return th_read_file(path, NULL);
}

static long long
q(const char *sql)
{
	return th_db_int(db_path, sql);
}

static long long
store_count(const char *cls, const char *status)
{
	json_t *s = NULL;
	long long n;

	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/stats", NULL, &s), 200);
	n = json_integer_value(json_object_get(json_object_get(json_object_get(s,
	    "requests"), cls), status));
	json_decref(s);
	return n;
}

/*
 * The orders the store lists now (status any: not trashed, not a checkout
 * draft), as a comma-separated id list (owned), and how many.
 */
static char *
store_listed_ids(long *n)
{
	size_t cap = 1 << 16, len = 0;
	char *ids = malloc(cap);
	int misses = 0;

	*n = 0;
	ids[0] = '\0';
	for (int id = 19; misses < 300; id++) {
		char path[64];
		json_t *o = NULL;
		const char *st;

		snprintf(path, sizeof(path), "/_fake/orders/%d", id);
		if (fakewc_ctl(fw, "GET", path, NULL, &o) != 200) {
			json_decref(o);
			misses++;
			continue;
		}
		misses = 0;
		st = json_string_value(json_object_get(o, "status"));
		if (strcmp(st, "trash") != 0 && strcmp(st, "checkout-draft") != 0) {
			if (len + 16 > cap)
				ids = realloc(ids, cap *= 2);
			len += (size_t)snprintf(ids + len, cap - len, "%s%d",
			    len > 0 ? "," : "", id);
			(*n)++;
		}
		json_decref(o);
	}
	return ids;
}

/* How many of the ids (a comma-separated list) sql's table holds. */
static long long
count_in(const char *sql_before_list, const char *ids)
{
	size_t len = strlen(sql_before_list) + strlen(ids) + 8;
	char *sql = malloc(len);
	long long n;

	snprintf(sql, len, "%s(%s)", sql_before_list, ids);
	n = q(sql);
	free(sql);
	return n;
}

START_TEST(import_equals_webhook_sync_customer_by_customer)
{
	char *out = NULL, dbw[700], cmp[2048];
	struct th_resp r;
	int n = 0;

	start_store(2000, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "import completed"));
	free(out);
	/* The same orders through webhooks, into a second database. */
	snprintf(dbw, sizeof(dbw), "database.path = %s/webhooks.db", dir);
	free(conf);
	{
		char overrides[2048];
		snprintf(overrides, sizeof(overrides),
		    "store.url = %s\nstore.consumer_key = %s\nstore.consumer_secret = %s\n"
		    "webhook.listen = 127.0.0.1:%u\n%s\n", fw->url, fw->consumer_key,
		    fw->consumer_secret, hook_port, dbw);
		conf = th_write_config(dir, overrides);
	}
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	/* Deliver order.updated for every order id the store has. */
	for (int id = 1; id <= 4000 && n < 5000; id++) {
		char path[64], *body;
		json_t *o = NULL;
		snprintf(path, sizeof(path), "/_fake/orders/%d", id);
		if (fakewc_ctl(fw, "GET", path, NULL, &o) != 200) {
			json_decref(o);
			continue;
		}
		body = json_dumps(o, JSON_COMPACT);
		ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated",
		    "00000000000000000000000000000000", body, strlen(body), TH_SECRET, &r), 0);
		ck_assert_int_eq(r.status, 200);
		th_resp_free(&r);
		free(body);
		json_decref(o);
		n++;
	}
	ck_assert_int_gt(n, 1500);
	snprintf(cmp, sizeof(cmp), "%s/webhooks.db", dir);
	ck_assert_int_eq(th_db_wait(cmp, "SELECT (SELECT count(*) FROM events WHERE"
	    " state = 'pending') + (SELECT count(*) FROM order_sync WHERE writeback"
	    " IS NOT NULL)", 0, 60000), 0);
	/* Customer by customer: email, ltv, orders, refunds, first and last order. */
	snprintf(cmp, sizeof(cmp), "SELECT count(*) FROM (SELECT email, ltv_minor,"
	    " order_count, refunded_minor, first_order_at, last_order_at FROM customers"
	    " EXCEPT SELECT email, ltv_minor, order_count, refunded_minor,"
	    " first_order_at, last_order_at FROM w.customers)");
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		char attach[800];
		long long diff = -1, diff2 = -1, both = -1;
		ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
		snprintf(attach, sizeof(attach), "ATTACH '%s/webhooks.db' AS w", dir);
		ck_assert_int_eq(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, cmp, -1, &st, NULL), SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			diff = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT email,"
		    " ltv_minor, order_count FROM w.customers EXCEPT SELECT email, ltv_minor,"
		    " order_count FROM customers)", -1, &st, NULL), SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			diff2 = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM customers",
		    -1, &st, NULL), SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			both = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
		ck_assert_int_eq(diff, 0);
		ck_assert_int_eq(diff2, 0);
		ck_assert_int_gt(both, 100);
	}
}
END_TEST

START_TEST(second_import_changes_nothing_and_says_so)
{
	char *out = NULL;
	long long batches;

	start_store(600, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	free(out);
	batches = store_count("batch", "200");
	ck_assert_int_gt(batches, 0);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_msg(strstr(out, "nothing changed") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "orders changed    0"));
	ck_assert_int_eq(store_count("batch", "200"), batches);
	free(out);
}
END_TEST

/*
 * An import inserts customers a page at a time, which leaves the search
 * index in many segments; every search looks its trigrams up in each. The
 * daemon merges them into one after the import, and searches find the
 * same customers as before.
 */
START_TEST(daemon_merges_the_search_index_an_import_left)
{
	char *out = NULL;
	long long found;

	start_store(1200, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	free(out);
	ck_assert_int_gt(q("SELECT count(DISTINCT segid) FROM customers_fts_idx"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM kv WHERE key ="
	    " 'search.purge_pending'"), 1);
	found = q("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH"
	    " '\"example\"'");
	ck_assert_int_gt(found, 100);
	ck_assert_int_eq(found, q("SELECT count(*) FROM customers WHERE email LIKE"
	    " '%example%' OR first_name || ' ' || last_name LIKE '%example%'"
	    " OR phone LIKE '%example%'"));

	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(th_db_wait(db_path, "SELECT count(*) FROM kv WHERE key ="
	    " 'search.purge_pending'", 0, 30000), 0);
	ck_assert_int_eq(q("SELECT count(DISTINCT segid) FROM customers_fts_idx"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM customers_fts WHERE customers_fts"
	    " MATCH '\"example\"'"), found);
}
END_TEST

START_TEST(discrepancies_are_listed_with_their_reasons)
{
	char *out = NULL;

	start_store(600, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_msg(strstr(out, "no_billing_email: the order has no billing email")
	    != NULL, "%s", out);
	ck_assert_int_eq(q("SELECT count(*) FROM import_discrepancies WHERE code ="
	    " 'no_billing_email'"), q("SELECT count(*) FROM order_sync WHERE"
	    " error_code = 'no_billing_email'"));
	ck_assert_int_gt(q("SELECT count(*) FROM import_discrepancies"), 0);
	/* The store's total is what was seen: no gap. */
	ck_assert_int_eq(q("SELECT store_total FROM import_runs"),
	    q("SELECT count(*) FROM import_seen"));
	free(out);
}
END_TEST

/*
 * The running daemon applied a newer copy of some orders than the pages
 * show (here: the database holds a later date_modified). Those orders are
 * in sync, so the import saw them: no false gap.
 */
START_TEST(orders_the_daemon_applied_more_recently_count_as_seen)
{
	char *out = NULL;
	sqlite3 *db = NULL;

	start_store(300, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	free(out);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE orders SET modified_at ="
	    " modified_at + 86400 WHERE id IN (SELECT order_id FROM import_seen"
	    " WHERE outcome = 'synced' ORDER BY order_id LIMIT 10)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_msg(strstr(out, "import completed") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "orders current    10") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(q("SELECT count(*) FROM import_seen WHERE run_id = 2"),
	    q("SELECT store_total FROM import_runs WHERE id = 2"));
}
END_TEST

START_TEST(switched_off_import_leaves_no_run_behind)
{
	char *out = NULL, *err;
	sqlite3 *db = NULL;

	start_store(150, NULL, NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	free(out);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT OR REPLACE INTO kv (key, value,"
	    " updated_at) VALUES ('feature.woo.import', 'off', 0)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(import(conf, "30d", &out), 1);
	free(out);
	err = import_stderr();
	ck_assert_msg(strstr(err, "the import is switched off") != NULL, "%s", err);
	free(err);
	/* Nothing was started: no run left "running" for ever. */
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs WHERE state ="
	    " 'running'"), 0);
}
END_TEST

START_TEST(store_faults_during_import_are_retried)
{
	char *out = NULL;

	start_store(800, NULL, NULL);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", "{\"type\":\"status\","
	    "\"status\":503,\"endpoint\":\"list_orders\",\"count\":3}", NULL), 201);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", "{\"type\":\"rate_limit\","
	    "\"retry_after\":1,\"endpoint\":\"batch\",\"count\":2}", NULL), 201);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", "{\"type\":\"timeout\","
	    "\"ms\":2500,\"endpoint\":\"list_orders\",\"count\":1}", NULL), 201);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "import completed"));
	ck_assert_int_eq(q("SELECT store_total FROM import_runs"),
	    q("SELECT count(*) FROM import_seen"));
	/* Every fault fired, and none is left unused. */
	ck_assert_int_ge(store_count("list_orders", "503"), 3);
	ck_assert_int_ge(store_count("batch", "429"), 2);
	ck_assert_int_ge(store_count("list_orders", "504"), 1);
	{
		json_t *left = NULL;
		ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/faults", NULL, &left), 200);
		ck_assert_int_eq(json_array_size(left), 0);
		json_decref(left);
	}
	free(out);
}
END_TEST

START_TEST(since_window_takes_only_newer_orders)
{
	char *out = NULL;
	long long all;

	start_store(600, NULL, NULL);
	ck_assert_int_eq(import(conf, "2026-06-01", &out), 0);
	free(out);
	ck_assert_int_gt(q("SELECT count(*) FROM orders"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM orders WHERE created_at <"
	    " strftime('%s', '2026-06-01')"), 0);
	all = q("SELECT count(*) FROM orders");
	ck_assert_int_eq(import(conf, "all", &out), 0);
	free(out);
	ck_assert_int_gt(q("SELECT count(*) FROM orders"), all);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs"), 2);
}
END_TEST

/*
 * --since 30d: every order the store created in the last 30 days (the
 * history here ends today), over more than one page, and none older.
 */
START_TEST(relative_since_window_takes_exactly_the_last_days)
{
	char today[16], lo[32], hi[32], *out = NULL;
	time_t now = time(NULL), t0, t1;
	struct tm tm;
	json_t *o = NULL;
	long long top, in_window = 0, imported = 0, misses = 0;
	char sql[160];

	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	anchor_date = today;
	start_store(4000, NULL, NULL);
	/* One made now, at the top of the ids: the window's newest order. */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
	    "{\"billing\":{\"email\":\"now@example.test\"},\"line_items\":"
	    "[{\"product_id\":12,\"quantity\":1}],\"set_paid\":true}", &o), 201);
	top = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	t0 = time(NULL);
	ck_assert_int_eq(import(conf, "30d", &out), 0);
	t1 = time(NULL);
	ck_assert_msg(strstr(out, "import completed (run 1, since 30d)") != NULL, "%s", out);
	free(out);
	/* The import's own boundary lies between these two. */
	t0 -= 30 * 86400;
	t1 -= 30 * 86400;
	gmtime_r(&t0, &tm);
	strftime(lo, sizeof(lo), "%Y-%m-%dT%H:%M:%S", &tm);
	gmtime_r(&t1, &tm);
	strftime(hi, sizeof(hi), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM orders WHERE created_at < %lld",
	    (long long)t0);
	ck_assert_int_eq(q(sql), 0);
	/* Ids grow with date_created: walk down until well before the window. */
	for (long long id = top; id >= 19 && misses < 50; id--) {
		char path[64];
		const char *created, *st;

		snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
		if (fakewc_ctl(fw, "GET", path, NULL, &o) != 200) {
			json_decref(o);
			continue;
		}
		created = json_string_value(json_object_get(o, "date_created_gmt"));
		st = json_string_value(json_object_get(o, "status"));
		if (strcmp(created, lo) < 0)
			misses++;
		else if (strcmp(created, hi) > 0 && strcmp(st, "trash") != 0 &&
		    strcmp(st, "checkout-draft") != 0) {
			in_window++;
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM orders WHERE"
			    " id = %lld", id);
			imported += q(sql);
		}
		json_decref(o);
	}
	ck_assert_int_gt(in_window, 100);
	ck_assert_int_eq(imported, in_window);
	ck_assert_int_eq(q("SELECT count(*) FROM orders"), in_window);
}
END_TEST

/*
 * Start tracksiesd --import on the test's configuration and stop it with
 * SIGINT (Ctrl-C) once its run row matches where (an import_runs
 * condition), waited for up to wait_ms, then linger_ms more: it must exit
 * 130, interrupted.
 */
static void
interrupt_import_once(const char *where, long wait_ms, long linger_ms)
{
	const char *argv[] = { TS_DAEMON_PATH, "--config", conf, "--import", NULL };
	char sql[160];
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		th_exec_daemon(argv);
	}
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM import_runs"
	    " WHERE %s", where);
	ck_assert_int_eq(th_db_wait(db_path, sql, 1, wait_ms), 1);
	nanosleep(&(struct timespec){ linger_ms / 1000,
	    (linger_ms % 1000) * 1000000 }, NULL);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 130);
}

START_TEST(interrupted_import_resumes_to_the_same_result)
{
	static const char *const slow[] = { "--latency-model", "woo84",
		"--latency-scale", "0.25", NULL };
	char *out = NULL;
	long long lists_first, seen_first, total;
	long linger;
	char timeout[64];

	/*
	 * A request that times out is asked again and counted twice below:
	 * the timeout grows with TS_TEST_TIME_FACTOR (valgrind).
	 */
	(void)snprintf(timeout, sizeof(timeout), "store.timeout_ms = %ld",
	    th_scaled_ms(10000) < 600000 ? th_scaled_ms(10000) : 600000);
	start_store(2000, timeout, slow);
	/* Slow writes: the interruption leaves meta planned but not written. */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", "{\"type\":\"latency\","
	    "\"ms\":1500,\"endpoint\":\"batch\"}", NULL), 201);
	/*
	 * Interrupt it at a random moment after its first checkpoint (the
	 * moment is printed, to replay a failure).
	 */
	linger = (long)(((unsigned)time(NULL) ^ (unsigned)getpid()) % 1500);
	fprintf(stderr, "interrupted_import: SIGINT %ld ms after the first"
	    " checkpoint\n", linger);
	interrupt_import_once("next_page > 0", 15000, linger);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs WHERE state = 'interrupted'"), 1);
	seen_first = q("SELECT next_page FROM import_runs");
	lists_first = store_count("list_orders", "200");
	ck_assert_int_lt(seen_first, 20);
	ck_assert_int_gt(q("SELECT count(*) FROM order_sync WHERE writeback IS NOT"
	    " NULL"), 0);
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", "/_fake/faults", NULL, NULL), 200);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "import completed"));
	free(out);
	/* The meta the first session planned but did not write is written. */
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync WHERE writeback IS NOT"
	    " NULL"), 0);
	total = q("SELECT store_total FROM import_runs");
	ck_assert_int_eq(q("SELECT count(*) FROM import_seen"), total);
	/* Pages before the checkpoint were not fetched again. */
	ck_assert_int_le(store_count("list_orders", "200"),
	    (total + 98) / 99 + 4 + (lists_first - seen_first));
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs"), 1);
}
END_TEST

/*
 * Orders deleted or trashed between two sessions, below the checkpoint,
 * shift every later page left: the first page the resumed session reads
 * starts after orders it never read. The seam with the last page of the
 * first session shows it, and the shifted pages are read again.
 */
START_TEST(resume_after_deletions_below_the_checkpoint_misses_nothing)
{
	static const char *const slow[] = { "--latency-model", "woo84",
		"--latency-scale", "0.25", NULL };
	char *out = NULL, *ids;
	long listed;

	start_store(1500, NULL, slow);
	interrupt_import_once("next_page >= 3", 30000, 0);
	ck_assert_int_lt(q("SELECT next_page FROM import_runs"), 15);
	/* 130 of the first orders go: more than a page's worth of shift. */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		int i = 0;

		ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT order_id FROM"
		    " import_seen ORDER BY order_id LIMIT 130", -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char path[64];
			long long id = sqlite3_column_int64(st, 0);
			if (i++ % 5 == 0) {
				snprintf(path, sizeof(path), "/_fake/orders/%lld/trash", id);
				ck_assert_int_eq(fakewc_ctl(fw, "POST", path, NULL, NULL), 200);
			} else {
				snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
				ck_assert_int_eq(fakewc_ctl(fw, "DELETE", path, NULL, NULL), 200);
			}
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
		ck_assert_int_eq(i, 130);
	}
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_msg(strstr(out, "import completed") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "pages shifted") != NULL, "%s", out);
	ids = store_listed_ids(&listed);
	ck_assert_int_gt(listed, 1000);
	/* Every order the store still lists was imported, by this run. */
	ck_assert_int_eq(count_in("SELECT count(*) FROM orders WHERE id IN ", ids),
	    listed);
	ck_assert_int_eq(count_in("SELECT count(*) FROM import_seen WHERE order_id"
	    " IN ", ids), listed);
	ck_assert_int_eq(q("SELECT store_total FROM import_runs"), listed);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync WHERE writeback IS NOT"
	    " NULL"), 0);
	free(ids);
	free(out);
}
END_TEST

START_TEST(orders_created_during_the_import_are_neither_missed_nor_doubled)
{
	static const char *const slow[] = { "--latency-model", "woo84",
		"--latency-scale", "0.2", NULL };
	const char *argv[] = { TS_DAEMON_PATH, "--config", NULL, "--import", NULL };
	long long ids[10];
	pid_t pid;
	int status;
	char sql[256];

	start_store(1200, NULL, slow);
	argv[2] = conf;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		th_exec_daemon(argv);
	}
	nanosleep(&(struct timespec){ 0, 400000000 }, NULL);
	for (int i = 0; i < 10; i++) {
		json_t *o = NULL;
		ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
		    "{\"billing\":{\"email\":\"during@example.test\"},\"line_items\":"
		    "[{\"product_id\":12,\"quantity\":1}],\"set_paid\":true}", &o), 201);
		ids[i] = json_integer_value(json_object_get(o, "id"));
		json_decref(o);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM orders WHERE id BETWEEN %lld AND %lld",
	    ids[0], ids[9]);
	ck_assert_int_eq(q(sql), 10);
	ck_assert_int_eq(q("SELECT order_count FROM customers WHERE email ="
	    " 'during@example.test'"), 10);
}
END_TEST

START_TEST(import_gives_up_on_a_store_that_does_not_answer)
{
	char overrides[1024], *out = NULL, *err;

	start_store(300, NULL, NULL);
	/* Nothing listens on this port. */
	free(conf);
	snprintf(overrides, sizeof(overrides), "store.url = http://127.0.0.1:%u\n"
	    "store.consumer_key = %s\nstore.consumer_secret = %s\n"
	    "store.timeout_ms = 2000\n", th_free_port(), fw->consumer_key,
	    fw->consumer_secret);
	conf = th_write_config(dir, overrides);
	ck_assert_int_eq(import(conf, NULL, &out), 1);
	free(out);
	err = import_stderr();
	ck_assert_msg(strstr(err, "the store did not answer 5 requests in a row")
	    != NULL, "%s", err);
	ck_assert_msg(strstr(err, "run the same command again") != NULL, "%s", err);
	free(err);
	/* The run is left to resume, and resumes once the store is back. */
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs WHERE state ="
	    " 'interrupted'"), 1);
	free(conf);
	start_store_config(NULL);
	ck_assert_int_eq(import(conf, NULL, &out), 0);
	ck_assert_msg(strstr(out, "import completed") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs"), 1);
	ck_assert_int_eq(q("SELECT store_total FROM import_runs"),
	    q("SELECT count(*) FROM import_seen"));
}
END_TEST

START_TEST(import_gives_up_at_once_when_the_store_refuses_the_keys)
{
	char overrides[1024], *out = NULL, *err;

	start_store(300, NULL, NULL);
	free(conf);
	snprintf(overrides, sizeof(overrides), "store.url = %s\n"
	    "store.consumer_key = %s\nstore.consumer_secret = cs_wrong_secret_42\n",
	    fw->url, fw->consumer_key);
	conf = th_write_config(dir, overrides);
	ck_assert_int_eq(import(conf, NULL, &out), 1);
	free(out);
	err = import_stderr();
	ck_assert_msg(strstr(err, "the store refused our keys (HTTP 401") != NULL,
	    "%s", err);
	ck_assert_msg(strstr(err, "consumer_secret") != NULL, "%s", err);
	ck_assert(strstr(err, "cs_wrong_secret_42") == NULL);
	free(err);
	/* At once: one refused request, not a backoff series. */
	ck_assert_int_eq(store_count("settings", "401") + store_count("list_orders",
	    "401"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM import_runs WHERE state ="
	    " 'interrupted'"), 1);
}
END_TEST

/* The admin listener's port, from the daemon's log (it starts just after). */
static uint16_t
admin_port(void)
{
	uint16_t port = 0;

	for (long i = 0; i < th_scaled_ms(100) && port == 0; i++) {
		char *log = th_read_file(d.log_path, NULL), *p;
		if ((p = strstr(log, "admin: listening")) != NULL &&
		    (p = strstr(p, " port=")) != NULL)
			port = (uint16_t)atoi(p + 6);
		free(log);
		if (port == 0)
			nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	return port;
}

START_TEST(admin_api_starts_and_follows_an_import)
{
	const char *auth[] = { "Authorization: Bearer " TH_TOKEN, NULL };
	struct th_resp r;
	json_t *doc = NULL;
	uint16_t port;
	int running = 1;

	start_store(900, NULL, NULL);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_gt(port = admin_port(), 0);
	ck_assert_int_eq(th_http(port, "POST", "/v1/import", auth, "{\"since\":\"sometime\"}",
	    strlen("{\"since\":\"sometime\"}"), &r), 0);
	ck_assert_int_eq(r.status, 400);
	th_resp_free(&r);
	ck_assert_int_eq(th_http(port, "POST", "/v1/import", auth, "{\"since\":\"all\"}",
	    strlen("{\"since\":\"all\"}"), &r), 0);
	ck_assert_int_eq(r.status, 202);
	th_resp_free(&r);
	for (int i = 0; i < 300 && running; i++) {
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		ck_assert_int_eq(th_http(port, "GET", "/v1/import", auth, NULL, 0, &r), 0);
		ck_assert_int_eq(r.status, 200);
		json_decref(doc);
		doc = json_loads(r.body, 0, NULL);
		running = json_is_true(json_object_get(doc, "running"));
		th_resp_free(&r);
	}
	ck_assert(!running);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc,
	    "summary"), "state")), "completed");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc,
	    "summary"), "orders_seen")), q("SELECT count(*) FROM import_seen"));
	ck_assert_int_gt(q("SELECT count(*) FROM customers"), 50);
	json_decref(doc);
}
END_TEST

START_TEST(reconciler_heals_webhooks_lost_while_the_daemon_was_down)
{
	start_store(0, NULL, NULL);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	/* The first round stores the watermark. */
	ck_assert_int_gt(th_db_wait(db_path, "SELECT count(*) FROM kv WHERE key ="
	    " 'reconcile.watermark'", 1, 15000), 0);
	ck_assert_int_eq(th_daemon_stop(&d), 0);
	/* While it is down the store's deliveries fail and are never retried. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
		    "{\"billing\":{\"email\":\"lost@example.test\"},\"line_items\":"
		    "[{\"product_id\":12,\"quantity\":1}],\"set_paid\":true}", NULL), 201);
	ck_assert_int_eq(fakewc_ctl_flush(fw, 20000), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 0);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(th_db_wait(db_path, "SELECT coalesce((SELECT order_count FROM"
	    " customers WHERE email = 'lost@example.test'), 0)", 5, 30000), 5);
}
END_TEST

/* Wait for a line of the daemon's log to contain needle; whether it did. */
static bool
log_wait(const char *needle, long timeout_ms)
{
	for (long waited = 0; waited <= th_scaled_ms(timeout_ms); waited += 50) {
		if (th_file_contains(d.log_path, needle))
			return true;
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	return false;
}

START_TEST(watermark_never_advances_past_unprocessed_pages)
{
	long long wm;

	start_store(0, NULL, NULL);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	/* Right after a round: the next one is an interval (10 s) away. */
	ck_assert(log_wait("reconcile: done", 15000));
	wm = q("SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'reconcile.watermark'");
	/*
	 * 150 orders the daemon hears nothing of (two pages), and a store that
	 * lists the first page and then fails for 14 s.
	 */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/webhooks/pause",
	    "{\"mode\":\"drop\"}", NULL), 200);
	for (int i = 0; i < 150; i++)
		ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
		    "{\"billing\":{\"email\":\"late@example.test\"},\"line_items\":"
		    "[{\"product_id\":12,\"quantity\":1}],\"set_paid\":true}", NULL), 201);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", "[{\"type\":\"latency\","
	    "\"ms\":1,\"endpoint\":\"list_orders\",\"count\":1},{\"type\":\"status\","
	    "\"status\":503,\"endpoint\":\"list_orders\",\"duration_ms\":14000}]", NULL), 201);
	/* The round reads page 1, queues it, fails on page 2: the mark stays. */
	ck_assert(log_wait("watermark=kept", 15000));
	ck_assert_int_eq(q("SELECT count(*) FROM events WHERE source = 'reconcile'"), 100);
	ck_assert_int_eq(q("SELECT CAST(value AS INTEGER) FROM kv WHERE key ="
	    " 'reconcile.watermark'"), wm);
	/* The store lists again: a later round heals the second page too. */
	ck_assert_int_eq(th_db_wait(db_path, "SELECT coalesce((SELECT order_count FROM"
	    " customers WHERE email = 'late@example.test'), 0)", 150, 40000), 150);
	ck_assert_int_gt(q("SELECT CAST(value AS INTEGER) FROM kv WHERE key ="
	    " 'reconcile.watermark'"), wm);
}
END_TEST

START_TEST(permanent_delete_is_found_by_the_sweep)
{
	json_t *o = NULL;
	long long id;
	char path[64];

	start_store(0, NULL, NULL);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
	    "{\"billing\":{\"email\":\"gone@example.test\"},\"line_items\":"
	    "[{\"product_id\":12,\"quantity\":1}],\"set_paid\":true}", &o), 201);
	id = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	ck_assert_int_eq(th_db_wait(db_path, "SELECT coalesce((SELECT order_count FROM"
	    " customers), 0)", 1, 20000), 1);
	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", path, NULL, NULL), 200);
	/* No webhook for that: the next reconcile round finds it. */
	ck_assert_int_eq(th_db_wait(db_path, "SELECT coalesce((SELECT order_count FROM"
	    " customers), -1)", 0, 30000), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM orders WHERE status = 'deleted'"), 1);
}
END_TEST

/*
 * A store whose webhooks the failures of eight deliveries disabled, as
 * WooCommerce does after seven, and the daemon started on it (autorepair
 * as given) once its reconciler has checked them.
 */
static void
start_with_disabled_webhooks(const char *autorepair)
{
	start_store(0, autorepair, NULL);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/webhooks/pause",
	    "{\"mode\":\"fail\"}", NULL), 200);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
		    "{\"billing\":{\"email\":\"x@example.test\"},\"line_items\":"
		    "[{\"product_id\":12,\"quantity\":1}]}", NULL), 201);
	ck_assert_int_eq(fakewc_ctl_flush(fw, 20000), 0);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/webhooks/resume", NULL, NULL), 200);
	ck_assert_int_eq(th_daemon_start(dir, conf, &d), 0);
	ck_assert_int_eq(th_db_wait(db_path, "SELECT count(*) FROM kv WHERE key ="
	    " 'webhooks.health'", 1, 15000), 1);
}

START_TEST(disabled_webhook_is_detected_and_repaired)
{
	json_t *hooks = NULL, *h;
	size_t i;
	int active = 0;

	start_with_disabled_webhooks("reconcile.webhook_autorepair = true");
	nanosleep(&(struct timespec){ 1, 0 }, NULL);
	ck_assert(th_file_contains(d.log_path, "re-activated"));
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/webhooks", NULL, &hooks), 200);
	json_array_foreach(hooks, i, h)
		active += strcmp(json_string_value(json_object_get(h, "status")), "active") == 0;
	ck_assert_int_eq(active, 5);
	json_decref(hooks);
	/* /healthz shows what the reconciler found. */
	{
		struct th_resp r;
		json_t *doc;
		ck_assert_int_eq(th_http(admin_port(), "GET", "/healthz", NULL, NULL, 0, &r), 0);
		doc = json_loads(r.body, 0, NULL);
		ck_assert(json_is_object(json_object_get(doc, "webhooks")));
		ck_assert(json_is_true(json_object_get(json_object_get(doc, "webhooks"),
		    "checked")));
		json_decref(doc);
		th_resp_free(&r);
	}
}
END_TEST

START_TEST(disabled_webhook_without_autorepair_shows_in_healthz)
{
	json_t *hooks = NULL, *h, *doc, *wh;
	struct th_resp r;
	size_t i;
	int disabled = 0;

	start_with_disabled_webhooks("reconcile.webhook_autorepair = false");
	ck_assert_int_eq(th_http(admin_port(), "GET", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	doc = json_loads(r.body, 0, NULL);
	th_resp_free(&r);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "degraded");
	wh = json_object_get(doc, "webhooks");
	ck_assert(json_is_true(json_object_get(wh, "checked")));
	ck_assert(json_is_false(json_object_get(wh, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(wh,
	    "topics"), "order.updated")), "disabled");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(wh,
	    "topics"), "action.woocommerce_payment_complete")), "active");
	json_decref(doc);
	/* Reported, left alone, and the log says how to repair it. */
	ck_assert(th_file_contains(d.log_path, "set webhook_autorepair = true"));
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/webhooks", NULL, &hooks), 200);
	json_array_foreach(hooks, i, h)
		disabled += strcmp(json_string_value(json_object_get(h, "status")),
		    "disabled") == 0;
	ck_assert_int_eq(disabled, 2);
	json_decref(hooks);
}
END_TEST

START_TEST(register_webhooks_twice_makes_one_set)
{
	const char *argv[] = { TS_DAEMON_PATH, "--config", NULL, "--register-webhooks", NULL };
	char overrides[1024], *err = NULL;
	json_t *hooks = NULL;

	start_store(0, NULL, NULL);
	/* A public URL the store has no webhooks for yet. */
	free(conf);
	snprintf(overrides, sizeof(overrides),
	    "store.url = %s\nstore.consumer_key = %s\nstore.consumer_secret = %s\n"
	    "webhook.public_url = https://shop.example.test/tracksies/webhook\n",
	    fw->url, fw->consumer_key, fw->consumer_secret);
	conf = th_write_config(dir, overrides);
	argv[2] = conf;
	ck_assert_int_eq(th_run(argv, &err), 0);
	free(err);
	ck_assert_int_eq(th_run(argv, &err), 0);
	free(err);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/webhooks", NULL, &hooks), 200);
	/* Five pre-registered for the test URL, five for ours: no duplicates. */
	ck_assert_int_eq(json_array_size(hooks), 10);
	json_decref(hooks);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("backfill");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, import_equals_webhook_sync_customer_by_customer);
	tcase_add_test(tc, second_import_changes_nothing_and_says_so);
	tcase_add_test(tc, daemon_merges_the_search_index_an_import_left);
	tcase_add_test(tc, discrepancies_are_listed_with_their_reasons);
	tcase_add_test(tc, orders_the_daemon_applied_more_recently_count_as_seen);
	suite_add_tcase(s, tc);
	tc = tcase_create("switches_faults_windows");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, switched_off_import_leaves_no_run_behind);
	tcase_add_test(tc, store_faults_during_import_are_retried);
	tcase_add_test(tc, since_window_takes_only_newer_orders);
	tcase_add_test(tc, relative_since_window_takes_exactly_the_last_days);
	suite_add_tcase(s, tc);
	/* Cases run side by side under ctest (CMakeLists.txt). */
	tc = tcase_create("resume");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, interrupted_import_resumes_to_the_same_result);
	tcase_add_test(tc, resume_after_deletions_below_the_checkpoint_misses_nothing);
	tcase_add_test(tc, orders_created_during_the_import_are_neither_missed_nor_doubled);
	suite_add_tcase(s, tc);
	tc = tcase_create("admin_and_give_up");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, admin_api_starts_and_follows_an_import);
	tcase_add_test(tc, import_gives_up_on_a_store_that_does_not_answer);
	tcase_add_test(tc, import_gives_up_at_once_when_the_store_refuses_the_keys);
	suite_add_tcase(s, tc);
	tc = tcase_create("healing");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reconciler_heals_webhooks_lost_while_the_daemon_was_down);
	tcase_add_test(tc, permanent_delete_is_found_by_the_sweep);
	tcase_add_test(tc, watermark_never_advances_past_unprocessed_pages);
	suite_add_tcase(s, tc);
	tc = tcase_create("webhook_health");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, disabled_webhook_is_detected_and_repaired);
	tcase_add_test(tc, disabled_webhook_without_autorepair_shows_in_healthz);
	tcase_add_test(tc, register_webhooks_twice_makes_one_set);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(import_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
