/* SPDX-License-Identifier: MIT */
/*
 * tags.c and tags_recalc.c: the rules file and its faults, the guard on
 * conditions, every default tag earned (and, for live ones, lost) at its
 * threshold - by new orders and by time passing with the clock under the
 * test's control - milestones kept, and recalculating everyone.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ith.h"
#include "th.h"
#include "tracksies/db.h"
#include "tracksies/tags.h"
#include "tracksies/tags_guard.h"
#include "tracksies/tags_recalc.h"

#define DAY ITH_DAY
#define T0 ITH_T0

static char *dir;
static struct db *db;
static struct tags_recalc *tr;

static void
setup(void)
{
	db = ith_open(&dir);
	ith_rules(db, tags_default_rules());
	ck_assert_int_eq(tags_recalc_open(db, &tr), TS_OK);
}

static void
teardown(void)
{
	tags_recalc_close(tr);
	db_close(db);
	th_rmrf(dir);
}

static int64_t
customer(void)
{
	static int n;
	char email[64];

	snprintf(email, sizeof(email), "c%d@example.test", ++n);
	return ith_customer(db, email);
}

static void
recalc(int64_t id, int64_t now)
{
	ith_recalc(db, tr, id, now);
}

static int
tag(int64_t id, const char *t)
{
	return ith_tag(db, id, t);
}

/* Customers whose tag_count is not the number of tags they hold. */
static long long
wrong_tag_counts(void)
{
	return ith_int(db, "SELECT count(*) FROM customers WHERE tag_count <>"
	    " (SELECT count(*) FROM customer_tags AS t WHERE t.customer_id ="
	    " customers.id AND t.lost_at IS NULL)");
}

/*
 * A full recalculation runs without foreign keys (decision 28): after it,
 * on every path, they are enforced again on that connection, and no row
 * it wrote lacks its parent.
 */
static void
assert_foreign_keys_back(void)
{
	ck_assert_int_eq(ith_int(db, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM"
	    " pragma_foreign_key_check"), 0);
}

static long long
tag_count(int64_t id)
{
	return ith_int(db, "SELECT tag_count FROM customers WHERE id = %lld",
	    (long long)id);
}

/* Load rules text; on failure the errors (owned) or NULL on success. */
static char *
refused(const char *text)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;
	enum ts_rc rc = tags_load_string("rules.conf", text, &cat, &errors);

	tags_catalogue_free(cat);
	if (rc == TS_OK)
		return NULL;
	ck_assert_int_eq(rc, TS_ERR_INVALID);
	ck_assert_ptr_nonnull(errors);
	return errors;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		ck_abort_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- the rules file -------------------------------------------------- */

START_TEST(defaults_ship_two_tags_per_channel_and_match_the_file)
{
	static const char *const channels[] = { "commitment", "tenure", "value",
	    "price_sensitivity", "engagement" };
	struct tags_catalogue *cat = NULL;
	char *errors = NULL, *file;

	ck_assert_int_eq(tags_load(NULL, &cat, &errors), TS_OK);
	for (int c = 0; c < 5; c++) {
		int n = 0;
		for (size_t i = 0; i < cat->n_tags; i++)
			n += strcmp(cat->tags[i].channel, channels[c]) == 0;
		ck_assert_msg(n >= 2, "channel %s has %d tags", channels[c], n);
	}
	ck_assert_int_eq(cat->n_status_rules, 0);
	tags_catalogue_free(cat);
	/* The shipped file is the built-in text, byte for byte. */
	file = th_read_file(TS_FIXTURES_DIR "/../../tags.conf.default", NULL);
	ck_assert_str_eq(file, tags_default_rules());
	ck_assert_int_eq(tags_load(TS_FIXTURES_DIR "/../../tags.conf.default",
	    &cat, &errors), TS_OK);
	tags_catalogue_free(cat);
	free(file);
}
END_TEST

START_TEST(every_fault_is_reported_with_its_line_and_rule)
{
	char *e = refused(
	    "[tag a]\n"					/* 1 */
	    "label = A\n"
	    "channel = loyalty\n"			/* 3: bad channel */
	    "kind = forever\n"				/* 4: bad kind */
	    "when = order_count >= 1\n"
	    "colour = red\n"				/* 6: unknown key */
	    "\n"
	    "[tag b]\n"					/* 8: no when */
	    "label = B\n"
	    "channel = value\n"
	    "kind = live\n"
	    "\n"
	    "[tag c]\n"
	    "label = C\n"
	    "channel = value\n"
	    "kind = live\n"
	    "when = lifetime_value > 5\n"		/* 17: no such column */
	    "[tag Bad-Id]\n"				/* 18 */
	    "[tag a]\n"					/* 19: duplicate */
	    "label = again\n"
	    "channel = value\n"
	    "kind = live\n"
	    "when = 1\n"
	    "label = twice\n"				/* 24: set twice */
	    "[shelf x]\n"				/* 25 */
	    "when = ltv > (1\n"				/* 26: outside, skipped */
	    "[status s]\n"
	    "status = banned\n"				/* 28 */
	    "when = ltv > 1\n");

	assert_contains(e, "rules.conf:3: tag a: channel: \"loyalty\" is not one of");
	assert_contains(e, "rules.conf:4: tag a: kind: \"forever\" is neither");
	assert_contains(e, "rules.conf:6: tag a: unknown key \"colour\"");
	assert_contains(e, "rules.conf:8: tag b: when is required");
	assert_contains(e, "rules.conf:17: tag c: when: condition no such column:"
	    " lifetime_value");
	assert_contains(e, "rules.conf:18: [tag Bad-Id]: the id must be");
	assert_contains(e, "rules.conf:19: tag a: defined twice");
	assert_contains(e, "rules.conf:24: tag a: label: set twice (first on line 20)");
	assert_contains(e, "rules.conf:25: unknown section [shelf]");
	assert_contains(e, "rules.conf:28: status s: status: \"banned\" is not one of");
	free(e);
}
END_TEST

START_TEST(continuation_lines_and_comments)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;

	ck_assert_int_eq(tags_load_string("r", "# comment\n; also\n[tag x]\n"
	    "label = X\nchannel = value\nkind = live\nwhen = ltv > 1\n"
	    "\tAND order_count > 1\n  # not part of it\n", &cat, &errors), TS_OK);
	ck_assert_int_eq(cat->n_tags, 1);
	ck_assert_str_eq(cat->tags[0].condition, "ltv > 1 AND order_count > 1");
	ck_assert_str_eq(cat->tags[0].icon, "");
	ck_assert(!cat->tags[0].milestone);
	tags_catalogue_free(cat);
}
END_TEST

START_TEST(missing_file_is_an_io_error_that_names_it)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;

	ck_assert_int_eq(tags_load("/nonexistent/tags.conf", &cat, &errors),
	    TS_ERR_IO);
	assert_contains(errors, "/nonexistent/tags.conf: cannot read");
	free(errors);
}
END_TEST

/* ---- the guard ------------------------------------------------------- */

static void
assert_condition_refused(const char *cond, const char *why)
{
	char text[1024], *e;

	snprintf(text, sizeof(text), "[tag evil]\nlabel = E\nchannel = value\n"
	    "kind = live\nwhen = %s\n", cond);
	e = refused(text);
	ck_assert_msg(e != NULL, "condition accepted: %s", cond);
	assert_contains(e, "rules.conf:5: tag evil: when: condition ");
	assert_contains(e, why);
	free(e);
}

START_TEST(a_rule_may_not_read_another_table_or_write)
{
	assert_condition_refused("(SELECT count(*) FROM orders) > 0",
	    "reads orders: a condition may only use the columns of customer_metrics");
	assert_condition_refused("(SELECT email FROM customers LIMIT 1) = 'x'",
	    "reads customers.email");
	assert_condition_refused("(SELECT max(ltv_minor) FROM customer_intel) > 0",
	    "reads customer_intel.ltv_minor");
	assert_condition_refused("ltv > 0); DELETE FROM customers; SELECT (1",
	    "has a ')' without its '('");
	assert_condition_refused("ltv > 0; DELETE FROM customers",
	    "contains ';'");
	assert_condition_refused("ltv > 0 -- comment", "contains a comment");
	assert_condition_refused("ltv > 0 /* x */", "contains a comment");
	assert_condition_refused("(ltv > 0", "has a '(' without its ')'");
	assert_condition_refused("ltv > 'x", "unterminated quote");
	assert_condition_refused("load_extension('/tmp/x.so') IS NULL",
	    "calls load_extension()");
	assert_condition_refused("random() > 0", "calls random()");
	assert_condition_refused(
	    "(SELECT count(*) FROM pragma_table_info('customers')) > 0",
	    "a condition may only");
	assert_condition_refused("(SELECT count(*) FROM json_each('[1]')) > 0",
	    "uses a table-valued function");
	assert_condition_refused("(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
	    " SELECT i + 1 FROM n) SELECT count(*) FROM n) > 0", "reads n: a condition");
	assert_condition_refused("", "is empty");
}
END_TEST

START_TEST(a_rule_may_read_the_view_and_call_pure_functions)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;

	ck_assert_int_eq(tags_load_string("r", "[tag x]\nlabel = X\n"
	    "channel = value\nkind = live\nwhen = ltv > (SELECT avg(ltv) FROM"
	    " customer_metrics) AND coalesce(rfm_segment, '') IN ('champions',"
	    " 'loyal') AND abs(round(aov)) >= 1 AND lower(\"rfm_segment\")"
	    " LIKE 'c%'\n", &cat, &errors), TS_OK);
	tags_catalogue_free(cat);
}
END_TEST

START_TEST(the_guard_leaves_the_connection_as_it_was)
{
	sqlite3_stmt *st = NULL;
	char fault[200];

	/* Statements prepared before a guarded prepare still run unguarded. */
	ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
	    "SELECT count(*) FROM orders", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(tags_guard_prepare(db, "SELECT 1 FROM orders", NULL,
	    &(sqlite3_stmt *){ NULL }, fault, sizeof(fault)), TS_ERR_INVALID);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	(void)sqlite3_finalize(st);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customers"), 0);
}
END_TEST

/* ---- the catalogue --------------------------------------------------- */

START_TEST(applying_the_same_rules_changes_nothing)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;
	bool changed = true;
	long long gen = ith_int(db, "SELECT catalogue_gen FROM intel_state");

	ck_assert_int_eq(tags_load(NULL, &cat, &errors), TS_OK);
	ck_assert_int_eq(tags_apply_catalogue(db, cat, &changed, &errors), TS_OK);
	ck_assert(!changed);
	ck_assert_int_eq(ith_int(db, "SELECT catalogue_gen FROM intel_state"), gen);
	tags_catalogue_free(cat);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM tags"), 14);
}
END_TEST

START_TEST(new_rules_reach_an_open_recalculator)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 1000, 0);
	recalc(c, T0);
	ck_assert_int_eq(tag(c, "first_order"), 1);
	ck_assert_int_eq(tag(c, "tiny"), -1);
	ith_rules(db, "[tag tiny]\nlabel = Tiny\nchannel = value\nkind = live\n"
	    "when = ltv < 20\n");
	recalc(c, T0 + 1);
	ck_assert_int_eq(tag(c, "tiny"), 1);
	/* The old tag's row stays, hidden with its rule gone. */
	ck_assert_int_eq(tag(c, "first_order"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM tags"), 1);
}
END_TEST

/* ---- each default tag at its threshold -------------------------------- */

START_TEST(commitment_tags_at_one_two_and_five_orders)
{
	int64_t c = customer();

	recalc(c, T0);
	ck_assert_int_eq(tag(c, "first_order"), -1);
	for (int i = 1; i <= 5; i++) {
		ith_order(db, c, 100 + i, T0 + i * DAY, 2000, 0);
		recalc(c, T0 + i * DAY);
		ck_assert_int_eq(tag(c, "first_order"), 1);
		ck_assert_int_eq(tag(c, "repeat_buyer"), i >= 2 ? 1 : -1);
		ck_assert_int_eq(tag(c, "loyal"), i >= 5 ? 1 : -1);
	}
	ck_assert_int_eq(ith_int(db, "SELECT earned_at FROM customer_tags WHERE"
	    " customer_id = %lld AND tag_id = 'repeat_buyer'", (long long)c),
	    T0 + 2 * DAY);
}
END_TEST

START_TEST(milestones_are_kept_when_orders_stop_counting)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 30000, 0);
	ith_order(db, c, 2, T0 + DAY, 30000, 0);
	recalc(c, T0 + DAY);
	ck_assert_int_eq(tag(c, "repeat_buyer"), 1);
	ck_assert_int_eq(tag(c, "high_spender"), 1);
	ith_cancel(db, 2);
	ith_cancel(db, 1);
	recalc(c, T0 + 2 * DAY);
	ck_assert_int_eq(ith_int(db, "SELECT order_count FROM customer_metrics"
	    " WHERE id = %lld", (long long)c), 0);
	ck_assert_int_eq(tag(c, "first_order"), 1);
	ck_assert_int_eq(tag(c, "repeat_buyer"), 1);
	ck_assert_int_eq(tag(c, "high_spender"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT earned_at FROM customer_tags WHERE"
	    " customer_id = %lld AND tag_id = 'first_order'", (long long)c), T0 + DAY);
}
END_TEST

START_TEST(tenure_tags_come_with_time_alone)
{
	int64_t c = customer();
	static const struct { const char *tag; int days; } m[] = {
		{ "six_months", 182 }, { "one_year", 365 }, { "two_years", 730 },
	};

	ith_order(db, c, 1, T0, 1000, 0);
	for (int i = 0; i < 3; i++) {
		recalc(c, T0 + (int64_t)m[i].days * DAY - 1);
		ck_assert_int_eq(tag(c, m[i].tag), -1);
		recalc(c, T0 + (int64_t)m[i].days * DAY);
		ck_assert_int_eq(tag(c, m[i].tag), 1);
	}
}
END_TEST

START_TEST(high_spender_at_500_and_big_basket_while_aov_is_150)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 14999, 0);
	recalc(c, T0);
	ck_assert_int_eq(tag(c, "big_basket"), -1);
	ith_order(db, c, 2, T0 + DAY, 15001, 0);		/* aov 150.00 */
	recalc(c, T0 + DAY);
	ck_assert_int_eq(tag(c, "big_basket"), 1);
	ck_assert_int_eq(tag(c, "high_spender"), -1);	/* ltv 300.00 */
	ith_order(db, c, 3, T0 + 2 * DAY, 19999, 0);	/* ltv 499.99 */
	recalc(c, T0 + 2 * DAY);
	ck_assert_int_eq(tag(c, "high_spender"), -1);
	ith_order(db, c, 4, T0 + 3 * DAY, 1, 0);		/* ltv 500.00 */
	recalc(c, T0 + 3 * DAY);
	ck_assert_int_eq(tag(c, "high_spender"), 1);
	ck_assert_int_eq(tag(c, "big_basket"), 0);	/* aov 125: lost */
	ck_assert_int_eq(ith_int(db, "SELECT lost_at FROM customer_tags WHERE"
	    " customer_id = %lld AND tag_id = 'big_basket'", (long long)c),
	    T0 + 3 * DAY);
}
END_TEST

START_TEST(coupon_lover_and_full_price_buyer_follow_the_share)
{
	int64_t a = customer(), b = customer();

	ith_order(db, a, 1, T0, 1000, 1);
	recalc(a, T0);
	ck_assert_int_eq(tag(a, "coupon_lover"), -1);	/* one order only */
	ith_order(db, a, 2, T0 + DAY, 1000, 0);		/* 1 of 2 */
	recalc(a, T0 + DAY);
	ck_assert_int_eq(tag(a, "coupon_lover"), 1);
	ith_order(db, a, 3, T0 + 2 * DAY, 1000, 0);	/* 1 of 3 */
	recalc(a, T0 + 2 * DAY);
	ck_assert_int_eq(tag(a, "coupon_lover"), 0);

	for (int i = 0; i < 3; i++)
		ith_order(db, b, 10 + i, T0 + i * DAY, 1000, 0);
	recalc(b, T0 + 2 * DAY);
	ck_assert_int_eq(tag(b, "full_price_buyer"), 1);
	ith_order(db, b, 13, T0 + 3 * DAY, 1000, 1);
	recalc(b, T0 + 3 * DAY);
	ck_assert_int_eq(tag(b, "full_price_buyer"), 0);
	/* Earned again: a new spell, lost_at cleared. */
	ith_cancel(db, 13);
	recalc(b, T0 + 4 * DAY);
	ck_assert_int_eq(tag(b, "full_price_buyer"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT earned_at FROM customer_tags WHERE"
	    " customer_id = %lld AND tag_id = 'full_price_buyer'", (long long)b),
	    T0 + 4 * DAY);
}
END_TEST

START_TEST(recent_is_lost_after_30_days_without_an_order)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 1000, 0);
	recalc(c, T0 + 30 * DAY);
	ck_assert_int_eq(tag(c, "recent"), 1);
	recalc(c, T0 + 31 * DAY);
	ck_assert_int_eq(tag(c, "recent"), 0);
}
END_TEST

START_TEST(slipping_away_by_their_rhythm_or_after_90_days)
{
	int64_t one = customer(), regular = customer();

	ith_order(db, one, 1, T0, 1000, 0);
	recalc(one, T0 + 89 * DAY);
	ck_assert_int_eq(tag(one, "slipping_away"), -1);
	recalc(one, T0 + 90 * DAY);
	ck_assert_int_eq(tag(one, "slipping_away"), 1);
	recalc(one, T0 + 365 * DAY);		/* gone after a year */
	ck_assert_int_eq(tag(one, "slipping_away"), 0);

	/* Every 30 days: expected at +30, overdue after +30 + max(15, 14). */
	for (int i = 0; i < 4; i++)
		ith_order(db, regular, 10 + i, T0 + i * 30 * DAY, 1000, 0);
	recalc(regular, T0 + 90 * DAY + 45 * DAY);
	ck_assert_int_eq(tag(regular, "slipping_away"), -1);
	recalc(regular, T0 + 90 * DAY + 45 * DAY + 1);
	ck_assert_int_eq(tag(regular, "slipping_away"), 1);
	/* An order brings them back. */
	ith_order(db, regular, 20, T0 + 136 * DAY, 1000, 0);
	recalc(regular, T0 + 136 * DAY);
	ck_assert_int_eq(tag(regular, "slipping_away"), 0);
}
END_TEST

START_TEST(advocate_and_needs_care_from_interactions)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 1000, 0);
	ith_interaction(db, c, "compliment", T0);
	recalc(c, T0);
	ck_assert_int_eq(tag(c, "advocate"), -1);
	ith_interaction(db, c, "compliment", T0 + DAY);
	recalc(c, T0 + DAY);
	ck_assert_int_eq(tag(c, "advocate"), 1);
	ith_interaction(db, c, "complaint", T0 + 2 * DAY);
	ith_interaction(db, c, "complaint", T0 + 2 * DAY);
	recalc(c, T0 + 2 * DAY);
	ck_assert_int_eq(tag(c, "advocate"), 0);	/* 2 > 2 is false */
	ck_assert_int_eq(tag(c, "needs_care"), -1);
	ith_interaction(db, c, "complaint", T0 + 3 * DAY);
	recalc(c, T0 + 3 * DAY);
	ck_assert_int_eq(tag(c, "needs_care"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT complaints FROM customer_metrics"
	    " WHERE id = %lld", (long long)c), 3);
}
END_TEST

/*
 * The admin API sorts and filters by customers.tag_count: every earn, loss
 * and return of a tag, one customer at a time or in a full run, leaves it
 * equal to the tags held.
 */
START_TEST(tag_count_follows_every_change_of_tags)
{
	int64_t c = customer(), other = customer();

	ith_order(db, c, 1, T0, 20000, 0);			/* aov 200 */
	ith_order(db, other, 9, T0, 1000, 0);
	recalc(c, T0);
	/* first_order, big_basket, recent */
	ck_assert_int_eq(tag_count(c), 3);
	ck_assert_int_eq(tag_count(other), 0);		/* not recalculated yet */
	ith_order(db, c, 2, T0 + DAY, 2000, 0);		/* aov 110: loses big_basket */
	recalc(c, T0 + DAY);
	ck_assert_int_eq(tag(c, "big_basket"), 0);
	ck_assert_int_eq(tag_count(c), 3);		/* + repeat_buyer */
	ith_cancel(db, 2);				/* aov 200 again: revived */
	recalc(c, T0 + 2 * DAY);
	ck_assert_int_eq(tag(c, "big_basket"), 1);
	ck_assert_int_eq(tag_count(c), 4);
	ck_assert_int_eq(wrong_tag_counts(), 0);
	/* A tag held but no longer in the catalogue counts too. */
	ith_exec(db, "INSERT INTO customer_tags (customer_id, tag_id, earned_at)"
	    " SELECT id, 'retired_tag', 0 FROM customers WHERE id IN (SELECT"
	    " customer_id FROM customer_tags WHERE tag_id = 'big_basket');"
	    " UPDATE customers SET tag_count = tag_count + 1 WHERE id IN (SELECT"
	    " customer_id FROM customer_tags WHERE tag_id = 'retired_tag')");
	ck_assert_int_eq(tag_count(c), 5);
	ck_assert_int_eq(wrong_tag_counts(), 0);

	/* A full run: everyone counted, and losses (recent) counted down. */
	ck_assert_int_eq(tags_recalc_all(db, T0 + 40 * DAY, NULL, NULL), TS_OK);
	assert_foreign_keys_back();
	ck_assert_int_eq(tag(c, "recent"), 0);
	ck_assert_int_eq(wrong_tag_counts(), 0);
	ck_assert_int_eq(tag_count(c), 4);		/* with retired_tag */
	ck_assert_int_eq(tag_count(other), 1);		/* first_order */
	/* Nothing changes the next day: nothing is rewritten. */
	ck_assert_int_eq(tags_recalc_all(db, T0 + 41 * DAY, NULL, NULL), TS_OK);
	assert_foreign_keys_back();
	ck_assert_int_eq(wrong_tag_counts(), 0);
}
END_TEST

/* ---- everyone at once ------------------------------------------------ */

START_TEST(recalc_all_agrees_with_one_by_one)
{
	int64_t ids[60];
	char *one, *all;

	for (int i = 0; i < 60; i++) {
		ids[i] = customer();
		for (int k = 0; k < i % 7; k++)
			ith_order(db, ids[i], 1000 + i * 10 + k,
			    T0 + (int64_t)((i * 37 + k * 53) % 400) * DAY,
			    500 + (i * 997 + k * 131) % 40000, (i + k) % 3 == 0);
		if (i % 5 == 0)
			ith_interaction(db, ids[i], "compliment", T0);
	}
	ck_assert_int_eq(tags_recalc_all(db, T0 + 420 * DAY, NULL, NULL), TS_OK);
	ck_assert_int_eq(wrong_tag_counts(), 0);
	all = ith_text(db, "SELECT group_concat(customer_id || ':' || tag_id ||"
	    " ':' || (lost_at IS NULL), ',') FROM (SELECT * FROM customer_tags"
	    " ORDER BY 1, 2)");
	ith_exec(db, "DELETE FROM customer_tags");
	for (int i = 0; i < 60; i++)
		recalc(ids[i], T0 + 420 * DAY);
	one = ith_text(db, "SELECT group_concat(customer_id || ':' || tag_id ||"
	    " ':' || (lost_at IS NULL), ',') FROM (SELECT * FROM customer_tags"
	    " ORDER BY 1, 2)");
	ck_assert_int_eq(wrong_tag_counts(), 0);
	ck_assert_ptr_nonnull(all);
	ck_assert_str_eq(one, all);
	free(one);
	free(all);
}
END_TEST

START_TEST(the_daily_run_takes_tags_away_as_time_passes)
{
	int64_t c = customer();
	long long cache_size = ith_int(db, "PRAGMA cache_size");
	long long temp_store = ith_int(db, "PRAGMA temp_store");
	long long autocheckpoint = ith_int(db, "PRAGMA wal_autocheckpoint");
	bool due = false;

	ith_order(db, c, 1, T0, 1000, 0);
	ck_assert_int_eq(tags_recalc_due(db, T0, &due), TS_OK);
	ck_assert(due);
	ck_assert_int_eq(tags_recalc_all(db, T0 + DAY, NULL, NULL), TS_OK);
	ck_assert_int_eq(tag(c, "recent"), 1);
	ck_assert_int_eq(tags_recalc_due(db, T0 + DAY + 3600, &due), TS_OK);
	ck_assert(!due);
	ck_assert_int_eq(tags_recalc_due(db, T0 + 2 * DAY, &due), TS_OK);
	ck_assert(due);
	ck_assert_int_eq(tags_recalc_all(db, T0 + 40 * DAY, NULL, NULL), TS_OK);
	ck_assert_int_eq(tag(c, "recent"), 0);
	ck_assert_int_eq(ith_int(db, "SELECT lost_at FROM customer_tags WHERE"
	    " customer_id = %lld AND tag_id = 'recent'", (long long)c), T0 + 40 * DAY);
	/* Asked for by the admin API. */
	ck_assert_int_eq(tags_recalc_request(db, T0 + 40 * DAY + 5), TS_OK);
	ck_assert_int_eq(tags_recalc_due(db, T0 + 40 * DAY + 6, &due), TS_OK);
	ck_assert(due);
	ck_assert_int_eq(tags_recalc_all(db, T0 + 40 * DAY + 7, NULL, NULL), TS_OK);
	ck_assert_int_eq(tags_recalc_due(db, T0 + 40 * DAY + 8, &due), TS_OK);
	ck_assert(!due);
	/* Outside a recalculation, the view reads the wall clock. */
	ck_assert_int_eq(ith_int(db, "SELECT as_of IS NULL FROM intel_state"), 1);
	/*
	 * The run's page cache and in-memory temp store were its own, and so
	 * were its checkpoints (on a thread of the run): this connection's
	 * commits checkpoint again.
	 */
	ck_assert_int_eq(ith_int(db, "PRAGMA cache_size"), cache_size);
	ck_assert_int_eq(ith_int(db, "PRAGMA temp_store"), temp_store);
	ck_assert_int_eq(ith_int(db, "PRAGMA wal_autocheckpoint"), autocheckpoint);
	ck_assert_int_gt(autocheckpoint, 0);
}
END_TEST

START_TEST(as_of_a_date_ignores_what_came_after)
{
	int64_t c = customer(), as_of;

	ith_order(db, c, 1, T0, 1000, 0);
	ith_order(db, c, 2, T0 + 10 * DAY, 1000, 0);
	ith_interaction(db, c, "compliment", T0 + 20 * DAY);
	ck_assert_int_eq(tags_parse_date("2023-11-20", &as_of), TS_OK);
	ck_assert_int_eq(as_of, T0 + 5 * DAY);
	ck_assert_int_eq(tags_recalc_all_as_of(db, as_of, NULL, NULL), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT order_count FROM customer_intel"), 1);
	ck_assert_int_eq(ith_int(db, "SELECT compliments FROM customer_intel"), 0);
	ck_assert_int_eq(tag(c, "repeat_buyer"), -1);
	ck_assert_int_eq(ith_int(db, "SELECT earned_at FROM customer_tags WHERE"
	    " tag_id = 'first_order'"), as_of);
	ck_assert_int_eq(tags_parse_date("2023-02-29", &as_of), TS_ERR_INVALID);
	ck_assert_int_eq(tags_parse_date("2023-1-01", &as_of), TS_ERR_INVALID);
}
END_TEST

struct progress {
	int calls;
	int64_t last_done, total;
	bool monotone;
	int stop_after;
};

static bool
on_progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	struct progress *p = arg;

	p->calls++;
	if (strcmp(phase, "writing") == 0) {
		if (done < p->last_done)
			p->monotone = false;
		p->last_done = done;
		p->total = total;
	}
	return p->stop_after == 0 || p->calls < p->stop_after;
}

START_TEST(recalc_all_on_100000_customers_reports_progress)
{
	struct progress p = { .monotone = true };
	sqlite3_stmt *c = NULL, *o = NULL, *t = NULL;

	/* 100,000 customers, 250,000 orders, straight into the tables. */
	ith_exec(db, "BEGIN");
	ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), "INSERT INTO customers"
	    " (id, email, created_at) VALUES (?1, 'c' || ?1 || '@x.test', 0)", -1,
	    &c, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), "INSERT INTO orders"
	    " (id, customer_id, number, status, currency, created_at, total_minor,"
	    " fetched_at) VALUES (?1, ?2, ?1, 'completed', 'USD', ?3, ?4, 0)", -1,
	    &o, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db), "INSERT INTO"
	    " transactions (order_id, customer_id, order_number, total_minor,"
	    " coupon_codes, currency, created_at) VALUES (?1, ?2, ?1, ?4,"
	    " CASE WHEN ?1 % 4 = 0 THEN 'X' ELSE '' END, 'USD', ?3)", -1, &t,
	    NULL), SQLITE_OK);
	for (int64_t id = 1, oid = 1; id <= 100000; id++) {
		(void)sqlite3_bind_int64(c, 1, id);
		ck_assert_int_eq(sqlite3_step(c), SQLITE_DONE);
		(void)sqlite3_reset(c);
		for (int k = 0; k < (int)(id % 4) + 1; k++, oid++) {
			sqlite3_stmt *both[2] = { o, t };
			for (int s = 0; s < 2; s++) {
				(void)sqlite3_bind_int64(both[s], 1, oid);
				(void)sqlite3_bind_int64(both[s], 2, id);
				(void)sqlite3_bind_int64(both[s], 3,
				    T0 + (oid * 7919) % (700 * DAY));
				(void)sqlite3_bind_int64(both[s], 4, 500 + oid % 30000);
				ck_assert_int_eq(sqlite3_step(both[s]), SQLITE_DONE);
				(void)sqlite3_reset(both[s]);
			}
		}
	}
	(void)sqlite3_finalize(c);
	(void)sqlite3_finalize(o);
	(void)sqlite3_finalize(t);
	ith_exec(db, "COMMIT");

	ck_assert_int_eq(tags_recalc_all(db, T0 + 720 * DAY, on_progress, &p), TS_OK);
	assert_foreign_keys_back();
	ck_assert(p.monotone);
	ck_assert_int_eq(p.total, 100000);
	ck_assert_int_eq(p.last_done, 100000);
	ck_assert_int_ge(p.calls, 100000 / TAGS_RECALC_CHUNK + 2);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_intel"), 100000);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_tags WHERE"
	    " tag_id = 'first_order'"), 100000);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_tags WHERE"
	    " tag_id = 'repeat_buyer'"), 75000);
	ck_assert_int_eq(wrong_tag_counts(), 0);
	ck_assert_int_eq(ith_int(db, "SELECT sum(tag_count) FROM customers"),
	    ith_int(db, "SELECT count(*) FROM customer_tags WHERE lost_at IS NULL"));
	ck_assert_int_eq(ith_int(db, "SELECT recalc_phase = 'done' AND recalc_done"
	    " = 100000 AND recalc_total = 100000 FROM intel_state"), 1);

	/* Stopped by its caller: TS_ERR_TRANSIENT, and the state says so. */
	p = (struct progress){ .monotone = true, .stop_after = 3 };
	ck_assert_int_eq(tags_recalc_all(db, T0 + 721 * DAY, on_progress, &p),
	    TS_ERR_TRANSIENT);
	ck_assert_int_eq(ith_int(db, "SELECT recalc_phase = 'stopped' FROM"
	    " intel_state"), 1);
	assert_foreign_keys_back();
}
END_TEST

/* Erases a customer from another connection once the snapshot is read. */
struct eraser {
	int64_t id;
	bool done;
};

static bool
erase_when_fitting(void *arg, const char *phase, int64_t done, int64_t total)
{
	struct eraser *e = arg;
	struct db *other = NULL;
	char path[512], sql[96];

	(void)done;
	(void)total;
	if (e->done || strcmp(phase, "fitting") != 0)
		return true;
	(void)snprintf(path, sizeof(path), "%s/i.db", dir);
	ck_assert_int_eq(db_open(path, &other, NULL), TS_OK);
	(void)snprintf(sql, sizeof(sql), "DELETE FROM customers WHERE id = %lld",
	    (long long)e->id);
	ck_assert_int_eq(db_exec(other, sql), TS_OK);
	db_close(other);
	e->done = true;
	return true;
}

START_TEST(a_customer_erased_during_the_run_gets_nothing_written)
{
	int64_t ids[5];
	struct eraser e = { 0 };

	for (int i = 0; i < 5; i++) {
		ids[i] = customer();
		ith_order(db, ids[i], 100 + i, T0, 1000 + i, 0);
	}
	/* In the snapshot, gone before its chunk is written. */
	e.id = ids[2];
	ck_assert_int_eq(tags_recalc_all(db, T0 + DAY, erase_when_fitting, &e),
	    TS_OK);
	ck_assert(e.done);
	assert_foreign_keys_back();
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customers"), 4);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_intel"), 4);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_intel WHERE"
	    " customer_id = %lld", (long long)ids[2]), 0);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_tags WHERE"
	    " customer_id = %lld", (long long)ids[2]), 0);
	/* Its neighbours on both sides were written. */
	ck_assert_int_eq(tag(ids[1], "first_order"), 1);
	ck_assert_int_eq(tag(ids[3], "first_order"), 1);
	ck_assert_int_eq(tag(ids[4], "first_order"), 1);
	ck_assert_int_eq(wrong_tag_counts(), 0);
}
END_TEST

START_TEST(a_rule_failing_at_run_time_keeps_nothing_of_the_recalc)
{
	int64_t c = customer();

	ith_order(db, c, 1, T0, 1000, 0);
	/* Valid SQL, but abs() of the smallest integer overflows at run time. */
	ith_rules(db, "[tag boom]\nlabel = B\nchannel = value\nkind = live\n"
	    "when = abs(order_count - 1 - 9223372036854775807 - 1) > 0\n");
	ck_assert_int_eq(db_begin(db), TS_OK);
	ck_assert_int_eq(tags_recalc_customer(tr, c, T0), TS_ERR_INVALID);
	ck_assert_int_eq(db_commit(db), TS_OK);
	ck_assert_int_eq(ith_int(db, "SELECT count(*) FROM customer_intel"), 0);
	ck_assert_int_eq(tags_recalc_all(db, T0, NULL, NULL), TS_ERR_INVALID);
	ck_assert_int_eq(ith_int(db, "SELECT recalc_phase = 'failed'"
	    " FROM intel_state"), 1);
	assert_foreign_keys_back();
}
END_TEST

static Suite *
tags_suite(void)
{
	Suite *s = suite_create("tags");
	TCase *tc;

	tc = tcase_create("rules_file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_ship_two_tags_per_channel_and_match_the_file);
	tcase_add_test(tc, every_fault_is_reported_with_its_line_and_rule);
	tcase_add_test(tc, continuation_lines_and_comments);
	tcase_add_test(tc, missing_file_is_an_io_error_that_names_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_rule_may_not_read_another_table_or_write);
	tcase_add_test(tc, a_rule_may_read_the_view_and_call_pure_functions);
	tcase_add_test(tc, the_guard_leaves_the_connection_as_it_was);
	tcase_add_test(tc, a_rule_failing_at_run_time_keeps_nothing_of_the_recalc);
	suite_add_tcase(s, tc);

	tc = tcase_create("catalogue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, applying_the_same_rules_changes_nothing);
	tcase_add_test(tc, new_rules_reach_an_open_recalculator);
	suite_add_tcase(s, tc);

	tc = tcase_create("default_tags");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, commitment_tags_at_one_two_and_five_orders);
	tcase_add_test(tc, milestones_are_kept_when_orders_stop_counting);
	tcase_add_test(tc, tenure_tags_come_with_time_alone);
	tcase_add_test(tc, high_spender_at_500_and_big_basket_while_aov_is_150);
	tcase_add_test(tc, coupon_lover_and_full_price_buyer_follow_the_share);
	tcase_add_test(tc, recent_is_lost_after_30_days_without_an_order);
	tcase_add_test(tc, slipping_away_by_their_rhythm_or_after_90_days);
	tcase_add_test(tc, advocate_and_needs_care_from_interactions);
	tcase_add_test(tc, tag_count_follows_every_change_of_tags);
	suite_add_tcase(s, tc);

	tc = tcase_create("recalc_all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, recalc_all_agrees_with_one_by_one);
	tcase_add_test(tc, the_daily_run_takes_tags_away_as_time_passes);
	tcase_add_test(tc, as_of_a_date_ignores_what_came_after);
	tcase_add_test(tc, recalc_all_on_100000_customers_reports_progress);
	tcase_add_test(tc, a_customer_erased_during_the_run_gets_nothing_written);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tags_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
