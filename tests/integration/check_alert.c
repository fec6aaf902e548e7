/* SPDX-License-Identifier: MIT */
/*
 * alert.c against a real SMTP server on 127.0.0.1 (tests/helpers/smtp_sink):
 * exactly one email per order of a do_not_serve customer, with customer,
 * order number, total and the wp-admin links; retried with backoff while
 * the server is down; recorded in the audit log; no credentials in clear.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ith.h"
#include "smtp_sink.h"
#include "th.h"
#include "tracksies/alert.h"
#include "tracksies/db.h"
#include "tracksies/status.h"

#define T0 ITH_T0

static char *dir;
static struct db *db;
static struct smtp_sink *sink;
static char url[64];
static struct alert_smtp smtp;

static void
setup(void)
{
	db = ith_open(&dir);
	sink = smtp_sink_start(0, 0);
	ck_assert_ptr_nonnull(sink);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", smtp_sink_port(sink));
	smtp = (struct alert_smtp){
		.url = url, .from = "tracksiesd <alerts@shop.test>",
		.to = "owner@shop.test", .store_url = "https://shop.test",
		.timeout_ms = 5000,
	};
}

static void
teardown(void)
{
	smtp_sink_stop(sink);
	db_close(db);
	th_rmrf(dir);
}

/* A customer (banned at `banned`, or not when 0) with one order at `at`. */
static int64_t
customer_with_order(const char *email, int64_t banned, int64_t order_id,
    int64_t at)
{
	int64_t c = ith_customer(db, email);

	ith_exec(db, "UPDATE customers SET first_name = 'Mallory', last_name ="
	    " 'Example'");
	if (banned != 0)
		ck_assert_int_eq(status_set(db, c, "do_not_serve", "alice",
		    "chargeback fraud", banned), TS_OK);
	ith_order_uncounted(db, c, order_id, at, 12345, "processing");
	return c;
}

static bool
note(int64_t c, int64_t order_id, int64_t now)
{
	bool queued = false;

	ck_assert_int_eq(alert_note_order(db, c, order_id, now, &queued), TS_OK);
	return queued;
}

static struct alert_report
deliver(int64_t now)
{
	struct alert_report r;

	ck_assert_int_eq(alert_deliver_pending(db, &smtp, now, &r), TS_OK);
	return r;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		ck_abort_msg("expected \"%s\" in:\n%s", needle, hay);
}

START_TEST(one_email_per_order_of_a_banned_customer)
{
	int64_t c = customer_with_order("mallory@example.test", T0, 4872, T0 + 60);
	struct alert_report r;
	char *msg;

	ck_assert(note(c, 4872, T0 + 61));
	/* The order seen again (updates, echoes): still one alert. */
	ck_assert(!note(c, 4872, T0 + 62));
	ck_assert(!note(c, 4872, T0 + 63));
	r = deliver(T0 + 61);
	ck_assert_int_eq(r.sent, 1);
	ck_assert_int_eq(r.failed, 0);
	ck_assert_int_eq(r.next_due_at, 0);
	ck_assert_int_eq(deliver(T0 + 7200).sent, 0);
	ck_assert(!note(c, 4872, T0 + 7300));
	ck_assert_int_eq(deliver(T0 + 7300).sent, 0);
	ck_assert_int_eq(smtp_sink_count(sink), 1);

	msg = smtp_sink_message(sink, 0);
	assert_contains(msg, "MAIL FROM:<alerts@shop.test>");
	assert_contains(msg, "RCPT TO:<owner@shop.test>");
	assert_contains(msg, "Subject: [tracksies] Do-Not-Serve customer placed"
	    " order #4872");
	assert_contains(msg, "Customer: Mallory Example (customer #1)");
	assert_contains(msg, "Email:    mallory@example.test");
	assert_contains(msg, "Banned:   chargeback fraud");
	assert_contains(msg, "Order:    #4872, processing, placed 2023-11-15 00:01 UTC");
	assert_contains(msg, "Total:    123.45 USD");
	assert_contains(msg, "https://shop.test/wp-admin/post.php?post=4872&action=edit");
	assert_contains(msg, "https://shop.test/wp-admin/admin.php?page=wc-orders"
	    "&action=edit&id=4872");
	free(msg);

	ck_assert_int_eq(ith_int(db, "SELECT sent_at FROM alert_outbox WHERE"
	    " order_id = 4872"), T0 + 61);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " customer_id = %lld AND action = 'alert_sent' AND actor = 'system'"
	    " AND field = 'order' AND new_value = '4872' AND at = %lld",
	    (long long)c, (long long)(T0 + 61)), 1);
}
END_TEST

START_TEST(no_alert_for_customers_in_good_standing_or_old_orders)
{
	int64_t ok = customer_with_order("ok@example.test", 0, 1, T0);
	int64_t old = customer_with_order("old@example.test", T0 + 3600, 2, T0);

	ck_assert(!note(ok, 1, T0 + 10));
	/* Placed before the ban (an import, an old order updated): no news. */
	ck_assert(!note(old, 2, T0 + 7200));
	ith_order_uncounted(db, old, 3, T0 + 3600, 500, "pending");
	ck_assert(note(old, 3, T0 + 7200));
	ith_order_uncounted(db, old, 4, T0 + 7000, 500, "trash");
	ck_assert(!note(old, 4, T0 + 7200));
	ck_assert_int_eq(deliver(T0 + 7200).sent, 1);
	ck_assert_int_eq(smtp_sink_count(sink), 1);
}
END_TEST

START_TEST(a_server_that_is_down_is_retried_with_backoff)
{
	int64_t c = customer_with_order("mallory@example.test", T0, 77, T0 + 5);
	uint16_t port = smtp_sink_port(sink);
	struct alert_report r;

	/* Down: nothing listens on the port any more. */
	smtp_sink_stop(sink);
	sink = NULL;
	ck_assert(note(c, 77, T0 + 10));
	r = deliver(T0 + 10);
	ck_assert_int_eq(r.sent, 0);
	ck_assert_int_eq(r.failed, 1);
	ck_assert_int_eq(r.next_due_at, T0 + 10 + ALERT_RETRY_FIRST_S);
	ck_assert_ptr_nonnull(strstr(r.last_error, "onnect"));
	ck_assert_int_eq(ith_int(db, "SELECT attempts FROM alert_outbox"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT last_error IS NOT NULL FROM"
	    " alert_outbox"), 1);
	/* Not due yet: no attempt. */
	r = deliver(T0 + 20);
	ck_assert_int_eq(r.sent + r.failed, 0);
	/* Still down at the retry: the wait doubles. */
	r = deliver(T0 + 40);
	ck_assert_int_eq(r.failed, 1);
	ck_assert_int_eq(r.next_due_at, T0 + 40 + 2 * ALERT_RETRY_FIRST_S);

	/* Back up on the same port. */
	sink = smtp_sink_start(port, 0);
	ck_assert_ptr_nonnull(sink);
	r = deliver(T0 + 99);
	ck_assert_int_eq(r.sent + r.failed, 0);
	r = deliver(T0 + 100);
	ck_assert_int_eq(r.sent, 1);
	ck_assert_int_eq(smtp_sink_count(sink), 1);
	ck_assert_int_eq(ith_int(db, "SELECT attempts FROM alert_outbox"), 3);
	ck_assert_int_eq(ith_int(db, "SELECT last_error IS NULL FROM alert_outbox"), 1);
	ck_assert_int_eq(deliver(T0 + 10000).sent, 0);
	ck_assert_int_eq(smtp_sink_count(sink), 1);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " action = 'alert_sent'"), 1);
}
END_TEST

START_TEST(every_recipient_gets_it)
{
	int64_t c = customer_with_order("mallory@example.test", T0, 5, T0 + 5);
	char *msg;

	smtp.to = "Owner <owner@shop.test>, staff@shop.test";
	ck_assert(note(c, 5, T0 + 10));
	ck_assert_int_eq(deliver(T0 + 10).sent, 1);
	msg = smtp_sink_message(sink, 0);
	assert_contains(msg, "RCPT TO:<owner@shop.test>");
	assert_contains(msg, "RCPT TO:<staff@shop.test>");
	free(msg);
}
END_TEST

START_TEST(credentials_are_never_sent_in_clear)
{
	int64_t c = customer_with_order("mallory@example.test", T0, 6, T0 + 5);
	struct smtp_sink *auth = smtp_sink_start(0, 1);
	char auth_url[64];
	struct alert_report r;

	/* The server offers AUTH but no STARTTLS: we must not log in. */
	snprintf(auth_url, sizeof(auth_url), "smtp://127.0.0.1:%u",
	    smtp_sink_port(auth));
	smtp.url = auth_url;
	smtp.username = "shop";
	smtp.password = "hunter2";
	ck_assert(note(c, 6, T0 + 10));
	r = deliver(T0 + 10);
	ck_assert_int_eq(r.sent, 0);
	ck_assert_int_eq(r.failed, 1);
	ck_assert(!smtp_sink_saw(auth, "AUTH"));
	ck_assert_int_eq(smtp_sink_count(auth), 0);
	ck_assert_ptr_null(strstr(r.last_error, "hunter2"));
	smtp_sink_stop(auth);
}
END_TEST

START_TEST(nothing_is_sent_without_smtp_settings)
{
	int64_t c = customer_with_order("mallory@example.test", T0, 8, T0 + 5);
	struct alert_smtp none = { 0 };
	struct alert_report r;

	ck_assert(note(c, 8, T0 + 10));
	ck_assert_int_eq(alert_deliver_pending(db, &none, T0 + 10, &r), TS_OK);
	ck_assert_int_eq(r.sent + r.failed, 0);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM alert_outbox WHERE"
	    " sent_at IS NULL"), 1);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("smtp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_email_per_order_of_a_banned_customer);
	tcase_add_test(tc, no_alert_for_customers_in_good_standing_or_old_orders);
	tcase_add_test(tc, a_server_that_is_down_is_retried_with_backoff);
	tcase_add_test(tc, every_recipient_gets_it);
	tcase_add_test(tc, credentials_are_never_sent_in_clear);
	tcase_add_test(tc, nothing_is_sent_without_smtp_settings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	sr = srunner_create(alert_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
