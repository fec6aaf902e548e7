/* SPDX-License-Identifier: MIT */
/*
 * Status quick actions (Mark as VIP, Flag Caution, Do Not Serve, Restore
 * Access) and the bulk actions of the customer list (status change, GDPR
 * erasure of many customers in one transaction).
 */
#include "admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/profile.h"

#define REASON_MAX 2000

enum ts_rc
admin_customers_exists(struct admin_req *r, int64_t id)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT 1 FROM"
	    " customers WHERE id = ?1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
	(void)sqlite3_finalize(st);
	return rc;
}

static enum ts_rc
current_status(struct admin_req *r, int64_t id, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	buf[0] = '\0';
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT status FROM"
	    " customers WHERE id = ?1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)snprintf(buf, size, "%s", sqlite3_column_text(st, 0));
	else
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
	(void)sqlite3_finalize(st);
	return rc;
}

void
admin_customers_action(struct admin_req *r, const char *action)
{
	static const char *const allowed[] = { "reason", NULL };
	json_t *body = NULL;
	const char *reason = NULL, *status = action;
	char current[16];
	bool changed;
	enum ts_rc rc;

	if (r->http->body_len > 0) {
		if ((body = admin_api_body(r)) == NULL)
			return;
		if (!admin_api_only_keys(r, body, allowed) ||
		    !admin_api_string(r, body, "reason", REASON_MAX, true, true,
		    &reason, NULL))
			goto out;
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if ((rc = current_status(r, r->id, current, sizeof(current))) ==
	    TS_ERR_NOTFOUND) {
		admin_api_fail(r, 404, "not_found", NULL, "no such customer");
		goto out;
	} else if (rc != TS_OK) {
		goto dbfail;
	}
	if (strcmp(action, "restore") == 0) {
		/* Restore Access exists only for a banned customer (the seed). */
		if (strcmp(current, "do_not_serve") != 0) {
			admin_api_fail(r, 409, "invalid_state", NULL,
			    "restore applies only to a do_not_serve customer");
			goto out;
		}
		status = "active";
	}
	if ((rc = profile_set_status(r->db, r->id, status, reason, r->actor,
	    r->now, &changed)) != TS_OK)
		goto dbfail;
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	admin_api_reply_profile(r, 200);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "status change");
out:
	db_rollback(r->db);
	json_decref(body);
}

static void
bulk_set_status(struct admin_req *r, const json_t *body, const int64_t *ids,
    size_t n)
{
	const char *status = NULL, *reason = NULL;
	json_t *missing = json_array();
	int64_t updated = 0, unchanged = 0;
	bool changed;
	enum ts_rc rc;

	if (!admin_api_string(r, body, "status", 16, false, false, &status,
	    NULL) ||
	    !admin_api_string(r, body, "reason", REASON_MAX, true, true, &reason,
	    NULL))
		goto out;
	if (!profile_status_valid(status)) {
		admin_api_fail(r, 400, status == NULL ? "missing_field" :
		    "invalid_field", "status", "status must be active, vip, caution"
		    " or do_not_serve");
		goto out;
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	for (size_t i = 0; i < n; i++) {
		rc = profile_set_status(r->db, ids[i], status, reason, r->actor,
		    r->now, &changed);
		if (rc == TS_ERR_NOTFOUND) {
			(void)json_array_append_new(missing, json_integer(ids[i]));
			continue;
		}
		if (rc != TS_OK)
			goto dbfail;
		if (changed)
			updated++;
		else
			unchanged++;
	}
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	admin_api_reply(r, 200, json_pack("{s:s,s:I,s:I,s:O}", "action",
	    "set_status", "updated", (json_int_t)updated, "unchanged",
	    (json_int_t)unchanged, "not_found", missing));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "bulk status change");
out:
	db_rollback(r->db);
	json_decref(missing);
}

static void
bulk_delete(struct admin_req *r, const int64_t *ids, size_t n)
{
	json_t *missing = json_array(), *erasures = json_array();
	int64_t *orders = NULL;
	size_t n_orders = 0, queued;
	enum ts_rc rc;

	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	for (size_t i = 0; i < n; i++) {
		struct admin_erasure e;

		rc = admin_erase_customer(r, ids[i], &e, &orders, &n_orders);
		if (rc == TS_ERR_NOTFOUND) {
			(void)json_array_append_new(missing, json_integer(ids[i]));
			continue;
		}
		if (rc != TS_OK)
			goto dbfail;
		(void)json_array_append_new(erasures, json_pack("{s:I,s:I}",
		    "erasure_id", (json_int_t)e.erasure_id,
		    "order_count", (json_int_t)e.order_count));
	}
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	queued = admin_erase_queue_orders(r, orders, n_orders);
	admin_erase_checkpoint(r);
	admin_api_reply(r, 200, json_pack("{s:s,s:I,s:O,s:O,s:I}", "action",
	    "delete", "erased", (json_int_t)json_array_size(erasures),
	    "erasures", erasures, "not_found", missing,
	    "orders_queued", (json_int_t)queued));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "bulk erasure");
out:
	db_rollback(r->db);
	free(orders);
	json_decref(missing);
	json_decref(erasures);
}

void
admin_customers_bulk(struct admin_req *r)
{
	static const char *const allowed[] = { "action", "ids", "status",
		"reason", NULL };
	json_t *body;
	const char *action = NULL;
	int64_t *ids = NULL;
	size_t n = 0;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed) ||
	    !admin_api_string(r, body, "action", 32, false, false, &action, NULL))
		goto out;
	if (action == NULL || (strcmp(action, "set_status") != 0 &&
	    strcmp(action, "delete") != 0)) {
		admin_api_fail(r, 400, action == NULL ? "missing_field" :
		    "invalid_field", "action", "action must be set_status or delete");
		goto out;
	}
	if (!admin_api_id_list(r, json_object_get(body, "ids"), "ids",
	    ADMIN_MAX_BULK, &ids, &n))
		goto out;
	if (strcmp(action, "set_status") == 0)
		bulk_set_status(r, body, ids, n);
	else
		bulk_delete(r, ids, n);
out:
	free(ids);
	json_decref(body);
}
