/* SPDX-License-Identifier: MIT */
/*
 * The admin API end to end: the real tracksiesd on 127.0.0.1:0, real
 * sockets, the real SQLite file seeded with rows before the daemon starts.
 * Each test sees what the WordPress plugin would: statuses, JSON, CSV, and
 * the rows left in the database.
 */
#define _GNU_SOURCE	/* strcasestr */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "admin_th.h"
#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/profile.h"
#include "tracksies/sync.h"

static struct admin_th A;

static void
setup(void)
{
	admin_th_start(&A, "store.currency = USD", admin_th_seed_sql);
}

static void
teardown(void)
{
	admin_th_stop(&A);
}

/* doc at a dotted path: "customers.0.email". */
static json_t *
jget(json_t *doc, const char *path)
{
	char buf[256], *save = NULL, *part;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL && doc != NULL;
	    part = strtok_r(NULL, ".", &save)) {
		if (json_is_array(doc))
			doc = json_array_get(doc, (size_t)atoi(part));
		else
			doc = json_object_get(doc, part);
	}
	return doc;
}

static const char *
jstr(json_t *doc, const char *path)
{
	const char *s = json_string_value(jget(doc, path));

	return s != NULL ? s : "(null)";
}

static long long
jint(json_t *doc, const char *path)
{
	json_t *v = jget(doc, path);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

static json_t *
call(const char *method, const char *path, const char *body, long expect)
{
	long status = 0;
	json_t *doc = admin_th_call(&A, method, path, body, &status);

	ck_assert_msg(status == expect, "%s %s: status %ld, expected %ld", method,
	    path, status, expect);
	return doc;
}

static void
expect_error(const char *method, const char *path, const char *body,
    long status, const char *code, const char *field)
{
	json_t *doc = call(method, path, body, status);

	ck_assert_str_eq(jstr(doc, "error.code"), code);
	ck_assert_msg(json_is_string(jget(doc, "error.message")), "no message");
	if (field != NULL)
		ck_assert_str_eq(jstr(doc, "error.field"), field);
	json_decref(doc);
}

static long long
db_int(const char *sql)
{
	return th_db_int(A.d.db_path, sql);
}

/* ---- transport and auth ------------------------------------------------ */

START_TEST(token_missing_wrong_or_right)
{
	struct th_resp r;

	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/customers", NULL, NULL,
	    NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_nonnull(strstr(r.body, "\"unauthorized\""));
	th_resp_free(&r);
	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/customers", NULL,
	    "test-admin-token-0123456789abcdeX", NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	th_resp_free(&r);
	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/customers", NULL,
	    "test-admin-token", NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	th_resp_free(&r);
	/* Unknown routes are not revealed without the token either. */
	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/nothing", NULL, NULL, NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 401);
	th_resp_free(&r);
	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/customers", NULL, "", NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
}
END_TEST

START_TEST(healthz_needs_no_token_and_shows_no_data)
{
	struct th_resp r;
	json_t *doc;

	/* The worker's first loop may still be ahead: 503 until then. */
	for (long i = 0; i < th_scaled_ms(100); i++) {
		ck_assert_int_eq(admin_th_req(&A, "GET", "/healthz", NULL, NULL, NULL,
		    &r), 0);
		if (r.status == 200)
			break;
		ck_assert_int_eq(r.status, 503);
		ck_assert_ptr_nonnull(strstr(r.body, "\"failing\""));
		th_resp_free(&r);
		usleep(50 * 1000);
	}
	ck_assert_int_eq(r.status, 200);
	doc = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_is_true(jget(doc, "database_writable")));
	ck_assert(json_is_true(jget(doc, "worker_alive")));
	ck_assert(json_is_boolean(jget(doc, "store_reachable")));
	ck_assert_ptr_nonnull(jget(doc, "last_sync_age_s"));
	/* Health only: the reconciler's webhook check and lag, nothing more. */
	ck_assert_ptr_nonnull(jget(doc, "webhooks"));
	ck_assert_ptr_nonnull(jget(doc, "reconcile_lag_s"));
	ck_assert_int_eq(json_object_size(doc), 7);
	ck_assert_ptr_null(strstr(r.body, "example"));
	json_decref(doc);
	th_resp_free(&r);
	ck_assert_int_eq(admin_th_req(&A, "POST", "/healthz", "{}", NULL, NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 405);
	th_resp_free(&r);
}
END_TEST

START_TEST(unknown_routes_methods_and_bodies)
{
	struct th_resp r;
	char *big;

	expect_error("GET", "/v1/nothing", NULL, 404, "not_found", NULL);
	/* /metrics: Prometheus text, no token needed on a loopback listener. */
	ck_assert_int_eq(admin_th_req(&A, "GET", "/metrics", NULL, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE tracksies_webhook_deliveries_total counter"));
	ck_assert_ptr_nonnull(strstr(r.body, "tracksies_queue_depth "));
	th_resp_free(&r);
	expect_error("POST", "/metrics", "{}", 405, "method_not_allowed", NULL);
	expect_error("GET", "/v1/customers/abc", NULL, 404, "not_found", NULL);
	expect_error("GET", "/v1/customers/0", NULL, 404, "not_found", NULL);
	expect_error("PUT", "/v1/customers", "{}", 405, "method_not_allowed",
	    NULL);
	ck_assert_int_eq(admin_th_req(&A, "DELETE", "/v1/features", NULL, "",
	    NULL, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strcasestr(r.headers, "Allow: GET, PUT"));
	th_resp_free(&r);
	expect_error("POST", "/v1/customers", "{\"email\":", 400, "invalid_json",
	    NULL);
	expect_error("POST", "/v1/customers", "[1,2]", 400, "invalid_json", NULL);
	expect_error("POST", "/v1/customers", "{\"email\":\"a@b.co\","
	    "\"email\":\"c@d.co\"}", 400, "invalid_json", NULL);
	big = malloc(2 * 1024 * 1024 + 1);
	memset(big, 'a', 2 * 1024 * 1024);
	big[2 * 1024 * 1024] = '\0';
	ck_assert_int_eq(admin_th_req(&A, "POST", "/v1/customers", big, "", NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 413);
	th_resp_free(&r);
	free(big);
	ck_assert_int_eq(admin_th_req(&A, "GET", "/v1/customers", NULL, "",
	    "bad\tactor", &r), 0);
	ck_assert_int_eq(r.status, 400);
	th_resp_free(&r);
}
END_TEST

/* ---- list -------------------------------------------------------------- */

START_TEST(list_has_tab_counts_paging_and_summary_fields)
{
	json_t *doc = call("GET", "/v1/customers", NULL, 200);

	ck_assert_int_eq(jint(doc, "counts.all"), 4);
	ck_assert_int_eq(jint(doc, "counts.active"), 1);
	ck_assert_int_eq(jint(doc, "counts.vip"), 1);
	ck_assert_int_eq(jint(doc, "counts.caution"), 1);
	ck_assert_int_eq(jint(doc, "counts.do_not_serve"), 1);
	ck_assert_int_eq(jint(doc, "total"), 4);
	ck_assert_int_eq(jint(doc, "page"), 1);
	ck_assert_int_eq(jint(doc, "per_page"), 20);
	ck_assert_int_eq(jint(doc, "pages"), 1);
	/* Default order: newest first. */
	ck_assert_int_eq(jint(doc, "customers.0.id"), 4);
	ck_assert_int_eq(jint(doc, "customers.3.id"), 1);
	ck_assert_str_eq(jstr(doc, "customers.3.ltv"), "3200.00");
	ck_assert_str_eq(jstr(doc, "customers.3.aov"), "228.57");
	ck_assert_str_eq(jstr(doc, "customers.3.refunded_total"), "25.00");
	ck_assert_str_eq(jstr(doc, "customers.3.currency"), "USD");
	ck_assert_str_eq(jstr(doc, "customers.3.created_at"),
	    "2023-11-14T22:13:20Z");
	/* The tag engine recalculates at start: count and list agree. */
	ck_assert_int_eq(jint(doc, "customers.3.tag_count"),
	    (long long)json_array_size(jget(doc, "customers.3.tags")));
	ck_assert_str_eq(jstr(doc, "customers.3.tags.0.label"), "First Order");
	ck_assert_int_eq(jint(doc, "customers.3.wp_user_id"), 7);
	json_decref(doc);

	doc = call("GET", "/v1/customers?status=vip", NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 1);
	ck_assert_str_eq(jstr(doc, "customers.0.email"), "liam.jones@example.org");
	ck_assert_int_eq(jint(doc, "counts.all"), 4);
	json_decref(doc);
	doc = call("GET", "/v1/customers?tag=first_order&sort=email&order=asc",
	    NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 2);
	ck_assert_int_eq(jint(doc, "customers.0.id"), 1);
	ck_assert_int_eq(jint(doc, "customers.1.id"), 2);
	json_decref(doc);
	expect_error("GET", "/v1/customers?status=banned", NULL, 400,
	    "invalid_parameter", "status");
	expect_error("GET", "/v1/customers?sort=password", NULL, 400,
	    "invalid_parameter", "sort");
	expect_error("GET", "/v1/customers?order=sideways", NULL, 400,
	    "invalid_parameter", "order");
}
END_TEST

START_TEST(pagination_edges)
{
	json_t *doc;

	doc = call("GET", "/v1/customers?per_page=3&page=2&sort=created&order=asc",
	    NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 4);
	ck_assert_int_eq(jint(doc, "pages"), 2);
	ck_assert_int_eq(json_array_size(jget(doc, "customers")), 1);
	ck_assert_int_eq(jint(doc, "customers.0.id"), 4);
	json_decref(doc);
	doc = call("GET", "/v1/customers?per_page=2&page=3", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "customers")), 0);
	ck_assert_int_eq(jint(doc, "total"), 4);
	json_decref(doc);
	doc = call("GET", "/v1/customers?per_page=100", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "customers")), 4);
	json_decref(doc);
	doc = call("GET", "/v1/customers?q=zzzzzz", NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 0);
	ck_assert_int_eq(jint(doc, "pages"), 0);
	json_decref(doc);
	expect_error("GET", "/v1/customers?per_page=0", NULL, 400,
	    "invalid_parameter", "per_page");
	expect_error("GET", "/v1/customers?per_page=101", NULL, 400,
	    "invalid_parameter", "per_page");
	expect_error("GET", "/v1/customers?page=0", NULL, 400,
	    "invalid_parameter", "page");
	expect_error("GET", "/v1/customers?page=x1", NULL, 400,
	    "invalid_parameter", "page");
	expect_error("GET", "/v1/customers?page=-1", NULL, 400,
	    "invalid_parameter", "page");
}
END_TEST

/* 60 customers with 3 distinct LTVs: paging by LTV must be a total order. */
START_TEST(sort_is_stable_across_pages)
{
	static const char *const keys[] = { "ltv", "orders", "tags", "status",
		"name", "email", "created" };
	char sql[256];

	admin_th_stop(&A);
	admin_th_start(&A, "store.currency = USD", admin_th_seed_sql);
	for (int i = 0; i < 60; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO customers (email, first_name,"
		    " last_name, status, created_at, ltv_minor, order_count) VALUES"
		    " ('s%02d@sort.test', 'Same', 'Name', '%s', 1700000000, %d, %d)", i,
		    i % 3 ? "active" : "vip", (i % 3) * 100, i % 2);
		admin_th_sql(A.d.db_path, sql);
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (int dir = 0; dir < 2; dir++) {
			int seen[200] = { 0 }, n = 0;
			long long prev_ltv = dir ? 1LL << 60 : -1;

			for (int page = 1; page <= 7; page++) {
				char path[128];
				json_t *doc, *c;
				size_t i;

				snprintf(path, sizeof(path), "/v1/customers?sort=%s&order=%s"
				    "&per_page=10&page=%d", keys[k], dir ? "desc" : "asc", page);
				doc = call("GET", path, NULL, 200);
				ck_assert_int_eq(jint(doc, "total"), 64);
				json_array_foreach(jget(doc, "customers"), i, c) {
					long long id = json_integer_value(json_object_get(c, "id"));
					ck_assert_msg(!seen[id], "%s: id %lld twice", keys[k], id);
					seen[id] = 1;
					n++;
					if (strcmp(keys[k], "ltv") == 0) {
						long long ltv = (long long)(atof(json_string_value(
						    json_object_get(c, "ltv"))) * 100 + 0.5);
						ck_assert(dir ? ltv <= prev_ltv : ltv >= prev_ltv);
						prev_ltv = ltv;
					}
				}
				json_decref(doc);
			}
			ck_assert_int_eq(n, 64);
		}
	}
	/* The same request twice gives the same page. */
	{
		json_t *a = call("GET", "/v1/customers?sort=ltv&per_page=7&page=4",
		    NULL, 200);
		json_t *b = call("GET", "/v1/customers?sort=ltv&per_page=7&page=4",
		    NULL, 200);
		ck_assert(json_equal(jget(a, "customers"), jget(b, "customers")));
		json_decref(a);
		json_decref(b);
	}
}
END_TEST

START_TEST(search_by_part_of_email_name_or_phone)
{
	static const struct {
		const char *q;
		long long id;
	} cases[] = {
		{ "smith%40exam", 1 },		/* "smith@exam" */
		{ "EXAMPLE.ORG", 2 },
		{ "livia", 3 },
		{ "emma%20smi", 1 },		/* across first and last name */
		{ "wilso", 4 },
		{ "7946", 2 },
		{ "5551234", 1 },		/* digits of "(555) 123-4567" */
		{ "123-45", 1 },
		{ "%28555%29%201", 1 },	/* "(555) 1" */
		{ "ol", 3 },			/* short: LIKE */
		{ "%22%22%22", 0 },		/* quotes are not FTS syntax */
		{ "a%25", 0 },			/* "a%": LIKE wildcards escaped */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[128];
		json_t *doc;

		snprintf(path, sizeof(path), "/v1/customers?q=%s", cases[i].q);
		doc = call("GET", path, NULL, 200);
		if (cases[i].id == 0) {
			ck_assert_msg(jint(doc, "total") == 0, "q=%s", cases[i].q);
		} else {
			ck_assert_msg(jint(doc, "total") == 1, "q=%s: total %lld",
			    cases[i].q, jint(doc, "total"));
			ck_assert_int_eq(jint(doc, "customers.0.id"), cases[i].id);
		}
		json_decref(doc);
	}
	/* Search follows edits (the index is kept by triggers). */
	json_decref(call("PATCH", "/v1/customers/3", "{\"last_name\":\"Zebedee\"}",
	    200));
	{
		json_t *doc = call("GET", "/v1/customers?q=zebed", NULL, 200);
		ck_assert_int_eq(jint(doc, "total"), 1);
		json_decref(doc);
		doc = call("GET", "/v1/customers?q=brown", NULL, 200);
		ck_assert_int_eq(jint(doc, "total"), 0);
		json_decref(doc);
		doc = call("GET", "/v1/customers?q=example&status=vip", NULL, 200);
		ck_assert_int_eq(jint(doc, "total"), 1);
		json_decref(doc);
	}
}
END_TEST

/*
 * A search on a tab is paged by walking the sort index against the matches
 * (admin_customers.c, search_walk), or, where the walk would be long (a
 * small tab or a later page here, with 2,000 other customers to walk
 * past), match by match from the ids the search found; narrowed by ids as
 * well, the same search is always paged match by match. All must give the
 * same pages and totals for every sort, direction and tab, with ties in
 * every key.
 */
START_TEST(search_pages_agree_with_the_match_by_match_pass)
{
	static const char *const keys[] = { "ltv", "orders", "tags", "status",
		"name", "email", "created" };
	static const char *const tabs[] = { "", "&status=active", "&status=vip",
		"&status=caution" };
	static const char *const statuses[] = { "active", "vip", "caution" };
	char sql[320], ids[1024] = "", path[1400];
	size_t used = 0;

	for (int i = 0; i < 90; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO customers (email, first_name,"
		    " last_name, status, created_at, ltv_minor, order_count, tag_count)"
		    " VALUES ('w%02d@walk.test', '%s', '%s', '%s', %d, %d, %d, %d)", i,
		    i % 4 ? "Ann" : "Bo", i % 3 ? "Quillsmith" : "Quillsmithers",
		    i % 5 == 0 ? "other" : statuses[i % 3], 1700000000 + i % 7,
		    (i % 4) * 250, i % 3, i % 2);
		if (i % 5 == 0)	/* not a match: no Smith in the name or email */
			snprintf(sql, sizeof(sql), "INSERT INTO customers (email,"
			    " first_name, last_name, status, created_at) VALUES"
			    " ('x%02d@walk.test', 'Cy', 'Jones', 'active', 1700000000)", i);
		admin_th_sql(A.d.db_path, sql);
	}
	admin_th_sql(A.d.db_path, "INSERT INTO customers (email, first_name,"
	    " last_name, status, created_at) WITH RECURSIVE n(i) AS (SELECT 1"
	    " UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT 'j' || i ||"
	    " '@walk.test', 'Di', 'Jones', 'active', 1700000000 FROM n");
	for (int id = 1; id <= 120; id++)
		used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%d",
		    id > 1 ? "," : "", id);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (int dir = 0; dir < 2; dir++)
			for (size_t t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++) {
				long long total = -1;

				for (int page = 1; page <= 12; page++) {
					json_t *walked, *by_match;

					snprintf(path, sizeof(path), "/v1/customers?q=quillsmith&sort=%s"
					    "&order=%s%s&per_page=7&page=%d", keys[k],
					    dir ? "desc" : "asc", tabs[t], page);
					walked = call("GET", path, NULL, 200);
					snprintf(path + strlen(path), sizeof(path) - strlen(path),
					    "&ids=%s", ids);
					by_match = call("GET", path, NULL, 200);
					ck_assert_int_eq(jint(walked, "total"),
					    jint(by_match, "total"));
					ck_assert_msg(json_equal(jget(walked, "customers"),
					    jget(by_match, "customers")), "sort=%s order=%s%s"
					    " page %d differs", keys[k], dir ? "desc" : "asc",
					    tabs[t], page);
					total = jint(walked, "total");
					json_decref(walked);
					json_decref(by_match);
				}
				/* 72 of the 90 match; the tabs split them three ways. */
				ck_assert_int_eq(total, tabs[t][0] == '\0' ? 72 : 24);
			}
	/* A status change moves the customer between the tabs' searches. */
	json_decref(call("PATCH", "/v1/customers/8", "{\"status\":\"vip\"}", 200));
	{
		json_t *doc = call("GET", "/v1/customers?q=walk.test&status=vip",
		    NULL, 200);

		ck_assert_int_eq(jint(doc, "total"), 25);
		json_decref(doc);
	}
}
END_TEST

/* ---- add, profile, edit, statuses -------------------------------------- */

START_TEST(add_customer_before_any_order)
{
	json_t *doc = call("POST", "/v1/customers", "{\"email\":\"  New.Person@"
	    "Example.COM \",\"first_name\":\"New\",\"last_name\":\"Person\","
	    "\"phone\":\"555 000\",\"status\":\"vip\",\"status_reason\":\"wholesale\","
	    "\"notes\":\"met at the fair\"}", 201);

	ck_assert_str_eq(jstr(doc, "email"), "new.person@example.com");
	ck_assert_str_eq(jstr(doc, "status"), "vip");
	ck_assert_str_eq(jstr(doc, "status_reason"), "wholesale");
	ck_assert_str_eq(jstr(doc, "status_changed_by"), "tester");
	ck_assert_str_eq(jstr(doc, "notes"), "met at the fair");
	ck_assert_int_eq(jint(doc, "order_count"), 0);
	ck_assert_str_eq(jstr(doc, "ltv"), "0.00");
	json_decref(doc);
	doc = call("GET", "/v1/customers", NULL, 200);
	ck_assert_int_eq(jint(doc, "counts.vip"), 2);
	ck_assert_int_eq(jint(doc, "counts.all"), 5);
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE action ="
	    " 'create' AND actor = 'tester'"), 1);
	expect_error("POST", "/v1/customers", "{\"email\":\"NEW.person@example.com\"}",
	    409, "email_in_use", "email");
	expect_error("POST", "/v1/customers", "{\"email\":\"not-an-email\"}", 400,
	    "invalid_field", "email");
	expect_error("POST", "/v1/customers", "{\"email\":\"a@b\"}", 400,
	    "invalid_field", "email");
	expect_error("POST", "/v1/customers", "{\"first_name\":\"X\"}", 400,
	    "missing_field", "email");
	expect_error("POST", "/v1/customers", "{\"email\":\"x@y.co\",\"admin\":1}",
	    400, "unknown_field", "admin");
	expect_error("POST", "/v1/customers", "{\"email\":\"x@y.co\",\"status\":"
	    "\"banned\"}", 400, "invalid_field", "status");
	expect_error("POST", "/v1/customers", "{\"email\":\"x@y.co\",\"phone\":5}",
	    400, "invalid_field", "phone");
	expect_error("POST", "/v1/customers", "{\"email\":\"x@y.co\",\"first_name\":"
	    "\"a\\u0001b\"}", 400, "invalid_field", "first_name");
}
END_TEST

START_TEST(profile_has_every_section)
{
	json_t *doc = call("GET", "/v1/customers/1", NULL, 200);

	ck_assert_str_eq(jstr(doc, "email"), "emma.smith@example.com");
	ck_assert_str_eq(jstr(doc, "company"), "Acme");
	ck_assert_str_eq(jstr(doc, "first_order_at"), "2020-09-13T12:26:40Z");
	ck_assert_str_eq(jstr(doc, "billing.city"), "Springfield");
	ck_assert(json_is_true(jget(doc, "same_as_billing")));
	ck_assert_int_eq(json_array_size(jget(doc, "orders")), 3);
	/* Newest first, any status. */
	ck_assert_int_eq(jint(doc, "orders.0.id"), 102);
	ck_assert_int_eq(jint(doc, "orders.1.id"), 103);
	ck_assert_str_eq(jstr(doc, "orders.1.status"), "pending");
	ck_assert_str_eq(jstr(doc, "orders.2.items.0.name"), "Tea");
	ck_assert_int_eq(jint(doc, "orders.2.items.0.quantity"), 2);
	ck_assert_str_eq(jstr(doc, "orders.2.payment.title"), "Bank transfer");
	ck_assert_str_eq(jstr(doc, "orders.2.shipping_methods"), "Flat rate");
	ck_assert_str_eq(jstr(doc, "orders.2.tracking.0.tracking_number"), "TRK1");
	ck_assert_str_eq(jstr(doc, "orders.2.customer_note"), "Leave at the door");
	ck_assert_str_eq(jstr(doc, "orders.2.shipping.address_1"), "1 Main St");
	ck_assert_str_eq(jstr(doc, "orders.2.sync.state"), "synced");
	ck_assert_str_eq(jstr(doc, "orders.0.sync.error.code"), "no_billing_email");
	ck_assert_int_eq(jint(doc, "returns.count"), 1);
	ck_assert_str_eq(jstr(doc, "returns.refunded_total"), "25.00");
	ck_assert_str_eq(jstr(doc, "returns.list.0.reason"), "damaged");
	ck_assert_str_eq(jstr(doc, "tags.0.icon"), "star");
	ck_assert_str_eq(jstr(doc, "tags.0.earned_at"), "2020-09-13T12:26:40Z");
	ck_assert_int_eq(jint(doc, "details.id"), 1);
	ck_assert_int_eq(jint(doc, "details.wp_user_id"), 7);
	ck_assert(json_is_array(jget(doc, "interactions")));
	ck_assert(json_is_array(jget(doc, "aliases")));
	ck_assert(json_is_array(jget(doc, "links")));
	ck_assert(json_is_array(jget(doc, "warnings")));
	json_decref(doc);
	expect_error("GET", "/v1/customers/999", NULL, 404, "not_found", NULL);
}
END_TEST

START_TEST(edit_audits_field_names_not_values)
{
	json_t *doc = call("PATCH", "/v1/customers/1", "{\"first_name\":\"Emmy\","
	    "\"phone\":\"999 888\",\"notes\":\"secret note\",\"status\":\"caution\","
	    "\"status_reason\":\"chargeback\"}", 200);

	ck_assert_str_eq(jstr(doc, "first_name"), "Emmy");
	ck_assert_str_eq(jstr(doc, "phone"), "999 888");
	ck_assert_str_eq(jstr(doc, "notes"), "secret note");
	ck_assert_str_eq(jstr(doc, "status"), "caution");
	ck_assert_str_eq(jstr(doc, "details.status_reason"), "chargeback");
	ck_assert_str_eq(jstr(doc, "details.status_changed_by"), "tester");
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE customer_id"
	    " = 1 AND action = 'edit' AND field IN ('first_name', 'phone', 'notes')"
	    " AND old_value IS NULL AND new_value IS NULL"), 3);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE customer_id"
	    " = 1 AND action = 'status_change' AND old_value = 'active' AND"
	    " new_value = 'caution' AND reason = 'chargeback' AND actor ="
	    " 'tester'"), 1);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE old_value"
	    " LIKE '%Emm%' OR new_value LIKE '%Emm%' OR new_value LIKE '%999%'"
	    " OR new_value LIKE '%secret%'"), 0);
	/* The same values again change nothing and audit nothing. */
	json_decref(call("PATCH", "/v1/customers/1", "{\"first_name\":\"Emmy\","
	    "\"status\":\"caution\"}", 200));
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE customer_id"
	    " = 1"), 4);
	expect_error("PATCH", "/v1/customers/1", "{}", 400, "missing_field", NULL);
	expect_error("PATCH", "/v1/customers/1", "{\"email\":\"x@y.co\"}", 400,
	    "unknown_field", "email");
	expect_error("PATCH", "/v1/customers/1", "{\"status\":\"gold\"}", 400,
	    "invalid_field", "status");
	expect_error("PATCH", "/v1/customers/77", "{\"first_name\":\"X\"}", 404,
	    "not_found", NULL);
}
END_TEST

START_TEST(quick_actions_move_tab_counts)
{
	json_t *doc;

	json_decref(call("POST", "/v1/customers/1/actions/vip", NULL, 200));
	json_decref(call("POST", "/v1/customers/2/actions/do_not_serve",
	    "{\"reason\":\"abuse\"}", 200));
	json_decref(call("POST", "/v1/customers/3/actions/caution", "", 200));
	doc = call("GET", "/v1/customers", NULL, 200);
	ck_assert_int_eq(jint(doc, "counts.active"), 0);
	ck_assert_int_eq(jint(doc, "counts.vip"), 1);
	ck_assert_int_eq(jint(doc, "counts.caution"), 1);
	ck_assert_int_eq(jint(doc, "counts.do_not_serve"), 2);
	json_decref(doc);
	doc = call("POST", "/v1/customers/4/actions/restore", NULL, 200);
	ck_assert_str_eq(jstr(doc, "status"), "active");
	json_decref(doc);
	doc = call("GET", "/v1/customers?status=do_not_serve", NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 1);
	ck_assert_int_eq(jint(doc, "customers.0.id"), 2);
	ck_assert_int_eq(jint(doc, "counts.active"), 1);
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE action ="
	    " 'status_change'"), 3);
	expect_error("POST", "/v1/customers/4/actions/restore", NULL, 409,
	    "invalid_state", NULL);
	expect_error("POST", "/v1/customers/99/actions/vip", NULL, 404,
	    "not_found", NULL);
	expect_error("POST", "/v1/customers/1/actions/vip", "{\"why\":1}", 400,
	    "unknown_field", "why");
	expect_error("GET", "/v1/customers/1/actions/vip", NULL, 405,
	    "method_not_allowed", NULL);
}
END_TEST

START_TEST(bulk_set_status_and_errors)
{
	json_t *doc = call("POST", "/v1/customers/bulk", "{\"action\":\"set_status\","
	    "\"ids\":[1,2,3,3,42],\"status\":\"vip\",\"reason\":\"campaign\"}", 200);

	ck_assert_int_eq(jint(doc, "updated"), 2);
	ck_assert_int_eq(jint(doc, "unchanged"), 1);
	ck_assert_int_eq(jint(doc, "not_found.0"), 42);
	json_decref(doc);
	doc = call("GET", "/v1/customers", NULL, 200);
	ck_assert_int_eq(jint(doc, "counts.vip"), 3);
	ck_assert_int_eq(jint(doc, "counts.active"), 0);
	json_decref(doc);
	expect_error("POST", "/v1/customers/bulk", "{\"action\":\"explode\","
	    "\"ids\":[1]}", 400, "invalid_field", "action");
	expect_error("POST", "/v1/customers/bulk", "{\"action\":\"set_status\","
	    "\"ids\":[]}", 400, "invalid_field", "ids");
	expect_error("POST", "/v1/customers/bulk", "{\"action\":\"set_status\","
	    "\"ids\":[\"1\"]}", 400, "invalid_field", "ids");
	expect_error("POST", "/v1/customers/bulk", "{\"action\":\"set_status\","
	    "\"ids\":[1]}", 400, "missing_field", "status");
}
END_TEST

/* ---- CSV --------------------------------------------------------------- */

static char *
get_csv(const char *path, long expect)
{
	struct th_resp r;
	char *body;

	ck_assert_int_eq(admin_th_req(&A, "GET", path, NULL, "", "tester", &r), 0);
	ck_assert_int_eq(r.status, expect);
	if (expect == 200)
		ck_assert_ptr_nonnull(strcasestr(r.headers,
		    "Content-Type: text/csv; charset=utf-8"));
	body = r.body;
	r.body = NULL;
	th_resp_free(&r);
	return body;
}

START_TEST(csv_export_escapes_and_neutralises)
{
	json_t *doc = call("POST", "/v1/customers", "{\"email\":\"csv@example.com\","
	    "\"first_name\":\"=HYPERLINK(\\\"x\\\")\",\"last_name\":\"Smith, \\\"Jr\\\"\","
	    "\"phone\":\"+1 555\",\"company\":\"@SUM(A1)\","
	    "\"status_reason\":\"Line1\\nLine2\"}", 201);
	long long id = jint(doc, "id");
	char path[128], *csv, *line;

	json_decref(doc);
	json_decref(call("PATCH", "/v1/customers/4", "{\"first_name\":\"Zoë\","
	    "\"last_name\":\"-10\"}", 200));
	snprintf(path, sizeof(path), "/v1/customers/export.csv?ids=%lld,4", id);
	csv = get_csv(path, 200);
	ck_assert_msg(strncmp(csv, "id,email,first_name,last_name,phone,company,"
	    "wp_user_id,status,status_reason,status_changed_at,status_changed_by,"
	    "ltv,order_count,aov,refunded_total,refund_count,first_order_at,"
	    "last_order_at,currency,tags,created_at\r\n", 215) == 0, "header: %s",
	    csv);
	line = strstr(csv, "\r\n4,noah@banned.test,Zoë,'-10,,,,do_not_serve,");
	ck_assert_msg(line != NULL, "row 4: %s", csv);
	line = strstr(csv, ",csv@example.com,\"'=HYPERLINK(\"\"x\"\")\","
	    "\"Smith, \"\"Jr\"\"\",'+1 555,'@SUM(A1),,active,\"Line1\nLine2\",");
	ck_assert_msg(line != NULL, "escaped row: %s", csv);
	/* Every record ends in CRLF; the only bare LF is inside quotes. */
	ck_assert_int_eq(csv[strlen(csv) - 1], '\n');
	ck_assert_int_eq(csv[strlen(csv) - 2], '\r');
	free(csv);
	csv = get_csv("/v1/customers/export.csv?status=vip&sort=email", 200);
	ck_assert_ptr_nonnull(strstr(csv, "liam.jones@example.org"));
	ck_assert_ptr_null(strstr(csv, "emma.smith"));
	ck_assert_ptr_nonnull(strstr(csv, ",USD,First Order,"));
	free(csv);
	csv = get_csv("/v1/customers/export.csv?ids=1,x", 400);
	free(csv);
}
END_TEST

START_TEST(audit_export_by_selection)
{
	char *csv;

	json_decref(call("POST", "/v1/customers/2/actions/caution",
	    "{\"reason\":\"late, \\\"again\\\"\"}", 200));
	json_decref(call("POST", "/v1/customers/3/actions/vip", NULL, 200));
	csv = get_csv("/v1/audit/export.csv?ids=2", 200);
	ck_assert_msg(strncmp(csv, "id,at,customer_id,actor,action,field,old_value,"
	    "new_value,reason\r\n", 65) == 0, "%s", csv);
	ck_assert_ptr_nonnull(strstr(csv, ",2,tester,status_change,status,vip,"
	    "caution,\"late, \"\"again\"\"\"\r\n"));
	ck_assert_ptr_null(strstr(csv, ",3,tester,"));
	free(csv);
	csv = get_csv("/v1/audit/export.csv", 200);
	ck_assert_ptr_nonnull(strstr(csv, ",3,tester,status_change"));
	free(csv);
}
END_TEST

/* ---- GDPR erasure ------------------------------------------------------ */

static int
db_files_have(const char *needle)
{
	char wal[600];

	snprintf(wal, sizeof(wal), "%s-wal", A.d.db_path);
	return admin_th_file_has(A.d.db_path, needle) ||
	    admin_th_file_has(wal, needle);
}

START_TEST(erasure_leaves_no_byte_of_the_email)
{
	static const char email[] = "erase.me.please@gdpr-example.test";
	json_t *doc;

	/* A customer with every kind of personal row. */
	doc = call("POST", "/v1/customers", "{\"email\":\"erase.me.please@"
	    "gdpr-example.test\",\"first_name\":\"Eraseable\",\"last_name\":"
	    "\"Personson\",\"phone\":\"+1 202 555 0147\",\"notes\":\"Prefers"
	    " Tuesdays\"}", 201);
	ck_assert_int_eq(jint(doc, "id"), 5);
	json_decref(doc);
	admin_th_sql(A.d.db_path, "INSERT INTO orders (id, customer_id, number,"
	    " status, currency, created_at, total_minor, customer_note, billing_json,"
	    " shipping_json, fetched_at) VALUES (501, 5, '501', 'completed', 'USD',"
	    " 1700000000, 999, 'Ring the bell, Personson', '{\"email\":\"erase.me."
	    "please@gdpr-example.test\",\"address_1\":\"42 Erasure Lane\"}',"
	    " '{\"address_1\":\"42 Erasure Lane\"}', 0);"
	    "INSERT INTO order_items (order_id, name, quantity, total_minor) VALUES"
	    " (501, 'Gift for Personson', 1, 999);"
	    "INSERT INTO transactions (order_id, customer_id, order_number,"
	    " total_minor, currency, created_at) VALUES (501, 5, '501', 999, 'USD',"
	    " 1700000000);"
	    "INSERT INTO order_sync (order_id, state, customer_id, synced_at,"
	    " updated_at) VALUES (501, 'synced', 5, 1700000000, 1700000000);"
	    "INSERT INTO customer_tags (customer_id, tag_id, earned_at) VALUES"
	    " (5, 'first_order', 1700000000);"
	    "UPDATE customers SET tag_count = 1 WHERE id = 5;");
	json_decref(call("POST", "/v1/customers/5/aliases",
	    "{\"email\":\"erase.alias@gdpr-example.test\"}", 201));
	json_decref(call("POST", "/v1/customers/5/interactions", "{\"type\":"
	    "\"call\",\"summary\":\"Personson called\",\"details\":\"about 42"
	    " Erasure Lane\"}", 201));
	json_decref(call("POST", "/v1/customers/5/links", "{\"other_id\":1}", 201));
	json_decref(call("POST", "/v1/customers/5/actions/caution",
	    "{\"reason\":\"Personson shouted\"}", 200));
	json_decref(call("PATCH", "/v1/customers/5", "{\"phone\":\"+1 202 555"
	    " 0199\",\"last_name\":\"Personson-Smith\"}", 200));

	doc = call("DELETE", "/v1/customers/5", NULL, 200);
	ck_assert_int_eq(jint(doc, "erasure.order_count"), 1);
	ck_assert_int_eq(jint(doc, "orders_queued"), 1);
	ck_assert_str_eq(jstr(doc, "erasure.actor"), "tester");
	json_decref(doc);
	expect_error("GET", "/v1/customers/5", NULL, 404, "not_found", NULL);
	expect_error("DELETE", "/v1/customers/5", NULL, 404, "not_found", NULL);

	ck_assert_int_eq(db_int("SELECT count(*) FROM erasures WHERE order_count"
	    " = 1 AND actor = 'tester'"), 1);
	ck_assert_int_eq(db_int("SELECT count(*) FROM erased_orders WHERE"
	    " order_id = 501"), 1);
	ck_assert_int_eq(db_int("SELECT count(*) FROM events WHERE order_id = 501"
	    " AND topic = 'order.erase' AND source = 'admin'"), 1);
	ck_assert_int_eq(db_int("SELECT count(*) FROM orders WHERE id = 501"), 0);
	/*
	 * The search index was merged: no tombstoned trigrams are left. The
	 * erasure merges for up to 300 ms, enough on a store this small; in a
	 * slowed run (valgrind) the worker's loop finishes it.
	 */
	ck_assert_int_eq(th_db_wait(A.d.db_path, "SELECT count(*) FROM kv WHERE"
	    " key = 'search.purge_pending'", 0, th_time_factor() > 1 ? 5000 : 0), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM customer_aliases"), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM customer_links"), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM customer_interactions"), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE customer_id"
	    " = 5 OR reason LIKE '%Personson%'"), 0);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE action ="
	    " 'erasure' AND customer_id IS NULL"), 1);
	/* The other side of the link lost it too; the tab counts follow. */
	doc = call("GET", "/v1/customers/1/links", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "links")), 0);
	json_decref(doc);
	doc = call("GET", "/v1/customers", NULL, 200);
	ck_assert_int_eq(jint(doc, "counts.all"), 4);
	ck_assert_int_eq(jint(doc, "counts.caution"), 1);
	json_decref(doc);
	doc = call("GET", "/v1/customers?q=personson", NULL, 200);
	ck_assert_int_eq(jint(doc, "total"), 0);
	json_decref(doc);

	/* The bytes: database and WAL while running, then after shutdown. */
	ck_assert_msg(!db_files_have(email), "email left in the file");
	ck_assert_msg(!db_files_have("erase.alias@"), "alias left in the file");
	ck_assert_msg(!db_files_have("Personson"), "name left in the file");
	ck_assert_msg(!db_files_have("Erasure Lane"), "address left in the file");
	ck_assert_msg(!db_files_have("555 0147"), "phone left in the file");
	ck_assert_msg(!db_files_have("Tuesdays"), "notes left in the file");
	ck_assert_int_eq(admin_th_stop_daemon(&A), 0);
	ck_assert_msg(!db_files_have(email), "email in the file after shutdown");
	ck_assert_msg(!db_files_have("Personson"), "name in the file after"
	    " shutdown");
	/* Control: the scan does find a customer that was not erased. */
	ck_assert(db_files_have("liam.jones@example.org"));
}
END_TEST

START_TEST(bulk_delete_erases_each)
{
	json_t *doc = call("POST", "/v1/customers/bulk", "{\"action\":\"delete\","
	    "\"ids\":[1,3,99]}", 200);

	ck_assert_int_eq(jint(doc, "erased"), 2);
	ck_assert_int_eq(jint(doc, "not_found.0"), 99);
	ck_assert_int_eq(jint(doc, "orders_queued"), 3);
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM erasures"), 2);
	ck_assert_int_eq(db_int("SELECT count(*) FROM erased_orders"), 3);
	ck_assert_int_eq(db_int("SELECT count(*) FROM customers"), 2);
	ck_assert_int_eq(db_int("SELECT count(*) FROM order_items"), 0);
	doc = call("GET", "/v1/orders/101/sync", NULL, 200);
	ck_assert_str_eq(jstr(doc, "state"), "erased");
	json_decref(doc);
	expect_error("POST", "/v1/orders/101/sync", NULL, 409, "order_erased",
	    NULL);
	ck_assert_msg(!db_files_have("emma.smith@example.com"), "email left");
}
END_TEST

/* ---- aliases, links, interactions -------------------------------------- */

START_TEST(alias_matches_a_later_order)
{
	struct db *db = NULL;
	struct sync *sy = NULL;
	struct sync_settings set = { .store_currency = "USD", .decimals = 2 };
	char *statuses[] = { "processing", "completed" };
	struct sync_result res;
	struct th_resp r;
	json_t *doc, *order;
	int64_t id = 0, order_id;
	char *text;

	doc = call("POST", "/v1/customers/2/aliases",
	    "{\"email\":\"Liam.Work@Company.test\"}", 201);
	ck_assert_str_eq(jstr(doc, "alias.email"), "liam.work@company.test");
	ck_assert_int_eq(jint(doc, "alias.id"), 1);
	json_decref(doc);
	expect_error("POST", "/v1/customers/1/aliases",
	    "{\"email\":\"liam.work@company.test\"}", 409, "email_in_use", "email");
	expect_error("POST", "/v1/customers/1/aliases",
	    "{\"email\":\"olivia@shop.test\"}", 409, "email_in_use", "email");
	expect_error("POST", "/v1/customers/1/aliases",
	    "{\"email\":\"emma.smith@example.com\"}", 409, "email_in_use", "email");
	expect_error("POST", "/v1/customers/1/aliases", "{\"email\":\"nope\"}",
	    400, "invalid_field", "email");
	expect_error("POST", "/v1/customers/99/aliases",
	    "{\"email\":\"free@addr.test\"}", 404, "not_found", NULL);
	expect_error("POST", "/v1/customers", "{\"email\":\"liam.work@company.test\"}",
	    409, "email_in_use", "email");
	doc = call("GET", "/v1/customers/2/aliases", NULL, 200);
	ck_assert_str_eq(jstr(doc, "aliases.0.email"), "liam.work@company.test");
	json_decref(doc);

	/* The alias resolves, and an order placed with it lands on Liam. */
	ck_assert_int_eq(db_open(A.d.db_path, &db, NULL), TS_OK);
	ck_assert_int_eq(profile_find_by_email(db, " LIAM.work@company.test",
	    &id), TS_OK);
	ck_assert_int_eq(id, 2);
	set.qualifying_statuses = statuses;
	set.n_qualifying_statuses = 2;
	ck_assert_int_eq(sync_new(db, &set, &sy), TS_OK);
	text = th_fixture("woocommerce/rest/37-order-get.json", NULL);
	doc = json_loads(text, 0, NULL);
	free(text);
	order = json_object_get(doc, "body");
	ck_assert_ptr_nonnull(order);
	order_id = json_integer_value(json_object_get(order, "id"));
	json_object_set_new(json_object_get(order, "billing"), "email",
	    json_string("Liam.Work@company.test"));
	ck_assert_int_eq(db_begin(db), TS_OK);
	ck_assert_int_eq(sync_apply_order(sy, order, 1800000000, &res), TS_OK);
	ck_assert_int_eq(db_commit(db), TS_OK);
	ck_assert_msg(res.customer_id == 2 && !res.customer_created,
	    "customer %lld created %d error %s", (long long)res.customer_id,
	    (int)res.customer_created, res.error_code ? res.error_code : "-");
	sync_result_fini(&res);
	json_decref(doc);
	sync_free(sy);
	db_close(db);

	doc = call("GET", "/v1/customers/2", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "aliases")), 1);
	ck_assert_int_eq(jint(doc, "orders.0.id"), order_id);
	json_decref(doc);
	ck_assert_int_eq(admin_th_req(&A, "DELETE", "/v1/customers/2/aliases/1",
	    NULL, "", "tester", &r), 0);
	ck_assert_int_eq(r.status, 204);
	th_resp_free(&r);
	expect_error("DELETE", "/v1/customers/2/aliases/1", NULL, 404,
	    "not_found", NULL);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE action IN"
	    " ('alias_added', 'alias_removed') AND new_value IS NULL"), 2);
}
END_TEST

START_TEST(linked_accounts_warn_about_caution_and_banned)
{
	json_t *doc;
	struct th_resp r;

	doc = call("POST", "/v1/customers/1/links", "{\"other_id\":3}", 201);
	ck_assert_int_eq(jint(doc, "links.0.id"), 3);
	ck_assert_str_eq(jstr(doc, "links.0.warning.code"), "linked_caution");
	json_decref(doc);
	json_decref(call("POST", "/v1/customers/4/links", "{\"other_id\":1}", 201));
	json_decref(call("POST", "/v1/customers/1/links", "{\"other_id\":2}", 201));
	doc = call("GET", "/v1/customers/1", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "links")), 3);
	ck_assert_int_eq(json_array_size(jget(doc, "warnings")), 2);
	ck_assert_str_eq(jstr(doc, "warnings.0.code"), "linked_caution");
	ck_assert_int_eq(jint(doc, "warnings.0.customer_id"), 3);
	ck_assert_str_eq(jstr(doc, "warnings.1.code"), "linked_do_not_serve");
	ck_assert_int_eq(jint(doc, "links.0.id"), 2);
	ck_assert(json_is_null(jget(doc, "links.0.warning")));
	json_decref(doc);
	/* Seen from the other side too. */
	doc = call("GET", "/v1/customers/3/links", NULL, 200);
	ck_assert_int_eq(jint(doc, "links.0.id"), 1);
	ck_assert_int_eq(json_array_size(jget(doc, "warnings")), 0);
	json_decref(doc);
	/* The warning goes when the linked account's status is corrected. */
	json_decref(call("POST", "/v1/customers/4/actions/restore", NULL, 200));
	doc = call("GET", "/v1/customers/1/links", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "warnings")), 1);
	json_decref(doc);
	expect_error("POST", "/v1/customers/1/links", "{\"other_id\":3}", 409,
	    "already_linked", "other_id");
	expect_error("POST", "/v1/customers/3/links", "{\"other_id\":1}", 409,
	    "already_linked", "other_id");
	expect_error("POST", "/v1/customers/1/links", "{\"other_id\":1}", 400,
	    "invalid_field", "other_id");
	expect_error("POST", "/v1/customers/1/links", "{\"other_id\":77}", 404,
	    "not_found", "other_id");
	expect_error("POST", "/v1/customers/1/links", "{}", 400, "missing_field",
	    "other_id");
	ck_assert_int_eq(admin_th_req(&A, "DELETE", "/v1/customers/3/links/1",
	    NULL, "", "tester", &r), 0);
	ck_assert_int_eq(r.status, 204);
	th_resp_free(&r);
	expect_error("DELETE", "/v1/customers/3/links/1", NULL, 404, "not_found",
	    NULL);
	doc = call("GET", "/v1/customers/1/links", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "links")), 2);
	json_decref(doc);
}
END_TEST

START_TEST(interactions_of_every_type)
{
	static const char *const types[] = { "call", "email", "note", "complaint",
		"compliment", "refund", "return", "preference", "contact_form",
		"other" };
	char body[512];
	json_t *doc;
	struct th_resp r;

	for (size_t i = 0; i < 10; i++) {
		snprintf(body, sizeof(body), "{\"type\":\"%s\",\"summary\":\"s%zu\","
		    "\"details\":\"line1\\nline2\",\"occurred_at\":\"2026-01-0%zuT10:00:00Z\"%s}",
		    types[i], i, i % 9 + 1, i == 8 ? ",\"source_url\":"
		    "\"https://shop.test/wp-admin/admin.php?page=wpcf7&entry=5\"" : "");
		doc = call("POST", "/v1/customers/1/interactions", body, 201);
		ck_assert_str_eq(jstr(doc, "interaction.type"), types[i]);
		ck_assert_str_eq(jstr(doc, "interaction.staff"), "tester");
		json_decref(doc);
	}
	doc = call("GET", "/v1/customers/1/interactions?per_page=4&page=3", NULL,
	    200);
	ck_assert_int_eq(jint(doc, "total"), 10);
	ck_assert_int_eq(jint(doc, "pages"), 3);
	ck_assert_int_eq(json_array_size(jget(doc, "interactions")), 2);
	json_decref(doc);
	doc = call("GET", "/v1/customers/1", NULL, 200);
	ck_assert_int_eq(json_array_size(jget(doc, "interactions")), 10);
	/* Newest first: the contact form (2026-01-09). */
	ck_assert_str_eq(jstr(doc, "interactions.0.type"), "contact_form");
	ck_assert_str_eq(jstr(doc, "interactions.0.source_url"),
	    "https://shop.test/wp-admin/admin.php?page=wpcf7&entry=5");
	ck_assert_str_eq(jstr(doc, "interactions.0.occurred_at"),
	    "2026-01-09T10:00:00Z");
	json_decref(doc);
	expect_error("POST", "/v1/customers/1/interactions", "{\"type\":\"fax\","
	    "\"summary\":\"x\"}", 400, "invalid_field", "type");
	expect_error("POST", "/v1/customers/1/interactions", "{\"type\":\"call\"}",
	    400, "missing_field", "summary");
	expect_error("POST", "/v1/customers/1/interactions", "{\"type\":\"call\","
	    "\"summary\":\"x\",\"source_url\":\"javascript:alert(1)\"}", 400,
	    "invalid_field", "source_url");
	expect_error("POST", "/v1/customers/1/interactions", "{\"type\":\"call\","
	    "\"summary\":\"x\",\"occurred_at\":\"yesterday\"}", 400,
	    "invalid_field", "occurred_at");
	expect_error("POST", "/v1/customers/9/interactions", "{\"type\":\"call\","
	    "\"summary\":\"x\"}", 404, "not_found", NULL);
	ck_assert_int_eq(admin_th_req(&A, "DELETE", "/v1/customers/1/interactions/1",
	    NULL, "", "tester", &r), 0);
	ck_assert_int_eq(r.status, 204);
	th_resp_free(&r);
	expect_error("DELETE", "/v1/customers/2/interactions/2", NULL, 404,
	    "not_found", NULL);
}
END_TEST

/* ---- features ---------------------------------------------------------- */

START_TEST(feature_flags_read_write_and_take_effect)
{
	struct db *db = NULL;
	json_t *doc = call("GET", "/v1/features", NULL, 200);
	bool on = true;

	ck_assert(json_is_true(json_object_get(jget(doc, "features"),
	    "woo.order_sync")));
	ck_assert(json_is_true(json_object_get(jget(doc, "features"), "woo.tags")));
	ck_assert(json_is_false(json_object_get(jget(doc, "features"),
	    "hq.digital_auto_complete")));
	ck_assert_int_eq(json_object_size(jget(doc, "features")), 6);
	json_decref(doc);
	doc = call("PUT", "/v1/features", "{\"features\":{\"woo.aliases\":false,"
	    "\"woo.interactions\":false,\"woo.order_sync\":false,"
	    "\"hq.digital_auto_complete\":true}}", 200);
	ck_assert(json_is_false(json_object_get(jget(doc, "features"),
	    "woo.aliases")));
	ck_assert(json_is_true(json_object_get(jget(doc, "features"),
	    "hq.digital_auto_complete")));
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM kv WHERE key ="
	    " 'feature.woo.aliases' AND value = 'off'"), 1);
	ck_assert_int_eq(db_int("SELECT count(*) FROM audit_log WHERE action ="
	    " 'feature_change'"), 4);
	/* The daemon's other threads read the same flag (features_get). */
	ck_assert_int_eq(db_open(A.d.db_path, &db, NULL), TS_OK);
	ck_assert_int_eq(features_get(db, "woo.aliases", &on), TS_OK);
	ck_assert(!on);
	ck_assert_int_eq(features_get(db, "woo.tags", &on), TS_OK);
	ck_assert(on);
	ck_assert_int_eq(features_get(db, "woo.nothing", &on), TS_ERR_INVALID);
	db_close(db);
	/* Taking effect at once. */
	expect_error("POST", "/v1/customers/1/aliases", "{\"email\":\"a@b.co\"}",
	    409, "feature_disabled", NULL);
	expect_error("POST", "/v1/customers/1/interactions", "{\"type\":\"call\","
	    "\"summary\":\"x\"}", 409, "feature_disabled", NULL);
	expect_error("POST", "/v1/orders/101/sync", NULL, 409, "feature_disabled",
	    NULL);
	expect_error("POST", "/v1/sync/retry", "{\"all\":true}", 409,
	    "feature_disabled", NULL);
	json_decref(call("PUT", "/v1/features", "{\"features\":{\"woo.aliases\":"
	    "true}}", 200));
	json_decref(call("POST", "/v1/customers/1/aliases", "{\"email\":"
	    "\"a@b.co\"}", 201));
	expect_error("PUT", "/v1/features", "{\"features\":{\"woo.magic\":true}}",
	    400, "invalid_field", "woo.magic");
	expect_error("PUT", "/v1/features", "{\"features\":{\"woo.tags\":\"on\"}}",
	    400, "invalid_field", "woo.tags");
	expect_error("PUT", "/v1/features", "{\"woo.tags\":false}", 400,
	    "unknown_field", "woo.tags");
}
END_TEST

/* ---- sync, tags, import ------------------------------------------------ */

START_TEST(order_sync_status_and_sync_now)
{
	json_t *doc = call("GET", "/v1/orders/101/sync", NULL, 200);

	ck_assert_str_eq(jstr(doc, "state"), "synced");
	ck_assert_str_eq(jstr(doc, "synced_at"), "2023-11-14T22:21:40Z");
	ck_assert(json_is_null(jget(doc, "error")));
	json_decref(doc);
	doc = call("GET", "/v1/orders/102/sync", NULL, 200);
	ck_assert_str_eq(jstr(doc, "state"), "failed");
	ck_assert_str_eq(jstr(doc, "error.code"), "no_billing_email");
	ck_assert_str_eq(jstr(doc, "error.message"), "the order has no billing email");
	json_decref(doc);
	doc = call("GET", "/v1/orders/555/sync", NULL, 200);
	ck_assert_str_eq(jstr(doc, "state"), "pending");
	json_decref(doc);
	doc = call("POST", "/v1/orders/102/sync", NULL, 202);
	ck_assert_str_eq(jstr(doc, "state"), "pending");
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM events WHERE order_id = 102"
	    " AND source = 'admin' AND topic = 'order.sync'"), 1);
	/* Events waiting for the order make it pending whatever the row says. */
	doc = call("GET", "/v1/orders/102/sync", NULL, 200);
	ck_assert_str_eq(jstr(doc, "state"), "pending");
	ck_assert_int_eq(jint(doc, "pending_events"), 1);
	json_decref(doc);
}
END_TEST

START_TEST(failed_list_and_retry)
{
	json_t *doc = call("GET", "/v1/sync/failed", NULL, 200);

	ck_assert_int_eq(jint(doc, "count"), 2);
	ck_assert_int_eq(jint(doc, "orders.0.order_id"), 104);
	ck_assert_str_eq(jstr(doc, "orders.0.error.code"), "order_not_found");
	json_decref(doc);
	doc = call("GET", "/v1/sync/failed?per_page=1&page=2", NULL, 200);
	ck_assert_int_eq(jint(doc, "orders.0.order_id"), 102);
	ck_assert_int_eq(jint(doc, "pages"), 2);
	json_decref(doc);
	doc = call("POST", "/v1/sync/retry", "{\"order_ids\":[104]}", 202);
	ck_assert_int_eq(jint(doc, "queued"), 1);
	json_decref(doc);
	doc = call("POST", "/v1/sync/retry", "{\"all\":true}", 202);
	ck_assert_int_eq(jint(doc, "queued"), 2);
	json_decref(doc);
	ck_assert_int_eq(db_int("SELECT count(*) FROM events WHERE source ="
	    " 'admin' AND topic = 'order.sync'"), 3);
	expect_error("POST", "/v1/sync/retry", "{}", 400, "invalid_field", NULL);
	expect_error("POST", "/v1/sync/retry", "{\"all\":false}", 400,
	    "invalid_field", NULL);
	expect_error("POST", "/v1/sync/retry", "{\"order_ids\":[0]}", 400,
	    "invalid_field", "order_ids");
	expect_error("POST", "/v1/sync/retry", "{\"order_ids\":[1],\"all\":true}",
	    400, "invalid_field", NULL);
}
END_TEST

START_TEST(tags_by_channel_and_routes_not_yet_available)
{
	json_t *doc = call("GET", "/v1/tags", NULL, 200);

	ck_assert_int_eq(json_array_size(jget(doc, "channels")), 5);
	ck_assert_str_eq(jstr(doc, "channels.0.channel"), "commitment");
	ck_assert_str_eq(jstr(doc, "channels.0.tags.0.id"), "first_order");
	ck_assert_str_eq(jstr(doc, "channels.2.channel"), "value");
	ck_assert_str_eq(jstr(doc, "channels.2.tags.0.label"), "High Spender");
	ck_assert_int_eq(json_array_size(jget(doc, "channels.1.tags")), 0);
	json_decref(doc);
	json_decref(call("POST", "/v1/tags/recalculate", NULL, 202));
	expect_error("POST", "/v1/import", "{\"since\":\"someday\"}", 400,
	    "invalid_field", "since");
}
END_TEST

static Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin_api");
	struct {
		const char *name;
		const TTest *tests[8];
	} groups[] = {
		{ "transport", { token_missing_wrong_or_right,
		    healthz_needs_no_token_and_shows_no_data,
		    unknown_routes_methods_and_bodies } },
		{ "list", { list_has_tab_counts_paging_and_summary_fields,
		    pagination_edges, sort_is_stable_across_pages,
		    search_by_part_of_email_name_or_phone,
		    search_pages_agree_with_the_match_by_match_pass } },
		{ "customers", { add_customer_before_any_order,
		    profile_has_every_section, edit_audits_field_names_not_values,
		    quick_actions_move_tab_counts, bulk_set_status_and_errors } },
		{ "csv", { csv_export_escapes_and_neutralises,
		    audit_export_by_selection } },
		{ "erasure", { erasure_leaves_no_byte_of_the_email,
		    bulk_delete_erases_each } },
		{ "related", { alias_matches_a_later_order,
		    linked_accounts_warn_about_caution_and_banned,
		    interactions_of_every_type } },
		{ "features", { feature_flags_read_write_and_take_effect } },
		{ "sync", { order_sync_status_and_sync_now, failed_list_and_retry,
		    tags_by_channel_and_routes_not_yet_available } },
	};

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		TCase *tc = tcase_create(groups[g].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		for (size_t t = 0; t < 8 && groups[g].tests[t] != NULL; t++)
			tcase_add_test(tc, groups[g].tests[t]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
