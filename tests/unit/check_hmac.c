/* SPDX-License-Identifier: MIT */
/* hmac.c: known vectors and every real captured WooCommerce delivery. */
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "th.h"
#include "tracksies/hmac.h"

START_TEST(rfc4231_vector_matches)
{
	char out[HMAC_B64_SIZE];
	const char *msg = "what do ya want for nothing?";

	ck_assert_int_eq(hmac_sha256_b64("Jefe", 4, msg, strlen(msg), out), TS_OK);
	/* RFC 4231 test case 2, 5bdcc146...ec3843, in base64. */
	ck_assert_str_eq(out, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
	ck_assert(hmac_verify("Jefe", msg, strlen(msg),
	    "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="));
}
END_TEST

START_TEST(empty_body_and_empty_key_are_signable)
{
	char out[HMAC_B64_SIZE];

	ck_assert_int_eq(hmac_sha256_b64("", 0, "", 0, out), TS_OK);
	/* HMAC-SHA256("", "") = b613679a...e5c7ad */
	ck_assert_str_eq(out, "thNnmggU2ex3L5XXeMNfxf8Wl8STcVZTxscSFEKSxa0=");
}
END_TEST

START_TEST(key_longer_than_a_block_is_hashed_first)
{
	unsigned char key[131];
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	char out[HMAC_B64_SIZE];

	memset(key, 0xaa, sizeof(key));
	ck_assert_int_eq(hmac_sha256_b64(key, sizeof(key), msg, strlen(msg), out),
	    TS_OK);
	/* RFC 4231 test case 6, 60e43159...e37f54, in base64. */
	ck_assert_str_eq(out, "YOQxWR7gtn8Niiaqy/W3f44LxiE3KMUUBUYEDw7jf1Q=");
}
END_TEST

/* The daemon sets its secret up once and signs every delivery with it. */
START_TEST(a_key_set_up_once_signs_every_message_alike)
{
	const char *secret = "s3cret", *bodies[] = { "{\"id\":19}", "", "{}" };
	struct hmac_key *k = hmac_key_new(secret, strlen(secret));
	char once[HMAC_B64_SIZE], fresh[HMAC_B64_SIZE];

	ck_assert_ptr_nonnull(k);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < 3; i++) {
			size_t n = strlen(bodies[i]);

			ck_assert_int_eq(hmac_key_sign_b64(k, bodies[i], n, once), TS_OK);
			ck_assert_int_eq(hmac_sha256_b64(secret, strlen(secret),
			    bodies[i], n, fresh), TS_OK);
			ck_assert_str_eq(once, fresh);
			ck_assert(hmac_key_verify(k, bodies[i], n, fresh));
			ck_assert(!hmac_key_verify(k, "x", 1, fresh));
		}
	ck_assert(!hmac_key_verify(k, "{}", 2, NULL));
	ck_assert(!hmac_key_verify(NULL, "{}", 2, once));
	hmac_key_free(k);
	hmac_key_free(NULL);
}
END_TEST

START_TEST(wrong_missing_or_truncated_signature_is_refused)
{
	const char *body = "{\"id\":19}";
	char good[HMAC_B64_SIZE];

	ck_assert_int_eq(hmac_sha256_b64("s3cret", 6, body, strlen(body), good), TS_OK);
	ck_assert(hmac_verify("s3cret", body, strlen(body), good));
	ck_assert(!hmac_verify("s3cret", body, strlen(body), NULL));
	ck_assert(!hmac_verify("s3cret", body, strlen(body), ""));
	ck_assert(!hmac_verify("other", body, strlen(body), good));
	ck_assert(!hmac_verify("s3cret", "{\"id\":20}", 9, good));
	good[43] = '\0';	/* drop the padding */
	ck_assert(!hmac_verify("s3cret", body, strlen(body), good));
}
END_TEST

START_TEST(every_real_captured_delivery_verifies)
{
	DIR *d;
	struct dirent *e;
	char path[1024];
	int checked = 0;

	snprintf(path, sizeof(path), "%s/woocommerce/webhooks", TS_FIXTURES_DIR);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), body_len;
		char rel[512], *body, *meta;
		json_t *doc, *sig;

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(rel, sizeof(rel), "woocommerce/webhooks/%s", e->d_name);
		meta = th_fixture(rel, NULL);
		doc = json_loads(meta, 0, NULL);
		free(meta);
		ck_assert_ptr_nonnull(doc);
		sig = json_object_get(json_object_get(doc, "headers"),
		    "X-WC-Webhook-Signature");
		snprintf(rel, sizeof(rel), "woocommerce/webhooks/%.*s.body",
		    (int)(n - 5), e->d_name);
		body = th_fixture(rel, &body_len);
		if (sig == NULL) {
			/* Pings carry no signature. */
			ck_assert(strncmp(body, "webhook_id=", 11) == 0);
		} else {
			ck_assert_msg(hmac_verify(TH_SECRET, body, body_len,
			    json_string_value(sig)), "%s", e->d_name);
			ck_assert(!hmac_verify("not-the-secret", body, body_len,
			    json_string_value(sig)));
			checked++;
		}
		free(body);
		json_decref(doc);
	}
	closedir(d);
	ck_assert_int_ge(checked, 40);
}
END_TEST

START_TEST(string_compare_is_exact)
{
	ck_assert(hmac_str_equal("abc", "abc"));
	ck_assert(!hmac_str_equal("abc", "abd"));
	ck_assert(!hmac_str_equal("abc", "abcd"));
	ck_assert(hmac_str_equal("", ""));
}
END_TEST

static Suite *
hmac_suite(void)
{
	Suite *s = suite_create("hmac");
	TCase *tc = tcase_create("signatures");

	tcase_add_test(tc, rfc4231_vector_matches);
	tcase_add_test(tc, empty_body_and_empty_key_are_signable);
	tcase_add_test(tc, key_longer_than_a_block_is_hashed_first);
	tcase_add_test(tc, a_key_set_up_once_signs_every_message_alike);
	tcase_add_test(tc, wrong_missing_or_truncated_signature_is_refused);
	tcase_add_test(tc, every_real_captured_delivery_verifies);
	tcase_add_test(tc, string_compare_is_exact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hmac_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
