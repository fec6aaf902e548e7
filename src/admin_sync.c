/* SPDX-License-Identifier: MIT */
/*
 * Admin routes around the sync: per-order status, the failed list, retry
 * and sync now (both queue the order as an admin event for the worker),
 * feature flags, the tag catalogue, /healthz, and the 501 answers for the
 * import and tag-recalculation routes whose engines land with their issues.
 */
#include "admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/import_job.h"
#include "tracksies/tags_recalc.h"
#include "tracksies/log.h"
#include "tracksies/metrics.h"
#include "tracksies/profile.h"
#include "tracksies/queue.h"
#include "tracksies/wc_client.h"
#include "tracksies/worker.h"

#define WORKER_STALL_S 30	/* a loop older than this is not alive */

enum ts_rc
admin_sync_enqueue(struct admin_req *r, int64_t order_id, const char *topic)
{
	struct queue *q = admin_api_queue(r->api);
	struct queue_event ev = {
		.source = "admin",
		.topic = topic,
		.order_id = order_id,
		.state = QUEUE_PENDING,
	};

	if (q == NULL)
		return TS_ERR_IO;
	return queue_enqueue(q, &ev, NULL);
}

static json_t *
col_int(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, col));
}

static enum ts_rc
order_erased(struct admin_req *r, int64_t order_id, bool *erased)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*erased = false;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT 1 FROM"
	    " erased_orders WHERE order_id = ?1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, order_id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*erased = true;
	else if (src != SQLITE_DONE)
		rc = db_rc(src);
	(void)sqlite3_finalize(st);
	return rc;
}

void
admin_sync_order_get(struct admin_req *r)
{
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	int64_t pending = 0;
	bool erased;
	enum ts_rc rc;
	int src;

	if ((rc = order_erased(r, r->id, &erased)) != TS_OK)
		goto dbfail;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT count(*)"
	    " FROM events WHERE order_id = ?1 AND state = 'pending'", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		pending = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT state,"
	    " error_code, error_message, synced_at, customer_id, attempts,"
	    " updated_at FROM order_sync WHERE order_id = ?1", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	src = sqlite3_step(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = db_rc(src);
		goto dbfail;
	}
	doc = json_pack("{s:I,s:s,s:I}", "order_id", (json_int_t)r->id,
	    "state", "pending", "pending_events", (json_int_t)pending);
	if (src == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		/* An event still waiting may change what the row says. */
		if (pending == 0 && state != NULL)
			(void)json_object_set_new(doc, "state", json_string(state));
		(void)json_object_set_new(doc, "synced_at", admin_col_time(st, 3));
		(void)json_object_set_new(doc, "customer_id", col_int(st, 4));
		(void)json_object_set_new(doc, "attempts", col_int(st, 5));
		(void)json_object_set_new(doc, "updated_at", admin_col_time(st, 6));
		(void)json_object_set_new(doc, "error",
		    sqlite3_column_type(st, 1) == SQLITE_NULL ? json_null() :
		    json_pack("{s:o,s:o}", "code", admin_col_text(st, 1),
		    "message", admin_col_text(st, 2)));
	} else {
		(void)json_object_set_new(doc, "synced_at", json_null());
		(void)json_object_set_new(doc, "customer_id", json_null());
		(void)json_object_set_new(doc, "attempts", json_integer(0));
		(void)json_object_set_new(doc, "updated_at", json_null());
		(void)json_object_set_new(doc, "error", json_null());
	}
	if (erased)
		(void)json_object_set_new(doc, "state", json_string("erased"));
	admin_api_reply(r, 200, doc);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "sync status");
out:
	(void)sqlite3_finalize(st);
}

void
admin_sync_order_post(struct admin_req *r)
{
	bool erased;
	enum ts_rc rc;

	if (!admin_api_feature_on(r, FEATURE_ORDER_SYNC))
		return;
	if ((rc = order_erased(r, r->id, &erased)) != TS_OK) {
		admin_api_db_fail(r, rc, "sync status");
		return;
	}
	if (erased) {
		admin_api_fail(r, 409, "order_erased", NULL,
		    "the order belonged to an erased customer");
		return;
	}
	if ((rc = admin_sync_enqueue(r, r->id, "order.sync")) != TS_OK) {
		admin_api_db_fail(r, rc, "queue");
		return;
	}
	admin_api_reply(r, 202, json_pack("{s:I,s:s,s:b}", "order_id",
	    (json_int_t)r->id, "state", "pending", "queued", 1));
}

void
admin_sync_failed(struct admin_req *r)
{
	sqlite3_stmt *st = NULL;
	json_t *list = NULL, *doc;
	int64_t page, per_page, total = 0;
	enum ts_rc rc;
	int src;

	if (!admin_api_paging(r, &page, &per_page))
		return;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT count(*)"
	    " FROM order_sync WHERE state = 'failed'", -1, &st, NULL))) != TS_OK)
		goto dbfail;
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT order_id,"
	    " customer_id, error_code, error_message, attempts, updated_at"
	    " FROM order_sync WHERE state = 'failed'"
	    " ORDER BY updated_at DESC, order_id DESC LIMIT ?1 OFFSET ?2", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, per_page);
	(void)sqlite3_bind_int64(st, 2, (page - 1) * per_page);
	list = json_array();
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(list, json_pack("{s:I,s:o,s:{s:o,s:o},"
		    "s:o,s:o}", "order_id", (json_int_t)sqlite3_column_int64(st, 0),
		    "customer_id", col_int(st, 1), "error", "code", admin_col_text(st, 2),
		    "message", admin_col_text(st, 3), "attempts", col_int(st, 4),
		    "updated_at", admin_col_time(st, 5)));
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto dbfail;
	}
	doc = json_pack("{s:I,s:O}", "count", (json_int_t)total, "orders", list);
	admin_api_page_fields(doc, total, page, per_page);
	admin_api_reply(r, 200, doc);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "failed list");
out:
	(void)sqlite3_finalize(st);
	json_decref(list);
}

/* Every failed order that is not erased. */
static enum ts_rc
failed_ids(struct admin_req *r, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*ids = NULL;
	*n = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT order_id"
	    " FROM order_sync WHERE state = 'failed' AND order_id NOT IN"
	    " (SELECT order_id FROM erased_orders) ORDER BY order_id", -1, &st,
	    NULL))) != TS_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *grown = realloc(*ids, (*n + 1) * sizeof(**ids));
		if (grown == NULL) {
			rc = TS_ERR_NOMEM;
			goto out;
		}
		*ids = grown;
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (src != SQLITE_DONE)
		rc = db_rc(src);
out:
	(void)sqlite3_finalize(st);
	return rc;
}

void
admin_sync_retry(struct admin_req *r)
{
	static const char *const allowed[] = { "order_ids", "all", NULL };
	json_t *body, *all, *list;
	int64_t *ids = NULL;
	size_t n = 0, queued = 0, skipped = 0;
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed))
		goto out;
	all = json_object_get(body, "all");
	list = json_object_get(body, "order_ids");
	if ((all != NULL && !json_is_boolean(all)) ||
	    (list == NULL && !json_is_true(all)) ||
	    (list != NULL && json_is_true(all))) {
		admin_api_fail(r, 400, "invalid_field", list ? "all" : "order_ids",
		    "give either order_ids (a list) or all: true");
		goto out;
	}
	if (list != NULL && !admin_api_id_list(r, list, "order_ids",
	    ADMIN_MAX_BULK, &ids, &n))
		goto out;
	if (!admin_api_feature_on(r, FEATURE_ORDER_SYNC))
		goto out;
	if (list == NULL && (rc = failed_ids(r, &ids, &n)) != TS_OK) {
		admin_api_db_fail(r, rc, "failed list");
		goto out;
	}
	/*
	 * XXX: one commit per order (queue_enqueue); a batch enqueue in
	 * queue.c would make "retry all" of thousands of orders one fsync.
	 */
	for (size_t i = 0; i < n; i++) {
		bool erased = false;
		if ((rc = order_erased(r, ids[i], &erased)) != TS_OK) {
			admin_api_db_fail(r, rc, "sync status");
			goto out;
		}
		if (erased) {
			skipped++;
			continue;
		}
		if ((rc = admin_sync_enqueue(r, ids[i], "order.sync")) != TS_OK) {
			admin_api_db_fail(r, rc, "queue");
			goto out;
		}
		queued++;
	}
	admin_api_reply(r, 202, json_pack("{s:I,s:I}", "queued",
	    (json_int_t)queued, "skipped_erased", (json_int_t)skipped));
out:
	free(ids);
	json_decref(body);
}

/* ---- features, tags ---------------------------------------------------- */

static enum ts_rc
features_json(struct admin_req *r, json_t **out)
{
	json_t *map = json_object();
	enum ts_rc rc = TS_OK;

	*out = NULL;
	for (size_t i = 0; i < features_count(); i++) {
		bool on;
		if ((rc = features_get(r->db, features_name(i), &on)) != TS_OK) {
			json_decref(map);
			return rc;
		}
		(void)json_object_set_new(map, features_name(i), json_boolean(on));
	}
	*out = json_pack("{s:o}", "features", map);
	return *out != NULL ? TS_OK : TS_ERR_NOMEM;
}

void
admin_sync_features_get(struct admin_req *r)
{
	json_t *doc = NULL;
	enum ts_rc rc;

	if ((rc = features_json(r, &doc)) != TS_OK)
		admin_api_db_fail(r, rc, "feature read");
	else
		admin_api_reply(r, 200, doc);
}

void
admin_sync_features_put(struct admin_req *r)
{
	static const char *const allowed[] = { "features", NULL };
	json_t *body, *map, *v, *doc = NULL;
	const char *name;
	char msg[160];
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed))
		goto out;
	map = json_object_get(body, "features");
	if (!json_is_object(map) || json_object_size(map) == 0) {
		admin_api_fail(r, 400, map == NULL ? "missing_field" :
		    "invalid_field", "features", "features must be an object of"
		    " flag names to true or false");
		goto out;
	}
	json_object_foreach(map, name, v) {
		if (!features_known(name) || !json_is_boolean(v)) {
			(void)snprintf(msg, sizeof(msg), "%s: %.80s", features_known(name) ?
			    "must be true or false" : "unknown feature", name);
			admin_api_fail(r, 400, "invalid_field", name, msg);
			goto out;
		}
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	json_object_foreach(map, name, v) {
		bool was;
		if ((rc = features_get(r->db, name, &was)) != TS_OK ||
		    (rc = features_set(r->db, name, json_is_true(v), r->now)) != TS_OK)
			goto dbfail;
		if (was != json_is_true(v) && (rc = profile_audit(r->db, 0, r->now,
		    r->actor, "feature_change", name, was ? "on" : "off",
		    json_is_true(v) ? "on" : "off", NULL)) != TS_OK)
			goto dbfail;
	}
	if ((rc = db_commit(r->db)) != TS_OK ||
	    (rc = features_json(r, &doc)) != TS_OK)
		goto dbfail;
	admin_api_reply(r, 200, doc);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "feature write");
out:
	db_rollback(r->db);
	json_decref(body);
}

void
admin_sync_tags(struct admin_req *r)
{
	static const char *const channels[] = { "commitment", "tenure", "value",
		"price_sensitivity", "engagement" };
	sqlite3_stmt *st = NULL;
	json_t *list = json_array(), *tags[5];
	enum ts_rc rc;
	int src;

	for (int i = 0; i < 5; i++) {
		tags[i] = json_array();
		(void)json_array_append_new(list, json_pack("{s:s,s:o}", "channel",
		    channels[i], "tags", tags[i]));
	}
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT id, label,"
	    " icon, channel, kind, position FROM tags ORDER BY position, id", -1,
	    &st, NULL))) != TS_OK)
		goto dbfail;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ch = (const char *)sqlite3_column_text(st, 3);
		for (int i = 0; ch != NULL && i < 5; i++)
			if (strcmp(ch, channels[i]) == 0)
				(void)json_array_append_new(tags[i], json_pack(
				    "{s:o,s:o,s:o,s:o,s:o,s:I}", "id", admin_col_text(st, 0),
				    "label", admin_col_text(st, 1), "icon", admin_col_text(st, 2),
				    "channel", admin_col_text(st, 3), "kind", admin_col_text(st, 4),
				    "position", (json_int_t)sqlite3_column_int64(st, 5)));
	}
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto dbfail;
	}
	admin_api_reply(r, 200, json_pack("{s:O}", "channels", list));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "tag catalogue");
out:
	(void)sqlite3_finalize(st);
	json_decref(list);
}

void
admin_sync_not_implemented(struct admin_req *r)
{
	admin_api_fail(r, 501, "not_implemented", NULL,
	    "this route is not available in this version");
}

/* ---- health ------------------------------------------------------------ */

/*
 * Take the write lock and let it go. Without waiting: a lock held by
 * another writer (the worker, intake) proves the file takes writes, and a
 * health probe must not queue behind a long transaction.
 */
static bool
database_writable(struct admin_req *r)
{
	sqlite3 *h = db_handle(r->db);
	enum ts_rc rc;

	if (sqlite3_db_readonly(h, "main") != 0)
		return false;
	(void)sqlite3_busy_timeout(h, 0);
	rc = db_begin(r->db);
	db_rollback(r->db);
	(void)sqlite3_busy_timeout(h, 10000);
	return rc == TS_OK || rc == TS_ERR_TRANSIENT;
}

/* The reconciler's last webhook check (kv webhooks.health), or NULL. */
static json_t *
webhook_health(struct admin_req *r)
{
	char text[2048];

	if (db_kv_get(r->db, "webhooks.health", text, sizeof(text)) != TS_OK)
		return NULL;
	return json_loads(text, 0, NULL);
}

/* Seconds since the reconciler last advanced its watermark, -1: never. */
static int64_t
reconciler_lag(struct admin_req *r)
{
	sqlite3_int64 at = 0;

	if (db_query_int64(r->db, "SELECT updated_at FROM kv WHERE key ="
	    " 'reconcile.watermark'", &at) != TS_OK)
		return -1;
	return r->now - at;
}

void
admin_sync_healthz(struct admin_req *r)
{
	struct worker *w = admin_api_worker(r->api);
	struct worker_status ws = { 0 };
	bool writable = database_writable(r), alive;
	json_t *age = json_null();

	if (w != NULL)
		worker_get_status(w, &ws);
	alive = ws.running && r->now - ws.last_loop_at <= WORKER_STALL_S;
	if (ws.last_sync_at > 0) {
		json_decref(age);
		age = json_integer(r->now - ws.last_sync_at);
	}
	{
		json_t *hooks = webhook_health(r);
		bool hooks_ok = hooks == NULL ||
		    !json_is_true(json_object_get(hooks, "checked")) ||
		    json_is_true(json_object_get(hooks, "ok"));
		int64_t lag = reconciler_lag(r);

		admin_api_reply(r, writable && alive ? 200 : 503, json_pack(
		    "{s:s,s:b,s:b,s:b,s:o,s:o,s:o}", "status", !writable || !alive ?
		    "failing" : ws.store_reachable && hooks_ok ? "ok" : "degraded",
		    "database_writable", writable, "worker_alive", alive,
		    "store_reachable", ws.store_reachable, "last_sync_age_s", age,
		    "webhooks", hooks != NULL ? hooks : json_null(),
		    "reconcile_lag_s", lag >= 0 ? json_integer(lag) : json_null()));
	}
}

/*
 * GET /metrics: Prometheus text (metrics.h). Counters come from the intake,
 * the worker and its REST client; queue depth and failures by code from the
 * database (two small queries on partial indexes).
 */
void
admin_sync_metrics(struct admin_req *r)
{
	struct metrics_snapshot s = { 0 };
	struct worker_status ws = { 0 };
	struct wc_client_stats rest_stats = { 0 };
	struct metrics_rest_count rest[5];
	struct metrics_code_count codes[16];
	char code_text[16][64];
	struct worker *w = admin_api_worker(r->api);
	sqlite3 *h = db_handle(r->db);
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	size_t n = 0;
	enum ts_rc rc;

	s.version = TS_VERSION;
	s.start_time = admin_api_started_at(r->api);
	if (admin_api_intake(r->api) != NULL)
		metrics_snapshot_set_intake(&s, admin_api_intake(r->api));
	if (w != NULL) {
		worker_get_status(w, &ws);
		metrics_snapshot_set_worker(&s, &ws);
		worker_rest_stats(w, &rest_stats);
		s.rest = rest;
		s.n_rest = metrics_rest_from_stats(&rest_stats, "all", rest);
		s.sync_latency = worker_sync_latency(w);
	}
	if (sqlite3_prepare_v2(h, METRICS_SQL_QUEUE, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		s.queue_depth = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			s.oldest_pending_age_s = r->now - sqlite3_column_int64(st, 1);
		s.events_failed = (uint64_t)sqlite3_column_int64(st, 2);
	}
	(void)sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(h, METRICS_SQL_FAILED_BY_CODE, -1, &st, NULL) == SQLITE_OK)
		while (n < 16 && sqlite3_step(st) == SQLITE_ROW) {
			/* Column text dies with the next step: copy it. */
			(void)snprintf(code_text[n], sizeof(code_text[n]), "%s",
			    (const char *)sqlite3_column_text(st, 0));
			codes[n].code = code_text[n];
			codes[n].count = (uint64_t)sqlite3_column_int64(st, 1);
			n++;
		}
	(void)sqlite3_finalize(st);
	s.failed_by_code = codes;
	s.n_failed_by_code = n;
	{
		/* The reconciler's figures, as it stored them. */
		static const char *const topics[] = { "order.created", "order.updated",
			"order.deleted", "order.restored",
			"action.woocommerce_payment_complete" };
		json_t *hooks = webhook_health(r), *t = json_object_get(hooks, "topics");
		int64_t lag = reconciler_lag(r);
		struct metrics_webhook wh[5];
		char status[5][24];
		size_t nw = 0;

		if (lag >= 0) {
			s.has_reconciler = true;
			s.reconciler_lag_s = lag;
		}
		for (size_t i = 0; t != NULL && i < 5; i++) {
			const char *st2 = json_string_value(json_object_get(t, topics[i]));
			if (st2 == NULL)
				continue;
			(void)snprintf(status[nw], sizeof(status[nw]), "%s", st2);
			wh[nw].topic = topics[i];
			wh[nw].status = status[nw];
			nw++;
		}
		s.webhooks = wh;
		s.n_webhooks = nw;
		json_decref(hooks);
		if ((rc = metrics_render(&s, &text)) != TS_OK) {
			admin_api_fail(r, 500, "internal", NULL, rc_name(rc));
			return;
		}
	}
	r->resp->status = 200;
	r->resp->content_type = METRICS_CONTENT_TYPE;
	r->resp->body = text;
	r->resp->body_len = strlen(text);
}

/* GET /v1/import: the running import's progress and the last run's summary. */
void
admin_sync_import_get(struct admin_req *r)
{
	json_t *doc = NULL;

	if (import_slot_status(admin_api_import(r->api), r->db, &doc) != TS_OK) {
		admin_api_fail(r, 500, "internal", NULL, "import status");
		return;
	}
	http_response_json(r->resp, 200, doc);
}

/*
 * POST /v1/import {"since": "all|30d|90d|1y|YYYY-MM-DD"}: start (or resume)
 * an import in the daemon; 202 with its run id, 409 while one runs.
 */
void
admin_sync_import_post(struct admin_req *r)
{
	json_t *body = admin_api_body(r);
	const char *since = "all", *err = NULL;
	int64_t run_id = 0;
	bool on = true;
	enum ts_rc rc;

	if (body == NULL)
		return;
	if (json_object_get(body, "since") != NULL) {
		since = json_string_value(json_object_get(body, "since"));
		if (since == NULL) {
			json_decref(body);
			admin_api_fail(r, 400, "invalid_field", "since", "since must be a string");
			return;
		}
	}
	if (features_get(r->db, FEATURE_IMPORT, &on) == TS_OK && !on) {
		json_decref(body);
		admin_api_fail(r, 409, "feature_off", NULL,
		    "the import is switched off (feature woo.import)");
		return;
	}
	/* since points into body: answer before letting it go. */
	rc = import_slot_start(admin_api_import(r->api), admin_api_config(r->api),
	    since, &run_id, &err);
	if (rc == TS_ERR_INVALID)
		admin_api_fail(r, 400, "invalid_field", "since", err);
	else if (rc == TS_ERR_IO)
		admin_api_fail(r, 409, "import_running", NULL, err);
	else if (rc != TS_OK)
		admin_api_fail(r, 500, "internal", NULL, "cannot start the import");
	else
		http_response_json(r->resp, 202, json_pack("{s:I,s:s,s:b}", "run_id",
		    (json_int_t)run_id, "since", since, "running", 1));
	json_decref(body);
}

/*
 * POST /v1/tags/recalculate: ask the worker to recalculate everyone's tags,
 * RFM figures and automatic statuses (it starts within a second); its
 * progress is in GET /v1/tags ("recalculation").
 */
void
admin_sync_tags_recalculate(struct admin_req *r)
{
	if (tags_recalc_request(r->db, r->now) != TS_OK) {
		admin_api_fail(r, 503, "storage_unavailable", NULL,
		    "the request could not be stored");
		return;
	}
	http_response_json(r->resp, 202, json_pack("{s:b}", "requested", 1));
}
