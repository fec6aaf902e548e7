/* SPDX-License-Identifier: MIT */
/*
 * sync.c: what a fetched order means, on real WooCommerce 8.4 orders
 * (tests/fixtures/woocommerce/rest), against a real migrated SQLite file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "th.h"
#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/sync.h"

static char *dir;
static char db_path[512];
static struct db *db;
static struct sync *sy;
static char *statuses[] = { "processing", "completed" };

static void
setup(void)
{
	struct sync_settings set = {
		.store_currency = "USD", .qualifying_statuses = statuses,
		.n_qualifying_statuses = 2, .decimals = 2,
	};

	dir = th_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/s.db", dir);
	ck_assert_int_eq(db_open(db_path, &db, NULL), TS_OK);
	ck_assert_int_eq(migrate_apply(db, migrate_embedded,
	    migrate_embedded_count, NULL, NULL, NULL), TS_OK);
	ck_assert_int_eq(sync_new(db, &set, &sy), TS_OK);
}

static void
teardown(void)
{
	sync_free(sy);
	db_close(db);
	th_rmrf(dir);
}

/* The order body of a captured REST exchange, e.g. "37-order-get". */
static json_t *
order(const char *name)
{
	char rel[256], *text;
	json_t *doc, *body;

	snprintf(rel, sizeof(rel), "woocommerce/rest/%s.json", name);
	text = th_fixture(rel, NULL);
	doc = json_loads(text, 0, NULL);
	free(text);
	ck_assert_ptr_nonnull(doc);
	body = json_incref(json_object_get(doc, "body"));
	json_decref(doc);
	return body;
}

static struct sync_result
apply(json_t *doc, int64_t now)
{
	struct sync_result r;

	ck_assert_int_eq(db_begin(db), TS_OK);
	ck_assert_int_eq(sync_apply_order(sy, doc, now, &r), TS_OK);
	ck_assert_int_eq(db_commit(db), TS_OK);
	return r;
}

static void
apply_name(const char *name, int64_t now)
{
	json_t *doc = order(name);
	struct sync_result r = apply(doc, now);

	sync_result_fini(&r);
	json_decref(doc);
}

static long long
q(const char *sql)
{
	sqlite3_int64 v = -1;

	ck_assert_int_eq(db_query_int64(db, sql, &v), TS_OK);
	return v;
}

/* Value of key in a planned meta_data array, or NULL; "null" for null. */
static const char *
planned(const json_t *meta, const char *key)
{
	size_t i;
	json_t *m;

	json_array_foreach(meta, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0) {
			json_t *v = json_object_get(m, "value");
			return json_is_null(v) ? "null" : json_string_value(v);
		}
	}
	return NULL;
}

/* The doc as the store returns it after our meta was written. */
static void
store_meta(json_t *doc, const json_t *meta)
{
	json_t *md = json_object_get(doc, "meta_data");
	size_t i;
	json_t *m;

	json_array_foreach(meta, i, m)
		json_array_append_new(md, json_pack("{s:i,s:O,s:O}", "id", 900 + (int)i,
		    "key", json_object_get(m, "key"), "value", json_object_get(m, "value")));
}

START_TEST(one_order_makes_one_customer_with_its_metrics_and_meta)
{
	json_t *doc = order("37-order-get");
	struct sync_result r = apply(doc, 1000);

	ck_assert_ptr_null(r.error_code);
	ck_assert(r.counted);
	ck_assert(r.customer_created);
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 1);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 4182);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(q("SELECT aov_minor FROM customers"), 4182);
	ck_assert_int_eq(q("SELECT first_order_at = last_order_at FROM customers"), 1);
	ck_assert_int_eq(q("SELECT wp_user_id FROM customers"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM customers WHERE email ="
	    " 'alice@example.test' AND first_name = 'Alice' AND phone = '+1 510 555 0101'"), 1);
	ck_assert_int_eq(q("SELECT item_count FROM orders WHERE id = 19"), 3);
	ck_assert_int_eq(q("SELECT count(*) FROM order_items WHERE order_id = 19"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync WHERE order_id = 19"
	    " AND state = 'synced' AND writeback IS NOT NULL"), 1);
	ck_assert_str_eq(planned(r.meta, "_tracksies_customer_id"), "1");
	ck_assert_str_eq(planned(r.meta, "_tracksies_synced"), "1000");
	ck_assert_ptr_null(planned(r.meta, "_tracksies_sync_error"));
	sync_result_fini(&r);
	json_decref(doc);
}
END_TEST

START_TEST(echo_of_our_own_write_plans_nothing)
{
	json_t *doc = order("37-order-get");
	struct sync_result r = apply(doc, 1000), again;

	store_meta(doc, r.meta);
	again = apply(doc, 1005);
	ck_assert_ptr_null(again.meta);
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync WHERE writeback IS NULL"), 1);
	sync_result_fini(&r);
	sync_result_fini(&again);
	json_decref(doc);
}
END_TEST

START_TEST(same_order_five_times_never_inflates)
{
	for (int i = 0; i < 5; i++)
		apply_name("37-order-get", 1000 + i);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 4182);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM transactions"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM order_items"), 2);
}
END_TEST

START_TEST(orders_of_one_email_roll_up_to_one_customer)
{
	json_t *a = order("37-order-get");
	json_t *b = order("27-order-create-completed-coupon-fee");
	json_t *c = order("35-order-get-partially-refunded");

	/* Mixed case and padding, and one of them a guest checkout. */
	json_object_set_new(json_object_get(b, "billing"), "email",
	    json_string("  Alice@Example.TEST "));
	json_object_set_new(c, "customer_id", json_integer(0));
	sync_result_fini(&(struct sync_result){ .meta = apply(a, 10).meta });
	sync_result_fini(&(struct sync_result){ .meta = apply(b, 11).meta });
	sync_result_fini(&(struct sync_result){ .meta = apply(c, 12).meta });
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 1);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 3);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 4182 + 10023 + 5899);
	ck_assert_int_eq(q("SELECT aov_minor FROM customers"), (4182 + 10023 + 5899 + 1) / 3);
	ck_assert_int_eq(q("SELECT coupon_order_count FROM customers"), 1);
	/* The guest checkout does not unlink the WordPress account. */
	ck_assert_int_eq(q("SELECT wp_user_id FROM customers"), 2);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(partial_refund_keeps_ltv_and_shows_the_refund)
{
	apply_name("33-order-create-for-partial-refund", 10);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 5899);
	apply_name("35-order-get-partially-refunded", 20);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 5899);
	ck_assert_int_eq(q("SELECT refunded_minor FROM customers"), 1341);
	ck_assert_int_eq(q("SELECT refund_count FROM customers"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM order_refunds WHERE id = 27"), 1);
}
END_TEST

START_TEST(cancelled_and_refunded_orders_stop_counting)
{
	apply_name("31-order-create-for-refund", 10);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 1800);
	apply_name("32-order-update-refunded", 20);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 0);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 0);
	ck_assert_int_eq(q("SELECT refunded_minor FROM customers"), 1800);
	apply_name("30-order-update-cancelled", 30);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM orders"), 2);
}
END_TEST

START_TEST(status_flip_flop_ends_where_the_store_is)
{
	json_t *doc = order("37-order-get");
	const char *steps[] = { "completed", "cancelled", "processing", "on-hold", "completed" };

	for (int i = 0; i < 5; i++) {
		struct sync_result r;
		json_object_set_new(doc, "status", json_string(steps[i]));
		r = apply(doc, 100 + i);
		sync_result_fini(&r);
	}
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 4182);
	json_decref(doc);
}
END_TEST

START_TEST(order_without_billing_email_fails_with_no_customer)
{
	json_t *doc = order("26-order-create-guest-pending-no-email");
	struct sync_result r = apply(doc, 10);

	ck_assert_str_eq(r.error_code, "no_billing_email");
	ck_assert_int_eq(r.customer_id, 0);
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync WHERE order_id = 20 AND"
	    " state = 'failed' AND error_code = 'no_billing_email'"), 1);
	ck_assert_str_eq(planned(r.meta, "_tracksies_sync_error"),
	    "no_billing_email: the order has no billing email");
	ck_assert_ptr_null(planned(r.meta, "_tracksies_synced"));
	sync_result_fini(&r);
	json_decref(doc);
}
END_TEST

START_TEST(trashed_order_is_not_found_and_leaves_the_metrics)
{
	json_t *doc = order("37-order-get");
	struct sync_result r = apply(doc, 10);
	int64_t alice = r.customer_id;

	sync_result_fini(&r);
	json_object_set_new(doc, "status", json_string("trash"));
	r = apply(doc, 20);
	ck_assert_str_eq(r.error_code, "order_not_found");
	ck_assert_ptr_null(r.meta);
	ck_assert_int_eq(r.customer_id, 0);
	ck_assert_int_eq(r.old_customer_id, alice);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 0);
	ck_assert_int_eq(q("SELECT status = 'trash' FROM orders WHERE id = 19"), 1);
	ck_assert_int_eq(db_begin(db), TS_OK);
	ck_assert_int_eq(sync_apply_missing(sy, 19, false, 30, &r), TS_OK);
	ck_assert_int_eq(db_commit(db), TS_OK);
	ck_assert_int_eq(q("SELECT status = 'deleted' FROM orders WHERE id = 19"), 1);
	ck_assert_int_eq(r.old_customer_id, alice);
	json_decref(doc);
}
END_TEST

START_TEST(older_order_synced_late_does_not_overwrite_profile)
{
	json_t *newer = order("35-order-get-partially-refunded");
	json_t *older = order("37-order-get");

	json_object_set_new(json_object_get(newer, "billing"), "phone",
	    json_string("+1 510 555 9999"));
	sync_result_fini(&(struct sync_result){ .meta = apply(newer, 10).meta });
	sync_result_fini(&(struct sync_result){ .meta = apply(older, 20).meta });
	ck_assert_int_eq(q("SELECT count(*) FROM customers WHERE phone = '+1 510 555 9999'"), 1);
	ck_assert_int_eq(q("SELECT profile_order_id FROM customers"), 26);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 2);
	json_decref(newer);
	json_decref(older);
}
END_TEST

START_TEST(checkout_draft_leaves_no_trace)
{
	json_t *doc = order("37-order-get");
	struct sync_result r;

	json_object_set_new(doc, "status", json_string("checkout-draft"));
	r = apply(doc, 10);
	ck_assert(r.ignored);
	ck_assert_ptr_null(r.meta);
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM orders"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM order_sync"), 0);
	json_decref(doc);
}
END_TEST

START_TEST(other_currency_is_kept_out_of_ltv)
{
	json_t *doc = order("27-order-create-completed-coupon-fee");

	apply_name("37-order-get", 10);
	json_object_set_new(doc, "currency", json_string("EUR"));
	sync_result_fini(&(struct sync_result){ .meta = apply(doc, 20).meta });
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers"), 4182);
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM transactions WHERE currency = 'EUR'"), 1);
	json_decref(doc);
}
END_TEST

START_TEST(pending_order_is_stored_but_gets_no_synced_meta)
{
	json_t *doc = order("57-order-get-restored");
	struct sync_result r = apply(doc, 10);

	ck_assert_ptr_null(r.error_code);
	ck_assert(!r.counted);
	ck_assert_ptr_null(planned(r.meta, "_tracksies_synced"));
	ck_assert_str_eq(planned(r.meta, "_tracksies_customer_id"), "1");
	ck_assert_int_eq(q("SELECT order_count FROM customers"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM orders WHERE id = 30"), 1);
	sync_result_fini(&r);
	json_decref(doc);
}
END_TEST

START_TEST(email_change_moves_the_order_between_customers)
{
	json_t *doc = order("37-order-get");
	struct sync_result r = apply(doc, 10);
	int64_t alice = r.customer_id;

	ck_assert_int_eq(r.old_customer_id, 0);
	sync_result_fini(&r);
	json_object_set_new(json_object_get(doc, "billing"), "email",
	    json_string("alice.new@example.test"));
	r = apply(doc, 20);
	/* The customer it left is named, so its tags can follow at once. */
	ck_assert_int_eq(r.old_customer_id, alice);
	ck_assert_int_ne(r.customer_id, alice);
	sync_result_fini(&r);
	ck_assert_int_eq(q("SELECT count(*) FROM customers"), 2);
	ck_assert_int_eq(q("SELECT order_count FROM customers WHERE email = 'alice@example.test'"), 0);
	ck_assert_int_eq(q("SELECT ltv_minor FROM customers WHERE email = 'alice.new@example.test'"), 4182);
	/* Applied again: it moved nothing this time. */
	r = apply(doc, 30);
	ck_assert_int_eq(r.old_customer_id, 0);
	sync_result_fini(&r);
	json_decref(doc);
}
END_TEST

static Suite *
sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("orders");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_order_makes_one_customer_with_its_metrics_and_meta);
	tcase_add_test(tc, echo_of_our_own_write_plans_nothing);
	tcase_add_test(tc, same_order_five_times_never_inflates);
	tcase_add_test(tc, orders_of_one_email_roll_up_to_one_customer);
	tcase_add_test(tc, partial_refund_keeps_ltv_and_shows_the_refund);
	tcase_add_test(tc, cancelled_and_refunded_orders_stop_counting);
	tcase_add_test(tc, status_flip_flop_ends_where_the_store_is);
	tcase_add_test(tc, order_without_billing_email_fails_with_no_customer);
	tcase_add_test(tc, trashed_order_is_not_found_and_leaves_the_metrics);
	tcase_add_test(tc, older_order_synced_late_does_not_overwrite_profile);
	tcase_add_test(tc, checkout_draft_leaves_no_trace);
	tcase_add_test(tc, other_currency_is_kept_out_of_ltv);
	tcase_add_test(tc, pending_order_is_stored_but_gets_no_synced_meta);
	tcase_add_test(tc, email_change_moves_the_order_between_customers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sync_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
