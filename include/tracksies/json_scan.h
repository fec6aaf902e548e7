/* SPDX-License-Identifier: MIT */
/*
 * A validating JSON scanner that builds no tree: it checks a whole document
 * against RFC 8259 and hands back where chosen top-level members of an
 * object sit in the buffer. Intake uses it on every delivery, where
 * building a jansson tree of a 5 KB order cost more than the fsync. Pure.
 */
#ifndef TRACKSIES_JSON_SCAN_H
#define TRACKSIES_JSON_SCAN_H

#include <stddef.h>

#include "tracksies/rc.h"

/* One top-level member to find. The scanner fills value/len/is_string. */
struct json_scan_field {
	const char *key;	/* member name, plain ASCII, no escapes */
	const char *value;	/* NULL when absent; points into the buffer */
	size_t len;		/* of the value; for a string, inside the quotes */
	int is_string;
	int count;		/* for an array: its number of elements */
	size_t key_len;		/* set by json_scan: strlen(key) */
};

struct json_scan_error {
	int line;		/* 1-based */
	int column;		/* 1-based, in bytes */
	char text[96];
};

/*
 * Validate buf[0..len) as one JSON value. When it is an object, fill
 * fields[0..n) from its top-level members (the last one wins, as in most
 * parsers); is_object (may be NULL) says whether it was an object. TS_OK,
 * or TS_ERR_INVALID with *err filled. Nesting deeper than 512 is refused.
 */
enum ts_rc json_scan(const char *buf, size_t len, struct json_scan_field *fields,
    size_t n, int *is_object, struct json_scan_error *err);

#endif
