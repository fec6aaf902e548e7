/* SPDX-License-Identifier: MIT */
/*
 * The guard on rule conditions: what a condition may do, enforced while
 * SQLite compiles it. Used when rules are loaded (tags.c) and whenever
 * statements embedding them are prepared (tags_recalc.c). Never logs.
 *
 * DESIGN. A condition is a SQL expression, so SQLite evaluates it set-wise
 * over the customer_metrics view and no expression language of our own is
 * needed. Safety has two layers. Lexically, a condition is one balanced
 * expression: no ';', no comments, parentheses never closing what they did
 * not open, so it cannot escape the "(...)" it is pasted into.
 * Semantically, it is compiled under sqlite3_set_authorizer, which allows
 * reading columns of customer_metrics (and whatever the view itself
 * reads), a whitelist of pure functions and - for our own templates only -
 * writing the one table the template writes, with that table's triggers
 * and foreign keys. Anything else (another table, a write, PRAGMA, ATTACH,
 * table-valued functions, recursive WITH) fails with the reason.
 */
#include "tracksies/tags_guard.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tracksies/db.h"
#include "tracksies/tags.h"

#define MAX_NAME 64
#define MAX_TRIGGERS 16

/* Pure functions a condition may call. */
static const char *const functions[] = {
	"abs", "avg", "ceil", "ceiling", "coalesce", "count", "date", "datetime",
	"exp", "floor", "format", "glob", "ifnull", "iif", "instr", "julianday",
	"length", "like", "likely", "ln", "log", "log10", "log2", "lower",
	"ltrim", "max", "min", "mod", "nullif", "pow", "power", "printf",
	"replace", "round", "rtrim", "sign", "sqrt", "strftime", "substr",
	"substring", "sum", "time", "total", "trim", "typeof", "unixepoch",
	"unlikely", "upper",
};

/* ---- the guard ------------------------------------------------------- */

/* What customer_metrics reads (migrations/0004_intelligence.sql). */
static const char *const view_tables[] = { "customer_intel", "intel_state", "kv" };

struct guard {
	const char *write_table;
	char triggers[MAX_TRIGGERS][MAX_NAME + 1];	/* on write_table */
	int n_triggers;
	char parents[MAX_TRIGGERS][2][MAX_NAME + 1];	/* its foreign keys */
	int n_parents;
	char *fault;
	size_t size;
};

static int
deny(struct guard *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
deny(struct guard *g, const char *fmt, ...)
{
	va_list ap;

	if (g->fault[0] == '\0') {
		va_start(ap, fmt);
		(void)vsnprintf(g->fault, g->size, fmt, ap);
		va_end(ap);
	}
	return SQLITE_DENY;
}

static bool
in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(list[i], s) == 0)
			return true;
	return false;
}

static int
guard_cb(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *inner)
{
	struct guard *g = arg;
	bool via_view = inner != NULL && strcmp(inner, "customer_metrics") == 0;
	bool own = g->write_table != NULL && a1 != NULL && inner == NULL &&
	    strcmp(a1, g->write_table) == 0;

	(void)dbname;
	/*
	 * The template's table fires its triggers and checks its foreign
	 * keys: ours to allow, not the rule's.
	 */
	for (int i = 0; inner != NULL && i < g->n_triggers; i++)
		if (strcmp(inner, g->triggers[i]) == 0)
			return SQLITE_OK;
	for (int i = 0; action == SQLITE_READ && inner == NULL &&
	    i < g->n_parents; i++)
		if (strcmp(a1, g->parents[i][0]) == 0 &&
		    a2 != NULL && strcmp(a2, g->parents[i][1]) == 0)
			return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
		return SQLITE_OK;
	case SQLITE_READ:
		if (via_view || own || strcmp(a1, "customer_metrics") == 0)
			return SQLITE_OK;
		/*
		 * A flattened view whose columns go unused shows up as its
		 * table read with no column: nothing is read but row counts.
		 */
		if (a2 != NULL && *a2 == '\0' && in_list(view_tables,
		    sizeof(view_tables) / sizeof(view_tables[0]), a1))
			return SQLITE_OK;
		return deny(g, "reads %s%s%s: a condition may only use the columns"
		    " of customer_metrics", a1, a2 != NULL && *a2 ? "." : "",
		    a2 != NULL ? a2 : "");
	case SQLITE_FUNCTION:
		if (via_view || in_list(functions, sizeof(functions) /
		    sizeof(functions[0]), a2))
			return SQLITE_OK;
		return deny(g, "calls %s(): not one of the functions a condition"
		    " may use", a2);
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		if (own)
			return SQLITE_OK;
		/* Eponymous virtual tables (json_each, pragma_*) are set up so. */
		if (a1 != NULL && strncmp(a1, "sqlite_", 7) == 0)
			return deny(g, "uses a table-valued function: a condition may"
			    " only read customer_metrics");
		return deny(g, "writes %s: a condition may only read", a1);
	case SQLITE_PRAGMA:
		return deny(g, "runs PRAGMA %s: a condition may only read", a1);
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return deny(g, "attaches a database: a condition may only read"
		    " customer_metrics");
	case SQLITE_RECURSIVE:
		return deny(g, "uses a recursive WITH: not allowed in a condition");
	default:
		return deny(g, "does something other than reading customer_metrics"
		    " (authorizer action %d)", action);
	}
}

enum ts_rc
tags_guard_prepare(struct db *db, const char *sql, const char *write_table,
    sqlite3_stmt **out, char *fault, size_t size)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *st = NULL;
	struct guard g = { .write_table = write_table, .fault = fault, .size = size };
	const char *tail = NULL;
	int src;

	*out = NULL;
	fault[0] = '\0';
	/*
	 * Triggers on the written table are compiled with the statement. The
	 * look-up also loads the schema before the guard is on.
	 */
	if ((src = sqlite3_prepare_v2(h, "SELECT name FROM sqlite_schema WHERE"
	    " type = 'trigger' AND tbl_name = ?1", -1, &st, NULL)) != SQLITE_OK)
		return db_rc(src);
	(void)sqlite3_bind_text(st, 1, write_table ? write_table : "", -1,
	    SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && g.n_triggers < MAX_TRIGGERS)
		(void)snprintf(g.triggers[g.n_triggers++], sizeof(g.triggers[0]),
		    "%s", sqlite3_column_text(st, 0));
	(void)sqlite3_finalize(st);
	st = NULL;
	if (write_table != NULL) {
		if ((src = sqlite3_prepare_v2(h, "SELECT \"table\", \"to\" FROM"
		    " pragma_foreign_key_list(?1) WHERE \"to\" IS NOT NULL", -1,
		    &st, NULL)) != SQLITE_OK)
			return db_rc(src);
		(void)sqlite3_bind_text(st, 1, write_table, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW && g.n_parents < MAX_TRIGGERS) {
			(void)snprintf(g.parents[g.n_parents][0], MAX_NAME + 1, "%s",
			    sqlite3_column_text(st, 0));
			(void)snprintf(g.parents[g.n_parents++][1], MAX_NAME + 1, "%s",
			    sqlite3_column_text(st, 1));
		}
		(void)sqlite3_finalize(st);
		st = NULL;
	}

	(void)sqlite3_set_authorizer(h, guard_cb, &g);
	src = sqlite3_prepare_v2(h, sql, -1, &st, &tail);
	(void)sqlite3_set_authorizer(h, NULL, NULL);
	if (src != SQLITE_OK) {
		if (fault[0] == '\0')
			(void)snprintf(fault, size, "%s", sqlite3_errmsg(h));
		return (src & 0xff) == SQLITE_NOMEM ? TS_ERR_NOMEM : TS_ERR_INVALID;
	}
	while (tail != NULL && isspace((unsigned char)*tail))
		tail++;
	if (st == NULL || (tail != NULL && *tail != '\0')) {
		(void)sqlite3_finalize(st);
		(void)snprintf(fault, size, "is not one SQL expression");
		return TS_ERR_INVALID;
	}
	*out = st;
	return TS_OK;
}

/*
 * One balanced expression: quotes closed, no ';', no comments, parentheses
 * balanced and never below zero. NULL when fine, else what is wrong.
 */
static const char *
lexical_fault(const char *s)
{
	int depth = 0;

	if (strlen(s) > TAGS_MAX_CONDITION)
		return "is longer than 4000 bytes";
	for (; *s != '\0'; s++) {
		char close;

		switch (*s) {
		case '\'': close = '\''; break;
		case '"': close = '"'; break;
		case '`': close = '`'; break;
		case '[': close = ']'; break;
		case ';':
			return "contains ';': a condition is one expression";
		case '-':
			if (s[1] == '-')
				return "contains a comment ('--')";
			continue;
		case '/':
			if (s[1] == '*')
				return "contains a comment ('/*')";
			continue;
		case '(':
			depth++;
			continue;
		case ')':
			if (--depth < 0)
				return "has a ')' without its '('";
			continue;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				return "contains a control character";
			continue;
		}
		/* Quoted: runs to the closing quote; doubled quotes escape. */
		for (s++; *s != '\0'; s++)
			if (*s == close) {
				if (close != ']' && s[1] == close)
					s++;
				else
					break;
			}
		if (*s == '\0')
			return "has an unterminated quote";
	}
	return depth == 0 ? NULL : "has a '(' without its ')'";
}

enum ts_rc
tags_guard_check(struct db *db, const char *cond, char *fault, size_t size)
{
	const char *lex = lexical_fault(cond);
	sqlite3_stmt *st = NULL;
	char *sql;
	size_t len;
	enum ts_rc rc;

	if (*cond == '\0') {
		(void)snprintf(fault, size, "is empty");
		return TS_ERR_INVALID;
	}
	if (lex != NULL) {
		(void)snprintf(fault, size, "%s", lex);
		return TS_ERR_INVALID;
	}
	len = strlen(cond) + 64;
	if ((sql = malloc(len)) == NULL)
		return TS_ERR_NOMEM;
	(void)snprintf(sql, len, "SELECT id FROM customer_metrics WHERE (%s)", cond);
	rc = tags_guard_prepare(db, sql, NULL, &st, fault, size);
	if (rc == TS_OK && !sqlite3_stmt_readonly(st)) {
		(void)snprintf(fault, size, "does not only read");
		rc = TS_ERR_INVALID;
	}
	(void)sqlite3_finalize(st);
	free(sql);
	return rc;
}

