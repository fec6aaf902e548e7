/* SPDX-License-Identifier: MIT */
/*
 * Customer profiles read out of the tables sync.c and the admin API fill,
 * and the status change with its audit row that every writer of a status
 * shares. Nothing else here changes a row.
 */
#include "tracksies/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracksies/db.h"
#include "tracksies/jw.h"
#include "tracksies/money.h"
#include "tracksies/wc_order.h"

json_t *
profile_money_json(int64_t minor, int decimals)
{
	char buf[48];

	money_format(minor, decimals, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
profile_time_json(int64_t t)
{
	char buf[40];

	wc_order_format_time(t, buf, sizeof(buf) - 1);
	strcat(buf, "Z");
	return json_string(buf);
}

static json_t *
time_json(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return profile_time_json(sqlite3_column_int64(st, col));
}

static json_t *
text_json(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? json_string((const char *)t) : json_null();
}

static json_t *
int_or_null(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, col));
}

static json_t *
stored_json(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	json_t *v = t != NULL ? json_loads((const char *)t, 0, NULL) : NULL;

	return v != NULL ? v : json_object();
}

/* Kept prepared on db for the next profile: give back with db_stmt_done. */
static enum ts_rc
prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	return db_stmt(db, sql, st);
}

/* Step to the end; TS_OK when every row was read. */
static enum ts_rc
done_rc(int src)
{
	return src == SQLITE_DONE ? TS_OK : db_rc(src);
}

/* Shipping equals billing in every address line (or shipping is empty). */
static int
same_address(const json_t *billing, const json_t *shipping)
{
	static const char *const keys[] = { "first_name", "last_name", "company",
		"address_1", "address_2", "city", "state", "postcode", "country" };
	int empty = 1;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = json_string_value(json_object_get(shipping, keys[i]));
		if (s != NULL && *s != '\0')
			empty = 0;
	}
	if (empty)
		return 1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *b = json_string_value(json_object_get(billing, keys[i]));
		const char *s = json_string_value(json_object_get(shipping, keys[i]));
		if (strcmp(b != NULL ? b : "", s != NULL ? s : "") != 0)
			return 0;
	}
	return 1;
}

json_t *
profile_summary_json(sqlite3_stmt *st, int c, int decimals,
    const char *currency)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:I}",
	    "id", (json_int_t)sqlite3_column_int64(st, c),
	    "email", text_json(st, c + 1), "first_name", text_json(st, c + 2),
	    "last_name", text_json(st, c + 3), "phone", text_json(st, c + 4),
	    "company", text_json(st, c + 5), "wp_user_id", int_or_null(st, c + 6),
	    "status", text_json(st, c + 7), "status_reason", text_json(st, c + 8),
	    "status_changed_at", time_json(st, c + 9),
	    "status_changed_by", text_json(st, c + 10),
	    "ltv", profile_money_json(sqlite3_column_int64(st, c + 11), decimals),
	    "order_count", (json_int_t)sqlite3_column_int64(st, c + 12),
	    "aov", profile_money_json(sqlite3_column_int64(st, c + 13), decimals),
	    "refunded_total", profile_money_json(sqlite3_column_int64(st, c + 14),
	    decimals),
	    "refund_count", (json_int_t)sqlite3_column_int64(st, c + 15),
	    "first_order_at", time_json(st, c + 16),
	    "last_order_at", time_json(st, c + 17),
	    "currency", currency != NULL ? json_string(currency) : json_null(),
	    "created_at", time_json(st, c + 18),
	    "tag_count", (json_int_t)sqlite3_column_int64(st, c + 19));
}

void
profile_summary_write(struct jw *w, sqlite3_stmt *st, int c, int decimals,
    const char *currency)
{
	jw_col_int(w, "id", st, c);
	jw_col_text(w, "email", st, c + 1);
	jw_col_text(w, "first_name", st, c + 2);
	jw_col_text(w, "last_name", st, c + 3);
	jw_col_text(w, "phone", st, c + 4);
	jw_col_text(w, "company", st, c + 5);
	jw_col_int_or_null(w, "wp_user_id", st, c + 6);
	jw_col_text(w, "status", st, c + 7);
	jw_col_text(w, "status_reason", st, c + 8);
	jw_col_time(w, "status_changed_at", st, c + 9);
	jw_col_text(w, "status_changed_by", st, c + 10);
	jw_money(w, "ltv", sqlite3_column_int64(st, c + 11), decimals);
	jw_col_int(w, "order_count", st, c + 12);
	jw_money(w, "aov", sqlite3_column_int64(st, c + 13), decimals);
	jw_money(w, "refunded_total", sqlite3_column_int64(st, c + 14), decimals);
	jw_col_int(w, "refund_count", st, c + 15);
	jw_col_time(w, "first_order_at", st, c + 16);
	jw_col_time(w, "last_order_at", st, c + 17);
	jw_key(w, "currency");
	jw_str(w, currency);
	jw_col_time(w, "created_at", st, c + 18);
	jw_col_int(w, "tag_count", st, c + 19);
}

enum ts_rc
profile_add_tags(struct db *db, int64_t customer_id, json_t *obj)
{
	sqlite3_stmt *st = NULL;
	json_t *tags = json_array();
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT ct.tag_id, t.label, t.icon, t.channel,"
	    " ct.earned_at FROM customer_tags AS ct LEFT JOIN tags AS t"
	    " ON t.id = ct.tag_id WHERE ct.customer_id = ?1 AND ct.lost_at IS NULL"
	    " ORDER BY t.channel, t.position, ct.tag_id", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(tags, json_pack("{s:o,s:o,s:o,s:o,s:o}",
		    "id", text_json(st, 0), "label", text_json(st, 1),
		    "icon", text_json(st, 2), "channel", text_json(st, 3),
		    "earned_at", time_json(st, 4)));
	rc = done_rc(src);
out:
	db_stmt_done(db, st);
	(void)json_object_set_new(obj, "tags", tags);
	return rc;
}

enum ts_rc
profile_find_by_email(struct db *db, const char *email, int64_t *customer_id)
{
	sqlite3_stmt *st = NULL;
	char *norm = wc_order_normalize_email(email);
	enum ts_rc rc;

	*customer_id = 0;
	if (norm == NULL)
		return TS_ERR_NOTFOUND;
	rc = prepare(db, "SELECT id FROM customers WHERE email = ?1 UNION ALL"
	    " SELECT customer_id FROM customer_aliases WHERE email = ?1 LIMIT 1",
	    &st);
	if (rc == TS_OK) {
		(void)sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			*customer_id = sqlite3_column_int64(st, 0);
		else
			rc = TS_ERR_NOTFOUND;
	}
	db_stmt_done(db, st);
	free(norm);
	return rc;
}

/*
 * The heavy part of a profile (up to 50 orders with items and refunds, the
 * returns, the interactions) is written as JSON text straight from the rows
 * (jw.c): building it as a jansson tree and serialising that cost four
 * times as much, mostly in malloc. Stored address and tracking JSON
 * (written by sync.c with jansson, so valid) is copied through as it is.
 */

/* Statements reused for each of a profile's orders. */
struct order_stmts {
	sqlite3_stmt *items;
	sqlite3_stmt *refunds;
};

static enum ts_rc
write_items(struct jw *w, struct order_stmts *os, int64_t order_id,
    int decimals)
{
	sqlite3_stmt *st = os->items;
	int src;

	(void)sqlite3_reset(st);
	(void)sqlite3_bind_int64(st, 1, order_id);
	jw_open(w, "items", "[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		jw_open(w, NULL, "{");
		jw_col_int(w, "product_id", st, 0);
		jw_col_int(w, "variation_id", st, 1);
		jw_col_text(w, "name", st, 2);
		jw_col_text(w, "sku", st, 3);
		jw_col_int(w, "quantity", st, 4);
		jw_money(w, "subtotal", sqlite3_column_int64(st, 5), decimals);
		jw_money(w, "total", sqlite3_column_int64(st, 6), decimals);
		jw_close(w, "}");
	}
	jw_close(w, "]");
	return done_rc(src);
}

static enum ts_rc
write_order_refunds(struct jw *w, struct order_stmts *os, int64_t order_id,
    int decimals)
{
	sqlite3_stmt *st = os->refunds;
	int src;

	(void)sqlite3_reset(st);
	(void)sqlite3_bind_int64(st, 1, order_id);
	jw_open(w, "refunds", "[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		jw_open(w, NULL, "{");
		jw_col_int(w, "id", st, 0);
		jw_money(w, "amount", sqlite3_column_int64(st, 1), decimals);
		jw_col_text(w, "reason", st, 2);
		jw_close(w, "}");
	}
	jw_close(w, "]");
	return done_rc(src);
}

static void
write_order(struct jw *w, sqlite3_stmt *st, int decimals)
{
	jw_col_int(w, "id", st, 0);
	jw_col_text(w, "number", st, 1);
	jw_col_text(w, "status", st, 2);
	jw_col_text(w, "currency", st, 3);
	jw_col_time(w, "date_created", st, 4);
	jw_money(w, "total", sqlite3_column_int64(st, 5), decimals);
	jw_money(w, "discount_total", sqlite3_column_int64(st, 6), decimals);
	jw_open(w, "payment", "{");
	jw_col_text(w, "method", st, 7);
	jw_col_text(w, "title", st, 8);
	jw_close(w, "}");
	jw_col_text(w, "shipping_methods", st, 9);
	jw_col_text(w, "coupon_codes", st, 10);
	jw_col_text(w, "customer_note", st, 11);
	jw_col_stored(w, "billing", st, 12, "{}");
	jw_col_stored(w, "shipping", st, 13, "{}");
	jw_col_stored(w, "tracking", st, 14, "null");
	jw_col_int(w, "item_count", st, 15);
	jw_money(w, "refunded_total", sqlite3_column_int64(st, 16), decimals);
	jw_key(w, "counted");
	jw_lit(w, sqlite3_column_int(st, 17) ? "true" : "false");
	jw_open(w, "sync", "{");
	jw_col_text(w, "state", st, 18);
	jw_col_time(w, "synced_at", st, 19);
	if (sqlite3_column_type(st, 20) == SQLITE_NULL) {
		jw_key(w, "error");
		jw_lit(w, "null");
	} else {
		jw_open(w, "error", "{");
		jw_col_text(w, "code", st, 20);
		jw_col_text(w, "message", st, 21);
		jw_close(w, "}");
	}
	jw_close(w, "}");
}

static enum ts_rc
write_orders(struct jw *w, struct db *db, int64_t customer_id, int decimals)
{
	struct order_stmts os = { NULL, NULL };
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT product_id, variation_id, name, sku,"
	    " quantity, subtotal_minor, total_minor FROM order_items"
	    " WHERE order_id = ?1 ORDER BY id", &os.items)) != TS_OK ||
	    (rc = prepare(db, "SELECT id, amount_minor, reason FROM order_refunds"
	    " WHERE order_id = ?1 ORDER BY id", &os.refunds)) != TS_OK ||
	    (rc = prepare(db, "SELECT o.id, o.number, o.status, o.currency,"
	    " o.created_at, o.total_minor, o.discount_minor, o.payment_method,"
	    " o.payment_method_title, o.shipping_methods, o.coupon_codes,"
	    " o.customer_note, o.billing_json, o.shipping_json, o.tracking_json,"
	    " o.item_count, o.refunded_minor, t.order_id IS NOT NULL,"
	    " s.state, s.synced_at, s.error_code, s.error_message, o.refund_count"
	    " FROM orders AS o LEFT JOIN transactions AS t ON t.order_id = o.id"
	    " LEFT JOIN order_sync AS s ON s.order_id = o.id"
	    " WHERE o.customer_id = ?1 ORDER BY o.created_at DESC, o.id DESC"
	    " LIMIT ?2", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int(st, 2, PROFILE_ORDERS);
	jw_open(w, "orders", "[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		jw_open(w, NULL, "{");
		write_order(w, st, decimals);
		if ((rc = write_items(w, &os, id, decimals)) != TS_OK)
			goto out;
		/*
		 * refund_count is written with the order's refund rows (sync.c):
		 * no refunds, no look-up. Most orders have none.
		 */
		if (sqlite3_column_int64(st, 22) > 0) {
			if ((rc = write_order_refunds(w, &os, id, decimals)) != TS_OK)
				goto out;
		} else {
			jw_key(w, "refunds");
			jw_lit(w, "[]");
		}
		jw_close(w, "}");
	}
	jw_close(w, "]");
	rc = done_rc(src);
out:
	db_stmt_done(db, st);
	db_stmt_done(db, os.items);
	db_stmt_done(db, os.refunds);
	return rc;
}

/*
 * Every refund on the customer's orders, newest first: the Returns card.
 * Only orders with refund_count > 0 are read (the orders_refunded index):
 * a customer with 500 orders and 50 refunds costs 50 look-ups, not 500.
 */
static enum ts_rc
write_returns(struct jw *w, struct db *db, int64_t customer_id, int decimals,
    int64_t refunded_minor, int64_t refund_count)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT r.id, r.order_id, o.number, r.amount_minor,"
	    " r.reason, o.created_at, o.status FROM orders AS o"
	    " JOIN order_refunds AS r ON r.order_id = o.id"
	    " WHERE o.customer_id = ?1 AND o.refund_count > 0"
	    " AND o.status NOT IN ('trash', 'deleted')"
	    " ORDER BY r.id DESC LIMIT ?2", &st)) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int(st, 2, PROFILE_RETURNS);
	jw_open(w, "returns", "{");
	jw_int(w, "count", refund_count);
	jw_money(w, "refunded_total", refunded_minor, decimals);
	jw_open(w, "list", "[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		jw_open(w, NULL, "{");
		jw_col_int(w, "id", st, 0);
		jw_col_int(w, "order_id", st, 1);
		jw_col_text(w, "order_number", st, 2);
		jw_money(w, "amount", sqlite3_column_int64(st, 3), decimals);
		jw_col_text(w, "reason", st, 4);
		jw_col_time(w, "order_date", st, 5);
		jw_col_text(w, "order_status", st, 6);
		jw_close(w, "}");
	}
	jw_close(w, "]");
	jw_close(w, "}");
	rc = done_rc(src);
	db_stmt_done(db, st);
	return rc;
}

static enum ts_rc
write_interactions(struct jw *w, struct db *db, int64_t customer_id)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT id, customer_id, type, summary, details,"
	    " resolution, staff, source_url, occurred_at, created_at, created_by"
	    " FROM customer_interactions WHERE customer_id = ?1"
	    " ORDER BY occurred_at DESC, id DESC LIMIT ?2", &st)) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int(st, 2, PROFILE_INTERACTIONS);
	jw_open(w, "interactions", "[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		jw_open(w, NULL, "{");
		jw_col_int(w, "id", st, 0);
		jw_col_int(w, "customer_id", st, 1);
		jw_col_text(w, "type", st, 2);
		jw_col_text(w, "summary", st, 3);
		jw_col_text(w, "details", st, 4);
		jw_col_text(w, "resolution", st, 5);
		jw_col_text(w, "staff", st, 6);
		jw_col_text(w, "source_url", st, 7);
		jw_col_time(w, "occurred_at", st, 8);
		jw_col_time(w, "created_at", st, 9);
		jw_col_text(w, "created_by", st, 10);
		jw_close(w, "}");
	}
	jw_close(w, "]");
	rc = done_rc(src);
	db_stmt_done(db, st);
	return rc;
}

static enum ts_rc
add_aliases(struct db *db, int64_t customer_id, json_t *profile)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT id, email, created_at FROM customer_aliases"
	    " WHERE customer_id = ?1 ORDER BY id", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		(void)json_array_append_new(list, json_pack("{s:I,s:o,s:o}",
		    "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "email", text_json(st, 1), "created_at", time_json(st, 2)));
	rc = done_rc(src);
out:
	db_stmt_done(db, st);
	(void)json_object_set_new(profile, "aliases", list);
	return rc;
}

enum ts_rc
profile_links(struct db *db, int64_t customer_id, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	enum ts_rc rc;
	int src;

	*out = NULL;
	if (list == NULL)
		return TS_ERR_NOMEM;
	if ((rc = prepare(db, "SELECT c.id, c.email, c.first_name, c.last_name,"
	    " c.status, l.created_at, l.created_by FROM (SELECT other_id AS id,"
	    " created_at, created_by FROM customer_links WHERE customer_id = ?1"
	    " UNION ALL SELECT customer_id, created_at, created_by"
	    " FROM customer_links WHERE other_id = ?1) AS l"
	    " JOIN customers AS c ON c.id = l.id ORDER BY c.id", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 4);
		int64_t id = sqlite3_column_int64(st, 0);
		json_t *warning = json_null();
		char msg[128];

		if (status != NULL && (strcmp(status, "caution") == 0 ||
		    strcmp(status, "do_not_serve") == 0)) {
			(void)snprintf(msg, sizeof(msg), "linked account %lld is %s",
			    (long long)id, strcmp(status, "caution") == 0 ?
			    "flagged Caution" : "banned (Do Not Serve)");
			json_decref(warning);
			warning = json_pack("{s:s,s:s,s:I,s:s}", "code",
			    strcmp(status, "caution") == 0 ? "linked_caution" :
			    "linked_do_not_serve", "message", msg,
			    "customer_id", (json_int_t)id, "status", status);
		}
		(void)json_array_append_new(list, json_pack("{s:I,s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o}", "id", (json_int_t)id, "email", text_json(st, 1),
		    "first_name", text_json(st, 2), "last_name", text_json(st, 3),
		    "status", text_json(st, 4), "linked_at", time_json(st, 5),
		    "linked_by", text_json(st, 6), "warning", warning));
	}
	rc = done_rc(src);
out:
	db_stmt_done(db, st);
	if (rc != TS_OK) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return TS_OK;
}

static enum ts_rc
add_links(struct db *db, int64_t customer_id, json_t *profile)
{
	json_t *links = NULL, *warnings = json_array(), *l;
	size_t i;
	enum ts_rc rc;

	if ((rc = profile_links(db, customer_id, &links)) != TS_OK) {
		json_decref(warnings);
		return rc;
	}
	json_array_foreach(links, i, l) {
		json_t *w = json_object_get(l, "warning");
		if (json_is_object(w))
			(void)json_array_append(warnings, w);
	}
	(void)json_object_set_new(profile, "links", links);
	(void)json_object_set_new(profile, "warnings", warnings);
	return TS_OK;
}

/*
 * The small, varied part of the profile as a jansson tree (the header,
 * details, addresses, tags, aliases, links).
 */
static enum ts_rc
profile_head(struct db *db, int64_t customer_id, int decimals, int64_t now,
    json_t **out, int64_t *refunded, int64_t *refunds)
{
	sqlite3_stmt *st = NULL;
	json_t *p = NULL, *billing, *shipping;
	enum ts_rc rc;
	int src;

	*out = NULL;
	if ((rc = prepare(db, "SELECT " PROFILE_SUMMARY_COLUMNS ","
	    " c.billing_json, c.shipping_json, c.notes, c.coupon_order_count,"
	    " (SELECT value FROM kv WHERE key = 'store.currency')"
	    " FROM customers AS c WHERE c.id = ?1", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
		goto out;
	}
	p = profile_summary_json(st, 0, decimals,
	    (const char *)sqlite3_column_text(st, PROFILE_SUMMARY_NCOLS + 4));
	if (p == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	billing = stored_json(st, PROFILE_SUMMARY_NCOLS);
	shipping = stored_json(st, PROFILE_SUMMARY_NCOLS + 1);
	(void)json_object_set_new(p, "same_as_billing",
	    json_boolean(same_address(billing, shipping)));
	(void)json_object_set_new(p, "billing", billing);
	(void)json_object_set_new(p, "shipping", shipping);
	(void)json_object_set_new(p, "notes", text_json(st,
	    PROFILE_SUMMARY_NCOLS + 2));
	(void)json_object_set_new(p, "coupon_order_count", json_integer(
	    sqlite3_column_int64(st, PROFILE_SUMMARY_NCOLS + 3)));
	(void)json_object_set_new(p, "days_since_last_order",
	    sqlite3_column_type(st, 17) == SQLITE_NULL ? json_null() :
	    json_integer((now - sqlite3_column_int64(st, 17)) / 86400));
	(void)json_object_set_new(p, "details", json_pack("{s:I,s:o,s:o,s:o,s:o,"
	    "s:o}", "id", (json_int_t)customer_id, "wp_user_id", int_or_null(st, 6),
	    "created_at", time_json(st, 18), "status_changed_at", time_json(st, 9),
	    "status_changed_by", text_json(st, 10),
	    "status_reason", text_json(st, 8)));
	*refunded = sqlite3_column_int64(st, 14);
	*refunds = sqlite3_column_int64(st, 15);
	db_stmt_done(db, st);
	st = NULL;
	if ((rc = profile_add_tags(db, customer_id, p)) != TS_OK ||
	    (rc = add_aliases(db, customer_id, p)) != TS_OK ||
	    (rc = add_links(db, customer_id, p)) != TS_OK)
		goto out;
out:
	db_stmt_done(db, st);
	if (rc != TS_OK) {
		json_decref(p);
		return rc;
	}
	*out = p;
	return TS_OK;
}

enum ts_rc
profile_get_text(struct db *db, int64_t customer_id, int decimals,
    int64_t now, char **out, size_t *len)
{
	struct jw w = { 0 };
	json_t *head = NULL;
	char *text = NULL;
	int64_t refunded = 0, refunds = 0;
	size_t n;
	bool own_txn;
	enum ts_rc rc;

	*out = NULL;
	*len = 0;
	/*
	 * One read transaction for the whole profile, unless the caller has
	 * one: its parts agree, and SQLite takes its WAL read lock once instead
	 * of once per statement (some 110 of them).
	 */
	own_txn = sqlite3_get_autocommit(db_handle(db)) &&
	    db_exec(db, "BEGIN") == TS_OK;
	if ((rc = profile_head(db, customer_id, decimals, now, &head, &refunded,
	    &refunds)) != TS_OK)
		goto out;
	/* The head's text without its closing brace, then the rows. */
	if ((text = json_dumps(head, JSON_COMPACT)) == NULL ||
	    (n = strlen(text)) < 2) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	jw_raw(&w, text, n - 1);
	w.comma = n > 2;
	if ((rc = write_orders(&w, db, customer_id, decimals)) != TS_OK ||
	    (rc = write_returns(&w, db, customer_id, decimals, refunded,
	    refunds)) != TS_OK ||
	    (rc = write_interactions(&w, db, customer_id)) != TS_OK)
		goto out;
	jw_raw(&w, "}", 1);
	if (w.fail) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	*out = w.buf;
	*len = w.len;
	w.buf = NULL;
out:
	if (own_txn)
		db_rollback(db);
	free(w.buf);
	free(text);
	json_decref(head);
	return rc;
}

enum ts_rc
profile_get(struct db *db, int64_t customer_id, int decimals, int64_t now,
    json_t **out)
{
	char *text = NULL;
	size_t len;
	enum ts_rc rc;

	*out = NULL;
	if ((rc = profile_get_text(db, customer_id, decimals, now, &text,
	    &len)) != TS_OK)
		return rc;
	*out = json_loadb(text, len, 0, NULL);
	free(text);
	return *out != NULL ? TS_OK : TS_ERR_NOMEM;
}

/*
 * FTS5 deletes leave tombstones: a deleted customer's trigrams (enough to
 * rebuild the text) stay in the older index segments until those are merged
 * with the newer ones. A bulk insert (an import) leaves many segments, each
 * of which every search looks its trigrams up in: at a million customers,
 * ten segments made a search by part of an email three times the work of
 * one (performance.md). 'merge' with a negative page count merges every
 * segment into one, a slice at a time; each slice is its own short write
 * transaction, so intake and the worker are never held up for the whole
 * rewrite (about 12 s at a million customers).
 */
#define PURGE_PAGES_TEXT "2000"

enum ts_rc
profile_search_merge_later(struct db *db)
{
	return db_exec(db, "INSERT INTO kv (key, value, updated_at)"
	    " VALUES ('search.purge_pending', '1', unixepoch()) ON CONFLICT (key)"
	    " DO UPDATE SET updated_at = excluded.updated_at");
}

enum ts_rc
profile_search_purge(struct db *db, long budget_ms, bool *done)
{
	struct timespec t0, t;
	sqlite3_int64 pending = 0;
	enum ts_rc rc;

	*done = true;
	rc = db_query_int64(db, "SELECT count(*) FROM kv WHERE key ="
	    " 'search.purge_pending'", &pending);
	if (rc != TS_OK || pending == 0)
		return rc;
	*done = false;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		sqlite3 *h = db_handle(db);
		int before;

		if ((rc = db_begin(db)) != TS_OK)
			return rc;
		before = sqlite3_total_changes(h);
		if ((rc = db_exec(db, "INSERT INTO customers_fts (customers_fts, rank)"
		    " VALUES ('merge', -" PURGE_PAGES_TEXT ")")) != TS_OK) {
			db_rollback(db);
			return rc;
		}
		/* Under two changes: nothing was left to merge. */
		if (sqlite3_total_changes(h) - before < 2) {
			*done = true;
			rc = db_exec(db, "DELETE FROM kv WHERE key ="
			    " 'search.purge_pending'");
		}
		if (rc != TS_OK || (rc = db_commit(db)) != TS_OK) {
			db_rollback(db);
			return rc;
		}
		(void)clock_gettime(CLOCK_MONOTONIC, &t);
		if (*done || (t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= budget_ms)
			return TS_OK;
	}
}

bool
profile_status_valid(const char *status)
{
	static const char *const statuses[] = { "active", "vip", "caution",
		"do_not_serve" };

	for (size_t i = 0; status != NULL && i < 4; i++)
		if (strcmp(status, statuses[i]) == 0)
			return true;
	return false;
}

static void
bind_text_or_null(sqlite3_stmt *st, int col, const char *text)
{
	if (text != NULL)
		(void)sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(st, col);
}

enum ts_rc
profile_audit(struct db *db, int64_t customer_id, int64_t at,
    const char *actor, const char *action, const char *field,
    const char *old_value, const char *new_value, const char *reason)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = prepare(db, "INSERT INTO audit_log (customer_id, at, actor,"
	    " action, field, old_value, new_value, reason) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8)", &st)) != TS_OK)
		goto out;
	if (customer_id > 0)
		(void)sqlite3_bind_int64(st, 1, customer_id);
	else
		(void)sqlite3_bind_null(st, 1);
	(void)sqlite3_bind_int64(st, 2, at);
	bind_text_or_null(st, 3, actor);
	bind_text_or_null(st, 4, action);
	bind_text_or_null(st, 5, field);
	bind_text_or_null(st, 6, old_value);
	bind_text_or_null(st, 7, new_value);
	bind_text_or_null(st, 8, reason);
	rc = db_rc(sqlite3_step(st));
out:
	db_stmt_done(db, st);
	return rc;
}

enum ts_rc
profile_set_status(struct db *db, int64_t customer_id, const char *status,
    const char *reason, const char *actor, int64_t now, bool *changed)
{
	sqlite3_stmt *st = NULL;
	char old[16] = "";
	enum ts_rc rc;
	int src;

	*changed = false;
	if (!profile_status_valid(status))
		return TS_ERR_INVALID;
	if ((rc = prepare(db, "SELECT status FROM customers WHERE id = ?1",
	    &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
		goto out;
	}
	(void)snprintf(old, sizeof(old), "%s", sqlite3_column_text(st, 0));
	db_stmt_done(db, st);
	st = NULL;
	if (strcmp(old, status) == 0)
		goto out;
	if ((rc = prepare(db, "UPDATE customers SET status = ?2,"
	    " status_reason = ?3, status_changed_at = ?4, status_changed_by = ?5"
	    " WHERE id = ?1", &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, reason);
	(void)sqlite3_bind_int64(st, 4, now);
	bind_text_or_null(st, 5, actor);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto out;
	if ((rc = profile_audit(db, customer_id, now, actor, "status_change",
	    "status", old, status, reason)) != TS_OK)
		goto out;
	*changed = true;
out:
	db_stmt_done(db, st);
	return rc;
}
