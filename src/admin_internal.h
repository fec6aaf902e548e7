/* SPDX-License-Identifier: MIT */
/*
 * Shared by the admin API's files (admin_api.c: listener, pool, auth,
 * routing, JSON helpers; admin_customers.c, admin_bulk.c, admin_related.c,
 * admin_erase.c,
 * admin_csv.c, admin_sync.c: the routes). Not a public interface.
 */
#ifndef TRACKSIES_ADMIN_INTERNAL_H
#define TRACKSIES_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "tracksies/admin_api.h"
#include "tracksies/http_server.h"
#include "tracksies/rc.h"

struct db;

#define ADMIN_MAX_PER_PAGE 100
#define ADMIN_DEFAULT_PER_PAGE 20
#define ADMIN_MAX_BULK 1000		/* ids in one bulk request */
#define ADMIN_ACTOR_MAX 100

/* One request: everything a route handler needs, borrowed for the call. */
struct admin_req {
	struct admin_api *api;
	const struct http_request *http;
	struct http_response *resp;
	struct db *db;			/* this request's pooled connection */
	const char *actor;		/* X-Tracksies-Actor or "api" */
	int64_t now;			/* unix seconds at arrival */
	int decimals;			/* kv store.decimals, default 2 */
	char currency[8];		/* kv store.currency, "" when unknown */
	int64_t id;			/* first {id} of the path, 0 when none */
	int64_t sub_id;			/* second {id}, 0 when none */
};

typedef void (*admin_route_fn)(struct admin_req *r);

/* What the routes need from struct admin_api (defined in admin_api.c). */
struct queue *admin_api_queue(const struct admin_api *api);
struct worker *admin_api_worker(const struct admin_api *api);
const struct intake_counters *admin_api_intake(const struct admin_api *api);
struct import_slot *admin_api_import(struct admin_api *api);
/* A result column as JSON: text (or null), unix seconds as ISO 8601 (or null). */
json_t *admin_col_text(sqlite3_stmt *st, int col);
json_t *admin_col_time(sqlite3_stmt *st, int col);
const struct config *admin_api_config(const struct admin_api *api);
void admin_sync_import_get(struct admin_req *r);
void admin_sync_tags_recalculate(struct admin_req *r);
void admin_sync_import_post(struct admin_req *r);
int64_t admin_api_started_at(const struct admin_api *api);
/* GET /metrics: Prometheus text (metrics.h). */
void admin_sync_metrics(struct admin_req *r);

/* Answer status with doc (stolen). */
void admin_api_reply(struct admin_req *r, unsigned status, json_t *doc);

/* Answer status with JSON text already written; text (malloc'd) is taken. */
void admin_api_reply_text(struct admin_req *r, unsigned status, char *text,
    size_t len);

/*
 * Answer {"error":{"code","message"[,"field"]}}. field may be NULL; a 400
 * for a bad input names the field.
 */
void admin_api_fail(struct admin_req *r, unsigned status, const char *code,
    const char *field, const char *message);

/* Answer for a database failure: 503 when busy, 500 otherwise. Logs. */
void admin_api_db_fail(struct admin_req *r, enum ts_rc rc, const char *what);

/*
 * The request body as a JSON object (owned by the caller), or NULL after
 * answering 400 (not JSON, not an object).
 */
json_t *admin_api_body(struct admin_req *r);

/*
 * Answer 400 and return false when obj has a key not in allowed (a
 * NULL-terminated list).
 */
bool admin_api_only_keys(struct admin_req *r, const json_t *obj,
    const char *const allowed[]);

/*
 * Optional string member key of obj: *out is NULL when absent (and, with
 * nullable, when null). Answers 400 and returns false for a wrong type, a
 * string longer than max_len bytes, or one with control characters other
 * than tab, CR and LF (those only with multiline).
 */
bool admin_api_string(struct admin_req *r, const json_t *obj, const char *key,
    size_t max_len, bool nullable, bool multiline, const char **out,
    bool *present);

/*
 * Query argument name as an integer in [min, max], def when absent. Answers
 * 400 and returns false otherwise.
 */
bool admin_api_query_int(struct admin_req *r, const char *name, int64_t def,
    int64_t min, int64_t max, int64_t *out);

/* page and per_page from the query string (defaults 1 and 20). */
bool admin_api_paging(struct admin_req *r, int64_t *page, int64_t *per_page);

/* Adds "total", "page", "per_page", "pages" to doc. */
void admin_api_page_fields(json_t *doc, int64_t total, int64_t page,
    int64_t per_page);

/*
 * True when feature name is on; otherwise answers 409 feature_disabled (or
 * the database failure) and returns false.
 */
bool admin_api_feature_on(struct admin_req *r, const char *name);

/*
 * Parse a JSON array of positive integer ids (1..max of them, duplicates
 * dropped) into *ids (owned, free()). Answers 400 naming field and returns
 * false otherwise.
 */
bool admin_api_id_list(struct admin_req *r, const json_t *arr,
    const char *field, size_t max, int64_t **ids, size_t *n);

/* Parse "1,2,3" the same way. */
bool admin_api_id_csv(struct admin_req *r, const char *text,
    const char *field, size_t max, int64_t **ids, size_t *n);

/* Reply with the full profile of r->id (200 or status). */
void admin_api_reply_profile(struct admin_req *r, unsigned status);

/* Routes (admin_customers.c; actions and bulk in admin_bulk.c). */
/* The SQL functions the customer list uses, on a pooled connection. */
enum ts_rc admin_customers_db_init(struct db *db);
void admin_customers_list(struct admin_req *r);
void admin_customers_create(struct admin_req *r);
void admin_customers_get(struct admin_req *r);
void admin_customers_patch(struct admin_req *r);
void admin_customers_action(struct admin_req *r, const char *action);
void admin_customers_bulk(struct admin_req *r);

/*
 * A normalised, valid email from member key of body, or NULL after
 * answering 400. Owned by the caller.
 */
char *admin_customers_email(struct admin_req *r, const json_t *body,
    const char *key);

/*
 * True when no customer and no alias has email; otherwise answers 409
 * email_in_use naming field (or the database failure).
 */
bool admin_customers_email_free(struct admin_req *r, const char *email,
    const char *field);

/* TS_OK when customer id exists, TS_ERR_NOTFOUND when not. */
enum ts_rc admin_customers_exists(struct admin_req *r, int64_t id);

/*
 * The list filters of a request (status, q, tag, sort, order) as a
 * prepared SELECT of PROFILE_SUMMARY_COLUMNS with paging (limit < 0: all
 * rows), or of the customer ids only. On false the answer was set (400 or a
 * database failure). Used by the list and the CSV exports.
 */
struct admin_filter;
bool admin_customers_filter(struct admin_req *r, struct admin_filter **out);
void admin_customers_filter_free(struct admin_filter *f);
enum ts_rc admin_customers_select(struct admin_req *r,
    const struct admin_filter *f, bool ids_only, int64_t limit, int64_t offset,
    sqlite3_stmt **out);
enum ts_rc admin_customers_count(struct admin_req *r,
    const struct admin_filter *f, int64_t *total);

/* Routes (admin_related.c): interactions, aliases, links. */
void admin_related_interactions_list(struct admin_req *r);
void admin_related_interactions_add(struct admin_req *r);
void admin_related_interactions_delete(struct admin_req *r);
void admin_related_aliases_list(struct admin_req *r);
void admin_related_aliases_add(struct admin_req *r);
void admin_related_aliases_delete(struct admin_req *r);
void admin_related_links_list(struct admin_req *r);
void admin_related_links_add(struct admin_req *r);
void admin_related_links_delete(struct admin_req *r);

/* GDPR erasure (admin_erase.c). */
struct admin_erasure {
	int64_t erasure_id;
	int64_t order_count;
};
/*
 * Erase customer id inside the caller's transaction: the customer row and
 * everything personal tied to it (see the file's comment). order_ids (may
 * be NULL) gets the erased orders appended for the meta removal, which the
 * caller queues after the commit. TS_ERR_NOTFOUND, TS_ERR_IO, ...
 */
enum ts_rc admin_erase_customer(struct admin_req *r, int64_t id,
    struct admin_erasure *out, int64_t **order_ids, size_t *n_orders);
/* Queue order.erase for each order (after the commit); how many queued. */
size_t admin_erase_queue_orders(struct admin_req *r, const int64_t *order_ids,
    size_t n);
/* Best-effort checkpoint so that no old page image stays in the WAL. */
void admin_erase_checkpoint(struct admin_req *r);
void admin_erase_route(struct admin_req *r);

/* CSV exports (admin_csv.c). */
void admin_csv_customers(struct admin_req *r);
void admin_csv_audit(struct admin_req *r);

/* Sync, features, tags, import, health (admin_sync.c). */
void admin_sync_order_get(struct admin_req *r);
void admin_sync_order_post(struct admin_req *r);
void admin_sync_failed(struct admin_req *r);
void admin_sync_retry(struct admin_req *r);
void admin_sync_features_get(struct admin_req *r);
void admin_sync_features_put(struct admin_req *r);
void admin_sync_tags(struct admin_req *r);
void admin_sync_not_implemented(struct admin_req *r);
void admin_sync_healthz(struct admin_req *r);

/* Queue one order event (source admin); TS_OK when durable. */
enum ts_rc admin_sync_enqueue(struct admin_req *r, int64_t order_id,
    const char *topic);

#endif
