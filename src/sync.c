/* SPDX-License-Identifier: MIT */
/*
 * What one fetched order means (PRODUCT.md section 3): find or create its
 * customer by email, store the order with its items and refunds, keep a
 * transaction row while it counts, take profile fields from the newest
 * order only, recompute metrics from rows, and work out the _tracksies_*
 * meta the store should hold. Idempotent: applying the same order twice
 * changes nothing, which is what makes repeated deliveries harmless.
 */
#include "tracksies/sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/wc_order.h"

enum stmt_id {
	S_FIND_CUSTOMER,
	S_FIND_ALIAS,
	S_INSERT_CUSTOMER,
	S_ORDER_CUSTOMER,
	S_ORDER_MODIFIED,
	S_ERASED,
	S_UPSERT_ORDER,
	S_DELETE_ITEMS,
	S_INSERT_ITEM,
	S_DELETE_REFUNDS,
	S_INSERT_REFUND,
	S_UPSERT_TX,
	S_DELETE_TX,
	S_PROFILE,
	S_RECOMPUTE,
	S_SYNC_STATE,
	S_MARK_GONE,
	S_MARK_WRITTEN,
	S_SET_WRITEBACK,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_FIND_CUSTOMER] = "SELECT id FROM customers WHERE email = ?1",
	[S_FIND_ALIAS] = "SELECT customer_id FROM customer_aliases WHERE email = ?1",
	[S_INSERT_CUSTOMER] = "INSERT INTO customers (email, created_at) VALUES (?1, ?2)",
	[S_ORDER_CUSTOMER] = "SELECT customer_id FROM orders WHERE id = ?1",
	[S_ORDER_MODIFIED] = "SELECT modified_at FROM orders WHERE id = ?1",
	[S_ERASED] = "SELECT erasure_id FROM erased_orders WHERE order_id = ?1",
	[S_UPSERT_ORDER] =
	    "INSERT INTO orders (id, customer_id, number, status, currency,"
	    " created_at, modified_at, total_minor, discount_minor, shipping_minor,"
	    " tax_minor, wp_user_id, payment_method, payment_method_title,"
	    " shipping_methods, coupon_codes, customer_note, billing_json,"
	    " shipping_json, tracking_json, item_count, refunded_minor, refund_count,"
	    " fetched_at, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	    " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
	    " ?25)"
	    " ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id,"
	    " number = excluded.number, status = excluded.status,"
	    " currency = excluded.currency, created_at = excluded.created_at,"
	    " modified_at = excluded.modified_at, total_minor = excluded.total_minor,"
	    " discount_minor = excluded.discount_minor,"
	    " shipping_minor = excluded.shipping_minor, tax_minor = excluded.tax_minor,"
	    " wp_user_id = excluded.wp_user_id,"
	    " payment_method = excluded.payment_method,"
	    " payment_method_title = excluded.payment_method_title,"
	    " shipping_methods = excluded.shipping_methods,"
	    " coupon_codes = excluded.coupon_codes,"
	    " customer_note = excluded.customer_note,"
	    " billing_json = excluded.billing_json,"
	    " shipping_json = excluded.shipping_json,"
	    " tracking_json = excluded.tracking_json,"
	    " item_count = excluded.item_count,"
	    " refunded_minor = excluded.refunded_minor,"
	    " refund_count = excluded.refund_count, fetched_at = excluded.fetched_at,"
	    " digest = excluded.digest"
	    /* Unchanged orders are left alone, so "changed" can be counted. */
	    " WHERE orders.digest IS NOT excluded.digest"
	    " OR orders.customer_id IS NOT excluded.customer_id",
	[S_DELETE_ITEMS] = "DELETE FROM order_items WHERE order_id = ?1",
	[S_INSERT_ITEM] =
	    "INSERT INTO order_items (order_id, product_id, variation_id, name, sku,"
	    " quantity, subtotal_minor, total_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8)",
	[S_DELETE_REFUNDS] = "DELETE FROM order_refunds WHERE order_id = ?1",
	[S_INSERT_REFUND] =
	    "INSERT OR REPLACE INTO order_refunds (id, order_id, amount_minor, reason)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_UPSERT_TX] =
	    "INSERT OR REPLACE INTO transactions (order_id, customer_id, order_number,"
	    " total_minor, discount_minor, payment_method, shipping_method,"
	    " item_count, coupon_codes, currency, created_at) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[S_DELETE_TX] = "DELETE FROM transactions WHERE order_id = ?1",
	/* Only an order at least as new as the last one used may set fields. */
	[S_PROFILE] =
	    "UPDATE customers SET first_name = ?3, last_name = ?4, phone = ?5,"
	    " company = ?6, wp_user_id = COALESCE(NULLIF(?7, 0), wp_user_id),"
	    " billing_json = ?8, shipping_json = ?9, profile_order_id = ?2,"
	    " profile_order_at = ?10 WHERE id = ?1 AND (profile_order_at IS NULL"
	    " OR ?10 > profile_order_at OR (?10 = profile_order_at AND"
	    " ?2 >= profile_order_id))",
	[S_RECOMPUTE] =
	    "UPDATE customers SET ltv_minor = t.ltv, order_count = t.n,"
	    " aov_minor = CASE WHEN t.n > 0 THEN (t.ltv + t.n / 2) / t.n ELSE 0 END,"
	    " first_order_at = t.first_at, last_order_at = t.last_at,"
	    " coupon_order_count = t.coupons, refunded_minor = r.refunded,"
	    " refund_count = r.refunds, metrics_at = ?3"
	    " FROM (SELECT COALESCE(SUM(total_minor), 0) AS ltv, COUNT(*) AS n,"
	    "  MIN(created_at) AS first_at, MAX(created_at) AS last_at,"
	    "  COALESCE(SUM(coupon_codes <> ''), 0) AS coupons FROM transactions"
	    "  WHERE customer_id = ?1 AND currency = ?2) AS t,"
	    " (SELECT COALESCE(SUM(refunded_minor), 0) AS refunded,"
	    "  COALESCE(SUM(refund_count), 0) AS refunds FROM orders"
	    "  WHERE customer_id = ?1 AND currency = ?2"
	    "  AND status NOT IN ('trash', 'deleted')) AS r"
	    " WHERE customers.id = ?1",
	[S_SYNC_STATE] =
	    "INSERT INTO order_sync (order_id, state, error_code, error_message,"
	    " customer_id, synced_at, updated_at, writeback) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8) ON CONFLICT (order_id) DO UPDATE SET"
	    " state = excluded.state, error_code = excluded.error_code,"
	    " error_message = excluded.error_message,"
	    " customer_id = excluded.customer_id,"
	    " synced_at = COALESCE(excluded.synced_at, order_sync.synced_at),"
	    " updated_at = excluded.updated_at, writeback = excluded.writeback",
	[S_MARK_GONE] =
	    "UPDATE orders SET status = ?2, fetched_at = ?3, digest = NULL"
	    " WHERE id = ?1 AND status <> ?2",
	[S_MARK_WRITTEN] =
	    "UPDATE order_sync SET writeback = NULL, meta_written_at = ?2"
	    " WHERE order_id = ?1",
	[S_SET_WRITEBACK] = "UPDATE order_sync SET writeback = ?2 WHERE order_id = ?1",
};

struct sync {
	struct db *db;
	sqlite3_stmt *stmt[S_COUNT];
	char currency[4];
	char **statuses;
	size_t n_statuses;
	int decimals;
	bool aliases;		/* feature woo.aliases: match alias emails */
};

static const struct {
	const char *code;
	const char *text;
} error_texts[] = {
	{ "no_billing_email", "the order has no billing email" },
	{ "order_not_found", "the order is trashed or deleted in the store" },
	{ "customer_creation_failed", "the customer could not be created" },
	{ "invalid_order", "the store sent an order that could not be read" },
};

const char *
sync_error_text(const char *code)
{
	for (size_t i = 0; i < sizeof(error_texts) / sizeof(error_texts[0]); i++)
		if (strcmp(code, error_texts[i].code) == 0)
			return error_texts[i].text;
	return "sync failed";
}

void
sync_result_fini(struct sync_result *r)
{
	json_decref(r->meta);
	r->meta = NULL;
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		(void)sqlite3_finalize(s->stmt[i]);
	for (size_t i = 0; i < s->n_statuses; i++)
		free(s->statuses[i]);
	free(s->statuses);
	free(s);
}

enum ts_rc
sync_new(struct db *db, const struct sync_settings *settings,
    struct sync **out)
{
	struct sync *s = NULL;
	enum ts_rc rc = TS_ERR_NOMEM;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TS_ERR_NOMEM;
	s->db = db;
	s->decimals = settings->decimals;
	s->aliases = true;
	(void)snprintf(s->currency, sizeof(s->currency), "%s",
	    settings->store_currency != NULL ? settings->store_currency : "");
	if (settings->n_qualifying_statuses > 0 && (s->statuses = calloc(
	    settings->n_qualifying_statuses, sizeof(char *))) == NULL)
		goto fail;
	for (size_t i = 0; i < settings->n_qualifying_statuses; i++) {
		if ((s->statuses[i] = strdup(settings->qualifying_statuses[i])) == NULL)
			goto fail;
		s->n_statuses++;
	}
	for (int i = 0; i < S_COUNT; i++) {
		if ((rc = db_rc(sqlite3_prepare_v3(db_handle(db), stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL))) != TS_OK)
			goto fail;
	}
	*out = s;
	return TS_OK;
fail:
	sync_free(s);
	return rc;
}

static bool
qualifies(const struct sync *s, const char *status)
{
	for (size_t i = 0; i < s->n_statuses; i++)
		if (strcmp(s->statuses[i], status) == 0)
			return true;
	return false;
}

/* Reset stmt, run it to completion; TS_OK for DONE or ROW. */
static enum ts_rc
step(sqlite3_stmt *stmt)
{
	int src = sqlite3_step(stmt);
	enum ts_rc rc = db_rc(src);

	(void)sqlite3_reset(stmt);
	(void)sqlite3_clear_bindings(stmt);
	return rc;
}

/* Run a one-column integer query; *out = 0 and TS_ERR_NOTFOUND on no row. */
static enum ts_rc
step_int(sqlite3_stmt *stmt, int64_t *out)
{
	int src = sqlite3_step(stmt);
	enum ts_rc rc;

	*out = 0;
	if (src == SQLITE_ROW) {
		*out = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 0 :
		    sqlite3_column_int64(stmt, 0);
		rc = TS_OK;
	} else {
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
	}
	(void)sqlite3_reset(stmt);
	(void)sqlite3_clear_bindings(stmt);
	return rc;
}

static void
bind_text(sqlite3_stmt *stmt, int col, const char *text)
{
	if (text != NULL)
		(void)sqlite3_bind_text(stmt, col, text, -1, SQLITE_TRANSIENT);
	else
		(void)sqlite3_bind_null(stmt, col);
}

static void
bind_id(sqlite3_stmt *stmt, int col, int64_t id)
{
	if (id > 0)
		(void)sqlite3_bind_int64(stmt, col, id);
	else
		(void)sqlite3_bind_null(stmt, col);
}

/* Find the customer by email, then by alias email; create one if none. */
static enum ts_rc
find_or_create_customer(struct sync *s, const char *email, int64_t now,
    int64_t *id, bool *created)
{
	enum ts_rc rc;

	*created = false;
	bind_text(s->stmt[S_FIND_CUSTOMER], 1, email);
	if ((rc = step_int(s->stmt[S_FIND_CUSTOMER], id)) != TS_ERR_NOTFOUND)
		return rc;
	if (s->aliases) {
		bind_text(s->stmt[S_FIND_ALIAS], 1, email);
		if ((rc = step_int(s->stmt[S_FIND_ALIAS], id)) != TS_ERR_NOTFOUND)
			return rc;
	}
	bind_text(s->stmt[S_INSERT_CUSTOMER], 1, email);
	(void)sqlite3_bind_int64(s->stmt[S_INSERT_CUSTOMER], 2, now);
	if ((rc = step(s->stmt[S_INSERT_CUSTOMER])) != TS_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(db_handle(s->db));
	*created = true;
	return TS_OK;
}

enum ts_rc
sync_recompute_customer(struct sync *s, int64_t customer_id, int64_t now)
{
	sqlite3_stmt *st = s->stmt[S_RECOMPUTE];

	if (customer_id <= 0)
		return TS_OK;
	(void)sqlite3_bind_int64(st, 1, customer_id);
	bind_text(st, 2, s->currency);
	(void)sqlite3_bind_int64(st, 3, now);
	return step(st);
}

static enum ts_rc
store_order(struct sync *s, const struct wc_order *o, int64_t customer_id,
    int64_t now, bool *changed)
{
	sqlite3_stmt *st = s->stmt[S_UPSERT_ORDER];
	enum ts_rc rc;

	(void)sqlite3_bind_int64(st, 1, o->id);
	bind_id(st, 2, customer_id);
	bind_text(st, 3, o->number);
	bind_text(st, 4, o->status);
	bind_text(st, 5, o->currency);
	(void)sqlite3_bind_int64(st, 6, o->created_at);
	bind_id(st, 7, o->modified_at);
	(void)sqlite3_bind_int64(st, 8, o->total_minor);
	(void)sqlite3_bind_int64(st, 9, o->discount_minor);
	(void)sqlite3_bind_int64(st, 10, o->shipping_minor);
	(void)sqlite3_bind_int64(st, 11, o->tax_minor);
	bind_id(st, 12, o->wp_user_id);
	bind_text(st, 13, o->payment_method);
	bind_text(st, 14, o->payment_method_title);
	bind_text(st, 15, o->shipping_methods);
	bind_text(st, 16, o->coupon_codes);
	bind_text(st, 17, o->customer_note);
	bind_text(st, 18, o->billing_json);
	bind_text(st, 19, o->shipping_json);
	bind_text(st, 20, o->tracking_json);
	(void)sqlite3_bind_int64(st, 21, o->item_count);
	(void)sqlite3_bind_int64(st, 22, o->refunded_minor);
	(void)sqlite3_bind_int64(st, 23, (sqlite3_int64)o->n_refunds);
	(void)sqlite3_bind_int64(st, 24, now);
	(void)sqlite3_bind_int64(st, 25, wc_order_digest(o));
	if ((rc = step(st)) != TS_OK)
		return rc;
	if (sqlite3_changes(db_handle(s->db)) == 0)
		return TS_OK;		/* same as stored: items and refunds too */
	*changed = true;

	(void)sqlite3_bind_int64(s->stmt[S_DELETE_ITEMS], 1, o->id);
	if ((rc = step(s->stmt[S_DELETE_ITEMS])) != TS_OK)
		return rc;
	for (size_t i = 0; i < o->n_items; i++) {
		const struct wc_order_item *it = &o->items[i];
		st = s->stmt[S_INSERT_ITEM];
		(void)sqlite3_bind_int64(st, 1, o->id);
		(void)sqlite3_bind_int64(st, 2, it->product_id);
		(void)sqlite3_bind_int64(st, 3, it->variation_id);
		bind_text(st, 4, it->name);
		bind_text(st, 5, it->sku);
		(void)sqlite3_bind_int64(st, 6, it->quantity);
		(void)sqlite3_bind_int64(st, 7, it->subtotal_minor);
		(void)sqlite3_bind_int64(st, 8, it->total_minor);
		if ((rc = step(st)) != TS_OK)
			return rc;
	}
	(void)sqlite3_bind_int64(s->stmt[S_DELETE_REFUNDS], 1, o->id);
	if ((rc = step(s->stmt[S_DELETE_REFUNDS])) != TS_OK)
		return rc;
	for (size_t i = 0; i < o->n_refunds; i++) {
		const struct wc_refund *r = &o->refunds[i];
		st = s->stmt[S_INSERT_REFUND];
		(void)sqlite3_bind_int64(st, 1, r->id);
		(void)sqlite3_bind_int64(st, 2, o->id);
		(void)sqlite3_bind_int64(st, 3, r->amount_minor);
		bind_text(st, 4, r->reason);
		if ((rc = step(st)) != TS_OK)
			return rc;
	}
	return TS_OK;
}

static enum ts_rc
store_transaction(struct sync *s, const struct wc_order *o,
    int64_t customer_id, bool counts)
{
	sqlite3_stmt *st;

	if (!counts) {
		(void)sqlite3_bind_int64(s->stmt[S_DELETE_TX], 1, o->id);
		return step(s->stmt[S_DELETE_TX]);
	}
	st = s->stmt[S_UPSERT_TX];
	(void)sqlite3_bind_int64(st, 1, o->id);
	(void)sqlite3_bind_int64(st, 2, customer_id);
	bind_text(st, 3, o->number);
	(void)sqlite3_bind_int64(st, 4, o->total_minor);
	(void)sqlite3_bind_int64(st, 5, o->discount_minor);
	bind_text(st, 6, o->payment_method);
	bind_text(st, 7, o->shipping_methods);
	(void)sqlite3_bind_int64(st, 8, o->item_count);
	bind_text(st, 9, o->coupon_codes);
	bind_text(st, 10, o->currency);
	(void)sqlite3_bind_int64(st, 11, o->created_at);
	return step(st);
}

static enum ts_rc
update_profile(struct sync *s, const struct wc_order *o, int64_t customer_id)
{
	sqlite3_stmt *st = s->stmt[S_PROFILE];

	(void)sqlite3_bind_int64(st, 1, customer_id);
	(void)sqlite3_bind_int64(st, 2, o->id);
	bind_text(st, 3, o->first_name);
	bind_text(st, 4, o->last_name);
	bind_text(st, 5, o->phone);
	bind_text(st, 6, o->company);
	(void)sqlite3_bind_int64(st, 7, o->wp_user_id);
	bind_text(st, 8, o->billing_json);
	bind_text(st, 9, o->shipping_json);
	(void)sqlite3_bind_int64(st, 10, o->created_at);
	return step(st);
}

static enum ts_rc
record_state(struct sync *s, const struct sync_result *r, int64_t now)
{
	sqlite3_stmt *st = s->stmt[S_SYNC_STATE];
	char *writeback = NULL;
	enum ts_rc rc;

	if (r->meta != NULL &&
	    (writeback = json_dumps(r->meta, JSON_COMPACT)) == NULL)
		return TS_ERR_NOMEM;
	(void)sqlite3_bind_int64(st, 1, r->order_id);
	bind_text(st, 2, r->error_code != NULL ? "failed" : "synced");
	bind_text(st, 3, r->error_code);
	bind_text(st, 4, r->error_code != NULL ? r->error_message : NULL);
	bind_id(st, 5, r->customer_id);
	if (r->error_code == NULL)
		(void)sqlite3_bind_int64(st, 6, now);
	else
		(void)sqlite3_bind_null(st, 6);
	(void)sqlite3_bind_int64(st, 7, now);
	bind_text(st, 8, writeback);
	rc = step(st);
	free(writeback);
	return rc;
}

static enum ts_rc
meta_push(json_t *meta, const char *key, json_t *value)
{
	if (value == NULL ||
	    json_array_append_new(meta, json_pack("{s:s,s:o}", "key", key,
	    "value", value)) != 0)
		return TS_ERR_NOMEM;
	return TS_OK;
}

/*
 * The meta the store should get, as the difference between what it holds
 * now (read from the fetched order) and what it should hold. Nothing when
 * they agree: so the order.updated echo that follows our own write finds
 * nothing to do, and the loop ends after one round.
 */
static enum ts_rc
plan_meta(const struct wc_order *o, struct sync_result *r, int64_t now)
{
	json_t *meta = json_array();
	char want_id[32] = "", want_err[256] = "";
	bool ok = r->error_code == NULL;

	if (meta == NULL)
		return TS_ERR_NOMEM;
	if (ok)
		(void)snprintf(want_id, sizeof(want_id), "%" PRId64, r->customer_id);
	else
		(void)snprintf(want_err, sizeof(want_err), "%s: %s", r->error_code,
		    r->error_message);

	/* _tracksies_customer_id: the customer, or gone on failure. */
	if (ok && (o->meta_customer_id == NULL ||
	    strcmp(o->meta_customer_id, want_id) != 0)) {
		if (meta_push(meta, WC_META_CUSTOMER_ID, json_string(want_id)) != TS_OK)
			goto nomem;
	} else if (!ok && o->meta_customer_id != NULL) {
		if (meta_push(meta, WC_META_CUSTOMER_ID, json_null()) != TS_OK)
			goto nomem;
	}
	/* _tracksies_sync_error: "code: message", emptied on success. */
	if (ok && o->meta_sync_error != NULL && *o->meta_sync_error != '\0') {
		if (meta_push(meta, WC_META_SYNC_ERROR, json_string("")) != TS_OK)
			goto nomem;
	} else if (!ok && (o->meta_sync_error == NULL ||
	    strcmp(o->meta_sync_error, want_err) != 0)) {
		if (meta_push(meta, WC_META_SYNC_ERROR, json_string(want_err)) != TS_OK)
			goto nomem;
	}
	/*
	 * _tracksies_synced: only on orders that count. It is (re)written
	 * when anything else changes or it is missing; a re-sync that
	 * changes nothing leaves it, or every echo would write it again.
	 */
	if (ok && r->counted) {
		if (o->meta_synced == NULL || json_array_size(meta) > 0) {
			char ts[32];
			(void)snprintf(ts, sizeof(ts), "%" PRId64, now);
			if (meta_push(meta, WC_META_SYNCED, json_string(ts)) != TS_OK)
				goto nomem;
		}
	} else if (o->meta_synced != NULL) {
		if (meta_push(meta, WC_META_SYNCED, json_null()) != TS_OK)
			goto nomem;
	}
	if (json_array_size(meta) == 0) {
		json_decref(meta);
		meta = NULL;
	}
	r->meta = meta;
	return TS_OK;
nomem:
	json_decref(meta);
	return TS_ERR_NOMEM;
}

/* Delete whichever of our keys the order still carries. */
static enum ts_rc
plan_erase(const struct wc_order *o, struct sync_result *r)
{
	const char *const keys[] = { WC_META_CUSTOMER_ID, WC_META_SYNCED,
		WC_META_SYNC_ERROR };
	const char *const have[] = { o->meta_customer_id, o->meta_synced,
		o->meta_sync_error };
	json_t *meta = json_array();

	if (meta == NULL)
		return TS_ERR_NOMEM;
	for (int i = 0; i < 3; i++)
		if (have[i] != NULL && meta_push(meta, keys[i], json_null()) != TS_OK) {
			json_decref(meta);
			return TS_ERR_NOMEM;
		}
	if (json_array_size(meta) == 0) {
		json_decref(meta);
		meta = NULL;
	}
	r->meta = meta;
	return TS_OK;
}

void
sync_set_aliases(struct sync *s, bool on)
{
	s->aliases = on;
}

static void
set_error(struct sync_result *r, const char *code, const char *detail)
{
	r->error_code = code;
	(void)snprintf(r->error_message, sizeof(r->error_message), "%s",
	    detail != NULL ? detail : sync_error_text(code));
}

/* The order no longer belongs to old_customer (or to anyone). */
static enum ts_rc
detach(struct sync *s, int64_t order_id, int64_t old_customer, int64_t now)
{
	enum ts_rc rc;

	(void)sqlite3_bind_int64(s->stmt[S_DELETE_TX], 1, order_id);
	if ((rc = step(s->stmt[S_DELETE_TX])) != TS_OK)
		return rc;
	return sync_recompute_customer(s, old_customer, now);
}

enum ts_rc
sync_apply_order(struct sync *s, const json_t *doc, int64_t now,
    struct sync_result *out)
{
	struct wc_order *o = NULL;
	int64_t old_customer = 0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = wc_order_parse(doc, s->decimals, &o)) != TS_OK) {
		if (rc != TS_ERR_INVALID)
			return rc;
		out->order_id = (int64_t)json_integer_value(json_object_get(doc, "id"));
		set_error(out, "invalid_order", NULL);
		return out->order_id > 0 ? record_state(s, out, now) : TS_OK;
	}
	out->order_id = o->id;
	/*
	 * The customer of this order was erased (GDPR): keep nothing, and take
	 * our meta off the order in the store.
	 */
	{
		int64_t erasure = 0;
		(void)sqlite3_bind_int64(s->stmt[S_ERASED], 1, o->id);
		if ((rc = step_int(s->stmt[S_ERASED], &erasure)) == TS_OK) {
			out->ignored = true;
			rc = plan_erase(o, out);
			goto out;
		}
		if (rc != TS_ERR_NOTFOUND)
			goto out;
		rc = TS_OK;
	}
	/* A checkout draft is a cart, not an order: leave no trace. */
	if (strcmp(o->status, "checkout-draft") == 0) {
		out->ignored = true;
		goto out;
	}
	/*
	 * A document older than the state already applied (two fetches that
	 * crossed, or a page read before our own write) changes nothing.
	 */
	if (o->modified_at > 0) {
		int64_t stored = 0;
		(void)sqlite3_bind_int64(s->stmt[S_ORDER_MODIFIED], 1, o->id);
		if ((rc = step_int(s->stmt[S_ORDER_MODIFIED], &stored)) != TS_OK &&
		    rc != TS_ERR_NOTFOUND)
			goto out;
		rc = TS_OK;
		if (stored > o->modified_at) {
			out->ignored = true;
			out->stale = true;
			goto out;
		}
	}
	if (strcmp(o->status, "trash") == 0) {
		wc_order_free(o);
		return sync_apply_missing(s, out->order_id, true, now, out);
	}
	(void)sqlite3_bind_int64(s->stmt[S_ORDER_CUSTOMER], 1, o->id);
	if ((rc = step_int(s->stmt[S_ORDER_CUSTOMER], &old_customer)) != TS_OK &&
	    rc != TS_ERR_NOTFOUND)
		goto out;

	if (o->email == NULL) {
		/* Kept for the record, tied to nobody, counted nowhere. */
		set_error(out, "no_billing_email", NULL);
		if ((rc = store_order(s, o, 0, now, &out->changed)) != TS_OK ||
		    (rc = detach(s, o->id, old_customer, now)) != TS_OK)
			goto out;
		out->old_customer_id = old_customer;
	} else {
		if ((rc = find_or_create_customer(s, o->email, now,
		    &out->customer_id, &out->customer_created)) != TS_OK) {
			if (rc == TS_ERR_INVALID) {
				set_error(out, "customer_creation_failed", NULL);
				rc = record_state(s, out, now);
			}
			goto out;
		}
		out->counted = qualifies(s, o->status);
		if ((rc = store_order(s, o, out->customer_id, now,
		    &out->changed)) != TS_OK ||
		    (rc = store_transaction(s, o, out->customer_id,
		    out->counted)) != TS_OK ||
		    (rc = update_profile(s, o, out->customer_id)) != TS_OK ||
		    (rc = sync_recompute_customer(s, out->customer_id, now)) != TS_OK)
			goto out;
		if (old_customer != 0 && old_customer != out->customer_id) {
			if ((rc = sync_recompute_customer(s, old_customer,
			    now)) != TS_OK)
				goto out;
			out->old_customer_id = old_customer;
		}
	}
	if ((rc = plan_meta(o, out, now)) != TS_OK)
		goto out;
	rc = record_state(s, out, now);
out:
	if (rc != TS_OK)
		sync_result_fini(out);
	wc_order_free(o);
	return rc;
}

enum ts_rc
sync_apply_missing(struct sync *s, int64_t order_id, bool trashed,
    int64_t now, struct sync_result *out)
{
	int64_t old_customer = 0;
	enum ts_rc rc;

	memset(out, 0, sizeof(*out));
	out->order_id = order_id;
	set_error(out, "order_not_found", trashed ?
	    "the order is in the store's trash" :
	    "the order does not exist in the store (deleted)");
	(void)sqlite3_bind_int64(s->stmt[S_ORDER_CUSTOMER], 1, order_id);
	rc = step_int(s->stmt[S_ORDER_CUSTOMER], &old_customer);
	if (rc == TS_OK) {
		(void)sqlite3_bind_int64(s->stmt[S_MARK_GONE], 1, order_id);
		bind_text(s->stmt[S_MARK_GONE], 2, trashed ? "trash" : "deleted");
		(void)sqlite3_bind_int64(s->stmt[S_MARK_GONE], 3, now);
		if ((rc = step(s->stmt[S_MARK_GONE])) != TS_OK)
			return rc;
		out->changed = sqlite3_changes(db_handle(s->db)) > 0;
		if ((rc = detach(s, order_id, old_customer, now)) != TS_OK)
			return rc;
		out->old_customer_id = old_customer;
	} else if (rc != TS_ERR_NOTFOUND) {
		return rc;
	}
	/* No meta for a trashed or deleted order: nothing to write it on. */
	return record_state(s, out, now);
}

enum ts_rc
sync_mark_written(struct sync *s, int64_t order_id, int64_t now)
{
	(void)sqlite3_bind_int64(s->stmt[S_MARK_WRITTEN], 1, order_id);
	(void)sqlite3_bind_int64(s->stmt[S_MARK_WRITTEN], 2, now);
	return step(s->stmt[S_MARK_WRITTEN]);
}

enum ts_rc
sync_set_writeback(struct sync *s, int64_t order_id, json_t *meta)
{
	char *text = NULL;
	enum ts_rc rc;

	if (meta != NULL && (text = json_dumps(meta, JSON_COMPACT)) == NULL) {
		json_decref(meta);
		return TS_ERR_NOMEM;
	}
	json_decref(meta);
	(void)sqlite3_bind_int64(s->stmt[S_SET_WRITEBACK], 1, order_id);
	bind_text(s->stmt[S_SET_WRITEBACK], 2, text);
	rc = step(s->stmt[S_SET_WRITEBACK]);
	free(text);
	return rc;
}
