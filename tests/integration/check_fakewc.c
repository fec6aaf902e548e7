/* SPDX-License-Identifier: MIT */
/*
 * The fake store behaves as the WooCommerce 8.4 captures say: OAuth 1.0a
 * over plain HTTP, Basic refused, nonces and timestamps, rest_route,
 * trashed and deleted orders, paging, batch limits, meta merging, webhooks
 * (signed echo, unsigned ping, failures), determinism and faults. Requests
 * are signed by this file's own OAuth code and deliveries checked with
 * OpenSSL directly: nothing is shared with the fake's verifier.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fakewc_ctl.h"

#define SECRET "fakewc-test-webhook-secret"
#define CK "ck_0123456789abcdef"
#define CS "cs_fedcba9876543210"

/* ---- a webhook receiver: libmicrohttpd on 127.0.0.1:0 ---- */

struct delivery {
	char topic[64], resource[32], event[64], hook_id[16], delivery_id[64];
	char ctype[96], agent[96], source[128];
	char *body;
	bool signed_, sig_ok;
};

static struct {
	pthread_mutex_t lock;
	struct delivery d[512];
	int n;
	struct MHD_Daemon *mhd;
	uint16_t port;
} rx = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct rx_req {
	char *body;
	size_t len;
};

static void
copy_header(struct MHD_Connection *c, const char *name, char *dst, size_t n)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(dst, n, "%s", v ? v : "");
}

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct rx_req *r = *con_cls;
	struct MHD_Response *resp;
	struct delivery *d;
	const char *sig;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (r == NULL) {
		*con_cls = calloc(1, sizeof(struct rx_req));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*size) {
		r->body = realloc(r->body, r->len + *size + 1);
		memcpy(r->body + r->len, data, *size);
		r->len += *size;
		r->body[r->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&rx.lock);
	d = rx.n < 512 ? &rx.d[rx.n++] : NULL;
	if (d != NULL) {
		memset(d, 0, sizeof(*d));
		copy_header(c, "X-WC-Webhook-Topic", d->topic, sizeof(d->topic));
		copy_header(c, "X-WC-Webhook-Resource", d->resource,
		    sizeof(d->resource));
		copy_header(c, "X-WC-Webhook-Event", d->event, sizeof(d->event));
		copy_header(c, "X-WC-Webhook-ID", d->hook_id, sizeof(d->hook_id));
		copy_header(c, "X-WC-Webhook-Delivery-ID", d->delivery_id,
		    sizeof(d->delivery_id));
		copy_header(c, "Content-Type", d->ctype, sizeof(d->ctype));
		copy_header(c, "User-Agent", d->agent, sizeof(d->agent));
		copy_header(c, "X-WC-Webhook-Source", d->source,
		    sizeof(d->source));
		d->body = strdup(r->body ? r->body : "");
		sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "X-WC-Webhook-Signature");
		if (sig != NULL) {
			unsigned char mac[EVP_MAX_MD_SIZE];
			unsigned int n = 0;
			char b64[96];

			HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
			    (const unsigned char *)d->body, strlen(d->body), mac,
			    &n);
			EVP_EncodeBlock((unsigned char *)b64, mac, (int)n);
			d->signed_ = true;
			d->sig_ok = strcmp(b64, sig) == 0;
		}
	}
	pthread_mutex_unlock(&rx.lock);
	resp = MHD_create_response_from_buffer(2, (void *)"ok",
	    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
rx_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct rx_req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r != NULL) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

static void
rx_start(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	rx.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, rx_handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(rx.mhd);
	info = MHD_get_daemon_info(rx.mhd, MHD_DAEMON_INFO_BIND_PORT);
	rx.port = info->port;
}

static void
rx_stop(void)
{
	MHD_stop_daemon(rx.mhd);
	for (int i = 0; i < rx.n; i++)
		free(rx.d[i].body);
	rx.n = 0;
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Index of the first delivery from `from` on with topic (and body
 * containing needle), waiting up to 10 s; -1 when none came. */
static int
rx_wait(int from, const char *topic, const char *needle)
{
	for (int tries = 0; tries < 1000; tries++) {
		pthread_mutex_lock(&rx.lock);
		for (int i = from; i < rx.n; i++)
			if (strcmp(rx.d[i].topic, topic) == 0 &&
			    (needle == NULL || strstr(rx.d[i].body, needle))) {
				pthread_mutex_unlock(&rx.lock);
				return i;
			}
		pthread_mutex_unlock(&rx.lock);
		nap_ms(10);
	}
	return -1;
}

static int
rx_count(void)
{
	int n;

	pthread_mutex_lock(&rx.lock);
	n = rx.n;
	pthread_mutex_unlock(&rx.lock);
	return n;
}

/* ---- one-legged OAuth 1.0a, written from RFC 5849 for this test ---- */

static void
pct(char **out, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~';

		*out = realloc(*out, *len + 4);
		if (keep) {
			(*out)[(*len)++] = (char)c;
		} else {
			(*out)[(*len)++] = '%';
			(*out)[(*len)++] = hex[c >> 4];
			(*out)[(*len)++] = hex[c & 15];
		}
		(*out)[*len] = '\0';
	}
}

static void
cat(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*out = realloc(*out, *len + n + 1);
	memcpy(*out + *len, s, n + 1);
	*len += n;
}

struct kv {
	char k[64], v[256];
};

static int
kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

/*
 * URL of base_url+path with query (plain "k=v&k=v", values unencoded)
 * plus the oauth_* parameters, signed with HMAC-SHA256 and key "cs&".
 */
static char *
signed_url(struct fakewc *fw, const char *method, const char *path,
    const char *query, long ts, const char *nonce, const char *ck,
    const char *cs)
{
	struct kv p[40];
	int n = 0;
	char *base = NULL, *params = NULL, *url = NULL, *tmp = NULL;
	size_t bl = 0, pl = 0, ul = 0, tl = 0;
	char key[256], tsbuf[32], noncebuf[64], b64[96];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (query != NULL && *query) {
		char *q = strdup(query), *save = NULL, *t;

		for (t = strtok_r(q, "&", &save); t; t = strtok_r(NULL, "&",
		    &save)) {
			char *eq = strchr(t, '=');

			*eq = '\0';
			snprintf(p[n].k, sizeof(p[n].k), "%s", t);
			snprintf(p[n].v, sizeof(p[n].v), "%s", eq + 1);
			n++;
		}
		free(q);
	}
	snprintf(tsbuf, sizeof(tsbuf), "%ld", ts ? ts : (long)time(NULL));
	if (nonce == NULL) {
		snprintf(noncebuf, sizeof(noncebuf), "n%ld%d%d", (long)time(NULL),
		    rand(), n);
		nonce = noncebuf;
	}
	snprintf(p[n].k, sizeof(p[n].k), "oauth_consumer_key");
	snprintf(p[n++].v, sizeof(p[0].v), "%s", ck ? ck : CK);
	snprintf(p[n].k, sizeof(p[n].k), "oauth_nonce");
	snprintf(p[n++].v, sizeof(p[0].v), "%s", nonce);
	snprintf(p[n].k, sizeof(p[n].k), "oauth_signature_method");
	snprintf(p[n++].v, sizeof(p[0].v), "HMAC-SHA256");
	snprintf(p[n].k, sizeof(p[n].k), "oauth_timestamp");
	snprintf(p[n++].v, sizeof(p[0].v), "%s", tsbuf);
	qsort(p, (size_t)n, sizeof(*p), kv_cmp);
	for (int i = 0; i < n; i++) {
		if (i)
			cat(&params, &pl, "&");
		pct(&params, &pl, p[i].k);
		cat(&params, &pl, "=");
		pct(&params, &pl, p[i].v);
	}
	cat(&base, &bl, method);
	cat(&base, &bl, "&");
	cat(&tmp, &tl, fw->url);
	cat(&tmp, &tl, path);
	pct(&base, &bl, tmp);
	cat(&base, &bl, "&");
	pct(&base, &bl, params);
	snprintf(key, sizeof(key), "%s&", cs ? cs : CS);
	HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)base, bl,
	    mac, &maclen);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	cat(&url, &ul, tmp);
	cat(&url, &ul, "?");
	cat(&url, &ul, params);
	cat(&url, &ul, "&oauth_signature=");
	pct(&url, &ul, b64);
	free(base);
	free(params);
	free(tmp);
	return url;
}

/* ---- an HTTP client that keeps status, headers and body ---- */

struct resp {
	long status;
	char *headers, *body;
	size_t hl, bl;
	json_t *json;
	CURLcode cc;
};

static size_t
on_body(char *d, size_t s, size_t n, void *u)
{
	struct resp *r = u;
	char *c = strndup(d, s * n);

	cat(&r->body, &r->bl, c);
	free(c);
	return s * n;
}

static size_t
on_header(char *d, size_t s, size_t n, void *u)
{
	struct resp *r = u;
	char *c = strndup(d, s * n);

	cat(&r->headers, &r->hl, c);
	free(c);
	return s * n;
}

static struct resp
http(const char *method, const char *url, const char *body,
    const char *extra_header, long timeout_ms)
{
	struct resp r = { 0 };
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();

	h = curl_slist_append(h, "Content-Type: application/json");
	if (extra_header)
		h = curl_slist_append(h, extra_header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms :
	    30000L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	r.cc = curl_easy_perform(c);
	if (r.cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	if (r.body)
		r.json = json_loads(r.body, 0, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

static void
resp_free(struct resp *r)
{
	free(r->headers);
	free(r->body);
	json_decref(r->json);
}

/* Value of response header name (case-insensitive), copied into out. */
static bool
header(const struct resp *r, const char *name, char *out, size_t n)
{
	const char *p = r->headers;
	size_t len = strlen(name);

	while (p && *p) {
		if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
			const char *v = p + len + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(e ? e - v : (long)strlen(v)),
			    v);
			return true;
		}
		p = strstr(p, "\n");
		p = p ? p + 1 : NULL;
	}
	return false;
}

static const char *
code_of(const struct resp *r)
{
	return json_string_value(json_object_get(r->json, "code"));
}

static const char *
message_of(const struct resp *r)
{
	return json_string_value(json_object_get(r->json, "message"));
}

/* ---- fixture: a receiver and a fake store with the five webhooks ---- */

static struct fakewc *fw;

static struct fakewc *
start_fake(uint64_t seed, const char *hook_url, const char *const *extra)
{
	struct fakewc_opts o = { 0 };
	struct fakewc *f = NULL;

	o.consumer_key = CK;
	o.consumer_secret = CS;
	o.webhook_url = hook_url;
	o.webhook_secret = hook_url ? SECRET : NULL;
	o.seed = seed;
	o.orders = 60;
	o.customers = 12;
	o.anchor_date = "2026-11-01";
	o.extra_args = extra;
	ck_assert_int_eq(fakewc_ctl_start(&o, &f), TS_OK);
	return f;
}

static void
setup(void)
{
	char url[128];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rx_start();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hooks", rx.port);
	fw = start_fake(42, url, NULL);
}

static void
teardown(void)
{
	ck_assert_int_eq(fakewc_ctl_stop(fw), 0);
	rx_stop();
	curl_global_cleanup();
}

/* An id of an order in the default list (not trash, not a draft). */
static int64_t
some_order(int nth)
{
	char *u = signed_url(fw, "GET", "/wp-json/wc/v3/orders",
	    "per_page=20&orderby=id&order=asc", 0, NULL, NULL, NULL);
	struct resp r = http("GET", u, NULL, NULL, 0);
	int64_t id;

	ck_assert_int_eq(r.status, 200);
	id = json_integer_value(json_object_get(json_array_get(r.json,
	    (size_t)nth), "id"));
	ck_assert_int_gt(id, 0);
	resp_free(&r);
	free(u);
	return id;
}

static struct resp
signed_req(const char *method, const char *path, const char *query,
    const char *body)
{
	char *u = signed_url(fw, method, path, query, 0, NULL, NULL, NULL);
	struct resp r = http(method, u, body, NULL, 0);

	free(u);
	return r;
}

/* ---- authentication ---- */

START_TEST(oauth_over_http_is_accepted_and_basic_is_refused)
{
	char url[256], *u;
	struct resp r;

	u = signed_url(fw, "GET", "/wp-json/wc/v3/orders", "per_page=1", 0,
	    NULL, NULL, NULL);
	r = http("GET", u, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 1);
	resp_free(&r);
	free(u);

	/* rest/04: Basic over plain http is ignored, so nobody is logged in */
	snprintf(url, sizeof(url), "%s/wp-json/wc/v3/orders", fw->url);
	r = http("GET", url, NULL, "Authorization: Basic "
	    "Y2tfMDEyMzQ1Njc4OWFiY2RlZjpjc19mZWRjYmE5ODc2NTQzMjEw", 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_cannot_view");
	ck_assert_str_eq(message_of(&r), "Sorry, you cannot list resources.");
	resp_free(&r);

	/* rest/05: so are consumer_key/consumer_secret in the query */
	snprintf(url, sizeof(url), "%s/wp-json/wc/v3/orders?consumer_key=%s&"
	    "consumer_secret=%s", fw->url, CK, CS);
	r = http("GET", url, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_cannot_view");
	resp_free(&r);
}
END_TEST

START_TEST(a_replayed_nonce_is_refused)
{
	char *u = signed_url(fw, "GET", "/wp-json/wc/v3/orders", "per_page=1",
	    0, "replayed-nonce-0001", NULL, NULL);
	struct resp r = http("GET", u, NULL, NULL, 0);

	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	r = http("GET", u, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_authentication_error");
	ck_assert_str_eq(message_of(&r),
	    "Invalid nonce - nonce has already been used.");
	resp_free(&r);
	free(u);
}
END_TEST

START_TEST(a_timestamp_outside_fifteen_minutes_is_refused)
{
	long now = (long)time(NULL);
	long when[] = { now - 16 * 60, now + 16 * 60 };

	for (int i = 0; i < 2; i++) {
		char *u = signed_url(fw, "GET", "/wp-json/wc/v3/orders", NULL,
		    when[i], NULL, NULL, NULL);
		struct resp r = http("GET", u, NULL, NULL, 0);

		ck_assert_int_eq(r.status, 401);
		ck_assert_str_eq(message_of(&r), "Invalid timestamp.");
		resp_free(&r);
		free(u);
	}
}
END_TEST

START_TEST(a_wrong_secret_or_key_is_refused)
{
	char *u = signed_url(fw, "GET", "/wp-json/wc/v3/orders", NULL, 0, NULL,
	    NULL, "cs_wrong");
	struct resp r = http("GET", u, NULL, NULL, 0);

	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(message_of(&r),
	    "Invalid signature - provided signature does not match.");
	resp_free(&r);
	free(u);
	u = signed_url(fw, "GET", "/wp-json/wc/v3/orders", NULL, 0, NULL,
	    "ck_wrong", NULL);
	r = http("GET", u, NULL, NULL, 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(message_of(&r), "Consumer key is invalid.");
	resp_free(&r);
	free(u);
}
END_TEST

START_TEST(rest_route_is_never_authenticated)
{
	/* rest/07: the key only authenticates URIs containing /wp-json/wc/ */
	char *u = signed_url(fw, "GET", "/", "rest_route=/wc/v3/orders", 0,
	    NULL, NULL, NULL);
	struct resp r = http("GET", u, NULL, NULL, 0);

	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_cannot_view");
	resp_free(&r);
	free(u);
}
END_TEST

/* ---- orders ---- */

START_TEST(a_trashed_order_reads_200_with_status_trash)
{
	int64_t id = some_order(3);
	char path[64], q[64];
	struct resp r;
	size_t i;
	json_t *o;
	bool listed = false;

	snprintf(path, sizeof(path), "/_fake/orders/%lld/trash", (long long)id);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld", (long long)id);
	r = signed_req("GET", path, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	    "trash");
	resp_free(&r);

	snprintf(q, sizeof(q), "include=%lld", (long long)id);
	r = signed_req("GET", "/wp-json/wc/v3/orders", q, NULL);
	ck_assert_int_eq(json_array_size(r.json), 0);
	resp_free(&r);
	r = signed_req("GET", "/wp-json/wc/v3/orders", "status=trash&per_page=100",
	    NULL);
	json_array_foreach(r.json, i, o)
		listed |= json_integer_value(json_object_get(o, "id")) == id;
	ck_assert(listed);
	resp_free(&r);
}
END_TEST

START_TEST(a_deleted_order_reads_404_with_the_exact_code)
{
	int64_t id = some_order(4);
	char path[64];
	struct resp r;

	snprintf(path, sizeof(path), "/_fake/orders/%lld", (long long)id);
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld", (long long)id);
	r = signed_req("GET", path, NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.body, "{\"code\":\"woocommerce_rest_shop_order_"
	    "invalid_id\",\"message\":\"Invalid ID.\",\"data\":{\"status\":404}}");
	resp_free(&r);
	r = signed_req("GET", "/wp-json/wc/v3/orders/999999", NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_shop_order_invalid_id");
	resp_free(&r);
	/* PUT of an unknown id: update_item() answers 400, not 404 */
	r = signed_req("PUT", "/wp-json/wc/v3/orders/999999", NULL,
	    "{\"status\":\"completed\"}");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_shop_order_invalid_id");
	resp_free(&r);
}
END_TEST

START_TEST(list_pages_carry_totals_and_links)
{
	struct resp all = signed_req("GET", "/wp-json/wc/v3/orders",
	    "per_page=100", NULL);
	struct resp r = signed_req("GET", "/wp-json/wc/v3/orders",
	    "per_page=3&page=2", NULL);
	char total[32], pages[32], link[4096], want[32];
	size_t n = json_array_size(all.json);

	ck_assert_int_eq(all.status, 200);
	ck_assert_int_gt(n, 40);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(r.json), 3);
	ck_assert(header(&r, "X-WP-Total", total, sizeof(total)));
	ck_assert(header(&r, "X-WP-TotalPages", pages, sizeof(pages)));
	snprintf(want, sizeof(want), "%zu", n);
	ck_assert_str_eq(total, want);
	snprintf(want, sizeof(want), "%zu", (n + 2) / 3);
	ck_assert_str_eq(pages, want);
	/* two Link headers: WordPress' api.w.org one, then the paging one */
	ck_assert_ptr_nonnull(strstr(r.headers, "rel=\"prev\""));
	ck_assert_ptr_nonnull(strstr(r.headers, "rel=\"next\""));
	ck_assert(header(&r, "Link", link, sizeof(link)));
	/* page 2 of the list is items 3..5 of the full list (date desc) */
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(r.json, i), "id")), json_integer_value(
		    json_object_get(json_array_get(all.json, 3 + i), "id")));
	resp_free(&r);
	resp_free(&all);
}
END_TEST

START_TEST(per_page_101_is_a_400)
{
	struct resp r = signed_req("GET", "/wp-json/wc/v3/orders",
	    "per_page=101", NULL);

	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(code_of(&r), "rest_invalid_param");
	ck_assert_str_eq(message_of(&r), "Invalid parameter(s): per_page");
	resp_free(&r);
}
END_TEST

START_TEST(a_batch_of_101_is_a_413_and_errors_stay_per_item)
{
	char *body = NULL, item[64];
	size_t bl = 0;
	int64_t id = some_order(0);
	struct resp r;
	json_t *bad;

	cat(&body, &bl, "{\"update\":[");
	for (int i = 0; i < 101; i++) {
		snprintf(item, sizeof(item), "%s{\"id\":%lld}", i ? "," : "",
		    (long long)id);
		cat(&body, &bl, item);
	}
	cat(&body, &bl, "]}");
	r = signed_req("POST", "/wp-json/wc/v3/orders/batch", NULL, body);
	ck_assert_int_eq(r.status, 413);
	ck_assert_str_eq(code_of(&r), "woocommerce_rest_request_entity_too_large");
	ck_assert_str_eq(message_of(&r),
	    "Unable to accept more than 100 items for this request.");
	resp_free(&r);
	free(body);

	/* rest/43: a bad item answers inside the 200, next to the good one */
	snprintf(item, sizeof(item), "{\"update\":[{\"id\":%lld},{\"id\":999999}]}",
	    (long long)id);
	r = signed_req("POST", "/wp-json/wc/v3/orders/batch", NULL, item);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(r.json, "update"), 0), "id")), id);
	bad = json_array_get(json_object_get(r.json, "update"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(bad, "id")), 999999);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(bad,
	    "error"), "code")), "woocommerce_rest_shop_order_invalid_id");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(bad, "error"), "data"), "status")), 400);
	ck_assert_ptr_null(json_object_get(r.json, "create"));
	resp_free(&r);
}
END_TEST

static json_t *
meta_find(json_t *order, const char *key, int *count)
{
	json_t *m, *found = NULL;
	size_t i;

	*count = 0;
	json_array_foreach(json_object_get(order, "meta_data"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0) {
			found = m;
			(*count)++;
		}
	return found;
}

START_TEST(meta_is_merged_per_key_and_null_deletes_it)
{
	int64_t id = some_order(1);
	char path[64];
	struct resp r;
	json_int_t mid;
	json_t *m;
	int n;

	snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld", (long long)id);
	r = signed_req("PUT", path, NULL, "{\"meta_data\":[{\"key\":"
	    "\"_tracksies_synced\",\"value\":\"1\"},{\"key\":\"_tracksies_"
	    "customer_id\",\"value\":\"7\"}]}");
	ck_assert_int_eq(r.status, 200);
	m = meta_find(r.json, "_tracksies_synced", &n);
	ck_assert_int_eq(n, 1);
	mid = json_integer_value(json_object_get(m, "id"));
	resp_free(&r);

	r = signed_req("PUT", path, NULL, "{\"meta_data\":[{\"key\":"
	    "\"_tracksies_synced\",\"value\":\"2\"}]}");
	m = meta_find(r.json, "_tracksies_synced", &n);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), mid);
	ck_assert_str_eq(json_string_value(json_object_get(m, "value")), "2");
	ck_assert_ptr_nonnull(meta_find(r.json, "_tracksies_customer_id", &n));
	resp_free(&r);

	r = signed_req("PUT", path, NULL, "{\"meta_data\":[{\"key\":"
	    "\"_tracksies_synced\",\"value\":null}]}");
	ck_assert_ptr_null(meta_find(r.json, "_tracksies_synced", &n));
	ck_assert_ptr_nonnull(meta_find(r.json, "_tracksies_customer_id", &n));
	resp_free(&r);
}
END_TEST

/* ---- webhooks ---- */

START_TEST(a_put_fires_a_signed_order_updated_echo)
{
	int64_t id = some_order(2);
	char path[64], needle[32], source[160];
	int from = rx_count(), i;
	struct resp r;
	json_t *body;

	snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld", (long long)id);
	r = signed_req("PUT", path, NULL, "{\"meta_data\":[{\"key\":"
	    "\"_tracksies_synced\",\"value\":\"1700000000\"}]}");
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	snprintf(needle, sizeof(needle), "{\"id\":%lld,", (long long)id);
	ck_assert_int_ge(i = rx_wait(from, "order.updated", needle), 0);
	ck_assert(rx.d[i].signed_);
	ck_assert(rx.d[i].sig_ok);
	ck_assert_str_eq(rx.d[i].resource, "order");
	ck_assert_str_eq(rx.d[i].event, "updated");
	ck_assert_str_eq(rx.d[i].ctype, "application/json");
	ck_assert_str_eq(rx.d[i].agent,
	    "WooCommerce/8.4.0 Hookshot (WordPress/6.4.2)");
	ck_assert_int_eq(strlen(rx.d[i].delivery_id), 32);
	snprintf(source, sizeof(source), "%s/", fw->url);
	ck_assert_str_eq(rx.d[i].source, source);
	ck_assert_ptr_nonnull(strstr(rx.d[i].body, "\"_tracksies_synced\""));
	body = json_loads(rx.d[i].body, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(body, "id")), id);
	json_decref(body);
}
END_TEST

START_TEST(webhook_creation_sends_the_unsigned_ping)
{
	char body[256];
	int from = rx_count(), found = -1;
	struct resp r;

	snprintf(body, sizeof(body), "{\"name\":\"t\",\"topic\":\"order.updated\","
	    "\"delivery_url\":\"http://127.0.0.1:%u/hooks/new\",\"secret\":\""
	    SECRET "\"}", rx.port);
	r = signed_req("POST", "/wp-json/wc/v3/webhooks", NULL, body);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	    "active");
	ck_assert(json_is_null(json_object_get(r.json, "date_modified")));
	resp_free(&r);
	for (int tries = 0; tries < 500 && found < 0; tries++) {
		pthread_mutex_lock(&rx.lock);
		for (int i = from; i < rx.n; i++)
			if (strncmp(rx.d[i].body, "webhook_id=", 11) == 0)
				found = i;
		pthread_mutex_unlock(&rx.lock);
		if (found < 0)
			nap_ms(10);
	}
	ck_assert_int_ge(found, 0);
	ck_assert(!rx.d[found].signed_);
	ck_assert_str_eq(rx.d[found].topic, "");
	ck_assert_str_eq(rx.d[found].ctype, "application/x-www-form-urlencoded");
	ck_assert_str_eq(rx.d[found].body, "webhook_id=6");
}
END_TEST

START_TEST(a_new_paid_order_fires_created_updated_and_payment_complete)
{
	json_t *o = NULL;
	char needle[48];
	int from = rx_count(), a, b, c, d;
	int64_t id;

	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/orders", "{\"email\":"
	    "\"Zoe@Example.test\",\"items\":[{\"product_id\":12,\"quantity\":2}],"
	    "\"set_paid\":true}", &o), 201);
	id = json_integer_value(json_object_get(o, "id"));
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")),
	    "processing");
	json_decref(o);
	snprintf(needle, sizeof(needle), "{\"id\":%lld,", (long long)id);
	ck_assert_int_ge(a = rx_wait(from, "order.created", needle), 0);
	ck_assert_int_gt(b = rx_wait(from, "order.updated", needle), a);
	snprintf(needle, sizeof(needle), "\"arg\":%lld}", (long long)id);
	ck_assert_int_gt(c = rx_wait(from, "action.woocommerce_payment_complete",
	    needle), b);
	ck_assert(rx.d[c].sig_ok);
	ck_assert_str_eq(rx.d[c].resource, "action");
	ck_assert_str_eq(rx.d[c].event, "woocommerce_payment_complete");

	/* trash: order.deleted {"id":N}; untrash: order.restored */
	snprintf(needle, sizeof(needle), "/_fake/orders/%lld/trash", (long long)id);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", needle, NULL, NULL), 200);
	ck_assert_int_ge(d = rx_wait(from, "order.deleted", NULL), 0);
	snprintf(needle, sizeof(needle), "{\"id\":%lld}", (long long)id);
	ck_assert_str_eq(rx.d[d].body, needle);
	snprintf(needle, sizeof(needle), "/_fake/orders/%lld/untrash",
	    (long long)id);
	ck_assert_int_eq(fakewc_ctl(fw, "POST", needle, NULL, NULL), 200);
	ck_assert_int_ge(rx_wait(from, "order.restored", NULL), 0);
	/* a permanent delete sends nothing at all */
	from = rx_count();
	snprintf(needle, sizeof(needle), "/_fake/orders/%lld", (long long)id);
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", needle, NULL, NULL), 200);
	ck_assert_int_eq(fakewc_ctl_flush(fw, 10000), 0);
	ck_assert_int_eq(rx_count(), from);
}
END_TEST

START_TEST(seven_failed_deliveries_disable_a_webhook)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	char body[256], path[64];
	struct resp r;
	int64_t hook;

	/* a port nobody listens on: connection refused, quickly */
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(s, (struct sockaddr *)&sin, &sl);
	close(s);
	snprintf(body, sizeof(body), "{\"topic\":\"order.updated\",\"delivery_url\""
	    ":\"http://127.0.0.1:%u/dead\"}", ntohs(sin.sin_port));
	r = signed_req("POST", "/wp-json/wc/v3/webhooks", NULL, body);
	ck_assert_int_eq(r.status, 201);
	hook = json_integer_value(json_object_get(r.json, "id"));
	resp_free(&r);
	for (int i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld",
		    (long long)some_order(i));
		r = signed_req("PUT", path, NULL, "{\"customer_note\":\"x\"}");
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
		ck_assert_int_eq(fakewc_ctl_flush(fw, 10000), 0);
		snprintf(path, sizeof(path), "/wp-json/wc/v3/webhooks/%lld",
		    (long long)hook);
		r = signed_req("GET", path, NULL, NULL);
		status = strcmp(json_string_value(json_object_get(r.json,
		    "status")), "disabled") == 0;
		ck_assert_int_eq(status, i == 6);
		resp_free(&r);
	}
}
END_TEST

/* ---- determinism, statistics, faults ---- */

START_TEST(the_same_seed_builds_the_same_store)
{
	struct fakewc *same = start_fake(42, NULL, NULL);
	struct fakewc *other = start_fake(43, NULL, NULL);
	json_t *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/digest", NULL, &a), 200);
	ck_assert_int_eq(fakewc_ctl(same, "GET", "/_fake/digest", NULL, &b), 200);
	ck_assert_int_eq(fakewc_ctl(other, "GET", "/_fake/digest", NULL, &c), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "orders")), 60);
	ck_assert_str_eq(json_string_value(json_object_get(a, "sha256")),
	    json_string_value(json_object_get(b, "sha256")));
	ck_assert_str_ne(json_string_value(json_object_get(a, "sha256")),
	    json_string_value(json_object_get(c, "sha256")));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	ck_assert_int_eq(fakewc_ctl_stop(same), 0);
	ck_assert_int_eq(fakewc_ctl_stop(other), 0);
}
END_TEST

START_TEST(stats_count_meta_writes_per_order)
{
	int64_t id = some_order(5);
	char path[64];
	json_t *st = NULL, *twice;
	struct resp r;
	bool seen = false;
	size_t i;
	json_t *v;

	snprintf(path, sizeof(path), "/wp-json/wc/v3/orders/%lld", (long long)id);
	for (int k = 0; k < 2; k++) {
		r = signed_req("PUT", path, NULL,
		    "{\"meta_data\":[{\"key\":\"_k\",\"value\":\"v\"}]}");
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	ck_assert_int_eq(fakewc_ctl(fw, "GET", "/_fake/stats", NULL, &st), 200);
	twice = json_object_get(st, "meta_written_twice");
	json_array_foreach(twice, i, v)
		seen |= json_integer_value(v) == id;
	ck_assert(seen);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(st, "requests"), "put_order"), "200")), 2);
	json_decref(st);
}
END_TEST

START_TEST(faults_answer_500_429_and_drop_then_clear)
{
	char ra[16];
	struct resp r;

	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "[{\"endpoint\":\"list_orders\",\"type\":\"status\",\"status\":500,"
	    "\"count\":1},{\"endpoint\":\"list_orders\",\"type\":\"rate_limit\","
	    "\"retry_after\":7,\"count\":1},{\"endpoint\":\"list_orders\","
	    "\"type\":\"drop\",\"count\":1}]", NULL), 201);
	r = signed_req("GET", "/wp-json/wc/v3/orders", NULL, NULL);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(code_of(&r), "internal_server_error");
	resp_free(&r);
	r = signed_req("GET", "/wp-json/wc/v3/orders", NULL, NULL);
	ck_assert_int_eq(r.status, 429);
	ck_assert(header(&r, "Retry-After", ra, sizeof(ra)));
	ck_assert_str_eq(ra, "7");
	resp_free(&r);
	r = signed_req("GET", "/wp-json/wc/v3/orders", NULL, NULL);
	ck_assert_int_eq(r.cc, CURLE_GOT_NOTHING);
	resp_free(&r);
	/* the faults were for the next request each: the store is back */
	r = signed_req("GET", "/wp-json/wc/v3/orders", NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	/* a timeout holds the request past the client's patience */
	ck_assert_int_eq(fakewc_ctl(fw, "POST", "/_fake/faults",
	    "{\"endpoint\":\"get_order\",\"type\":\"timeout\",\"ms\":2000}",
	    NULL), 201);
	{
		char *u = signed_url(fw, "GET", "/wp-json/wc/v3/orders/19", NULL,
		    0, NULL, NULL, NULL);

		r = http("GET", u, NULL, NULL, 300);
		ck_assert_int_eq(r.cc, CURLE_OPERATION_TIMEDOUT);
		resp_free(&r);
		free(u);
	}
	ck_assert_int_eq(fakewc_ctl(fw, "DELETE", "/_fake/faults", NULL, NULL),
	    200);
	r = signed_req("GET", "/wp-json/wc/v3/orders/19", NULL, NULL);
	ck_assert_int_ne(r.status, 0);
	resp_free(&r);
}
END_TEST

static Suite *
fakewc_suite(void)
{
	Suite *s = suite_create("fakewc");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, oauth_over_http_is_accepted_and_basic_is_refused);
	tcase_add_test(tc, a_replayed_nonce_is_refused);
	tcase_add_test(tc, a_timestamp_outside_fifteen_minutes_is_refused);
	tcase_add_test(tc, a_wrong_secret_or_key_is_refused);
	tcase_add_test(tc, rest_route_is_never_authenticated);
	tcase_add_test(tc, a_trashed_order_reads_200_with_status_trash);
	tcase_add_test(tc, a_deleted_order_reads_404_with_the_exact_code);
	tcase_add_test(tc, list_pages_carry_totals_and_links);
	tcase_add_test(tc, per_page_101_is_a_400);
	tcase_add_test(tc, a_batch_of_101_is_a_413_and_errors_stay_per_item);
	tcase_add_test(tc, meta_is_merged_per_key_and_null_deletes_it);
	tcase_add_test(tc, a_put_fires_a_signed_order_updated_echo);
	tcase_add_test(tc, webhook_creation_sends_the_unsigned_ping);
	tcase_add_test(tc, a_new_paid_order_fires_created_updated_and_payment_complete);
	tcase_add_test(tc, seven_failed_deliveries_disable_a_webhook);
	tcase_add_test(tc, the_same_seed_builds_the_same_store);
	tcase_add_test(tc, stats_count_meta_writes_per_order);
	tcase_add_test(tc, faults_answer_500_429_and_drop_then_clear);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fakewc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
