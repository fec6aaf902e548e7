/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4) of a metrics_snapshot, and the
 * lock-free sync latency histogram. Gathering the snapshot and serving it
 * are the admin listener's; this file only turns numbers into text.
 */
#include "tracksies/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/intake.h"
#include "tracksies/wc_client.h"
#include "tracksies/worker.h"

static const char *const outcome_names[METRICS_OUTCOME_COUNT] = {
	[METRICS_QUEUED] = "queued",
	[METRICS_MALFORMED] = "malformed",
	[METRICS_PING] = "ping",
	[METRICS_IGNORED_TOPIC] = "ignored_topic",
	[METRICS_UNSIGNED] = "unsigned",
	[METRICS_BAD_SIGNATURE] = "bad_signature",
	[METRICS_TOO_LARGE] = "too_large",
	[METRICS_STORAGE_FAILED] = "storage_failed",
	[METRICS_NOT_FOUND] = "not_found",
	[METRICS_METHOD_NOT_ALLOWED] = "method_not_allowed",
};

/*
 * Upper bounds in microseconds, and as Prometheus prints them. Comparing
 * integers keeps an observation of exactly 0.1 s in the 0.1 bucket, which
 * a double comparison against 0.1 would not guarantee.
 */
static const uint64_t bound_us[METRICS_LATENCY_BUCKETS - 1] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	30000000, 60000000,
};
static const char *const bound_le[METRICS_LATENCY_BUCKETS] = {
	"0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf",
};

/* Ten years: past this a latency is a clock error, and the sum must not wrap. */
#define MAX_OBSERVED_US (10ULL * 365 * 86400 * 1000000)

const char *
metrics_outcome_name(enum metrics_outcome o)
{
	if ((unsigned)o >= METRICS_OUTCOME_COUNT)
		return NULL;
	return outcome_names[o];
}

void
metrics_histogram_init(struct metrics_histogram *h)
{
	for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++)
		atomic_init(&h->bucket[i], 0);
	atomic_init(&h->sum_us, 0);
}

void
metrics_histogram_observe(struct metrics_histogram *h, double seconds)
{
	uint64_t us;
	size_t i;

	if (!(seconds > 0))		/* negative, zero or NaN */
		us = 0;
	else if (seconds >= (double)MAX_OBSERVED_US / 1e6)
		us = MAX_OBSERVED_US;
	else
		us = (uint64_t)(seconds * 1e6 + 0.5);
	for (i = 0; i < METRICS_LATENCY_BUCKETS - 1 && us > bound_us[i]; i++)
		;
	/* Relaxed: each field is a counter on its own; no ordering is promised. */
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
metrics_snapshot_set_intake(struct metrics_snapshot *s,
    const struct intake_counters *c)
{
	static const struct {
		enum webhook_verdict verdict;
		enum metrics_outcome outcome;
	} map[] = {
		{ WEBHOOK_QUEUE, METRICS_QUEUED },
		{ WEBHOOK_MALFORMED, METRICS_MALFORMED },
		{ WEBHOOK_PING, METRICS_PING },
		{ WEBHOOK_IGNORED, METRICS_IGNORED_TOPIC },
		{ WEBHOOK_UNSIGNED, METRICS_UNSIGNED },
		{ WEBHOOK_BAD_SIGNATURE, METRICS_BAD_SIGNATURE },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		s->deliveries[map[i].outcome] = atomic_load(&c->by_verdict[map[i].verdict]);
	s->deliveries[METRICS_TOO_LARGE] = atomic_load(&c->too_large);
	s->deliveries[METRICS_STORAGE_FAILED] = atomic_load(&c->storage_failed);
	s->deliveries[METRICS_NOT_FOUND] = atomic_load(&c->not_found);
	s->deliveries[METRICS_METHOD_NOT_ALLOWED] = atomic_load(&c->bad_method);
}

void
metrics_snapshot_set_worker(struct metrics_snapshot *s,
    const struct worker_status *w)
{
	s->orders_synced = w->orders_synced;
	s->orders_failed = w->orders_failed;
	s->meta_writes = w->meta_writes;
	s->worker_running = w->running;
	s->worker_paused = w->paused_auth;
	s->store_reachable = w->store_reachable;
	s->last_sync_at = w->last_sync_at;
}

size_t
metrics_rest_from_stats(const struct wc_client_stats *st, const char *endpoint,
    struct metrics_rest_count out[5])
{
	out[0] = (struct metrics_rest_count){ endpoint, "ok", st->ok };
	out[1] = (struct metrics_rest_count){ endpoint, "transient", st->transient };
	out[2] = (struct metrics_rest_count){ endpoint, "auth", st->auth };
	out[3] = (struct metrics_rest_count){ endpoint, "not_found", st->notfound };
	out[4] = (struct metrics_rest_count){ endpoint, "invalid", st->invalid };
	return 5;
}

/* ---- text ---------------------------------------------------------------- */

/* A growable buffer that stops for good at the first failure (curl's toobig). */
struct text {
	char *p;
	size_t len, cap;
	enum ts_rc rc;
};

static void
grow(struct text *t, size_t need)
{
	size_t cap = t->cap != 0 ? t->cap : 4096;
	char *p;

	if (t->rc != TS_OK)
		return;
	if (need > METRICS_MAX_BYTES) {
		t->rc = TS_ERR_INVALID;
		return;
	}
	while (cap < need)
		cap *= 2;
	if (cap > METRICS_MAX_BYTES)
		cap = METRICS_MAX_BYTES;
	if ((p = realloc(t->p, cap)) == NULL) {
		t->rc = TS_ERR_NOMEM;
		return;
	}
	t->p = p;
	t->cap = cap;
}

static void
put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap)
		grow(t, t->len + n + 1);
	if (t->rc != TS_OK)
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void
putf(struct text *t, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	/* Every format here prints a name and numbers: it always fits. */
	if (n < 0 || (size_t)n >= sizeof(small)) {
		if (t->rc == TS_OK)
			t->rc = TS_ERR_INVALID;
		return;
	}
	put(t, small, (size_t)n);
}

/*
 * A label value as the format wants it: backslash, double quote and line
 * feed escaped; everything else as is (the format is UTF-8 text). NULL is
 * the empty value.
 */
static void
put_label_value(struct text *t, const char *v)
{
	const char *run = v != NULL ? v : "";

	for (const char *p = run; ; p++) {
		const char *esc = NULL;

		if (*p == '\\')
			esc = "\\\\";
		else if (*p == '"')
			esc = "\\\"";
		else if (*p == '\n')
			esc = "\\n";
		else if (*p != '\0')
			continue;
		put(t, run, (size_t)(p - run));
		if (esc == NULL)
			break;
		puts_(t, esc);
		run = p + 1;
	}
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	/* HELP texts are ours, static, and hold no backslash or line feed. */
	putf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample_u64(struct text *t, const char *name, uint64_t v)
{
	putf(t, "%s %" PRIu64 "\n", name, v);
}

static void
sample_i64(struct text *t, const char *name, int64_t v)
{
	putf(t, "%s %" PRId64 "\n", name, v);
}

/* name{k1="v1"[,k2="v2"]} value */
static void
sample_labels(struct text *t, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, uint64_t value)
{
	putf(t, "%s{%s=\"", name, k1);
	put_label_value(t, v1);
	if (k2 != NULL) {
		putf(t, "\",%s=\"", k2);
		put_label_value(t, v2);
	}
	putf(t, "\"} %" PRIu64 "\n", value);
}

static void
render_histogram(struct text *t, const char *name,
    const struct metrics_histogram *h)
{
	uint64_t cumulative = 0, sum_us;

	for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		/*
		 * Bucket by bucket while others observe: the total is the
		 * sum of what was read, so +Inf and _count always agree and
		 * buckets never decrease, even if _sum is a step ahead.
		 */
		cumulative += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		putf(t, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, bound_le[i],
		    cumulative);
	}
	sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
	putf(t, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name, sum_us / 1000000,
	    sum_us % 1000000);
	putf(t, "%s_count %" PRIu64 "\n", name, cumulative);
}

enum ts_rc
metrics_render(const struct metrics_snapshot *s, char **out)
{
	struct text t = { .rc = TS_OK };
	const char *n;

	*out = NULL;
	grow(&t, 1);
	if (t.rc != TS_OK)
		return t.rc;
	t.p[0] = '\0';

	n = "tracksies_build_info";
	family(&t, n, "gauge", "The version of tracksiesd running; always 1.");
	sample_labels(&t, n, "version", s->version, NULL, NULL, 1);
	if (s->start_time > 0) {
		n = "tracksies_start_time_seconds";
		family(&t, n, "gauge", "Unix time the daemon started.");
		sample_i64(&t, n, s->start_time);
	}

	n = "tracksies_webhook_deliveries_total";
	family(&t, n, "counter", "Requests to the webhook listener since start, by outcome.");
	for (size_t i = 0; i < METRICS_OUTCOME_COUNT; i++)
		sample_labels(&t, n, "outcome", outcome_names[i], NULL, NULL,
		    s->deliveries[i]);

	n = "tracksies_queue_depth";
	family(&t, n, "gauge", "Events waiting to be synced.");
	sample_u64(&t, n, s->queue_depth);
	n = "tracksies_queue_oldest_pending_age_seconds";
	family(&t, n, "gauge", "Age of the oldest pending event; 0 when none.");
	sample_i64(&t, n, s->oldest_pending_age_s > 0 ? s->oldest_pending_age_s : 0);
	n = "tracksies_queue_failed_events";
	family(&t, n, "gauge", "Events that will never be synced (malformed payloads).");
	sample_u64(&t, n, s->events_failed);

	n = "tracksies_orders_synced_total";
	family(&t, n, "counter", "Orders synced since start.");
	sample_u64(&t, n, s->orders_synced);
	n = "tracksies_orders_failed_total";
	family(&t, n, "counter", "Orders whose sync ended in a terminal error since start.");
	sample_u64(&t, n, s->orders_failed);
	n = "tracksies_orders_failed";
	family(&t, n, "gauge", "Orders whose last sync ended in a terminal error, by error code.");
	for (size_t i = 0; i < s->n_failed_by_code; i++)
		sample_labels(&t, n, "code", s->failed_by_code[i].code, NULL, NULL,
		    s->failed_by_code[i].count);
	n = "tracksies_meta_writes_total";
	family(&t, n, "counter", "Orders whose _tracksies_* meta was written back since start.");
	sample_u64(&t, n, s->meta_writes);

	n = "tracksies_rest_requests_total";
	family(&t, n, "counter", "WooCommerce REST requests since start, by endpoint and status class.");
	for (size_t i = 0; i < s->n_rest; i++)
		sample_labels(&t, n, "endpoint", s->rest[i].endpoint, "status",
		    s->rest[i].status, s->rest[i].count);

	if (s->sync_latency != NULL) {
		n = "tracksies_sync_latency_seconds";
		family(&t, n, "histogram", "Seconds from an event's receipt to the sync of its order.");
		render_histogram(&t, n, s->sync_latency);
	}

	if (s->has_reconciler) {
		n = "tracksies_reconciler_lag_seconds";
		family(&t, n, "gauge", "Seconds since the reconciler's modified_after watermark.");
		sample_i64(&t, n, s->reconciler_lag_s > 0 ? s->reconciler_lag_s : 0);
	}
	n = "tracksies_webhook_health";
	family(&t, n, "gauge", "The store's webhooks by topic and status; 1 per webhook.");
	for (size_t i = 0; i < s->n_webhooks; i++)
		sample_labels(&t, n, "topic", s->webhooks[i].topic, "status",
		    s->webhooks[i].status, 1);

	n = "tracksies_worker_running";
	family(&t, n, "gauge", "1 while the worker thread turns its loop.");
	sample_u64(&t, n, s->worker_running);
	n = "tracksies_worker_paused";
	family(&t, n, "gauge", "1 while the worker is paused because the store refuses its keys.");
	sample_u64(&t, n, s->worker_paused);
	n = "tracksies_store_reachable";
	family(&t, n, "gauge", "1 when the last request to the store got an answer.");
	sample_u64(&t, n, s->store_reachable);
	n = "tracksies_last_sync_timestamp_seconds";
	family(&t, n, "gauge", "Unix time of the last order synced; 0 when none since start.");
	sample_i64(&t, n, s->last_sync_at > 0 ? s->last_sync_at : 0);

	if (t.rc != TS_OK) {
		free(t.p);
		return t.rc;
	}
	*out = t.p;
	return TS_OK;
}
