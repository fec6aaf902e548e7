/* SPDX-License-Identifier: MIT */
/*
 * Webhooks as WooCommerce 8.4 keeps them (class-wc-webhook.php,
 * class-wc-webhook-data-store.php, wc-webhook-functions.php): the registry
 * and its REST-facing operations, and a FIFO standing in for Action
 * Scheduler: one delivery per webhook and resource a request
 * (WC_Webhook::$processed), and none added while one for the same webhook
 * and resource is still pending (wc_webhook_process_delivery). sender.c
 * delivers; saving an active webhook still pending delivery pings it.
 */
#include "hooks_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *topic;
	const char *hooks[4];
} topics[] = {
	{ "order.created", { "woocommerce_new_order" } },
	{ "order.updated", { "woocommerce_update_order",
	    "woocommerce_order_refunded" } },
	{ "order.deleted", { "wp_trash_post", "woocommerce_trash_order" } },
	{ "order.restored", { "untrashed_post", "woocommerce_untrash_order" } },
	{ "product.created", { "woocommerce_process_product_meta",
	    "woocommerce_new_product", "woocommerce_new_product_variation" } },
	{ "product.updated", { "woocommerce_process_product_meta",
	    "woocommerce_update_product",
	    "woocommerce_update_product_variation" } },
	{ "product.deleted", { "wp_trash_post" } },
	{ "product.restored", { "untrashed_post" } },
	{ "customer.created", { "user_register",
	    "woocommerce_created_customer", "woocommerce_new_customer" } },
	{ "customer.updated", { "profile_update",
	    "woocommerce_update_customer" } },
	{ "customer.deleted", { "delete_user" } },
	{ "coupon.created", { "woocommerce_process_shop_coupon_meta",
	    "woocommerce_new_coupon" } },
	{ "coupon.updated", { "woocommerce_process_shop_coupon_meta",
	    "woocommerce_update_coupon" } },
	{ "coupon.deleted", { "wp_trash_post" } },
	{ "coupon.restored", { "untrashed_post" } },
};

static bool
hooks_valid_topic(const char *t)
{
	if (t == NULL)
		return false;
	if (strncmp(t, "action.", 7) == 0)
		return t[7] != '\0';
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
		if (strcmp(topics[i].topic, t) == 0)
			return true;
	return false;
}

static bool
listens_to(const struct webhook *w, const char *hook)
{
	if (strncmp(w->topic, "action.", 7) == 0)
		return strcmp(w->topic + 7, hook) == 0;
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
		if (strcmp(topics[i].topic, w->topic) == 0)
			for (int j = 0; j < 4 && topics[i].hooks[j]; j++)
				if (strcmp(topics[i].hooks[j], hook) == 0)
					return true;
	return false;
}

static json_t *
hook_list(const char *topic)
{
	json_t *a = json_array();

	if (strncmp(topic, "action.", 7) == 0) {
		json_array_append_new(a, json_string(topic + 7));
		return a;
	}
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
		if (strcmp(topics[i].topic, topic) == 0)
			for (int j = 0; j < 4 && topics[i].hooks[j]; j++)
				json_array_append_new(a,
				    json_string(topics[i].hooks[j]));
	return a;
}

struct webhook *
hooks_find(struct hooks *h, int64_t id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->list[i].id == id)
			return &h->list[i];
	return NULL;
}

static json_t *
webhook_json(struct hooks *h, const struct webhook *w)
{
	char dc[20], dcg[20], dm[20], dmg[20], self[512], coll[512];
	const char *dot = strchr(w->topic, '.');
	char resource[64];
	json_t *j;

	snprintf(resource, sizeof(resource), "%.*s", (int)(dot - w->topic),
	    w->topic);
	shape_local_date(h->st, w->created, dc);
	util_fmt_date(w->created, dcg);
	shape_local_date(h->st, w->modified, dm);
	util_fmt_date(w->modified, dmg);
	snprintf(self, sizeof(self), "%s/wp-json/wc/v3/webhooks/%lld",
	    h->st->site, (long long)w->id);
	snprintf(coll, sizeof(coll), "%s/wp-json/wc/v3/webhooks", h->st->site);
	j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s}",
	    "id", (json_int_t)w->id, "name", w->name, "status", w->status,
	    "topic", w->topic, "resource", resource, "event", dot + 1,
	    "hooks", hook_list(w->topic), "delivery_url", w->url,
	    "date_created", dc, "date_created_gmt", dcg);
	json_object_set_new(j, "date_modified", w->modified ? json_string(dm) :
	    json_null());
	json_object_set_new(j, "date_modified_gmt", w->modified ?
	    json_string(dmg) : json_null());
	json_object_set_new(j, "_links", json_pack("{s:[{s:s}],s:[{s:s}]}",
	    "self", "href", self, "collection", "href", coll));
	return j;
}

struct hooks *
hooks_new(struct store *st, const struct hooks_config *cfg)
{
	struct hooks *h = util_xmalloc(sizeof(*h));

	memset(h, 0, sizeof(*h));
	h->st = st;
	h->cfg = *cfg;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->next_id = 1;
	h->stats = json_object();
	h->recent = json_array();
	return h;
}

void
hooks_count(struct hooks *h, const char *what, const char *topic)
{
	json_t *per = json_object_get(h->stats, what);

	if (per == NULL) {
		per = json_object();
		json_object_set_new(h->stats, what, per);
	}
	json_object_set_new(per, topic, json_integer(json_integer_value(
	    json_object_get(per, topic)) + 1));
}

bool
hooks_start(struct hooks *h)
{
	if (pthread_create(&h->thread, NULL, sender_main, h) != 0)
		return false;
	h->started = true;
	return true;
}

void
hooks_free(struct hooks *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->started)
		pthread_join(h->thread, NULL);
	while (h->head != NULL) {
		struct job *j = h->head;

		h->head = j->next;
		free(j);
	}
	for (size_t i = 0; i < h->n; i++) {
		free(h->list[i].name);
		free(h->list[i].status);
		free(h->list[i].topic);
		free(h->list[i].url);
		free(h->list[i].secret);
	}
	free(h->list);
	json_decref(h->stats);
	json_decref(h->recent);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static size_t
pending_bucket(int64_t webhook_id, int64_t arg)
{
	uint64_t k = (uint64_t)webhook_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)arg;

	return (size_t)((k * 0xBF58476D1CE4E5B9ull) >> 52) % PENDING_BUCKETS;
}

struct job *
hooks_pending_find(struct hooks *h, int64_t webhook_id, int64_t arg)
{
	struct job *j = h->pending[pending_bucket(webhook_id, arg)];

	while (j != NULL && (j->webhook_id != webhook_id || j->arg != arg))
		j = j->hnext;
	return j;
}

void
hooks_pending_add(struct hooks *h, struct job *j)
{
	struct job **b = &h->pending[pending_bucket(j->webhook_id, j->arg)];

	j->hnext = *b;
	*b = j;
}

void
hooks_pending_remove(struct hooks *h, struct job *j)
{
	struct job **p = &h->pending[pending_bucket(j->webhook_id, j->arg)];

	while (*p != NULL && *p != j)
		p = &(*p)->hnext;
	if (*p != NULL)
		*p = j->hnext;
}

void
hooks_dispatch(struct hooks *h, const struct hook_batch *b)
{
	/* WC_Webhook::$processed: one delivery per (webhook, arg) a request. */
	struct { int64_t w, arg; } *seen = NULL;
	size_t n_seen = 0;

	if (b->n == 0)
		return;
	pthread_mutex_lock(&h->lock);
	seen = util_xmalloc(b->n * (h->n + 1) * sizeof(*seen));
	for (size_t e = 0; e < b->n; e++) {
		for (size_t i = 0; i < h->n; i++) {
			struct webhook *w = &h->list[i];
			struct job *j;
			bool dup = false;

			if (strcmp(w->status, "active") != 0 ||
			    !listens_to(w, b->ev[e].hook))
				continue;
			for (size_t k = 0; k < n_seen && !dup; k++)
				dup = seen[k].w == w->id &&
				    seen[k].arg == b->ev[e].arg;
			if (dup)
				continue;
			seen[n_seen].w = w->id;
			seen[n_seen++].arg = b->ev[e].arg;
			/* wc_webhook_process_delivery: not if one is pending */
			j = h->cfg.coalesce ?
			    hooks_pending_find(h, w->id, b->ev[e].arg) : NULL;
			if (j != NULL) {
				h->coalesced++;
				continue;
			}
			j = util_xmalloc(sizeof(*j));
			j->webhook_id = w->id;
			j->arg = b->ev[e].arg;
			j->not_before_ms = util_now_ms() + h->cfg.delay_ms;
			j->next = NULL;
			hooks_pending_add(h, j);
			if (h->tail)
				h->tail->next = j;
			else
				h->head = j;
			h->tail = j;
			h->queued++;
		}
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	free(seen);
}

static bool
valid_url(const char *u)
{
	return u != NULL && (strncmp(u, "http://", 7) == 0 ||
	    strncmp(u, "https://", 8) == 0) && strlen(u) > 8;
}

static char *
random_secret(void)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZ0123456789!@#$%^&*()-_ []{}<>~`+=,.;:/?|";
	struct util_rng r;
	char *s = util_xmalloc(51);

	util_rng_seed(&r, (uint64_t)util_now_ms());
	for (int i = 0; i < 50; i++)
		s[i] = chars[util_rng_below(&r, sizeof(chars) - 1)];
	s[50] = '\0';
	return s;
}

json_t *
hooks_create(struct hooks *h, const char *name, const char *topic,
    const char *url, const char *secret, bool do_ping, int *http_status)
{
	struct webhook *w;
	json_t *j;
	int64_t id;

	if (!hooks_valid_topic(topic)) {
		*http_status = 400;
		return shape_error("woocommerce_rest_shop_webhook_invalid_topic",
		    "Webhook topic is required and must be valid.", 400);
	}
	if (!valid_url(url)) {
		*http_status = 400;
		return shape_error(
		    "woocommerce_rest_shop_webhook_invalid_delivery_url",
		    "Webhook delivery URL must be a valid URL starting with "
		    "http:// or https://.", 400);
	}
	pthread_mutex_lock(&h->lock);
	w = realloc(h->list, (h->n + 1) * sizeof(*w));
	if (w == NULL)
		abort();
	h->list = w;
	w = &h->list[h->n++];
	memset(w, 0, sizeof(*w));
	w->id = id = h->next_id++;
	w->name = util_xstrdup(name ? name : "Webhook");
	/* REST create_item always saves a new webhook as active. */
	w->status = util_xstrdup("active");
	w->topic = util_xstrdup(topic);
	w->url = util_xstrdup(url);
	w->secret = secret && *secret ? util_xstrdup(secret) : random_secret();
	w->created = util_now();
	/* Without a ping (the webhooks seeded at start-up) the webhook counts
	 * as verified long ago: no pending delivery left to ping about. */
	w->pending_delivery = do_ping;
	w->modified = do_ping ? 0 : w->created;
	j = webhook_json(h, w);
	pthread_mutex_unlock(&h->lock);
	if (do_ping)
		sender_ping(h, id);
	*http_status = 201;
	return j;
}

static int
cmp_created(const void *a, const void *b)
{
	const struct webhook *x = *(const struct webhook *const *)a;
	const struct webhook *y = *(const struct webhook *const *)b;

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

json_t *
hooks_list(struct hooks *h, const char *status, int page, int per_page,
    int *total)
{
	const struct webhook **v;
	json_t *a = json_array();
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	v = util_xmalloc((h->n + 1) * sizeof(*v));
	for (size_t i = 0; i < h->n; i++)
		if (status == NULL || strcmp(status, "all") == 0 ||
		    strcmp(h->list[i].status, status) == 0)
			v[n++] = &h->list[i];
	qsort(v, n, sizeof(*v), cmp_created);
	for (size_t i = (size_t)(page - 1) * (size_t)per_page;
	    i < n && i < (size_t)page * (size_t)per_page; i++)
		json_array_append_new(a, webhook_json(h, v[i]));
	*total = (int)n;
	pthread_mutex_unlock(&h->lock);
	free(v);
	return a;
}

json_t *
hooks_get(struct hooks *h, int64_t id)
{
	struct webhook *w;
	json_t *j = NULL;

	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, id)) != NULL)
		j = webhook_json(h, w);
	pthread_mutex_unlock(&h->lock);
	return j;
}

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = util_xstrdup(v);
}

json_t *
hooks_update(struct hooks *h, int64_t id, const json_t *body,
    int *http_status)
{
	const char *topic = json_string_value(json_object_get(body, "topic"));
	const char *url = json_string_value(json_object_get(body,
	    "delivery_url"));
	const char *secret = json_string_value(json_object_get(body, "secret"));
	const char *status = json_string_value(json_object_get(body, "status"));
	const char *name = json_string_value(json_object_get(body, "name"));
	struct webhook *w;
	bool trigger, need_ping;
	json_t *j;

	*http_status = 400;
	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, id)) == NULL) {
		pthread_mutex_unlock(&h->lock);
		return shape_error("woocommerce_rest_shop_webhook_invalid_id",
		    "ID is invalid.", 400);
	}
	if (topic && *topic && !hooks_valid_topic(topic)) {
		pthread_mutex_unlock(&h->lock);
		return shape_error("woocommerce_rest_shop_webhook_invalid_topic",
		    "Webhook topic must be valid.", 400);
	}
	if (url && *url && !valid_url(url)) {
		pthread_mutex_unlock(&h->lock);
		return shape_error(
		    "woocommerce_rest_shop_webhook_invalid_delivery_url",
		    "Webhook delivery URL must be a valid URL starting with "
		    "http:// or https://.", 400);
	}
	if (status && *status && strcmp(status, "active") &&
	    strcmp(status, "paused") && strcmp(status, "disabled")) {
		pthread_mutex_unlock(&h->lock);
		return shape_error("woocommerce_rest_shop_webhook_invalid_status",
		    "Webhook status must be valid.", 400);
	}
	if (topic && *topic)
		replace(&w->topic, topic);
	trigger = url && *url && strcmp(url, w->url) != 0;
	if (url && *url)
		replace(&w->url, url);
	if (secret && *secret)
		replace(&w->secret, secret);
	if (status && *status)
		replace(&w->status, status);
	if (name && *name)
		replace(&w->name, name);
	/* WC_Webhook_Data_Store::update pings an active webhook whose URL
	 * changed or whose last ping did not get a 200. */
	w->modified = util_now();
	need_ping = strcmp(w->status, "active") == 0 &&
	    (trigger || w->pending_delivery);
	pthread_mutex_unlock(&h->lock);
	if (need_ping)
		sender_ping(h, id);
	*http_status = 200;
	j = hooks_get(h, id);
	return j ? j : json_object();
}

json_t *
hooks_delete(struct hooks *h, int64_t id, int *http_status)
{
	struct webhook *w;
	json_t *j;

	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, id)) == NULL) {
		pthread_mutex_unlock(&h->lock);
		*http_status = 404;
		return shape_error("woocommerce_rest_shop_webhook_invalid_id",
		    "Invalid ID.", 404);
	}
	j = webhook_json(h, w);
	free(w->name);
	free(w->status);
	free(w->topic);
	free(w->url);
	free(w->secret);
	*w = h->list[--h->n];
	pthread_mutex_unlock(&h->lock);
	*http_status = 200;
	return j;
}

void
hooks_pause(struct hooks *h, bool count_failures)
{
	pthread_mutex_lock(&h->lock);
	h->paused = true;
	h->pause_fail = count_failures;
	pthread_mutex_unlock(&h->lock);
}

void
hooks_resume(struct hooks *h)
{
	pthread_mutex_lock(&h->lock);
	h->paused = false;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

bool
hooks_flush(struct hooks *h, int64_t timeout_ms)
{
	int64_t until = util_now_ms() + timeout_ms;
	bool done;

	pthread_mutex_lock(&h->lock);
	while (!(done = h->queued == 0 && h->inflight == 0) &&
	    util_now_ms() < until && !h->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return done;
}

json_t *
hooks_stats(struct hooks *h)
{
	json_t *j, *hooks = json_array();

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++)
		json_array_append_new(hooks, json_pack("{s:I,s:s,s:s,s:i,s:b}",
		    "id", (json_int_t)h->list[i].id, "topic", h->list[i].topic,
		    "status", h->list[i].status,
		    "failure_count", h->list[i].failure_count,
		    "pending_delivery", h->list[i].pending_delivery));
	j = json_pack("{s:O,s:I,s:{s:I,s:I},s:I,s:i,s:b,s:o}",
	    "topics", h->stats, "coalesced", (json_int_t)h->coalesced,
	    "pings", "sent", (json_int_t)h->pings, "ok", (json_int_t)h->pings_ok,
	    "queued", (json_int_t)h->queued, "in_flight", h->inflight,
	    "paused", h->paused, "webhooks", hooks);
	json_object_set_new(j, "topics", json_deep_copy(h->stats));
	pthread_mutex_unlock(&h->lock);
	return j;
}

json_t *
hooks_deliveries(struct hooks *h)
{
	json_t *j;

	pthread_mutex_lock(&h->lock);
	j = json_deep_copy(h->recent);
	pthread_mutex_unlock(&h->lock);
	return j;
}

void
hooks_stats_reset(struct hooks *h)
{
	pthread_mutex_lock(&h->lock);
	json_object_clear(h->stats);
	json_array_clear(h->recent);
	h->coalesced = h->pings = h->pings_ok = 0;
	pthread_mutex_unlock(&h->lock);
}
