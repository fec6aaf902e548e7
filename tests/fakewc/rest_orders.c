/* SPDX-License-Identifier: MIT */
/*
 * /wc/v3/orders as WooCommerce 8.4 answers it (HPOS on):
 * class-wc-rest-orders-v2-controller.php, class-wc-rest-crud-controller.php
 * and class-wc-rest-controller.php (batch). Collection arguments are
 * validated as WordPress' REST server does, dates follow the HPOS
 * OrdersTableQuery conversions, and every change reports its hooks so the
 * webhooks fire after the store lock is released.
 */
#include "fakewc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses_enum = "any, trash, pending, processing, "
    "on-hold, completed, cancelled, refunded, failed, and checkout-draft";

json_t *
rest_orders_invalid_param(json_t *params)
{
	json_t *details = json_object(), *v;
	struct util_buf msg = { 0 };
	const char *k;

	util_buf_adds(&msg, "Invalid parameter(s): ");
	json_object_foreach(params, k, v) {
		const char *m = json_string_value(v);
		const char *code = strstr(m, "between") ||
		    strstr(m, "greater than") ? "rest_out_of_bounds" :
		    strstr(m, "not of type") ? "rest_invalid_type" :
		    strstr(m, "is not one of") ? "rest_not_in_enum" :
		    strstr(m, "Invalid date") ? "rest_invalid_date" :
		    strstr(m, "email") ? "rest_invalid_email" :
		    "rest_invalid_param";

		util_buf_addf(&msg, "%s%s", json_object_size(details) ? ", " : "",
		    k);
		json_object_set_new(details, k, json_pack("{s:s,s:s,s:n}",
		    "code", code, "message", m, "data"));
	}
	v = json_pack("{s:s,s:s,s:{s:i,s:o,s:o}}", "code", "rest_invalid_param",
	    "message", msg.p, "data", "status", 400, "params", params,
	    "details", details);
	util_buf_free(&msg);
	return v;
}

struct list_query {
	long page, per_page, offset;
	bool has_offset, asc, gmt;
	const char *orderby;
	bool status_any, want[ST__COUNT];
	int64_t *include, *exclude;
	size_t n_include, n_exclude;
	int64_t customer;
	bool has_customer;
	/* thresholds (UTC seconds) and whether each is set */
	int64_t after, before, mafter, mbefore;
	bool has_after, has_before, has_mafter, has_mbefore;
	json_t *status_list;	/* sanitized status, for the Link header */
};

static int64_t *
id_list(const struct http_req *r, const char *name, size_t *n)
{
	int64_t *ids = NULL;

	*n = 0;
	for (size_t i = 0; i < r->n_params; i++) {
		const struct http_param *p = &r->params[i];
		char *copy, *save = NULL, *t;

		if (strcmp(p->key, name) != 0)
			continue;
		if (!p->is_array) {
			free(ids);
			ids = NULL;
			*n = 0;
		}
		copy = util_xstrdup(p->value);
		for (t = strtok_r(copy, ", ", &save); t != NULL;
		    t = strtok_r(NULL, ", ", &save)) {
			ids = realloc(ids, (*n + 1) * sizeof(*ids));
			if (ids == NULL)
				abort();
			ids[(*n)++] = llabs(strtoll(t, NULL, 10));
		}
		free(copy);
	}
	return ids;
}

static bool
in_list(const int64_t *ids, size_t n, int64_t id, size_t *pos)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id) {
			if (pos != NULL)
				*pos = i;
			return true;
		}
	return false;
}

/*
 * A date argument as HPOS compares it. Without dates_are_gmt the value is
 * site-local (an explicit offset is honoured) and converted to UTC. With
 * dates_are_gmt a bare value is UTC, but one carrying an offset goes
 * through WP_Date_Query, which turns it into site-local wall-clock time
 * and compares that with the GMT column: off by the site's offset.
 */
static bool
date_arg(const struct http_req *r, const char *name, bool gmt, int offset_s,
    int64_t *out, bool *set, json_t *bad)
{
	const char *v = http_query(r, name);
	int64_t wall;
	bool has_tz;
	int tz;

	*set = false;
	if (v == NULL)
		return true;
	if (!util_parse_date(v, &wall, &has_tz, &tz)) {
		json_object_set_new(bad, name, json_string("Invalid date."));
		return false;
	}
	if (!gmt)
		*out = has_tz ? wall - tz : wall - offset_s;
	else
		*out = has_tz ? wall - tz + offset_s : wall;
	*set = true;
	return true;
}

static void
add_status(struct list_query *q, const char *s, int idx, json_t *bad)
{
	enum order_status st;
	char msg[256];

	json_array_append_new(q->status_list, json_string(s));
	if (strcmp(s, "any") == 0) {
		q->status_any = true;
		return;
	}
	if ((st = order_status_parse(s)) == ST__COUNT) {
		snprintf(msg, sizeof(msg), "status[%d] is not one of %s.", idx,
		    statuses_enum);
		json_object_set_new(bad, "status", json_string(msg));
		return;
	}
	q->want[st] = true;
}

static bool
parse_query(struct fake *f, const struct http_req *r, struct list_query *q,
    json_t *bad)
{
	static const char *const orderbys[] = { "date", "id", "include",
		"title", "slug", "modified", NULL };
	const char *v;
	char msg[160], *end;
	int idx = 0;

	memset(q, 0, sizeof(*q));
	q->status_list = json_array();
	q->page = 1;
	q->per_page = 10;
	q->orderby = "date";
	if ((v = http_query(r, "page")) != NULL) {
		q->page = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0')
			json_object_set_new(bad, "page",
			    json_string("page is not of type integer."));
		else if (q->page < 1)
			json_object_set_new(bad, "page", json_string(
			    "page must be greater than or equal to 1"));
	}
	if ((v = http_query(r, "per_page")) != NULL) {
		q->per_page = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0')
			json_object_set_new(bad, "per_page",
			    json_string("per_page is not of type integer."));
		else if (q->per_page < 1 || q->per_page > 100)
			json_object_set_new(bad, "per_page", json_string("per_page "
			    "must be between 1 (inclusive) and 100 (inclusive)"));
	}
	if ((v = http_query(r, "offset")) != NULL) {
		q->offset = strtol(v, &end, 10);
		q->has_offset = true;
		if (*v == '\0' || *end != '\0')
			json_object_set_new(bad, "offset",
			    json_string("offset is not of type integer."));
	}
	if ((v = http_query(r, "order")) != NULL) {
		if (strcmp(v, "asc") && strcmp(v, "desc"))
			json_object_set_new(bad, "order",
			    json_string("order is not one of asc and desc."));
		q->asc = strcmp(v, "asc") == 0;
	}
	if ((v = http_query(r, "orderby")) != NULL) {
		bool ok = false;

		for (int i = 0; orderbys[i] != NULL; i++)
			ok |= strcmp(orderbys[i], v) == 0;
		if (!ok)
			json_object_set_new(bad, "orderby", json_string("orderby is "
			    "not one of date, id, include, title, slug, and "
			    "modified."));
		q->orderby = v;
	}
	if ((v = http_query(r, "dates_are_gmt")) != NULL) {
		if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "TRUE"))
			q->gmt = true;
		else if (strcmp(v, "false") && strcmp(v, "0") &&
		    strcmp(v, "FALSE") && *v != '\0')
			json_object_set_new(bad, "dates_are_gmt", json_string(
			    "dates_are_gmt is not of type boolean."));
	}
	if ((v = http_query(r, "customer")) != NULL) {
		q->customer = strtoll(v, &end, 10);
		q->has_customer = true;
		if (*v == '\0' || *end != '\0') {
			snprintf(msg, sizeof(msg), "customer is not of type "
			    "integer.");
			json_object_set_new(bad, "customer", json_string(msg));
		}
	}
	for (size_t i = 0; i < r->n_params; i++) {
		const struct http_param *p = &r->params[i];
		char *copy, *save = NULL, *t;

		if (strcmp(p->key, "status") != 0)
			continue;
		copy = util_xstrdup(p->value);
		for (t = strtok_r(copy, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			add_status(q, t, idx++, bad);
		free(copy);
	}
	if (idx == 0)
		add_status(q, "any", 0, bad);
	(void)date_arg(r, "after", q->gmt, f->store->utc_offset_s, &q->after,
	    &q->has_after, bad);
	(void)date_arg(r, "before", q->gmt, f->store->utc_offset_s, &q->before,
	    &q->has_before, bad);
	(void)date_arg(r, "modified_after", q->gmt, f->store->utc_offset_s,
	    &q->mafter, &q->has_mafter, bad);
	(void)date_arg(r, "modified_before", q->gmt, f->store->utc_offset_s,
	    &q->mbefore, &q->has_mbefore, bad);
	q->include = id_list(r, "include", &q->n_include);
	q->exclude = id_list(r, "exclude", &q->n_exclude);
	return json_object_size(bad) == 0;
}

static bool
matches(const struct list_query *q, const struct order *o)
{
	if (q->status_any) {
		/* 'any' leaves out trash and checkout-draft (exclude_from_search) */
		if (o->status == ST_TRASH || o->status == ST_CHECKOUT_DRAFT)
			if (!q->want[o->status])
				return false;
	} else if (!q->want[o->status]) {
		return false;
	}
	if (q->n_include && !in_list(q->include, q->n_include, o->id, NULL))
		return false;
	if (q->n_exclude && in_list(q->exclude, q->n_exclude, o->id, NULL))
		return false;
	if (q->has_customer && o->customer_id != q->customer)
		return false;
	if ((q->has_after && !(o->created > q->after)) ||
	    (q->has_before && !(o->created < q->before)) ||
	    (q->has_mafter && !(o->modified > q->mafter)) ||
	    (q->has_mbefore && !(o->modified < q->mbefore)))
		return false;
	return true;
}

static const struct list_query *sort_q;

static int
cmp_orders(const void *a, const void *b)
{
	const struct order *x = *(const struct order *const *)a;
	const struct order *y = *(const struct order *const *)b;
	const struct list_query *q = sort_q;
	int64_t kx = x->id, ky = y->id;
	int c;

	if (strcmp(q->orderby, "date") == 0) {
		kx = x->created;
		ky = y->created;
	} else if (strcmp(q->orderby, "modified") == 0) {
		kx = x->modified;
		ky = y->modified;
	} else if (strcmp(q->orderby, "include") == 0) {
		size_t px = 0, py = 0;

		(void)in_list(q->include, q->n_include, x->id, &px);
		(void)in_list(q->include, q->n_include, y->id, &py);
		/* post__in keeps the given order whatever "order" says */
		return px < py ? -1 : px > py;
	}
	c = kx < ky ? -1 : kx > ky ? 1 : x->id < y->id ? -1 : x->id > y->id;
	return q->asc ? c : -c;
}

/* add_query_arg( $request->get_query_params(), ... ) with page replaced. */
static void
link_header(struct fake *f, const struct http_req *r,
    const struct list_query *q, long max_pages, struct http_resp *resp)
{
	struct util_buf base = { 0 }, links = { 0 };
	bool seen_status = false, seen_page = false;
	long pages[2] = { q->page - 1, q->page + 1 };

	for (int which = 0; which < 2; which++) {
		long page = pages[which];

		if ((which == 0 && q->page <= 1) ||
		    (which == 1 && max_pages <= q->page))
			continue;
		if (which == 0 && page > max_pages)
			page = max_pages;
		util_buf_free(&base);
		util_buf_addf(&base, "%s/wp-json/wc/v3/orders?", f->store->site);
		seen_status = seen_page = false;
		for (size_t i = 0; i < r->n_params; i++) {
			const struct http_param *p = &r->params[i];

			if (strcmp(p->key, "status") == 0) {
				if (seen_status)
					continue;
				seen_status = true;
				for (size_t k = 0; k < json_array_size(
				    q->status_list); k++) {
					const char *s = json_string_value(
					    json_array_get(q->status_list, k));

					util_buf_addf(&base, "status%%5B%zu%%5D=", k);
					util_urlencode(&base, s, strlen(s));
					util_buf_adds(&base, "&");
				}
				continue;
			}
			if (strcmp(p->key, "page") == 0) {
				if (!seen_page)
					util_buf_addf(&base, "page=%ld&", page);
				seen_page = true;
				continue;
			}
			util_urlencode(&base, p->key, strlen(p->key));
			if (p->is_array)
				util_buf_addf(&base, "%%5B%s%%5D", p->sub);
			util_buf_adds(&base, "=");
			util_urlencode(&base, p->value, strlen(p->value));
			util_buf_adds(&base, "&");
		}
		if (!seen_status)
			util_buf_adds(&base, "status%5B0%5D=any&");
		if (http_query(r, "dp") == NULL)
			util_buf_adds(&base, "dp=2&");
		if (http_query(r, "context") == NULL)
			util_buf_adds(&base, "context=view&");
		if (!seen_page)
			util_buf_addf(&base, "page=%ld&", page);
		base.p[--base.len] = '\0';
		util_buf_addf(&links, "%s<%s>; rel=\"%s\"", links.len ? ", " : "",
		    base.p, which == 0 ? "prev" : "next");
	}
	if (links.len)
		http_resp_header(resp, "Link", links.p);
	util_buf_free(&base);
	util_buf_free(&links);
}

void
rest_orders_list(struct fake *f, struct http_req *r, struct http_resp *resp,
    size_t *n_items, bool validate_only)
{
	struct list_query q;
	json_t *bad = json_object(), *a;
	struct order **v = NULL;
	size_t n = 0, start;
	long max_pages;
	char num[32];

	if (!parse_query(f, r, &q, bad)) {
		http_resp_json(resp, 400, rest_orders_invalid_param(bad));
		goto out;
	}
	json_decref(bad);
	if (validate_only)
		goto out;
	a = json_array();
	pthread_mutex_lock(&f->store->lock);
	v = util_xmalloc((f->store->orders_cap + 1) * sizeof(*v));
	for (size_t id = 0; id < f->store->orders_cap; id++)
		if (f->store->orders[id] != NULL &&
		    matches(&q, f->store->orders[id]))
			v[n++] = f->store->orders[id];
	sort_q = &q;
	qsort(v, n, sizeof(*v), cmp_orders);
	start = q.has_offset ? (size_t)(q.offset > 0 ? q.offset : 0) :
	    (size_t)(q.page - 1) * (size_t)q.per_page;
	for (size_t i = start; i < n && i < start + (size_t)q.per_page; i++)
		json_array_append_new(a, shape_order(f->store, v[i]));
	pthread_mutex_unlock(&f->store->lock);
	max_pages = (long)((n + (size_t)q.per_page - 1) / (size_t)q.per_page);
	snprintf(num, sizeof(num), "%zu", n);
	http_resp_header(resp, "X-WP-Total", num);
	snprintf(num, sizeof(num), "%ld", max_pages);
	http_resp_header(resp, "X-WP-TotalPages", num);
	link_header(f, r, &q, max_pages, resp);
	if (n_items != NULL)
		*n_items = json_array_size(a);
	http_resp_json(resp, 200, a);
out:
	free(v);
	free(q.include);
	free(q.exclude);
	json_decref(q.status_list);
}

static json_t *
invalid_id(int status)
{
	return shape_error("woocommerce_rest_shop_order_invalid_id",
	    "Invalid ID.", status);
}

void
rest_orders_get(struct fake *f, int64_t id, struct http_resp *resp)
{
	struct order *o;
	json_t *j = NULL;

	pthread_mutex_lock(&f->store->lock);
	if ((o = store_order(f->store, id)) != NULL)
		j = shape_order(f->store, o);
	pthread_mutex_unlock(&f->store->lock);
	if (j == NULL)
		http_resp_json(resp, 404, invalid_id(404));
	else
		http_resp_json(resp, 200, j);
}

/* One update, as update_item() answers it: the order or a WP_Error. */
static json_t *
update_one(struct fake *f, int64_t id, const json_t *body,
    enum store_put_mode mode, struct hook_batch *hooks, int *status)
{
	enum store_put_rc rc;
	json_t *j = NULL;

	pthread_mutex_lock(&f->store->lock);
	rc = store_order_put(f->store, id, body, mode, hooks);
	if (rc == PUT_OK)
		j = shape_order(f->store, store_order(f->store, id));
	pthread_mutex_unlock(&f->store->lock);
	*status = rc == PUT_OK ? 200 : 400;
	switch (rc) {
	case PUT_OK:
		return j;
	case PUT_INVALID_ID:
		return invalid_id(400);
	case PUT_BAD_CUSTOMER:
		return shape_error("woocommerce_rest_invalid_customer_id",
		    "Customer ID is invalid.", 400);
	case PUT_BAD_STATUS:
		return rest_orders_invalid_param(json_pack("{s:s}", "status",
		    "status is not one of pending, processing, on-hold, "
		    "completed, cancelled, refunded, failed, and checkout-draft."));
	case PUT_BAD_META:
		return rest_orders_invalid_param(json_pack("{s:s}", "meta_data",
		    "meta_data is not of type array."));
	case PUT_BAD_EMAIL:
		return rest_orders_invalid_param(json_pack("{s:s}", "billing",
		    "billing[email] is not a valid email address."));
	}
	return invalid_id(400);
}

void
rest_orders_put(struct fake *f, int64_t id, const json_t *body,
    struct http_resp *resp)
{
	struct hook_batch hooks = { 0 };
	int status;
	json_t *j;

	j = update_one(f, id, json_is_object(body) ? body : NULL, PUT_MODE_REST,
	    &hooks, &status);
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	http_resp_json(resp, status, j);
}

static json_t *
create_one(struct fake *f, const json_t *body, struct hook_batch *hooks,
    int *status)
{
	const char *code, *msg;
	struct order *o;
	json_t *j;

	pthread_mutex_lock(&f->store->lock);
	o = spec_order_create(f->store, body, true, hooks, &code, &msg);
	j = o ? shape_order(f->store, o) : shape_error(code, msg, 400);
	pthread_mutex_unlock(&f->store->lock);
	*status = o ? 201 : 400;
	return j;
}

void
rest_orders_create(struct fake *f, const json_t *body, struct http_resp *resp)
{
	struct hook_batch hooks = { 0 };
	int status;
	json_t *j;

	if (json_integer_value(json_object_get(body, "id")) != 0) {
		http_resp_json(resp, 400, shape_error(
		    "woocommerce_rest_shop_order_exists",
		    "Cannot create existing shop_order.", 400));
		return;
	}
	j = create_one(f, body, &hooks, &status);
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	if (status == 201) {
		char loc[512];

		snprintf(loc, sizeof(loc), "%s/wp-json/wc/v3/orders/%lld",
		    f->store->site, (long long)json_integer_value(
		    json_object_get(j, "id")));
		http_resp_header(resp, "Location", loc);
	}
	http_resp_json(resp, status, j);
}

/* delete_item(): the order as it was, then trash it or delete it. */
static json_t *
delete_one(struct fake *f, int64_t id, bool force, struct hook_batch *hooks,
    int *status)
{
	struct order *o;
	json_t *j;

	pthread_mutex_lock(&f->store->lock);
	if ((o = store_order(f->store, id)) == NULL) {
		pthread_mutex_unlock(&f->store->lock);
		*status = 404;
		return invalid_id(404);
	}
	if (!force && o->status == ST_TRASH) {
		pthread_mutex_unlock(&f->store->lock);
		*status = 410;
		return shape_error("woocommerce_rest_already_trashed",
		    "The shop_order has already been deleted.", 410);
	}
	j = shape_order(f->store, o);
	if (force)
		store_order_delete(f->store, id);
	else
		(void)store_order_trash(f->store, o, hooks);
	pthread_mutex_unlock(&f->store->lock);
	*status = 200;
	return j;
}

void
rest_orders_delete(struct fake *f, struct http_req *r, int64_t id,
    struct http_resp *resp)
{
	const char *force = http_query(r, "force");
	struct hook_batch hooks = { 0 };
	int status;
	json_t *j;

	j = delete_one(f, id, force && (!strcmp(force, "true") ||
	    !strcmp(force, "1")), &hooks, &status);
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	http_resp_json(resp, status, j);
}

static json_t *
item_error(const json_t *id, json_t *err)
{
	json_t *j = json_pack("{s:O,s:{s:O,s:O,s:O}}", "id", id ? id :
	    json_null(), "error", "code", json_object_get(err, "code"),
	    "message", json_object_get(err, "message"), "data",
	    json_object_get(err, "data"));

	json_decref(err);
	return j;
}

void
rest_orders_batch(struct fake *f, const json_t *body, struct http_resp *resp,
    size_t *n_items)
{
	const json_t *create = json_object_get(body, "create");
	const json_t *update = json_object_get(body, "update");
	const json_t *del = json_object_get(body, "delete");
	struct hook_batch hooks = { 0 };
	json_t *out = json_object(), *arr, *it;
	size_t total = json_array_size(create) + json_array_size(update) +
	    json_array_size(del), i;
	int status;

	*n_items = total;
	if (total > 100) {
		json_decref(out);
		http_resp_json(resp, 413, shape_error(
		    "woocommerce_rest_request_entity_too_large",
		    "Unable to accept more than 100 items for this request.", 413));
		return;
	}
	if (json_array_size(create) > 0) {
		arr = json_array();
		json_array_foreach(create, i, it) {
			json_t *j = create_one(f, it, &hooks, &status);

			json_array_append_new(arr, status == 201 ? j :
			    item_error(NULL, j));
		}
		json_object_set_new(out, "create", arr);
	}
	if (json_array_size(update) > 0) {
		arr = json_array();
		json_array_foreach(update, i, it) {
			const json_t *idv = json_object_get(it, "id");
			int64_t id = json_is_integer(idv) ? json_integer_value(idv) :
			    json_is_string(idv) ? strtoll(json_string_value(idv),
			    NULL, 10) : 0;
			json_t *j = update_one(f, id, json_is_object(it) ? it :
			    NULL, PUT_MODE_BATCH, &hooks, &status);

			json_array_append_new(arr, status == 200 ? j :
			    item_error(idv, j));
		}
		json_object_set_new(out, "update", arr);
	}
	if (json_array_size(del) > 0) {
		arr = json_array();
		json_array_foreach(del, i, it) {
			int64_t id = json_is_integer(it) ? json_integer_value(it) :
			    json_is_string(it) ? strtoll(json_string_value(it),
			    NULL, 10) : 0;
			/* batch deletes are always forced */
			json_t *j = delete_one(f, id, true, &hooks, &status);

			json_array_append_new(arr, status == 200 ? j :
			    item_error(it, j));
		}
		json_object_set_new(out, "delete", arr);
	}
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	http_resp_json(resp, 200, out);
}
