/* SPDX-License-Identifier: MIT */
/*
 * New orders from a JSON spec: the body of REST POST /orders and of the
 * control API's POST /_fake/orders. Follows WC_REST_Orders_V2_Controller::
 * save_object: save, then status, then payment_complete for set_paid, and
 * reports woocommerce_new_order, woocommerce_update_order and the status
 * and payment hooks in the order WooCommerce fires them.
 */
#include "fakewc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const billing_keys[] = { "first_name", "last_name",
	"company", "address_1", "address_2", "city", "state", "postcode",
	"country", "email", "phone", NULL };
static const char *const shipping_keys[] = { "first_name", "last_name",
	"company", "address_1", "address_2", "city", "state", "postcode",
	"country", "phone", NULL };

static json_t *
empty_address(const char *const keys[])
{
	json_t *a = json_object();

	for (int i = 0; keys[i] != NULL; i++)
		json_object_set_new(a, keys[i], json_string(""));
	return a;
}

static void
merge_address(json_t *addr, const json_t *posted)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)posted, k, v)
		if (json_object_get(addr, k) != NULL && json_is_string(v))
			json_object_set(addr, k, v);
}

static void
address_from_customer(json_t *a, const struct customer *c, bool with_email)
{
	json_object_set_new(a, "first_name", json_string(c->first));
	json_object_set_new(a, "last_name", json_string(c->last));
	json_object_set_new(a, "address_1", json_string(c->address));
	json_object_set_new(a, "city", json_string(c->city));
	json_object_set_new(a, "state", json_string(c->state));
	json_object_set_new(a, "postcode", json_string(c->postcode));
	json_object_set_new(a, "country", json_string(c->country));
	if (with_email) {
		json_object_set_new(a, "email", json_string(c->email));
		json_object_set_new(a, "phone", json_string(c->phone));
	}
}

static bool
parse_created(const json_t *v, int64_t *out)
{
	int64_t wall;
	bool has_tz;
	int tz;

	if (v == NULL) {
		*out = util_now();
		return true;
	}
	if (!json_is_string(v) ||
	    !util_parse_date(json_string_value(v), &wall, &has_tz, &tz))
		return false;
	*out = wall - tz;	/* naive dates are GMT here */
	return true;
}

void
spec_order_key(int64_t id, char out[24])
{
	static const char alnum[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	struct util_rng r;

	util_rng_seed(&r, (uint64_t)id * 7919u);
	memcpy(out, "wc_order_", 9);
	for (int i = 0; i < 13; i++)
		out[9 + i] = alnum[util_rng_below(&r, sizeof(alnum) - 1)];
	out[22] = '\0';
}

void
spec_coupon_meta(struct store *s, struct order_item *ci,
    const struct coupon *c)
{
	json_t *data = shape_coupon_data(s, c);

	json_array_append_new(ci->meta, json_pack("{s:I,s:s,s:O,s:s,s:o}", "id",
	    (json_int_t)s->next_item_meta_id++, "key", "coupon_data", "value",
	    data, "display_key", "coupon_data", "display_value", data));
}

static bool
add_items(struct store *s, struct order *o, const json_t *items)
{
	const json_t *it;
	size_t i;

	json_array_foreach(items, i, it) {
		json_t *q = json_object_get(it, "quantity");

		if (!store_add_line(s, o,
		    json_integer_value(json_object_get(it, "product_id")),
		    json_integer_value(json_object_get(it, "variation_id")),
		    q ? (int)json_integer_value(q) : 1))
			return false;
	}
	return true;
}

static bool
add_fees_and_shipping(struct store *s, struct order *o, const json_t *spec,
    bool from_rest)
{
	const json_t *lines = json_object_get(spec, "shipping_lines"), *it;
	bool physical = false;
	size_t i;

	json_array_foreach(json_object_get(spec, "fee_lines"), i, it) {
		struct order_item *fee = order_add_item(o, ITEM_FEE);

		fee->id = s->next_item_id++;
		fee->name = util_xstrdup(json_string_value(json_object_get(it,
		    "name")) ? json_string_value(json_object_get(it, "name")) :
		    "Fee");
		if (!util_parse_money(json_string_value(json_object_get(it,
		    "total")) ? json_string_value(json_object_get(it, "total")) :
		    "", &fee->total))
			return false;
		fee->subtotal = fee->total;
	}
	json_array_foreach(lines, i, it) {
		struct order_item *sh = order_add_item(o, ITEM_SHIPPING);
		const char *title = json_string_value(json_object_get(it,
		    "method_title"));
		const char *mid = json_string_value(json_object_get(it,
		    "method_id"));
		const char *total = json_string_value(json_object_get(it,
		    "total"));

		sh->id = s->next_item_id++;
		sh->name = util_xstrdup(title ? title : "");
		sh->method_id = util_xstrdup(mid ? mid : "");
		if (!util_parse_money(total ? total : "0", &sh->total))
			return false;
		sh->subtotal = sh->total;
	}
	for (i = 0; i < o->n_items; i++) {
		const struct order_item *li = &o->items[i];
		const struct product *p;

		if (li->kind != ITEM_LINE)
			continue;
		p = store_product(s, li->variation_id ? li->variation_id :
		    li->product_id);
		if (p != NULL && !p->is_virtual)
			physical = true;
	}
	/* The control API ships physical goods at the flat rate by default. */
	if (!from_rest && lines == NULL && physical)
		store_add_shipping(s, o);
	return true;
}

static const char *
coupon_code(const json_t *spec)
{
	const json_t *c = json_object_get(spec, "coupon");

	if (json_is_string(c))
		return json_string_value(c);
	c = json_object_get(json_array_get(json_object_get(spec,
	    "coupon_lines"), 0), "code");
	return json_string_value(c);
}

static void
set_string(char **dst, const json_t *spec, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(spec, key));

	*dst = util_xstrdup(v ? v : dflt);
}

struct order *
spec_order_create(struct store *s, const json_t *spec, bool from_rest,
    struct hook_batch *hooks, const char **code, const char **msg)
{
	struct order *o = util_xmalloc(sizeof(*o));
	const json_t *items, *m;
	json_t *v;
	const struct customer *cust = NULL;
	enum order_status status = ST_PENDING;
	const char *cc, *cur;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->billing = empty_address(billing_keys);
	o->shipping = empty_address(shipping_keys);
	o->meta = json_array();
	*code = "woocommerce_rest_invalid_order";
	if ((v = json_object_get(spec, "customer_id")) != NULL &&
	    json_integer_value(v) != 0 &&
	    (cust = store_customer(s, json_integer_value(v))) == NULL) {
		*code = "woocommerce_rest_invalid_customer_id";
		*msg = "Customer ID is invalid.";
		goto fail;
	}
	o->customer_id = cust ? cust->id : 0;
	if (cust != NULL && !from_rest) {
		address_from_customer(o->billing, cust, true);
		address_from_customer(o->shipping, cust, false);
	}
	merge_address(o->billing, json_object_get(spec, "billing"));
	for (const char **k = (const char *[]){ "email", "first_name",
	    "last_name", NULL }; *k != NULL; k++)
		if (json_is_string(v = json_object_get(spec, *k)))
			json_object_set(o->billing, *k, v);
	if (json_object_get(spec, "shipping") != NULL || from_rest) {
		merge_address(o->shipping, json_object_get(spec, "shipping"));
	} else if (cust == NULL) {
		for (int k = 0; shipping_keys[k] != NULL; k++)
			if (strcmp(shipping_keys[k], "phone"))
				json_object_set(o->shipping, shipping_keys[k],
				    json_object_get(o->billing,
				    shipping_keys[k]));
	}
	cur = json_string_value(json_object_get(spec, "currency"));
	if (cur != NULL && (strlen(cur) != 3 || cur[0] < 'A' || cur[0] > 'Z')) {
		*code = "rest_invalid_param";
		*msg = "Invalid parameter(s): currency";
		goto fail;
	}
	snprintf(o->currency, sizeof(o->currency), "%s", cur ? cur : "USD");
	if ((v = json_object_get(spec, "status")) != NULL &&
	    (!json_is_string(v) || (status = order_status_parse(
	    json_string_value(v))) == ST__COUNT || status == ST_TRASH)) {
		*code = "rest_invalid_param";
		*msg = "Invalid parameter(s): status";
		goto fail;
	}
	if (!parse_created(json_object_get(spec, "date_created"), &o->created)) {
		*code = "rest_invalid_param";
		*msg = "Invalid parameter(s): date_created";
		goto fail;
	}
	items = json_object_get(spec, "line_items");
	if (items == NULL)
		items = json_object_get(spec, "items");
	if (!add_items(s, o, items)) {
		*code = "woocommerce_rest_invalid_product_id";
		*msg = "Product ID provided is invalid.";
		goto fail;
	}
	if (!add_fees_and_shipping(s, o, spec, from_rest)) {
		*code = "rest_invalid_param";
		*msg = "Invalid parameter(s): fee_lines";
		goto fail;
	}
	if ((cc = coupon_code(spec)) != NULL) {
		struct order_item *ci;

		if ((o->coupon = store_coupon_by_code(s, cc)) == NULL) {
			*code = "woocommerce_rest_invalid_coupon";
			*msg = "Coupon does not exist!";
			goto fail;
		}
		ci = order_add_item(o, ITEM_COUPON);
		ci->id = s->next_item_id++;
		ci->name = util_xstrdup(cc);
		spec_coupon_meta(s, ci, o->coupon);
		order_apply_coupon(o);
	}
	{
		const json_t *a = json_string_length(json_object_get(o->shipping,
		    "country")) ? o->shipping : o->billing;

		o->tax = store_tax_for(json_string_value(json_object_get(a,
		    "country")), json_string_value(json_object_get(a, "state")));
		if (o->tax != NULL)
			o->tax_item_id = s->next_item_id++;
	}
	set_string(&o->payment_method, spec, "payment_method",
	    from_rest ? "" : "bacs");
	set_string(&o->payment_method_title, spec, "payment_method_title",
	    from_rest ? "" : "Direct bank transfer");
	set_string(&o->transaction_id, spec, "transaction_id", "");
	set_string(&o->customer_note, spec, "customer_note", "");
	set_string(&o->created_via, spec, "created_via",
	    from_rest ? "rest-api" : "checkout");
	json_array_foreach(json_object_get(spec, "meta_data"), i, m)
		if (json_is_string(json_object_get(m, "key")))
			store_meta_set(s, o, json_string_value(json_object_get(m,
			    "key")), json_object_get(m, "value") ?
			    json_object_get(m, "value") : json_null());

	o->id = store_next_post_id(s);
	spec_order_key(o->id, o->order_key);
	o->status = ST_PENDING;
	o->modified = util_now() > o->created ? util_now() : o->created;
	store_put_order(s, o);
	hook_batch_add(hooks, "woocommerce_new_order", o->id);
	hook_batch_add(hooks, "woocommerce_update_order", o->id);
	store_set_status(s, o, status, hooks);
	if (json_is_true(json_object_get(spec, "set_paid")))
		store_payment_complete(s, o, hooks);
	return o;
fail:
	order_free(o);
	return NULL;
}
