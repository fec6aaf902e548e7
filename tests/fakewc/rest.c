/* SPDX-License-Identifier: MIT */
/*
 * The /wp-json/wc/v3 router, in WordPress' order: injected faults (they
 * come from in front of PHP or from PHP), a PHP worker slot, key
 * authentication (only for URIs containing /wp-json/wc/: ?rest_route= is
 * never authenticated), route match (404 rest_no_route), the route's
 * permission check (401 when no key authenticated), the handler, the
 * latency model, WordPress' response headers. Products, webhooks and
 * settings are answered here; orders in rest_orders.c.
 */
#include "fakewc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum route { R_NONE, R_ORDERS, R_ORDER, R_BATCH, R_PRODUCTS, R_PRODUCT,
	R_WEBHOOKS, R_WEBHOOK, R_SETTINGS, R_SETTING };

static const char *const allow[] = {
	[R_NONE] = NULL, [R_ORDERS] = "GET, POST",
	[R_ORDER] = "GET, POST, PUT, PATCH, DELETE",
	[R_BATCH] = "POST, PUT, PATCH", [R_PRODUCTS] = "GET, POST",
	[R_PRODUCT] = "GET, POST, PUT, PATCH, DELETE",
	[R_WEBHOOKS] = "GET, POST", [R_WEBHOOK] = "GET, POST, PUT, PATCH, DELETE",
	[R_SETTINGS] = "GET", [R_SETTING] = "GET, POST, PUT, PATCH",
};

static void
rest_wp_headers(struct fake *f, struct http_resp *resp, bool authed,
    const char *allow_methods)
{
	struct util_buf later = resp->headers;
	char link[600];

	memset(&resp->headers, 0, sizeof(resp->headers));
	http_resp_header(resp, "X-Robots-Tag", "noindex");
	snprintf(link, sizeof(link), "<%s/wp-json/>; rel=\"https://api.w.org/\"",
	    f->store->site);
	http_resp_header(resp, "Link", link);
	http_resp_header(resp, "X-Content-Type-Options", "nosniff");
	http_resp_header(resp, "Access-Control-Expose-Headers",
	    "X-WP-Total, X-WP-TotalPages, Link");
	http_resp_header(resp, "Access-Control-Allow-Headers", "Authorization, "
	    "X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type");
	/* The route's own headers (paging, Location) follow WordPress' own. */
	if (later.p != NULL)
		util_buf_add(&resp->headers, later.p, later.len);
	util_buf_free(&later);
	if (!authed) {
		http_resp_header(resp, "Vary", "Origin");
		return;
	}
	if (allow_methods != NULL)
		http_resp_header(resp, "Allow", allow_methods);
	http_resp_header(resp, "Expires", "Wed, 11 Jan 1984 05:00:00 GMT");
	http_resp_header(resp, "Cache-Control",
	    "no-cache, must-revalidate, max-age=0, no-store, private");
}

static bool
is_method(const struct http_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static bool
is_edit(const struct http_req *r)
{
	return is_method(r, "POST") || is_method(r, "PUT") ||
	    is_method(r, "PATCH");
}

/* Match a route and method; *cls feeds faults, stats and latency. */
static enum route
match(const struct http_req *r, const char *route, int64_t *id,
    enum fault_class *cls)
{
	char rest[256];
	char *end;

	*id = 0;
	*cls = FC_OTHER;
	snprintf(rest, sizeof(rest), "%s", route);
	if (strlen(rest) > 1 && rest[strlen(rest) - 1] == '/')
		rest[strlen(rest) - 1] = '\0';
	if (strncmp(rest, "/wc/v3/", 7) != 0)
		return R_NONE;
	route = rest + 7;
	if (strcmp(route, "orders") == 0) {
		*cls = is_method(r, "GET") ? FC_LIST_ORDERS : FC_CREATE_ORDER;
		return is_method(r, "GET") || is_method(r, "POST") ? R_ORDERS :
		    R_NONE;
	}
	if (strcmp(route, "orders/batch") == 0) {
		*cls = FC_BATCH;
		return is_edit(r) ? R_BATCH : R_NONE;
	}
	if (strncmp(route, "orders/", 7) == 0 && route[7] >= '0' &&
	    route[7] <= '9') {
		*id = strtoll(route + 7, &end, 10);
		if (*end != '\0')
			return R_NONE;
		*cls = is_method(r, "GET") ? FC_GET_ORDER :
		    is_method(r, "DELETE") ? FC_DELETE_ORDER : FC_PUT_ORDER;
		return is_method(r, "GET") || is_method(r, "DELETE") ||
		    is_edit(r) ? R_ORDER : R_NONE;
	}
	if (strcmp(route, "products") == 0 || strncmp(route, "products/", 9) == 0) {
		*cls = FC_PRODUCTS;
		if (!is_method(r, "GET"))
			return R_NONE;
		if (route[8] == '\0')
			return R_PRODUCTS;
		*id = strtoll(route + 9, &end, 10);
		return *end == '\0' && route[9] ? R_PRODUCT : R_NONE;
	}
	if (strcmp(route, "webhooks") == 0) {
		*cls = FC_WEBHOOKS;
		return is_method(r, "GET") || is_method(r, "POST") ? R_WEBHOOKS :
		    R_NONE;
	}
	if (strncmp(route, "webhooks/", 9) == 0) {
		*cls = FC_WEBHOOKS;
		*id = strtoll(route + 9, &end, 10);
		return *end == '\0' && route[9] ? R_WEBHOOK : R_NONE;
	}
	if (strcmp(route, "settings/general") == 0) {
		*cls = FC_SETTINGS;
		return is_method(r, "GET") ? R_SETTINGS : R_NONE;
	}
	if (strncmp(route, "settings/general/", 17) == 0) {
		*cls = FC_SETTINGS;
		return is_method(r, "GET") ? R_SETTING : R_NONE;
	}
	return R_NONE;
}

/* What the route's permission_callback answers a visitor with no key. */
static json_t *
permission_error(const struct http_req *r, enum route rt)
{
	if (rt == R_BATCH)
		return shape_error("woocommerce_rest_cannot_batch", "Sorry, you "
		    "are not allowed to batch manipulate this resource.", 401);
	if (is_method(r, "DELETE"))
		return shape_error("woocommerce_rest_cannot_delete", "Sorry, you "
		    "are not allowed to delete this resource.", 401);
	if (is_method(r, "POST") && (rt == R_ORDERS || rt == R_WEBHOOKS ||
	    rt == R_PRODUCTS))
		return shape_error("woocommerce_rest_cannot_create", "Sorry, you "
		    "are not allowed to create resources.", 401);
	if (is_edit(r))
		return shape_error("woocommerce_rest_cannot_edit", "Sorry, you "
		    "are not allowed to edit this resource.", 401);
	if (rt == R_ORDER || rt == R_PRODUCT || rt == R_WEBHOOK ||
	    rt == R_SETTING)
		return shape_error("woocommerce_rest_cannot_view", "Sorry, you "
		    "cannot view this resource.", 401);
	return shape_error("woocommerce_rest_cannot_view",
	    "Sorry, you cannot list resources.", 401);
}

static const char *const settings[][5] = {
	/* id, label, type, default, value */
	{ "woocommerce_store_address", "Address line 1", "text", "",
	  "42 Test Street" },
	{ "woocommerce_store_address_2", "Address line 2", "text", "", "" },
	{ "woocommerce_store_city", "City", "text", "", "Oakland" },
	{ "woocommerce_default_country", "Country / State", "select", "US:CA",
	  "US:CA" },
	{ "woocommerce_store_postcode", "Postcode / ZIP", "text", "", "94607" },
	{ "woocommerce_currency", "Currency", "select", "USD", "USD" },
	{ "woocommerce_currency_pos", "Currency position", "select", "left",
	  "left" },
	{ "woocommerce_price_thousand_sep", "Thousand separator", "text", ",",
	  "," },
	{ "woocommerce_price_decimal_sep", "Decimal separator", "text", ".",
	  "." },
	{ "woocommerce_price_num_decimals", "Number of decimals", "number", "2",
	  "2" },
	{ "woocommerce_calc_taxes", "Enable taxes", "checkbox", "no", "yes" },
};

static json_t *
setting_json(struct fake *f, size_t i)
{
	char self[512], coll[512];
	json_t *j;

	snprintf(self, sizeof(self), "%s/wp-json/wc/v3/settings/general/%s",
	    f->store->site, settings[i][0]);
	snprintf(coll, sizeof(coll), "%s/wp-json/wc/v3/settings/general",
	    f->store->site);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", settings[i][0], "label",
	    settings[i][1], "description", "", "type", settings[i][2],
	    "default", settings[i][3]);
	if (strcmp(settings[i][2], "select") == 0)
		json_object_set_new(j, "options", strcmp(settings[i][0],
		    "woocommerce_currency") == 0 ?
		    json_pack("{s:s,s:s,s:s}", "USD", "United States (US) dollar "
		    "($)", "EUR", "Euro (&euro;)", "GBP", "Pound sterling "
		    "(&pound;)") : json_object());
	json_object_set_new(j, "value", json_string(settings[i][4]));
	json_object_set_new(j, "group_id", json_string("general"));
	json_object_set_new(j, "_links", json_pack("{s:[{s:s}],s:[{s:s}]}",
	    "self", "href", self, "collection", "href", coll));
	return j;
}

static void
paging_headers(struct http_resp *resp, int total, int per_page)
{
	char n[32];

	snprintf(n, sizeof(n), "%d", total);
	http_resp_header(resp, "X-WP-Total", n);
	snprintf(n, sizeof(n), "%d", per_page ? (total + per_page - 1) /
	    per_page : 0);
	http_resp_header(resp, "X-WP-TotalPages", n);
}

static bool
int_param(struct http_req *r, const char *name, long dflt, long lo, long hi,
    long *out, json_t *bad)
{
	const char *v = http_query(r, name);
	char msg[160], *end;

	*out = dflt;
	if (v == NULL)
		return true;
	*out = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0') {
		snprintf(msg, sizeof(msg), "%s is not of type integer.", name);
		json_object_set_new(bad, name, json_string(msg));
		return false;
	}
	if (*out < lo || *out > hi) {
		snprintf(msg, sizeof(msg), "%s must be between %ld (inclusive) "
		    "and %ld (inclusive)", name, lo, hi);
		json_object_set_new(bad, name, json_string(msg));
		return false;
	}
	return true;
}

static void
products(struct fake *f, struct http_req *r, struct http_resp *resp,
    size_t *n_items)
{
	json_t *bad = json_object(), *a = json_array();
	const char *inc = http_query(r, "include");
	long page, per_page;
	int total = 0;

	(void)int_param(r, "page", 1, 1, 1L << 30, &page, bad);
	(void)int_param(r, "per_page", 10, 1, 100, &per_page, bad);
	if (json_object_size(bad) > 0) {
		json_decref(a);
		http_resp_json(resp, 400, rest_orders_invalid_param(bad));
		return;
	}
	json_decref(bad);
	pthread_mutex_lock(&f->store->lock);
	for (size_t i = f->store->n_products; i-- > 0;) {
		const struct product *p = &f->store->products[i];
		bool want = strcmp(p->type, "variation") != 0;

		if (want && inc != NULL) {
			char *list = util_xstrdup(inc), *save = NULL, *t;

			want = false;
			for (t = strtok_r(list, ",", &save); t != NULL;
			    t = strtok_r(NULL, ",", &save))
				if (strtoll(t, NULL, 10) == p->id)
					want = true;
			free(list);
		}
		if (!want)
			continue;
		if (total >= (page - 1) * per_page && total < page * per_page)
			json_array_append_new(a, shape_product(f->store, p));
		total++;
	}
	pthread_mutex_unlock(&f->store->lock);
	*n_items = json_array_size(a);
	paging_headers(resp, total, (int)per_page);
	http_resp_json(resp, 200, a);
}

static void
product(struct fake *f, int64_t id, struct http_resp *resp)
{
	const struct product *p;
	json_t *j = NULL;

	pthread_mutex_lock(&f->store->lock);
	p = store_product(f->store, id);
	if (p != NULL && strcmp(p->type, "variation") != 0)
		j = shape_product(f->store, p);
	pthread_mutex_unlock(&f->store->lock);
	if (j == NULL)
		http_resp_json(resp, 404, shape_error(
		    "woocommerce_rest_product_invalid_id", "Invalid ID.", 404));
	else
		http_resp_json(resp, 200, j);
}

static void
webhooks(struct fake *f, struct http_req *r, enum route rt, int64_t id,
    const json_t *body, struct http_resp *resp)
{
	json_t *bad, *j;
	long page, per_page;
	int total, st;

	if (rt == R_WEBHOOKS && is_method(r, "POST")) {
		j = hooks_create(f->hooks, json_string_value(json_object_get(body,
		    "name")), json_string_value(json_object_get(body, "topic")),
		    json_string_value(json_object_get(body, "delivery_url")),
		    json_string_value(json_object_get(body, "secret")), true, &st);
		if (st == 201) {
			char loc[512];

			snprintf(loc, sizeof(loc), "%s/wp-json/wc/v3/webhooks/%lld",
			    f->store->site, (long long)json_integer_value(
			    json_object_get(j, "id")));
			http_resp_header(resp, "Location", loc);
		}
		http_resp_json(resp, st, j);
		return;
	}
	if (rt == R_WEBHOOKS) {
		bad = json_object();
		(void)int_param(r, "page", 1, 1, 1L << 30, &page, bad);
		(void)int_param(r, "per_page", 10, 1, 100, &per_page, bad);
		if (json_object_size(bad) > 0) {
			http_resp_json(resp, 400, rest_orders_invalid_param(bad));
			return;
		}
		json_decref(bad);
		j = hooks_list(f->hooks, http_query(r, "status"), (int)page,
		    (int)per_page, &total);
		paging_headers(resp, total, (int)per_page);
		http_resp_json(resp, 200, j);
		return;
	}
	if (is_method(r, "GET")) {
		j = hooks_get(f->hooks, id);
		if (j == NULL)
			http_resp_json(resp, 400, shape_error(
			    "woocommerce_rest_shop_webhook_invalid_id",
			    "ID is invalid.", 400));
		else
			http_resp_json(resp, 200, j);
		return;
	}
	if (is_method(r, "DELETE")) {
		const char *force = http_query(r, "force");

		if (force == NULL || (strcmp(force, "true") &&
		    strcmp(force, "1"))) {
			http_resp_json(resp, 501, shape_error(
			    "woocommerce_rest_trash_not_supported",
			    "Webhooks do not support trashing.", 501));
			return;
		}
		j = hooks_delete(f->hooks, id, &st);
		http_resp_json(resp, st, j);
		return;
	}
	j = hooks_update(f->hooks, id, body, &st);
	http_resp_json(resp, st, j);
}

static void
settings_route(struct fake *f, enum route rt, const char *route,
    struct http_resp *resp)
{
	const char *id = strrchr(route, '/') + 1;
	json_t *a;

	if (rt == R_SETTINGS) {
		a = json_array();
		for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); i++)
			json_array_append_new(a, setting_json(f, i));
		http_resp_json(resp, 200, a);
		return;
	}
	for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); i++)
		if (strcmp(settings[i][0], id) == 0) {
			http_resp_json(resp, 200, setting_json(f, i));
			return;
		}
	http_resp_json(resp, 404, shape_error("rest_setting_setting_invalid",
	    "Invalid setting.", 404));
}

static void
fault_response(struct fake *f, const struct fault_hit *hit,
    struct http_resp *resp)
{
	char ra[16], html[512];

	if (hit->retry_after >= 0) {
		snprintf(ra, sizeof(ra), "%d", hit->retry_after);
		http_resp_header(resp, "Retry-After", ra);
	}
	switch (hit->type) {
	case FT_AUTH:
		rest_wp_headers(f, resp, false, NULL);
		http_resp_json(resp, 401, shape_error(
		    "woocommerce_rest_authentication_error",
		    "Consumer key is invalid.", 401));
		return;
	case FT_STATUS:
		if (hit->status == 500) {
			/* wp_die() in a REST request: WordPress' fatal handler */
			json_t *e = shape_error("internal_server_error",
			    "<p>There has been a critical error on this website."
			    "</p><p><a href=\"https://wordpress.org/documentation/"
			    "article/faq-troubleshooting/\">Learn more about "
			    "troubleshooting WordPress.</a></p>", 500);

			json_object_set_new(e, "additional_errors", json_array());
			http_resp_json(resp, 500, e);
			return;
		}
		break;
	default:
		break;
	}
	/* What nginx in front of PHP-FPM answers. */
	snprintf(html, sizeof(html), "<html>\r\n<head><title>%d %s</title>"
	    "</head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n"
	    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
	    hit->status, hit->status == 429 ? "Too Many Requests" :
	    hit->status == 502 ? "Bad Gateway" : hit->status == 503 ?
	    "Service Temporarily Unavailable" : hit->status == 504 ?
	    "Gateway Time-out" : "Error", hit->status,
	    hit->status == 429 ? "Too Many Requests" : hit->status == 502 ?
	    "Bad Gateway" : hit->status == 503 ?
	    "Service Temporarily Unavailable" : hit->status == 504 ?
	    "Gateway Time-out" : "Error");
	http_resp_text(resp, hit->status, "text/html", html);
}

/* The handler proper, with a worker slot held. */
static void
serve(struct fake *f, struct http_req *r, enum route rt, int64_t id,
    const char *route, bool authed, struct http_resp *resp, size_t *n_items)
{
	json_t *body = NULL;
	json_error_t jerr;

	if (rt == R_ORDERS && is_method(r, "GET")) {
		/* WordPress validates arguments before permission_callback. */
		rest_orders_list(f, r, resp, n_items, !authed);
		if (!authed && resp->status == 0)
			http_resp_json(resp, 401, permission_error(r, rt));
		return;
	}
	if (!authed) {
		http_resp_json(resp, 401, permission_error(r, rt));
		return;
	}
	if (is_edit(r) && r->body.len > 0) {
		body = json_loadb(r->body.p, r->body.len, 0, &jerr);
		if (body == NULL) {
			json_t *e = shape_error("rest_invalid_json",
			    "Invalid JSON body passed.", 400);

			json_object_set_new(json_object_get(e, "data"),
			    "json_error_code", json_integer(4));
			json_object_set_new(json_object_get(e, "data"),
			    "json_error_message", json_string("Syntax error"));
			http_resp_json(resp, 400, e);
			return;
		}
	}
	if (body == NULL)
		body = json_object();
	switch (rt) {
	case R_ORDERS:
		rest_orders_create(f, body, resp);
		break;
	case R_ORDER:
		if (is_method(r, "GET"))
			rest_orders_get(f, id, resp);
		else if (is_method(r, "DELETE"))
			rest_orders_delete(f, r, id, resp);
		else
			rest_orders_put(f, id, body, resp);
		break;
	case R_BATCH:
		rest_orders_batch(f, body, resp, n_items);
		break;
	case R_PRODUCTS:
		products(f, r, resp, n_items);
		break;
	case R_PRODUCT:
		product(f, id, resp);
		break;
	case R_WEBHOOKS:
	case R_WEBHOOK:
		webhooks(f, r, rt, id, body, resp);
		break;
	case R_SETTINGS:
	case R_SETTING:
		settings_route(f, rt, route, resp);
		break;
	case R_NONE:
		break;
	}
	json_decref(body);
}

void
rest_handle(struct fake *f, struct http_req *r, struct http_resp *resp)
{
	const char *route = NULL, *rr = http_query(r, "rest_route");
	enum fault_class cls = FC_OTHER;
	struct fault_hit hit;
	enum route rt;
	json_t *err = NULL;
	int64_t id, started, left;
	size_t n_items = 0;
	bool authed = false, auth_failed = false;

	if (strncmp(r->path, "/wp-json/", 9) == 0)
		route = r->path + 8;
	else if ((strcmp(r->path, "/") == 0 ||
	    strcmp(r->path, "/index.php") == 0) && rr != NULL)
		route = rr;
	if (route == NULL) {
		http_resp_text(resp, 404, "text/html; charset=UTF-8",
		    "<!DOCTYPE html><html><head><title>Page not found</title>"
		    "</head><body><h1>Not Found</h1></body></html>\n");
		return;
	}
	rt = match(r, route, &id, &cls);
	faults_take(f->faults, cls, &hit);
	if (hit.type != FT_NONE && hit.ms > 0 && !util_sleep_ms(hit.ms)) {
		resp->drop = true;
		return;
	}
	if (hit.type == FT_DROP) {
		faults_count_drop(f->faults, cls);
		resp->drop = true;
		return;
	}
	if (hit.type != FT_NONE && hit.type != FT_LATENCY) {
		fault_response(f, &hit, resp);
		faults_count(f->faults, cls, resp->status);
		return;
	}
	if (!faults_worker_acquire(f->faults)) {
		resp->drop = true;
		return;
	}
	/* The service time starts when a PHP worker picks the request up. */
	started = util_now_ms();
	/* WC 8.4 is_request_to_rest_api(): the URI must contain /wp-json/wc/. */
	if (strstr(r->raw_uri, "/wp-json/wc/") != NULL ||
	    strstr(r->raw_uri, "/wp-json/wc-") != NULL) {
		enum auth_result a = auth_check(f, r, &err);

		authed = a == AUTH_OK;
		auth_failed = a == AUTH_ERROR;
	}
	if (r->too_big) {
		http_resp_json(resp, 413, shape_error("rest_request_too_large",
		    "Request body too large.", 413));
	} else if (auth_failed) {
		http_resp_json(resp, 401, err);
	} else if (rt == R_NONE) {
		http_resp_json(resp, 404, shape_error("rest_no_route", "No route "
		    "was found matching the URL and request method.", 404));
	} else {
		serve(f, r, rt, id, route, authed, resp, &n_items);
	}
	left = faults_service_ms(f->faults, cls, is_method(r, "GET"), n_items,
	    auth_failed || !authed) - (util_now_ms() - started);
	if (left > 0)
		(void)util_sleep_ms(left);
	faults_worker_release(f->faults);
	rest_wp_headers(f, resp, authed && !auth_failed, allow[rt]);
	faults_count(f->faults, cls, resp->status);
}
