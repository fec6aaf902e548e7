/* SPDX-License-Identifier: MIT */
/*
 * WooCommerce REST v3 over libcurl: one multi handle per client, easy
 * handles pooled, every CURLcode and HTTP status translated to enum ts_rc
 * here and nowhere else. Signing lives in oauth1.c; what the bodies mean is
 * wc_order.c's and sync.c's business. No logging: callers log once.
 *
 * Life of a call: start_xfer() builds the URL (signed when OAuth1), takes
 * an easy handle and adds it to the multi handle; drive() runs curl and
 * moves every finished transfer through complete() onto the done queue;
 * wc_client_wait (or wc_client_perform, for its own call) takes it off.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "tracksies/oauth1.h"
#include "tracksies/wc_client.h"

#ifndef TS_VERSION
#define TS_VERSION "unknown"
#endif

#define API_PREFIX "/wp-json/wc/v3"
#define BODY_CAP ((size_t)64 << 20)	/* largest response body we hold */
#define CONNECT_TIMEOUT_MAX_MS 10000L
#define RETRY_AFTER_MAX_S 86400L	/* a store asking for more gets a day */

static const char *const verbs[] = {
	[WC_GET] = "GET", [WC_POST] = "POST", [WC_PUT] = "PUT",
	[WC_DELETE] = "DELETE",
};

struct xfer {
	struct wc_client *wc;
	struct wc_call *call;
	CURL *easy;			/* NULL once complete */
	char *url;			/* may carry ck and signature: wiped */
	char *req_body;
	char *buf;			/* response body */
	size_t len, cap;
	bool toobig, oom, done;
	long total, total_pages, retry_after_s;
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *prev, *next;	/* wc->active, while running */
	struct xfer *done_next;		/* wc->done_head, once complete */
};

struct wc_client {
	CURLM *multi;
	char *api_base;			/* base_url, no trailing '/', + API_PREFIX */
	bool oauth1;
	const char *ck, *cs;		/* borrowed from the options */
	char *ca_file;
	long timeout_ms, connect_timeout_ms;
	int max_in_flight;
	struct curl_slist *hdr_plain, *hdr_json;
	CURL **pool;			/* idle easy handles */
	int n_pool;
	struct xfer *active;
	struct xfer *done_head, *done_tail;
	int in_flight;			/* running + complete, not yet returned */
	struct wc_client_stats stats;
};

/* A growable string for paths and queries; failed stays failed. */
struct str {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
str_add(struct str *s, const char *t, size_t n)
{
	char *np;
	size_t ncap;

	if (s->oom)
		return;
	if (s->len + n + 1 > s->cap) {
		ncap = s->cap ? s->cap : 64;
		while (ncap < s->len + n + 1)
			ncap *= 2;
		if ((np = realloc(s->p, ncap)) == NULL) {
			s->oom = true;
			return;
		}
		s->p = np;
		s->cap = ncap;
	}
	memcpy(s->p + s->len, t, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
str_cat(struct str *s, const char *t)
{
	str_add(s, t, strlen(t));
}

/* Append "&key=enc(value)" ('?' first); a NULL value is left out. */
static void
str_param(struct str *s, const char *key, const char *value)
{
	char *enc = NULL;

	if (value == NULL || s->oom)
		return;
	if (oauth1_encode(value, strlen(value), &enc) != TS_OK) {
		s->oom = true;
		return;
	}
	str_cat(s, memchr(s->p, '?', s->len) != NULL ? "&" : "?");
	str_cat(s, key);
	str_add(s, "=", 1);
	str_cat(s, enc);
	free(enc);
}

static char *
str_take(struct str *s)
{
	char *p;

	if (s->oom) {
		free(s->p);
		return NULL;
	}
	p = s->p;
	s->p = NULL;
	return p;
}

static long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
wipe_free(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

/* ---- calls ------------------------------------------------------------ */

static void
call_reset_result(struct wc_call *call)
{
	call->rc = TS_OK;
	call->status = 0;
	json_decref(call->response);
	call->response = NULL;
	call->total = -1;
	call->total_pages = -1;
	call->retry_after_s = 0;
	call->error_code[0] = '\0';
	call->error_message[0] = '\0';
}

struct wc_call *
wc_call_new(enum wc_method method, const char *path, json_t *body_stolen)
{
	struct wc_call *call;

	if ((call = calloc(1, sizeof(*call))) == NULL ||
	    (call->path = strdup(path)) == NULL) {
		free(call);
		json_decref(body_stolen);
		return NULL;
	}
	call->method = method;
	call->body = body_stolen;
	call->total = -1;
	call->total_pages = -1;
	return call;
}

static struct wc_call *
call_from(enum wc_method method, struct str *path, json_t *body_stolen)
{
	struct wc_call *call;
	char *p;

	if ((p = str_take(path)) == NULL) {
		json_decref(body_stolen);
		return NULL;
	}
	call = wc_call_new(method, p, body_stolen);
	free(p);
	return call;
}

struct wc_call *
wc_call_get_order(int64_t order_id)
{
	char path[48];

	(void)snprintf(path, sizeof(path), "/orders/%" PRId64, order_id);
	return wc_call_new(WC_GET, path, NULL);
}

/*
 * "include=a,b,..." (commas sent as %2C). n == 0 sends include=0, which
 * matches no order: an empty include would list every order instead.
 */
static void
str_include(struct str *s, const int64_t *ids, size_t n)
{
	char num[24];
	size_t i;

	str_cat(s, "?include=");
	if (n == 0)
		str_cat(s, "0");
	for (i = 0; i < n; i++) {
		(void)snprintf(num, sizeof(num), "%s%" PRId64, i ? "%2C" : "",
		    ids[i]);
		str_cat(s, num);
	}
}

/*
 * per_page=100 with n <= 100 puts every match on page 1, so the order of
 * the result does not matter and no orderby is sent: orderby=include is in
 * the collection enum, but the CRUD controller passes it on unmapped and
 * only the HPOS query honours it.
 */
struct wc_call *
wc_call_get_orders(const int64_t *ids, size_t n)
{
	struct str s = { 0 };

	assert(n <= 100);
	str_cat(&s, "/orders");
	str_include(&s, ids, n);
	str_cat(&s, "&per_page=100&status=any");
	return call_from(WC_GET, &s, NULL);
}

struct wc_call *
wc_call_get_products(const int64_t *ids, size_t n)
{
	struct str s = { 0 };

	assert(n <= 100);
	str_cat(&s, "/products");
	str_include(&s, ids, n);
	str_cat(&s, "&per_page=100");
	return call_from(WC_GET, &s, NULL);
}

struct wc_call *
wc_call_put_order(int64_t order_id, json_t *body_stolen)
{
	char path[48];

	(void)snprintf(path, sizeof(path), "/orders/%" PRId64, order_id);
	return wc_call_new(WC_PUT, path, body_stolen);
}

struct wc_call *
wc_call_batch_orders(json_t *body_stolen)
{
	return wc_call_new(WC_POST, "/orders/batch", body_stolen);
}

struct wc_call *
wc_call_list_orders(const struct wc_list_query *q)
{
	struct str s = { 0 };
	char num[24];

	assert(q != NULL);
	str_cat(&s, "/orders");
	(void)snprintf(num, sizeof(num), "%d", q->page < 1 ? 1 : q->page);
	str_param(&s, "page", num);
	(void)snprintf(num, sizeof(num), "%d", q->per_page < 1 ? 1 :
	    q->per_page > 100 ? 100 : q->per_page);
	str_param(&s, "per_page", num);
	if (q->offset > 0) {
		(void)snprintf(num, sizeof(num), "%ld", q->offset);
		str_param(&s, "offset", num);
	}
	str_param(&s, "status", q->status);
	str_param(&s, "after", q->after);
	str_param(&s, "before", q->before);
	str_param(&s, "modified_after", q->modified_after);
	str_param(&s, "modified_before", q->modified_before);
	str_param(&s, "orderby", q->orderby);
	str_param(&s, "order", q->order);
	/* Without it WooCommerce reads the dates in store-local time. */
	str_param(&s, "dates_are_gmt", "true");
	return call_from(WC_GET, &s, NULL);
}

static void xfer_detach(struct xfer *x);

void
wc_call_free(struct wc_call *call)
{
	if (call == NULL)
		return;
	if (call->priv != NULL)
		xfer_detach(call->priv);
	free(call->path);
	json_decref(call->body);
	json_decref(call->response);
	free(call);
}

/* ---- errors ----------------------------------------------------------- */

/* True when text would leak a credential or a signature. */
static bool
leaks(const struct wc_client *wc, const char *text)
{
	return (wc->ck[0] != '\0' && strstr(text, wc->ck) != NULL) ||
	    (wc->cs[0] != '\0' && strstr(text, wc->cs) != NULL) ||
	    strstr(text, "oauth_signature") != NULL;
}

static void
set_error(struct wc_client *wc, struct wc_call *call, const char *code,
    const char *message, const char *fallback)
{
	(void)snprintf(call->error_code, sizeof(call->error_code), "%s",
	    leaks(wc, code) ? "error" : code);
	(void)snprintf(call->error_message, sizeof(call->error_message), "%s",
	    message == NULL || message[0] == '\0' || leaks(wc, message) ?
	    fallback : message);
}

static enum ts_rc
map_curl(struct xfer *x, CURLcode cc)
{
	struct wc_client *wc = x->wc;
	const char *code;
	enum ts_rc rc = TS_ERR_TRANSIENT;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = "timeout";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		code = "connect";
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		code = "dropped";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
		code = "tls";
		break;
	case CURLE_SSL_CACERT_BADFILE:
		code = "tls_ca_file";
		rc = TS_ERR_INVALID;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		code = "bad_url";
		rc = TS_ERR_INVALID;
		break;
	case CURLE_OUT_OF_MEMORY:
		code = "nomem";
		rc = TS_ERR_NOMEM;
		break;
	default:
		code = "curl";
		break;
	}
	set_error(wc, x->call, code, x->errbuf, curl_easy_strerror(cc));
	return rc;
}

static enum ts_rc
map_http(struct xfer *x, long status)
{
	struct wc_call *call = x->call;
	const char *code = NULL, *message = NULL;
	char fallback_code[16], fallback[64];

	if (x->len > 0)
		call->response = json_loadb(x->buf, x->len, 0, NULL);
	if (status >= 200 && status < 300) {
		if (call->response != NULL)
			return TS_OK;
		(void)snprintf(fallback, sizeof(fallback),
		    "HTTP %ld with a body that is not JSON", status);
		set_error(x->wc, call, "bad_json", NULL, fallback);
		return TS_ERR_INVALID;
	}

	if (json_is_object(call->response)) {
		code = json_string_value(json_object_get(call->response, "code"));
		message = json_string_value(json_object_get(call->response,
		    "message"));
	}
	(void)snprintf(fallback_code, sizeof(fallback_code), "http_%ld", status);
	(void)snprintf(fallback, sizeof(fallback), "HTTP %ld", status);
	if (status >= 300 && status < 400) {
		set_error(x->wc, call, "redirect", NULL,
		    "the store redirected: check [store] url (scheme, www)");
		return TS_ERR_INVALID;
	}
	set_error(x->wc, call, code != NULL ? code : fallback_code, message,
	    fallback);
	if (status == 401 || status == 403)
		return TS_ERR_AUTH;
	if (status == 404) {
		/*
		 * Only WooCommerce's own 404 ("woocommerce_rest_shop_order_
		 * invalid_id") says the object is gone. A 404 without its JSON,
		 * or WordPress' rest_no_route, means the URL reaches no
		 * WooCommerce (plugin inactive, wrong url, plain permalinks):
		 * answering NOTFOUND there would mark every order deleted.
		 */
		if (code == NULL || strcmp(code, "rest_no_route") == 0) {
			set_error(x->wc, call, code != NULL ? code : "no_route",
			    "no WooCommerce REST API at [store] url", fallback);
			return TS_ERR_INVALID;
		}
		return TS_ERR_NOTFOUND;
	}
	if (status == 408 || status == 429 || status >= 500) {
		if (status == 429 || status == 503)
			call->retry_after_s = x->retry_after_s;
		return TS_ERR_TRANSIENT;
	}
	return TS_ERR_INVALID;
}

/* ---- transfers -------------------------------------------------------- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb, ncap;
	char *nb;

	if (n > BODY_CAP - x->len) {
		x->toobig = true;
		return 0;
	}
	if (x->len + n > x->cap) {
		ncap = x->cap ? x->cap : 16384;
		while (ncap < x->len + n)
			ncap *= 2;
		if (ncap > BODY_CAP)
			ncap = BODY_CAP;
		if ((nb = realloc(x->buf, ncap)) == NULL) {
			x->oom = true;
			return 0;
		}
		x->buf = nb;
		x->cap = ncap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	return n;
}

/* Value of "Name: value" when the header is name, NUL-terminated in out. */
static bool
header_value(const char *line, size_t n, const char *name, char *out,
    size_t out_size)
{
	size_t nl = strlen(name), i, j;

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return false;
	for (i = nl + 1; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = n; j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' ||
	    line[j - 1] == ' ' || line[j - 1] == '\t'); j--)
		;
	if (j - i >= out_size)
		return false;
	memcpy(out, line + i, j - i);
	out[j - i] = '\0';
	return true;
}

static long
parse_count(const char *s)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	return end == s || *end != '\0' || v < 0 ? -1 : v;
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	char v[128];
	long s;
	time_t when;

	/* A new status line (after 100 Continue): forget what came before. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->total = x->total_pages = -1;
		x->retry_after_s = 0;
	} else if (header_value(line, n, "X-WP-Total", v, sizeof(v))) {
		x->total = parse_count(v);
	} else if (header_value(line, n, "X-WP-TotalPages", v, sizeof(v))) {
		x->total_pages = parse_count(v);
	} else if (header_value(line, n, "Retry-After", v, sizeof(v))) {
		/* delay-seconds or an HTTP-date (RFC 9110 10.2.3) */
		if ((s = parse_count(v)) < 0 && (when = curl_getdate(v, NULL)) != -1)
			s = (long)(when - time(NULL));
		x->retry_after_s = s < 0 ? 0 : s > RETRY_AFTER_MAX_S ?
		    RETRY_AFTER_MAX_S : s;
	}
	return n;
}

static void
xfer_unlink_active(struct xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (x->wc->active == x)
		x->wc->active = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

/* Give the easy handle back: to the pool, reset, or to curl. */
static void
xfer_release_easy(struct xfer *x, bool reusable)
{
	struct wc_client *wc = x->wc;

	if (x->easy == NULL)
		return;
	(void)curl_multi_remove_handle(wc->multi, x->easy);
	if (reusable && wc->n_pool < wc->max_in_flight) {
		/*
		 * Also frees curl's copies of the Basic credentials, so they
		 * do not outlive the request. XXX: libcurl frees them, and
		 * its request buffer, without wiping; building the
		 * Authorization header here (and cleansing it) would leave
		 * only the request buffer.
		 */
		curl_easy_reset(x->easy);
		wc->pool[wc->n_pool++] = x->easy;
	} else {
		curl_easy_cleanup(x->easy);
	}
	x->easy = NULL;
}

static void
xfer_free_buffers(struct xfer *x)
{
	wipe_free(x->url);
	x->url = NULL;
	free(x->req_body);
	x->req_body = NULL;
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = 0;
}

/* Forget x entirely: its call keeps whatever result it has. */
static void
xfer_detach(struct xfer *x)
{
	struct wc_client *wc = x->wc;
	struct xfer **pp;

	if (!x->done) {
		xfer_release_easy(x, false);
		xfer_unlink_active(x);
		x->call->rc = TS_ERR_TRANSIENT;
		set_error(wc, x->call, "aborted", NULL,
		    "the request was abandoned before it completed");
	} else {
		for (pp = &wc->done_head; *pp != NULL; pp = &(*pp)->done_next) {
			if (*pp == x) {
				*pp = x->done_next;
				break;
			}
		}
		wc->done_tail = NULL;
		for (pp = &wc->done_head; *pp != NULL; pp = &(*pp)->done_next)
			wc->done_tail = *pp;
	}
	xfer_free_buffers(x);
	x->call->priv = NULL;
	wc->in_flight--;
	free(x);
}

static void
count(struct wc_client *wc, enum ts_rc rc)
{
	wc->stats.requests++;
	switch (rc) {
	case TS_OK: wc->stats.ok++; break;
	case TS_ERR_TRANSIENT: wc->stats.transient++; break;
	case TS_ERR_AUTH: wc->stats.auth++; break;
	case TS_ERR_NOTFOUND: wc->stats.notfound++; break;
	case TS_ERR_INVALID: wc->stats.invalid++; break;
	default: break;
	}
}

/* The transfer ended with cc: fill in the call and queue it as done. */
static void
complete(struct xfer *x, CURLcode cc)
{
	struct wc_client *wc = x->wc;
	struct wc_call *call = x->call;
	long status = 0;
	enum ts_rc rc;

	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	call->status = status;
	call->total = x->total;
	call->total_pages = x->total_pages;
	if (x->oom) {
		rc = TS_ERR_NOMEM;
		set_error(wc, call, "nomem", NULL, "out of memory");
	} else if (x->toobig) {
		rc = TS_ERR_INVALID;
		set_error(wc, call, "too_big", NULL,
		    "the response body is larger than 64 MiB");
	} else if (cc != CURLE_OK) {
		rc = map_curl(x, cc);
	} else {
		rc = map_http(x, status);
	}
	call->rc = rc;
	count(wc, rc);

	xfer_release_easy(x, true);
	xfer_unlink_active(x);
	xfer_free_buffers(x);
	x->done = true;
	x->done_next = NULL;
	if (wc->done_tail != NULL)
		wc->done_tail->done_next = x;
	else
		wc->done_head = x;
	wc->done_tail = x;
}

/* Run curl once without blocking and queue whatever finished. */
static enum ts_rc
drive(struct wc_client *wc)
{
	CURLMsg *msg;
	CURLMcode mc;
	int running, left;
	void *priv;

	mc = curl_multi_perform(wc->multi, &running);
	if (mc != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY ? TS_ERR_NOMEM : TS_ERR_IO;
	while ((msg = curl_multi_info_read(wc->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv != NULL)
			complete(priv, msg->data.result);
	}
	return TS_OK;
}

static enum ts_rc
setopt_rc(CURLcode cc)
{
	return cc == CURLE_OK ? TS_OK :
	    cc == CURLE_OUT_OF_MEMORY ? TS_ERR_NOMEM : TS_ERR_INVALID;
}

#define SETOPT(h, opt, val) do {					\
	if ((rc = setopt_rc(curl_easy_setopt((h), (opt), (val)))) != TS_OK) \
		goto out;						\
} while (0)

static enum ts_rc
setup_easy(struct wc_client *wc, struct xfer *x, CURL *h)
{
	struct wc_call *call = x->call;
	enum ts_rc rc;

	SETOPT(h, CURLOPT_URL, x->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(h, CURLOPT_PRIVATE, (void *)x);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, wc->timeout_ms);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, wc->connect_timeout_ms);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (wc->ca_file != NULL)
		SETOPT(h, CURLOPT_CAINFO, wc->ca_file);
	SETOPT(h, CURLOPT_USERAGENT, "tracksiesd/" TS_VERSION);
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(h, CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(h, CURLOPT_WRITEDATA, (void *)x);
	SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(h, CURLOPT_HEADERDATA, (void *)x);
	SETOPT(h, CURLOPT_HTTPHEADER, x->req_body != NULL ? wc->hdr_json :
	    wc->hdr_plain);
	if (!wc->oauth1) {
		SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(h, CURLOPT_USERNAME, wc->ck);
		SETOPT(h, CURLOPT_PASSWORD, wc->cs);
	}
	if (call->method == WC_POST) {
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDS, x->req_body != NULL ? x->req_body :
		    "");
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(x->req_body !=
		    NULL ? strlen(x->req_body) : 0));
	} else if (call->method != WC_GET) {
		SETOPT(h, CURLOPT_CUSTOMREQUEST, verbs[call->method]);
		if (x->req_body != NULL) {
			SETOPT(h, CURLOPT_POSTFIELDS, x->req_body);
			SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)strlen(x->req_body));
		}
	}
	rc = TS_OK;
out:
	return rc;
}

/* Begin call; over_limit lets wc_client_perform run beside others. */
static enum ts_rc
start_xfer(struct wc_client *wc, struct wc_call *call, bool over_limit)
{
	struct xfer *x = NULL;
	struct str url = { 0 };
	char nonce[OAUTH1_NONCE_SIZE];
	char *unsigned_url = NULL;
	CURL *h = NULL;
	enum ts_rc rc;

	if (call->priv != NULL)
		return TS_ERR_INVALID;
	if (!over_limit && wc->in_flight >= wc->max_in_flight)
		return TS_ERR_TRANSIENT;
	call_reset_result(call);
	if (call->path == NULL || call->path[0] != '/' ||
	    strchr(call->path, '#') != NULL ||
	    (unsigned)call->method > (unsigned)WC_DELETE) {
		rc = TS_ERR_INVALID;
		set_error(wc, call, "bad_request", NULL,
		    "the request path must start with '/'");
		goto out;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	x->wc = wc;
	x->call = call;
	x->total = x->total_pages = -1;

	str_cat(&url, wc->api_base);
	str_cat(&url, call->path);
	if ((unsigned_url = str_take(&url)) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if (wc->oauth1) {
		if ((rc = oauth1_nonce(nonce)) != TS_OK)
			goto out;
		rc = oauth1_sign_url(verbs[call->method], unsigned_url, wc->ck,
		    wc->cs, nonce, (long)time(NULL), &x->url);
		if (rc != TS_OK) {
			set_error(wc, call, "bad_request", NULL,
			    "the request URL cannot be signed");
			goto out;
		}
	} else {
		x->url = unsigned_url;
		unsigned_url = NULL;
	}
	if (call->body != NULL &&
	    (x->req_body = json_dumps(call->body, JSON_COMPACT)) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}

	if (wc->n_pool > 0)
		h = wc->pool[--wc->n_pool];
	else if ((h = curl_easy_init()) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if ((rc = setup_easy(wc, x, h)) != TS_OK) {
		set_error(wc, call, "curl", NULL, "libcurl refused an option");
		goto out;
	}
	if (curl_multi_add_handle(wc->multi, h) != CURLM_OK) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	x->easy = h;
	h = NULL;
	x->next = wc->active;
	if (wc->active != NULL)
		wc->active->prev = x;
	wc->active = x;
	wc->in_flight++;
	call->priv = x;
	x = NULL;
	rc = TS_OK;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	if (x != NULL) {
		xfer_free_buffers(x);
		free(x);
	}
	free(unsigned_url);
	if (rc != TS_OK) {
		call->rc = rc;
		if (call->error_code[0] == '\0')
			set_error(wc, call, rc == TS_ERR_NOMEM ? "nomem" :
			    "error", NULL, rc_name(rc));
	}
	return rc;
}

/* Take x (complete) off the done queue and hand its call back. */
static struct wc_call *
take_done(struct xfer *x)
{
	struct wc_call *call = x->call;

	xfer_detach(x);
	return call;
}

/* ---- client ----------------------------------------------------------- */

enum ts_rc
wc_client_new(const struct wc_client_options *opt, struct wc_client **out)
{
	static const char *const json_headers[] = { "Accept: application/json",
		"Content-Type: application/json", "Expect:" };
	struct wc_client *wc = NULL;
	struct curl_slist *h = NULL;
	CURLU *u = NULL;
	char *scheme = NULL;
	struct str base = { 0 };
	size_t n, i;
	enum ts_rc rc;

	*out = NULL;
	if (opt == NULL || opt->base_url == NULL || opt->consumer_key == NULL ||
	    opt->consumer_secret == NULL || opt->consumer_key[0] == '\0' ||
	    opt->consumer_secret[0] == '\0' || opt->max_in_flight < 1 ||
	    opt->timeout_ms < 1 || strpbrk(opt->base_url, "?#") != NULL ||
	    (strncmp(opt->base_url, "http://", 7) != 0 &&
	    strncmp(opt->base_url, "https://", 8) != 0))
		return TS_ERR_INVALID;
	if ((u = curl_url()) == NULL)
		return TS_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, opt->base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = TS_ERR_INVALID;
		goto out;
	}

	if ((wc = calloc(1, sizeof(*wc))) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	/*
	 * base_url is used as given, not normalised: WooCommerce signs with
	 * its own home URL, so that is what [store] url must be.
	 */
	n = strlen(opt->base_url);
	while (n > 0 && opt->base_url[n - 1] == '/')
		n--;
	str_add(&base, opt->base_url, n);
	str_cat(&base, API_PREFIX);
	wc->api_base = str_take(&base);
	wc->oauth1 = opt->auth == CONFIG_AUTH_OAUTH1 ||
	    (opt->auth == CONFIG_AUTH_AUTO && strcmp(scheme, "http") == 0);
	wc->ck = opt->consumer_key;
	wc->cs = opt->consumer_secret;
	wc->timeout_ms = opt->timeout_ms;
	wc->connect_timeout_ms = opt->timeout_ms < CONNECT_TIMEOUT_MAX_MS ?
	    opt->timeout_ms : CONNECT_TIMEOUT_MAX_MS;
	wc->max_in_flight = opt->max_in_flight;
	wc->multi = curl_multi_init();
	wc->pool = calloc((size_t)opt->max_in_flight, sizeof(*wc->pool));
	wc->hdr_plain = curl_slist_append(NULL, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before a JSON body. */
	for (i = 0; i < sizeof(json_headers) / sizeof(json_headers[0]); i++) {
		if ((h = curl_slist_append(wc->hdr_json, json_headers[i])) == NULL)
			break;
		wc->hdr_json = h;
	}
	if (wc->api_base == NULL || wc->multi == NULL || wc->pool == NULL ||
	    wc->hdr_plain == NULL || h == NULL ||
	    (opt->ca_file != NULL &&
	    (wc->ca_file = strdup(opt->ca_file)) == NULL)) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if (curl_multi_setopt(wc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)opt->max_in_flight) != CURLM_OK ||
	    curl_multi_setopt(wc->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)opt->max_in_flight) != CURLM_OK ||
	    curl_multi_setopt(wc->multi, CURLMOPT_MAXCONNECTS,
	    (long)opt->max_in_flight) != CURLM_OK) {
		rc = TS_ERR_INVALID;
		goto out;
	}
	*out = wc;
	wc = NULL;
	rc = TS_OK;
out:
	wc_client_free(wc);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

void
wc_client_free(struct wc_client *wc)
{
	int i;

	if (wc == NULL)
		return;
	while (wc->active != NULL)
		xfer_detach(wc->active);
	while (wc->done_head != NULL)
		xfer_detach(wc->done_head);
	for (i = 0; i < wc->n_pool; i++)
		curl_easy_cleanup(wc->pool[i]);
	free(wc->pool);
	if (wc->multi != NULL)
		(void)curl_multi_cleanup(wc->multi);
	curl_slist_free_all(wc->hdr_plain);
	curl_slist_free_all(wc->hdr_json);
	free(wc->api_base);
	free(wc->ca_file);
	free(wc);
}

enum ts_rc
wc_client_start(struct wc_client *wc, struct wc_call *call)
{
	return start_xfer(wc, call, false);
}

int
wc_client_in_flight(const struct wc_client *wc)
{
	return wc->in_flight;
}

enum ts_rc
wc_client_wait(struct wc_client *wc, long timeout_ms, struct wc_call **done)
{
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0), left;
	enum ts_rc rc;

	*done = NULL;
	for (;;) {
		if (wc->done_head != NULL) {
			*done = take_done(wc->done_head);
			return TS_OK;
		}
		if (wc->active == NULL)
			return TS_OK;
		if ((rc = drive(wc)) != TS_OK)
			return rc;
		if (wc->done_head != NULL)
			continue;
		if ((left = deadline - now_ms()) <= 0)
			return TS_OK;
		if (curl_multi_poll(wc->multi, NULL, 0,
		    left > 1000 ? 1000 : (int)left, NULL) != CURLM_OK)
			return TS_ERR_IO;
	}
}

enum ts_rc
wc_client_perform(struct wc_client *wc, struct wc_call *call)
{
	struct xfer *x;
	enum ts_rc rc;

	if ((rc = start_xfer(wc, call, true)) != TS_OK)
		return rc;
	x = call->priv;
	/*
	 * Other calls in flight keep running; those that finish meanwhile
	 * wait on the done queue for wc_client_wait.
	 */
	while (!x->done) {
		if ((rc = drive(wc)) != TS_OK ||
		    (!x->done && curl_multi_poll(wc->multi, NULL, 0, 1000,
		    NULL) != CURLM_OK)) {
			xfer_detach(x);
			call->rc = rc != TS_OK ? rc : TS_ERR_IO;
			set_error(wc, call, "curl", NULL, "libcurl failed");
			return call->rc;
		}
	}
	(void)take_done(x);
	return call->rc;
}

void
wc_client_stats(const struct wc_client *wc, struct wc_client_stats *out)
{
	*out = wc->stats;
}
