/* SPDX-License-Identifier: MIT */
/*
 * The sync engine end to end: the real tracksiesd and the fake WooCommerce
 * store (tests/fakewc), both on 127.0.0.1, talking signed webhooks one way
 * and OAuth 1.0a REST the other. Orders are placed in the store through its
 * control API, which fires webhooks exactly as WooCommerce does.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "fakewc_ctl.h"
#include "th.h"

static char *dir;
static char *conf;
static struct th_daemon d;
static struct fakewc *fw;

static void
start_pair(const char *extra_overrides, const char *const *fake_args)
{
	char url[128], overrides[2048], fake_log[600];
	uint16_t hook_port = th_free_port();
	struct fakewc_opts o = { 0 };

	dir = th_tmpdir();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/woocommerce", hook_port);
	snprintf(fake_log, sizeof(fake_log), "%s/fakewc.log", dir);
	o.webhook_url = url;
	o.webhook_secret = TH_SECRET;
	o.orders = FAKEWC_NONE;
	o.customers = FAKEWC_NONE;
	o.extra_args = fake_args;
	o.log_path = fake_log;
	ck_assert_int_eq(fakewc_ctl_start(&o, &fw), TS_OK);
	snprintf(overrides, sizeof(overrides),
	    "store.url = %s\nstore.consumer_key = %s\nstore.consumer_secret = %s\n"
	    "store.timeout_ms = 2000\nwebhook.listen = 127.0.0.1:%u\nlog.level = debug\n%s",
	    fw->url, fw->consumer_key, fw->consumer_secret, hook_port,
	    extra_overrides != NULL ? extra_overrides : "");
	conf = th_write_config(dir, overrides);
	ck_assert_msg(th_daemon_start(dir, conf, &d) == 0, "daemon did not start");
}

static void
setup(void)
{
	start_pair(NULL, NULL);
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

static long long
db(const char *sql)
{
	return th_db_int(d.db_path, sql);
}

/* Place an order in the store; returns its id. */
static long long
place(const char *email, const char *first, int product, int qty,
    const char *status, int paid)
{
	json_t *spec = json_pack("{s:{s:s,s:s,s:s,s:s},s:[{s:i,s:i}],s:b}",
	    "billing", "first_name", first, "last_name", "Tester", "email", email,
	    "phone", "+1 555 0100", "line_items", "product_id", product,
	    "quantity", qty, "set_paid", paid);
	json_t *resp = NULL;
	char *body;
	long long id;

	if (status != NULL)
		json_object_set_new(spec, "status", json_string(status));
	body = json_dumps(spec, JSON_COMPACT);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders", body, &resp), 201);
	id = json_integer_value(json_object_get(resp, "id"));
	ck_assert_int_gt(id, 0);
	free(body);
	json_decref(spec);
	json_decref(resp);
	return id;
}

static void
update(long long id, const char *json)
{
	char path[64];

	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "PUT", path, json, NULL), 200);
}

static void
action(long long id, const char *what, const char *json, long want)
{
	char path[96];

	snprintf(path, sizeof(path), "/_fake/orders/%lld/%s", id, what);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", path, json, NULL), want);
}

/*
 * Wait until the store has delivered every webhook and the daemon has no
 * pending event and no meta left to write, twice in a row (a write fires
 * an echo webhook).
 */
static void
settle(long timeout_ms)
{
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(fakewc_ctl_flush(fw, timeout_ms), 0);
		ck_assert_int_eq(th_db_wait(d.db_path, "SELECT (SELECT count(*) FROM"
		    " events WHERE state = 'pending') + (SELECT count(*) FROM order_sync"
		    " WHERE writeback IS NOT NULL)", 0, timeout_ms), 0);
	}
}

/* The value of a meta key on the order in the store, or NULL (owned). */
static char *
store_meta(long long id, const char *key)
{
	char path[64];
	json_t *o = NULL, *m;
	size_t i;
	char *v = NULL;

	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
	json_array_foreach(json_object_get(o, "meta_data"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0)
			v = strdup(json_is_string(json_object_get(m, "value")) ?
			    json_string_value(json_object_get(m, "value")) : "?");
	}
	json_decref(o);
	return v;
}

static long long
store_total_cents(long long id)
{
	char path[64];
	json_t *o = NULL;
	long long whole = 0, frac = 0;

	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
	ck_assert_int_eq(sscanf(json_string_value(json_object_get(o, "total")),
	    "%lld.%2lld", &whole, &frac), 2);
	json_decref(o);
	return whole * 100 + frac;
}

/* Requests of one endpoint class the store has answered. */
static long long
store_requests(const char *cls)
{
	json_t *s = NULL, *per, *v;
	const char *k;
	long long n = 0;

	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/stats", NULL, &s), 200);
	per = json_object_get(json_object_get(s, "requests"), cls);
	json_object_foreach(per, k, v)
		if (k[0] >= '0' && k[0] <= '9')
			n += json_integer_value(v);
	json_decref(s);
	return n;
}

START_TEST(one_order_makes_one_customer_and_meta_on_the_order)
{
	long long id = place("alice@example.test", "Alice", 12, 2, NULL, 1);
	long long total = store_total_cents(id);
	char *cust, *synced, *err;
	char sql[256];

	settle(15000);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 1);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"), total);
	ck_assert_int_eq(db("SELECT aov_minor FROM customers"), total);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	snprintf(sql, sizeof(sql), "SELECT first_order_at = (SELECT created_at FROM"
	    " orders WHERE id = %lld) FROM customers", id);
	ck_assert_int_eq(db(sql), 1);
	cust = store_meta(id, "_tracksies_customer_id");
	synced = store_meta(id, "_tracksies_synced");
	err = store_meta(id, "_tracksies_sync_error");
	ck_assert_ptr_nonnull(cust);
	ck_assert_str_eq(cust, "1");
	ck_assert_ptr_nonnull(synced);
	ck_assert_int_gt(atoll(synced), (long long)time(NULL) - 120);
	ck_assert_ptr_null(err);
	free(cust);
	free(synced);
	/* Written once, and our own echo did not cause another write. */
	ck_assert_int_eq(store_requests("put_order") + store_requests("batch"), 1);
}
END_TEST

START_TEST(emails_differing_in_case_guest_and_registered_are_one_customer)
{
	long long a = place("bob@example.test", "Bob", 12, 1, NULL, 1);
	long long b = place("  BOB@Example.TEST", "Bob", 13, 1, NULL, 1);
	long long c = place("Bob@example.test", "Bob", 12, 3, "completed", 0);

	settle(15000);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 1);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 3);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"),
	    store_total_cents(a) + store_total_cents(b) + store_total_cents(c));
}
END_TEST

START_TEST(replays_and_status_flip_flops_never_inflate)
{
	long long id = place("carol@example.test", "Carol", 12, 1, NULL, 1);
	char path[64];
	json_t *o = NULL;
	char *body;
	size_t len;
	struct th_resp r;

	settle(15000);
	/* The same delivery five times, as a retrying proxy would send it. */
	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
	body = json_dumps(o, JSON_COMPACT);
	len = strlen(body);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.updated",
		    "0123456789abcdef0123456789abcdef", body, len, TH_SECRET, &r), 0);
		ck_assert_int_eq(r.status, 200);
		th_resp_free(&r);
	}
	update(id, "{\"status\":\"completed\"}");
	update(id, "{\"status\":\"cancelled\"}");
	update(id, "{\"status\":\"processing\"}");
	update(id, "{\"status\":\"completed\"}");
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"), store_total_cents(id));
	ck_assert_int_eq(db("SELECT count(*) FROM transactions"), 1);
	free(body);
	json_decref(o);
}
END_TEST

START_TEST(partial_refund_keeps_ltv_and_sets_refunded_total)
{
	long long id = place("dave@example.test", "Dave", 12, 4, NULL, 1);
	long long total = store_total_cents(id);

	settle(15000);
	action(id, "refunds", "{\"amount\":\"12.50\",\"reason\":\"broken mug\"}", 201);
	settle(15000);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"), total);
	ck_assert_int_eq(db("SELECT refunded_minor FROM customers"), 1250);
	ck_assert_int_eq(db("SELECT refund_count FROM customers"), 1);
}
END_TEST

START_TEST(completed_then_cancelled_stops_counting)
{
	long long id = place("erin@example.test", "Erin", 12, 1, "completed", 1);

	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	update(id, "{\"status\":\"cancelled\"}");
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 0);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"), 0);
	/* A non-counting order keeps its customer id but loses _synced. */
	ck_assert_ptr_null(store_meta(id, "_tracksies_synced"));
}
END_TEST

START_TEST(trashed_order_is_removed_and_marked_not_found)
{
	long long keep = place("frank@example.test", "Frank", 13, 1, NULL, 1);
	long long gone = place("frank@example.test", "Frank", 12, 1, NULL, 1);
	char sql[160];

	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 2);
	action(gone, "trash", NULL, 200);
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(db("SELECT ltv_minor FROM customers"), store_total_cents(keep));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM order_sync WHERE order_id = %lld"
	    " AND state = 'failed' AND error_code = 'order_not_found'", gone);
	ck_assert_int_eq(db(sql), 1);
}
END_TEST

/* 1 held, 0 lost, -1 never earned: tag of the customer with email. */
static long long
tag_of(const char *email, const char *tag)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT lost_at IS NULL FROM customer_tags"
	    " WHERE tag_id = '%s' AND customer_id = (SELECT id FROM customers"
	    " WHERE email = '%s')", tag, email);
	return db(sql);
}

START_TEST(the_customer_an_order_leaves_loses_its_tags_at_once)
{
	long long a1, a2, a3;
	long long ran_at;
	struct th_resp resp;
	char path[64], body[64];

	/* The first full recalculation (at start) is over: none comes later. */
	ck_assert_int_eq(th_db_wait(d.db_path, "SELECT recalc_phase = 'done'"
	    " FROM intel_state", 1, 15000), 1);
	ran_at = db("SELECT recalc_at FROM intel_state");
	a1 = place("ann@example.test", "Ann", 12, 1, "completed", 1);
	a2 = place("ann@example.test", "Ann", 12, 1, "completed", 1);
	a3 = place("ann@example.test", "Ann", 13, 1, "completed", 1);
	settle(15000);
	/* Three orders, none with a coupon: the live full_price_buyer. */
	ck_assert_int_eq(tag_of("ann@example.test", "full_price_buyer"), 1);

	/*
	 * A new billing email moves one order to another customer. A later
	 * second than the applied state: a payload with the same
	 * date_modified (whole seconds), status and total is taken for that
	 * state and settled without a fetch.
	 */
	for (time_t t0 = time(NULL); time(NULL) == t0;)
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	update(a3, "{\"billing\":{\"email\":\"ben@example.test\"}}");
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers WHERE email ="
	    " 'ann@example.test'"), 2);
	ck_assert_int_eq(tag_of("ann@example.test", "full_price_buyer"), 0);
	ck_assert_int_eq(tag_of("ben@example.test", "first_order"), 1);
	ck_assert_int_eq(tag_of("ben@example.test", "recent"), 1);

	/* Trashed: the customer it belonged to loses what it gave them. */
	action(a3, "trash", NULL, 200);
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers WHERE email ="
	    " 'ben@example.test'"), 0);
	ck_assert_int_eq(tag_of("ben@example.test", "recent"), 0);
	ck_assert_int_eq(tag_of("ben@example.test", "first_order"), 1);

	/*
	 * Deleted for good: the store sends no webhook for that (the
	 * reconciler's sweep finds it); any event for the order, here an
	 * order.deleted delivery, gets a 404 and detaches it.
	 */
	snprintf(path, sizeof(path), "/_fake/orders/%lld", a2);
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", path, NULL, NULL), 200);
	snprintf(body, sizeof(body), "{\"id\":%lld}", a2);
	ck_assert_int_eq(th_post_webhook(d.webhook_port, "order.deleted", "del-1",
	    body, strlen(body), TH_SECRET, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	th_resp_free(&resp);
	settle(15000);
	ck_assert_int_eq(th_db_wait(d.db_path, "SELECT count(*) FROM orders"
	    " WHERE status = 'deleted'", 1, 15000), 1);
	ck_assert_int_eq(db("SELECT order_count FROM customers WHERE email ="
	    " 'ann@example.test'"), 1);
	ck_assert_int_eq(tag_of("ann@example.test", "repeat_buyer"), 1);
	ck_assert_int_eq(tag_of("ann@example.test", "full_price_buyer"), 0);
	(void)a1;

	/* All of it by the sync itself: the daily run did not come again. */
	ck_assert_int_eq(db("SELECT recalc_at FROM intel_state"), ran_at);
}
END_TEST

START_TEST(order_without_billing_email_gets_the_error_meta_and_no_customer)
{
	long long id = place("", "Nomail", 12, 1, NULL, 1);
	char *err;

	settle(15000);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 0);
	err = store_meta(id, "_tracksies_sync_error");
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, "no_billing_email: ", 18) == 0, "%s", err);
	ck_assert_ptr_null(store_meta(id, "_tracksies_customer_id"));
	free(err);
}
END_TEST

START_TEST(checkout_draft_leaves_nothing)
{
	place("gina@example.test", "Gina", 12, 1, "checkout-draft", 0);
	settle(15000);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 0);
	ck_assert_int_eq(db("SELECT count(*) FROM orders"), 0);
}
END_TEST

START_TEST(older_order_synced_late_does_not_overwrite_profile)
{
	json_t *spec_new = json_pack("{s:{s:s,s:s,s:s},s:[{s:i,s:i}],s:b,s:s}",
	    "billing", "first_name", "New", "email", "hank@example.test", "phone",
	    "+1 555 0199", "line_items", "product_id", 12, "quantity", 1,
	    "set_paid", 1, "date_created", "2026-06-01T10:00:00");
	json_t *spec_old = json_pack("{s:{s:s,s:s,s:s},s:[{s:i,s:i}],s:b,s:s}",
	    "billing", "first_name", "Old", "email", "hank@example.test", "phone",
	    "+1 555 0111", "line_items", "product_id", 12, "quantity", 1,
	    "set_paid", 1, "date_created", "2024-01-01T10:00:00");
	char *b1 = json_dumps(spec_new, JSON_COMPACT), *b2 = json_dumps(spec_old, JSON_COMPACT);

	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders", b1, NULL), 201);
	settle(15000);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders", b2, NULL), 201);
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 2);
	ck_assert_int_eq(db("SELECT count(*) FROM customers WHERE first_name = 'New'"
	    " AND phone = '+1 555 0199'"), 1);
	free(b1);
	free(b2);
	json_decref(spec_new);
	json_decref(spec_old);
}
END_TEST

START_TEST(store_down_during_a_burst_loses_nothing)
{
	long long ids[20];
	long long sum = 0;

	/* 5xx, then timeouts (the client waits 2 s), 30 s in all. */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "{\"type\":\"status\",\"status\":503,\"endpoint\":\"any\","
	    "\"duration_ms\":15000}", NULL), 201);
	for (int i = 0; i < 20; i++) {
		char email[64];
		snprintf(email, sizeof(email), "burst%d@example.test", i % 7);
		ids[i] = place(email, "Burst", 12 + i % 2, 1 + i % 3, NULL, 1);
	}
	nanosleep(&(struct timespec){ 15, 200000000 }, NULL);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "{\"type\":\"timeout\",\"ms\":3000,\"endpoint\":\"any\","
	    "\"duration_ms\":15000}", NULL), 201);
	ck_assert_int_eq(db("SELECT count(*) FROM order_sync WHERE state = 'failed'"), 0);
	settle(90000);
	for (int i = 0; i < 20; i++)
		sum += store_total_cents(ids[i]);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 7);
	ck_assert_int_eq(db("SELECT sum(ltv_minor) FROM customers"), sum);
	ck_assert_int_eq(db("SELECT count(*) FROM order_sync WHERE state = 'synced'"), 20);
	ck_assert_int_eq(db("SELECT count(*) FROM order_sync WHERE state = 'failed'"), 0);
}
END_TEST

START_TEST(rate_limit_retry_after_is_honoured)
{
	time_t t0 = time(NULL);

	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "{\"type\":\"rate_limit\",\"retry_after\":3,\"endpoint\":\"any\","
	    "\"count\":1}", NULL), 201);
	place("ivy@example.test", "Ivy", 12, 1, NULL, 1);
	settle(20000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	/* The worker waited for Retry-After before asking again. */
	ck_assert_int_ge(time(NULL) - t0, 3);
	ck_assert(th_file_contains(d.log_path, "status=429"));
}
END_TEST

START_TEST(auth_failure_pauses_the_worker_until_the_keys_work)
{
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "{\"type\":\"auth\",\"endpoint\":\"any\",\"duration_ms\":4000}", NULL), 201);
	place("jack@example.test", "Jack", 12, 1, NULL, 1);
	ck_assert_int_eq(fakewc_ctl_flush(fw, 10000), 0);
	/* Within the fault's 4 s, however slow the run: not scaled. */
	for (int i = 0; i < 60 && !th_file_contains(d.log_path, "paused"); i++)
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	ck_assert(th_file_contains(d.log_path, "paused"));
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 0);
	ck_assert_int_eq(db("SELECT count(*) FROM order_sync WHERE state = 'failed'"), 0);
	settle(40000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	ck_assert(th_file_contains(d.log_path, "resuming"));
}
END_TEST

START_TEST(the_echo_settles_after_one_round)
{
	json_t *s = NULL;
	long long sent;

	place("kate@example.test", "Kate", 12, 1, NULL, 1);
	settle(15000);
	th_nap_ms(1000);
	settle(15000);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/stats", NULL, &s), 200);
	/* created + updated + payment_complete, then one echo of our write. */
	sent = json_integer_value(json_object_get(json_object_get(json_object_get(
	    json_object_get(s, "webhooks"), "topics"), "sent"), "order.updated"));
	ck_assert_int_le(sent, 2);
	ck_assert_int_eq(json_array_size(json_object_get(s, "meta_written_twice")), 0);
	json_decref(s);
}
END_TEST

/* Whether the daemon's log so far holds text. */
static int
daemon_log_has(const char *text)
{
	FILE *f = fopen(d.log_path, "r");
	char line[1024];
	int found = 0;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/*
 * A burst where most deliveries repeat what is already applied (the
 * three webhooks of a paid order, then the echo of our write): the worker
 * settles those in its claim while intake keeps committing new ones. A
 * settle written inside the claim's read snapshot failed there
 * (SQLITE_BUSY_SNAPSHOT), logged "cannot read the queue" and stopped the
 * claim, so new orders waited.
 */
START_TEST(repeated_deliveries_settle_while_new_ones_arrive)
{
	enum { N = 300 };
	long long sum = 0;

	for (int i = 0; i < N; i++) {
		char email[64];
		snprintf(email, sizeof(email), "stream%d@example.test", i % 40);
		sum += store_total_cents(place(email, "Stream", 12 + i % 2,
		    1 + i % 3, NULL, 1));
	}
	settle(90000);
	ck_assert_int_eq(db("SELECT count(*) FROM order_sync WHERE state = 'synced'"), N);
	ck_assert_int_eq(db("SELECT sum(ltv_minor) FROM customers"), sum);
	ck_assert_int_eq(db("SELECT count(*) FROM events WHERE state = 'pending'"), 0);
	ck_assert_msg(!daemon_log_has("cannot read the queue"),
	    "the worker's claim failed while deliveries arrived (see %s)", d.log_path);
}
END_TEST

static const char *
store_status(long long id)
{
	static char buf[32];
	char path[64];
	json_t *o = NULL;

	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(o, "status")));
	json_decref(o);
	return buf;
}

static void
set_feature(const char *name, const char *value)
{
	sqlite3 *h = NULL;
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO kv (key, value, updated_at)"
	    " VALUES ('feature.%s', '%s', 0)", name, value);
	ck_assert_int_eq(sqlite3_open(d.db_path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* The worker reads its flags once a second. */
	th_nap_ms(1500);
}

START_TEST(digital_auto_complete_is_off_by_default_and_completes_when_on)
{
	long long ebook_off, ebook_on, mixed_on;

	/*
	 * Product 13 is the downloadable e-book, 12 a mug (a physical good).
	 * Unpaid and set to processing by hand: WooCommerce itself completes a
	 * paid order of virtual and downloadable items.
	 */
	ebook_off = place("dana@example.test", "Dana", 13, 1, "processing", 0);
	settle(15000);
	ck_assert_str_eq(store_status(ebook_off), "processing");
	set_feature("hq.digital_auto_complete", "on");
	ebook_on = place("dana@example.test", "Dana", 13, 2, "processing", 0);
	mixed_on = place("dana@example.test", "Dana", 12, 1, "processing", 0);
	settle(15000);
	ck_assert_str_eq(store_status(ebook_on), "completed");
	ck_assert_str_eq(store_status(mixed_on), "processing");
	/* Completed still counts; the product flags were looked up once. */
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 3);
	ck_assert_int_eq(db("SELECT count(*) FROM products WHERE id = 13 AND"
	    " (virtual OR downloadable)"), 1);
	ck_assert_int_le(store_requests("products"), 2);
}
END_TEST

START_TEST(order_sync_switched_off_holds_orders_until_switched_on)
{
	set_feature("woo.order_sync", "off");
	place("otto@example.test", "Otto", 12, 1, NULL, 1);
	ck_assert_int_eq(fakewc_ctl_flush(fw, 10000), 0);
	th_nap_ms(1500);
	ck_assert_int_eq(db("SELECT count(*) FROM customers"), 0);
	ck_assert_int_gt(db("SELECT count(*) FROM events WHERE state = 'pending'"), 0);
	set_feature("woo.order_sync", "on");
	settle(15000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
}
END_TEST

/*
 * 100 orders for 12 people with random case in their emails, random
 * statuses, refunds and status changes; then the store's final state,
 * read back and summed here, must equal every customer's metrics.
 */
START_TEST(random_scenario_matches_an_independent_ground_truth)
{
	static const char *const statuses[] = { "processing", "completed", "on-hold",
		"pending", "cancelled", "processing", "completed" };
	unsigned seed = 4242;
	long long ids[100];
	char email[64], sql[256];

	for (int i = 0; i < 100; i++) {
		int who;
		seed = seed * 1103515245u + 12345u;
		who = (int)((seed >> 16) % 12);
		snprintf(email, sizeof(email), "%sser%d@Example.test",
		    (seed >> 8) % 2 ? "U" : "u", who);
		ids[i] = place(email, "Rand", 12 + (int)((seed >> 4) % 2),
		    1 + (int)((seed >> 10) % 3), statuses[(seed >> 12) % 7], 0);
	}
	for (int i = 0; i < 100; i += 7)
		update(ids[i], "{\"status\":\"cancelled\"}");
	for (int i = 3; i < 100; i += 11)
		update(ids[i], "{\"status\":\"completed\"}");
	settle(60000);
	/* Ground truth from the store's own final orders. */
	for (int who = 0; who < 12; who++) {
		long long ltv = 0, n = 0;
		for (int i = 0; i < 100; i++) {
			char path[64], *lower;
			json_t *o = NULL;
			const char *st, *em;
			snprintf(path, sizeof(path), "/_fake/orders/%lld", ids[i]);
			ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
			st = json_string_value(json_object_get(o, "status"));
			em = json_string_value(json_object_get(json_object_get(o, "billing"), "email"));
			lower = strdup(em);
			for (char *p = lower; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			snprintf(email, sizeof(email), "user%d@example.test", who);
			if (strcmp(lower, email) == 0 && (strcmp(st, "processing") == 0 ||
			    strcmp(st, "completed") == 0)) {
				ltv += store_total_cents(ids[i]);
				n++;
			}
			free(lower);
			json_decref(o);
		}
		snprintf(sql, sizeof(sql), "SELECT coalesce((SELECT ltv_minor * 1000 +"
		    " order_count FROM customers WHERE email = 'user%d@example.test'), 0)", who);
		ck_assert_int_eq(db(sql), ltv * 1000 + n);
	}
}
END_TEST

static Suite *
sync_e2e_suite(void)
{
	Suite *s = suite_create("sync_e2e");
	TCase *tc = tcase_create("orders");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, one_order_makes_one_customer_and_meta_on_the_order);
	tcase_add_test(tc, repeated_deliveries_settle_while_new_ones_arrive);
	tcase_add_test(tc, emails_differing_in_case_guest_and_registered_are_one_customer);
	tcase_add_test(tc, replays_and_status_flip_flops_never_inflate);
	tcase_add_test(tc, partial_refund_keeps_ltv_and_sets_refunded_total);
	tcase_add_test(tc, completed_then_cancelled_stops_counting);
	tcase_add_test(tc, trashed_order_is_removed_and_marked_not_found);
	tcase_add_test(tc, order_without_billing_email_gets_the_error_meta_and_no_customer);
	tcase_add_test(tc, the_customer_an_order_leaves_loses_its_tags_at_once);
	tcase_add_test(tc, checkout_draft_leaves_nothing);
	tcase_add_test(tc, older_order_synced_late_does_not_overwrite_profile);
	suite_add_tcase(s, tc);

	/*
	 * Cases of their own: ctest runs each case as a test (CMakeLists.txt),
	 * and the 30 s outage is the suite's longest wait.
	 */
	tc = tcase_create("store_down");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, store_down_during_a_burst_loses_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("store_refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, rate_limit_retry_after_is_honoured);
	tcase_add_test(tc, auth_failure_pauses_the_worker_until_the_keys_work);
	tcase_add_test(tc, the_echo_settles_after_one_round);
	suite_add_tcase(s, tc);

	tc = tcase_create("scenarios_and_switches");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, random_scenario_matches_an_independent_ground_truth);
	tcase_add_test(tc, digital_auto_complete_is_off_by_default_and_completes_when_on);
	tcase_add_test(tc, order_sync_switched_off_holds_orders_until_switched_on);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sync_e2e_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
