/* SPDX-License-Identifier: MIT */
/*
 * CSV exports of the admin API: customers (selected ids or the list's
 * filters) and their audit log. RFC 4180: UTF-8, a header row, CRLF line
 * ends, fields quoted when they hold a comma, quote, CR or LF, quotes
 * doubled. A cell that a spreadsheet would run as a formula (starting with
 * =, +, -, @, tab or CR) gets a leading single quote (OWASP's CSV
 * injection advice).
 */
#include "admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/money.h"
#include "tracksies/profile.h"
#include "tracksies/wc_order.h"

#define EXPORT_MAX_ROWS 100000
#define EXPORT_MAX_BYTES (64u * 1024 * 1024)

struct csv {
	char *buf;
	size_t len;
	size_t cap;
	bool over;		/* the cap was hit: nothing more is appended */
	bool row_started;
};

static void
csv_put(struct csv *c, const char *s, size_t n)
{
	if (c->over)
		return;
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 65536;
		char *grown;

		while (cap < c->len + n + 1)
			cap *= 2;
		if (cap > EXPORT_MAX_BYTES + 1)
			cap = EXPORT_MAX_BYTES + 1;
		if (c->len + n + 1 > cap || (grown = realloc(c->buf, cap)) == NULL) {
			c->over = true;
			return;
		}
		c->buf = grown;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

/* One cell (NULL is empty), escaped and neutralised. */
static void
csv_cell(struct csv *c, const char *v)
{
	bool quote;

	if (c->row_started)
		csv_put(c, ",", 1);
	c->row_started = true;
	if (v == NULL || *v == '\0')
		return;
	quote = strpbrk(v, ",\"\r\n") != NULL;
	if (quote)
		csv_put(c, "\"", 1);
	if (strchr("=+-@\t\r", *v) != NULL)
		csv_put(c, "'", 1);
	for (const char *p = v; *p != '\0';) {
		size_t run = strcspn(p, "\"");
		csv_put(c, p, run);
		p += run;
		if (*p == '"') {
			csv_put(c, "\"\"", 2);
			p++;
		}
	}
	if (quote)
		csv_put(c, "\"", 1);
}

static void
csv_end_row(struct csv *c)
{
	csv_put(c, "\r\n", 2);
	c->row_started = false;
}

static void
csv_header(struct csv *c, const char *const cols[])
{
	for (size_t i = 0; cols[i] != NULL; i++)
		csv_cell(c, cols[i]);
	csv_end_row(c);
}

static void
cell_col(struct csv *c, sqlite3_stmt *st, int col)
{
	csv_cell(c, (const char *)sqlite3_column_text(st, col));
}

static void
cell_time(struct csv *c, sqlite3_stmt *st, int col)
{
	char buf[40];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		csv_cell(c, NULL);
		return;
	}
	wc_order_format_time(sqlite3_column_int64(st, col), buf, sizeof(buf) - 1);
	strcat(buf, "Z");
	csv_cell(c, buf);
}

static void
cell_money(struct csv *c, sqlite3_stmt *st, int col, int decimals)
{
	char buf[48];

	money_format(sqlite3_column_int64(st, col), decimals, buf, sizeof(buf));
	csv_cell(c, buf);
}

static void
reply_csv(struct admin_req *r, struct csv *c)
{
	if (c->over) {
		free(c->buf);
		admin_api_fail(r, 422, "export_too_large", NULL,
		    "the export exceeds 64 MiB; narrow the selection");
		return;
	}
	r->resp->status = 200;
	r->resp->content_type = "text/csv; charset=utf-8";
	r->resp->body = c->buf;
	r->resp->body_len = c->len;
}

static bool
too_many(struct admin_req *r, int64_t n)
{
	char msg[128];

	if (n <= EXPORT_MAX_ROWS)
		return false;
	(void)snprintf(msg, sizeof(msg), "the selection holds %" PRId64
	    " rows; an export holds at most %d", n, EXPORT_MAX_ROWS);
	admin_api_fail(r, 422, "export_too_large", NULL, msg);
	return true;
}

void
admin_csv_customers(struct admin_req *r)
{
	static const char *const cols[] = { "id", "email", "first_name",
		"last_name", "phone", "company", "wp_user_id", "status",
		"status_reason", "status_changed_at", "status_changed_by", "ltv",
		"order_count", "aov", "refunded_total", "refund_count",
		"first_order_at", "last_order_at", "currency", "tags", "created_at",
		NULL };
	struct admin_filter *f = NULL;
	struct csv c = { 0 };
	sqlite3_stmt *st = NULL, *tags = NULL;
	int64_t total;
	enum ts_rc rc;
	int src;

	if (!admin_customers_filter(r, &f))
		return;
	if ((rc = admin_customers_count(r, f, &total)) != TS_OK)
		goto dbfail;
	if (too_many(r, total))
		goto out;
	if ((rc = admin_customers_select(r, f, false, EXPORT_MAX_ROWS, 0,
	    &st)) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT"
	    " group_concat(coalesce(t.label, ct.tag_id), '; ') FROM"
	    " (SELECT tag_id FROM customer_tags WHERE customer_id = ?1"
	    " AND lost_at IS NULL ORDER BY tag_id) AS ct LEFT JOIN tags AS t"
	    " ON t.id = ct.tag_id", -1, &tags, NULL))) != TS_OK)
		goto dbfail;
	csv_header(&c, cols);
	while ((src = sqlite3_step(st)) == SQLITE_ROW && !c.over) {
		for (int i = 0; i <= 6; i++)
			cell_col(&c, st, i);
		cell_col(&c, st, 7);
		cell_col(&c, st, 8);
		cell_time(&c, st, 9);
		cell_col(&c, st, 10);
		cell_money(&c, st, 11, r->decimals);
		cell_col(&c, st, 12);
		cell_money(&c, st, 13, r->decimals);
		cell_money(&c, st, 14, r->decimals);
		cell_col(&c, st, 15);
		cell_time(&c, st, 16);
		cell_time(&c, st, 17);
		csv_cell(&c, r->currency);
		(void)sqlite3_reset(tags);
		(void)sqlite3_bind_int64(tags, 1, sqlite3_column_int64(st, 0));
		if (sqlite3_step(tags) == SQLITE_ROW)
			cell_col(&c, tags, 0);
		else
			csv_cell(&c, NULL);
		cell_time(&c, st, 18);
		csv_end_row(&c);
	}
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = db_rc(src);
		goto dbfail;
	}
	reply_csv(r, &c);
	c.buf = NULL;
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "customer export");
out:
	free(c.buf);
	db_stmt_done(r->db, st);
	(void)sqlite3_finalize(tags);
	admin_customers_filter_free(f);
}

/* True when the request narrows the export to some customers. */
static bool
has_filter(struct admin_req *r)
{
	static const char *const names[] = { "ids", "status", "q", "tag", NULL };

	for (size_t i = 0; names[i] != NULL; i++) {
		const char *v = http_request_query(r->http, names[i]);
		if (v != NULL && *v != '\0' && strcmp(v, "all") != 0)
			return true;
	}
	return false;
}

/* The ids the list filters select, as a JSON array text (owned). */
static enum ts_rc
selected_ids(struct admin_req *r, const struct admin_filter *f, char **out)
{
	sqlite3_stmt *st = NULL;
	json_t *ids = json_array();
	enum ts_rc rc;
	int src;

	*out = NULL;
	if ((rc = admin_customers_select(r, f, true, EXPORT_MAX_ROWS, 0,
	    &st)) != TS_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(ids, json_integer(
		    sqlite3_column_int64(st, 0)));
	if (src != SQLITE_DONE)
		rc = db_rc(src);
	else if ((*out = json_dumps(ids, JSON_COMPACT)) == NULL)
		rc = TS_ERR_NOMEM;
out:
	db_stmt_done(r->db, st);
	json_decref(ids);
	return rc;
}

void
admin_csv_audit(struct admin_req *r)
{
	static const char *const cols[] = { "id", "at", "customer_id", "actor",
		"action", "field", "old_value", "new_value", "reason", NULL };
	struct admin_filter *f = NULL;
	struct csv c = { 0 };
	sqlite3_stmt *st = NULL;
	char *ids = NULL;
	bool filtered = has_filter(r);
	int64_t total = 0;
	enum ts_rc rc;
	int src;

	if (!admin_customers_filter(r, &f))
		return;
	if (filtered) {
		if ((rc = admin_customers_count(r, f, &total)) != TS_OK)
			goto dbfail;
		if (too_many(r, total))
			goto out;
		if ((rc = selected_ids(r, f, &ids)) != TS_OK)
			goto dbfail;
	}
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), filtered ?
	    "SELECT count(*) FROM audit_log WHERE customer_id IN"
	    " (SELECT value FROM json_each(?1))" :
	    "SELECT count(*) FROM audit_log", -1, &st, NULL))) != TS_OK)
		goto dbfail;
	if (filtered)
		(void)sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	st = NULL;
	if (too_many(r, total))
		goto out;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), filtered ?
	    "SELECT id, at, customer_id, actor, action, field, old_value,"
	    " new_value, reason FROM audit_log WHERE customer_id IN"
	    " (SELECT value FROM json_each(?1)) ORDER BY id" :
	    "SELECT id, at, customer_id, actor, action, field, old_value,"
	    " new_value, reason FROM audit_log ORDER BY id", -1, &st,
	    NULL))) != TS_OK)
		goto dbfail;
	if (filtered)
		(void)sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	csv_header(&c, cols);
	while ((src = sqlite3_step(st)) == SQLITE_ROW && !c.over) {
		cell_col(&c, st, 0);
		cell_time(&c, st, 1);
		for (int i = 2; i <= 8; i++)
			cell_col(&c, st, i);
		csv_end_row(&c);
	}
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = db_rc(src);
		goto dbfail;
	}
	reply_csv(r, &c);
	c.buf = NULL;
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "audit export");
out:
	free(c.buf);
	free(ids);
	(void)sqlite3_finalize(st);
	admin_customers_filter_free(f);
}
