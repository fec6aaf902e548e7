/* SPDX-License-Identifier: MIT */
/* Intelligence test helpers: see ith.h. */
#include "ith.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sqlite3.h>

#include "th.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/tags.h"
#include "tracksies/tags_recalc.h"

static void
die(struct db *db, const char *what)
{
	fprintf(stderr, "ith: %s: %s\n", what,
	    db != NULL ? sqlite3_errmsg(db_handle(db)) : "");
	abort();
}

void
ith_exec(struct db *db, const char *sql)
{
	if (db_exec(db, sql) != TS_OK)
		die(db, sql);
}

struct db *
ith_open(char **dir)
{
	struct db *db = NULL;
	char path[512];

	*dir = th_tmpdir();
	(void)snprintf(path, sizeof(path), "%s/i.db", *dir);
	if (db_open(path, &db, NULL) != TS_OK ||
	    migrate_apply(db, migrate_embedded, migrate_embedded_count, NULL,
	    NULL, NULL) != TS_OK)
		die(db, "open");
	ith_exec(db, "INSERT INTO kv (key, value, updated_at) VALUES"
	    " ('store.currency', 'USD', 0), ('store.decimals', '2', 0)");
	return db;
}

static sqlite3_stmt *
prep(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		die(db, sql);
	return st;
}

static void
run(struct db *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die(db, sqlite3_sql(st));
	(void)sqlite3_finalize(st);
}

int64_t
ith_customer(struct db *db, const char *email)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO customers (email, first_name,"
	    " last_name, created_at) VALUES (?1, 'Test', 'Customer', 0)");

	(void)sqlite3_bind_text(st, 1, email, -1, SQLITE_TRANSIENT);
	run(db, st);
	return sqlite3_last_insert_rowid(db_handle(db));
}

void
ith_order_uncounted(struct db *db, int64_t customer, int64_t order_id,
    int64_t at, int64_t total_minor, const char *status)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO orders (id, customer_id, number,"
	    " status, currency, created_at, total_minor, fetched_at) VALUES (?1,"
	    " ?2, CAST(?1 AS TEXT), ?3, 'USD', ?4, ?5, ?4)");

	(void)sqlite3_bind_int64(st, 1, order_id);
	(void)sqlite3_bind_int64(st, 2, customer);
	(void)sqlite3_bind_text(st, 3, status, -1, SQLITE_TRANSIENT);
	(void)sqlite3_bind_int64(st, 4, at);
	(void)sqlite3_bind_int64(st, 5, total_minor);
	run(db, st);
}

void
ith_order(struct db *db, int64_t customer, int64_t order_id, int64_t at,
    int64_t total_minor, int coupon)
{
	sqlite3_stmt *st;

	ith_order_uncounted(db, customer, order_id, at, total_minor, "completed");
	st = prep(db, "INSERT INTO transactions (order_id, customer_id,"
	    " order_number, total_minor, coupon_codes, currency, created_at)"
	    " VALUES (?1, ?2, CAST(?1 AS TEXT), ?3, ?4, 'USD', ?5)");
	(void)sqlite3_bind_int64(st, 1, order_id);
	(void)sqlite3_bind_int64(st, 2, customer);
	(void)sqlite3_bind_int64(st, 3, total_minor);
	(void)sqlite3_bind_text(st, 4, coupon ? "SAVE10" : "", -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 5, at);
	run(db, st);
	if (coupon) {
		st = prep(db, "UPDATE orders SET coupon_codes = 'SAVE10' WHERE id = ?1");
		(void)sqlite3_bind_int64(st, 1, order_id);
		run(db, st);
	}
}

void
ith_cancel(struct db *db, int64_t order_id)
{
	sqlite3_stmt *st = prep(db, "DELETE FROM transactions WHERE order_id = ?1");

	(void)sqlite3_bind_int64(st, 1, order_id);
	run(db, st);
	st = prep(db, "UPDATE orders SET status = 'cancelled' WHERE id = ?1");
	(void)sqlite3_bind_int64(st, 1, order_id);
	run(db, st);
}

void
ith_refund(struct db *db, int64_t order_id, int64_t amount_minor)
{
	sqlite3_stmt *st = prep(db, "UPDATE orders SET refunded_minor ="
	    " refunded_minor + ?2, refund_count = refund_count + 1 WHERE id = ?1");

	(void)sqlite3_bind_int64(st, 1, order_id);
	(void)sqlite3_bind_int64(st, 2, amount_minor);
	run(db, st);
}

void
ith_interaction(struct db *db, int64_t customer, const char *type, int64_t at)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO customer_interactions"
	    " (customer_id, type, summary, occurred_at, created_at, created_by)"
	    " VALUES (?1, ?2, 'test', ?3, ?3, 'test')");

	(void)sqlite3_bind_int64(st, 1, customer);
	(void)sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	(void)sqlite3_bind_int64(st, 3, at);
	run(db, st);
}

static sqlite3_stmt *
query(struct db *db, const char *fmt, va_list ap)
{
	char sql[2048];
	sqlite3_stmt *st;
	int src;

	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	st = prep(db, sql);
	if ((src = sqlite3_step(st)) != SQLITE_ROW && src != SQLITE_DONE)
		die(db, sql);
	return st;
}

long long
ith_int(struct db *db, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	long long v = -1;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	if (sqlite3_stmt_busy(st) && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	return v;
}

double
ith_real(struct db *db, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	double v = -1e300;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	if (sqlite3_stmt_busy(st) && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_double(st, 0);
	(void)sqlite3_finalize(st);
	return v;
}

char *
ith_text(struct db *db, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	char *v = NULL;

	va_start(ap, fmt);
	st = query(db, fmt, ap);
	va_end(ap);
	if (sqlite3_stmt_busy(st) && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (v = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
		abort();
	(void)sqlite3_finalize(st);
	return v;
}

void
ith_assert_3sig(const char *name, double ours, double published)
{
	double unit = pow(10.0, floor(log10(fabs(published))) - 2.0);

	ck_assert_msg(fabs(ours - published) <= 0.5 * unit,
	    "%s = %.6f, published %.6g (3 significant digits)", name, ours,
	    published);
}

void
ith_rules(struct db *db, const char *text)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;

	if (tags_load_string("test rules", text, &cat, &errors) != TS_OK) {
		fprintf(stderr, "ith: rules refused:\n%s", errors ? errors : "");
		abort();
	}
	if (tags_apply_catalogue(db, cat, NULL, &errors) != TS_OK) {
		fprintf(stderr, "ith: rules not applied: %s", errors ? errors : "");
		abort();
	}
	tags_catalogue_free(cat);
}

void
ith_recalc(struct db *db, struct tags_recalc *t, int64_t customer, int64_t now)
{
	enum ts_rc rc;

	if (db_begin(db) != TS_OK)
		die(db, "begin");
	if ((rc = tags_recalc_customer(t, customer, now)) != TS_OK) {
		fprintf(stderr, "ith: recalc customer=%lld: %s\n",
		    (long long)customer, rc_name(rc));
		die(db, "recalc");
	}
	if (db_commit(db) != TS_OK)
		die(db, "commit");
}

int
ith_tag(struct db *db, int64_t customer, const char *tag)
{
	long long v = ith_int(db, "SELECT lost_at IS NULL FROM customer_tags"
	    " WHERE customer_id = %lld AND tag_id = '%s'", (long long)customer, tag);

	return v < 0 ? -1 : (int)v;
}
