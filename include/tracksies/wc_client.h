/* SPDX-License-Identifier: MIT */
/*
 * WooCommerce REST v3 client on libcurl. Requests are wc_calls: built with
 * the wc_call_* constructors, run either one at a time (wc_client_perform)
 * or several at once (wc_client_start + wc_client_wait, up to
 * max_in_flight transfers on one curl multi handle, connections reused).
 * CURLcode and HTTP statuses are translated here, once, to enum ts_rc:
 *   TS_ERR_TRANSIENT  network error, timeout, 408, 429 (retry_after_s set), 5xx
 *   TS_ERR_AUTH       401, 403
 *   TS_ERR_NOTFOUND   404 (a permanently deleted or unknown order)
 *   TS_ERR_INVALID    any other 4xx, or a 2xx body that is not JSON; also
 *                     a 404 that is not WooCommerce's (no JSON error body,
 *                     or rest_no_route: no WooCommerce at that URL), a 3xx
 *                     (redirects are not followed), a body over 64 MiB
 * Authentication: HTTP Basic over https, one-legged OAuth 1.0a (HMAC-SHA256,
 * fresh nonce) over plain http, unless [store] auth says otherwise. Paths are
 * always /wp-json/wc/v3/...: WooCommerce only authenticates keys there.
 * A wc_client is used by one thread.
 */
#ifndef TRACKSIES_WC_CLIENT_H
#define TRACKSIES_WC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tracksies/config.h"
#include "tracksies/rc.h"

struct wc_client;

struct wc_client_options {
	const char *base_url;		/* store home URL, e.g. https://shop.example */
	enum config_auth auth;
	const char *consumer_key;	/* borrowed; must outlive the client */
	const char *consumer_secret;	/* borrowed; must outlive the client */
	const char *ca_file;		/* NULL: system store */
	long timeout_ms;		/* whole-request timeout */
	int max_in_flight;		/* concurrent transfers, >= 1 */
};

enum wc_method { WC_GET, WC_POST, WC_PUT, WC_DELETE };

/* One request and, once complete, its result. */
struct wc_call {
	/* request (owned by the call) */
	enum wc_method method;
	char *path;			/* after /wp-json/wc/v3, with query, e.g. "/orders/19" */
	json_t *body;			/* NULL for none */
	/* caller's tags: untouched by the client */
	int kind;
	void *user;
	/* result, valid after completion */
	enum ts_rc rc;
	long status;			/* HTTP status, 0 when none */
	json_t *response;		/* parsed body (also error bodies), or NULL */
	long total;			/* X-WP-Total, -1 when absent */
	long total_pages;		/* X-WP-TotalPages, -1 when absent */
	long retry_after_s;		/* Retry-After on 429/503, 0 when absent */
	char error_code[64];		/* WooCommerce "code" or a curl error name */
	char error_message[256];	/* human-readable, never a secret */
	/* internal */
	void *priv;
};

/*
 * Create a client. On TS_OK *out belongs to the caller (wc_client_free).
 * TS_ERR_INVALID for a bad base URL, TS_ERR_NOMEM. Call after
 * curl_global_init().
 */
enum ts_rc wc_client_new(const struct wc_client_options *opt,
    struct wc_client **out);

/* Free wc; calls still in flight are aborted (and not freed). NULL no-op. */
void wc_client_free(struct wc_client *wc);

/* Constructors: NULL only when out of memory. Free with wc_call_free. */
struct wc_call *wc_call_new(enum wc_method method, const char *path,
    json_t *body_stolen);
/* GET /orders/{id} */
struct wc_call *wc_call_get_order(int64_t order_id);
/* GET /orders?include=a,b,..&per_page=100&status=any (n <= 100) */
struct wc_call *wc_call_get_orders(const int64_t *ids, size_t n);
/* GET /products?include=...&per_page=100 (n <= 100) */
struct wc_call *wc_call_get_products(const int64_t *ids, size_t n);
/* PUT /orders/{id} with body (stolen), e.g. {"meta_data":[...]} */
struct wc_call *wc_call_put_order(int64_t order_id, json_t *body_stolen);
/* POST /orders/batch with body (stolen) {"update":[...]} (<= 100 items) */
struct wc_call *wc_call_batch_orders(json_t *body_stolen);

/* Query of GET /orders; unset fields are left out of the URL. */
struct wc_list_query {
	int page;			/* >= 1 */
	long offset;			/* > 0: skip this many (WooCommerce then ignores page) */
	int per_page;			/* 1..100 */
	const char *status;		/* e.g. "any", NULL = store default */
	const char *after;		/* ISO 8601 UTC; dates_are_gmt=true is always sent */
	const char *before;
	const char *modified_after;
	const char *modified_before;
	const char *orderby;		/* "id", "date", "modified" */
	const char *order;		/* "asc", "desc" */
};
struct wc_call *wc_call_list_orders(const struct wc_list_query *q);

void wc_call_free(struct wc_call *call);

/*
 * Start call. It completes later through wc_client_wait. TS_ERR_TRANSIENT
 * when max_in_flight transfers are already running (start fewer),
 * TS_ERR_NOMEM.
 */
enum ts_rc wc_client_start(struct wc_client *wc, struct wc_call *call);

/* Transfers started and not yet returned by wc_client_wait. */
int wc_client_in_flight(const struct wc_client *wc);

/*
 * Drive transfers for up to timeout_ms and return one completed call in
 * *done (NULL on timeout or when nothing is in flight). The call's rc and
 * result fields are set. TS_OK, or TS_ERR_NOMEM/TS_ERR_IO when curl itself
 * fails.
 */
enum ts_rc wc_client_wait(struct wc_client *wc, long timeout_ms,
    struct wc_call **done);

/* Run call to completion, alone. Returns call->rc. */
enum ts_rc wc_client_perform(struct wc_client *wc, struct wc_call *call);

/* Requests made since creation, by HTTP status class, for /metrics. */
struct wc_client_stats {
	uint64_t requests;
	uint64_t ok;			/* 2xx */
	uint64_t transient;
	uint64_t auth;
	uint64_t notfound;
	uint64_t invalid;
};
void wc_client_stats(const struct wc_client *wc, struct wc_client_stats *out);

#endif
