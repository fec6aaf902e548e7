/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: wc_order_parse on jansson-parsed input - the mapping of a
 * REST order (or a webhook payload) to struct wc_order - and what sync.c
 * does next with a parsed order: its digest, its email and dates.
 *
 * Input: one byte whose low three bits are the store's decimals (5..7 are
 * out of range and must be refused), then a JSON document.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tracksies/money.h"
#include "tracksies/wc_order.h"

#include "fuzz_targets.h"

int
fuzz_wc_order(const uint8_t *data, size_t size)
{
	struct wc_order *o = NULL;
	json_error_t jerr;
	json_t *doc;
	int decimals;
	enum ts_rc rc;

	if (size < 1)
		return 0;
	decimals = data[0] & 7;
	doc = json_loadb((const char *)data + 1, size - 1,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (doc == NULL)
		return 0;
	rc = wc_order_parse(doc, decimals, &o);
	if (rc == TS_OK) {
		int64_t t;
		char *email;

		if (o == NULL || o->id <= 0 || o->status == NULL ||
		    (o->n_items > 0 && o->items == NULL) ||
		    (o->n_refunds > 0 && o->refunds == NULL))
			abort();
		if (wc_order_digest(o) == 0)
			abort();
		if (o->email != NULL) {
			/* Normalising a normalised email changes nothing. */
			if ((email = wc_order_normalize_email(o->email)) == NULL ||
			    strcmp(email, o->email) != 0)
				abort();
			free(email);
		}
		(void)wc_order_parse_time(json_string_value(json_object_get(doc,
		    "date_created_gmt")), &t);
	} else if (o != NULL) {
		abort();
	}
	if (json_is_string(json_object_get(doc, "total"))) {
		int64_t minor;
		char buf[32];
		int64_t again;

		/* Whatever parses prints back to the same amount. */
		if (money_parse(json_string_value(json_object_get(doc, "total")),
		    decimals, &minor) == TS_OK) {
			money_format(minor, decimals, buf, sizeof(buf));
			if (money_parse(buf, decimals, &again) != TS_OK || again != minor)
				abort();
		}
	}
	wc_order_free(o);
	json_decref(doc);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_wc_order(data, size);
}
#endif
