/* SPDX-License-Identifier: MIT */
/*
 * A JSON text writer: values appended to a buffer that grows, for answers
 * written straight from SQLite rows. Members are written with a key; array
 * elements with key NULL. Commas are placed by the writer. Out of memory
 * is sticky: w->fail is set and the text is unusable.
 *
 *	struct jw w = { 0 };
 *	jw_open(&w, NULL, "{");
 *	jw_int(&w, "id", 7);
 *	jw_close(&w, "}");
 *	... w.buf (owned, free()), w.len, unless w.fail
 */
#ifndef TRACKSIES_JW_H
#define TRACKSIES_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct jw {
	char *buf;		/* NUL-terminated text, owned */
	size_t len;
	size_t cap;
	bool fail;		/* out of memory: the text is unusable */
	bool comma;		/* a value precedes at this level */
};

/* n bytes as they are (already JSON), and a C string as it is. */
void jw_raw(struct jw *w, const char *s, size_t n);
void jw_lit(struct jw *w, const char *s);

/* A JSON string, escaped; invalid UTF-8 becomes U+FFFD. NULL is null. */
void jw_str(struct jw *w, const char *s);

/* ,"key": -- the comma only after a first member. key is a literal name
 * with nothing to escape (the callers' own member names); NULL for an
 * array element writes only its comma. */
void jw_key(struct jw *w, const char *key);

/* Open "{" or "[" as member key (NULL: an array element), and close it. */
void jw_open(struct jw *w, const char *key, const char *bracket);
void jw_close(struct jw *w, const char *bracket);

/* Members from values or from column col of st's current row. */
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_col_int(struct jw *w, const char *key, sqlite3_stmt *st, int col);
void jw_col_int_or_null(struct jw *w, const char *key, sqlite3_stmt *st,
    int col);
void jw_col_text(struct jw *w, const char *key, sqlite3_stmt *st, int col);
void jw_col_time(struct jw *w, const char *key, sqlite3_stmt *st, int col);
void jw_money(struct jw *w, const char *key, int64_t minor, int decimals);

/* Stored JSON text as it is; fallback ("{}", "null") unless {...}/[...]. */
void jw_col_stored(struct jw *w, const char *key, sqlite3_stmt *st, int col,
    const char *fallback);

#endif
