/* SPDX-License-Identifier: MIT */
/*
 * Objects as WooCommerce 8.4's REST API v3 prints them, field for field and
 * in the same key order as tests/fixtures/woocommerce/rest/37-order-get.json
 * and 16-product-create-simple.json. Webhook payloads use the same shapes.
 * Pure: callers hold the store lock.
 */
#include "fakewc.h"

#include <stdio.h>
#include <string.h>

void
shape_local_date(const struct store *s, int64_t t, char out[20])
{
	util_fmt_date(t + s->utc_offset_s, out);
}

static json_t *
date_or_null(const struct store *s, int64_t t, bool gmt)
{
	char d[20];

	if (t == 0)
		return json_null();
	if (gmt)
		util_fmt_date(t, d);
	else
		shape_local_date(s, t, d);
	return json_string(d);
}

static json_t *
money(int64_t cents)
{
	char m[32];

	util_money(cents, m);
	return json_string(m);
}

json_t *
shape_error(const char *code, const char *message, int status)
{
	return json_pack("{s:s,s:s,s:{s:i}}", "code", code, "message", message,
	    "data", "status", status);
}

/* [{"id":rate,"total":"1.8125","subtotal":"1.8125"}]: unrounded taxes. */
static json_t *
taxes(const struct order *o, int64_t total, int64_t subtotal, bool has_sub)
{
	char t[40], st[40];

	if (o->tax == NULL)
		return json_array();
	util_decimal(total * o->tax->ppm, 8, t);
	util_decimal(subtotal * o->tax->ppm, 8, st);
	return json_pack("[{s:i,s:s,s:s}]", "id", o->tax->id, "total", t,
	    "subtotal", has_sub ? st : "");
}

static int64_t
tax_cents(const struct order *o, int64_t cents)
{
	if (o->tax == NULL || cents <= 0)
		return 0;
	return (cents * o->tax->ppm + 500000) / 1000000;
}

static json_t *
line_json(const struct order *o, const struct order_item *it)
{
	json_t *j = json_object();

	json_object_set_new(j, "id", json_integer(it->id));
	json_object_set_new(j, "name", json_string(it->name));
	json_object_set_new(j, "product_id", json_integer(it->product_id));
	json_object_set_new(j, "variation_id", json_integer(it->variation_id));
	json_object_set_new(j, "quantity", json_integer(it->quantity));
	json_object_set_new(j, "tax_class", json_string(""));
	json_object_set_new(j, "subtotal", money(it->subtotal));
	json_object_set_new(j, "subtotal_tax", money(tax_cents(o,
	    it->subtotal)));
	json_object_set_new(j, "total", money(it->total));
	json_object_set_new(j, "total_tax", money(tax_cents(o, it->total)));
	json_object_set_new(j, "taxes", taxes(o, it->total, it->subtotal, true));
	json_object_set_new(j, "meta_data", json_deep_copy(it->meta));
	json_object_set_new(j, "sku", json_string(it->sku));
	json_object_set_new(j, "price", util_php_number(it->quantity ?
	    (double)it->total / 100.0 / it->quantity : 0));
	json_object_set_new(j, "image", it->image_id_zero ?
	    json_pack("{s:i,s:s}", "id", 0, "src", "") :
	    json_pack("{s:s,s:s}", "id", "", "src", ""));
	json_object_set_new(j, "parent_name", it->parent_name ?
	    json_string(it->parent_name) : json_null());
	return j;
}

static json_t *
item_json(const struct order *o, const struct order_item *it,
    const struct order_totals *t)
{
	char d[40], dt[40];

	switch (it->kind) {
	case ITEM_LINE:
		return line_json(o, it);
	case ITEM_SHIPPING:
		return json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:[]}",
		    "id", (json_int_t)it->id, "method_title", it->name,
		    "method_id", it->method_id, "instance_id", "",
		    "total", money(it->total),
		    "total_tax", money(tax_cents(o, it->total)),
		    "taxes", taxes(o, it->total, 0, false), "meta_data");
	case ITEM_FEE:
		return json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:[]}",
		    "id", (json_int_t)it->id, "name", it->name, "tax_class", "",
		    "tax_status", "taxable", "amount", "",
		    "total", money(it->total),
		    "total_tax", money(tax_cents(o, it->total)),
		    "taxes", taxes(o, it->total, 0, false), "meta_data");
	case ITEM_COUPON:
		util_decimal(t->discount, 2, d);
		util_decimal(t->discount_tax, 2, dt);
		return json_pack("{s:I,s:s,s:s,s:s,s:O}", "id",
		    (json_int_t)it->id, "code", it->name, "discount", d,
		    "discount_tax", dt, "meta_data", it->meta);
	}
	return json_null();
}

static const char *
currency_symbol(const char *cur)
{
	if (strcmp(cur, "EUR") == 0)
		return "\xe2\x82\xac";
	if (strcmp(cur, "GBP") == 0)
		return "\xc2\xa3";
	return "$";
}

static json_t *
link(const char *href)
{
	return json_pack("[{s:s}]", "href", href);
}

static bool
needs_processing(const struct store *s, const struct order *o)
{
	for (size_t i = 0; i < o->n_items; i++) {
		const struct order_item *it = &o->items[i];
		const struct product *p;

		if (it->kind != ITEM_LINE)
			continue;
		p = store_product(s, it->variation_id ? it->variation_id :
		    it->product_id);
		if (p == NULL || !(p->is_virtual && p->downloadable))
			return true;
	}
	return false;
}

json_t *
shape_order(const struct store *s, const struct order *o)
{
	struct order_totals t;
	json_t *j = json_object(), *arr, *links;
	char buf[512];
	static const enum item_kind kinds[] = { ITEM_LINE, ITEM_SHIPPING,
		ITEM_FEE, ITEM_COUPON };
	static const char *const keys[] = { "line_items", "shipping_lines",
		"fee_lines", "coupon_lines" };

	order_totals(o, &t);
	json_object_set_new(j, "id", json_integer(o->id));
	json_object_set_new(j, "parent_id", json_integer(0));
	json_object_set_new(j, "status", json_string(order_status_names[o->status]));
	json_object_set_new(j, "currency", json_string(o->currency));
	json_object_set_new(j, "version", json_string(FAKEWC_WC_VERSION));
	json_object_set_new(j, "prices_include_tax", json_false());
	json_object_set_new(j, "date_created", date_or_null(s, o->created, false));
	json_object_set_new(j, "date_modified", date_or_null(s, o->modified,
	    false));
	json_object_set_new(j, "discount_total", money(t.discount));
	json_object_set_new(j, "discount_tax", money(t.discount_tax));
	json_object_set_new(j, "shipping_total", money(t.shipping));
	json_object_set_new(j, "shipping_tax", money(t.shipping_tax));
	json_object_set_new(j, "cart_tax", money(t.cart_tax));
	json_object_set_new(j, "total", money(t.total));
	json_object_set_new(j, "total_tax", money(t.total_tax));
	json_object_set_new(j, "customer_id", json_integer(o->customer_id));
	json_object_set_new(j, "order_key", json_string(o->order_key));
	json_object_set_new(j, "billing", json_deep_copy(o->billing));
	json_object_set_new(j, "shipping", json_deep_copy(o->shipping));
	json_object_set_new(j, "payment_method", json_string(o->payment_method));
	json_object_set_new(j, "payment_method_title",
	    json_string(o->payment_method_title));
	json_object_set_new(j, "transaction_id", json_string(o->transaction_id));
	json_object_set_new(j, "customer_ip_address", json_string(""));
	json_object_set_new(j, "customer_user_agent", json_string(""));
	json_object_set_new(j, "created_via", json_string(o->created_via));
	json_object_set_new(j, "customer_note", json_string(o->customer_note));
	json_object_set_new(j, "date_completed", date_or_null(s, o->completed,
	    false));
	json_object_set_new(j, "date_paid", date_or_null(s, o->paid, false));
	json_object_set_new(j, "cart_hash", json_string(""));
	snprintf(buf, sizeof(buf), "%lld", (long long)o->id);
	json_object_set_new(j, "number", json_string(buf));
	json_object_set_new(j, "meta_data", json_deep_copy(o->meta));
	for (size_t k = 0; k < 4; k++) {
		arr = json_array();
		for (size_t i = 0; i < o->n_items; i++)
			if (o->items[i].kind == kinds[k])
				json_array_append_new(arr, item_json(o,
				    &o->items[i], &t));
		json_object_set_new(j, keys[k], arr);
		if (k != 0)
			continue;
		arr = json_array();
		if (o->tax != NULL)
			json_array_append_new(arr, json_pack(
			    "{s:I,s:s,s:i,s:s,s:b,s:o,s:o,s:o,s:[]}",
			    "id", (json_int_t)o->tax_item_id,
			    "rate_code", o->tax->code, "rate_id", o->tax->id,
			    "label", o->tax->label, "compound", 0,
			    "tax_total", money(t.cart_tax),
			    "shipping_tax_total", money(t.shipping_tax),
			    "rate_percent", util_php_number(o->tax->percent),
			    "meta_data"));
		json_object_set_new(j, "tax_lines", arr);
	}
	arr = json_array();
	for (size_t i = o->n_refunds; i-- > 0;) {
		char m[32], neg[40];

		util_money(o->refunds[i].amount, m);
		snprintf(neg, sizeof(neg), "-%s", m);
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "id",
		    (json_int_t)o->refunds[i].id, "reason", o->refunds[i].reason,
		    "total", neg));
	}
	json_object_set_new(j, "refunds", arr);
	snprintf(buf, sizeof(buf),
	    "%s/checkout/order-pay/%lld/?pay_for_order=true&key=%s", s->site,
	    (long long)o->id, o->order_key);
	json_object_set_new(j, "payment_url", json_string(buf));
	json_object_set_new(j, "is_editable", json_boolean(o->status ==
	    ST_PENDING || o->status == ST_ON_HOLD));
	json_object_set_new(j, "needs_payment", json_boolean((o->status ==
	    ST_PENDING || o->status == ST_FAILED) && t.total > 0));
	json_object_set_new(j, "needs_processing", json_boolean(
	    needs_processing(s, o)));
	json_object_set_new(j, "date_created_gmt", date_or_null(s, o->created,
	    true));
	json_object_set_new(j, "date_modified_gmt", date_or_null(s, o->modified,
	    true));
	json_object_set_new(j, "date_completed_gmt", date_or_null(s,
	    o->completed, true));
	json_object_set_new(j, "date_paid_gmt", date_or_null(s, o->paid, true));
	json_object_set_new(j, "currency_symbol",
	    json_string(currency_symbol(o->currency)));
	links = json_object();
	snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/orders/%lld", s->site,
	    (long long)o->id);
	json_object_set_new(links, "self", link(buf));
	snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/orders", s->site);
	json_object_set_new(links, "collection", link(buf));
	if (o->customer_id != 0) {
		snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/customers/%lld",
		    s->site, (long long)o->customer_id);
		json_object_set_new(links, "customer", link(buf));
	}
	json_object_set_new(j, "_links", links);
	return j;
}

json_t *
shape_coupon_data(const struct store *s, const struct coupon *c)
{
	char d[40];

	util_fmt_date(s->catalog_created, d);
	d[10] = ' ';
	strcat(d, ".000000");
	return json_pack("{s:I,s:s,s:s,s:s,s:{s:s,s:i,s:s},s:{s:s,s:i,s:s},"
	    "s:n,s:s,s:s,s:i,s:b,s:[],s:[],s:i,s:i,s:n,s:b,s:[],s:[],s:b,"
	    "s:s,s:s,s:[],s:b,s:[]}",
	    "id", (json_int_t)c->id, "code", c->code, "amount", c->amount,
	    "status", "publish",
	    "date_created", "date", d, "timezone_type", 3, "timezone", "UTC",
	    "date_modified", "date", d, "timezone_type", 3, "timezone", "UTC",
	    "date_expires", "discount_type", c->discount_type,
	    "description", c->description, "usage_count", 0,
	    "individual_use", 0, "product_ids", "excluded_product_ids",
	    "usage_limit", 0, "usage_limit_per_user", 0,
	    "limit_usage_to_x_items", "free_shipping", 0,
	    "product_categories", "excluded_product_categories",
	    "exclude_sale_items", 0, "minimum_amount", "", "maximum_amount", "",
	    "email_restrictions", "virtual", 0, "meta_data");
}

static json_t *
price_html(int64_t lo, int64_t hi)
{
	static const char *const fmt = "<span class=\"woocommerce-Price-amount "
	    "amount\"><bdi><span class=\"woocommerce-Price-currencySymbol\">"
	    "&#36;</span>%s</bdi></span>";
	char a[32], b[32], h1[256], h2[256], all[600];

	util_money(lo, a);
	util_money(hi, b);
	snprintf(h1, sizeof(h1), fmt, a);
	snprintf(h2, sizeof(h2), fmt, b);
	if (lo == hi)
		return json_string(h1);
	snprintf(all, sizeof(all), "%s &ndash; %s", h1, h2);
	return json_string(all);
}

json_t *
shape_product(const struct store *s, const struct product *p)
{
	bool variable = strcmp(p->type, "variable") == 0;
	int64_t lo = p->price, hi = p->price;
	json_t *j, *vars = json_array(), *downloads = json_array(), *attrs;
	char d[20], url[512], self[512], coll[512];

	for (size_t i = 0; i < s->n_products; i++)
		if (s->products[i].parent_id == p->id) {
			const struct product *v = &s->products[i];

			json_array_append_new(vars, json_integer(v->id));
			if (lo == 0 || v->price < lo)
				lo = v->price;
			if (v->price > hi)
				hi = v->price;
		}
	if (p->downloadable) {
		snprintf(url, sizeof(url), "%s/wp-content/uploads/%s.pdf",
		    s->site, p->slug);
		json_array_append_new(downloads, json_pack("{s:s,s:s,s:s}", "id",
		    "7dd5e3f6-2925-437a-8eeb-afa91d4c22ff", "name", "download.pdf",
		    "file", url));
	}
	attrs = variable ? json_pack("[{s:i,s:s,s:s,s:i,s:b,s:b,s:[sss]}]",
	    "id", 0, "name", "Size", "slug", "Size", "position", 0,
	    "visible", 1, "variation", 1, "options", "S", "M", "L") :
	    json_array();
	util_fmt_date(s->catalog_created, d);
	snprintf(url, sizeof(url), "%s/product/%s/", s->site, p->slug);
	snprintf(self, sizeof(self), "%s/wp-json/wc/v3/products/%lld", s->site,
	    (long long)p->id);
	snprintf(coll, sizeof(coll), "%s/wp-json/wc/v3/products", s->site);
	j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,"
	    "s:s,s:s}",
	    "id", (json_int_t)p->id, "name", p->name, "slug", p->slug,
	    "permalink", url, "date_created", d, "date_created_gmt", d,
	    "date_modified", d, "date_modified_gmt", d, "type", p->type,
	    "status", "publish", "featured", 0, "catalog_visibility", "visible",
	    "description", "", "short_description", "", "sku", p->sku);
	json_object_set_new(j, "price", lo ? money(lo) : json_string(""));
	json_object_set_new(j, "regular_price", variable || !lo ?
	    json_string("") : money(lo));
	json_object_update_missing_new(j, json_pack("{s:s,s:n,s:n,s:n,s:n,s:b,"
	    "s:b,s:i,s:b,s:b,s:o,s:i,s:i,s:s,s:s,s:s,s:s,s:b}",
	    "sale_price", "", "date_on_sale_from", "date_on_sale_from_gmt",
	    "date_on_sale_to", "date_on_sale_to_gmt", "on_sale", 0,
	    "purchasable", lo > 0, "total_sales", 0, "virtual", p->is_virtual,
	    "downloadable", p->downloadable, "downloads", downloads,
	    "download_limit", p->downloadable ? 5 : -1,
	    "download_expiry", p->downloadable ? 30 : -1,
	    "external_url", "", "button_text", "", "tax_status", "taxable",
	    "tax_class", "", "manage_stock", p->manage_stock));
	json_object_set_new(j, "stock_quantity", p->manage_stock ?
	    json_integer(100) : json_null());
	json_object_update_missing_new(j, json_pack("{s:s,s:b,s:b,s:n,s:b,s:s,"
	    "s:{s:s,s:s,s:s},s:b,s:b,s:s,s:i,s:b,s:s,s:i,s:[],s:[],s:i,s:s,"
	    "s:[{s:i,s:s,s:s}],s:[],s:[],s:o,s:[],s:o,s:[],s:i,s:o,s:[],s:[],"
	    "s:s,s:b,s:s,s:s,s:s}",
	    "backorders", "no", "backorders_allowed", 0, "backordered", 0,
	    "low_stock_amount", "sold_individually", 0, "weight", "",
	    "dimensions", "length", "", "width", "", "height", "",
	    "shipping_required", !p->is_virtual,
	    "shipping_taxable", !p->is_virtual, "shipping_class", "",
	    "shipping_class_id", 0, "reviews_allowed", 1, "average_rating", "0",
	    "rating_count", 0, "upsell_ids", "cross_sell_ids", "parent_id", 0,
	    "purchase_note", "", "categories", "id", 15, "name", "Uncategorized",
	    "slug", "uncategorized", "tags", "images", "attributes", attrs,
	    "default_attributes", "variations", vars, "grouped_products",
	    "menu_order", 0, "price_html", lo ? price_html(lo, hi) :
	    json_string(""), "related_ids", "meta_data",
	    "stock_status", "instock", "has_options", variable,
	    "post_password", "", "permalink_template", "", "generated_slug",
	    p->slug));
	snprintf(url, sizeof(url), "%s/product/%%pagename%%/", s->site);
	json_object_set_new(j, "permalink_template", json_string(url));
	json_object_set_new(j, "_links", json_pack("{s:o,s:o}", "self",
	    link(self), "collection", link(coll)));
	return j;
}
