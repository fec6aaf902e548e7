/* SPDX-License-Identifier: MIT */
/*
 * JSON text written straight into a growing buffer: the admin API's large
 * answers (a profile's orders, a page of the customer list) are written
 * from the rows this way instead of as a jansson tree that is then
 * serialised, which cost several times as much, mostly in malloc.
 */
#include "tracksies/jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/money.h"
#include "tracksies/wc_order.h"

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->fail)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 131072;
		char *grown;

		while (cap < w->len + n + 1)
			cap *= 2;
		if ((grown = realloc(w->buf, cap)) == NULL) {
			w->fail = true;
			return;
		}
		w->buf = grown;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void
jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (0: invalid). */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
	    (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && p[0] < 0xc2)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD. NULL is null. */
void
jw_str(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	if (s == NULL) {
		jw_lit(w, "null");
		return;
	}
	jw_raw(w, "\"", 1);
	while (*p != '\0') {
		const unsigned char *run = p;
		size_t n;

		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		jw_raw(w, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p++;
			jw_raw(w, esc, 2);
		} else if (*p < 0x20) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", *p++);
			jw_raw(w, esc, 6);
		} else if ((n = utf8_len(p)) > 0) {
			jw_raw(w, (const char *)p, n);
			p += n;
		} else {
			jw_lit(w, "\xef\xbf\xbd");
			p++;
		}
	}
	jw_raw(w, "\"", 1);
}

/* ,"key": — the comma only after a first member. */
void
jw_key(struct jw *w, const char *key)
{
	if (w->comma)
		jw_raw(w, ",", 1);
	w->comma = true;
	jw_str(w, key);
	jw_raw(w, ":", 1);
}

void
jw_open(struct jw *w, const char *key, const char *bracket)
{
	if (key != NULL)
		jw_key(w, key);
	else if (w->comma)
		jw_raw(w, ",", 1);
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

