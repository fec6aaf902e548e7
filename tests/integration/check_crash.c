/* SPDX-License-Identifier: MIT */
/*
 * Crash safety, proven: a burst of signed deliveries while the daemon is
 * killed with SIGKILL at random moments and the store injects faults; then
 * every order WooCommerce got a 2xx for must be synced, exactly once, with
 * every customer's metrics equal to a ground truth this file computes from
 * the store's own final orders. Also: a disk that cannot grow answers 503
 * and acknowledges nothing it did not store.
 *
 * The seed of a run is printed; TS_CRASH_SEED=N replays the same schedule
 * (the moments still depend on timing).
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "fakewc_ctl.h"
#include "th.h"

#define N_ORDERS 2000
#define N_DELIVERIES 5000
#define N_PEOPLE 300
#define N_SENDERS 4
#define N_KILLS_BURST 5		/* during the burst, at random progress */
#define N_KILLS_SYNC 2		/* after it, while the worker syncs and writes */
#define N_KILLS (N_KILLS_BURST + N_KILLS_SYNC)
#define SETTLE_MS 90000

static char *dir;
static char *conf;
static struct th_daemon d;
static struct fakewc *fw;
static uint16_t hook_port;

/* ---- a reproducible PRNG (xorshift64*) ------------------------------- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* Uniform in [lo, hi]. */
static long
rng_range(long lo, long hi)
{
	return lo + (long)(rng() % (uint64_t)(hi - lo + 1));
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the pair: fake store and daemon ---------------------------------- */

static void
start_pair(const char *extra_overrides)
{
	char url[128], overrides[2048], fake_log[600];
	struct fakewc_opts o = { 0 };

	dir = th_tmpdir();
	hook_port = th_free_port();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/woocommerce", hook_port);
	snprintf(fake_log, sizeof(fake_log), "%s/fakewc.log", dir);
	o.webhook_url = url;
	o.webhook_secret = TH_SECRET;
	o.orders = FAKEWC_NONE;
	o.customers = FAKEWC_NONE;
	o.log_path = fake_log;
	ck_assert_int_eq(fakewc_ctl_start(&o, &fw), TS_OK);
	snprintf(overrides, sizeof(overrides),
	    "store.url = %s\nstore.consumer_key = %s\nstore.consumer_secret = %s\n"
	    "store.timeout_ms = 4000\nwebhook.listen = 127.0.0.1:%u\n%s",
	    fw->url, fw->consumer_key, fw->consumer_secret, hook_port,
	    extra_overrides != NULL ? extra_overrides : "");
	conf = th_write_config(dir, overrides);
	ck_assert_msg(th_daemon_start(dir, conf, &d) == 0, "daemon did not start");
}

static void
setup(void)
{
	/* Info, not debug: 5,000 deliveries at debug level is mostly logging. */
	start_pair("log.level = info");
}

static void
teardown(void)
{
	/* A clean stop, so that a run under valgrind checks its exit too. */
	if (d.pid > 0)
		ck_assert_int_eq(th_daemon_stop(&d), 0);
	(void)fakewc_ctl_stop(fw);
	fw = NULL;
	free(conf);
	conf = NULL;
	th_rmrf(dir);
	dir = NULL;
}

/* ---- the store's orders ------------------------------------------------ */

struct order_rec {
	long long id;
	char *body;		/* the order as GET /orders/{id} printed it */
	size_t len;
	char *stale;		/* the same with another status and total */
	size_t stale_len;
	atomic_int acked;	/* deliveries that got a 2xx */
};

struct delivery {
	int order;		/* index into orders[] */
	const char *topic;
	char id[33];		/* X-WC-Webhook-Delivery-ID */
	int stale;		/* send the stale body */
	long status;		/* HTTP status, 0: no answer */
};

static struct order_rec orders[N_ORDERS];
static struct delivery deliveries[N_DELIVERIES];

static const char *const statuses[] = { "processing", "completed", "completed",
	"processing", "on-hold", "pending", "cancelled", "failed" };

/* Jobs spread over N_SENDERS threads (the store serves control calls in parallel). */
static atomic_int next_job;
static atomic_int job_failures;

static void
run_parallel(void *(*fn)(void *))
{
	pthread_t th[N_SENDERS];

	atomic_store(&next_job, 0);
	atomic_store(&job_failures, 0);
	for (int i = 0; i < N_SENDERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn, NULL), 0);
	for (int i = 0; i < N_SENDERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&job_failures), 0);
}

static char *specs[N_ORDERS];

static void *
create_one(void *arg)
{
	int i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_job, 1)) < N_ORDERS) {
		json_t *resp = NULL;

		/* The answer is the order as GET /orders/{id} prints it. */
		if (fakewc_ctl(fw, "POST", "/_fake/orders", specs[i], &resp) != 201 ||
		    (orders[i].id = json_integer_value(json_object_get(resp, "id"))) <= 0) {
			atomic_fetch_add(&job_failures, 1);
			json_decref(resp);
			continue;
		}
		orders[i].body = json_dumps(resp, JSON_COMPACT);
		orders[i].len = strlen(orders[i].body);
		/* An older snapshot: the daemon must fetch, and the store wins. */
		json_object_set_new(resp, "status", json_string("on-hold"));
		json_object_set_new(resp, "total", json_string("0.01"));
		orders[i].stale = json_dumps(resp, JSON_COMPACT);
		orders[i].stale_len = strlen(orders[i].stale);
		json_decref(resp);
		free(specs[i]);
		specs[i] = NULL;
	}
	return NULL;
}

/* Create N_ORDERS orders with webhooks dropped, and keep their bodies. */
static void
create_orders(void)
{
	static const int products[] = { 8, 9, 10, 11, 12, 13 };

	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/webhooks/pause",
	    "{\"mode\":\"drop\"}", NULL), 200);
	for (int i = 0; i < N_ORDERS; i++) {
		char email[96];
		long person = rng_range(0, N_PEOPLE - 1);
		long shape = rng_range(0, 99);
		json_t *spec, *items;

		/* One person writes their email in several ways. */
		if (shape < 3)
			email[0] = '\0';
		else if (shape < 20)
			snprintf(email, sizeof(email), "  Crash.Person%ld@EXAMPLE.test ", person);
		else if (shape < 35)
			snprintf(email, sizeof(email), "CRASH.PERSON%ld@example.TEST", person);
		else
			snprintf(email, sizeof(email), "crash.person%ld@example.test", person);
		items = json_array();
		for (long k = rng_range(1, 3); k > 0; k--)
			json_array_append_new(items, json_pack("{s:i,s:i}", "product_id",
			    products[rng_range(0, 5)], "quantity", (int)rng_range(1, 3)));
		spec = json_pack("{s:s,s:s,s:s,s:o,s:s,s:b}", "email", email,
		    "first_name", "Crash", "last_name", "Tester", "items", items,
		    "status", statuses[rng_range(0, 7)], "set_paid", 0);
		if (rng_range(0, 9) == 0)
			json_object_set_new(spec, "coupon", json_string("save10"));
		specs[i] = json_dumps(spec, JSON_COMPACT);
		json_decref(spec);
		atomic_init(&orders[i].acked, 0);
	}
	run_parallel(create_one);
}

/* The store's final orders, read back at the end. */
static json_t *final_state[N_ORDERS];

static void *
fetch_one(void *arg)
{
	int i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_job, 1)) < N_ORDERS) {
		char path[64];

		snprintf(path, sizeof(path), "/_fake/orders/%lld", orders[i].id);
		if (fakewc_ctl(fw, "GET", path, NULL, &final_state[i]) != 200)
			atomic_fetch_add(&job_failures, 1);
	}
	return NULL;
}

/*
 * 5,000 deliveries: every order gets order.created then order.updated, 500
 * of them a third; some repeat a delivery id (a retrying proxy), some share
 * one with another order (WooCommerce's id is per webhook and second), some
 * carry a stale body. Then shuffled so an order's deliveries are spread
 * over the burst and its kills.
 */
static void
plan_deliveries(void)
{
	int n = 0;

	for (int i = 0; i < N_ORDERS; i++) {
		int k = i < N_DELIVERIES - 2 * N_ORDERS ? 3 : 2;
		for (int j = 0; j < k; j++, n++) {
			struct delivery *dv = &deliveries[n];
			dv->order = i;
			dv->topic = j == 0 ? "order.created" : "order.updated";
			if (j > 0 && rng_range(0, 3) == 0)
				memcpy(dv->id, deliveries[n - 1].id, sizeof(dv->id));
			else
				snprintf(dv->id, sizeof(dv->id), "%016" PRIx64 "%016" PRIx64,
				    rng(), rng());
			dv->stale = j > 0 && rng_range(0, 6) == 0;
		}
	}
	ck_assert_int_eq(n, N_DELIVERIES);
	for (int i = N_DELIVERIES - 1; i > 0; i--) {
		int j = (int)rng_range(0, i);
		struct delivery t = deliveries[i];
		deliveries[i] = deliveries[j];
		deliveries[j] = t;
	}
	for (int i = 1; i < N_DELIVERIES; i++)
		if (rng_range(0, 9) == 0)
			memcpy(deliveries[i].id, deliveries[i - 1].id, sizeof(deliveries[i].id));
}

/* ---- the senders: a few threads, one keep-alive connection each -------- */

static atomic_int next_delivery;
static atomic_int sent;
static atomic_bool daemon_down;

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* POST one delivery as WooCommerce does; the HTTP status, 0 when none. */
static long
post(CURL *c, const char *topic, const char *delivery_id, const char *body,
    size_t len)
{
	char url[96], sig[45], h[6][160];
	const char *dot = strchr(topic, '.');
	struct curl_slist *hl = NULL;
	long status = 0;

	th_sign(TH_SECRET, body, len, sig);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhooks/woocommerce", hook_port);
	snprintf(h[0], sizeof(h[0]), "X-WC-Webhook-Topic: %s", topic);
	snprintf(h[1], sizeof(h[1]), "X-WC-Webhook-Resource: %.*s", (int)(dot - topic), topic);
	snprintf(h[2], sizeof(h[2]), "X-WC-Webhook-Event: %s", dot + 1);
	snprintf(h[3], sizeof(h[3]), "X-WC-Webhook-Signature: %s", sig);
	snprintf(h[4], sizeof(h[4]), "X-WC-Webhook-Delivery-ID: %s", delivery_id);
	snprintf(h[5], sizeof(h[5]), "X-WC-Webhook-ID: %d", strcmp(topic, "order.created") == 0 ? 1 : 2);
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl, "User-Agent: WooCommerce/8.4.0 Hookshot (WordPress/6.4.2)");
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "X-WC-Webhook-Source: http://127.0.0.1:8765/");
	for (int i = 0; i < 6; i++)
		hl = curl_slist_append(hl, h[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	return status;
}

static void *
sender(void *arg)
{
	CURL *c = curl_easy_init();
	int i;

	(void)arg;
	if (c == NULL)
		abort();
	while ((i = atomic_fetch_add(&next_delivery, 1)) < N_DELIVERIES) {
		struct delivery *dv = &deliveries[i];
		struct order_rec *o = &orders[dv->order];

		/* While the daemon restarts, hold on (WooCommerce's queue waits). */
		while (atomic_load(&daemon_down))
			nap_ms(2);
		dv->status = post(c, dv->topic, dv->id, dv->stale ? o->stale : o->body,
		    dv->stale ? o->stale_len : o->len);
		if (dv->status >= 200 && dv->status < 300)
			atomic_fetch_add(&o->acked, 1);
		atomic_fetch_add(&sent, 1);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* ---- kills and faults -------------------------------------------------- */

/* Two faults on the store's REST endpoints, different each round. */
static void
inject_faults(void)
{
	static const char *const faults[] = {
		"{\"endpoint\":\"list_orders\",\"type\":\"status\",\"status\":503,\"count\":1}",
		"{\"endpoint\":\"get_order\",\"type\":\"status\",\"status\":503,\"count\":1}",
		"{\"endpoint\":\"batch\",\"type\":\"rate_limit\",\"retry_after\":1,\"count\":1}",
		"{\"endpoint\":\"list_orders\",\"type\":\"rate_limit\",\"retry_after\":1,\"count\":1}",
		"{\"endpoint\":\"list_orders\",\"type\":\"timeout\",\"ms\":5000,\"count\":1}",
		"{\"endpoint\":\"batch\",\"type\":\"status\",\"status\":502,\"count\":1}",
		"{\"endpoint\":\"put_order\",\"type\":\"status\",\"status\":500,\"count\":1}",
		"{\"endpoint\":\"batch\",\"type\":\"drop\",\"count\":1}",
	};
	char body[512];

	snprintf(body, sizeof(body), "[%s,%s]", faults[rng_range(0, 7)],
	    faults[rng_range(0, 7)]);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults", body, NULL), 201);
}

static int kills;

static void
kill_and_restart(void)
{
	char old[600], keep[640];

	atomic_store(&daemon_down, true);
	th_daemon_kill9(&d);
	kills++;
	/* Keep each life's log for a post-mortem (TH_KEEP=1). */
	snprintf(old, sizeof(old), "%s/daemon.log", dir);
	snprintf(keep, sizeof(keep), "%s/daemon.log.%d", dir, kills);
	(void)rename(old, keep);
	ck_assert_msg(th_daemon_start(dir, conf, &d) == 0,
	    "daemon did not restart after kill %d (see %s)", kills, keep);
	inject_faults();
	atomic_store(&daemon_down, false);
}

/* ---- reading the outcome ----------------------------------------------- */

static long long
db(const char *sql)
{
	return th_db_int(d.db_path, sql);
}

/*
 * Wait until nothing is pending and nothing is left to write, twice in a
 * row half a second apart (a job in hand holds its events pending).
 */
static void
settle(long timeout_ms)
{
	static const char sql[] = "SELECT (SELECT count(*) FROM events WHERE"
	    " state = 'pending') + (SELECT count(*) FROM order_sync WHERE"
	    " writeback IS NOT NULL)";

	for (int round = 0; round < 2; round++) {
		long long left = th_db_wait(d.db_path, sql, 0, timeout_ms);
		ck_assert_msg(left == 0, "not settled after %ld ms: %lld left"
		    " (events pending=%lld, writebacks=%lld)", timeout_ms, left,
		    db("SELECT count(*) FROM events WHERE state = 'pending'"),
		    db("SELECT count(*) FROM order_sync WHERE writeback IS NOT NULL"));
		nap_ms(500);
	}
}

/* "12.34" (or "-1.5", "7") -> minor units, 2 decimals; independent of money.c. */
static long long
cents(const char *s)
{
	long long whole = 0, frac = 0;
	int neg = 0, digits = 0;

	ck_assert_ptr_nonnull(s);
	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++)
		whole = whole * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 2)
				frac = frac * 10 + (*s - '0');
	ck_assert_int_eq(*s, '\0');
	if (digits == 1)
		frac *= 10;
	return (neg ? -1 : 1) * (whole * 100 + frac);
}

/* Trimmed, lower-cased (ASCII): how a person is told apart. */
static void
normalise(const char *in, char *out, size_t size)
{
	size_t n = 0;

	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in != '\0' && n + 1 < size; in++)
		out[n++] = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

struct truth {
	char email[96];
	long long ltv_minor;
	long long order_count;
	int seen_in_db;
};

static int
truth_find(struct truth *t, int n, const char *email)
{
	for (int i = 0; i < n; i++)
		if (strcmp(t[i].email, email) == 0)
			return i;
	return -1;
}

static const char *
meta_value(const json_t *order, const char *key)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(order, "meta_data"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0)
			return json_is_string(json_object_get(m, "value")) ?
			    json_string_value(json_object_get(m, "value")) : "?";
	return NULL;
}

static sqlite3 *
db_open_ro(void)
{
	sqlite3 *h = NULL;

	ck_assert_int_eq(sqlite3_open_v2(d.db_path, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	return h;
}

/* A row of one order as the daemon holds it. */
struct held {
	char state[16];
	char error_code[40];
	long long customer_id;		/* orders.customer_id, 0 if none */
	long long events;		/* event rows for the order */
};

static void
read_held(sqlite3 *h, long long id, struct held *out)
{
	sqlite3_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT (SELECT state FROM order_sync"
	    " WHERE order_id = ?1), (SELECT error_code FROM order_sync WHERE"
	    " order_id = ?1), (SELECT customer_id FROM orders WHERE id = ?1),"
	    " (SELECT count(*) FROM events WHERE order_id = ?1)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	if (sqlite3_column_text(st, 0) != NULL)
		snprintf(out->state, sizeof(out->state), "%s", sqlite3_column_text(st, 0));
	if (sqlite3_column_text(st, 1) != NULL)
		snprintf(out->error_code, sizeof(out->error_code), "%s",
		    sqlite3_column_text(st, 1));
	out->customer_id = sqlite3_column_int64(st, 2);
	out->events = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
}

START_TEST(kill9_during_a_faulty_burst_loses_and_doubles_nothing)
{
	const char *seed_env = getenv("TS_CRASH_SEED");
	uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 10) :
	    (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	struct timespec t0, t_burst;
	pthread_t th[N_SENDERS];
	int thresholds[N_KILLS_BURST];
	int acked_orders = 0, caught_up = 0, acked_deliveries = 0, answered_5xx = 0;
	long long max_meta = 0, twice = 0;
	struct truth *truth = calloc(N_ORDERS, sizeof(*truth));
	int n_truth = 0;
	long long counted = 0;
	json_t *stats = NULL, *meta_writes;
	sqlite3 *h;
	sqlite3_stmt *st = NULL;
	CURL *c;

	ck_assert_ptr_nonnull(truth);
	kills = 0;
	rng_state = seed != 0 ? seed : 1;
	fprintf(stderr, "crash: seed=%" PRIu64 " (TS_CRASH_SEED to replay)\n", seed);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	create_orders();
	plan_deliveries();
	fprintf(stderr, "crash: %d orders placed in %.1f s\n", N_ORDERS, seconds_since(&t0));

	/* Kill at random points of the burst, at least 300 deliveries apart. */
	for (int k = 0; k < N_KILLS_BURST; k++)
		thresholds[k] = (int)rng_range(200, N_DELIVERIES - 200 - 300 * (N_KILLS_BURST - 1));
	for (int a = 0; a < N_KILLS_BURST; a++)
		for (int b = a + 1; b < N_KILLS_BURST; b++)
			if (thresholds[b] < thresholds[a]) {
				int t = thresholds[a];
				thresholds[a] = thresholds[b];
				thresholds[b] = t;
			}
	for (int k = 0; k < N_KILLS_BURST; k++)
		thresholds[k] += 300 * k;

	inject_faults();
	clock_gettime(CLOCK_MONOTONIC, &t_burst);
	atomic_store(&next_delivery, 0);
	atomic_store(&sent, 0);
	atomic_store(&daemon_down, false);
	for (int i = 0; i < N_SENDERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, sender, NULL), 0);
	for (int k = 0; k < N_KILLS_BURST; k++) {
		while (atomic_load(&sent) < thresholds[k] && seconds_since(&t_burst) < 100)
			nap_ms(1);
		nap_ms(rng_range(0, 30));
		kill_and_restart();
	}
	for (int i = 0; i < N_SENDERS; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "crash: burst of %d deliveries with %d kills in %.1f s\n",
	    N_DELIVERIES, kills, seconds_since(&t_burst));
	/* Then while the worker fetches and writes meta back. */
	for (int k = 0; k < N_KILLS_SYNC; k++) {
		nap_ms(rng_range(100, 1200));
		kill_and_restart();
	}
	ck_assert_int_ge(kills, 5);

	for (int i = 0; i < N_DELIVERIES; i++) {
		acked_deliveries += deliveries[i].status >= 200 && deliveries[i].status < 300;
		answered_5xx += deliveries[i].status >= 500;
	}
	for (int i = 0; i < N_ORDERS; i++)
		acked_orders += atomic_load(&orders[i].acked) > 0;

	/*
	 * The store's faults end. An order none of whose deliveries got a 2xx
	 * is WooCommerce's failed delivery: the reconciler catches it up; here
	 * one more delivery stands in for it, so that the ground truth can
	 * cover every order of the store.
	 */
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", "/_fake/faults", NULL, NULL), 200);
	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < N_ORDERS; i++) {
		long status;
		if (atomic_load(&orders[i].acked) > 0)
			continue;
		status = post(c, "order.updated", "00000000000000000000000000c47c40",
		    orders[i].body, orders[i].len);
		ck_assert_int_eq(status, 200);
		caught_up++;
	}
	curl_easy_cleanup(c);
	settle(SETTLE_MS);
	fprintf(stderr, "crash: settled %.1f s after the burst\n", seconds_since(&t_burst));

	/* Ground truth from the store's final orders, computed here. */
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/stats", NULL, &stats), 200);
	meta_writes = json_object_get(stats, "meta_writes");
	h = db_open_ro();
	run_parallel(fetch_one);
	for (int i = 0; i < N_ORDERS; i++) {
		char email[96], key[32];
		json_t *o = final_state[i];
		const char *status, *raw;
		struct held held;
		long long writes;
		int t;

		status = json_string_value(json_object_get(o, "status"));
		raw = json_string_value(json_object_get(json_object_get(o, "billing"), "email"));
		normalise(raw != NULL ? raw : "", email, sizeof(email));
		read_held(h, orders[i].id, &held);

		/* Every order is stored, as synced or with its terminal error. */
		if (email[0] == '\0') {
			ck_assert_msg(strcmp(held.state, "failed") == 0 &&
			    strcmp(held.error_code, "no_billing_email") == 0,
			    "order %lld (no email): state=%s code=%s", orders[i].id,
			    held.state, held.error_code);
			ck_assert_ptr_nonnull(meta_value(o, "_tracksies_sync_error"));
			ck_assert_msg(strncmp(meta_value(o, "_tracksies_sync_error"),
			    "no_billing_email", 16) == 0, "order %lld", orders[i].id);
		} else {
			const char *cid = meta_value(o, "_tracksies_customer_id");
			ck_assert_msg(strcmp(held.state, "synced") == 0,
			    "order %lld (acked %d times): state=%s code=%s", orders[i].id,
			    atomic_load(&orders[i].acked), held.state, held.error_code);
			/* The meta written back names the customer the order is tied to. */
			ck_assert_msg(cid != NULL && held.customer_id > 0 &&
			    strtoll(cid, NULL, 10) == held.customer_id,
			    "order %lld: meta customer %s, database %lld", orders[i].id,
			    cid != NULL ? cid : "(none)", held.customer_id);
			if ((t = truth_find(truth, n_truth, email)) < 0) {
				t = n_truth++;
				snprintf(truth[t].email, sizeof(truth[t].email), "%s", email);
			}
			if (strcmp(status, "processing") == 0 || strcmp(status, "completed") == 0) {
				truth[t].ltv_minor += cents(json_string_value(json_object_get(o, "total")));
				truth[t].order_count++;
				counted++;
				ck_assert_ptr_nonnull(meta_value(o, "_tracksies_synced"));
			}
		}
		/* A 2xx only after the commit: as many rows as acknowledgements. */
		ck_assert_msg(held.events >= atomic_load(&orders[i].acked) +
		    (atomic_load(&orders[i].acked) == 0),
		    "order %lld: %d deliveries acknowledged, %lld stored",
		    orders[i].id, atomic_load(&orders[i].acked), held.events);
		/* A crash between a write and its commit may write once more. */
		snprintf(key, sizeof(key), "%lld", orders[i].id);
		writes = json_integer_value(json_object_get(meta_writes, key));
		ck_assert_msg(writes <= 1 + kills, "order %lld: meta written %lld times",
		    orders[i].id, writes);
		if (writes > max_meta)
			max_meta = writes;
		json_decref(o);
		final_state[i] = NULL;
	}
	twice = (long long)json_array_size(json_object_get(stats, "meta_written_twice"));

	/* Each customer counted every order exactly once: nothing more, nothing less. */
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT email, ltv_minor, order_count"
	    " FROM customers", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *email = (const char *)sqlite3_column_text(st, 0);
		int t = truth_find(truth, n_truth, email);

		ck_assert_msg(t >= 0, "customer %s is in no order of the store", email);
		ck_assert_msg(sqlite3_column_int64(st, 1) == truth[t].ltv_minor &&
		    sqlite3_column_int64(st, 2) == truth[t].order_count,
		    "customer %s: ltv %lld count %lld, ground truth %lld and %lld",
		    email, (long long)sqlite3_column_int64(st, 1),
		    (long long)sqlite3_column_int64(st, 2), truth[t].ltv_minor,
		    truth[t].order_count);
		truth[t].seen_in_db++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	for (int t = 0; t < n_truth; t++)
		ck_assert_msg(truth[t].seen_in_db == 1, "customer %s: %d rows",
		    truth[t].email, truth[t].seen_in_db);
	ck_assert_int_eq(db("SELECT count(*) FROM transactions"), counted);
	ck_assert_int_eq(db("SELECT count(*) FROM events WHERE state = 'failed'"), 0);

	fprintf(stderr, "crash: seed=%" PRIu64 " kills=%d orders=%d deliveries=%d"
	    " acknowledged=%d (orders %d) answered_5xx=%d no_answer=%d caught_up=%d"
	    " stored_events=%lld customers=%d counted=%lld max_meta_writes=%lld"
	    " meta_written_twice=%lld total=%.1f s\n", seed, kills, N_ORDERS,
	    N_DELIVERIES, acked_deliveries, acked_orders, answered_5xx,
	    N_DELIVERIES - acked_deliveries - answered_5xx, caught_up,
	    db("SELECT count(*) FROM events"), n_truth, counted, max_meta, twice,
	    seconds_since(&t0));
	/* Most deliveries must have gone through, or the test proved little. */
	ck_assert_int_ge(acked_orders, N_ORDERS * 3 / 4);
	json_decref(stats);
	free(truth);
	for (int i = 0; i < N_ORDERS; i++) {
		free(orders[i].body);
		free(orders[i].stale);
	}
}
END_TEST

/* ---- a disk that cannot grow ------------------------------------------- */

/*
 * A full disk without root: RLIMIT_FSIZE, inherited by the daemon through
 * fork and exec, makes every write past the limit fail with EFBIG, as
 * ENOSPC would (SIGXFSZ is ignored, and the ignored disposition survives
 * exec). The database file is already larger than the limit, so neither it
 * nor its WAL can grow: the first commit that needs room fails.
 */
START_TEST(full_disk_answers_503_and_acknowledges_nothing)
{
	json_t *o = NULL;
	char *body, path[64];
	struct rlimit saved, lim;
	struct stat sb;
	long long id, before, after;
	int ok = 0, refused = 0, other = 0;
	CURL *c;

	/* The store has one order; the daemon has seen nothing yet. */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/webhooks/pause",
	    "{\"mode\":\"drop\"}", NULL), 200);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders",
	    "{\"email\":\"disk@example.test\",\"items\":[{\"product_id\":12,"
	    "\"quantity\":1}],\"set_paid\":true}", &o), 201);
	id = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	o = NULL;
	snprintf(path, sizeof(path), "/_fake/orders/%lld", id);
	ck_assert_int_eq(fakewc_ctl(fw, "GET", path, NULL, &o), 200);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);

	/* A clean stop checkpoints and removes the WAL. */
	ck_assert_int_eq(th_daemon_stop(&d), 0);
	ck_assert_int_eq(stat(d.db_path, &sb), 0);
	ck_assert_int_gt(sb.st_size, 65536);

	(void)signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
	lim = saved;
	/* Room for the -shm index (32 KiB) and a few WAL frames, no more. */
	lim.rlim_cur = 40960;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ok = th_daemon_start(dir, conf, &d);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
	ck_assert_msg(ok == 0, "daemon did not start under the file size limit");

	/* Deliver until the disk is full, then on: every answer is 200 or 503. */
	before = db("SELECT count(*) FROM events");
	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	ok = 0;
	for (int i = 0; i < 40; i++) {
		char del[33];
		long status;
		snprintf(del, sizeof(del), "%032d", i);
		status = post(c, "order.updated", del, body, strlen(body));
		if (status == 200)
			ok++;
		else if (status == 503)
			refused++;
		else
			other++;
	}
	curl_easy_cleanup(c);
	after = db("SELECT count(*) FROM events");
	ck_assert_int_eq(other, 0);
	ck_assert_msg(refused > 0, "the disk never filled (%d accepted)", ok);
	/* Every 200 is a row; no 503 is. */
	ck_assert_int_eq(after - before, ok);

	/* Room again: a restart accepts deliveries and syncs the order. */
	th_daemon_kill9(&d);
	ck_assert_msg(th_daemon_start(dir, conf, &d) == 0, "no restart");
	c = curl_easy_init();
	ck_assert_int_eq(post(c, "order.updated", "ffffffffffffffffffffffffffffffff",
	    body, strlen(body)), 200);
	curl_easy_cleanup(c);
	ck_assert_int_eq(db("SELECT count(*) FROM events"), after + 1);
	settle(30000);
	ck_assert_int_eq(db("SELECT order_count FROM customers"), 1);
	fprintf(stderr, "crash: full disk: %d accepted, %d refused with 503\n", ok, refused);
	free(body);
}
END_TEST

static Suite *
crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("kill9");
	TCase *disk = tcase_create("full_disk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, kill9_during_a_faulty_burst_loses_and_doubles_nothing);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(disk, setup, teardown);
	tcase_set_timeout(disk, 60);
	tcase_add_test(disk, full_disk_answers_503_and_acknowledges_nothing);
	suite_add_tcase(s, disk);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_ALL);
	sr = srunner_create(crash_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
