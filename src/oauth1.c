/* SPDX-License-Identifier: MIT */
/*
 * One-legged OAuth 1.0a signing, matched line by line to WooCommerce's
 * WC_REST_Authentication: check_oauth_signature builds the base string,
 * normalize_parameters and join_with_equals_sign encode keys and values with
 * wc_rest_urlencode_rfc3986 (rawurlencode), uksort(strcmp) orders them. This
 * module only signs; sending the request is wc_client.c's business.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tracksies/oauth1.h"

#define SIG_METHOD "HMAC-SHA256"

/* A growable string; on allocation failure it stays failed. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 128;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* PHP rawurlencode(); wc_rest_urlencode_rfc3986 adds nothing to it. */
static void
sb_enc(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];
	size_t i, run;

	for (i = 0; i < n; i += run) {
		run = 0;
		while (i + run < n && unreserved((unsigned char)s[i + run]))
			run++;
		if (run > 0) {
			sb_add(b, s + i, run);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[(unsigned char)s[i] >> 4];
		esc[2] = hex[(unsigned char)s[i] & 0x0f];
		sb_add(b, esc, 3);
		run = 1;
	}
}

enum ts_rc
oauth1_encode(const char *s, size_t len, char **out)
{
	struct sbuf b = { 0 };

	*out = NULL;
	sb_add(&b, "", 0);
	sb_enc(&b, s, len);
	if (b.oom) {
		free(b.p);
		return TS_ERR_NOMEM;
	}
	*out = b.p;
	return TS_OK;
}

enum ts_rc
oauth1_nonce(char out[OAUTH1_NONCE_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t i;

	if (RAND_bytes(raw, (int)sizeof(raw)) != 1) {
		out[0] = '\0';
		return TS_ERR_IO;
	}
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[2 * sizeof(raw)] = '\0';
	return TS_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * PHP urldecode(), as parse_str fills $_GET: '+' is a space, %XX a byte, and
 * a '%' not followed by two hex digits stays literal. *out is a new
 * NUL-terminated string; a decoded NUL cannot travel in one, so it is
 * refused (TS_ERR_INVALID).
 */
static enum ts_rc
php_urldecode(const char *s, size_t n, char **out)
{
	char *d;
	size_t i, j = 0;
	int hi, lo;

	*out = NULL;
	if ((d = malloc(n + 1)) == NULL)
		return TS_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			d[j++] = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			d[j] = (char)(hi << 4 | lo);
			if (d[j] == '\0') {
				free(d);
				return TS_ERR_INVALID;
			}
			j++;
			i += 2;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	*out = d;
	return TS_OK;
}

struct param {
	char *key;		/* decoded */
	char *val;		/* decoded */
};

static int
param_cmp(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->key,
	    ((const struct param *)b)->key);
}

/*
 * Keys PHP stores in $_GET unchanged and array_merge keeps: no dots or
 * spaces (turned into '_'), no brackets (arrays), not an integer (renumbered
 * from 0 by array_merge($_GET, $_POST)).
 */
static bool
key_is_plain(const char *k)
{
	size_t i;

	if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') ||
	    k[0] == '_'))
		return false;
	for (i = 1; k[i] != '\0'; i++) {
		unsigned char c = (unsigned char)k[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
is_upper_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < 'A' || *s > 'Z')
			return false;
	return true;
}

/*
 * The base string over the query's parameters plus the four oauth_* ones we
 * add (every one but oauth_signature, which WooCommerce unsets first).
 */
static enum ts_rc
build_base(const char *method, const char *url, const char *ck,
    const char *nonce, long timestamp, char **out)
{
	struct param *ps = NULL;
	struct sbuf b = { 0 }, kv = { 0 };
	const char *q, *p, *amp, *eq;
	size_t nps = 0, cap, i, base_len;
	char ts[24];
	enum ts_rc rc;

	*out = NULL;
	if (method == NULL || url == NULL || ck == NULL || nonce == NULL ||
	    !is_upper_token(method) || *ck == '\0' || *nonce == '\0' ||
	    timestamp < 0 || strchr(url, '#') != NULL ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return TS_ERR_INVALID;
	(void)snprintf(ts, sizeof(ts), "%ld", timestamp);

	q = strchr(url, '?');
	base_len = q != NULL ? (size_t)(q - url) : strlen(url);

	cap = 4;
	for (p = q; p != NULL; p = strchr(p + 1, '&'))
		cap++;
	if ((ps = calloc(cap, sizeof(*ps))) == NULL)
		return TS_ERR_NOMEM;

	/* The query as PHP's parse_str reads it: empty pieces are skipped. */
	for (p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';
	    p = amp != NULL ? amp + 1 : NULL) {
		size_t n;

		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		if ((rc = php_urldecode(p, eq != NULL ? (size_t)(eq - p) : n,
		    &ps[nps].key)) != TS_OK)
			goto out;
		if (eq != NULL)
			rc = php_urldecode(eq + 1, n - (size_t)(eq - p) - 1,
			    &ps[nps].val);
		else
			rc = php_urldecode("", 0, &ps[nps].val);
		nps++;
		if (rc != TS_OK)
			goto out;
		if (!key_is_plain(ps[nps - 1].key) ||
		    strncmp(ps[nps - 1].key, "oauth_", 6) == 0) {
			rc = TS_ERR_INVALID;
			goto out;
		}
	}

	ps[nps].key = strdup("oauth_consumer_key");
	ps[nps++].val = strdup(ck);
	ps[nps].key = strdup("oauth_nonce");
	ps[nps++].val = strdup(nonce);
	ps[nps].key = strdup("oauth_signature_method");
	ps[nps++].val = strdup(SIG_METHOD);
	ps[nps].key = strdup("oauth_timestamp");
	ps[nps++].val = strdup(ts);
	for (i = nps - 4; i < nps; i++) {
		if (ps[i].key == NULL || ps[i].val == NULL) {
			rc = TS_ERR_NOMEM;
			goto out;
		}
	}

	/* uksort($params, 'strcmp'); PHP keys are unique, so are ours. */
	qsort(ps, nps, sizeof(*ps), param_cmp);
	for (i = 1; i < nps; i++) {
		if (strcmp(ps[i - 1].key, ps[i].key) == 0) {
			rc = TS_ERR_INVALID;
			goto out;
		}
	}

	/*
	 * $base_request_uri = rawurlencode(get_home_url(null, $request_path)):
	 * the home URL plus the raw request path, i.e. our URL minus its query.
	 */
	sb_str(&b, method);
	sb_add(&b, "&", 1);
	sb_enc(&b, url, base_len);
	sb_add(&b, "&", 1);
	for (i = 0; i < nps; i++) {
		/*
		 * normalize_parameters encodes key and value;
		 * join_with_equals_sign encodes "key=value" once more; implode
		 * joins with '%26'.
		 */
		kv.len = 0;
		sb_add(&kv, "", 0);
		sb_enc(&kv, ps[i].key, strlen(ps[i].key));
		sb_add(&kv, "=", 1);
		sb_enc(&kv, ps[i].val, strlen(ps[i].val));
		if (kv.oom)
			break;
		if (i > 0)
			sb_add(&b, "%26", 3);
		sb_enc(&b, kv.p, kv.len);
	}
	if (b.oom || kv.oom) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	rc = TS_OK;
out:
	for (i = 0; i < cap; i++) {
		free(ps[i].key);
		free(ps[i].val);
	}
	free(ps);
	free(b.p);
	free(kv.p);
	return rc;
}

enum ts_rc
oauth1_base_string(const char *method, const char *url,
    const char *consumer_key, const char *nonce, long timestamp, char **out)
{
	return build_base(method, url, consumer_key, nonce, timestamp, out);
}

enum ts_rc
oauth1_sign_url(const char *method, const char *url,
    const char *consumer_key, const char *consumer_secret, const char *nonce,
    long timestamp, char **signed_url_out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char sig[EVP_ENCODE_LENGTH(EVP_MAX_MD_SIZE) + 1];
	char ts[24];
	char *base = NULL, *key = NULL;
	size_t cs_len;
	struct sbuf b = { 0 };
	enum ts_rc rc;

	*signed_url_out = NULL;
	if (consumer_secret == NULL)
		return TS_ERR_INVALID;
	if ((rc = build_base(method, url, consumer_key, nonce, timestamp,
	    &base)) != TS_OK)
		return rc;

	/* $secret = $user->consumer_secret . '&' (no token secret). */
	cs_len = strlen(consumer_secret);
	if (cs_len > INT_MAX - 1 || (key = malloc(cs_len + 2)) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	memcpy(key, consumer_secret, cs_len);
	key[cs_len] = '&';
	key[cs_len + 1] = '\0';
	if (HMAC(EVP_sha256(), key, (int)(cs_len + 1),
	    (const unsigned char *)base, strlen(base), mac, &mac_len) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	(void)EVP_EncodeBlock((unsigned char *)sig, mac, (int)mac_len);
	(void)snprintf(ts, sizeof(ts), "%ld", timestamp);

	sb_str(&b, url);
	sb_add(&b, strchr(url, '?') != NULL ? "&" : "?", 1);
	sb_str(&b, "oauth_consumer_key=");
	sb_enc(&b, consumer_key, strlen(consumer_key));
	sb_str(&b, "&oauth_nonce=");
	sb_enc(&b, nonce, strlen(nonce));
	sb_str(&b, "&oauth_signature_method=" SIG_METHOD "&oauth_timestamp=");
	sb_str(&b, ts);
	sb_str(&b, "&oauth_signature=");
	sb_enc(&b, sig, strlen(sig));
	if (b.oom) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	*signed_url_out = b.p;
	b.p = NULL;
	rc = TS_OK;
out:
	if (key != NULL) {
		OPENSSL_cleanse(key, cs_len + 2);
		free(key);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(sig, sizeof(sig));
	free(base);
	if (b.p != NULL) {
		OPENSSL_cleanse(b.p, b.cap);
		free(b.p);
	}
	return rc;
}
