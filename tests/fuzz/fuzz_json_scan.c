/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: json_scan, the validating scanner intake runs on every
 * delivery, cross-checked against jansson: both must agree on whether the
 * input is JSON. Known, accepted disagreements (tests/fuzz/README.md):
 *   - jansson refuses numbers it cannot hold (integers beyond int64, reals
 *     beyond double) that RFC 8259 allows; json_scan accepts them;
 *   - jansson refuses a \u escape that is a lone or reversed UTF-16
 *     surrogate (RFC 8259 section 8.2 leaves those to the parser);
 *   - json_scan refuses nesting deeper than 512, jansson at 2048;
 *   - jansson accepts some texts holding a raw NUL byte (it takes the NUL
 *     for the end of a token: "3\0", "{\"a\":1\0}"). A raw NUL is never
 *     valid JSON (outside strings it is no token, inside one a control
 *     character), so json_scan must refuse every such text instead.
 * Anything else aborts. The fields found must also point inside the input.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tracksies/json_scan.h"

#include "fuzz_targets.h"

int
fuzz_json_scan(const uint8_t *data, size_t size)
{
	struct json_scan_field f[] = {
		{ .key = "id" }, { .key = "status" }, { .key = "total" },
		{ .key = "refunds" }, { .key = "date_modified_gmt" }, { .key = "" },
	};
	const size_t nf = sizeof(f) / sizeof(f[0]);
	struct json_scan_error err;
	json_error_t jerr;
	json_t *doc;
	char *buf;
	int is_object = -1, scan_ok, jansson_ok;

	/* A buffer of the exact size, not NUL-terminated: over-reads show. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	scan_ok = json_scan(buf, size, f, nf, &is_object, &err) == TS_OK;
	if (scan_ok) {
		for (size_t i = 0; i < nf; i++) {
			if (f[i].value == NULL)
				continue;
			if (f[i].value < buf || f[i].value + f[i].len > buf + size)
				abort();
		}
		if (is_object != 0 && is_object != 1)
			abort();
	} else if (memchr(err.text, '\0', sizeof(err.text)) == NULL ||
	    err.line < 1 || err.column < 1) {
		abort();
	}

	if (scan_ok && memchr(buf, '\0', size) != NULL)
		abort();
	doc = json_loadb(buf, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	jansson_ok = doc != NULL;
	if (jansson_ok && scan_ok && is_object != json_is_object(doc))
		abort();
	if (scan_ok && !jansson_ok) {
		enum json_error_code code = json_error_code(&jerr);
		/* Valid JSON jansson refuses: "\u0000" in a key is one. */
		if (code != json_error_numeric_overflow &&
		    code != json_error_stack_overflow &&
		    code != json_error_null_byte_in_key &&
		    strstr(jerr.text, "invalid Unicode") == NULL)
			abort();
	} else if (!scan_ok && jansson_ok) {
		if (strcmp(err.text, "nested too deeply") != 0 &&
		    memchr(buf, '\0', size) == NULL)
			abort();
	}
	json_decref(doc);
	free(buf);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_json_scan(data, size);
}
#endif
