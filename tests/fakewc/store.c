/* SPDX-License-Identifier: MIT */
/*
 * The shop's data: a fixed catalog (the ids of the captured store in
 * tests/fixtures/woocommerce, plus a few more products), customers, orders,
 * and the mutations REST and the control API make, each reporting the hooks
 * WooCommerce would fire. Callers hold store->lock; nothing here does I/O.
 */
#include "fakewc.h"

#include <stdlib.h>
#include <string.h>

/* Ids as in tests/fixtures/woocommerce/ids.json, then extras at 8..11. */
static const struct product catalog[] = {
	{ 8, 0, "Socket Poster", "socket-poster", "POSTER-001", "simple", NULL,
	    1900, false, false, false, 0 },
	{ 9, 0, "Async Video Course", "async-video-course", "COURSE-001",
	    "simple", NULL, 4900, true, true, false, 0 },
	{ 10, 0, "Gift Wrap Service", "gift-wrap-service", "GIFT-SVC",
	    "simple", NULL, 400, true, false, false, 0 },
	{ 11, 0, "Sticker Pack PDF", "sticker-pack-pdf", "STICKER-DL",
	    "simple", NULL, 350, false, true, false, 0 },
	{ 12, 0, "Loopback Mug", "loopback-mug", "MUG-001", "simple", NULL,
	    1250, false, false, true, 0 },
	{ 13, 0, "Test Driven E-book", "test-driven-e-book", "EBOOK-001",
	    "simple", NULL, 900, true, true, false, 0 },
	{ 14, 0, "Harness T-Shirt", "harness-t-shirt", "TEE", "variable", NULL,
	    0, false, false, false, 0 },
	{ 15, 14, "Harness T-Shirt - S", "harness-t-shirt-s", "TEE-S",
	    "variation", "S", 1500, false, false, true, 0 },
	{ 16, 14, "Harness T-Shirt - M", "harness-t-shirt-m", "TEE-M",
	    "variation", "M", 1600, false, false, true, 0 },
	{ 17, 14, "Harness T-Shirt - L", "harness-t-shirt-l", "TEE-L",
	    "variation", "L", 1700, false, false, true, 0 },
};

static const struct coupon coupons[] = {
	{ 7, "welcome5", "fixed_cart", "5", "5 off your first order", 0 },
	{ 18, "save10", "percent", "10", "10 percent off", 0 },
};

static const struct tax_rate taxes[] = {
	{ 1, "US", "CA", "US-CA-CA STATE TAX-1", "CA State Tax", 72500, 7.25 },
	{ 2, "US", "NY", "US-NY-NY STATE TAX-1", "NY State Tax", 40000, 4 },
	{ 3, "US", "TX", "US-TX-TX STATE TAX-1", "TX State Tax", 62500, 6.25 },
	{ 4, "DE", "", "DE-MWST-1", "MwSt.", 190000, 19 },
	{ 5, "FR", "", "FR-TVA-1", "TVA", 200000, 20 },
};

#define FIRST_ORDER_ID 19

void
hook_batch_add(struct hook_batch *b, const char *hook, int64_t arg)
{
	if (b == NULL)
		return;
	if (b->n == b->cap) {
		struct hook_event *ev;

		b->cap = b->cap ? b->cap * 2 : 8;
		if ((ev = realloc(b->ev, b->cap * sizeof(*ev))) == NULL)
			abort();
		b->ev = ev;
	}
	b->ev[b->n].hook = hook;
	b->ev[b->n].arg = arg;
	b->n++;
}

void
hook_batch_free(struct hook_batch *b)
{
	free(b->ev);
	memset(b, 0, sizeof(*b));
}

static void
free_customers(struct store *s)
{
	for (size_t i = 0; i < s->n_customers; i++) {
		struct customer *c = &s->customers[i];

		free(c->first);
		free(c->last);
		free(c->email);
		free(c->phone);
		free(c->address);
		free(c->city);
		free(c->state);
		free(c->postcode);
		free(c->country);
	}
	free(s->customers);
	s->customers = NULL;
	s->n_customers = 0;
}

void
store_clear(struct store *s)
{
	for (size_t i = 0; i < s->orders_cap; i++)
		order_free(s->orders[i]);
	free(s->orders);
	free(s->meta_writes);
	free(s->order_writes);
	s->orders = NULL;
	s->meta_writes = s->order_writes = NULL;
	s->orders_cap = 0;
	free_customers(s);
	s->next_post_id = FIRST_ORDER_ID;
	s->next_item_id = 1;
	s->next_item_meta_id = 1;
	s->next_meta_id = 1;
}

struct store *
store_new(const char *site, int utc_offset_s)
{
	struct store *s = util_xmalloc(sizeof(*s));

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->site = util_xstrdup(site);
	s->utc_offset_s = utc_offset_s;
	s->products = (struct product *)catalog;
	s->n_products = sizeof(catalog) / sizeof(catalog[0]);
	s->coupons = (struct coupon *)coupons;
	s->n_coupons = sizeof(coupons) / sizeof(coupons[0]);
	store_clear(s);
	return s;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	store_clear(s);
	pthread_mutex_destroy(&s->lock);
	free(s->site);
	free(s);
}

const struct product *
store_product(const struct store *s, int64_t id)
{
	for (size_t i = 0; i < s->n_products; i++)
		if (s->products[i].id == id)
			return &s->products[i];
	return NULL;
}

const struct coupon *
store_coupon_by_code(const struct store *s, const char *code)
{
	for (size_t i = 0; i < s->n_coupons; i++)
		if (strcmp(s->coupons[i].code, code) == 0)
			return &s->coupons[i];
	return NULL;
}

const struct customer *
store_customer(const struct store *s, int64_t id)
{
	for (size_t i = 0; i < s->n_customers; i++)
		if (s->customers[i].id == id)
			return &s->customers[i];
	return NULL;
}

const struct tax_rate *
store_tax_for(const char *country, const char *state)
{
	for (size_t i = 0; i < sizeof(taxes) / sizeof(taxes[0]); i++)
		if (strcmp(taxes[i].country, country) == 0 &&
		    (taxes[i].state[0] == '\0' ||
		    strcmp(taxes[i].state, state) == 0))
			return &taxes[i];
	return NULL;
}

int64_t
store_next_post_id(struct store *s)
{
	return s->next_post_id++;
}

struct order *
store_order(struct store *s, int64_t id)
{
	if (id <= 0 || (size_t)id >= s->orders_cap)
		return NULL;
	return s->orders[id];
}

void
store_put_order(struct store *s, struct order *o)
{
	if ((size_t)o->id >= s->orders_cap) {
		size_t cap = s->orders_cap ? s->orders_cap : 256;
		void *p;

		while (cap <= (size_t)o->id)
			cap *= 2;
		if ((p = realloc(s->orders, cap * sizeof(*s->orders))) == NULL)
			abort();
		s->orders = p;
		memset(s->orders + s->orders_cap, 0,
		    (cap - s->orders_cap) * sizeof(*s->orders));
		if ((p = realloc(s->meta_writes, cap * sizeof(int64_t))) == NULL)
			abort();
		s->meta_writes = p;
		memset(s->meta_writes + s->orders_cap, 0,
		    (cap - s->orders_cap) * sizeof(int64_t));
		if ((p = realloc(s->order_writes, cap * sizeof(int64_t))) == NULL)
			abort();
		s->order_writes = p;
		memset(s->order_writes + s->orders_cap, 0,
		    (cap - s->orders_cap) * sizeof(int64_t));
		s->orders_cap = cap;
	}
	s->orders[o->id] = o;
}

static void
store_item_meta(struct store *s, struct order_item *it, const char *key,
    const char *value, const char *display_key)
{
	json_array_append_new(it->meta, json_pack("{s:I,s:s,s:s,s:s,s:s}",
	    "id", (json_int_t)s->next_item_meta_id++, "key", key, "value", value,
	    "display_key", display_key ? display_key : key,
	    "display_value", value));
}

bool
store_add_line(struct store *s, struct order *o, int64_t product_id,
    int64_t variation_id, int qty)
{
	const struct product *p = store_product(s, variation_id ? variation_id :
	    product_id);
	struct order_item *it;

	if (p == NULL || strcmp(p->type, "variable") == 0 || qty <= 0 ||
	    (variation_id && p->parent_id != product_id))
		return false;
	it = order_add_item(o, ITEM_LINE);
	it->id = s->next_item_id++;
	it->name = util_xstrdup(p->name);
	it->sku = util_xstrdup(p->sku);
	it->product_id = p->parent_id ? p->parent_id : p->id;
	it->variation_id = p->parent_id ? p->id : 0;
	it->quantity = qty;
	it->subtotal = it->total = p->price * qty;
	if (p->parent_id) {
		const struct product *parent = store_product(s, p->parent_id);

		it->parent_name = util_xstrdup(parent ? parent->name : "");
		it->image_id_zero = true;
		store_item_meta(s, it, "size", p->option, "Size");
	}
	return true;
}

void
store_add_shipping(struct store *s, struct order *o)
{
	struct order_item *it = order_add_item(o, ITEM_SHIPPING);

	it->id = s->next_item_id++;
	it->name = util_xstrdup("Flat rate");
	it->method_id = util_xstrdup("flat_rate");
	it->subtotal = it->total = strcmp(o->currency, "EUR") == 0 ? 450 : 500;
}

void
store_reduce_stock(struct store *s, struct order *o)
{
	for (size_t i = 0; i < o->n_items; i++) {
		struct order_item *it = &o->items[i];
		const struct product *p;
		char qty[16];
		size_t j;
		json_t *m;

		if (it->kind != ITEM_LINE)
			continue;
		p = store_product(s, it->variation_id ? it->variation_id :
		    it->product_id);
		if (p == NULL || !p->manage_stock)
			continue;
		json_array_foreach(it->meta, j, m)
			if (strcmp(json_string_value(json_object_get(m, "key")),
			    "_reduced_stock") == 0)
				break;
		if (j < json_array_size(it->meta))
			continue;
		snprintf(qty, sizeof(qty), "%d", it->quantity);
		store_item_meta(s, it, "_reduced_stock", qty, NULL);
	}
}

/* WooCommerce gives stock back when an order is cancelled or fails. */
static void
restore_stock(struct order *o)
{
	for (size_t i = 0; i < o->n_items; i++) {
		json_t *m;
		size_t j;

		json_array_foreach(o->items[i].meta, j, m)
			if (strcmp(json_string_value(json_object_get(m, "key")),
			    "_reduced_stock") == 0) {
				json_array_remove(o->items[i].meta, j);
				break;
			}
	}
}

void
store_meta_set(struct store *s, struct order *o, const char *key, json_t *value)
{
	json_t *m, *first = NULL;
	size_t i;

	/* WC_Data::update_meta_data: the first match keeps its id, others go. */
	for (i = 0; i < json_array_size(o->meta);) {
		m = json_array_get(o->meta, i);
		if (strcmp(json_string_value(json_object_get(m, "key")), key)) {
			i++;
		} else if (first == NULL && !json_is_null(value)) {
			first = m;
			json_object_set(m, "value", value);
			i++;
		} else {
			json_array_remove(o->meta, i);
		}
	}
	if (first == NULL && !json_is_null(value))
		json_array_append_new(o->meta, json_pack("{s:I,s:s,s:O}", "id",
		    (json_int_t)s->next_meta_id++, "key", key, "value", value));
}

static void
meta_set_by_id(struct store *s, struct order *o, json_int_t id,
    const char *key, json_t *value)
{
	json_t *m;
	size_t i;

	json_array_foreach(o->meta, i, m)
		if (json_integer_value(json_object_get(m, "id")) == id) {
			if (json_is_null(value)) {
				json_array_remove(o->meta, i);
			} else {
				json_object_set_new(m, "key", json_string(key));
				json_object_set(m, "value", value);
			}
			return;
		}
	store_meta_set(s, o, key, value);
}

static void
set_dates_for_status(struct order *o, enum order_status to, int64_t now)
{
	if ((to == ST_PROCESSING || to == ST_COMPLETED) && o->paid == 0)
		o->paid = now;
	if (to == ST_COMPLETED && o->completed == 0)
		o->completed = now;
}

static int64_t
refundable(const struct order *o)
{
	struct order_totals t;

	order_totals(o, &t);
	return t.total - t.refunded;
}

static void
add_refund(struct store *s, struct order *o, int64_t amount,
    const char *reason, int64_t now)
{
	struct order_refund *r;

	r = realloc(o->refunds, (o->n_refunds + 1) * sizeof(*r));
	if (r == NULL)
		abort();
	o->refunds = r;
	r = &o->refunds[o->n_refunds++];
	r->id = store_next_post_id(s);
	r->amount = amount;
	r->reason = util_xstrdup(reason ? reason : "");
	r->created = now;
}

void
store_set_status(struct store *s, struct order *o, enum order_status to,
    struct hook_batch *hooks)
{
	int64_t now = util_now();
	enum order_status from = o->status;

	if (from == to)
		return;
	o->status = to;
	set_dates_for_status(o, to, now);
	if (to == ST_PROCESSING || to == ST_COMPLETED || to == ST_ON_HOLD)
		store_reduce_stock(s, o);
	if (to == ST_CANCELLED || to == ST_FAILED)
		restore_stock(o);
	/* Setting "refunded" makes WooCommerce refund what is left itself. */
	if (to == ST_REFUNDED && refundable(o) > 0) {
		add_refund(s, o, refundable(o), "Order fully refunded.", now);
		hook_batch_add(hooks, "woocommerce_order_refunded", o->id);
	}
	hook_batch_add(hooks, to == ST_PROCESSING ?
	    "woocommerce_order_status_processing" : to == ST_COMPLETED ?
	    "woocommerce_order_status_completed" : to == ST_CANCELLED ?
	    "woocommerce_order_status_cancelled" : to == ST_REFUNDED ?
	    "woocommerce_order_status_refunded" : to == ST_FAILED ?
	    "woocommerce_order_status_failed" : to == ST_ON_HOLD ?
	    "woocommerce_order_status_on-hold" :
	    "woocommerce_order_status_pending", o->id);
	hook_batch_add(hooks, "woocommerce_order_status_changed", o->id);
}

void
store_payment_complete(struct store *s, struct order *o,
    struct hook_batch *hooks)
{
	bool needs_processing = false;

	/* WC_Order::payment_complete only acts on these statuses. */
	if (o->status != ST_PENDING && o->status != ST_ON_HOLD &&
	    o->status != ST_FAILED && o->status != ST_CANCELLED)
		return;
	for (size_t i = 0; i < o->n_items; i++) {
		const struct order_item *it = &o->items[i];
		const struct product *p;

		if (it->kind != ITEM_LINE)
			continue;
		p = store_product(s, it->variation_id ? it->variation_id :
		    it->product_id);
		if (p == NULL || !(p->is_virtual && p->downloadable))
			needs_processing = true;
	}
	o->paid = util_now();
	store_set_status(s, o, needs_processing ? ST_PROCESSING : ST_COMPLETED,
	    hooks);
	hook_batch_add(hooks, "woocommerce_payment_complete", o->id);
}

/* is_email(), roughly: what WordPress' REST schema format "email" checks. */
static bool
looks_like_email(const char *e)
{
	const char *at = strchr(e, '@');

	return strlen(e) >= 6 && at != NULL && at != e &&
	    strchr(at + 1, '@') == NULL && strchr(at, '.') != NULL &&
	    strchr(e, ' ') == NULL;
}

static void
update_address(json_t *addr, const json_t *posted)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)posted, k, v)
		if (json_object_get(addr, k) != NULL && json_is_string(v))
			json_object_set(addr, k, v);
}

static void
retax(struct store *s, struct order *o)
{
	const json_t *a = json_string_length(json_object_get(o->shipping,
	    "country")) ? o->shipping : o->billing;

	o->tax = store_tax_for(json_string_value(json_object_get(a, "country")),
	    json_string_value(json_object_get(a, "state")));
	if (o->tax != NULL && o->tax_item_id == 0)
		o->tax_item_id = s->next_item_id++;
}

static void
set_str(char **dst, const json_t *v)
{
	if (json_is_string(v)) {
		free(*dst);
		*dst = util_xstrdup(json_string_value(v));
	}
}

enum store_put_rc
store_order_put(struct store *s, int64_t id, const json_t *body,
    enum store_put_mode mode, struct hook_batch *hooks)
{
	bool from_rest = mode != PUT_MODE_CONTROL;
	struct order *o = store_order(s, id);
	const json_t *meta = json_object_get(body, "meta_data");
	const json_t *st = json_object_get(body, "status");
	const json_t *cid = json_object_get(body, "customer_id");
	const json_t *bill = json_object_get(body, "billing");
	const json_t *ship = json_object_get(body, "shipping");
	enum order_status to = ST__COUNT;
	json_t *m;
	size_t i;

	/* WordPress checks the schema first; a batch item skips that check,
	 * and WC_Order::set_status turns an unknown status into "pending". */
	if (mode != PUT_MODE_BATCH) {
		if (meta != NULL && !json_is_array(meta))
			return PUT_BAD_META;
		if (st != NULL && (!json_is_string(st) ||
		    (to = order_status_parse(json_string_value(st))) ==
		    ST__COUNT || to == ST_TRASH))
			return PUT_BAD_STATUS;
		if (from_rest && json_is_object(bill) &&
		    json_string_length(json_object_get(bill, "email")) &&
		    !looks_like_email(json_string_value(json_object_get(bill,
		    "email"))))
			return PUT_BAD_EMAIL;
	} else if (st != NULL) {
		to = json_is_string(st) ? order_status_parse(
		    json_string_value(st)) : ST__COUNT;
		if (to == ST__COUNT)
			to = ST_PENDING;
	}
	if (o == NULL)
		return PUT_INVALID_ID;
	if (cid != NULL && json_integer_value(cid) != 0 &&
	    store_customer(s, json_integer_value(cid)) == NULL)
		return PUT_BAD_CUSTOMER;

	json_array_foreach(meta, i, m) {
		const json_t *k = json_object_get(m, "key");
		const json_t *mid = json_object_get(m, "id");
		json_t *v = json_object_get(m, "value");

		if (!json_is_string(k))
			continue;
		if (v == NULL)
			v = json_null();	/* PHP: undefined index is null */
		if (json_is_integer(mid) && json_integer_value(mid) > 0)
			meta_set_by_id(s, o, json_integer_value(mid),
			    json_string_value(k), v);
		else
			store_meta_set(s, o, json_string_value(k), v);
	}
	if (json_is_object(bill))
		update_address(o->billing, bill);
	if (json_is_object(ship))
		update_address(o->shipping, ship);
	if (from_rest && (json_is_object(bill) || json_is_object(ship)))
		retax(s, o);
	if (cid != NULL)
		o->customer_id = json_integer_value(cid);
	set_str(&o->customer_note, json_object_get(body, "customer_note"));
	set_str(&o->payment_method, json_object_get(body, "payment_method"));
	set_str(&o->payment_method_title,
	    json_object_get(body, "payment_method_title"));
	set_str(&o->transaction_id, json_object_get(body, "transaction_id"));
	o->modified = util_now();
	if (to == ST_TRASH && o->status != ST_TRASH) {
		/* set_status('trash') in a batch: a plain save, no trash hooks */
		o->trashed_from = o->status;
		o->status = ST_TRASH;
	} else if (to != ST__COUNT && to != ST_TRASH)
		store_set_status(s, o, to, hooks);
	hook_batch_add(hooks, "woocommerce_update_order", o->id);
	if (json_is_true(json_object_get(body, "set_paid")))
		store_payment_complete(s, o, hooks);
	s->order_writes[id]++;
	if (json_array_size(meta) > 0)
		s->meta_writes[id]++;
	return PUT_OK;
}

bool
store_order_trash(struct store *s, struct order *o, struct hook_batch *hooks)
{
	char prev[32], when[24];
	json_t *v;

	if (o->status == ST_TRASH)
		return false;
	o->trashed_from = o->status;
	o->status = ST_TRASH;
	o->modified = util_now();
	snprintf(prev, sizeof(prev), "wc-%s", order_status_names[o->trashed_from]);
	snprintf(when, sizeof(when), "%lld", (long long)o->modified);
	v = json_string(prev);
	store_meta_set(s, o, "_wp_trash_meta_status", v);
	json_decref(v);
	v = json_string(when);
	store_meta_set(s, o, "_wp_trash_meta_time", v);
	json_decref(v);
	hook_batch_add(hooks, "woocommerce_trash_order", o->id);
	return true;
}

bool
store_order_untrash(struct store *s, struct order *o, struct hook_batch *hooks)
{
	if (o->status != ST_TRASH)
		return false;
	o->status = o->trashed_from;
	o->modified = util_now();
	store_meta_set(s, o, "_wp_trash_meta_status", json_null());
	store_meta_set(s, o, "_wp_trash_meta_time", json_null());
	hook_batch_add(hooks, "woocommerce_untrash_order", o->id);
	return true;
}

void
store_order_delete(struct store *s, int64_t id)
{
	struct order *o = store_order(s, id);

	if (o == NULL)
		return;
	s->orders[id] = NULL;
	order_free(o);
}

bool
store_refund(struct store *s, struct order *o, int64_t amount,
    const char *reason, struct hook_batch *hooks)
{
	int64_t left = refundable(o);

	if (left <= 0 || amount > left || amount < 0)
		return false;
	add_refund(s, o, amount ? amount : left, reason, util_now());
	o->modified = util_now();
	hook_batch_add(hooks, "woocommerce_order_refunded", o->id);
	hook_batch_add(hooks, "woocommerce_update_order", o->id);
	if (refundable(o) == 0)
		store_set_status(s, o, ST_REFUNDED, hooks);
	return true;
}
