/* SPDX-License-Identifier: MIT */
/*
 * The admin API's edge: its listener (http_server.c), the pool of SQLite
 * connections requests borrow, bearer-token auth, the actor header, the
 * route table, and the JSON helpers every route shares. What each route
 * does lives in admin_customers.c, admin_related.c, admin_erase.c,
 * admin_csv.c and admin_sync.c.
 */
#include "admin_internal.h"
#include "tracksies/import_job.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/hmac.h"
#include "tracksies/log.h"
#include "tracksies/profile.h"

#define DEFAULT_BODY_BYTES (1024 * 1024)
#define DEFAULT_THREADS 8
#define DRAIN_MS 10000
#define MAX_SEGMENTS 8

struct admin_api {
	struct http_server *srv;
	const struct config *cfg;
	struct queue *queue;
	struct worker *worker;
	const struct intake_counters *intake;
	int64_t started_at;
	struct import_slot import;	/* POST/GET /v1/import */
	pthread_mutex_t lock;
	pthread_cond_t available;
	struct db **idle;		/* guarded by lock: free connections, a stack */
	int64_t *idle_since;		/* guarded by lock: when each was given back */
	size_t n_idle;			/* guarded by lock */
	size_t n_open;			/* guarded by lock: open or being opened */
	size_t max_open;
};

struct queue *
admin_api_queue(const struct admin_api *api)
{
	return api->queue;
}

json_t *
admin_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? json_string((const char *)t) : json_null();
}

json_t *
admin_col_time(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return profile_time_json(sqlite3_column_int64(st, col));
}

struct import_slot *
admin_api_import(struct admin_api *api)
{
	return &api->import;
}

const struct config *
admin_api_config(const struct admin_api *api)
{
	return api->cfg;
}

const struct intake_counters *
admin_api_intake(const struct admin_api *api)
{
	return api->intake;
}

int64_t
admin_api_started_at(const struct admin_api *api)
{
	return api->started_at;
}

/* No token for /metrics only when nobody else can reach the listener. */
static bool
listen_is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]:", 6) == 0 ||
	    strncmp(listen, "localhost:", 10) == 0;
}

struct worker *
admin_api_worker(const struct admin_api *api)
{
	return api->worker;
}

/* ---- the connection pool --------------------------------------------- */

/*
 * secure_delete: pages and cells freed by an erasure are overwritten with
 * zeros, so a deleted email is not left in the file (GDPR). The mmap (up to
 * SQLite's 2 GiB cap) lets the pooled connections read pages straight from
 * the OS page cache: a list sorted from 10,000 random rows otherwise costs
 * 10,000 pread calls per request, dear on a virtual machine.
 */
static const char pool_pragmas[] =
	"PRAGMA secure_delete=ON;"
	"PRAGMA cache_size=-8192;"
	"PRAGMA mmap_size=2147418112;"
	"PRAGMA temp_store=MEMORY;";

static int64_t
mono_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static enum ts_rc
pool_open(struct admin_api *api, struct db **out, char **errmsg)
{
	struct db *db = NULL;
	enum ts_rc rc;

	*out = NULL;
	if ((rc = db_open(api->cfg->db_path, &db, errmsg)) != TS_OK)
		return rc;
	if ((rc = db_exec(db, pool_pragmas)) != TS_OK ||
	    (rc = admin_customers_db_init(db)) != TS_OK) {
		db_close(db);
		return rc;
	}
	*out = db;
	return TS_OK;
}

/*
 * A pooled connection costs ~210 KB (the parsed schema, pager, page cache)
 * before it reads anything: one is opened at start, more when requests
 * overlap, and admin_api_release_idle closes them again.
 *
 * A free connection, or a new one while fewer than max_open are open;
 * otherwise wait for one. TS_OK, or the reason a new one could not be
 * opened. Any request thread.
 */
static enum ts_rc
pool_take(struct admin_api *api, struct db **out)
{
	enum ts_rc rc;

	(void)pthread_mutex_lock(&api->lock);
	while (api->n_idle == 0 && api->n_open >= api->max_open)
		(void)pthread_cond_wait(&api->available, &api->lock);
	if (api->n_idle > 0) {
		*out = api->idle[--api->n_idle];
		(void)pthread_mutex_unlock(&api->lock);
		return TS_OK;
	}
	api->n_open++;		/* the one opened below */
	(void)pthread_mutex_unlock(&api->lock);
	if ((rc = pool_open(api, out, NULL)) != TS_OK) {
		(void)pthread_mutex_lock(&api->lock);
		api->n_open--;
		(void)pthread_cond_signal(&api->available);
		(void)pthread_mutex_unlock(&api->lock);
	}
	return rc;
}

static void
pool_give(struct admin_api *api, struct db *db)
{
	/* A handler that failed mid-transaction must not leak it. */
	db_rollback(db);
	(void)pthread_mutex_lock(&api->lock);
	api->idle_since[api->n_idle] = mono_s();
	api->idle[api->n_idle++] = db;
	(void)pthread_cond_signal(&api->available);
	(void)pthread_mutex_unlock(&api->lock);
}

size_t
admin_api_pool_size(struct admin_api *api)
{
	size_t n;

	(void)pthread_mutex_lock(&api->lock);
	n = api->n_open;
	(void)pthread_mutex_unlock(&api->lock);
	return n;
}

void
admin_api_release_idle(struct admin_api *api, int64_t unused_s)
{
	struct db *stale[DEFAULT_THREADS * 4];
	size_t n_stale = 0;
	int64_t now = mono_s();

	if (api == NULL)
		return;
	(void)pthread_mutex_lock(&api->lock);
	/* The stack's bottom is the connection given back longest ago. */
	while (api->n_idle > 1 && n_stale < sizeof(stale) / sizeof(stale[0]) &&
	    now - api->idle_since[0] >= unused_s) {
		stale[n_stale++] = api->idle[0];
		api->n_idle--;
		api->n_open--;
		memmove(api->idle, api->idle + 1, api->n_idle * sizeof(*api->idle));
		memmove(api->idle_since, api->idle_since + 1,
		    api->n_idle * sizeof(*api->idle_since));
	}
	/*
	 * The one kept gives back its kept statements and page cache; nobody
	 * can take it now.
	 */
	if (api->n_idle == 1 && now - api->idle_since[0] >= unused_s) {
		db_stmt_flush(api->idle[0]);
		(void)sqlite3_db_release_memory(db_handle(api->idle[0]));
	}
	(void)pthread_mutex_unlock(&api->lock);
	for (size_t i = 0; i < n_stale; i++)
		db_close(stale[i]);
}

/* ---- responses and input helpers --------------------------------------- */

void
admin_api_reply(struct admin_req *r, unsigned status, json_t *doc)
{
	http_response_json(r->resp, status, doc);
}

void
admin_api_fail(struct admin_req *r, unsigned status, const char *code,
    const char *field, const char *message)
{
	json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);

	if (err != NULL && field != NULL)
		(void)json_object_set_new(err, "field", json_string(field));
	http_response_json(r->resp, status, json_pack("{s:o}", "error", err));
}

void
admin_api_db_fail(struct admin_req *r, enum ts_rc rc, const char *what)
{
	log_error("admin: %s %s: database %s failed: %s", r->http->method,
	    r->http->path, what, rc_name(rc));
	if (rc == TS_ERR_TRANSIENT) {
		admin_api_fail(r, 503, "database_busy", NULL,
		    "the database is busy; retry shortly");
		r->resp->retry_after_s = 1;
	} else {
		admin_api_fail(r, 500, "database_error", NULL,
		    "the database refused the operation");
	}
}

json_t *
admin_api_body(struct admin_req *r)
{
	json_error_t err;
	json_t *doc;
	char msg[256];

	if (r->http->body_len == 0) {
		admin_api_fail(r, 400, "invalid_json", NULL,
		    "a JSON object body is required");
		return NULL;
	}
	doc = json_loadb(r->http->body, r->http->body_len,
	    JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL) {
		(void)snprintf(msg, sizeof(msg), "body is not valid JSON: %s"
		    " (line %d, column %d)", err.text, err.line, err.column);
		admin_api_fail(r, 400, "invalid_json", NULL, msg);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		admin_api_fail(r, 400, "invalid_json", NULL,
		    "body must be a JSON object");
		return NULL;
	}
	return doc;
}

bool
admin_api_only_keys(struct admin_req *r, const json_t *obj,
    const char *const allowed[])
{
	const char *key;
	json_t *v;
	char msg[160];

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL) {
			(void)snprintf(msg, sizeof(msg), "unknown field '%.100s'", key);
			admin_api_fail(r, 400, "unknown_field", key, msg);
			return false;
		}
	}
	return true;
}

bool
admin_api_string(struct admin_req *r, const json_t *obj, const char *key,
    size_t max_len, bool nullable, bool multiline, const char **out,
    bool *present)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char msg[160];

	*out = NULL;
	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return true;
	if (json_is_null(v) && nullable)
		return true;
	if (!json_is_string(v)) {
		(void)snprintf(msg, sizeof(msg), "%s must be a string%s", key,
		    nullable ? " or null" : "");
		admin_api_fail(r, 400, "invalid_field", key, msg);
		return false;
	}
	s = json_string_value(v);
	if (json_string_length(v) > max_len) {
		(void)snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", key,
		    max_len);
		admin_api_fail(r, 400, "invalid_field", key, msg);
		return false;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			continue;
		if (multiline && (*p == '\n' || *p == '\r' || *p == '\t'))
			continue;
		(void)snprintf(msg, sizeof(msg), "%s holds a control character", key);
		admin_api_fail(r, 400, "invalid_field", key, msg);
		return false;
	}
	*out = s;
	return true;
}

static bool
parse_int64(const char *text, int64_t *out)
{
	char *end;
	long long v;

	if (text == NULL || *text == '\0' || isspace((unsigned char)*text))
		return false;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool
admin_api_query_int(struct admin_req *r, const char *name, int64_t def,
    int64_t min, int64_t max, int64_t *out)
{
	const char *text = http_request_query(r->http, name);
	char msg[160];
	int64_t v;

	*out = def;
	if (text == NULL || *text == '\0')
		return true;
	if (!parse_int64(text, &v) || v < min || v > max) {
		(void)snprintf(msg, sizeof(msg), "%s must be an integer from %" PRId64
		    " to %" PRId64, name, min, max);
		admin_api_fail(r, 400, "invalid_parameter", name, msg);
		return false;
	}
	*out = v;
	return true;
}

bool
admin_api_paging(struct admin_req *r, int64_t *page, int64_t *per_page)
{
	return admin_api_query_int(r, "page", 1, 1, 1000000000, page) &&
	    admin_api_query_int(r, "per_page", ADMIN_DEFAULT_PER_PAGE, 1,
	    ADMIN_MAX_PER_PAGE, per_page);
}

void
admin_api_page_fields(json_t *doc, int64_t total, int64_t page,
    int64_t per_page)
{
	(void)json_object_set_new(doc, "total", json_integer(total));
	(void)json_object_set_new(doc, "page", json_integer(page));
	(void)json_object_set_new(doc, "per_page", json_integer(per_page));
	(void)json_object_set_new(doc, "pages",
	    json_integer((total + per_page - 1) / per_page));
}

bool
admin_api_feature_on(struct admin_req *r, const char *name)
{
	char msg[128];
	bool on = false;
	enum ts_rc rc;

	if ((rc = features_get(r->db, name, &on)) != TS_OK) {
		admin_api_db_fail(r, rc, "feature read");
		return false;
	}
	if (!on) {
		(void)snprintf(msg, sizeof(msg), "feature %s is off", name);
		admin_api_fail(r, 409, "feature_disabled", NULL, msg);
	}
	return on;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates. */
static size_t
unique_ids(int64_t *ids, size_t n)
{
	size_t k = 0;

	qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	return k;
}

static bool
bad_ids(struct admin_req *r, const char *field, size_t max)
{
	char msg[160];

	(void)snprintf(msg, sizeof(msg), "%s must list 1 to %zu positive integer"
	    " ids", field, max);
	admin_api_fail(r, 400, "invalid_field", field, msg);
	return false;
}

bool
admin_api_id_list(struct admin_req *r, const json_t *arr, const char *field,
    size_t max, int64_t **ids, size_t *n)
{
	size_t i, count = json_array_size(arr);
	json_t *v;

	*ids = NULL;
	*n = 0;
	if (!json_is_array(arr) || count == 0 || count > max)
		return bad_ids(r, field, max);
	if ((*ids = calloc(count, sizeof(**ids))) == NULL) {
		admin_api_fail(r, 500, "internal", NULL, "out of memory");
		return false;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			free(*ids);
			*ids = NULL;
			return bad_ids(r, field, max);
		}
		(*ids)[i] = json_integer_value(v);
	}
	*n = unique_ids(*ids, count);
	return true;
}

bool
admin_api_id_csv(struct admin_req *r, const char *text, const char *field,
    size_t max, int64_t **ids, size_t *n)
{
	size_t count = 1, k = 0;
	char buf[24];

	*ids = NULL;
	*n = 0;
	for (const char *p = text; *p != '\0'; p++)
		count += *p == ',';
	if (*text == '\0' || count > max)
		return bad_ids(r, field, max);
	if ((*ids = calloc(count, sizeof(**ids))) == NULL) {
		admin_api_fail(r, 500, "internal", NULL, "out of memory");
		return false;
	}
	for (const char *p = text;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		int64_t v;

		if (len == 0 || len >= sizeof(buf))
			goto bad;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (!parse_int64(buf, &v) || v <= 0)
			goto bad;
		(*ids)[k++] = v;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*n = unique_ids(*ids, k);
	return true;
bad:
	free(*ids);
	*ids = NULL;
	return bad_ids(r, field, max);
}

void
admin_api_reply_text(struct admin_req *r, unsigned status, char *text,
    size_t len)
{
	http_response_json_text(r->resp, status, text, len);
}

void
admin_api_reply_profile(struct admin_req *r, unsigned status)
{
	char *text = NULL;
	size_t len = 0;
	enum ts_rc rc;

	rc = profile_get_text(r->db, r->id, r->decimals, r->now, &text, &len);
	if (rc == TS_ERR_NOTFOUND)
		admin_api_fail(r, 404, "not_found", NULL, "no such customer");
	else if (rc != TS_OK)
		admin_api_db_fail(r, rc, "profile read");
	else
		admin_api_reply_text(r, status, text, len);
}

/* ---- routing ----------------------------------------------------------- */

enum method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_COUNT };

static void
action_vip(struct admin_req *r)
{
	admin_customers_action(r, "vip");
}

static void
action_caution(struct admin_req *r)
{
	admin_customers_action(r, "caution");
}

static void
action_do_not_serve(struct admin_req *r)
{
	admin_customers_action(r, "do_not_serve");
}

static void
action_restore(struct admin_req *r)
{
	admin_customers_action(r, "restore");
}

/* "{}" in a pattern matches a positive decimal id. */
static const struct route {
	const char *pattern;
	const char *allow;
	admin_route_fn fn[M_COUNT];	/* GET, POST, PUT, PATCH, DELETE */
} routes[] = {
	{ "/v1/customers", "GET, POST",
	    { admin_customers_list, admin_customers_create, NULL, NULL, NULL } },
	{ "/v1/customers/export.csv", "GET",
	    { admin_csv_customers, NULL, NULL, NULL, NULL } },
	{ "/v1/customers/bulk", "POST",
	    { NULL, admin_customers_bulk, NULL, NULL, NULL } },
	{ "/v1/customers/{}", "GET, PATCH, DELETE",
	    { admin_customers_get, NULL, NULL, admin_customers_patch,
	    admin_erase_route } },
	{ "/v1/customers/{}/actions/vip", "POST",
	    { NULL, action_vip, NULL, NULL, NULL } },
	{ "/v1/customers/{}/actions/caution", "POST",
	    { NULL, action_caution, NULL, NULL, NULL } },
	{ "/v1/customers/{}/actions/do_not_serve", "POST",
	    { NULL, action_do_not_serve, NULL, NULL, NULL } },
	{ "/v1/customers/{}/actions/restore", "POST",
	    { NULL, action_restore, NULL, NULL, NULL } },
	{ "/v1/customers/{}/interactions", "GET, POST",
	    { admin_related_interactions_list, admin_related_interactions_add,
	    NULL, NULL, NULL } },
	{ "/v1/customers/{}/interactions/{}", "DELETE",
	    { NULL, NULL, NULL, NULL, admin_related_interactions_delete } },
	{ "/v1/customers/{}/aliases", "GET, POST",
	    { admin_related_aliases_list, admin_related_aliases_add, NULL, NULL,
	    NULL } },
	{ "/v1/customers/{}/aliases/{}", "DELETE",
	    { NULL, NULL, NULL, NULL, admin_related_aliases_delete } },
	{ "/v1/customers/{}/links", "GET, POST",
	    { admin_related_links_list, admin_related_links_add, NULL, NULL,
	    NULL } },
	{ "/v1/customers/{}/links/{}", "DELETE",
	    { NULL, NULL, NULL, NULL, admin_related_links_delete } },
	{ "/v1/audit/export.csv", "GET",
	    { admin_csv_audit, NULL, NULL, NULL, NULL } },
	{ "/v1/orders/{}/sync", "GET, POST",
	    { admin_sync_order_get, admin_sync_order_post, NULL, NULL, NULL } },
	{ "/v1/sync/failed", "GET",
	    { admin_sync_failed, NULL, NULL, NULL, NULL } },
	{ "/v1/sync/retry", "POST",
	    { NULL, admin_sync_retry, NULL, NULL, NULL } },
	{ "/v1/import", "GET, POST",
	    { admin_sync_import_get, admin_sync_import_post, NULL, NULL, NULL } },
	{ "/v1/tags", "GET",
	    { admin_sync_tags, NULL, NULL, NULL, NULL } },
	{ "/v1/tags/recalculate", "POST",
	    { NULL, admin_sync_tags_recalculate, NULL, NULL, NULL } },
	{ "/v1/features", "GET, PUT",
	    { admin_sync_features_get, NULL, admin_sync_features_put, NULL,
	    NULL } },
};

static int
method_index(const char *m)
{
	static const char *const names[M_COUNT] = { "GET", "POST", "PUT",
		"PATCH", "DELETE" };

	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(m, names[i]) == 0)
			return i;
	return -1;
}

/* An id segment: 1 to 15 digits, no leading zero, positive. */
static bool
id_segment(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 15 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Match path against pattern; ids[] gets the {} values. */
static bool
match(const char *pattern, const char *path, int64_t ids[2])
{
	const char *p = pattern, *q = path;
	int n = 0;

	ids[0] = ids[1] = 0;
	while (*p != '\0' && *q != '\0') {
		if (p[0] == '{' && p[1] == '}') {
			size_t len = strcspn(q, "/");
			if (n >= 2 || !id_segment(q, len, &ids[n++]))
				return false;
			p += 2;
			q += len;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	return *p == '\0' && *q == '\0';
}

/* "Bearer <token>" with the right token, compared in constant time. */
static bool
authorised(const struct admin_api *api, const struct http_request *req)
{
	const char *h = http_request_header(req, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return api->cfg->admin_token != NULL &&
	    hmac_str_equal(h, api->cfg->admin_token);
}

/* A printable actor of at most ADMIN_ACTOR_MAX bytes, valid UTF-8. */
static bool
actor_valid(const char *a)
{
	size_t len = strlen(a);
	json_t *probe;

	if (len == 0 || len > ADMIN_ACTOR_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	/* jansson validates UTF-8 for us. */
	if ((probe = json_string(a)) == NULL)
		return false;
	json_decref(probe);
	return true;
}

static void
load_store_settings(struct admin_req *r)
{
	sqlite3_stmt *st = NULL;

	r->decimals = 2;
	r->currency[0] = '\0';
	if (db_stmt(r->db, "SELECT key, value FROM kv"
	    " WHERE key IN ('store.decimals', 'store.currency')", &st) != TS_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);
		if (k == NULL || v == NULL)
			continue;
		if (strcmp(k, "store.decimals") == 0 && v[0] >= '0' && v[0] <= '4' &&
		    v[1] == '\0')
			r->decimals = v[0] - '0';
		else if (strcmp(k, "store.currency") == 0)
			(void)snprintf(r->currency, sizeof(r->currency), "%s", v);
	}
out:
	db_stmt_done(r->db, st);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct admin_api *api = ctx;
	struct admin_req r = { .api = api, .http = req, .resp = resp };
	const struct route *route = NULL;
	const char *actor;
	int64_t started = now_ms(), ids[2];
	int m = method_index(req->method);
	enum ts_rc rc;

	r.now = (int64_t)time(NULL);
	if (strcmp(req->path, "/healthz") == 0) {
		if (strcmp(req->method, "GET") != 0) {
			admin_api_fail(&r, 405, "method_not_allowed", NULL,
			    "use GET");
			resp->allow = "GET";
			return;
		}
		if ((rc = pool_take(api, &r.db)) != TS_OK) {
			admin_api_db_fail(&r, rc, "open");
			return;
		}
		admin_sync_healthz(&r);
		pool_give(api, r.db);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		if (strcmp(req->method, "GET") != 0) {
			admin_api_fail(&r, 405, "method_not_allowed", NULL, "use GET");
			resp->allow = "GET";
			return;
		}
		if (!listen_is_loopback(api->cfg->admin_listen) && !authorised(api, req)) {
			admin_api_fail(&r, 401, "unauthorized", NULL,
			    "missing or wrong bearer token");
			return;
		}
		if ((rc = pool_take(api, &r.db)) != TS_OK) {
			admin_api_db_fail(&r, rc, "open");
			return;
		}
		admin_sync_metrics(&r);
		pool_give(api, r.db);
		return;
	}
	if (!authorised(api, req)) {
		log_info("admin: rejected status=401 method=%s path=%s",
		    req->method, req->path);
		admin_api_fail(&r, 401, "unauthorized", NULL,
		    "missing or wrong bearer token");
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (match(routes[i].pattern, req->path, ids)) {
			route = &routes[i];
			break;
		}
	if (route == NULL) {
		admin_api_fail(&r, 404, "not_found", NULL, "no such route");
		return;
	}
	if (m < 0 || route->fn[m] == NULL) {
		admin_api_fail(&r, 405, "method_not_allowed", NULL,
		    "method not allowed on this route");
		resp->allow = route->allow;
		return;
	}
	actor = http_request_header(req, "X-Tracksies-Actor");
	if (actor == NULL)
		actor = "api";
	if (!actor_valid(actor)) {
		admin_api_fail(&r, 400, "invalid_header", "X-Tracksies-Actor",
		    "X-Tracksies-Actor must be 1 to 100 printable UTF-8 bytes");
		return;
	}
	r.actor = actor;
	r.id = ids[0];
	r.sub_id = ids[1];
	if ((rc = pool_take(api, &r.db)) != TS_OK) {
		admin_api_db_fail(&r, rc, "open");
		return;
	}
	load_store_settings(&r);
	route->fn[m](&r);
	pool_give(api, r.db);
	if (m == M_GET)
		log_debug("admin: %s %s status=%u ms=%" PRId64, req->method,
		    req->path, resp->status, now_ms() - started);
	else
		log_info("admin: %s %s status=%u actor=%s ms=%" PRId64, req->method,
		    req->path, resp->status, actor, now_ms() - started);
}

/* ---- lifecycle --------------------------------------------------------- */

static void
set_errmsg(char **errmsg, const char *what, const char *detail)
{
	size_t len;

	if (errmsg == NULL)
		return;
	len = strlen(what) + (detail != NULL ? strlen(detail) : 0) + 4;
	if ((*errmsg = malloc(len)) != NULL)
		(void)snprintf(*errmsg, len, "%s%s%s", what, detail ? ": " : "",
		    detail ? detail : "");
}

static void
free_api(struct admin_api *api)
{
	if (api == NULL)
		return;
	/* An import in flight stops at its checkpoint and resumes next time. */
	import_slot_fini(&api->import);
	/* The listener has stopped: every connection is back in the pool. */
	for (size_t i = 0; i < api->n_idle; i++)
		db_close(api->idle[i]);
	free(api->idle);
	free(api->idle_since);
	(void)pthread_cond_destroy(&api->available);
	(void)pthread_mutex_destroy(&api->lock);
	free(api);
}

enum ts_rc
admin_api_start(const struct admin_api_options *opt, struct admin_api **out,
    char **errmsg)
{
	struct admin_api *api = NULL;
	struct http_server_options hopt = { 0 };
	unsigned threads = opt->threads > 0 ? opt->threads : DEFAULT_THREADS;
	char *err = NULL;
	enum ts_rc rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if ((api = calloc(1, sizeof(*api))) == NULL)
		return TS_ERR_NOMEM;
	api->cfg = opt->cfg;
	api->queue = opt->queue;
	api->worker = opt->worker;
	api->intake = opt->intake;
	api->started_at = opt->started_at;
	import_slot_init(&api->import);
	(void)pthread_mutex_init(&api->lock, NULL);
	(void)pthread_cond_init(&api->available, NULL);
	api->max_open = threads;
	if ((api->idle = calloc(threads, sizeof(*api->idle))) == NULL ||
	    (api->idle_since = calloc(threads, sizeof(*api->idle_since))) == NULL) {
		rc = TS_ERR_NOMEM;
		goto fail;
	}
	/* One now, so that an unusable database fails the start; more on demand. */
	if ((rc = pool_open(api, &api->idle[0], &err)) != TS_OK) {
		set_errmsg(errmsg, "admin: cannot open the database",
		    err != NULL ? err : rc_name(rc));
		free(err);
		goto fail;
	}
	api->idle_since[0] = mono_s();
	api->n_idle = api->n_open = 1;
	hopt.name = "admin";
	hopt.listen = opt->cfg->admin_listen;
	hopt.max_body_bytes = opt->max_body_bytes > 0 ? opt->max_body_bytes :
	    DEFAULT_BODY_BYTES;
	hopt.threads = threads;
	hopt.handler = handle;
	hopt.ctx = api;
	if ((rc = http_server_start(&hopt, &api->srv, errmsg)) != TS_OK)
		goto fail;
	*out = api;
	return TS_OK;
fail:
	free_api(api);
	return rc;
}

uint16_t
admin_api_port(const struct admin_api *api)
{
	return http_server_port(api->srv);
}

unsigned
admin_api_in_flight(const struct admin_api *api)
{
	return http_server_in_flight(api->srv);
}

void
admin_api_stop(struct admin_api *api)
{
	if (api == NULL)
		return;
	http_server_stop(api->srv, DRAIN_MS);
	free_api(api);
}
