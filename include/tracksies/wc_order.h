/* SPDX-License-Identifier: MIT */
/*
 * A WooCommerce REST v3 order (json_t) mapped to struct wc_order: money in
 * minor units, times in unix seconds UTC, the billing email trimmed and
 * lower-cased, our own _tracksies_* meta picked out. Pure: no I/O, no logs.
 */
#ifndef TRACKSIES_WC_ORDER_H
#define TRACKSIES_WC_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tracksies/rc.h"

#define WC_META_SYNCED "_tracksies_synced"
#define WC_META_CUSTOMER_ID "_tracksies_customer_id"
#define WC_META_SYNC_ERROR "_tracksies_sync_error"

struct wc_order_item {
	int64_t product_id;
	int64_t variation_id;
	char *name;
	char *sku;
	int64_t quantity;
	int64_t subtotal_minor;
	int64_t total_minor;
};

struct wc_refund {
	int64_t id;
	int64_t amount_minor;		/* positive */
	char *reason;
};

struct wc_order {
	int64_t id;
	char *number;
	char *status;			/* without "wc-" */
	char currency[4];
	int64_t created_at;		/* date_created_gmt */
	int64_t modified_at;		/* date_modified_gmt, 0 if absent */
	int64_t total_minor;
	int64_t discount_minor;
	int64_t shipping_minor;
	int64_t tax_minor;
	int64_t wp_user_id;		/* customer_id, 0 for guests */
	char *email;			/* trimmed, lower-cased; NULL when none */
	char *first_name;
	char *last_name;
	char *phone;
	char *company;
	char *payment_method;
	char *payment_method_title;
	char *customer_note;
	char *billing_json;		/* compact JSON of "billing" */
	char *shipping_json;		/* compact JSON of "shipping" */
	char *shipping_methods;		/* method titles, ", "-joined; "" if none */
	char *coupon_codes;		/* ", "-joined; "" if none */
	char *tracking_json;		/* shipment tracking meta as JSON, or NULL */
	struct wc_order_item *items;
	size_t n_items;
	int64_t item_count;		/* sum of quantities */
	struct wc_refund *refunds;
	size_t n_refunds;
	int64_t refunded_minor;		/* sum of refunds, positive */
	/* our meta as the store holds it now: NULL when absent */
	char *meta_synced;
	char *meta_customer_id;
	char *meta_sync_error;
};

/*
 * Map doc (a REST order object, borrowed) with decimals fractional digits
 * for money. On TS_OK *out belongs to the caller (wc_order_free).
 * TS_ERR_INVALID when doc is not an order (no positive id, no status,
 * unreadable money or dates); TS_ERR_NOMEM. Any thread.
 */
enum ts_rc wc_order_parse(const json_t *doc, int decimals,
    struct wc_order **out);

void wc_order_free(struct wc_order *order);

/*
 * Trim and lower-case an email in place-style into a new string; NULL when
 * nothing is left or it has no '@'. Caller frees.
 */
char *wc_order_normalize_email(const char *raw);

/*
 * A 64-bit digest of everything in order that tracksiesd stores (status,
 * money, email, dates, items, refunds, addresses, our meta): equal digests
 * mean applying the order again changes nothing. Never 0.
 */
int64_t wc_order_digest(const struct wc_order *order);

/* "2026-11-23T04:50:32" (UTC, optional 'Z' / fraction) -> unix seconds. */
enum ts_rc wc_order_parse_time(const char *text, int64_t *out);

/* unix seconds -> "2026-11-23T04:50:32" (no zone suffix) into buf[20+]. */
void wc_order_format_time(int64_t t, char *buf, size_t size);

#endif
