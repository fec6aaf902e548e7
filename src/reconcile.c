/* SPDX-License-Identifier: MIT */
/*
 * The reconciler thread and `--register-webhooks` (see reconcile.h). It
 * finds work and queues it; the worker does it. Its REST client makes one
 * request at a time: reconciliation is background work and must not take
 * the store's PHP workers from the sync.
 */
#include "tracksies/reconcile.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "tracksies/db.h"
#include "tracksies/log.h"
#include "tracksies/money.h"
#include "tracksies/queue.h"
#include "tracksies/wc_client.h"
#include "tracksies/wc_order.h"

#define OVERLAP_S 120		/* re-read what changed just before the watermark */
#define STEP 99			/* pages of 100 overlapping by one order */
#define FIRST_RUN_S 3		/* after start: let the worker settle in first */

const char *const reconcile_topics[] = {
	"order.created", "order.updated", "order.deleted", "order.restored",
	"action.woocommerce_payment_complete",
};
const int reconcile_n_topics = 5;

struct reconciler {
	const struct config *cfg;
	struct queue *queue;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	atomic_bool stop;
	struct reconcile_status status;		/* guarded by lock */
	struct db *db;				/* reconciler thread only */
	struct wc_client *wc;			/* reconciler thread only */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Integer state in the kv table (db_kv_get/db_kv_set). */
static int64_t
kv_int(struct db *db, const char *key, int64_t def)
{
	char buf[32];

	return db_kv_get(db, key, buf, sizeof(buf)) == TS_OK ? strtoll(buf, NULL, 10) : def;
}

static void
kv_put_int(struct db *db, const char *key, int64_t v)
{
	char buf[32];

	(void)snprintf(buf, sizeof(buf), "%" PRId64, v);
	(void)db_kv_set(db, key, buf);
}

/* ---- webhook health ---- */

static json_t *
find_webhook(json_t *list, const char *url, const char *topic)
{
	size_t i;
	json_t *h;

	json_array_foreach(list, i, h) {
		const char *u = json_string_value(json_object_get(h, "delivery_url"));
		const char *t = json_string_value(json_object_get(h, "topic"));
		if (u != NULL && t != NULL && strcmp(u, url) == 0 && strcmp(t, topic) == 0)
			return h;
	}
	return NULL;
}

static enum ts_rc
list_webhooks(struct wc_client *wc, json_t **out)
{
	struct wc_call *c = wc_call_new(WC_GET, "/webhooks?per_page=100", NULL);
	enum ts_rc rc;

	*out = NULL;
	if (c == NULL)
		return TS_ERR_NOMEM;
	if ((rc = wc_client_perform(wc, c)) == TS_OK && json_is_array(c->response))
		*out = json_incref(c->response);
	else if (rc == TS_OK)
		rc = TS_ERR_INVALID;
	wc_call_free(c);
	return rc;
}

static enum ts_rc
activate_webhook(struct wc_client *wc, json_int_t id)
{
	char path[64];
	struct wc_call *c;
	enum ts_rc rc;

	(void)snprintf(path, sizeof(path), "/webhooks/%lld", (long long)id);
	if ((c = wc_call_new(WC_PUT, path, json_pack("{s:s}", "status", "active"))) == NULL)
		return TS_ERR_NOMEM;
	rc = wc_client_perform(wc, c);
	wc_call_free(c);
	return rc;
}

static void
check_webhooks(struct reconciler *r, bool *checked, bool *ok)
{
	const char *url = r->cfg->public_url;
	json_t *list = NULL, *health = json_object(), *topics = json_object();
	char *text;
	enum ts_rc rc;

	*checked = false;
	*ok = false;
	if (url == NULL)
		goto out;
	if ((rc = list_webhooks(r->wc, &list)) != TS_OK) {
		log_warn("reconcile: cannot list the store's webhooks (%s)", rc_name(rc));
		goto out;
	}
	*checked = true;
	*ok = true;
	for (int i = 0; i < reconcile_n_topics; i++) {
		json_t *h = find_webhook(list, url, reconcile_topics[i]);
		const char *st = h != NULL ?
		    json_string_value(json_object_get(h, "status")) : "missing";

		if (st == NULL)
			st = "unknown";
		if (h != NULL && strcmp(st, "active") != 0 && r->cfg->webhook_autorepair) {
			rc = activate_webhook(r->wc, json_integer_value(json_object_get(h, "id")));
			log_warn("reconcile: webhook topic=%s was %s: %s", reconcile_topics[i],
			    st, rc == TS_OK ? "re-activated" : "re-activation failed");
			if (rc == TS_OK)
				st = "active";
		} else if (strcmp(st, "active") != 0) {
			log_warn("reconcile: webhook topic=%s is %s%s", reconcile_topics[i], st,
			    h != NULL ? " (set webhook_autorepair = true to re-activate it)" :
			    " (run tracksiesd --register-webhooks)");
		}
		*ok &= strcmp(st, "active") == 0;
		(void)json_object_set_new(topics, reconcile_topics[i], json_string(st));
	}
out:
	(void)json_object_set_new(health, "checked", json_boolean(*checked));
	(void)json_object_set_new(health, "ok", json_boolean(*ok));
	(void)json_object_set_new(health, "checked_at", json_integer(now_s()));
	(void)json_object_set_new(health, "topics", topics);
	if ((text = json_dumps(health, JSON_COMPACT)) != NULL)
		(void)db_kv_set(r->db, "webhooks.health", text);
	free(text);
	json_decref(health);
	json_decref(list);
}

/* ---- delta: what changed since the watermark ---- */

/* Queue one listed order, with what it says (so a current one costs nothing). */
static enum ts_rc
queue_listed(struct reconciler *r, const json_t *o, const char *topic)
{
	struct queue_event ev = { .source = "reconcile", .topic = topic,
		.refund_count = -1 };
	const char *total = json_string_value(json_object_get(o, "total"));
	const json_t *refunds = json_object_get(o, "refunds");

	ev.order_id = (int64_t)json_integer_value(json_object_get(o, "id"));
	(void)wc_order_parse_time(json_string_value(json_object_get(o,
	    "date_modified_gmt")), &ev.modified_at);
	ev.order_status = json_string_value(json_object_get(o, "status"));
	if (total != NULL && money_parse(total, 2, &ev.total_minor) == TS_OK)
		ev.has_total = 1;
	if (json_is_array(refunds))
		ev.refund_count = (int)json_array_size(refunds);
	return queue_enqueue(r->queue, &ev, NULL);
}

/*
 * Every order modified after the watermark (less the overlap), in id order
 * (stable while orders keep changing, unlike orderby=modified), pages 99
 * apart so a page shifted by a deletion shows at the seam. The watermark
 * moves only when every page was read and queued.
 */
static bool
delta(struct reconciler *r, long *queued, int64_t *watermark)
{
	int64_t wm = kv_int(r->db, "reconcile.watermark", now_s() -
	    r->cfg->reconcile_interval_s), max_mod = wm, prev_last = 0;
	char after[24];
	int prev_count = 0;

	*queued = 0;
	wc_order_format_time(wm - OVERLAP_S, after, sizeof(after));
	for (long k = 0;; k++) {
		struct wc_list_query q = { .page = 1, .per_page = 100, .offset = k * STEP,
			.status = "any", .modified_after = after, .orderby = "id",
			.order = "asc" };
		struct wc_call *c = wc_call_list_orders(&q);
		size_t i, n;
		json_t *o;
		enum ts_rc rc;

		if (c == NULL)
			return false;
		if ((rc = wc_client_perform(r->wc, c)) != TS_OK || !json_is_array(c->response)) {
			log_warn("reconcile: listing changed orders failed (%s, status=%ld):"
			    " next round", rc_name(rc), c->status);
			wc_call_free(c);
			return false;
		}
		n = json_array_size(c->response);
		if (k > 0 && prev_count == 100 && n > 0 && (int64_t)json_integer_value(
		    json_object_get(json_array_get(c->response, 0), "id")) != prev_last) {
			log_warn("reconcile: orders were deleted while paging: next round");
			wc_call_free(c);
			return false;
		}
		json_array_foreach(c->response, i, o) {
			int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
			int64_t mod = 0;
			if (k > 0 && i == 0 && id == prev_last)
				continue;	/* the seam order, queued already */
			if (queue_listed(r, o, "order.updated") != TS_OK) {
				wc_call_free(c);
				return false;
			}
			(*queued)++;
			(void)wc_order_parse_time(json_string_value(json_object_get(o,
			    "date_modified_gmt")), &mod);
			if (mod > max_mod)
				max_mod = mod;
		}
		prev_count = (int)n;
		prev_last = n > 0 ? (int64_t)json_integer_value(json_object_get(
		    json_array_get(c->response, n - 1), "id")) : 0;
		wc_call_free(c);
		if (n < 100 || atomic_load(&r->stop))
			break;
	}
	if (atomic_load(&r->stop))
		return false;
	kv_put_int(r->db, "reconcile.watermark", max_mod);
	*watermark = max_mod;
	return true;
}

/* ---- sweep: counted orders the store no longer has ---- */

static void
sweep(struct reconciler *r, long *queued)
{
	sqlite3_int64 counted = 0;
	int64_t cursor = kv_int(r->db, "reconcile.sweep_cursor", 0), last = cursor;
	long slice;
	sqlite3_stmt *st = NULL;
	int64_t ids[100];
	size_t n = 0;
	int rows = 0;

	(void)db_query_int64(r->db, "SELECT count(*) FROM transactions", &counted);
	/* The whole set once a day, in slices of whole requests. */
	slice = (long)((counted * r->cfg->reconcile_interval_s + 86399) / 86400);
	slice = (slice + 99) / 100 * 100;
	if (slice < 100)
		slice = 100;
	if (sqlite3_prepare_v2(db_handle(r->db), "SELECT order_id FROM transactions"
	    " WHERE order_id > ?1 ORDER BY order_id LIMIT ?2", -1, &st, NULL) != SQLITE_OK)
		return;
	(void)sqlite3_bind_int64(st, 1, cursor);
	(void)sqlite3_bind_int64(st, 2, slice);
	for (;;) {
		bool more = sqlite3_step(st) == SQLITE_ROW;

		if (more) {
			ids[n++] = last = sqlite3_column_int64(st, 0);
			rows++;
		}
		if (n == 100 || (!more && n > 0)) {
			struct wc_call *c = wc_call_get_orders(ids, n);
			if (c == NULL || wc_client_perform(r->wc, c) != TS_OK) {
				wc_call_free(c);
				(void)sqlite3_finalize(st);
				return;		/* the same slice next round */
			}
			for (size_t i = 0; i < n; i++) {
				bool listed = false;
				size_t k;
				json_t *o;
				json_array_foreach(c->response, k, o)
					listed |= (int64_t)json_integer_value(json_object_get(o,
					    "id")) == ids[i];
				if (!listed) {
					struct queue_event ev = { .source = "reconcile",
						.topic = "order.sweep", .order_id = ids[i],
						.refund_count = -1 };
					if (queue_enqueue(r->queue, &ev, NULL) == TS_OK)
						(*queued)++;
				}
			}
			wc_call_free(c);
			n = 0;
		}
		if (!more)
			break;
	}
	(void)sqlite3_finalize(st);
	/* A short slice reached the end: start over next time. */
	kv_put_int(r->db, "reconcile.sweep_cursor", rows < slice ? 0 : last);
}

static void
run_once(struct reconciler *r)
{
	bool checked, ok, moved;
	long queued = 0, swept = 0;
	int64_t wm = 0;

	check_webhooks(r, &checked, &ok);
	moved = delta(r, &queued, &wm);
	sweep(r, &swept);
	(void)pthread_mutex_lock(&r->lock);
	r->status.last_run_at = now_s();
	if (moved)
		r->status.watermark = wm;
	r->status.lag_s = r->status.watermark > 0 ? now_s() - r->status.watermark : -1;
	r->status.queued_last_run = queued + swept;
	r->status.webhooks_ok = ok;
	r->status.webhooks_checked = checked;
	(void)pthread_mutex_unlock(&r->lock);
	log_info("reconcile: done changed=%ld missing=%ld watermark=%s webhooks=%s",
	    queued, swept, moved ? "advanced" : "kept",
	    !checked ? "unchecked" : ok ? "ok" : "problems");
}

static void
sleep_for(struct reconciler *r, int64_t seconds)
{
	struct timespec until;

	(void)clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	(void)pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->stop))
		if (pthread_cond_timedwait(&r->wake, &r->lock, &until) != 0)
			break;
	(void)pthread_mutex_unlock(&r->lock);
}

static void *
reconcile_main(void *arg)
{
	struct reconciler *r = arg;
	struct wc_client_options opt = {
		.base_url = r->cfg->store_url, .auth = r->cfg->store_auth,
		.consumer_key = r->cfg->consumer_key,
		.consumer_secret = r->cfg->consumer_secret,
		.ca_file = r->cfg->ca_file, .timeout_ms = r->cfg->timeout_ms,
		.max_in_flight = 1,
	};
	sigset_t all;

	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (db_open(r->cfg->db_path, &r->db, NULL) != TS_OK ||
	    wc_client_new(&opt, &r->wc) != TS_OK) {
		log_error("reconcile: cannot start; missed webhooks will not be healed");
		return NULL;
	}
	sleep_for(r, FIRST_RUN_S);
	while (!atomic_load(&r->stop)) {
		run_once(r);
		/* Rounds are minutes apart: keep no page cache between them. */
		(void)sqlite3_db_release_memory(db_handle(r->db));
		sleep_for(r, r->cfg->reconcile_interval_s);
	}
	return NULL;
}

enum ts_rc
reconcile_start(const struct config *cfg, struct queue *q,
    struct reconciler **out)
{
	struct reconciler *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TS_ERR_NOMEM;
	r->cfg = cfg;
	r->queue = q;
	r->status.lag_s = -1;
	(void)pthread_mutex_init(&r->lock, NULL);
	(void)pthread_cond_init(&r->wake, NULL);
	if (pthread_create(&r->thread, NULL, reconcile_main, r) != 0) {
		(void)pthread_cond_destroy(&r->wake);
		(void)pthread_mutex_destroy(&r->lock);
		free(r);
		return TS_ERR_NOMEM;
	}
	*out = r;
	return TS_OK;
}

void
reconcile_stop(struct reconciler *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	(void)pthread_mutex_lock(&r->lock);
	(void)pthread_cond_broadcast(&r->wake);
	(void)pthread_mutex_unlock(&r->lock);
	(void)pthread_join(r->thread, NULL);
	wc_client_free(r->wc);
	db_close(r->db);
	(void)pthread_cond_destroy(&r->wake);
	(void)pthread_mutex_destroy(&r->lock);
	free(r);
}

void
reconcile_get_status(struct reconciler *r, struct reconcile_status *out)
{
	(void)pthread_mutex_lock(&r->lock);
	*out = r->status;
	(void)pthread_mutex_unlock(&r->lock);
}

/* ---- --register-webhooks ---- */

static bool
private_host(const char *h, size_t len)
{
	char host[256];
	unsigned a = 0, b = 0;

	if (len == 0 || len >= sizeof(host))
		return true;
	memcpy(host, h, len);
	host[len] = '\0';
	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strncmp(host, "[fc", 3) == 0 || strncmp(host, "[fd", 3) == 0 ||
	    strncmp(host, "[fe80", 5) == 0)
		return true;
	if (sscanf(host, "%u.%u.", &a, &b) == 2)
		return a == 127 || a == 10 || a == 0 || (a == 172 && b >= 16 && b <= 31) ||
		    (a == 192 && b == 168) || (a == 169 && b == 254);
	return false;
}

/* url's host (not NUL-terminated) and port; false when not http(s)://. */
static bool
split_url(const char *url, const char **host, size_t *host_len, long *port)
{
	const char *h, *end, *colon;
	bool https;

	if (url == NULL)
		return false;
	https = strncmp(url, "https://", 8) == 0;
	if (!https && strncmp(url, "http://", 7) != 0)
		return false;
	h = url + (https ? 8 : 7);
	end = h + strcspn(h, "/?#");
	colon = h[0] == '[' ? strchr(h, ']') : h;
	colon = colon != NULL && colon < end ?
	    memchr(colon, ':', (size_t)(end - colon)) : NULL;
	*port = colon != NULL ? strtol(colon + 1, NULL, 10) : (https ? 443 : 80);
	*host = h;
	*host_len = (size_t)((colon != NULL ? colon : end) - h);
	return true;
}

const char *
reconcile_url_refused(const char *url, const char *store_url)
{
	const char *h, *sh;
	size_t len, slen;
	long port, sport;
	bool same_host;

	if (url == NULL)
		return "no [webhook] public_url is set";
	if (!split_url(url, &h, &len, &port))
		return "it is not an http:// or https:// URL";
	/*
	 * wp_http_validate_url() lets the shop's own host through whatever its
	 * address, and its own port too.
	 */
	same_host = split_url(store_url, &sh, &slen, &sport) && slen == len &&
	    len > 0 && strncasecmp(h, sh, len) == 0;
	if (port != 80 && port != 443 && port != 8080 && !(same_host && port == sport))
		return "WooCommerce only delivers to ports 80, 443 and 8080";
	if (!same_host && private_host(h, len))
		return "WooCommerce refuses loopback and private addresses unless"
		    " they are the shop's own host";
	return NULL;
}

int
reconcile_register_webhooks(const struct config *cfg)
{
	struct wc_client_options opt = {
		.base_url = cfg->store_url, .auth = cfg->store_auth,
		.consumer_key = cfg->consumer_key, .consumer_secret = cfg->consumer_secret,
		.ca_file = cfg->ca_file, .timeout_ms = cfg->timeout_ms, .max_in_flight = 1,
	};
	struct wc_client *wc = NULL;
	json_t *list = NULL;
	const char *why;
	int status = 1;
	enum ts_rc rc;

	if (cfg->public_url == NULL) {
		fprintf(stderr, "tracksiesd: set [webhook] public_url: the address"
		    " WooCommerce delivers webhooks to\n");
		return 78;
	}
	if ((why = reconcile_url_refused(cfg->public_url, cfg->store_url)) != NULL)
		printf("warning: %s: %s (see docs/operations.md: reverse proxy)\n",
		    cfg->public_url, why);
	if (wc_client_new(&opt, &wc) != TS_OK)
		return 1;
	if ((rc = list_webhooks(wc, &list)) != TS_OK) {
		fprintf(stderr, "tracksiesd: cannot list the store's webhooks: %s\n",
		    rc_name(rc));
		goto out;
	}
	status = 0;
	for (int i = 0; i < reconcile_n_topics; i++) {
		const char *topic = reconcile_topics[i];
		json_t *h = find_webhook(list, cfg->public_url, topic);
		struct wc_call *c;
		char name[96];

		if (h != NULL) {
			const char *st = json_string_value(json_object_get(h, "status"));
			if (st != NULL && strcmp(st, "active") == 0) {
				printf("%-40s exists, active\n", topic);
				continue;
			}
			rc = activate_webhook(wc, json_integer_value(json_object_get(h, "id")));
			printf("%-40s was %s: %s\n", topic, st != NULL ? st : "?",
			    rc == TS_OK ? "re-activated" : rc_name(rc));
			status |= rc != TS_OK;
			continue;
		}
		(void)snprintf(name, sizeof(name), "tracksiesd %s", topic);
		c = wc_call_new(WC_POST, "/webhooks", json_pack("{s:s,s:s,s:s,s:s,s:s}",
		    "name", name, "topic", topic, "delivery_url", cfg->public_url,
		    "secret", cfg->webhook_secret, "status", "active"));
		rc = c != NULL ? wc_client_perform(wc, c) : TS_ERR_NOMEM;
		printf("%-40s created: %s\n", topic, rc == TS_OK ? "ok" :
		    c != NULL && c->error_message[0] ? c->error_message : rc_name(rc));
		status |= rc != TS_OK;
		wc_call_free(c);
	}
out:
	json_decref(list);
	wc_client_free(wc);
	return status;
}
