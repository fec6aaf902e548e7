/* SPDX-License-Identifier: MIT */
/*
 * Money as integer minor units (cents): parsing WooCommerce's decimal
 * strings ("41.82", "-13.41") and formatting them back. Pure.
 */
#ifndef TRACKSIES_MONEY_H
#define TRACKSIES_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

/*
 * Parse text ("12", "12.5", "-13.41") with decimals fractional digits
 * (0..4) into *minor ("12.5" with 2 -> 1250). More fractional digits than
 * decimals round half away from zero. TS_ERR_INVALID for anything else
 * (empty, letters, exponent, overflow).
 */
enum ts_rc money_parse(const char *text, int decimals, int64_t *minor);

/* Format minor with decimals digits into buf ("1250", 2 -> "12.50"). */
void money_format(int64_t minor, int decimals, char *buf, size_t size);

#endif
