/* SPDX-License-Identifier: MIT */
/*
 * json_scan.c: validity agrees with jansson (an independent parser) on
 * every captured payload and on thousands of mutations of one; members are
 * found where they are.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "th.h"
#include "tracksies/json_scan.h"

static int
scan_ok(const char *text, size_t len)
{
	struct json_scan_error err;

	return json_scan(text, len, NULL, 0, NULL, &err) == TS_OK;
}

static int
jansson_ok(const char *text, size_t len)
{
	json_error_t err;
	json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	json_decref(doc);
	return doc != NULL;
}

START_TEST(valid_and_invalid_documents)
{
	static const char *const good[] = { "{}", "[]", "0", "-0.5e+3", "\"a\\u00e9\\n\"",
		" {\"a\": [1, 2, {\"b\": null}], \"c\": true} ", "\"\xc3\xa9\"", "[false]" };
	static const char *const bad[] = { "", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01",
		"1.", "-", "\"\\x\"", "tru", "{} {}", "\"\x01\"", "\"\xc3\"", "\"\xc0\xaf\"",
		"[1 2]", "{\"a\":1,}", "'a'" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(scan_ok(good[i], strlen(good[i])), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!scan_ok(bad[i], strlen(bad[i])), "%s", bad[i]);
}
END_TEST

START_TEST(top_level_members_are_found_not_nested_ones)
{
	const char *doc = "{\"billing\":{\"id\":7,\"status\":\"x\"},\"id\":19,"
	    "\"status\":\"processing\",\"total\":\"41.82\"}";
	struct json_scan_field f[] = { { .key = "id" }, { .key = "status" },
		{ .key = "total" }, { .key = "missing" } };
	struct json_scan_error err;
	int is_object = 0;

	ck_assert_int_eq(json_scan(doc, strlen(doc), f, 4, &is_object, &err), TS_OK);
	ck_assert(is_object);
	ck_assert_int_eq(f[0].len, 2);
	ck_assert(strncmp(f[0].value, "19", 2) == 0);
	ck_assert(!f[0].is_string);
	ck_assert(f[1].is_string);
	ck_assert(strncmp(f[1].value, "processing", f[1].len) == 0);
	ck_assert_int_eq(f[1].len, 10);
	ck_assert(strncmp(f[2].value, "41.82", f[2].len) == 0);
	ck_assert_ptr_null(f[3].value);
}
END_TEST

START_TEST(errors_say_where)
{
	const char *doc = "{\n  \"id\": 19,\n  \"x\": [1, 2,, 3]\n}";
	struct json_scan_error err;

	ck_assert_int_eq(json_scan(doc, strlen(doc), NULL, 0, NULL, &err),
	    TS_ERR_INVALID);
	ck_assert_int_eq(err.line, 3);
	ck_assert_int_eq(err.column, 14);
}
END_TEST

START_TEST(agrees_with_jansson_on_captured_payloads_and_mutations)
{
	size_t len;
	char *body = th_fixture("woocommerce/webhooks/"
	    "21-order.created--order-create-completed-coupon-fee.body", &len);
	char *copy = malloc(len + 2);
	unsigned seed = 12345;
	static const char bytes[] = "{}[],:\"\\ 0-.eE\x01\xc3\x80tfn";
	int disagreements = 0, invalid = 0;

	ck_assert(scan_ok(body, len));
	ck_assert(jansson_ok(body, len));
	for (int i = 0; i < 3000; i++) {
		size_t n = len, at;
		memcpy(copy, body, len);
		seed = seed * 1103515245u + 12345u;
		at = (seed >> 8) % len;
		switch ((seed >> 4) % 3) {
		case 0: copy[at] = bytes[(seed >> 16) % (sizeof(bytes) - 1)]; break;
		case 1: memmove(copy + at, copy + at + 1, len - at - 1); n--; break;
		default: n = at; break;
		}
		if (scan_ok(copy, n) != jansson_ok(copy, n))
			disagreements++;
		invalid += !scan_ok(copy, n);
	}
	ck_assert_int_eq(disagreements, 0);
	ck_assert_int_gt(invalid, 600);
	free(copy);
	free(body);
}
END_TEST

/*
 * Long strings are skipped sixteen plain bytes at a time (SSE2), then
 * eight: every byte that ends such a run (quote, backslash, control
 * character, UTF-8 lead, bad byte), at every offset of three blocks and of
 * the words and bytes after them, still gets the byte-wise checks. jansson
 * is the oracle; the member's slice must be exact.
 */
START_TEST(special_bytes_at_every_offset_of_a_long_string)
{
	static const char *const specials[] = { "\"", "\\n", "\\u00e9", "\\x",
		"\x01", "\x1f", "\x7f", "\xc3\xa9", "\xc3", "\xff", "\xe2\x82\xac", "\\" };
	char doc[128], value[64];

	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
		for (size_t at = 0; at <= 48; at++) {
			struct json_scan_field f = { .key = "s" };
			struct json_scan_error err;
			int len, ok;

			memset(value, 'a', at);
			value[at] = '\0';
			len = snprintf(doc, sizeof(doc), "{\"s\":\"%s%sbcdefghijk\",\"t\":1}",
			    value, specials[k]);
			ck_assert_int_lt(len, (int)sizeof(doc));
			ok = json_scan(doc, (size_t)len, &f, 1, NULL, &err) == TS_OK;
			ck_assert_msg(ok == jansson_ok(doc, (size_t)len),
			    "special %zu at offset %zu: scanner %d, jansson %d", k, at,
			    ok, !ok);
			if (ok) {
				/* The slice is the string's text, inside the quotes. */
				ck_assert(f.is_string);
				ck_assert_uint_eq(f.len, at + strlen(specials[k]) + 10);
				ck_assert(f.value[-1] == '"' && f.value[f.len] == '"');
			}
		}
	}
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
	char *doc = malloc(2001);

	memset(doc, '[', 1000);
	memset(doc + 1000, ']', 1000);
	doc[2000] = '\0';
	ck_assert(!scan_ok(doc, 2000));
	free(doc);
}
END_TEST

static Suite *
json_scan_suite(void)
{
	Suite *s = suite_create("json_scan");
	TCase *tc = tcase_create("scan");

	tcase_set_timeout(tc, 120);	/* thousands of parses under ASan */

	tcase_add_test(tc, valid_and_invalid_documents);
	tcase_add_test(tc, top_level_members_are_found_not_nested_ones);
	tcase_add_test(tc, errors_say_where);
	tcase_add_test(tc, agrees_with_jansson_on_captured_payloads_and_mutations);
	tcase_add_test(tc, deep_nesting_is_refused);
	tcase_add_test(tc, special_bytes_at_every_offset_of_a_long_string);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_scan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
