/* SPDX-License-Identifier: MIT */
/*
 * What can go wrong with a store, on demand: faults matched by endpoint
 * class for the next N requests or for T milliseconds; the PHP-FPM worker
 * pool (a counting semaphore: at most --workers requests are served at
 * once); the woo84 latency model calibrated on a 2-core WooCommerce 8.4
 * store; and the per-class request counters tests read back.
 */
#include "fakewc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fault {
	int id;
	int cls;		/* enum fault_class, or FC_ANY */
	struct fault_hit hit;
	int64_t remaining;	/* uses left; -1 = unlimited */
	int64_t until_ms;	/* monotonic deadline; 0 = none */
	int64_t used;
};

struct faults {
	pthread_mutex_t lock;	/* guards every field below */
	struct fault *list;
	size_t n;
	int next_id;
	pthread_cond_t worker_cond;
	int workers, busy;
	enum latency_model model;
	double scale;
	json_t *stats;		/* {class: {status: count}} */
	int64_t total;
};

const char *const faults_class_names[FC__COUNT] = {
	"get_order", "list_orders", "put_order", "create_order", "delete_order",
	"batch", "products", "webhooks", "settings", "other",
};

struct faults *
faults_new(int workers, enum latency_model model, double scale)
{
	struct faults *f = util_xmalloc(sizeof(*f));

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->worker_cond, NULL);
	f->workers = workers > 0 ? workers : 1;
	f->model = model;
	f->scale = scale;
	f->stats = json_object();
	f->next_id = 1;
	return f;
}

void
faults_free(struct faults *f)
{
	if (f == NULL)
		return;
	free(f->list);
	json_decref(f->stats);
	pthread_cond_destroy(&f->worker_cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int
parse_class(const char *name)
{
	if (name == NULL || strcmp(name, "any") == 0)
		return FC_ANY;
	for (int i = 0; i < FC__COUNT; i++)
		if (strcmp(faults_class_names[i], name) == 0)
			return i;
	return -1;
}

static const char *const type_names[] = { "none", "latency", "status",
	"rate_limit", "timeout", "drop", "auth" };

static bool
parse_one(const json_t *spec, struct fault *out, const char **err)
{
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *cls = json_string_value(json_object_get(spec, "endpoint"));
	const json_t *count = json_object_get(spec, "count");
	const json_t *dur = json_object_get(spec, "duration_ms");
	const json_t *ms = json_object_get(spec, "ms");
	const json_t *st = json_object_get(spec, "status");
	const json_t *ra = json_object_get(spec, "retry_after");

	memset(out, 0, sizeof(*out));
	if (cls == NULL)
		cls = json_string_value(json_object_get(spec, "class"));
	if ((out->cls = parse_class(cls)) < 0) {
		*err = "unknown endpoint class";
		return false;
	}
	out->hit.type = FT_NONE;
	for (size_t i = 1; type != NULL && i < sizeof(type_names) /
	    sizeof(*type_names); i++)
		if (strcmp(type, type_names[i]) == 0)
			out->hit.type = (enum fault_type)i;
	if (type != NULL && (strcmp(type, "429") == 0 ||
	    strcmp(type, "rate-limit") == 0))
		out->hit.type = FT_RATE_LIMIT;
	if (out->hit.type == FT_NONE) {
		*err = "type must be latency, status, rate_limit, timeout, drop "
		    "or auth";
		return false;
	}
	out->hit.status = st ? (int)json_integer_value(st) :
	    out->hit.type == FT_TIMEOUT ? 504 : 500;
	if (out->hit.type == FT_STATUS && out->hit.status == 429)
		out->hit.type = FT_RATE_LIMIT;
	if (out->hit.type == FT_RATE_LIMIT)
		out->hit.status = 429;
	if (out->hit.status < 400 || out->hit.status > 599) {
		*err = "status must be 4xx or 5xx";
		return false;
	}
	out->hit.retry_after = ra ? (int)json_integer_value(ra) :
	    out->hit.type == FT_RATE_LIMIT ? 1 : -1;
	out->hit.ms = ms ? json_integer_value(ms) :
	    out->hit.type == FT_LATENCY ? 1000 :
	    out->hit.type == FT_TIMEOUT ? 120000 : 0;
	out->remaining = count ? json_integer_value(count) : -1;
	out->until_ms = dur ? util_now_ms() + json_integer_value(dur) : 0;
	if ((count && out->remaining <= 0) || out->hit.ms < 0) {
		*err = "count and ms must be positive";
		return false;
	}
	return true;
}

bool
faults_add(struct faults *f, const json_t *spec, const char **err)
{
	const json_t *one;
	size_t i, n = json_is_array(spec) ? json_array_size(spec) : 1;
	struct fault *parsed = util_xmalloc(n * sizeof(*parsed));

	for (i = 0; i < n; i++) {
		one = json_is_array(spec) ? json_array_get(spec, i) : spec;
		if (!json_is_object(one)) {
			*err = "a fault is a JSON object";
			free(parsed);
			return false;
		}
		if (!parse_one(one, &parsed[i], err)) {
			free(parsed);
			return false;
		}
	}
	pthread_mutex_lock(&f->lock);
	f->list = realloc(f->list, (f->n + n) * sizeof(*f->list));
	if (f->list == NULL)
		abort();
	for (i = 0; i < n; i++) {
		parsed[i].id = f->next_id++;
		f->list[f->n++] = parsed[i];
	}
	pthread_mutex_unlock(&f->lock);
	free(parsed);
	return true;
}

void
faults_clear(struct faults *f)
{
	pthread_mutex_lock(&f->lock);
	f->n = 0;
	pthread_mutex_unlock(&f->lock);
}

static void
expire(struct faults *f, int64_t now)
{
	size_t o = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->list[i].remaining != 0 &&
		    (f->list[i].until_ms == 0 || f->list[i].until_ms > now))
			f->list[o++] = f->list[i];
	f->n = o;
}

json_t *
faults_list(struct faults *f)
{
	json_t *a = json_array();

	pthread_mutex_lock(&f->lock);
	expire(f, util_now_ms());
	for (size_t i = 0; i < f->n; i++) {
		const struct fault *x = &f->list[i];

		json_array_append_new(a, json_pack("{s:i,s:s,s:s,s:I,s:i,s:i,"
		    "s:I,s:I}", "id", x->id, "endpoint", x->cls == FC_ANY ? "any" :
		    faults_class_names[x->cls], "type", type_names[x->hit.type],
		    "ms", (json_int_t)x->hit.ms, "status", x->hit.status,
		    "retry_after", x->hit.retry_after,
		    "remaining", (json_int_t)x->remaining,
		    "used", (json_int_t)x->used));
	}
	pthread_mutex_unlock(&f->lock);
	return a;
}

void
faults_take(struct faults *f, enum fault_class c, struct fault_hit *hit)
{
	memset(hit, 0, sizeof(*hit));
	hit->type = FT_NONE;
	pthread_mutex_lock(&f->lock);
	expire(f, util_now_ms());
	for (size_t i = 0; i < f->n; i++) {
		struct fault *x = &f->list[i];

		if (x->cls != FC_ANY && x->cls != (int)c)
			continue;
		*hit = x->hit;
		x->used++;
		if (x->remaining > 0)
			x->remaining--;
		break;
	}
	expire(f, util_now_ms());
	pthread_mutex_unlock(&f->lock);
}

bool
faults_worker_acquire(struct faults *f)
{
	bool ok = true;

	pthread_mutex_lock(&f->lock);
	while (f->busy >= f->workers) {
		struct timespec ts;

		if (util_stopping()) {
			ok = false;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&f->worker_cond, &f->lock, &ts);
	}
	if (ok)
		f->busy++;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void
faults_worker_release(struct faults *f)
{
	pthread_mutex_lock(&f->lock);
	f->busy--;
	pthread_cond_signal(&f->worker_cond);
	pthread_mutex_unlock(&f->lock);
}

/*
 * woo84: measured on WooCommerce 8.4 / PHP 8.2 / MariaDB on 2 cores, HPOS
 * on. A GET of one order ~100 ms, a page of n orders ~50 ms + 5.5 ms each
 * (600 ms for 100), a PUT ~130 ms, a batch ~27 ms per item (2.7 s for 100).
 */
int64_t
faults_service_ms(const struct faults *f, enum fault_class c,
    int method_is_get, size_t n_items, bool auth_failed)
{
	double ms;

	if (f->model == LAT_NONE)
		return 0;
	if (auth_failed) {
		ms = 40;
	} else {
		switch (c) {
		case FC_GET_ORDER:
			ms = 100;
			break;
		case FC_LIST_ORDERS:
			ms = 50 + 5.5 * (double)n_items;
			break;
		case FC_PUT_ORDER:
			ms = 130;
			break;
		case FC_CREATE_ORDER:
			ms = 250;
			break;
		case FC_DELETE_ORDER:
			ms = 150;
			break;
		case FC_BATCH:
			ms = 50 + 27 * (double)n_items;
			break;
		case FC_PRODUCTS:
			ms = 60 + 3 * (double)n_items;
			break;
		default:
			ms = method_is_get ? 60 : 120;
			break;
		}
	}
	return (int64_t)(ms * f->scale + 0.5);
}

static void
bump(struct faults *f, enum fault_class c, const char *what)
{
	const char *cls = faults_class_names[c];
	json_t *per = json_object_get(f->stats, cls);

	if (per == NULL) {
		per = json_object();
		json_object_set_new(f->stats, cls, per);
	}
	json_object_set_new(per, what, json_integer(json_integer_value(
	    json_object_get(per, what)) + 1));
	f->total++;
}

void
faults_count(struct faults *f, enum fault_class c, int status)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", status);
	pthread_mutex_lock(&f->lock);
	bump(f, c, s);
	pthread_mutex_unlock(&f->lock);
}

void
faults_count_drop(struct faults *f, enum fault_class c)
{
	pthread_mutex_lock(&f->lock);
	bump(f, c, "dropped");
	pthread_mutex_unlock(&f->lock);
}

json_t *
faults_stats(struct faults *f)
{
	json_t *j;

	pthread_mutex_lock(&f->lock);
	j = json_pack("{s:O,s:I,s:i}", "requests", f->stats, "requests_total",
	    (json_int_t)f->total, "workers_busy", f->busy);
	json_object_set_new(j, "requests", json_deep_copy(f->stats));
	pthread_mutex_unlock(&f->lock);
	return j;
}

void
faults_stats_reset(struct faults *f)
{
	pthread_mutex_lock(&f->lock);
	json_object_clear(f->stats);
	f->total = 0;
	pthread_mutex_unlock(&f->lock);
}
