/* SPDX-License-Identifier: MIT */
/*
 * status.c: manual changes with their audit rows, and automatic status
 * rules against manual decisions - a manual do_not_serve is never
 * overridden, a manual change newer than the rule's last firing is kept,
 * a new firing overrides an older manual change, the first rule that
 * holds wins - for one customer and for everyone at once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ith.h"
#include "th.h"
#include "tracksies/db.h"
#include "tracksies/status.h"
#include "tracksies/tags.h"
#include "tracksies/tags_recalc.h"

#define DAY ITH_DAY
#define T0 ITH_T0

static char *dir;
static struct db *db;
static struct tags_recalc *tr;

/* vip at ltv >= 1000; caution at 2 refunds, listed first: it wins. */
static const char rules[] =
	"[status caution_refunds]\n"
	"status = caution\n"
	"when = refund_count >= 2\n"
	"reason = two refunds or more\n"
	"\n"
	"[status vip_by_ltv]\n"
	"status = vip\n"
	"when = ltv >= 1000\n";

static void
setup(void)
{
	db = ith_open(&dir);
	ith_rules(db, rules);
	ck_assert_int_eq(tags_recalc_open(db, &tr), TS_OK);
}

static void
teardown(void)
{
	tags_recalc_close(tr);
	db_close(db);
	th_rmrf(dir);
}

static char *
status_of(int64_t c)
{
	return ith_text(db, "SELECT status || '|' || COALESCE(status_changed_by, '')"
	    " || '|' || COALESCE(status_reason, '') FROM customers WHERE id = %lld",
	    (long long)c);
}

static void
assert_status(int64_t c, const char *want)
{
	char *got = status_of(c);

	ck_assert_str_eq(got, want);
	free(got);
}

static long long
audits(int64_t c)
{
	return ith_int(db, "SELECT count(*) FROM audit_log WHERE customer_id = %lld"
	    " AND action = 'status_change'", (long long)c);
}

START_TEST(a_manual_change_is_audited_with_actor_reason_and_old_value)
{
	int64_t c = ith_customer(db, "a@example.test");

	ck_assert_int_eq(status_set(db, c, "caution", "alice", "chargeback",
	    T0), TS_OK);
	assert_status(c, "caution|alice|chargeback");
	ck_assert_int_eq(ith_int(db, "SELECT status_changed_at FROM customers"),
	    T0);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " customer_id = %lld AND at = %lld AND actor = 'alice' AND action ="
	    " 'status_change' AND field = 'status' AND old_value = 'active' AND"
	    " new_value = 'caution' AND reason = 'chargeback'", (long long)c,
	    (long long)T0), 1);
	ck_assert_int_eq(status_set(db, c, "do_not_serve", "bob", NULL, T0 + 1),
	    TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " old_value = 'caution' AND new_value = 'do_not_serve' AND actor = 'bob'"
	    " AND reason IS NULL"), 1);
	ck_assert_int_eq(audits(c), 2);
}
END_TEST

START_TEST(bad_manual_changes_are_refused_and_leave_no_trace)
{
	int64_t c = ith_customer(db, "a@example.test");

	ck_assert_int_eq(status_set(db, c, "banned", "alice", NULL, T0),
	    TS_ERR_INVALID);
	ck_assert_int_eq(status_set(db, c, "vip", "", NULL, T0), TS_ERR_INVALID);
	ck_assert_int_eq(status_set(db, c, "vip", NULL, NULL, T0), TS_ERR_INVALID);
	/* "rule:" belongs to automatic rules: a person cannot pose as one. */
	ck_assert_int_eq(status_set(db, c, "vip", "rule:vip_by_ltv", NULL, T0),
	    TS_ERR_INVALID);
	ck_assert_int_eq(status_set(db, c + 100, "vip", "alice", NULL, T0),
	    TS_ERR_NOTFOUND);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log"), 0);
	assert_status(c, "active||");
}
END_TEST

START_TEST(status_set_joins_the_callers_transaction)
{
	int64_t c = ith_customer(db, "a@example.test");

	ck_assert_int_eq(db_begin(db), TS_OK);
	ck_assert_int_eq(status_set(db, c, "vip", "alice", "x", T0), TS_OK);
	db_rollback(db);
	assert_status(c, "active||");
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log"), 0);
}
END_TEST

START_TEST(a_rule_sets_its_status_when_it_fires_and_audits_it)
{
	int64_t c = ith_customer(db, "a@example.test");

	ith_order(db, c, 1, T0, 99999, 0);
	ith_recalc(db, tr, c, T0);
	assert_status(c, "active||");
	ith_order(db, c, 2, T0 + DAY, 1, 0);		/* ltv 1000.00 */
	ith_recalc(db, tr, c, T0 + DAY);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " actor = 'rule:vip_by_ltv' AND old_value = 'active' AND new_value ="
	    " 'vip' AND at = %lld", (long long)(T0 + DAY)), 1);
	ck_assert_int_eq(ith_int(db, "SELECT fired_at FROM status_rule_state"
	    " WHERE rule_id = 'vip_by_ltv'"), T0 + DAY);
	/* Holding on changes nothing more. */
	ith_recalc(db, tr, c, T0 + 2 * DAY);
	ck_assert_int_eq(audits(c), 1);
	/* Rules never undo: the condition stops holding, the status stays. */
	ith_cancel(db, 2);
	ith_recalc(db, tr, c, T0 + 3 * DAY);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM status_rule_state"), 0);
}
END_TEST

START_TEST(a_manual_do_not_serve_is_never_overridden)
{
	int64_t c = ith_customer(db, "a@example.test");

	ck_assert_int_eq(status_set(db, c, "do_not_serve", "alice", "fraud", T0),
	    TS_OK);
	ith_order(db, c, 1, T0 + DAY, 200000, 0);
	ith_recalc(db, tr, c, T0 + DAY);		/* vip fires now */
	assert_status(c, "do_not_serve|alice|fraud");
	ck_assert_int_eq(ith_int(db, "SELECT fired_at FROM status_rule_state"),
	    T0 + DAY);
	/* Not even on a later firing. */
	ith_cancel(db, 1);
	ith_recalc(db, tr, c, T0 + 2 * DAY);
	ith_order(db, c, 2, T0 + 3 * DAY, 200000, 0);
	ith_recalc(db, tr, c, T0 + 3 * DAY);
	assert_status(c, "do_not_serve|alice|fraud");
	ck_assert_int_eq(audits(c), 1);
}
END_TEST

START_TEST(a_manual_change_after_the_firing_stands_until_the_rule_fires_again)
{
	int64_t c = ith_customer(db, "a@example.test");

	ith_order(db, c, 1, T0, 150000, 0);
	ith_recalc(db, tr, c, T0);			/* fires: vip */
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	ck_assert_int_eq(status_set(db, c, "active", "alice", "not a VIP",
	    T0 + DAY), TS_OK);
	ith_recalc(db, tr, c, T0 + 2 * DAY);		/* still holding: kept */
	assert_status(c, "active|alice|not a VIP");
	/* The condition falls and rises again: a new firing, newer than
	 * the manual change, so the rule applies. */
	ith_cancel(db, 1);
	ith_recalc(db, tr, c, T0 + 3 * DAY);
	assert_status(c, "active|alice|not a VIP");
	ith_order(db, c, 2, T0 + 4 * DAY, 150000, 0);
	ith_recalc(db, tr, c, T0 + 4 * DAY);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	ck_assert_int_eq(audits(c), 3);
}
END_TEST

START_TEST(an_older_manual_change_gives_way_to_a_first_firing)
{
	int64_t c = ith_customer(db, "a@example.test");

	ck_assert_int_eq(status_set(db, c, "caution", "alice", "late payer", T0),
	    TS_OK);
	ith_order(db, c, 1, T0 + DAY, 150000, 0);
	ith_recalc(db, tr, c, T0 + DAY);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	/* A manual change in the same second as the firing is not newer. */
	ck_assert_int_eq(status_set(db, c, "caution", "bob", "again", T0 + DAY),
	    TS_OK);
	ith_recalc(db, tr, c, T0 + DAY);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
}
END_TEST

START_TEST(the_first_rule_that_holds_wins)
{
	int64_t c = ith_customer(db, "a@example.test");

	ith_order(db, c, 1, T0, 150000, 0);
	ith_recalc(db, tr, c, T0);
	assert_status(c, "vip|rule:vip_by_ltv|automatic status rule");
	ith_refund(db, 1, 100);
	ith_refund(db, 1, 100);
	ith_recalc(db, tr, c, T0 + DAY);
	assert_status(c, "caution|rule:caution_refunds|two refunds or more");
	/* Both hold: caution stays, vip does not take it back. */
	ith_recalc(db, tr, c, T0 + 2 * DAY);
	assert_status(c, "caution|rule:caution_refunds|two refunds or more");
	ck_assert_int_eq(audits(c), 2);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM audit_log WHERE"
	    " old_value = 'vip' AND new_value = 'caution' AND actor ="
	    " 'rule:caution_refunds' AND reason = 'two refunds or more'"), 1);
}
END_TEST

START_TEST(everyone_at_once_decides_as_one_by_one)
{
	int64_t ids[40];
	char *all, *one;

	for (int i = 0; i < 40; i++) {
		char email[32];

		snprintf(email, sizeof(email), "c%d@example.test", i);
		ids[i] = ith_customer(db, email);
		ith_order(db, ids[i], 100 + i, T0, 10000 * (i % 20), 0);
		if (i % 3 == 0) {
			ith_refund(db, 100 + i, 50);
			ith_refund(db, 100 + i, 50);
		}
		if (i % 4 == 0)
			ck_assert_int_eq(status_set(db, ids[i], i % 8 ? "caution" :
			    "do_not_serve", "alice", "manual", T0 - DAY), TS_OK);
		if (i % 10 == 0)
			ck_assert_int_eq(status_set(db, ids[i], "active", "alice",
			    "after", T0 + DAY), TS_OK);
	}
	ck_assert_int_eq(tags_recalc_all(db, T0 + 2 * DAY, NULL, NULL), TS_OK);
	all = ith_text(db, "SELECT group_concat(id || status || COALESCE("
	    "status_changed_by, ''), ',') FROM customers");
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customers WHERE"
	    " status = 'vip'"), 11);

	/* Again from the same starting point, one customer at a time. */
	ith_exec(db, "DELETE FROM status_rule_state; DELETE FROM audit_log WHERE"
	    " actor LIKE 'rule:%'; UPDATE customers SET status = 'active',"
	    " status_changed_by = NULL, status_changed_at = NULL,"
	    " status_reason = NULL");
	for (int i = 0; i < 40; i++) {
		if (i % 4 == 0)
			ck_assert_int_eq(status_set(db, ids[i], i % 8 ? "caution" :
			    "do_not_serve", "alice", "manual", T0 - DAY), TS_OK);
		if (i % 10 == 0)
			ck_assert_int_eq(status_set(db, ids[i], "active", "alice",
			    "after", T0 + DAY), TS_OK);
		ith_recalc(db, tr, ids[i], T0 + 2 * DAY);
	}
	one = ith_text(db, "SELECT group_concat(id || status || COALESCE("
	    "status_changed_by, ''), ',') FROM customers");
	ck_assert_str_eq(one, all);
	/* Every change has its audit row. */
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customers WHERE"
	    " status_changed_by LIKE 'rule:%%'"), ith_int(db, "SELECT count(*) FROM"
	    " audit_log WHERE actor LIKE 'rule:%%'"));
	free(all);
	free(one);
}
END_TEST

static Suite *
status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc;

	tc = tcase_create("manual");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_manual_change_is_audited_with_actor_reason_and_old_value);
	tcase_add_test(tc, bad_manual_changes_are_refused_and_leave_no_trace);
	tcase_add_test(tc, status_set_joins_the_callers_transaction);
	suite_add_tcase(s, tc);

	tc = tcase_create("automatic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_rule_sets_its_status_when_it_fires_and_audits_it);
	tcase_add_test(tc, a_manual_do_not_serve_is_never_overridden);
	tcase_add_test(tc, a_manual_change_after_the_firing_stands_until_the_rule_fires_again);
	tcase_add_test(tc, an_older_manual_change_gives_way_to_a_first_firing);
	tcase_add_test(tc, the_first_rule_that_holds_wins);
	tcase_add_test(tc, everyone_at_once_decides_as_one_by_one);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
