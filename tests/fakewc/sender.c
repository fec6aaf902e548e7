/* SPDX-License-Identifier: MIT */
/*
 * Webhook delivery as WC_Webhook::deliver() does it: the payload built at
 * send time, HMAC-SHA256 signature, X-WC-Webhook-* headers, HTTP/1.0, no
 * redirects, a 60 s timeout, never a retry; 200..302 is success, anything
 * else a failure, and the 7th failure in a row disables the webhook. Also
 * the unsigned form-encoded ping (WC_Webhook::deliver_ping).
 */
#include "hooks_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* wp_safe_remote_request(): only ports 80, 443 and 8080 (opt-in here). */
static bool
safe_url(const char *url)
{
	const char *hp = strstr(url, "://"), *colon, *slash;
	long port;

	if (hp == NULL)
		return false;
	hp += 3;
	slash = strchr(hp, '/');
	colon = strchr(hp, ':');
	if (colon == NULL || (slash != NULL && colon > slash))
		return true;
	port = strtol(colon + 1, NULL, 10);
	return port == 80 || port == 443 || port == 8080;
}

/* Abort a transfer when fakewc is stopping (SIGTERM must not wait 60 s). */
static int
progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)u;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return util_stopping() ? 1 : 0;
}

/* POST body; returns the HTTP status, 0 when no response came back. */
static long
post(struct hooks *h, const char *url, struct curl_slist *hdrs,
    const char *body, long timeout_ms)
{
	CURL *c;
	long code = 0;

	if (h->cfg.safe_remote && !safe_url(url))
		return 0;
	if ((c = curl_easy_init()) == NULL)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "WooCommerce/"
	    FAKEWC_WC_VERSION " Hookshot (WordPress/" FAKEWC_WP_VERSION ")");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

/*
 * WC_Webhook::deliver_ping. Only an exact 200 clears pending_delivery, and
 * that save happens with the lock taken again here.
 */
void
sender_ping(struct hooks *h, int64_t id)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, body[48];
	struct webhook *w;
	long code = 0;
	bool paused;

	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, id)) != NULL)
		url = util_xstrdup(w->url);
	paused = h->paused;
	h->pings++;
	pthread_mutex_unlock(&h->lock);
	if (url == NULL)
		return;
	snprintf(body, sizeof(body), "webhook_id=%lld", (long long)id);
	hdrs = curl_slist_append(hdrs, "Accept-Encoding: deflate, gzip, br, zstd");
	hdrs = curl_slist_append(hdrs, "Connection: close");
	if (!paused)
		code = post(h, url, hdrs, body, PING_TIMEOUT_MS);
	curl_slist_free_all(hdrs);
	free(url);
	pthread_mutex_lock(&h->lock);
	if (code == 200 && (w = hooks_find(h, id)) != NULL) {
		h->pings_ok++;
		w->pending_delivery = false;
		w->modified = util_now();
	}
	pthread_mutex_unlock(&h->lock);
}

static char *
payload(struct hooks *h, const char *topic, int64_t arg)
{
	const char *dot = strchr(topic, '.');
	json_t *j;
	char *s;

	if (strncmp(topic, "action.", 7) == 0) {
		j = json_pack("{s:s,s:I}", "action", topic + 7, "arg",
		    (json_int_t)arg);
	} else if (strcmp(dot + 1, "deleted") == 0) {
		j = json_pack("{s:I}", "id", (json_int_t)arg);
	} else if (strncmp(topic, "order.", 6) == 0) {
		struct order *o;

		pthread_mutex_lock(&h->st->lock);
		o = store_order(h->st, arg);
		j = o ? shape_order(h->st, o) :
		    shape_error("woocommerce_rest_shop_order_invalid_id",
		    "Invalid ID.", 404);
		pthread_mutex_unlock(&h->st->lock);
	} else {
		j = json_object();
	}
	s = util_json_dump(j);
	json_decref(j);
	return s;
}

static void
deliver(struct hooks *h, struct job *job)
{
	struct curl_slist *hdrs = NULL;
	struct webhook *w, snap;
	char *body = NULL, line[512], sig[96], did[33], seed[48];
	const char *dot;
	int64_t started = util_now_ms();
	long code = 0;
	bool drop, paused, need_ping = false;

	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, job->webhook_id)) == NULL) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	snap = *w;
	snap.topic = util_xstrdup(w->topic);
	snap.url = util_xstrdup(w->url);
	snap.secret = util_xstrdup(w->secret);
	paused = h->paused;
	drop = paused && !h->pause_fail;
	hooks_count(h, drop ? "dropped" : "sent", snap.topic);
	pthread_mutex_unlock(&h->lock);
	if (drop)
		goto out;
	if (!paused) {
		body = payload(h, snap.topic, job->arg);
		dot = strchr(snap.topic, '.');
		snprintf(seed, sizeof(seed), "%lld%lld", (long long)snap.id,
		    (long long)util_now());
		util_md5_hex(seed, strlen(seed), did);
		(void)util_hmac_b64("sha256", snap.secret, strlen(snap.secret),
		    body, strlen(body), sig);
		hdrs = curl_slist_append(hdrs, "Accept-Encoding: deflate, gzip, "
		    "br, zstd");
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
#define HDR(...) (snprintf(line, sizeof(line), __VA_ARGS__), \
		    hdrs = curl_slist_append(hdrs, line))
		HDR("X-WC-Webhook-Source: %s/", h->st->site);
		HDR("X-WC-Webhook-Topic: %s", snap.topic);
		HDR("X-WC-Webhook-Resource: %.*s", (int)(dot - snap.topic),
		    snap.topic);
		HDR("X-WC-Webhook-Event: %s", dot + 1);
		HDR("X-WC-Webhook-Signature: %s", sig);
		HDR("X-WC-Webhook-ID: %lld", (long long)snap.id);
		HDR("X-WC-Webhook-Delivery-ID: %s", did);
#undef HDR
		hdrs = curl_slist_append(hdrs, "Connection: close");
		code = post(h, snap.url, hdrs, body, h->cfg.timeout_ms);
		curl_slist_free_all(hdrs);
	}
	pthread_mutex_lock(&h->lock);
	if ((w = hooks_find(h, job->webhook_id)) != NULL) {
		/* log_delivery: success is 200..302; else failed_delivery(). */
		if (code >= 200 && code < 303) {
			w->failure_count = 0;
			hooks_count(h, "delivered", snap.topic);
		} else {
			hooks_count(h, "failed", snap.topic);
			if (w->failure_count > MAX_FAILURES) {
				free(w->status);
				w->status = util_xstrdup("disabled");
			} else {
				w->failure_count++;
			}
		}
		w->modified = util_now();
		need_ping = strcmp(w->status, "active") == 0 &&
		    w->pending_delivery;
	}
	if (json_array_size(h->recent) >= RECENT_MAX)
		json_array_remove(h->recent, 0);
	json_array_append_new(h->recent, json_pack("{s:I,s:s,s:I,s:s,s:i,s:I}",
	    "webhook_id", (json_int_t)snap.id, "topic", snap.topic,
	    "arg", (json_int_t)job->arg, "delivery_id", body ? did : "",
	    "status", (int)code, "ms", (json_int_t)(util_now_ms() - started)));
	pthread_mutex_unlock(&h->lock);
	if (need_ping)
		sender_ping(h, snap.id);
out:
	free(body);
	free(snap.topic);
	free(snap.url);
	free(snap.secret);
}

void *
sender_main(void *arg)
{
	struct hooks *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct job *job = h->head;
		int64_t now = util_now_ms();

		if (job == NULL || job->not_before_ms > now) {
			struct timespec ts;
			int64_t wait = job ? job->not_before_ms - now : 1000;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			(void)pthread_cond_timedwait(&h->cond, &h->lock, &ts);
			continue;
		}
		h->head = job->next;
		if (h->head == NULL)
			h->tail = NULL;
		hooks_pending_remove(h, job);
		h->queued--;
		h->inflight++;
		pthread_mutex_unlock(&h->lock);
		deliver(h, job);
		free(job);
		pthread_mutex_lock(&h->lock);
		h->inflight--;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}
