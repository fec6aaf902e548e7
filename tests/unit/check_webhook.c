/* SPDX-License-Identifier: MIT */
/* webhook.c: what each kind of request means, from real captured deliveries. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "th.h"
#include "tracksies/hmac.h"
#include "tracksies/wc_order.h"
#include "tracksies/webhook.h"

/* A request built from a captured delivery: its headers and raw body. */
struct captured {
	json_t *doc;
	char *body;
	struct webhook_request req;
};

static const char *
header(json_t *doc, const char *name)
{
	return json_string_value(json_object_get(json_object_get(doc, "headers"),
	    name));
}

static void
load(const char *name, struct captured *c)
{
	char rel[512], *meta;
	size_t len;

	memset(c, 0, sizeof(*c));
	snprintf(rel, sizeof(rel), "woocommerce/webhooks/%s.json", name);
	meta = th_fixture(rel, NULL);
	c->doc = json_loads(meta, 0, NULL);
	free(meta);
	ck_assert_ptr_nonnull(c->doc);
	snprintf(rel, sizeof(rel), "woocommerce/webhooks/%s.body", name);
	c->body = th_fixture(rel, &len);
	c->req.topic = header(c->doc, "X-WC-Webhook-Topic");
	c->req.signature = header(c->doc, "X-WC-Webhook-Signature");
	c->req.webhook_id = header(c->doc, "X-WC-Webhook-ID");
	c->req.delivery_id = header(c->doc, "X-WC-Webhook-Delivery-ID");
	c->req.content_type = header(c->doc, "Content-Type");
	c->req.has_wc_headers = c->req.topic != NULL;
	c->req.body = c->body;
	c->req.body_len = len;
}

static void
unload(struct captured *c)
{
	json_decref(c->doc);
	free(c->body);
}

static struct webhook_result
classify(const struct webhook_request *req)
{
	struct hmac_key *key = hmac_key_new(TH_SECRET, strlen(TH_SECRET));
	struct webhook_result res;

	ck_assert_ptr_nonnull(key);
	ck_assert_int_eq(webhook_classify(key, req, &res), TS_OK);
	hmac_key_free(key);
	return res;
}

START_TEST(signed_order_created_is_queued_with_its_order_id)
{
	struct captured c;
	struct webhook_result res;

	load("16-order.created--order-create-processing-paid", &c);
	res = classify(&c.req);
	ck_assert_int_eq(res.verdict, WEBHOOK_QUEUE);
	ck_assert_int_eq(res.order_id, 19);
	ck_assert_int_eq(res.webhook_id, 1);
	unload(&c);
}
END_TEST

START_TEST(payment_complete_action_takes_the_order_id_from_arg)
{
	struct captured c;
	struct webhook_result res;

	load("18-action.woocommerce_payment_complete--order-create-processing-paid", &c);
	res = classify(&c.req);
	ck_assert_int_eq(res.verdict, WEBHOOK_QUEUE);
	ck_assert_int_eq(res.order_id, 19);
	unload(&c);
}
END_TEST

START_TEST(order_deleted_on_trash_is_queued)
{
	struct captured c;
	struct webhook_result res;

	load("43-order.deleted--order-delete-trash", &c);
	res = classify(&c.req);
	ck_assert_int_eq(res.verdict, WEBHOOK_QUEUE);
	ck_assert_int_eq(res.order_id, 28);
	unload(&c);
}
END_TEST

START_TEST(order_restored_is_queued)
{
	struct captured c;

	load("49-order.restored--order-untrash-via-php", &c);
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_QUEUE);
	ck_assert_int_eq(classify(&c.req).order_id, 30);
	unload(&c);
}
END_TEST

START_TEST(creation_ping_is_recognised)
{
	struct captured c;

	load("01-ping--webhook-create-order_created", &c);
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_PING);
	unload(&c);
}
END_TEST

START_TEST(ping_shaped_body_with_wc_headers_is_not_a_ping)
{
	struct webhook_request req = {
		.topic = "order.updated", .content_type =
		"application/x-www-form-urlencoded", .has_wc_headers = 1,
		.body = "webhook_id=2", .body_len = 12,
	};

	ck_assert_int_eq(classify(&req).verdict, WEBHOOK_UNSIGNED);
}
END_TEST

START_TEST(product_and_customer_topics_are_ignored)
{
	struct captured c;

	load("08-product.created--product-create-simple", &c);
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_IGNORED);
	unload(&c);
	load("14-customer.created--customer-create-alice", &c);
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_IGNORED);
	unload(&c);
}
END_TEST

START_TEST(tampered_body_fails_the_signature)
{
	struct captured c;

	load("17-order.updated--order-create-processing-paid", &c);
	c.body[10] ^= 1;
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_BAD_SIGNATURE);
	c.req.signature = NULL;
	ck_assert_int_eq(classify(&c.req).verdict, WEBHOOK_UNSIGNED);
	unload(&c);
}
END_TEST

START_TEST(unknown_topic_with_bad_signature_is_still_refused)
{
	struct webhook_request req = {
		.topic = "coupon.created", .signature = "AAAA", .has_wc_headers = 1,
		.body = "{}", .body_len = 2,
	};

	ck_assert_int_eq(classify(&req).verdict, WEBHOOK_BAD_SIGNATURE);
}
END_TEST

static struct webhook_result
classify_signed(const char *topic, const char *body)
{
	char sig[45];
	struct webhook_request req = {
		.topic = topic, .signature = sig, .has_wc_headers = 1,
		.body = body, .body_len = strlen(body),
	};

	th_sign(TH_SECRET, body, strlen(body), sig);
	return classify(&req);
}

START_TEST(signed_broken_json_is_malformed_with_a_reason)
{
	struct webhook_result res = classify_signed("order.updated", "{\"id\": 19,");

	ck_assert_int_eq(res.verdict, WEBHOOK_MALFORMED);
	ck_assert_ptr_nonnull(strstr(res.reason, "malformed JSON at line 1"));
}
END_TEST

START_TEST(signed_payload_without_an_order_id_is_malformed)
{
	struct webhook_result res;

	res = classify_signed("order.updated", "{\"number\":\"19\"}");
	ck_assert_int_eq(res.verdict, WEBHOOK_MALFORMED);
	ck_assert_ptr_nonnull(strstr(res.reason, "no order id"));
	res = classify_signed("order.updated", "[19]");
	ck_assert_int_eq(res.verdict, WEBHOOK_MALFORMED);
	ck_assert_ptr_nonnull(strstr(res.reason, "not a JSON object"));
	res = classify_signed("action.woocommerce_payment_complete",
	    "{\"action\":\"woocommerce_payment_complete\",\"arg\":\"abc\"}");
	ck_assert_int_eq(res.verdict, WEBHOOK_MALFORMED);
	res = classify_signed("action.woocommerce_payment_complete",
	    "{\"action\":\"woocommerce_payment_complete\",\"arg\":\"31\"}");
	ck_assert_int_eq(res.verdict, WEBHOOK_QUEUE);
	ck_assert_int_eq(res.order_id, 31);
}
END_TEST

START_TEST(syncing_topics_are_the_documented_five)
{
	ck_assert(webhook_topic_syncs("order.created"));
	ck_assert(webhook_topic_syncs("order.updated"));
	ck_assert(webhook_topic_syncs("order.restored"));
	ck_assert(webhook_topic_syncs("order.deleted"));
	ck_assert(webhook_topic_syncs("action.woocommerce_payment_complete"));
	ck_assert(!webhook_topic_syncs("product.created"));
	ck_assert(!webhook_topic_syncs(NULL));
}
END_TEST

/* date_modified_gmt and the other times, as WooCommerce writes them. */
START_TEST(order_times_parse_only_in_woocommerce_form)
{
	static const char *bad[] = { "", "2026-11-23", "2026-11-23T04:46",
	    "2026-1-23T04:46:06", "2026-11-23 04:46:06", " 2026-11-23T04:46:06",
	    "2026-13-23T04:46:06", "2026-11-23T24:00:00", "2026-11-23T04:46:06x",
	    "2026-11-23T04:46:06+01:00", "+026-11-23T04:46:06" };
	int64_t t = -1;

	ck_assert_int_eq(wc_order_parse_time("2026-11-23T04:46:06", &t), TS_OK);
	ck_assert_int_eq(t, 1795409166);
	ck_assert_int_eq(wc_order_parse_time("2026-11-23T04:46:06Z", &t), TS_OK);
	ck_assert_int_eq(t, 1795409166);
	ck_assert_int_eq(wc_order_parse_time("2026-11-23T04:46:06.250+00:00", &t),
	    TS_OK);
	ck_assert_int_eq(t, 1795409166);
	ck_assert_int_eq(wc_order_parse_time("2000-02-29T23:59:60", &t), TS_OK);
	ck_assert_int_eq(t, 951868800);		/* a leap second rolls over */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = -1;
		ck_assert_msg(wc_order_parse_time(bad[i], &t) == TS_ERR_INVALID,
		    "accepted '%s'", bad[i]);
		ck_assert_int_eq(t, 0);
	}
	ck_assert_int_eq(wc_order_parse_time(NULL, &t), TS_ERR_INVALID);
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("classify");

	tcase_add_test(tc, signed_order_created_is_queued_with_its_order_id);
	tcase_add_test(tc, payment_complete_action_takes_the_order_id_from_arg);
	tcase_add_test(tc, order_deleted_on_trash_is_queued);
	tcase_add_test(tc, order_restored_is_queued);
	tcase_add_test(tc, creation_ping_is_recognised);
	tcase_add_test(tc, ping_shaped_body_with_wc_headers_is_not_a_ping);
	tcase_add_test(tc, product_and_customer_topics_are_ignored);
	tcase_add_test(tc, tampered_body_fails_the_signature);
	tcase_add_test(tc, unknown_topic_with_bad_signature_is_still_refused);
	tcase_add_test(tc, signed_broken_json_is_malformed_with_a_reason);
	tcase_add_test(tc, signed_payload_without_an_order_id_is_malformed);
	tcase_add_test(tc, syncing_topics_are_the_documented_five);
	tcase_add_test(tc, order_times_parse_only_in_woocommerce_form);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
