/* SPDX-License-Identifier: MIT */
/*
 * Every operation of docs/admin-api.yaml, sent as its own example says,
 * against the real daemon: the documented status comes back, and every
 * field of the documented response example is there with the same JSON
 * type (the first line of a CSV example, exactly). The YAML is the only
 * source: python3 (python3-yaml) turns it into a list of requests, so an
 * example cannot drift from what the daemon does without this test failing.
 * Each operation runs against a freshly seeded daemon, so destructive
 * examples (erasure, unlink) do not disturb the others.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin_th.h"

/* The YAML's operations as JSON: method, path with examples, body, status. */
static const char extract_py[] =
	"import json, sys, urllib.parse, yaml\n"
	"doc = yaml.safe_load(open(sys.argv[1]))\n"
	"def deref(o):\n"
	"    while isinstance(o, dict) and '$ref' in o:\n"
	"        t = doc\n"
	"        for p in o['$ref'].lstrip('#/').split('/'):\n"
	"            t = t[p]\n"
	"        o = t\n"
	"    return o\n"
	"def example(content):\n"
	"    for mt, m in (content or {}).items():\n"
	"        if 'example' in m:\n"
	"            return mt, m['example']\n"
	"        for e in (m.get('examples') or {}).values():\n"
	"            e = deref(e)\n"
	"            if 'value' in e:\n"
	"                return mt, e['value']\n"
	"    return None, None\n"
	"out = []\n"
	"for path, item in doc['paths'].items():\n"
	"    for method in ('get', 'post', 'put', 'patch', 'delete'):\n"
	"        op = item.get(method)\n"
	"        if op is None:\n"
	"            continue\n"
	"        params = [deref(p) for p in item.get('parameters', []) +\n"
	"                  op.get('parameters', [])]\n"
	"        url, actor, query = path, None, []\n"
	"        for p in params:\n"
	"            if p['in'] == 'path':\n"
	"                url = url.replace('{%s}' % p['name'], str(p['example']))\n"
	"            elif p['in'] == 'header' and 'example' in p:\n"
	"                actor = p['example']\n"
	"            elif p['in'] == 'query' and 'example' in p:\n"
	"                query.append((p['name'], str(p['example'])))\n"
	"        if query:\n"
	"            url += '?' + urllib.parse.urlencode(query)\n"
	"        rb = deref(op.get('requestBody')) or {}\n"
	"        _, body = example(rb.get('content'))\n"
	"        codes = sorted(op['responses'])\n"
	"        ok = ([c for c in codes if c.startswith('2')] or\n"
	"              [c for c in codes if c != '401'])\n"
	"        mt, resp = example(deref(op['responses'][ok[0]]).get('content'))\n"
	"        out.append({'op': op['operationId'], 'method': method.upper(),\n"
	"                    'path': url, 'actor': actor,\n"
	"                    'body': None if body is None else json.dumps(body),\n"
	"                    'status': int(ok[0]), 'type': mt, 'example': resp})\n"
	"print(json.dumps(out))\n";

/* What the examples refer to beyond the shared seed. */
static const char extra_sql[] =
	"INSERT INTO customer_aliases (id, customer_id, email, created_at) VALUES"
	" (1, 2, 'liam.alias@example.org', 1700000000);"
	"INSERT INTO customer_interactions (id, customer_id, type, summary,"
	" occurred_at, created_at, created_by) VALUES (1, 1, 'call', 'Called',"
	" 1700000000, 1700000000, 'api');"
	"INSERT INTO customer_links (customer_id, other_id, created_at, created_by)"
	" VALUES (1, 2, 1700000000, 'api');";

static json_t *
load_cases(void)
{
	char *dir = th_tmpdir(), script[600], cmd[1400], buf[4096];
	size_t len = 0, cap = 0, n;
	char *text = NULL;
	json_t *cases;
	FILE *p;

	snprintf(script, sizeof(script), "%s/extract.py", dir);
	th_write_file(script, extract_py);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s/../../docs/admin-api.yaml'",
	    script, TS_FIXTURES_DIR);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			text = realloc(text, cap);
			ck_assert_ptr_nonnull(text);
		}
		memcpy(text + len, buf, n);
		len += n;
		text[len] = '\0';
	}
	ck_assert_msg(pclose(p) == 0 && text != NULL, "python3 could not read the"
	    " YAML (is python3-yaml installed?)");
	cases = json_loads(text, 0, NULL);
	free(text);
	th_rmrf(dir);
	ck_assert_ptr_nonnull(cases);
	return cases;
}

/*
 * Every key of ex is in got with a compatible type; for arrays, the first
 * element of ex matches some element of got. null on either side matches.
 */
static int
same_shape(const json_t *ex, const json_t *got, char *where, size_t size)
{
	size_t used = strlen(where), i;
	const char *key;
	json_t *v, *g;

	if (json_is_null(ex) || json_is_null(got))
		return 1;
	if (json_is_object(ex)) {
		if (!json_is_object(got))
			return 0;
		json_object_foreach((json_t *)ex, key, v) {
			snprintf(where + used, size - used, ".%s", key);
			if ((g = json_object_get(got, key)) == NULL ||
			    !same_shape(v, g, where, size))
				return 0;
		}
		where[used] = '\0';
		return 1;
	}
	if (json_is_array(ex)) {
		if (!json_is_array(got))
			return 0;
		if (json_array_size(ex) == 0 || json_array_size(got) == 0)
			return 1;
		json_array_foreach(got, i, g) {
			snprintf(where + used, size - used, "[%zu]", i);
			if (same_shape(json_array_get(ex, 0), g, where, size)) {
				where[used] = '\0';
				return 1;
			}
		}
		return 0;
	}
	if (json_is_string(ex))
		return json_is_string(got);
	if (json_is_number(ex))
		return json_is_number(got);
	if (json_is_boolean(ex))
		return json_is_boolean(got);
	return 0;
}

static int
first_line_equal(const char *a, const char *b)
{
	size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

	return la == lb && memcmp(a, b, la) == 0;
}

START_TEST(every_operation_example_works)
{
	json_t *cases = load_cases(), *c;
	char seed[8192];
	size_t i;
	int failures = 0;

	snprintf(seed, sizeof(seed), "%s%s", admin_th_seed_sql, extra_sql);
	ck_assert_int_ge(json_array_size(cases), 30);
	json_array_foreach(cases, i, c) {
		struct admin_th a;
		struct th_resp r;
		const char *method = json_string_value(json_object_get(c, "method"));
		const char *path = json_string_value(json_object_get(c, "path"));
		const char *op = json_string_value(json_object_get(c, "op"));
		const char *body = json_string_value(json_object_get(c, "body"));
		const char *actor = json_string_value(json_object_get(c, "actor"));
		const char *type = json_string_value(json_object_get(c, "type"));
		json_t *ex = json_object_get(c, "example");
		long status = (long)json_integer_value(json_object_get(c, "status"));
		const char *token = strcmp(path, "/healthz") == 0 ? NULL : "";
		char where[512] = "";

		admin_th_start(&a, "store.currency = USD", seed);
		ck_assert_int_eq(admin_th_req(&a, method, path, body, token, actor,
		    &r), 0);
		/* /healthz is 503 until the worker's first loop: give it time. */
		for (long k = 0; k < th_scaled_ms(100) && token == NULL &&
		    r.status == 503; k++) {
			th_resp_free(&r);
			nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
			ck_assert_int_eq(admin_th_req(&a, method, path, body, token,
			    actor, &r), 0);
		}
		if (r.status != status) {
			fprintf(stderr, "%s: %s %s: status %ld, documented %ld: %s\n", op,
			    method, path, r.status, status, r.body);
			failures++;
		} else if (type != NULL && strcmp(type, "text/csv") == 0) {
			if (!first_line_equal(json_string_value(ex), r.body)) {
				fprintf(stderr, "%s: CSV header differs:\n%s\n", op, r.body);
				failures++;
			}
		} else if (ex != NULL && !json_is_null(ex)) {
			json_t *got = json_loads(r.body, 0, NULL);
			if (got == NULL || !same_shape(ex, got, where, sizeof(where))) {
				fprintf(stderr, "%s: response lacks %s as documented: %s\n",
				    op, where[0] ? where : "(root)", r.body);
				failures++;
			}
			json_decref(got);
		}
		th_resp_free(&r);
		admin_th_stop(&a);
	}
	json_decref(cases);
	ck_assert_msg(failures == 0, "%d documented examples do not hold",
	    failures);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("admin_examples");
	TCase *tc = tcase_create("openapi");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, every_operation_example_works);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
