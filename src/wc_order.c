/* SPDX-License-Identifier: MIT */
/*
 * json_t -> struct wc_order. It decides nothing about what an order means
 * for a customer (sync.c does); it only reads the shapes WooCommerce 8.4
 * sends (tests/fixtures/woocommerce/rest/37-order-get.json and friends).
 */
#include "tracksies/wc_order.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/money.h"

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static const char *
str_field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t
int_field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_string(v))
		return (int64_t)strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* Money fields are strings ("41.82"); a missing one reads as zero. */
static enum ts_rc
money_field(const json_t *obj, const char *key, int decimals, int64_t *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return TS_OK;
	if (json_is_string(v))
		return money_parse(json_string_value(v), decimals, out);
	if (json_is_integer(v)) {
		char buf[32];
		(void)snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return money_parse(buf, decimals, out);
	}
	return TS_ERR_INVALID;
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01, proleptic Gregorian. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Two ASCII digits, already checked. */
static int
digits2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

enum ts_rc
wc_order_parse_time(const char *text, int64_t *out)
{
	/* YYYY-MM-DDTHH:MM:SS: digits everywhere but these five places. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int y, mo, d, h, mi, s;

	*out = 0;
	if (text == NULL)
		return TS_ERR_INVALID;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)text[i]) :
		    text[i] != shape[i])
			return TS_ERR_INVALID;	/* a short text stops at its NUL */
	y = digits2(text) * 100 + digits2(text + 2);
	mo = digits2(text + 5);
	d = digits2(text + 8);
	h = digits2(text + 11);
	mi = digits2(text + 14);
	s = digits2(text + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return TS_ERR_INVALID;
	text += sizeof(shape) - 1;
	if (*text == '.')
		for (text++; isdigit((unsigned char)*text); text++)
			;
	if (*text == 'Z')
		text++;
	else if (strncmp(text, "+00:00", 6) == 0)
		text += 6;
	if (*text != '\0')
		return TS_ERR_INVALID;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + s;
	return TS_OK;
}

void
wc_order_format_time(int64_t t, char *buf, size_t size)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	/* civil_from_days, the inverse of days_from_civil. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	/* By hand, as money_format: a profile formats some 150 times. */
	if (y >= 0 && y <= 9999 && size >= 20) {
		unsigned f[6] = { (unsigned)y, m, d, (unsigned)(secs / 3600),
			(unsigned)(secs / 60 % 60), (unsigned)(secs % 60) };
		static const char sep[6] = { '-', '-', 'T', ':', ':', '\0' };
		char *p = buf;

		*p++ = (char)('0' + f[0] / 1000);
		*p++ = (char)('0' + f[0] / 100 % 10);
		for (int i = 0; i < 6; i++) {
			*p++ = (char)('0' + f[i] / 10 % 10);
			*p++ = (char)('0' + f[i] % 10);
			*p++ = sep[i];
		}
		return;
	}
	(void)snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y,
	    m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	/* FNV-1a over the bytes and a 0xff separator. */
	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t
fnv_int(uint64_t h, int64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (unsigned char)(v & 0xff)) * 1099511628211ULL;
	return h;
}

int64_t
wc_order_digest(const struct wc_order *o)
{
	const char *const texts[] = { o->status, o->currency, o->number, o->email,
		o->first_name, o->last_name, o->phone, o->company, o->payment_method,
		o->payment_method_title, o->customer_note, o->billing_json,
		o->shipping_json, o->shipping_methods, o->coupon_codes,
		o->tracking_json, o->meta_synced, o->meta_customer_id,
		o->meta_sync_error };
	const int64_t nums[] = { o->id, o->created_at, o->total_minor,
		o->discount_minor, o->shipping_minor, o->tax_minor, o->wp_user_id,
		o->item_count, o->refunded_minor };
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		h = fnv_str(h, texts[i]);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		h = fnv_int(h, nums[i]);
	for (size_t i = 0; i < o->n_items; i++) {
		h = fnv_int(h, o->items[i].product_id);
		h = fnv_int(h, o->items[i].variation_id);
		h = fnv_int(h, o->items[i].quantity);
		h = fnv_int(h, o->items[i].total_minor);
		h = fnv_str(h, o->items[i].name);
	}
	for (size_t i = 0; i < o->n_refunds; i++) {
		h = fnv_int(h, o->refunds[i].id);
		h = fnv_int(h, o->refunds[i].amount_minor);
	}
	return h == 0 ? 1 : (int64_t)h;
}

char *
wc_order_normalize_email(const char *raw)
{
	const char *start = raw, *end;
	char *email;

	if (raw == NULL)
		return NULL;
	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (end == start || memchr(start, '@', (size_t)(end - start)) == NULL)
		return NULL;
	if ((email = strndup(start, (size_t)(end - start))) == NULL)
		return NULL;
	for (char *p = email; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return email;
}

/* Join field key of every object in arr with ", ". */
static char *
join_field(const json_t *arr, const char *key)
{
	size_t len = 1, i;
	const json_t *v;
	char *out;

	json_array_foreach(arr, i, v) {
		const char *s = str_field(v, key);
		len += (s != NULL ? strlen(s) : 0) + 2;
	}
	if ((out = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(arr, i, v) {
		const char *s = str_field(v, key);
		if (s == NULL || *s == '\0')
			continue;
		if (*out != '\0')
			strcat(out, ", ");
		strcat(out, s);
	}
	return out;
}

static char *
meta_value(const json_t *meta, const char *key)
{
	size_t i;
	const json_t *m;

	json_array_foreach(meta, i, m) {
		const char *k = str_field(m, "key");
		const json_t *v = json_object_get(m, "value");

		if (k == NULL || strcmp(k, key) != 0)
			continue;
		if (json_is_string(v))
			return strdup(json_string_value(v));
		if (json_is_integer(v)) {
			char buf[32];
			(void)snprintf(buf, sizeof(buf), "%lld",
			    (long long)json_integer_value(v));
			return strdup(buf);
		}
		if (v != NULL && !json_is_null(v))
			return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	return NULL;
}

static enum ts_rc
parse_items(const json_t *arr, int decimals, struct wc_order *o)
{
	size_t i, n = json_array_size(arr);
	const json_t *v;

	if (n == 0)
		return TS_OK;
	if ((o->items = calloc(n, sizeof(*o->items))) == NULL)
		return TS_ERR_NOMEM;
	json_array_foreach(arr, i, v) {
		struct wc_order_item *it = &o->items[o->n_items++];

		it->product_id = int_field(v, "product_id");
		it->variation_id = int_field(v, "variation_id");
		it->quantity = int_field(v, "quantity");
		if ((it->name = dup_or_empty(str_field(v, "name"))) == NULL ||
		    (it->sku = dup_or_empty(str_field(v, "sku"))) == NULL)
			return TS_ERR_NOMEM;
		if (money_field(v, "subtotal", decimals, &it->subtotal_minor) != TS_OK ||
		    money_field(v, "total", decimals, &it->total_minor) != TS_OK)
			return TS_ERR_INVALID;
		o->item_count += it->quantity;
	}
	return TS_OK;
}

static enum ts_rc
parse_refunds(const json_t *arr, int decimals, struct wc_order *o)
{
	size_t i, n = json_array_size(arr);
	const json_t *v;

	if (n == 0)
		return TS_OK;
	if ((o->refunds = calloc(n, sizeof(*o->refunds))) == NULL)
		return TS_ERR_NOMEM;
	json_array_foreach(arr, i, v) {
		struct wc_refund *r = &o->refunds[o->n_refunds++];

		r->id = int_field(v, "id");
		if (money_field(v, "total", decimals, &r->amount_minor) != TS_OK)
			return TS_ERR_INVALID;
		/* WooCommerce lists refunds as negative totals ("-12.00"). */
		if (r->amount_minor < 0)
			r->amount_minor = -r->amount_minor;
		if ((r->reason = dup_or_empty(str_field(v, "reason"))) == NULL)
			return TS_ERR_NOMEM;
		o->refunded_minor += r->amount_minor;
	}
	return TS_OK;
}

static char *
compact(const json_t *v)
{
	return json_is_object(v) ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) :
	    strdup("{}");
}

enum ts_rc
wc_order_parse(const json_t *doc, int decimals, struct wc_order **out)
{
	struct wc_order *o = NULL;
	const json_t *billing, *meta;
	const char *status, *currency, *created;
	enum ts_rc rc = TS_ERR_NOMEM;

	*out = NULL;
	if (!json_is_object(doc) || int_field(doc, "id") <= 0 ||
	    (status = str_field(doc, "status")) == NULL)
		return TS_ERR_INVALID;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return TS_ERR_NOMEM;
	o->id = int_field(doc, "id");
	if (strncmp(status, "wc-", 3) == 0)
		status += 3;
	currency = str_field(doc, "currency");
	(void)snprintf(o->currency, sizeof(o->currency), "%s",
	    currency != NULL ? currency : "");
	/* date_created_gmt is UTC; date_created is the store's local time. */
	created = str_field(doc, "date_created_gmt");
	if (created == NULL)
		created = str_field(doc, "date_created");
	if (wc_order_parse_time(created, &o->created_at) != TS_OK) {
		rc = TS_ERR_INVALID;
		goto fail;
	}
	(void)wc_order_parse_time(str_field(doc, "date_modified_gmt"),
	    &o->modified_at);
	if (money_field(doc, "total", decimals, &o->total_minor) != TS_OK ||
	    money_field(doc, "discount_total", decimals, &o->discount_minor) != TS_OK ||
	    money_field(doc, "shipping_total", decimals, &o->shipping_minor) != TS_OK ||
	    money_field(doc, "total_tax", decimals, &o->tax_minor) != TS_OK) {
		rc = TS_ERR_INVALID;
		goto fail;
	}
	o->wp_user_id = int_field(doc, "customer_id");
	billing = json_object_get(doc, "billing");
	o->email = wc_order_normalize_email(str_field(billing, "email"));
	meta = json_object_get(doc, "meta_data");
	if ((o->status = strdup(status)) == NULL ||
	    (o->number = dup_or_empty(str_field(doc, "number"))) == NULL ||
	    (o->first_name = dup_or_empty(str_field(billing, "first_name"))) == NULL ||
	    (o->last_name = dup_or_empty(str_field(billing, "last_name"))) == NULL ||
	    (o->phone = dup_or_empty(str_field(billing, "phone"))) == NULL ||
	    (o->company = dup_or_empty(str_field(billing, "company"))) == NULL ||
	    (o->payment_method = dup_or_empty(str_field(doc, "payment_method"))) == NULL ||
	    (o->payment_method_title = dup_or_empty(str_field(doc,
	    "payment_method_title"))) == NULL ||
	    (o->customer_note = dup_or_empty(str_field(doc, "customer_note"))) == NULL ||
	    (o->billing_json = compact(billing)) == NULL ||
	    (o->shipping_json = compact(json_object_get(doc, "shipping"))) == NULL ||
	    (o->shipping_methods = join_field(json_object_get(doc,
	    "shipping_lines"), "method_title")) == NULL ||
	    (o->coupon_codes = join_field(json_object_get(doc, "coupon_lines"),
	    "code")) == NULL)
		goto fail;
	if ((rc = parse_items(json_object_get(doc, "line_items"), decimals, o)) != TS_OK ||
	    (rc = parse_refunds(json_object_get(doc, "refunds"), decimals, o)) != TS_OK)
		goto fail;
	o->meta_synced = meta_value(meta, WC_META_SYNCED);
	o->meta_customer_id = meta_value(meta, WC_META_CUSTOMER_ID);
	o->meta_sync_error = meta_value(meta, WC_META_SYNC_ERROR);
	/* The Shipment Tracking extension's meta, shown on the profile. */
	o->tracking_json = meta_value(meta, "_wc_shipment_tracking_items");
	*out = o;
	return TS_OK;
fail:
	wc_order_free(o);
	return rc;
}

void
wc_order_free(struct wc_order *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n_items; i++) {
		free(o->items[i].name);
		free(o->items[i].sku);
	}
	for (size_t i = 0; i < o->n_refunds; i++)
		free(o->refunds[i].reason);
	free(o->items);
	free(o->refunds);
	free(o->number);
	free(o->status);
	free(o->email);
	free(o->first_name);
	free(o->last_name);
	free(o->phone);
	free(o->company);
	free(o->payment_method);
	free(o->payment_method_title);
	free(o->customer_note);
	free(o->billing_json);
	free(o->shipping_json);
	free(o->shipping_methods);
	free(o->coupon_codes);
	free(o->tracking_json);
	free(o->meta_synced);
	free(o->meta_customer_id);
	free(o->meta_sync_error);
	free(o);
}
