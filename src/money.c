/* SPDX-License-Identifier: MIT */
/*
 * Decimal strings <-> int64 minor units. No floating point anywhere: a
 * float cannot hold 0.10 and LTV is a sum of thousands of them.
 */
#include "tracksies/money.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

enum ts_rc
money_parse(const char *text, int decimals, int64_t *minor)
{
	const char *p = text;
	bool negative = false, any = false;
	int64_t v = 0;
	int frac = 0;

	*minor = 0;
	if (text == NULL || decimals < 0 || decimals > 4)
		return TS_ERR_INVALID;
	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, any = true) {
		if (v > (INT64_MAX - 9) / 10)
			return TS_ERR_INVALID;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, any = true) {
			if (frac < decimals) {
				if (v > (INT64_MAX - 9) / 10)
					return TS_ERR_INVALID;
				v = v * 10 + (*p - '0');
				frac++;
			} else if (frac == decimals) {
				/* First dropped digit decides the rounding. */
				v += *p >= '5';
				frac++;
			}
		}
	}
	if (!any || *p != '\0')
		return TS_ERR_INVALID;
	for (frac = frac > decimals ? decimals : frac; frac < decimals; frac++) {
		if (v > INT64_MAX / 10)
			return TS_ERR_INVALID;
		v *= 10;
	}
	*minor = negative ? -v : v;
	return TS_OK;
}

/*
 * Digits written by hand, not with snprintf: a profile formats some 400
 * amounts, and snprintf was a sixth of its work.
 */
void
money_format(int64_t minor, int decimals, char *buf, size_t size)
{
	uint64_t v = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	int d = decimals < 0 ? 0 : decimals > 4 ? 4 : decimals;
	char tmp[32], *p = tmp + sizeof(tmp);
	size_t n;

	for (int i = 0; i < d; i++) {
		*--p = (char)('0' + v % 10);
		v /= 10;
	}
	if (d > 0)
		*--p = '.';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (minor < 0)
		*--p = '-';
	if (size == 0)
		return;
	n = (size_t)(tmp + sizeof(tmp) - p);
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}
