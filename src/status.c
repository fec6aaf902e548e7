/* SPDX-License-Identifier: MIT */
/*
 * Customer statuses: manual changes with their audit row, and what
 * automatic status rules decide for a customer given which of their
 * conditions hold (evaluated by tags_recalc.c), with the firing state in
 * status_rule_state. The precedence rules are in status.h.
 */
#include "tracksies/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "tracksies/db.h"
#include "tracksies/tags.h"

#define MAX_ACTOR 200
#define MAX_REASON 2000

static const char *const statuses[] = { "active", "vip", "caution", "do_not_serve" };

static const char change_sql[] =
	"UPDATE customers SET status = ?2, status_reason = ?3,"
	" status_changed_at = ?4, status_changed_by = ?5 WHERE id = ?1";
static const char audit_sql[] =
	"INSERT INTO audit_log (customer_id, at, actor, action, field, old_value,"
	" new_value, reason) VALUES (?1, ?4, ?5, 'status_change', 'status', ?6,"
	" ?2, ?3)";

bool
status_valid(const char *status)
{
	if (status == NULL)
		return false;
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(status, statuses[i]) == 0)
			return true;
	return false;
}

static bool
is_rule_actor(const char *actor)
{
	return actor != NULL &&
	    strncmp(actor, STATUS_RULE_ACTOR, strlen(STATUS_RULE_ACTOR)) == 0;
}

/*
 * Whether the current status keeps a rule that last fired at fired_at from
 * acting: it was set by a person (or by no one we know of, if it is not the
 * default) and is do_not_serve or newer than the firing.
 */
static bool
blocked(const char *status, const char *by, bool has_at, int64_t at,
    int64_t fired_at)
{
	bool manual = by == NULL ? strcmp(status, "active") != 0 : !is_rule_actor(by);

	return manual && (strcmp(status, "do_not_serve") == 0 ||
	    (has_at && at > fired_at));
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		(void)sqlite3_bind_null(st, i);
	else
		(void)sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static enum ts_rc
step_done(sqlite3_stmt *st)
{
	enum ts_rc rc = db_rc(sqlite3_step(st));

	(void)sqlite3_reset(st);
	return rc;
}

/* Write the change and its audit row with the two statements given. */
static enum ts_rc
record_change(sqlite3_stmt *change, sqlite3_stmt *audit, int64_t id,
    const char *old_status, const char *new_status, const char *actor,
    const char *reason, int64_t now)
{
	sqlite3_stmt *st[2] = { change, audit };
	enum ts_rc rc;

	for (int i = 0; i < 2; i++) {
		(void)sqlite3_bind_int64(st[i], 1, id);
		bind_text(st[i], 2, new_status);
		bind_text(st[i], 3, reason);
		(void)sqlite3_bind_int64(st[i], 4, now);
		bind_text(st[i], 5, actor);
	}
	bind_text(audit, 6, old_status);
	if ((rc = step_done(change)) != TS_OK)
		return rc;
	return step_done(audit);
}

enum ts_rc
status_set(struct db *db, int64_t customer_id, const char *new_status,
    const char *actor, const char *reason, int64_t now)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *get = NULL, *change = NULL, *audit = NULL;
	char old[16] = "";
	bool own = sqlite3_get_autocommit(h) != 0;
	enum ts_rc rc;
	int src;

	if (!status_valid(new_status) || actor == NULL || *actor == '\0' ||
	    strlen(actor) > MAX_ACTOR || is_rule_actor(actor) ||
	    (reason != NULL && strlen(reason) > MAX_REASON))
		return TS_ERR_INVALID;
	if ((rc = db_exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT status_set")) != TS_OK)
		return rc;
	if ((rc = db_rc(sqlite3_prepare_v2(h, "SELECT status FROM customers"
	    " WHERE id = ?1", -1, &get, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v2(h, change_sql, -1, &change, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v2(h, audit_sql, -1, &audit, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(get, 1, customer_id);
	if ((src = sqlite3_step(get)) == SQLITE_ROW)
		(void)snprintf(old, sizeof(old), "%s", sqlite3_column_text(get, 0));
	else {
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
		goto out;
	}
	rc = record_change(change, audit, customer_id, old, new_status, actor,
	    reason, now);
out:
	(void)sqlite3_finalize(get);
	(void)sqlite3_finalize(change);
	(void)sqlite3_finalize(audit);
	if (rc == TS_OK) {
		rc = db_exec(db, own ? "COMMIT" : "RELEASE status_set");
		if (rc != TS_OK && own)
			db_rollback(db);
	} else if (own) {
		db_rollback(db);
	} else {
		(void)db_exec(db, "ROLLBACK TO status_set");
		(void)db_exec(db, "RELEASE status_set");
	}
	return rc;
}

/* ---- automatic rules -------------------------------------------------- */

enum s_stmt { S_GET, S_STATE, S_ENTER, S_LEAVE, S_CHANGE, S_AUDIT, S_COUNT };

/*
 * The writes are set-based over a JSON array (?1) so that a full
 * recalculation pays one statement journal per chunk, not one per row:
 * customers has triggers and indexes on status, so each row would need one.
 */
static const char *const s_sql[S_COUNT] = {
	[S_GET] = "SELECT status, status_changed_by, status_changed_at FROM customers"
	    " WHERE id = ?1",
	[S_STATE] = "SELECT rule_id, fired_at FROM status_rule_state"
	    " WHERE customer_id = ?1",
	/* [[customer_id, "rule_id"], ...] */
	[S_ENTER] = "INSERT INTO status_rule_state (customer_id, rule_id, fired_at)"
	    " SELECT value ->> 0, value ->> 1, ?2 FROM json_each(?1) WHERE true"
	    " ON CONFLICT DO NOTHING",
	[S_LEAVE] = "DELETE FROM status_rule_state WHERE (customer_id, rule_id) IN"
	    " (SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
	/* [[customer_id, "new", "old", "actor", "reason"], ...] */
	[S_CHANGE] = "UPDATE customers SET status = x.s, status_reason = x.r,"
	    " status_changed_at = ?2, status_changed_by = x.a FROM (SELECT"
	    " value ->> 0 AS c, value ->> 1 AS s, value ->> 3 AS a, value ->> 4 AS r"
	    " FROM json_each(?1)) AS x WHERE customers.id = x.c",
	[S_AUDIT] = "INSERT INTO audit_log (customer_id, at, actor, action, field,"
	    " old_value, new_value, reason) SELECT value ->> 0, ?2, value ->> 3,"
	    " 'status_change', 'status', value ->> 2, value ->> 1, value ->> 4"
	    " FROM json_each(?1)",
};

struct status {
	sqlite3_stmt *st[S_COUNT];
	int64_t *fired;			/* per rule, -1: not holding */
	size_t cap;
	json_t *enter, *leave, *change;	/* work decided, not yet written */
};

enum ts_rc
status_new(struct db *db, struct status **out)
{
	struct status *s;
	enum ts_rc rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TS_ERR_NOMEM;
	if ((s->enter = json_array()) == NULL || (s->leave = json_array()) == NULL ||
	    (s->change = json_array()) == NULL) {
		status_free(s);
		return TS_ERR_NOMEM;
	}
	for (int i = 0; i < S_COUNT; i++)
		if ((rc = db_rc(sqlite3_prepare_v3(db_handle(db), s_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL))) != TS_OK) {
			status_free(s);
			return rc;
		}
	*out = s;
	return TS_OK;
}

void
status_free(struct status *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		(void)sqlite3_finalize(s->st[i]);
	json_decref(s->enter);
	json_decref(s->leave);
	json_decref(s->change);
	free(s->fired);
	free(s);
}

static size_t
rule_index(const struct tags_status_rule *rules, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rules[i].id, id) == 0)
			return i;
	return n;
}

static enum ts_rc
queue(json_t *list, json_t *item)
{
	return item != NULL && json_array_append_new(list, item) == 0 ?
	    TS_OK : TS_ERR_NOMEM;
}

enum ts_rc
status_decide(struct status *s, int64_t customer_id,
    const struct tags_status_rule *rules, const bool *holds, size_t n,
    int64_t now)
{
	sqlite3_stmt *st;
	char cur[16] = "", by[MAX_ACTOR + 1] = "", actor[128];
	bool has_by, has_at;
	int64_t at;
	size_t w;
	enum ts_rc rc;
	int src;

	if (n == 0)
		return TS_OK;
	if (n > s->cap) {
		int64_t *f = realloc(s->fired, n * sizeof(*f));
		if (f == NULL)
			return TS_ERR_NOMEM;
		s->fired = f;
		s->cap = n;
	}
	st = s->st[S_GET];
	(void)sqlite3_bind_int64(st, 1, customer_id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		(void)sqlite3_reset(st);
		return src == SQLITE_DONE ? TS_OK : db_rc(src);
	}
	(void)snprintf(cur, sizeof(cur), "%s", sqlite3_column_text(st, 0));
	if ((has_by = sqlite3_column_type(st, 1) != SQLITE_NULL))
		(void)snprintf(by, sizeof(by), "%s", sqlite3_column_text(st, 1));
	has_at = sqlite3_column_type(st, 2) != SQLITE_NULL;
	at = sqlite3_column_int64(st, 2);
	(void)sqlite3_reset(st);

	for (size_t i = 0; i < n; i++)
		s->fired[i] = -1;
	st = s->st[S_STATE];
	(void)sqlite3_bind_int64(st, 1, customer_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		size_t i = rule_index(rules, n,
		    (const char *)sqlite3_column_text(st, 0));
		if (i < n)
			s->fired[i] = sqlite3_column_int64(st, 1);
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return db_rc(src);

	/* Firings (the condition became true) and releases. */
	for (size_t i = 0; i < n; i++) {
		if (holds[i] == (s->fired[i] >= 0))
			continue;
		if ((rc = queue(holds[i] ? s->enter : s->leave, json_pack("[Is]",
		    (json_int_t)customer_id, rules[i].id))) != TS_OK)
			return rc;
		s->fired[i] = holds[i] ? now : -1;
	}
	for (w = 0; w < n; w++)
		if (holds[w] && !blocked(cur, has_by ? by : NULL, has_at, at,
		    s->fired[w]))
			break;
	if (w == n || strcmp(rules[w].status, cur) == 0)
		return TS_OK;
	(void)snprintf(actor, sizeof(actor), "%s%s", STATUS_RULE_ACTOR, rules[w].id);
	return queue(s->change, json_pack("[Issss]", (json_int_t)customer_id,
	    rules[w].status, cur, actor, rules[w].reason != NULL &&
	    *rules[w].reason != '\0' ? rules[w].reason : "automatic status rule"));
}

/* Run st over the queued list (a JSON array), then empty the list. */
static enum ts_rc
flush_one(sqlite3_stmt *st, json_t *list, int64_t now)
{
	char *text;
	enum ts_rc rc;

	if (json_array_size(list) == 0)
		return TS_OK;
	if ((text = json_dumps(list, JSON_COMPACT)) == NULL)
		return TS_ERR_NOMEM;
	(void)sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, now);
	rc = step_done(st);
	(void)sqlite3_clear_bindings(st);
	free(text);
	return rc;
}

enum ts_rc
status_flush(struct status *s, int64_t now)
{
	enum ts_rc rc;

	if ((rc = flush_one(s->st[S_ENTER], s->enter, now)) == TS_OK &&
	    (rc = flush_one(s->st[S_LEAVE], s->leave, now)) == TS_OK &&
	    (rc = flush_one(s->st[S_CHANGE], s->change, now)) == TS_OK)
		rc = flush_one(s->st[S_AUDIT], s->change, now);
	(void)json_array_clear(s->enter);
	(void)json_array_clear(s->leave);
	(void)json_array_clear(s->change);
	return rc;
}

enum ts_rc
status_apply_customer(struct status *s, int64_t customer_id,
    const struct tags_status_rule *rules, const bool *holds, size_t n,
    int64_t now)
{
	enum ts_rc rc = status_decide(s, customer_id, rules, holds, n, now);

	if (rc != TS_OK) {
		(void)status_flush_discard(s);
		return rc;
	}
	return status_flush(s, now);
}

enum ts_rc
status_flush_discard(struct status *s)
{
	(void)json_array_clear(s->enter);
	(void)json_array_clear(s->leave);
	(void)json_array_clear(s->change);
	return TS_OK;
}
