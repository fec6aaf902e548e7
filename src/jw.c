/* SPDX-License-Identifier: MIT */
/*
 * JSON text written straight into a growing buffer: the admin API's large
 * answers (a profile's orders, a page of the customer list) are written
 * from the rows this way instead of as a jansson tree that is then
 * serialised, which cost several times as much, mostly in malloc.
 */
#include "tracksies/jw.h"

#include <stdlib.h>
#include <string.h>

#include "tracksies/money.h"
#include "tracksies/wc_order.h"

/* Room for n more bytes and the NUL; false (and fail) when out of memory. */
static bool
reserve(struct jw *w, size_t n)
{
	size_t cap;
	char *grown;

	if (w->fail)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	for (cap = w->cap ? w->cap * 2 : 8192; cap < w->len + n + 1; cap *= 2)
		;
	if ((grown = realloc(w->buf, cap)) == NULL) {
		w->fail = true;
		return false;
	}
	w->buf = grown;
	w->cap = cap;
	return true;
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void
jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/*
 * Length of the valid UTF-8 sequence at p (0: invalid). Strict as jansson
 * is: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 :
	    p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/*
 * A JSON string; invalid UTF-8 becomes U+FFFD. NULL is null. Room for the
 * worst case (every byte a \u00XX) is made once, then the bytes are
 * written in place: one call per string, not one per run of plain bytes.
 */
void
jw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char *o;

	if (s == NULL) {
		jw_lit(w, "null");
		return;
	}
	if (!reserve(w, strlen(s) * 6 + 2))
		return;
	o = w->buf + w->len;
	*o++ = '"';
	while (*p != '\0') {
		size_t n;

		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			*o++ = (char)*p++;
		} else if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p++;
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 0xf];
			o += 6;
			p++;
		} else if ((n = utf8_len(p)) > 0) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o++ = '"';
	*o = '\0';
	w->len = (size_t)(o - w->buf);
}

/*
 * ,"key": -- the comma only after a first member; key needs no escaping.
 * An array element (key NULL) gets only its comma.
 */
void
jw_key(struct jw *w, const char *key)
{
	size_t n;
	char *o;

	if (key == NULL) {
		if (w->comma)
			jw_raw(w, ",", 1);
		w->comma = true;
		return;
	}
	n = strlen(key);
	if (!reserve(w, n + 4))
		return;
	o = w->buf + w->len;
	if (w->comma)
		*o++ = ',';
	w->comma = true;
	*o++ = '"';
	memcpy(o, key, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	*o = '\0';
	w->len = (size_t)(o - w->buf);
}

void
jw_open(struct jw *w, const char *key, const char *bracket)
{
	jw_key(w, key);
	jw_lit(w, bracket);
	w->comma = false;
}

void
jw_close(struct jw *w, const char *bracket)
{
	jw_lit(w, bracket);
	w->comma = true;
}

void
jw_int(struct jw *w, const char *key, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	jw_key(w, key);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	jw_raw(w, p, (size_t)(buf + sizeof(buf) - p));
}

void
jw_col_int(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	jw_int(w, key, sqlite3_column_int64(st, col));
}

void
jw_col_int_or_null(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		jw_key(w, key);
		jw_lit(w, "null");
		return;
	}
	jw_int(w, key, sqlite3_column_int64(st, col));
}

void
jw_col_text(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	jw_key(w, key);
	jw_str(w, (const char *)sqlite3_column_text(st, col));
}

void
jw_col_time(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	char buf[40];

	jw_key(w, key);
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		jw_lit(w, "null");
		return;
	}
	wc_order_format_time(sqlite3_column_int64(st, col), buf, sizeof(buf) - 1);
	strcat(buf, "Z");
	jw_str(w, buf);
}

void
jw_money(struct jw *w, const char *key, int64_t minor, int decimals)
{
	char buf[48];

	money_format(minor, decimals, buf, sizeof(buf));
	jw_key(w, key);
	jw_str(w, buf);
}

/* Stored JSON text as it is; empty stands for fallback ("{}" or null). */
void
jw_col_stored(struct jw *w, const char *key, sqlite3_stmt *st, int col,
    const char *fallback)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	size_t n = t != NULL ? strlen(t) : 0;

	jw_key(w, key);
	if (n >= 2 && ((t[0] == '{' && t[n - 1] == '}') ||
	    (t[0] == '[' && t[n - 1] == ']')))
		jw_raw(w, t, n);
	else
		jw_lit(w, fallback);
}

