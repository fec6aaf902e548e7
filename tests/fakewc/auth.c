/* SPDX-License-Identifier: MIT */
/*
 * Key authentication exactly as WooCommerce 8.4's WC_REST_Authentication
 * (includes/class-wc-rest-authentication.php): over HTTPS, consumer key and
 * secret as HTTP Basic or as query parameters; then, over either scheme,
 * one-legged OAuth 1.0a in the query string (or an "Authorization: OAuth"
 * header), its signature computed over the parameters as PHP parsed them,
 * a 15-minute timestamp window and the nonce list WooCommerce keeps: one
 * nonce per timestamp second. Plain-HTTP Basic credentials are ignored.
 */
#include "fakewc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WINDOW_S (15 * 60)

struct sparam {
	char *key;
	char *val;		/* scalar */
	char **subs, **vals;	/* array elements, in order */
	size_t n;
	bool is_array;
	int next_index;
};

struct sparams {
	struct sparam *p;
	size_t n;
};

static struct sparam *
find(struct sparams *ps, const char *key, bool create)
{
	struct sparam *p;

	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].key, key) == 0)
			return &ps->p[i];
	if (!create)
		return NULL;
	p = realloc(ps->p, (ps->n + 1) * sizeof(*p));
	if (p == NULL)
		abort();
	ps->p = p;
	p = &ps->p[ps->n++];
	memset(p, 0, sizeof(*p));
	p->key = util_xstrdup(key);
	return p;
}

static void
clear_value(struct sparam *p)
{
	free(p->val);
	for (size_t i = 0; i < p->n; i++) {
		free(p->subs[i]);
		free(p->vals[i]);
	}
	free(p->subs);
	free(p->vals);
	p->val = NULL;
	p->subs = p->vals = NULL;
	p->n = 0;
	p->next_index = 0;
}

static void
set_scalar(struct sparams *ps, const char *key, const char *val)
{
	struct sparam *p = find(ps, key, true);

	clear_value(p);
	p->is_array = false;
	p->val = util_xstrdup(val);
}

static void
set_element(struct sparams *ps, const char *key, const char *sub,
    const char *val)
{
	struct sparam *p = find(ps, key, true);
	char idx[24];

	if (!p->is_array)
		clear_value(p);
	p->is_array = true;
	if (*sub == '\0') {
		snprintf(idx, sizeof(idx), "%d", p->next_index);
		sub = idx;
	}
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->subs[i], sub) == 0) {
			free(p->vals[i]);
			p->vals[i] = util_xstrdup(val);
			return;
		}
	p->subs = realloc(p->subs, (p->n + 1) * sizeof(char *));
	p->vals = realloc(p->vals, (p->n + 1) * sizeof(char *));
	if (p->subs == NULL || p->vals == NULL)
		abort();
	p->subs[p->n] = util_xstrdup(sub);
	p->vals[p->n] = util_xstrdup(val);
	p->n++;
	if (isdigit((unsigned char)sub[0]) && atoi(sub) >= p->next_index)
		p->next_index = atoi(sub) + 1;
}

static void
sparams_free(struct sparams *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		clear_value(&ps->p[i]);
		free(ps->p[i].key);
	}
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

static const char *
scalar(struct sparams *ps, const char *key)
{
	struct sparam *p = find(ps, key, false);

	return p && !p->is_array ? p->val : NULL;
}

/* WC_REST_Authentication::parse_header: oauth_x="v" pairs, urldecode()d. */
static void
header_params(const char *h, struct sparams *ps)
{
	const char *p;

	while (*h == ' ')
		h++;
	if (strncmp(h, "OAuth ", 6) != 0)
		return;
	for (p = strstr(h, "oauth_"); p != NULL; p = strstr(p, "oauth_")) {
		const char *k = p, *eq, *v, *end;
		char *key, *val;

		while (*p && (islower((unsigned char)*p) || *p == '_' ||
		    *p == '-'))
			p++;
		if (*p != '=')
			continue;
		eq = p;
		v = eq + 1;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
			if (end == NULL)
				break;
			p = end + 1;
		} else {
			end = strchr(v, ',');
			if (end == NULL)
				end = v + strlen(v);
			p = end;
		}
		key = strndup(k, (size_t)(eq - k));
		val = util_urldecode(v, (size_t)(end - v), true);
		if (key == NULL)
			abort();
		set_scalar(ps, key, val);
		free(key);
		free(val);
	}
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct sparam *)a)->key,
	    ((const struct sparam *)b)->key);
}

static void
add_pair(struct util_buf *out, const char *enc_key, const char *val)
{
	struct util_buf pair = { 0 };

	if (out->len)
		util_buf_adds(out, "%26");
	util_buf_adds(&pair, enc_key);
	util_buf_adds(&pair, "=");
	util_rawurlencode(&pair, val, strlen(val));
	util_rawurlencode(out, pair.p, pair.len);
	util_buf_free(&pair);
}

/* check_oauth_signature: METHOD&enc(url)&normalised, sorted parameters. */
static char *
base_string(struct fake *f, const struct http_req *r, struct sparams *ps)
{
	struct util_buf b = { 0 }, q = { 0 }, k = { 0 }, url = { 0 };

	qsort(ps->p, ps->n, sizeof(*ps->p), cmp_key);
	for (size_t i = 0; i < ps->n; i++) {
		const struct sparam *p = &ps->p[i];

		util_buf_free(&k);
		util_rawurlencode(&k, p->key, strlen(p->key));
		if (!p->is_array) {
			add_pair(&q, k.p, p->val);
			continue;
		}
		for (size_t j = 0; j < p->n; j++) {
			struct util_buf ak = { 0 };

			util_buf_addf(&ak, "%s%%5B%s%%5D", k.p, p->subs[j]);
			add_pair(&q, ak.p, p->vals[j]);
			util_buf_free(&ak);
		}
	}
	for (const char *m = r->method; *m; m++)
		util_buf_add(&b, &(char){ (char)toupper((unsigned char)*m) }, 1);
	util_buf_adds(&b, "&");
	util_buf_addf(&url, "%s%s", f->store->site, r->raw_path);
	util_rawurlencode(&b, url.p, url.len);
	util_buf_adds(&b, "&");
	if (q.p != NULL)
		util_buf_add(&b, q.p, q.len);
	util_buf_free(&q);
	util_buf_free(&k);
	util_buf_free(&url);
	return util_buf_take(&b);
}

static json_t *
auth_error(const char *message)
{
	return shape_error("woocommerce_rest_authentication_error", message,
	    401);
}

static json_t *
check_nonce(struct fake *f, const char *ts, const char *nonce)
{
	int64_t now = util_now(), t;
	const char *k;
	json_t *v, *tmp;
	char *end;

	t = strtoll(ts, &end, 10);
	if (*ts == '\0' || *end != '\0' || t < now - WINDOW_S ||
	    t > now + WINDOW_S)
		return auth_error("Invalid timestamp.");
	pthread_mutex_lock(&f->nonce_lock);
	json_object_foreach(f->nonces, k, v)
		if (strcmp(json_string_value(v), nonce) == 0) {
			pthread_mutex_unlock(&f->nonce_lock);
			return auth_error(
			    "Invalid nonce - nonce has already been used.");
		}
	/* $used_nonces[ $timestamp ] = $nonce: one nonce per second is kept. */
	json_object_set_new(f->nonces, ts, json_string(nonce));
	json_object_foreach_safe(f->nonces, tmp, k, v)
		if (strtoll(k, NULL, 10) < now - WINDOW_S)
			json_object_del(f->nonces, k);
	pthread_mutex_unlock(&f->nonce_lock);
	return NULL;
}

static json_t *
oauth(struct fake *f, const struct http_req *r, bool *tried)
{
	static const char *const names[] = { "oauth_consumer_key",
		"oauth_timestamp", "oauth_nonce", "oauth_signature",
		"oauth_signature_method" };
	struct sparams ps = { 0 };
	struct util_buf missing = { 0 };
	const char *h = http_header(r, "Authorization"), *method;
	char *base = NULL, *given = NULL, *sig_in, mac[96];
	json_t *err = NULL;
	int have = 0, nmissing = 0;

	for (size_t i = 0; i < r->n_params; i++) {
		const struct http_param *p = &r->params[i];

		if (p->is_array)
			set_element(&ps, p->key, p->sub, p->value);
		else
			set_scalar(&ps, p->key, p->value);
	}
	if (h != NULL)
		header_params(h, &ps);
	for (size_t i = 0; i < 5; i++) {
		const char *v = scalar(&ps, names[i]);

		if (v == NULL || *v == '\0' || strcmp(v, "0") == 0) {
			util_buf_addf(&missing, "%s%s", nmissing ? ", " : "",
			    names[i]);
			nmissing++;
		} else {
			have++;
		}
	}
	*tried = have > 0;
	if (have == 0)
		goto out;
	if (nmissing > 0) {
		struct util_buf m = { 0 };

		util_buf_addf(&m, "Missing OAuth parameter%s %s",
		    nmissing > 1 ? "s" : "", missing.p);
		err = shape_error("woocommerce_rest_authentication_missing_parameter",
		    m.p, 401);
		util_buf_free(&m);
		goto out;
	}
	if (strcmp(scalar(&ps, "oauth_consumer_key"), f->consumer_key) != 0) {
		err = auth_error("Consumer key is invalid.");
		goto out;
	}
	sig_in = util_xstrdup(scalar(&ps, "oauth_signature"));
	for (char *c = sig_in; *c; c++)
		if (*c == ' ')
			*c = '+';
	given = util_urldecode(sig_in, strlen(sig_in), false);
	free(sig_in);
	{
		/* unset( $params['oauth_signature'] ) */
		struct sparam *sp = find(&ps, "oauth_signature", false);

		if (sp != NULL) {
			clear_value(sp);
			free(sp->key);
			*sp = ps.p[--ps.n];
		}
	}
	method = scalar(&ps, "oauth_signature_method");
	base = base_string(f, r, &ps);
	if (strcmp(method, "HMAC-SHA1") && strcmp(method, "HMAC-SHA256")) {
		err = auth_error("Invalid signature - signature method is invalid.");
		goto out;
	}
	{
		struct util_buf key = { 0 };

		util_buf_addf(&key, "%s&", f->consumer_secret);
		if (!util_hmac_b64(strcmp(method, "HMAC-SHA1") ? "sha256" : "sha1",
		    key.p, key.len, base, strlen(base), mac))
			mac[0] = '\0';
		util_buf_free(&key);
	}
	if (!util_str_eq_ct(mac, given)) {
		err = auth_error(
		    "Invalid signature - provided signature does not match.");
		goto out;
	}
	err = check_nonce(f, scalar(&ps, "oauth_timestamp"),
	    scalar(&ps, "oauth_nonce"));
out:
	free(base);
	free(given);
	util_buf_free(&missing);
	sparams_free(&ps);
	return err;
}

static bool
basic_credentials(const struct http_req *r, char **user, char **pass)
{
	const char *ck = http_query(r, "consumer_key");
	const char *cs = http_query(r, "consumer_secret");
	const char *h = http_header(r, "Authorization");
	unsigned char *dec;
	size_t n;
	char *colon;

	*user = *pass = NULL;
	if (ck != NULL && *ck && cs != NULL && *cs) {
		*user = util_xstrdup(ck);
		*pass = util_xstrdup(cs);
		return true;
	}
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	if ((dec = util_b64_decode(h + 6, &n)) == NULL)
		return false;
	*user = util_xmalloc(n + 1);
	memcpy(*user, dec, n);
	(*user)[n] = '\0';
	free(dec);
	if ((colon = strchr(*user, ':')) == NULL || colon == *user ||
	    colon[1] == '\0') {
		free(*user);
		*user = NULL;
		return false;
	}
	*colon = '\0';
	*pass = util_xstrdup(colon + 1);
	return true;
}

enum auth_result
auth_check(struct fake *f, const struct http_req *r, json_t **error)
{
	json_t *err = NULL, *oerr;
	char *user = NULL, *pass = NULL;
	bool tried = false, ok = false;

	*error = NULL;
	if (f->tls && basic_credentials(r, &user, &pass) &&
	    strcmp(user, f->consumer_key) == 0) {
		if (util_str_eq_ct(pass, f->consumer_secret))
			ok = true;
		else
			err = auth_error("Consumer secret is invalid.");
	}
	free(user);
	free(pass);
	if (ok)
		return AUTH_OK;
	/* perform_oauth_authentication runs even after a Basic failure; its
	 * error replaces the earlier one, and an earlier one survives success. */
	if ((oerr = oauth(f, r, &tried)) != NULL) {
		json_decref(err);
		err = oerr;
	}
	if (err != NULL) {
		*error = err;
		return AUTH_ERROR;
	}
	return tried ? AUTH_OK : AUTH_NONE;
}
