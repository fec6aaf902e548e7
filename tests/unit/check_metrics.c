/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: the exact text of a known snapshot, label escaping, cumulative
 * histogram buckets, concurrent observation, the snapshot helpers, and a
 * format check of the Prometheus 0.0.4 text rules on every rendering.
 */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/intake.h"
#include "tracksies/metrics.h"
#include "tracksies/wc_client.h"
#include "tracksies/worker.h"

/* ---- a small validator of the text format ------------------------------ */

static int
is_name(const char *s, size_t n, int colon_ok)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' ||
	    (colon_ok && s[0] == ':')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    (colon_ok && s[i] == ':')))
			return 0;
	return 1;
}

static int
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/*
 * Check text against the exposition format: HELP then TYPE once per
 * family, before its samples; sample names of the family just typed
 * (histograms: _bucket, _sum, _count); counters named *_total; label
 * names valid and values quoted with only \\ \" \n escapes; numeric
 * values; histogram buckets ascending in le, cumulative, ending in +Inf
 * equal to _count. Returns NULL or a message (static).
 */
static const char *
validate(const char *text)
{
	static char why[256];
	char family[128] = "", type[16] = "";
	char seen[64][128];
	int n_seen = 0;
	double last_le = -1, last_bucket = -1, inf_bucket = -1;
	const char *line = text;
	int lineno = 0;

	if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
		return "text does not end with a line feed";
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = (size_t)(nl - line);
		char buf[1024];

		lineno++;
		if (len >= sizeof(buf))
			return "line too long";
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = nl + 1;
		if (strncmp(buf, "# HELP ", 7) == 0) {
			char *sp = strchr(buf + 7, ' ');
			if (sp == NULL || !is_name(buf + 7, (size_t)(sp - buf - 7), 1))
				goto bad;
			snprintf(family, sizeof(family), "%.*s", (int)(sp - buf - 7), buf + 7);
			for (int i = 0; i < n_seen; i++)
				if (strcmp(seen[i], family) == 0)
					goto bad;
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", family);
			type[0] = '\0';
			continue;
		}
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			char name[128];
			if (sscanf(buf + 7, "%127s %15s", name, type) != 2 ||
			    strcmp(name, family) != 0 || (strcmp(type, "counter") != 0 &&
			    strcmp(type, "gauge") != 0 && strcmp(type, "histogram") != 0))
				goto bad;
			if (strcmp(type, "counter") == 0 &&
			    !ends_with(family, strlen(family), "_total"))
				goto bad;
			last_le = last_bucket = inf_bucket = -1;
			continue;
		}
		if (buf[0] == '#' || type[0] == '\0')
			goto bad;
		{
			char *p = buf, *end;
			size_t nlen = strcspn(p, "{ ");
			char le[32] = "";
			double v;
			int is_bucket = 0;

			if (!is_name(p, nlen, 1))
				goto bad;
			if (strcmp(type, "histogram") == 0) {
				size_t fl = strlen(family);
				if (nlen <= fl || strncmp(p, family, fl) != 0)
					goto bad;
				if (nlen - fl == 7 && strncmp(p + fl, "_bucket", 7) == 0)
					is_bucket = 1;
				else if (!(nlen - fl == 4 && strncmp(p + fl, "_sum", 4) == 0) &&
				    !(nlen - fl == 6 && strncmp(p + fl, "_count", 6) == 0))
					goto bad;
			} else if (nlen != strlen(family) || strncmp(p, family, nlen) != 0) {
				goto bad;
			}
			p += nlen;
			if (*p == '{') {
				p++;
				while (*p != '}') {
					size_t ln = strcspn(p, "=");
					char lname[64] = "", *val = NULL;
					if (!is_name(p, ln, 0) || p[ln] != '=' || p[ln + 1] != '"')
						goto bad;
					snprintf(lname, sizeof(lname), "%.*s", (int)ln, p);
					p += ln + 2;
					val = p;
					while (*p != '"') {
						if (*p == '\0' || *p == '\n')
							goto bad;
						if (*p == '\\') {
							if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
								goto bad;
							p++;
						}
						p++;
					}
					if (strcmp(lname, "le") == 0)
						snprintf(le, sizeof(le), "%.*s", (int)(p - val), val);
					p++;
					if (*p == ',')
						p++;
					else if (*p != '}')
						goto bad;
				}
				p++;
			}
			if (*p != ' ')
				goto bad;
			p++;
			if (strcmp(p, "+Inf") == 0)
				v = INFINITY;
			else {
				v = strtod(p, &end);
				if (end == p || *end != '\0')
					goto bad;
			}
			if (is_bucket) {
				double b = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, &end);
				if (le[0] == '\0' || b <= last_le || v < last_bucket)
					goto bad;
				last_le = b;
				last_bucket = v;
				if (isinf(b))
					inf_bucket = v;
			} else if (strcmp(type, "histogram") == 0 &&
			    ends_with(buf, nlen, "_count") && v != inf_bucket) {
				goto bad;
			}
		}
	}
	return NULL;
bad:
	snprintf(why, sizeof(why), "line %d is not valid exposition text", lineno);
	return why;
}

/* ---- fixtures ----------------------------------------------------------- */

static struct metrics_histogram hist;

static void
known_snapshot(struct metrics_snapshot *s)
{
	static const struct metrics_code_count failed[] = {
		{ "no_billing_email", 3 }, { "order_not_found", 1 },
	};
	static const struct metrics_rest_count rest[] = {
		{ "orders", "ok", 120 }, { "orders", "transient", 4 },
		{ "orders_batch", "ok", 7 },
	};
	static const struct metrics_webhook hooks[] = {
		{ "order.created", "active" }, { "order.updated", "disabled" },
	};

	memset(s, 0, sizeof(*s));
	s->version = "0.1.0";
	s->start_time = 1767225600;
	for (int i = 0; i < METRICS_OUTCOME_COUNT; i++)
		s->deliveries[i] = (uint64_t)(i + 1) * 10;
	s->queue_depth = 42;
	s->oldest_pending_age_s = 17;
	s->events_failed = 2;
	s->orders_synced = 1000;
	s->orders_failed = 4;
	s->meta_writes = 990;
	s->worker_running = true;
	s->worker_paused = false;
	s->store_reachable = true;
	s->last_sync_at = 1767229200;
	s->failed_by_code = failed;
	s->n_failed_by_code = 2;
	s->rest = rest;
	s->n_rest = 3;
	metrics_histogram_init(&hist);
	metrics_histogram_observe(&hist, 0.05);
	metrics_histogram_observe(&hist, 0.1);
	metrics_histogram_observe(&hist, 0.3);
	metrics_histogram_observe(&hist, 7);
	metrics_histogram_observe(&hist, 120);
	s->sync_latency = &hist;
	s->has_reconciler = true;
	s->reconciler_lag_s = 95;
	s->webhooks = hooks;
	s->n_webhooks = 2;
}

static const char expected[] =
    "# HELP tracksies_build_info The version of tracksiesd running; always 1.\n"
    "# TYPE tracksies_build_info gauge\n"
    "tracksies_build_info{version=\"0.1.0\"} 1\n"
    "# HELP tracksies_start_time_seconds Unix time the daemon started.\n"
    "# TYPE tracksies_start_time_seconds gauge\n"
    "tracksies_start_time_seconds 1767225600\n"
    "# HELP tracksies_webhook_deliveries_total Requests to the webhook listener since start, by outcome.\n"
    "# TYPE tracksies_webhook_deliveries_total counter\n"
    "tracksies_webhook_deliveries_total{outcome=\"queued\"} 10\n"
    "tracksies_webhook_deliveries_total{outcome=\"malformed\"} 20\n"
    "tracksies_webhook_deliveries_total{outcome=\"ping\"} 30\n"
    "tracksies_webhook_deliveries_total{outcome=\"ignored_topic\"} 40\n"
    "tracksies_webhook_deliveries_total{outcome=\"unsigned\"} 50\n"
    "tracksies_webhook_deliveries_total{outcome=\"bad_signature\"} 60\n"
    "tracksies_webhook_deliveries_total{outcome=\"too_large\"} 70\n"
    "tracksies_webhook_deliveries_total{outcome=\"storage_failed\"} 80\n"
    "tracksies_webhook_deliveries_total{outcome=\"not_found\"} 90\n"
    "tracksies_webhook_deliveries_total{outcome=\"method_not_allowed\"} 100\n"
    "# HELP tracksies_queue_depth Events waiting to be synced.\n"
    "# TYPE tracksies_queue_depth gauge\n"
    "tracksies_queue_depth 42\n"
    "# HELP tracksies_queue_oldest_pending_age_seconds Age of the oldest pending event; 0 when none.\n"
    "# TYPE tracksies_queue_oldest_pending_age_seconds gauge\n"
    "tracksies_queue_oldest_pending_age_seconds 17\n"
    "# HELP tracksies_queue_failed_events Events that will never be synced (malformed payloads).\n"
    "# TYPE tracksies_queue_failed_events gauge\n"
    "tracksies_queue_failed_events 2\n"
    "# HELP tracksies_orders_synced_total Orders synced since start.\n"
    "# TYPE tracksies_orders_synced_total counter\n"
    "tracksies_orders_synced_total 1000\n"
    "# HELP tracksies_orders_failed_total Orders whose sync ended in a terminal error since start.\n"
    "# TYPE tracksies_orders_failed_total counter\n"
    "tracksies_orders_failed_total 4\n"
    "# HELP tracksies_orders_failed Orders whose last sync ended in a terminal error, by error code.\n"
    "# TYPE tracksies_orders_failed gauge\n"
    "tracksies_orders_failed{code=\"no_billing_email\"} 3\n"
    "tracksies_orders_failed{code=\"order_not_found\"} 1\n"
    "# HELP tracksies_meta_writes_total Orders whose _tracksies_* meta was written back since start.\n"
    "# TYPE tracksies_meta_writes_total counter\n"
    "tracksies_meta_writes_total 990\n"
    "# HELP tracksies_rest_requests_total WooCommerce REST requests since start, by endpoint and status class.\n"
    "# TYPE tracksies_rest_requests_total counter\n"
    "tracksies_rest_requests_total{endpoint=\"orders\",status=\"ok\"} 120\n"
    "tracksies_rest_requests_total{endpoint=\"orders\",status=\"transient\"} 4\n"
    "tracksies_rest_requests_total{endpoint=\"orders_batch\",status=\"ok\"} 7\n"
    "# HELP tracksies_sync_latency_seconds Seconds from an event's receipt to the sync of its order.\n"
    "# TYPE tracksies_sync_latency_seconds histogram\n"
    "tracksies_sync_latency_seconds_bucket{le=\"0.1\"} 2\n"
    "tracksies_sync_latency_seconds_bucket{le=\"0.25\"} 2\n"
    "tracksies_sync_latency_seconds_bucket{le=\"0.5\"} 3\n"
    "tracksies_sync_latency_seconds_bucket{le=\"1\"} 3\n"
    "tracksies_sync_latency_seconds_bucket{le=\"2.5\"} 3\n"
    "tracksies_sync_latency_seconds_bucket{le=\"5\"} 3\n"
    "tracksies_sync_latency_seconds_bucket{le=\"10\"} 4\n"
    "tracksies_sync_latency_seconds_bucket{le=\"30\"} 4\n"
    "tracksies_sync_latency_seconds_bucket{le=\"60\"} 4\n"
    "tracksies_sync_latency_seconds_bucket{le=\"+Inf\"} 5\n"
    "tracksies_sync_latency_seconds_sum 127.450000\n"
    "tracksies_sync_latency_seconds_count 5\n"
    "# HELP tracksies_reconciler_lag_seconds Seconds since the reconciler's modified_after watermark.\n"
    "# TYPE tracksies_reconciler_lag_seconds gauge\n"
    "tracksies_reconciler_lag_seconds 95\n"
    "# HELP tracksies_webhook_health The store's webhooks by topic and status; 1 per webhook.\n"
    "# TYPE tracksies_webhook_health gauge\n"
    "tracksies_webhook_health{topic=\"order.created\",status=\"active\"} 1\n"
    "tracksies_webhook_health{topic=\"order.updated\",status=\"disabled\"} 1\n"
    "# HELP tracksies_worker_running 1 while the worker thread turns its loop.\n"
    "# TYPE tracksies_worker_running gauge\n"
    "tracksies_worker_running 1\n"
    "# HELP tracksies_worker_paused 1 while the worker is paused because the store refuses its keys.\n"
    "# TYPE tracksies_worker_paused gauge\n"
    "tracksies_worker_paused 0\n"
    "# HELP tracksies_store_reachable 1 when the last request to the store got an answer.\n"
    "# TYPE tracksies_store_reachable gauge\n"
    "tracksies_store_reachable 1\n"
    "# HELP tracksies_last_sync_timestamp_seconds Unix time of the last order synced; 0 when none since start.\n"
    "# TYPE tracksies_last_sync_timestamp_seconds gauge\n"
    "tracksies_last_sync_timestamp_seconds 1767229200\n";

/* ---- tests ---------------------------------------------------------------- */

START_TEST(a_known_snapshot_renders_exactly)
{
	struct metrics_snapshot s;
	char *text = NULL;
	const char *why;

	known_snapshot(&s);
	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	ck_assert_str_eq(text, expected);
	why = validate(text);
	ck_assert_msg(why == NULL, "%s", why);
	free(text);
}
END_TEST

START_TEST(an_empty_snapshot_still_shows_every_family)
{
	struct metrics_snapshot s = { 0 };
	char *text = NULL;
	const char *why;

	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	why = validate(text);
	ck_assert_msg(why == NULL, "%s\n%s", why, text);
	ck_assert_ptr_nonnull(strstr(text, "tracksies_build_info{version=\"\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "tracksies_webhook_deliveries_total{outcome=\"storage_failed\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE tracksies_orders_failed gauge\n"
	    "# HELP tracksies_meta_writes_total"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE tracksies_webhook_health gauge\n"
	    "# HELP tracksies_worker_running"));
	/* Unknown parts are left out rather than shown as zero. */
	ck_assert_ptr_null(strstr(text, "tracksies_start_time_seconds"));
	ck_assert_ptr_null(strstr(text, "tracksies_reconciler_lag_seconds"));
	ck_assert_ptr_null(strstr(text, "tracksies_sync_latency_seconds"));
	free(text);
}
END_TEST

START_TEST(label_values_are_escaped)
{
	static const struct metrics_code_count codes[] = {
		{ "back\\slash \"quoted\"\nnext line", 1 }, { NULL, 2 },
		{ "caf\xc3\xa9", 3 },
	};
	static const struct metrics_webhook hooks[] = { { "a\"b", "c\\" } };
	struct metrics_snapshot s = { 0 };
	char *text = NULL;
	const char *why;

	s.version = "1.0 \"beta\"";
	s.failed_by_code = codes;
	s.n_failed_by_code = 3;
	s.webhooks = hooks;
	s.n_webhooks = 1;
	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	ck_assert_ptr_nonnull(strstr(text,
	    "\ntracksies_orders_failed{code=\"back\\\\slash \\\"quoted\\\"\\nnext line\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ntracksies_orders_failed{code=\"\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ntracksies_orders_failed{code=\"caf\xc3\xa9\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\ntracksies_webhook_health{topic=\"a\\\"b\",status=\"c\\\\\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "tracksies_build_info{version=\"1.0 \\\"beta\\\"\"} 1\n"));
	why = validate(text);
	ck_assert_msg(why == NULL, "%s", why);
	free(text);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative_with_inclusive_bounds)
{
	static const double obs[] = { 0, 0.1, 0.1000004, 0.1000006, 0.25, 0.5, 0.99,
		1, 2.5, 4.9, 5, 10, 29, 30, 60, 60.5, 1e9, 1e300, -3, NAN, INFINITY };
	static const char *const want[] = {
		"tracksies_sync_latency_seconds_bucket{le=\"0.1\"} 5\n",   /* 0 0.1 0.1000004 -3 NaN */
		"tracksies_sync_latency_seconds_bucket{le=\"0.25\"} 7\n",  /* 0.1000006 0.25 */
		"tracksies_sync_latency_seconds_bucket{le=\"0.5\"} 8\n",
		"tracksies_sync_latency_seconds_bucket{le=\"1\"} 10\n",
		"tracksies_sync_latency_seconds_bucket{le=\"2.5\"} 11\n",
		"tracksies_sync_latency_seconds_bucket{le=\"5\"} 13\n",
		"tracksies_sync_latency_seconds_bucket{le=\"10\"} 14\n",
		"tracksies_sync_latency_seconds_bucket{le=\"30\"} 16\n",
		"tracksies_sync_latency_seconds_bucket{le=\"60\"} 17\n",
		"tracksies_sync_latency_seconds_bucket{le=\"+Inf\"} 21\n",
		"tracksies_sync_latency_seconds_count 21\n",
	};
	struct metrics_histogram h;
	struct metrics_snapshot s = { 0 };
	char *text = NULL;
	const char *why;

	metrics_histogram_init(&h);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		metrics_histogram_observe(&h, obs[i]);
	s.sync_latency = &h;
	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(text, want[i]) != NULL, "missing %s", want[i]);
	why = validate(text);
	ck_assert_msg(why == NULL, "%s", why);
	free(text);
}
END_TEST

#define OBS_THREADS 4
#define OBS_EACH 100000

static void *
observer(void *arg)
{
	struct metrics_histogram *h = arg;

	for (int i = 0; i < OBS_EACH; i++)
		metrics_histogram_observe(h, (i % 4) * 0.5);	/* 0, 0.5, 1, 1.5 */
	return NULL;
}

START_TEST(concurrent_observations_are_all_counted)
{
	struct metrics_histogram h;
	struct metrics_snapshot s = { 0 };
	pthread_t th[OBS_THREADS];
	char *text = NULL, want[128];

	metrics_histogram_init(&h);
	for (int i = 0; i < OBS_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, observer, &h), 0);
	/* Rendering while observing keeps buckets monotonic and +Inf == count. */
	for (int r = 0; r < 50; r++) {
		const char *why;
		s.sync_latency = &h;
		ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
		why = validate(text);
		ck_assert_msg(why == NULL, "%s", why);
		free(text);
	}
	for (int i = 0; i < OBS_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	snprintf(want, sizeof(want), "tracksies_sync_latency_seconds_count %d\n",
	    OBS_THREADS * OBS_EACH);
	ck_assert_ptr_nonnull(strstr(text, want));
	/* Each thread: 25,000 each of 0, 0.5, 1 and 1.5 s: 75,000 s. */
	ck_assert_ptr_nonnull(strstr(text, "tracksies_sync_latency_seconds_sum 300000.000000\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "tracksies_sync_latency_seconds_bucket{le=\"0.5\"} 200000\n"));
	free(text);
}
END_TEST

START_TEST(snapshot_helpers_copy_intake_worker_and_rest_counts)
{
	struct intake_counters c;
	struct worker_status w = { 0 };
	struct wc_client_stats st = { 10, 6, 2, 1, 1, 0 };
	struct metrics_rest_count rest[5];
	struct metrics_snapshot s = { 0 };

	memset(&c, 0, sizeof(c));
	atomic_store(&c.by_verdict[WEBHOOK_QUEUE], 7);
	atomic_store(&c.by_verdict[WEBHOOK_MALFORMED], 1);
	atomic_store(&c.by_verdict[WEBHOOK_PING], 2);
	atomic_store(&c.by_verdict[WEBHOOK_IGNORED], 3);
	atomic_store(&c.by_verdict[WEBHOOK_UNSIGNED], 4);
	atomic_store(&c.by_verdict[WEBHOOK_BAD_SIGNATURE], 5);
	atomic_store(&c.too_large, 6);
	atomic_store(&c.storage_failed, 8);
	atomic_store(&c.not_found, 9);
	atomic_store(&c.bad_method, 11);
	metrics_snapshot_set_intake(&s, &c);
	ck_assert_uint_eq(s.deliveries[METRICS_QUEUED], 7);
	ck_assert_uint_eq(s.deliveries[METRICS_MALFORMED], 1);
	ck_assert_uint_eq(s.deliveries[METRICS_PING], 2);
	ck_assert_uint_eq(s.deliveries[METRICS_IGNORED_TOPIC], 3);
	ck_assert_uint_eq(s.deliveries[METRICS_UNSIGNED], 4);
	ck_assert_uint_eq(s.deliveries[METRICS_BAD_SIGNATURE], 5);
	ck_assert_uint_eq(s.deliveries[METRICS_TOO_LARGE], 6);
	ck_assert_uint_eq(s.deliveries[METRICS_STORAGE_FAILED], 8);
	ck_assert_uint_eq(s.deliveries[METRICS_NOT_FOUND], 9);
	ck_assert_uint_eq(s.deliveries[METRICS_METHOD_NOT_ALLOWED], 11);

	w.running = true;
	w.paused_auth = true;
	w.store_reachable = false;
	w.last_sync_at = 1234;
	w.orders_synced = 50;
	w.orders_failed = 2;
	w.meta_writes = 48;
	metrics_snapshot_set_worker(&s, &w);
	ck_assert(s.worker_running && s.worker_paused && !s.store_reachable);
	ck_assert_int_eq(s.last_sync_at, 1234);
	ck_assert_uint_eq(s.orders_synced, 50);
	ck_assert_uint_eq(s.orders_failed, 2);
	ck_assert_uint_eq(s.meta_writes, 48);

	ck_assert_uint_eq(metrics_rest_from_stats(&st, "all", rest), 5);
	ck_assert_str_eq(rest[0].status, "ok");
	ck_assert_uint_eq(rest[0].count, 6);
	ck_assert_str_eq(rest[1].status, "transient");
	ck_assert_uint_eq(rest[1].count, 2);
	ck_assert_str_eq(rest[3].status, "not_found");
	ck_assert_str_eq(rest[4].endpoint, "all");

	ck_assert_str_eq(metrics_outcome_name(METRICS_IGNORED_TOPIC), "ignored_topic");
	ck_assert_ptr_null(metrics_outcome_name(METRICS_OUTCOME_COUNT));
}
END_TEST

START_TEST(text_over_the_cap_is_refused)
{
	static char endpoint[200];
	struct metrics_rest_count *rest = calloc(40000, sizeof(*rest));
	struct metrics_snapshot s = { 0 };
	char *text = (char *)1;

	ck_assert_ptr_nonnull(rest);
	memset(endpoint, 'e', sizeof(endpoint) - 1);
	for (int i = 0; i < 40000; i++)
		rest[i] = (struct metrics_rest_count){ endpoint, "ok", 1 };
	s.rest = rest;
	s.n_rest = 40000;		/* ~9 MB of text */
	ck_assert_int_eq(metrics_render(&s, &text), TS_ERR_INVALID);
	ck_assert_ptr_null(text);
	s.n_rest = 1000;		/* ~0.25 MB */
	ck_assert_int_eq(metrics_render(&s, &text), TS_OK);
	ck_assert_ptr_nonnull(text);
	free(text);
	free(rest);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_test(tc, a_known_snapshot_renders_exactly);
	tcase_add_test(tc, an_empty_snapshot_still_shows_every_family);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, text_over_the_cap_is_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("histogram");
	tcase_add_test(tc, histogram_buckets_are_cumulative_with_inclusive_bounds);
	tcase_add_test(tc, concurrent_observations_are_all_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("snapshot");
	tcase_add_test(tc, snapshot_helpers_copy_intake_worker_and_rest_counts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
