/* SPDX-License-Identifier: MIT */
/*
 * fakewc utilities: growable strings, dates as WordPress prints and parses
 * them, money in cents, PHP's URL encodings, OpenSSL digests, a seeded PRNG
 * and a sleep that SIGTERM interrupts. No state but the stop flag.
 */
#include "fakewc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void *
util_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

char *
util_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = util_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

void
util_buf_add(struct util_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
util_buf_adds(struct util_buf *b, const char *s)
{
	util_buf_add(b, s, strlen(s));
}

void
util_buf_addf(struct util_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n < sizeof(small)) {
		util_buf_add(b, small, (size_t)n);
		return;
	}
	{
		char *big = util_xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		util_buf_add(b, big, (size_t)n);
		free(big);
	}
}

void
util_buf_free(struct util_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

char *
util_buf_take(struct util_buf *b)
{
	char *p = b->p;

	if (p == NULL)
		p = util_xstrdup("");
	memset(b, 0, sizeof(*b));
	return p;
}

int64_t
util_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's days_from_civil: portable timegm for the proleptic calendar. */
int64_t
util_timegm(int y, int mon, int d, int h, int mi, int s)
{
	int64_t era, yoe, doy, doe, days;

	y -= mon <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

void
util_fmt_date(int64_t t, char out[20])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		out[0] = '\0';
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
util_parse_date(const char *s, int64_t *wall, bool *has_tz, int *tz_s)
{
	int y, mo, d, h, mi, se, th = 0, tm = 0;
	const char *p;

	*has_tz = false;
	*tz_s = 0;
	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		*has_tz = true;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (!digits(p + 1, 2, &th))
			return false;
		p += 3;
		if (*p == ':')
			p++;
		if (*p != '\0') {
			if (!digits(p, 2, &tm))
				return false;
			p += 2;
		}
		*has_tz = true;
		*tz_s = sign * (th * 3600 + tm * 60);
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 59)
		return false;
	*wall = util_timegm(y, mo, d, h, mi, se);
	return true;
}

void
util_money(int64_t cents, char out[32])
{
	int64_t a = cents < 0 ? -cents : cents;

	snprintf(out, 32, "%s%lld.%02lld", cents < 0 ? "-" : "",
	    (long long)(a / 100), (long long)(a % 100));
}

void
util_decimal(int64_t num, int scale, char out[40])
{
	int64_t a = num < 0 ? -num : num, div = 1;
	char frac[24], tmp[96];
	size_t len;
	int n;

	for (int i = 0; i < scale; i++)
		div *= 10;
	n = snprintf(frac, sizeof(frac), "%0*lld", scale,
	    (long long)(a % div));
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s%lld%s%s", num < 0 ? "-" : "",
	    (long long)(a / div), n ? "." : "", frac);
	len = strlen(tmp);
	if (len > 39)
		len = 39;
	memcpy(out, tmp, len);
	out[len] = '\0';
}

bool
util_parse_money(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	int nfrac = 0;
	bool neg = false, any = false;

	if (*s == '-') {
		neg = true;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, any = true)
		whole = whole * 10 + (*s - '0');
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, any = true)
			if (nfrac < 2) {
				frac = frac * 10 + (*s - '0');
				nfrac++;
			}
	}
	if (*s != '\0' || !any || whole > 100000000000LL)
		return false;
	while (nfrac++ < 2)
		frac *= 10;
	*cents = (whole * 100 + frac) * (neg ? -1 : 1);
	return true;
}

static const char hexdig[] = "0123456789ABCDEF";

static void
encode(struct util_buf *b, const char *s, size_t len, bool raw)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || (raw && c == '~')) {
			util_buf_add(b, (const char *)&c, 1);
		} else if (!raw && c == ' ') {
			util_buf_add(b, "+", 1);
		} else {
			esc[0] = '%';
			esc[1] = hexdig[c >> 4];
			esc[2] = hexdig[c & 15];
			util_buf_add(b, esc, 3);
		}
	}
}

void
util_rawurlencode(struct util_buf *b, const char *s, size_t len)
{
	encode(b, s, len, true);
}

void
util_urlencode(struct util_buf *b, const char *s, size_t len)
{
	encode(b, s, len, false);
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

char *
util_urldecode(const char *s, size_t len, bool plus_space)
{
	char *out = util_xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (plus_space && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static void
digest_hex(const EVP_MD *md, const char *s, size_t len, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(s, len, d, &n, md, NULL) != 1)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
util_md5_hex(const char *s, size_t len, char out[33])
{
	digest_hex(EVP_md5(), s, len, out);
}

void
util_sha256_hex(const char *s, size_t len, char out[65])
{
	digest_hex(EVP_sha256(), s, len, out);
}

bool
util_hmac_b64(const char *md, const char *key, size_t keylen,
    const char *data, size_t len, char out[96])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const EVP_MD *m = strcmp(md, "sha1") == 0 ? EVP_sha1() : EVP_sha256();

	if (HMAC(m, key, (int)keylen, (const unsigned char *)data, len, mac,
	    &n) == NULL)
		return false;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
	return true;
}

unsigned char *
util_b64_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s);
	unsigned char *out;
	int n;

	if (len == 0 || len % 4 != 0)
		return NULL;
	out = util_xmalloc(len);
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len)) < 0) {
		free(out);
		return NULL;
	}
	if (len >= 1 && s[len - 1] == '=')
		n--;
	if (len >= 2 && s[len - 2] == '=')
		n--;
	*outlen = (size_t)n;
	return out;
}

bool
util_str_eq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

json_t *
util_php_number(double v)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

char *
util_json_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ESCAPE_SLASH |
	    JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);

	if (s == NULL)
		abort();
	return s;
}

void
util_rng_seed(struct util_rng *r, uint64_t seed)
{
	r->s = seed ^ 0x5DEECE66DULL;
}

/* splitmix64: tiny, fast, and the same sequence on every platform. */
uint64_t
util_rng_next(struct util_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint32_t
util_rng_below(struct util_rng *r, uint32_t n)
{
	return n ? (uint32_t)(util_rng_next(r) % n) : 0;
}

bool
util_rng_pct(struct util_rng *r, uint32_t pct)
{
	return util_rng_below(r, 100) < pct;
}

static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stop_flag;		/* guarded by stop_lock */

bool
util_sleep_ms(int64_t ms)
{
	struct timespec until;
	bool stopped;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&stop_lock);
	while (!stop_flag) {
		if (pthread_cond_timedwait(&stop_cond, &stop_lock, &until) ==
		    ETIMEDOUT)
			break;
	}
	stopped = stop_flag;
	pthread_mutex_unlock(&stop_lock);
	return !stopped;
}

void
util_stop_all(void)
{
	pthread_mutex_lock(&stop_lock);
	stop_flag = true;
	pthread_cond_broadcast(&stop_cond);
	pthread_mutex_unlock(&stop_lock);
}

bool
util_stopping(void)
{
	bool s;

	pthread_mutex_lock(&stop_lock);
	s = stop_flag;
	pthread_mutex_unlock(&stop_lock);
	return s;
}
