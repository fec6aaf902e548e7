/* SPDX-License-Identifier: MIT */
/*
 * fakewc: a small HTTP server that behaves as a WooCommerce 8.4 store does
 * (REST API v3, OAuth 1.0a, webhooks), for integration tests, the demo and
 * the benchmarks. This header holds the interfaces shared by its modules;
 * it is test tooling and never linked into tracksiesd.
 */
#ifndef FAKEWC_H
#define FAKEWC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FAKEWC_WC_VERSION "8.4.0"
#define FAKEWC_WP_VERSION "6.4.2"
#define FAKEWC_MAX_BODY (16u * 1024u * 1024u)

/* ---- util.c: time, money, encodings, crypto, buffers, PRNG, sleeping ---- */

struct util_buf {
	char *p;		/* NUL-terminated, owned */
	size_t len;
	size_t cap;
};

void util_buf_add(struct util_buf *b, const char *s, size_t len);
void util_buf_adds(struct util_buf *b, const char *s);
void util_buf_addf(struct util_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void util_buf_free(struct util_buf *b);
/* Hand the buffer's string to the caller (never NULL) and reset b. */
char *util_buf_take(struct util_buf *b);

void *util_xmalloc(size_t n);	/* abort()s on failure: this is test tooling */
char *util_xstrdup(const char *s);

int64_t util_now(void);
int64_t util_now_ms(void);
/* Seconds since the epoch for a proleptic Gregorian UTC wall clock. */
int64_t util_timegm(int y, int mon, int d, int h, int mi, int s);
/* "YYYY-MM-DDTHH:MM:SS" for t (already shifted to the wanted zone). */
void util_fmt_date(int64_t t, char out[20]);
/*
 * Parse a date as WordPress' rest_parse_date() accepts it:
 * YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH[:MM]]. *wall is the wall clock read
 * as UTC; *tz_s the explicit offset when *has_tz. False when malformed.
 */
bool util_parse_date(const char *s, int64_t *wall, bool *has_tz, int *tz_s);

/* "12.50" from 1250 cents (two decimals, minus sign when negative). */
void util_money(int64_t cents, char out[32]);
/* num / 10^scale printed as PHP prints a float: trailing zeros trimmed. */
void util_decimal(int64_t num, int scale, char out[40]);
/* Parse "12.5" / "12.50" / "12" into cents; false when malformed. */
bool util_parse_money(const char *s, int64_t *cents);

/* PHP rawurlencode (RFC 3986) and urlencode ('+' for space) into b. */
void util_rawurlencode(struct util_buf *b, const char *s, size_t len);
void util_urlencode(struct util_buf *b, const char *s, size_t len);
/* Percent-decode (plus_space: '+' is a space, as PHP fills $_GET). */
char *util_urldecode(const char *s, size_t len, bool plus_space);

void util_md5_hex(const char *s, size_t len, char out[33]);
void util_sha256_hex(const char *s, size_t len, char out[65]);
/* base64(HMAC(md, data, key)); md is "sha1" or "sha256". False on error. */
bool util_hmac_b64(const char *md, const char *key, size_t keylen,
    const char *data, size_t len, char out[96]);
/* Decode standard base64; returns malloc'd bytes or NULL. */
unsigned char *util_b64_decode(const char *s, size_t *outlen);
/* Constant-time string comparison. */
bool util_str_eq_ct(const char *a, const char *b);

/* A JSON number as PHP's json_encode prints a float: integral -> integer. */
json_t *util_php_number(double v);
/* Compact, "\/"-escaped, ASCII-only, as wp_json_encode() prints. Owned. */
char *util_json_dump(const json_t *j);

struct util_rng {
	uint64_t s;
};
void util_rng_seed(struct util_rng *r, uint64_t seed);
uint64_t util_rng_next(struct util_rng *r);
/* Uniform in [0, n). */
uint32_t util_rng_below(struct util_rng *r, uint32_t n);
bool util_rng_pct(struct util_rng *r, uint32_t pct);

/* Sleep ms, returning early (false) once util_stop_all() was called. */
bool util_sleep_ms(int64_t ms);
void util_stop_all(void);
bool util_stopping(void);

/* ---- order.c: one order, its items, money, meta and JSON shape ---- */

enum order_status {
	ST_PENDING, ST_PROCESSING, ST_ON_HOLD, ST_COMPLETED, ST_CANCELLED,
	ST_REFUNDED, ST_FAILED, ST_CHECKOUT_DRAFT, ST_TRASH, ST__COUNT
};

enum item_kind { ITEM_LINE, ITEM_SHIPPING, ITEM_FEE, ITEM_COUPON };

struct tax_rate {
	int id;
	const char *country, *state, *code, *label;
	int64_t ppm;		/* rate in millionths: 7.25 % = 72500 */
	double percent;
};

struct order_item {
	enum item_kind kind;
	int64_t id;
	char *name;		/* line: product name; shipping: method title;
				 * fee: name; coupon: code */
	char *sku;		/* line */
	char *parent_name;	/* line of a variation */
	char *method_id;	/* shipping */
	int64_t product_id, variation_id;
	int quantity;
	int64_t subtotal, total;	/* cents, tax excluded */
	bool image_id_zero;	/* variations print "image":{"id":0} */
	json_t *meta;		/* [{id,key,value,display_key,display_value}] */
};

struct order_refund {
	int64_t id;
	int64_t amount;		/* cents, positive */
	char *reason;
	int64_t created;
};

struct coupon {
	int64_t id;
	const char *code, *discount_type, *amount, *description;
	int64_t created;
};

struct order {
	int64_t id;
	enum order_status status;
	enum order_status trashed_from;	/* valid while status == ST_TRASH */
	char currency[4];
	int64_t created, modified, paid, completed;	/* UTC seconds; 0 = null */
	int64_t customer_id;
	char order_key[24];
	json_t *billing, *shipping;	/* objects, every field present */
	char *payment_method, *payment_method_title, *transaction_id;
	char *created_via, *customer_note;
	json_t *meta;		/* [{id,key,value}] */
	struct order_item *items;
	size_t n_items;
	const struct tax_rate *tax;	/* NULL: no tax */
	int64_t tax_item_id;	/* id of the tax line while tax != NULL */
	const struct coupon *coupon;	/* applied coupon, or NULL */
	struct order_refund *refunds;	/* oldest first */
	size_t n_refunds;
};

struct order_totals {
	int64_t subtotal, discount, discount_tax, shipping, shipping_tax;
	int64_t fees, fee_tax, cart_tax, total, total_tax, refunded;
};

extern const char *const order_status_names[ST__COUNT];
/* ST__COUNT when name is no status. */
enum order_status order_status_parse(const char *name);
void order_free(struct order *o);
struct order_item *order_add_item(struct order *o, enum item_kind kind);
void order_totals(const struct order *o, struct order_totals *t);
/* Spread the coupon discount and return nothing: item totals change. */
void order_apply_coupon(struct order *o);

/* ---- store.c: every object of the shop, one lock ---- */

struct product {
	int64_t id, parent_id;
	const char *name, *slug, *sku, *type, *option;	/* option: variation */
	int64_t price;			/* cents */
	bool is_virtual, downloadable, manage_stock;
	int64_t created;
};

struct customer {
	int64_t id;
	char *first, *last, *email, *phone, *address, *city, *state, *postcode,
	    *country;
};

struct store {
	pthread_mutex_t lock;	/* guards everything below */
	char *site;		/* "http://127.0.0.1:PORT", no slash */
	int utc_offset_s;
	int64_t next_post_id;	/* orders, refunds, products share ids */
	int64_t next_item_id, next_item_meta_id, next_meta_id;
	struct order **orders;	/* by id; NULL = no such order (or deleted) */
	size_t orders_cap;
	struct product *products;
	size_t n_products;
	struct coupon *coupons;
	size_t n_coupons;
	struct customer *customers;
	size_t n_customers;
	int64_t catalog_created;	/* products' and coupons' date */
	int64_t *meta_writes;	/* per order id: PUT/batch writes of meta */
	int64_t *order_writes;	/* per order id: successful PUT/batch updates */
};

/* A hook fired by a store change, delivered after the lock is released. */
struct hook_event {
	const char *hook;	/* e.g. "woocommerce_update_order" */
	int64_t arg;
};

struct hook_batch {
	struct hook_event *ev;
	size_t n, cap;
};

void hook_batch_add(struct hook_batch *b, const char *hook, int64_t arg);
void hook_batch_free(struct hook_batch *b);

struct store *store_new(const char *site, int utc_offset_s);
void store_free(struct store *s);
/* Drop every order and customer and regenerate (lock held by caller). */
void store_clear(struct store *s);
const struct product *store_product(const struct store *s, int64_t id);
const struct coupon *store_coupon_by_code(const struct store *s,
    const char *code);
const struct customer *store_customer(const struct store *s, int64_t id);
const struct tax_rate *store_tax_for(const char *country, const char *state);
int64_t store_next_post_id(struct store *s);
struct order *store_order(struct store *s, int64_t id);
void store_put_order(struct store *s, struct order *o);
/* Fill o's line/tax/shipping fields for items described by spec. */
bool store_add_line(struct store *s, struct order *o, int64_t product_id,
    int64_t variation_id, int qty);
void store_add_shipping(struct store *s, struct order *o);
/* WC_Data::update_meta_data: set key (first match keeps its id), or delete
 * every match when value is JSON null. value is borrowed. */
void store_meta_set(struct store *s, struct order *o, const char *key,
    json_t *value);
/* Reduced-stock meta on managed lines once the order holds stock. */
void store_reduce_stock(struct store *s, struct order *o);

/* Mutations; each fills hooks with what WooCommerce would fire. */
enum store_put_rc { PUT_OK, PUT_INVALID_ID, PUT_BAD_STATUS, PUT_BAD_CUSTOMER,
	PUT_BAD_META, PUT_BAD_EMAIL };
enum store_put_mode { PUT_MODE_REST, PUT_MODE_BATCH, PUT_MODE_CONTROL };
enum store_put_rc store_order_put(struct store *s, int64_t id,
    const json_t *body, enum store_put_mode mode, struct hook_batch *hooks);
void store_set_status(struct store *s, struct order *o,
    enum order_status to, struct hook_batch *hooks);
void store_payment_complete(struct store *s, struct order *o,
    struct hook_batch *hooks);
bool store_order_trash(struct store *s, struct order *o,
    struct hook_batch *hooks);
bool store_order_untrash(struct store *s, struct order *o,
    struct hook_batch *hooks);
void store_order_delete(struct store *s, int64_t id);
/* amount 0: refund what is left. False when nothing is left to refund. */
bool store_refund(struct store *s, struct order *o, int64_t amount,
    const char *reason, struct hook_batch *hooks);

/* ---- spec.c: an order from a JSON spec (REST POST, control API) ---- */

/*
 * Create and store an order from spec, firing what WooCommerce fires for a
 * new order. from_rest: REST POST semantics (no automatic shipping line).
 * NULL with *code and *msg (static WP_Error code and message) on bad
 * input. Caller holds the store lock.
 */
struct order *spec_order_create(struct store *s, const json_t *spec,
    bool from_rest, struct hook_batch *hooks, const char **code,
    const char **msg);

/* "wc_order_" and 13 characters derived from the id. */
void spec_order_key(int64_t id, char out[24]);
/* Attach the coupon_data meta WooCommerce stores on a coupon line. */
void spec_coupon_meta(struct store *s, struct order_item *ci,
    const struct coupon *c);

/* ---- shape.c: objects as the REST API v3 prints them ---- */

/* The full order object (new reference); caller holds the store lock. */
json_t *shape_order(const struct store *s, const struct order *o);
json_t *shape_product(const struct store *s, const struct product *p);
/* t in the store's zone: "YYYY-MM-DDTHH:MM:SS". */
void shape_local_date(const struct store *s, int64_t t, char out[20]);
/* The "coupon_data" meta value of a coupon line (new reference). */
json_t *shape_coupon_data(const struct store *s, const struct coupon *c);
/* {"code","message","data":{"status"}} (new reference). */
json_t *shape_error(const char *code, const char *message, int status);

/* ---- gen.c: deterministic population ---- */

struct gen_params {
	uint64_t seed;
	int orders, customers;
	int64_t anchor;		/* UTC midnight the history ends at */
};

void gen_populate(struct store *s, const struct gen_params *p);

/* ---- hooks.c: webhook registry, delivery queue and sender thread ---- */

struct hooks;

struct hooks_config {
	bool coalesce;		/* one pending delivery per (webhook, arg) */
	int64_t delay_ms;	/* Action Scheduler's run delay */
	int64_t timeout_ms;	/* delivery timeout (WooCommerce: 60 s) */
	bool safe_remote;	/* refuse ports but 80/443/8080 like WP */
};

struct hooks *hooks_new(struct store *st, const struct hooks_config *cfg);
/* Start the sender thread. */
bool hooks_start(struct hooks *h);
/* Stop the sender (pending deliveries are dropped) and free. */
void hooks_free(struct hooks *h);
/* Queue what a request fired, once per (webhook, arg) per request. */
void hooks_dispatch(struct hooks *h, const struct hook_batch *b);
/*
 * Create an active webhook. do_ping: ping synchronously as REST create_item
 * does (the JSON returned is the one prepared before the ping, date_modified
 * null); otherwise the webhook starts verified (no pending delivery).
 */
json_t *hooks_create(struct hooks *h, const char *name, const char *topic,
    const char *url, const char *secret, bool ping, int *http_status);
json_t *hooks_list(struct hooks *h, const char *status, int page,
    int per_page, int *total);
json_t *hooks_get(struct hooks *h, int64_t id);
json_t *hooks_update(struct hooks *h, int64_t id, const json_t *body,
    int *http_status);
json_t *hooks_delete(struct hooks *h, int64_t id, int *http_status);
void hooks_pause(struct hooks *h, bool count_failures);
void hooks_resume(struct hooks *h);
/* Wait until nothing is queued or in flight; false on timeout. */
bool hooks_flush(struct hooks *h, int64_t timeout_ms);
json_t *hooks_stats(struct hooks *h);
json_t *hooks_deliveries(struct hooks *h);
void hooks_stats_reset(struct hooks *h);

/* ---- faults.c: injected faults, request stats, PHP workers, latency ---- */

enum fault_class { FC_GET_ORDER, FC_LIST_ORDERS, FC_PUT_ORDER, FC_CREATE_ORDER,
	FC_DELETE_ORDER, FC_BATCH, FC_PRODUCTS, FC_WEBHOOKS, FC_SETTINGS,
	FC_OTHER, FC__COUNT, FC_ANY = FC__COUNT };

enum fault_type { FT_NONE, FT_LATENCY, FT_STATUS, FT_RATE_LIMIT, FT_TIMEOUT,
	FT_DROP, FT_AUTH };

struct fault_hit {
	enum fault_type type;
	int64_t ms;		/* delay before the effect (timeout: hold) */
	int status;
	int retry_after;	/* seconds, -1 = no header */
};

enum latency_model { LAT_NONE, LAT_WOO84 };

struct faults;

struct faults *faults_new(int workers, enum latency_model model,
    double scale);
void faults_free(struct faults *f);
extern const char *const faults_class_names[FC__COUNT];
/* Add faults from a JSON object or array; false + *err on bad input. */
bool faults_add(struct faults *f, const json_t *spec, const char **err);
void faults_clear(struct faults *f);
json_t *faults_list(struct faults *f);
/* The fault this request meets, consuming one use of it. */
void faults_take(struct faults *f, enum fault_class c, struct fault_hit *hit);
/* PHP-FPM workers: block for a slot (false when stopping). */
bool faults_worker_acquire(struct faults *f);
void faults_worker_release(struct faults *f);
/* Service time the latency model charges for a request. */
int64_t faults_service_ms(const struct faults *f, enum fault_class c,
    int method_is_get, size_t n_items, bool auth_failed);
void faults_count(struct faults *f, enum fault_class c, int status);
void faults_count_drop(struct faults *f, enum fault_class c);
json_t *faults_stats(struct faults *f);
void faults_stats_reset(struct faults *f);

/* ---- http.c: libmicrohttpd glue ---- */

struct http_param {
	char *key;		/* decoded base name (PHP: '.' and ' ' -> '_') */
	char *sub;		/* "[sub]" part, NULL for a scalar */
	char *value;		/* decoded */
	bool is_array;
};

struct http_req {
	char *raw_uri;		/* as sent: path?query */
	char *raw_path;		/* up to '?', still percent-encoded */
	char *path;		/* decoded by MHD: what WordPress routes on */
	const char *method;
	struct MHD_Connection *conn;
	struct http_param *params;	/* query, in order, duplicates kept */
	size_t n_params;
	struct util_buf body;
	bool started, too_big;
};

struct http_resp {
	int status;
	char *body;		/* owned */
	size_t len;
	const char *content_type;
	struct util_buf headers;	/* "Name: value\n" lines */
	bool drop;		/* close the connection without a response */
};

/* Last value of a scalar query parameter, or NULL. */
const char *http_query(const struct http_req *r, const char *key);
const char *http_header(const struct http_req *r, const char *name);
void http_resp_header(struct http_resp *resp, const char *name,
    const char *value);
/* Body from a JSON value (stolen reference). */
void http_resp_json(struct http_resp *resp, int status, json_t *body);
void http_resp_text(struct http_resp *resp, int status, const char *ctype,
    const char *text);

/* ---- the process ---- */

struct fake {
	struct store *store;
	struct hooks *hooks;
	struct faults *faults;
	char *consumer_key, *consumer_secret;
	bool tls;
	pthread_mutex_t nonce_lock;	/* guards nonces */
	json_t *nonces;		/* {"timestamp": "nonce"}, as WooCommerce keeps */
	struct gen_params gen;	/* last population, for reseed */
	char *tls_pem[2];	/* cert and key, kept while MHD runs */
};

struct MHD_Daemon;
/* Bind and listen on host:port (IPv4); the fd, or -1. *bound: the port. */
int http_listen(const char *host, uint16_t port, uint16_t *bound);
/* Serve f on the listening fd (MHD closes it when stopped); NULL on error. */
struct MHD_Daemon *http_start(struct fake *f, int fd, const char *cert_path,
    const char *key_path);

/* auth.c */
enum auth_result { AUTH_OK, AUTH_NONE, AUTH_ERROR };
/*
 * Authenticate a /wp-json/wc/ request as WC_REST_Authentication does. On
 * AUTH_ERROR *error holds the WP_Error body (new reference) and the status
 * is 401.
 */
enum auth_result auth_check(struct fake *f, const struct http_req *r,
    json_t **error);

/* rest.c */
void rest_handle(struct fake *f, struct http_req *r, struct http_resp *resp);

/* rest_orders.c: each answers one route; *n_items feeds the latency model. */
/* validate_only: answer only a 400 for bad arguments, else leave resp. */
void rest_orders_list(struct fake *f, struct http_req *r,
    struct http_resp *resp, size_t *n_items, bool validate_only);
void rest_orders_get(struct fake *f, int64_t id, struct http_resp *resp);
void rest_orders_put(struct fake *f, int64_t id, const json_t *body,
    struct http_resp *resp);
void rest_orders_create(struct fake *f, const json_t *body,
    struct http_resp *resp);
void rest_orders_delete(struct fake *f, struct http_req *r, int64_t id,
    struct http_resp *resp);
void rest_orders_batch(struct fake *f, const json_t *body,
    struct http_resp *resp, size_t *n_items);
/* WordPress' rest_invalid_param error for params {name: message}
 * (stolen); details are derived from the messages. */
json_t *rest_orders_invalid_param(json_t *params);

/* control.c */
void control_handle(struct fake *f, struct http_req *r, const char *path,
    struct http_resp *resp);

#endif
