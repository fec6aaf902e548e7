/* SPDX-License-Identifier: MIT */
/*
 * Reading a customer profile out of the tables sync.c fills. Read-only:
 * nothing here changes a row.
 */
#include "tracksies/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/money.h"
#include "tracksies/wc_order.h"

#define PROFILE_ORDERS 50

static json_t *
money_json(int64_t minor, int decimals)
{
	char buf[48];

	money_format(minor, decimals, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
time_json(sqlite3_stmt *st, int col)
{
	char buf[32];

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	wc_order_format_time(sqlite3_column_int64(st, col), buf, sizeof(buf));
	strcat(buf, "Z");
	return json_string(buf);
}

static json_t *
text_json(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? json_string((const char *)t) : json_null();
}

static json_t *
stored_json(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	json_t *v = t != NULL ? json_loads((const char *)t, 0, NULL) : NULL;

	return v != NULL ? v : json_object();
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

enum ts_rc
profile_find_by_email(struct db *db, const char *email, int64_t *customer_id)
{
	sqlite3_stmt *st = NULL;
	char *norm = wc_order_normalize_email(email);
	enum ts_rc rc;

	*customer_id = 0;
	if (norm == NULL)
		return TS_ERR_NOTFOUND;
	rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT id FROM customers WHERE email = ?1 UNION ALL"
	    " SELECT customer_id FROM customer_aliases WHERE email = ?1 LIMIT 1",
	    -1, &st, NULL));
	if (rc == TS_OK) {
		(void)sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			*customer_id = sqlite3_column_int64(st, 0);
		else
			rc = TS_ERR_NOTFOUND;
	}
	(void)sqlite3_finalize(st);
	free(norm);
	return rc;
}

static enum ts_rc
add_items(struct db *db, int64_t order_id, int decimals, json_t *order)
{
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT product_id, variation_id, name, sku, quantity, total_minor"
	    " FROM order_items WHERE order_id = ?1 ORDER BY id", -1, &st,
	    NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, order_id);
	while (sqlite3_step(st) == SQLITE_ROW)
		(void)json_array_append_new(items, json_pack("{s:I,s:I,s:o,s:o,s:I,s:o}",
		    "product_id", (json_int_t)sqlite3_column_int64(st, 0),
		    "variation_id", (json_int_t)sqlite3_column_int64(st, 1),
		    "name", text_json(st, 2), "sku", text_json(st, 3),
		    "quantity", (json_int_t)sqlite3_column_int64(st, 4),
		    "total", money_json(sqlite3_column_int64(st, 5), decimals)));
out:
	(void)sqlite3_finalize(st);
	(void)json_object_set_new(order, "items", items);
	return rc;
}

static enum ts_rc
add_refunds(struct db *db, int64_t order_id, int decimals, json_t *order,
    json_t *returns)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT id, amount_minor, reason FROM order_refunds WHERE order_id = ?1"
	    " ORDER BY id", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, order_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *r = json_pack("{s:I,s:I,s:o,s:o}",
		    "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "order_id", (json_int_t)order_id,
		    "amount", money_json(sqlite3_column_int64(st, 1), decimals),
		    "reason", text_json(st, 2));
		(void)json_array_append(list, r);
		(void)json_array_append_new(returns, r);
	}
out:
	(void)sqlite3_finalize(st);
	(void)json_object_set_new(order, "refunds", list);
	return rc;
}

static enum ts_rc
add_orders(struct db *db, int64_t customer_id, int decimals, json_t *profile)
{
	sqlite3_stmt *st = NULL;
	json_t *orders = json_array(), *returns = json_array();
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT o.id, o.number, o.status, o.currency, o.created_at,"
	    " o.total_minor, o.discount_minor, o.payment_method,"
	    " o.payment_method_title, o.shipping_methods, o.coupon_codes,"
	    " o.customer_note, o.billing_json, o.shipping_json, o.tracking_json,"
	    " o.item_count, o.refunded_minor, t.order_id IS NOT NULL,"
	    " s.state, s.synced_at, s.error_code"
	    " FROM orders AS o LEFT JOIN transactions AS t ON t.order_id = o.id"
	    " LEFT JOIN order_sync AS s ON s.order_id = o.id"
	    " WHERE o.customer_id = ?1 ORDER BY o.created_at DESC, o.id DESC"
	    " LIMIT ?2", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int(st, 2, PROFILE_ORDERS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		json_t *tracking = sqlite3_column_type(st, 14) == SQLITE_NULL ?
		    json_null() : stored_json(st, 14);
		json_t *o = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o},"
		    "s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:b,s:{s:o,s:o,s:o}}",
		    "id", (json_int_t)id, "number", text_json(st, 1),
		    "status", text_json(st, 2), "currency", text_json(st, 3),
		    "date_created", time_json(st, 4),
		    "total", money_json(sqlite3_column_int64(st, 5), decimals),
		    "discount_total", money_json(sqlite3_column_int64(st, 6), decimals),
		    "payment", "method", text_json(st, 7), "title", text_json(st, 8),
		    "shipping_methods", text_json(st, 9),
		    "coupon_codes", text_json(st, 10),
		    "customer_note", text_json(st, 11),
		    "billing", stored_json(st, 12), "shipping", stored_json(st, 13),
		    "tracking", tracking,
		    "item_count", (json_int_t)sqlite3_column_int64(st, 15),
		    "refunded_total", money_json(sqlite3_column_int64(st, 16), decimals),
		    "counted", sqlite3_column_int(st, 17) != 0,
		    "sync", "state", text_json(st, 18), "synced_at", time_json(st, 19),
		    "error_code", text_json(st, 20));
		if (o == NULL) {
			rc = TS_ERR_NOMEM;
			goto out;
		}
		if ((rc = add_items(db, id, decimals, o)) != TS_OK ||
		    (rc = add_refunds(db, id, decimals, o, returns)) != TS_OK) {
			json_decref(o);
			goto out;
		}
		(void)json_array_append_new(orders, o);
	}
out:
	(void)sqlite3_finalize(st);
	(void)json_object_set_new(profile, "orders", orders);
	(void)json_object_set_new(profile, "returns", returns);
	return rc;
}

enum ts_rc
profile_get(struct db *db, int64_t customer_id, int decimals, int64_t now,
    json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *p = NULL, *billing, *shipping;
	enum ts_rc rc;
	int src;

	*out = NULL;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT id, email, first_name, last_name, phone, company, wp_user_id,"
	    " status, status_reason, status_changed_at, status_changed_by,"
	    " ltv_minor, order_count, aov_minor, refunded_minor, refund_count,"
	    " first_order_at, last_order_at, created_at, billing_json,"
	    " shipping_json, notes, coupon_order_count,"
	    " (SELECT value FROM kv WHERE key = 'store.currency')"
	    " FROM customers WHERE id = ?1", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
		goto out;
	}
	billing = stored_json(st, 19);
	shipping = stored_json(st, 20);
	p = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:[],s:o,s:o,s:b,s:o,s:I}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "email", text_json(st, 1), "first_name", text_json(st, 2),
	    "last_name", text_json(st, 3), "phone", text_json(st, 4),
	    "company", text_json(st, 5),
	    "wp_user_id", sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null() :
	    json_integer(sqlite3_column_int64(st, 6)),
	    "status", text_json(st, 7), "status_reason", text_json(st, 8),
	    "status_changed_at", time_json(st, 9),
	    "status_changed_by", text_json(st, 10),
	    "ltv", money_json(sqlite3_column_int64(st, 11), decimals),
	    "order_count", (json_int_t)sqlite3_column_int64(st, 12),
	    "aov", money_json(sqlite3_column_int64(st, 13), decimals),
	    "refunded_total", money_json(sqlite3_column_int64(st, 14), decimals),
	    "refund_count", (json_int_t)sqlite3_column_int64(st, 15),
	    "first_order_at", time_json(st, 16), "last_order_at", time_json(st, 17),
	    "currency", text_json(st, 23),
	    "created_at", time_json(st, 18),
	    "notes", text_json(st, 21),
	    "tags",
	    "billing", billing, "shipping", shipping,
	    "same_as_billing", same_address(billing, shipping),
	    "days_since_last_order", sqlite3_column_type(st, 17) == SQLITE_NULL ?
	    json_null() : json_integer((now - sqlite3_column_int64(st, 17)) / 86400),
	    "coupon_order_count", (json_int_t)sqlite3_column_int64(st, 22));
	if (p == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	rc = add_orders(db, customer_id, decimals, p);
out:
	(void)sqlite3_finalize(st);
	if (rc != TS_OK) {
		json_decref(p);
		return rc;
	}
	*out = p;
	return TS_OK;
}
