/* SPDX-License-Identifier: MIT */
/*
 * The control API under /_fake: no authentication, JSON in and out, never
 * counted in the REST statistics and never held by the PHP worker pool or
 * the latency model. It does what an admin (or a shopper) would do in
 * wp-admin, so each change fires the webhooks WooCommerce fires for it.
 */
#include "fakewc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
reply(struct http_resp *resp, int status, json_t *j)
{
	http_resp_json(resp, status, j);
}

static void
fail(struct http_resp *resp, int status, const char *msg)
{
	reply(resp, status, json_pack("{s:s}", "error", msg));
}

static json_t *
order_json(struct fake *f, int64_t id)
{
	struct order *o;
	json_t *j = NULL;

	pthread_mutex_lock(&f->store->lock);
	if ((o = store_order(f->store, id)) != NULL)
		j = shape_order(f->store, o);
	pthread_mutex_unlock(&f->store->lock);
	return j;
}

/* Append s without the site URL (as JSON escapes it): the port differs
 * between two runs of the same seed. */
static void
add_siteless(struct util_buf *all, const char *s, const char *esc_site)
{
	size_t n = strlen(esc_site);
	const char *hit;

	while ((hit = strstr(s, esc_site)) != NULL) {
		util_buf_add(all, s, (size_t)(hit - s));
		s = hit + n;
	}
	util_buf_adds(all, s);
}

static void
digest(struct fake *f, char out[65], size_t *count)
{
	struct util_buf all = { 0 }, esc = { 0 };

	for (const char *c = f->store->site; *c; c++)
		util_buf_adds(&esc, *c == '/' ? "\\/" : (char[2]){ *c, 0 });
	*count = 0;
	pthread_mutex_lock(&f->store->lock);
	for (size_t id = 0; id < f->store->orders_cap; id++) {
		struct order *o = f->store->orders[id];
		json_t *j;
		char *s;

		if (o == NULL)
			continue;
		j = shape_order(f->store, o);
		s = util_json_dump(j);
		add_siteless(&all, s, esc.p);
		util_buf_adds(&all, "\n");
		free(s);
		json_decref(j);
		(*count)++;
	}
	pthread_mutex_unlock(&f->store->lock);
	util_sha256_hex(all.p ? all.p : "", all.len, out);
	util_buf_free(&all);
	util_buf_free(&esc);
}

static void
orders_create(struct fake *f, const json_t *body, struct http_resp *resp)
{
	struct hook_batch hooks = { 0 };
	const char *code, *msg;
	struct order *o;
	json_t *j = NULL;

	pthread_mutex_lock(&f->store->lock);
	o = spec_order_create(f->store, body, false, &hooks, &code, &msg);
	if (o != NULL)
		j = shape_order(f->store, o);
	pthread_mutex_unlock(&f->store->lock);
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	if (j == NULL)
		reply(resp, 400, json_pack("{s:s,s:s}", "error", msg, "code",
		    code));
	else
		reply(resp, 201, j);
}

/* POST /orders/{id}/{action}: trash, untrash, refunds, payment_complete */
static void
order_action(struct fake *f, int64_t id, const char *action,
    const json_t *body, struct http_resp *resp)
{
	struct hook_batch hooks = { 0 };
	struct order *o;
	bool ok = false, known = true;
	int64_t amount = 0;
	const char *a = json_string_value(json_object_get(body, "amount"));

	if (strcmp(action, "refunds") == 0 && a != NULL &&
	    !util_parse_money(a, &amount)) {
		fail(resp, 400, "amount must be a decimal string like \"12.00\"");
		return;
	}
	pthread_mutex_lock(&f->store->lock);
	if ((o = store_order(f->store, id)) == NULL) {
		pthread_mutex_unlock(&f->store->lock);
		fail(resp, 404, "no such order");
		return;
	}
	if (strcmp(action, "trash") == 0)
		ok = store_order_trash(f->store, o, &hooks);
	else if (strcmp(action, "untrash") == 0)
		ok = store_order_untrash(f->store, o, &hooks);
	else if (strcmp(action, "refunds") == 0)
		ok = store_refund(f->store, o, amount, json_string_value(
		    json_object_get(body, "reason")), &hooks);
	else if (strcmp(action, "payment_complete") == 0) {
		store_payment_complete(f->store, o, &hooks);
		ok = hooks.n > 0;
		if (ok)
			hook_batch_add(&hooks, "woocommerce_update_order", id);
	} else
		known = false;
	pthread_mutex_unlock(&f->store->lock);
	hooks_dispatch(f->hooks, &hooks);
	hook_batch_free(&hooks);
	if (!known)
		fail(resp, 404, "unknown order action");
	else if (!ok)
		fail(resp, 409, "not possible in the order's current state");
	else
		reply(resp, strcmp(action, "refunds") == 0 ? 201 : 200,
		    order_json(f, id));
}

static void
orders_route(struct fake *f, struct http_req *r, const char *rest,
    const json_t *body, struct http_resp *resp)
{
	struct hook_batch hooks = { 0 };
	char *end;
	int64_t id;
	json_t *j;

	if (*rest == '\0') {
		if (strcmp(r->method, "POST") == 0)
			orders_create(f, body, resp);
		else
			fail(resp, 405, "POST a spec to create an order");
		return;
	}
	id = strtoll(rest + 1, &end, 10);
	if (*end == '/') {
		if (strcmp(r->method, "POST") == 0)
			order_action(f, id, end + 1, body, resp);
		else
			fail(resp, 405, "order actions are POSTed");
		return;
	}
	if (strcmp(r->method, "GET") == 0) {
		if ((j = order_json(f, id)) == NULL)
			fail(resp, 404, "no such order");
		else
			reply(resp, 200, j);
	} else if (strcmp(r->method, "DELETE") == 0) {
		/* A permanent delete: WooCommerce sends no webhook at all. */
		pthread_mutex_lock(&f->store->lock);
		j = store_order(f->store, id) ? json_true() : NULL;
		store_order_delete(f->store, id);
		pthread_mutex_unlock(&f->store->lock);
		if (j == NULL)
			fail(resp, 404, "no such order");
		else
			reply(resp, 200, json_pack("{s:b,s:I}", "deleted", 1, "id",
			    (json_int_t)id));
	} else {
		enum store_put_rc rc;

		pthread_mutex_lock(&f->store->lock);
		rc = store_order_put(f->store, id, body, PUT_MODE_CONTROL,
		    &hooks);
		pthread_mutex_unlock(&f->store->lock);
		hooks_dispatch(f->hooks, &hooks);
		hook_batch_free(&hooks);
		if (rc == PUT_INVALID_ID)
			fail(resp, 404, "no such order");
		else if (rc != PUT_OK)
			fail(resp, 400, "invalid status, customer or meta_data");
		else
			reply(resp, 200, order_json(f, id));
	}
}

static json_t *
stats(struct fake *f)
{
	json_t *mw = json_object(), *ow = json_object(), *twice = json_array();
	json_t *j;
	char k[24];

	pthread_mutex_lock(&f->store->lock);
	for (size_t id = 0; id < f->store->orders_cap; id++) {
		snprintf(k, sizeof(k), "%zu", id);
		if (f->store->meta_writes[id] > 0)
			json_object_set_new(mw, k,
			    json_integer(f->store->meta_writes[id]));
		if (f->store->order_writes[id] > 0)
			json_object_set_new(ow, k,
			    json_integer(f->store->order_writes[id]));
		if (f->store->meta_writes[id] > 1)
			json_array_append_new(twice, json_integer((json_int_t)id));
	}
	pthread_mutex_unlock(&f->store->lock);
	j = faults_stats(f->faults);
	json_object_set_new(j, "webhooks", hooks_stats(f->hooks));
	json_object_set_new(j, "meta_writes", mw);
	json_object_set_new(j, "order_writes", ow);
	json_object_set_new(j, "meta_written_twice", twice);
	return j;
}

static void
reseed(struct fake *f, const json_t *body, struct http_resp *resp)
{
	const json_t *v;
	char sum[65];
	size_t n;

	if ((v = json_object_get(body, "seed")) != NULL)
		f->gen.seed = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(body, "orders")) != NULL)
		f->gen.orders = (int)json_integer_value(v);
	if ((v = json_object_get(body, "customers")) != NULL)
		f->gen.customers = (int)json_integer_value(v);
	if (f->gen.orders < 0 || f->gen.customers < 0) {
		fail(resp, 400, "orders and customers must be >= 0");
		return;
	}
	pthread_mutex_lock(&f->store->lock);
	gen_populate(f->store, &f->gen);
	pthread_mutex_unlock(&f->store->lock);
	digest(f, sum, &n);
	reply(resp, 200, json_pack("{s:I,s:s}", "orders", (json_int_t)n,
	    "sha256", sum));
}

static void
webhooks_route(struct fake *f, struct http_req *r, const char *what,
    const json_t *body, struct http_resp *resp)
{
	const json_t *t = json_object_get(body, "timeout_ms");
	int total;

	if (strcmp(what, "") == 0 && strcmp(r->method, "GET") == 0) {
		reply(resp, 200, hooks_list(f->hooks, "all", 1, 1000, &total));
	} else if (strcmp(what, "/deliveries") == 0) {
		reply(resp, 200, hooks_deliveries(f->hooks));
	} else if (strcmp(what, "/pause") == 0) {
		const char *mode = json_string_value(json_object_get(body, "mode"));

		hooks_pause(f->hooks, mode != NULL && strcmp(mode, "fail") == 0);
		reply(resp, 200, json_pack("{s:b}", "paused", 1));
	} else if (strcmp(what, "/resume") == 0) {
		hooks_resume(f->hooks);
		reply(resp, 200, json_pack("{s:b}", "paused", 0));
	} else if (strcmp(what, "/flush") == 0) {
		bool done = hooks_flush(f->hooks, t ? json_integer_value(t) :
		    30000);

		reply(resp, done ? 200 : 504, json_pack("{s:b}", "flushed", done));
	} else {
		fail(resp, 404, "unknown webhooks control route");
	}
}

void
control_handle(struct fake *f, struct http_req *r, const char *path,
    struct http_resp *resp)
{
	json_t *body = NULL;
	json_error_t jerr;
	const char *err;
	char sum[65];
	size_t n;

	if (r->body.len > 0 &&
	    (body = json_loadb(r->body.p, r->body.len, 0, &jerr)) == NULL) {
		fail(resp, 400, "the body is not JSON");
		return;
	}
	if (body == NULL)
		body = json_object();
	if (strcmp(path, "/health") == 0) {
		reply(resp, 200, json_pack("{s:b,s:s}", "ok", 1, "site",
		    f->store->site));
	} else if (strncmp(path, "/orders", 7) == 0 &&
	    (path[7] == '\0' || path[7] == '/')) {
		orders_route(f, r, path + 7, body, resp);
	} else if (strcmp(path, "/faults") == 0) {
		if (strcmp(r->method, "DELETE") == 0) {
			faults_clear(f->faults);
			reply(resp, 200, json_pack("{s:b}", "cleared", 1));
		} else if (strcmp(r->method, "POST") == 0) {
			if (faults_add(f->faults, body, &err))
				reply(resp, 201, faults_list(f->faults));
			else
				fail(resp, 400, err);
		} else {
			reply(resp, 200, faults_list(f->faults));
		}
	} else if (strcmp(path, "/stats") == 0) {
		reply(resp, 200, stats(f));
	} else if (strcmp(path, "/stats/reset") == 0) {
		faults_stats_reset(f->faults);
		hooks_stats_reset(f->hooks);
		pthread_mutex_lock(&f->store->lock);
		for (size_t id = 0; id < f->store->orders_cap; id++)
			f->store->meta_writes[id] = f->store->order_writes[id] = 0;
		pthread_mutex_unlock(&f->store->lock);
		reply(resp, 200, json_pack("{s:b}", "reset", 1));
	} else if (strncmp(path, "/webhooks", 9) == 0) {
		webhooks_route(f, r, path + 9, body, resp);
	} else if (strcmp(path, "/reseed") == 0) {
		reseed(f, body, resp);
	} else if (strcmp(path, "/digest") == 0) {
		digest(f, sum, &n);
		reply(resp, 200, json_pack("{s:I,s:s}", "orders", (json_int_t)n,
		    "sha256", sum));
	} else if (strcmp(path, "/customers") == 0) {
		json_t *a = json_array();

		pthread_mutex_lock(&f->store->lock);
		for (size_t i = 0; i < f->store->n_customers; i++) {
			const struct customer *c = &f->store->customers[i];

			json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s}",
			    "id", (json_int_t)c->id, "email", c->email,
			    "first_name", c->first, "last_name", c->last));
		}
		pthread_mutex_unlock(&f->store->lock);
		reply(resp, 200, a);
	} else {
		fail(resp, 404, "unknown control route");
	}
	json_decref(body);
}
