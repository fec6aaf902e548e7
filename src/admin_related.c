/* SPDX-License-Identifier: MIT */
/*
 * What hangs off one customer, through the admin API: interactions (the
 * timeline), aliases (other emails of the same person, matched by the sync
 * from then on) and links to other customer profiles. Every write leaves an
 * audit row naming the field, never a personal value.
 */
#include "admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/profile.h"
#include "tracksies/wc_order.h"

static const char *const interaction_types[] = { "call", "email", "note",
	"complaint", "compliment", "refund", "return", "preference",
	"contact_form", "other", NULL };

/* 404 unless r->id exists; false after answering. */
static bool
customer_exists(struct admin_req *r)
{
	enum ts_rc rc = admin_customers_exists(r, r->id);

	if (rc == TS_ERR_NOTFOUND)
		admin_api_fail(r, 404, "not_found", NULL, "no such customer");
	else if (rc != TS_OK)
		admin_api_db_fail(r, rc, "customer look-up");
	return rc == TS_OK;
}

static json_t *
interaction_json(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "customer_id", (json_int_t)sqlite3_column_int64(st, 1),
	    "type", admin_col_text(st, 2), "summary", admin_col_text(st, 3),
	    "details", admin_col_text(st, 4), "resolution", admin_col_text(st, 5),
	    "staff", admin_col_text(st, 6), "source_url", admin_col_text(st, 7),
	    "occurred_at", admin_col_time(st, 8), "created_at", admin_col_time(st, 9),
	    "created_by", admin_col_text(st, 10));
}

#define INTERACTION_COLS "id, customer_id, type, summary, details, resolution," \
	" staff, source_url, occurred_at, created_at, created_by"

void
admin_related_interactions_list(struct admin_req *r)
{
	sqlite3_stmt *st = NULL;
	json_t *list = NULL, *doc;
	int64_t page, per_page, total = 0;
	enum ts_rc rc;
	int src;

	if (!admin_api_paging(r, &page, &per_page) || !customer_exists(r))
		return;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT count(*)"
	    " FROM customer_interactions WHERE customer_id = ?1", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT "
	    INTERACTION_COLS " FROM customer_interactions WHERE customer_id = ?1"
	    " ORDER BY occurred_at DESC, id DESC LIMIT ?2 OFFSET ?3", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	(void)sqlite3_bind_int64(st, 2, per_page);
	(void)sqlite3_bind_int64(st, 3, (page - 1) * per_page);
	list = json_array();
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(list, interaction_json(st));
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto dbfail;
	}
	doc = json_pack("{s:O}", "interactions", list);
	admin_api_page_fields(doc, total, page, per_page);
	admin_api_reply(r, 200, doc);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "interaction list");
out:
	(void)sqlite3_finalize(st);
	json_decref(list);
}

static bool
url_valid(const char *u)
{
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

void
admin_related_interactions_add(struct admin_req *r)
{
	static const char *const allowed[] = { "type", "summary", "details",
		"resolution", "staff", "source_url", "occurred_at", NULL };
	const char *type = NULL, *summary = NULL, *details = NULL,
	    *resolution = NULL, *staff = NULL, *url = NULL, *when = NULL;
	sqlite3_stmt *st = NULL;
	int64_t occurred_at, id;
	json_t *body = NULL;
	size_t i;
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed) ||
	    !admin_api_string(r, body, "type", 32, false, false, &type, NULL) ||
	    !admin_api_string(r, body, "summary", 500, false, false, &summary,
	    NULL) ||
	    !admin_api_string(r, body, "details", 20000, false, true, &details,
	    NULL) ||
	    !admin_api_string(r, body, "resolution", 2000, false, true,
	    &resolution, NULL) ||
	    !admin_api_string(r, body, "staff", 100, false, false, &staff, NULL) ||
	    !admin_api_string(r, body, "source_url", 2000, true, false, &url,
	    NULL) ||
	    !admin_api_string(r, body, "occurred_at", 40, true, false, &when, NULL))
		goto out;
	for (i = 0; type != NULL && interaction_types[i] != NULL; i++)
		if (strcmp(type, interaction_types[i]) == 0)
			break;
	if (type == NULL || interaction_types[i] == NULL) {
		admin_api_fail(r, 400, type == NULL ? "missing_field" :
		    "invalid_field", "type", "type must be call, email, note,"
		    " complaint, compliment, refund, return, preference, contact_form"
		    " or other");
		goto out;
	}
	if (summary == NULL || summary[0] == '\0') {
		admin_api_fail(r, 400, "missing_field", "summary",
		    "summary is required");
		goto out;
	}
	if (url != NULL && !url_valid(url)) {
		admin_api_fail(r, 400, "invalid_field", "source_url",
		    "source_url must be an http:// or https:// URL");
		goto out;
	}
	occurred_at = r->now;
	if (when != NULL && wc_order_parse_time(when, &occurred_at) != TS_OK) {
		admin_api_fail(r, 400, "invalid_field", "occurred_at",
		    "occurred_at must be ISO 8601 UTC, e.g. 2026-11-23T04:46:06Z");
		goto out;
	}
	if (!admin_api_feature_on(r, FEATURE_INTERACTIONS))
		goto out;
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if (!customer_exists(r))
		goto out;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "INSERT INTO"
	    " customer_interactions (customer_id, type, summary, details,"
	    " resolution, staff, source_url, occurred_at, created_at, created_by)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	(void)sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 3, summary, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 4, details ? details : "", -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 5, resolution ? resolution : "", -1,
	    SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 6, staff ? staff : r->actor, -1,
	    SQLITE_STATIC);
	if (url != NULL)
		(void)sqlite3_bind_text(st, 7, url, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 8, occurred_at);
	(void)sqlite3_bind_int64(st, 9, r->now);
	(void)sqlite3_bind_text(st, 10, r->actor, -1, SQLITE_STATIC);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto dbfail;
	(void)sqlite3_finalize(st);
	st = NULL;
	id = sqlite3_last_insert_rowid(db_handle(r->db));
	if ((rc = profile_audit(r->db, r->id, r->now, r->actor,
	    "interaction_added", "type", NULL, type, NULL)) != TS_OK ||
	    (rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT "
	    INTERACTION_COLS " FROM customer_interactions WHERE id = ?1", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = TS_ERR_IO;
		goto dbfail;
	}
	admin_api_reply(r, 201, json_pack("{s:o}", "interaction",
	    interaction_json(st)));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "interaction insert");
out:
	db_rollback(r->db);
	(void)sqlite3_finalize(st);
	json_decref(body);
}

/* Delete with sql (?1 = customer id, ?2 = sub id) and audit; 204 or 404. */
static void
delete_child(struct admin_req *r, const char *sql, const char *action,
    const char *field, const char *what)
{
	sqlite3_stmt *st = NULL;
	char value[24];
	enum ts_rc rc;

	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), sql, -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	(void)sqlite3_bind_int64(st, 2, r->sub_id);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto dbfail;
	if (sqlite3_changes(db_handle(r->db)) == 0) {
		admin_api_fail(r, 404, "not_found", NULL, what);
		goto out;
	}
	(void)snprintf(value, sizeof(value), "%lld", (long long)r->sub_id);
	/* A link names the other customer's id; an alias only its row id. */
	if ((rc = profile_audit(r->db, r->id, r->now, r->actor, action, field,
	    value, NULL, NULL)) != TS_OK)
		goto dbfail;
	(void)snprintf(value, sizeof(value), "%lld", (long long)r->id);
	if (strcmp(field, "link") == 0 && (rc = profile_audit(r->db, r->sub_id,
	    r->now, r->actor, action, field, value, NULL, NULL)) != TS_OK)
		goto dbfail;
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	r->resp->status = 204;
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "delete");
out:
	db_rollback(r->db);
	(void)sqlite3_finalize(st);
}

void
admin_related_interactions_delete(struct admin_req *r)
{
	delete_child(r, "DELETE FROM customer_interactions WHERE customer_id = ?1"
	    " AND id = ?2", "interaction_removed", "interaction",
	    "no such interaction for this customer");
}

/* ---- aliases ----------------------------------------------------------- */

static json_t *
alias_json(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:I,s:o,s:o}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "customer_id", (json_int_t)sqlite3_column_int64(st, 1),
	    "email", admin_col_text(st, 2), "created_at", admin_col_time(st, 3));
}

void
admin_related_aliases_list(struct admin_req *r)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	enum ts_rc rc;
	int src;

	if (!customer_exists(r))
		goto out;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT id,"
	    " customer_id, email, created_at FROM customer_aliases"
	    " WHERE customer_id = ?1 ORDER BY id", -1, &st, NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(list, alias_json(st));
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto dbfail;
	}
	admin_api_reply(r, 200, json_pack("{s:O}", "aliases", list));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "alias list");
out:
	(void)sqlite3_finalize(st);
	json_decref(list);
}

void
admin_related_aliases_add(struct admin_req *r)
{
	static const char *const allowed[] = { "email", NULL };
	sqlite3_stmt *st = NULL;
	json_t *body = NULL;
	char *email = NULL;
	int64_t id;
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed) ||
	    (email = admin_customers_email(r, body, "email")) == NULL ||
	    !admin_api_feature_on(r, FEATURE_ALIASES))
		goto out;
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	/* An alias never shadows a primary email or another alias. */
	if (!customer_exists(r) || !admin_customers_email_free(r, email, "email"))
		goto out;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "INSERT INTO"
	    " customer_aliases (customer_id, email, created_at) VALUES (?1, ?2,"
	    " ?3)", -1, &st, NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, r->id);
	(void)sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, r->now);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto dbfail;
	(void)sqlite3_finalize(st);
	st = NULL;
	id = sqlite3_last_insert_rowid(db_handle(r->db));
	if ((rc = profile_audit(r->db, r->id, r->now, r->actor, "alias_added",
	    "alias", NULL, NULL, NULL)) != TS_OK ||
	    (rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	admin_api_reply(r, 201, json_pack("{s:{s:I,s:I,s:s,s:o}}", "alias",
	    "id", (json_int_t)id, "customer_id", (json_int_t)r->id,
	    "email", email, "created_at", profile_time_json(r->now)));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "alias insert");
out:
	db_rollback(r->db);
	(void)sqlite3_finalize(st);
	free(email);
	json_decref(body);
}

void
admin_related_aliases_delete(struct admin_req *r)
{
	delete_child(r, "DELETE FROM customer_aliases WHERE customer_id = ?1"
	    " AND id = ?2", "alias_removed", "alias",
	    "no such alias for this customer");
}

/* ---- links ------------------------------------------------------------- */

static void
reply_links(struct admin_req *r, unsigned status)
{
	json_t *links = NULL, *warnings = json_array(), *l;
	size_t i;
	enum ts_rc rc;

	if ((rc = profile_links(r->db, r->id, &links)) != TS_OK) {
		json_decref(warnings);
		admin_api_db_fail(r, rc, "link list");
		return;
	}
	json_array_foreach(links, i, l)
		if (json_is_object(json_object_get(l, "warning")))
			(void)json_array_append(warnings, json_object_get(l, "warning"));
	admin_api_reply(r, status, json_pack("{s:o,s:o}", "links", links,
	    "warnings", warnings));
}

void
admin_related_links_list(struct admin_req *r)
{
	if (customer_exists(r))
		reply_links(r, 200);
}

void
admin_related_links_add(struct admin_req *r)
{
	static const char *const allowed[] = { "other_id", NULL };
	sqlite3_stmt *st = NULL;
	json_t *body = NULL, *v;
	int64_t other, lo, hi;
	char value[24];
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed))
		goto out;
	v = json_object_get(body, "other_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		admin_api_fail(r, 400, v == NULL ? "missing_field" : "invalid_field",
		    "other_id", "other_id must be a customer id");
		goto out;
	}
	other = json_integer_value(v);
	if (other == r->id) {
		admin_api_fail(r, 400, "invalid_field", "other_id",
		    "a customer cannot be linked to itself");
		goto out;
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if (!customer_exists(r))
		goto out;
	if ((rc = admin_customers_exists(r, other)) == TS_ERR_NOTFOUND) {
		admin_api_fail(r, 404, "not_found", "other_id",
		    "no customer with that other_id");
		goto out;
	} else if (rc != TS_OK) {
		goto dbfail;
	}
	lo = r->id < other ? r->id : other;
	hi = r->id < other ? other : r->id;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "INSERT INTO"
	    " customer_links (customer_id, other_id, created_at, created_by)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_int64(st, 1, lo);
	(void)sqlite3_bind_int64(st, 2, hi);
	(void)sqlite3_bind_int64(st, 3, r->now);
	(void)sqlite3_bind_text(st, 4, r->actor, -1, SQLITE_STATIC);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto dbfail;
	if (sqlite3_changes(db_handle(r->db)) == 0) {
		admin_api_fail(r, 409, "already_linked", "other_id",
		    "these customers are linked already");
		goto out;
	}
	(void)snprintf(value, sizeof(value), "%lld", (long long)other);
	if ((rc = profile_audit(r->db, r->id, r->now, r->actor, "link_added",
	    "link", NULL, value, NULL)) != TS_OK)
		goto dbfail;
	(void)snprintf(value, sizeof(value), "%lld", (long long)r->id);
	if ((rc = profile_audit(r->db, other, r->now, r->actor, "link_added",
	    "link", NULL, value, NULL)) != TS_OK ||
	    (rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	reply_links(r, 201);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "link insert");
out:
	db_rollback(r->db);
	(void)sqlite3_finalize(st);
	json_decref(body);
}

void
admin_related_links_delete(struct admin_req *r)
{
	delete_child(r, "DELETE FROM customer_links WHERE (customer_id = ?1 AND"
	    " other_id = ?2) OR (customer_id = ?2 AND other_id = ?1)",
	    "link_removed", "link", "these customers are not linked");
}
