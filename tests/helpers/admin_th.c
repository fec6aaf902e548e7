/* SPDX-License-Identifier: MIT */
/* Admin API test helpers: see admin_th.h. Set-up failures abort(). */
#include "admin_th.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* Four customers, one in each status; orders, items, a refund, sync rows. */
const char admin_th_seed_sql[] =
	"INSERT INTO kv (key, value, updated_at) VALUES ('store.currency', 'USD', 0),"
	" ('store.decimals', '2', 0);"
	"INSERT INTO tags (id, label, icon, channel, kind, condition, position) VALUES"
	" ('first_order', 'First Order', 'star', 'commitment', 'milestone', 'order_count >= 1', 1),"
	" ('high_spender', 'High Spender', 'gem', 'value', 'live', 'ltv >= 500', 2);"
	"INSERT INTO customers (id, email, first_name, last_name, phone, company,"
	" status, created_at, ltv_minor, order_count, aov_minor, refunded_minor,"
	" refund_count, first_order_at, last_order_at, billing_json, shipping_json,"
	" wp_user_id) VALUES"
	" (1, 'emma.smith@example.com', 'Emma', 'Smith', '(555) 123-4567', 'Acme',"
	"  'active', 1700000000, 320000, 14, 22857, 2500, 1, 1600000000, 1700000000,"
	"  '{\"first_name\":\"Emma\",\"address_1\":\"1 Main St\",\"city\":\"Springfield\",\"country\":\"US\"}',"
	"  '{}', 7),"
	" (2, 'liam.jones@example.org', 'Liam', 'Jones', '+44 20 7946 0958', '',"
	"  'vip', 1700000100, 50000, 2, 25000, 0, 0, 1650000000, 1690000000, NULL, NULL, NULL),"
	" (3, 'olivia@shop.test', 'Olivia', 'Brown', '555-0199', '', 'caution',"
	"  1700000200, 1000, 1, 1000, 0, 0, 1690000000, 1690000000, NULL, NULL, NULL),"
	" (4, 'noah@banned.test', 'Noah', 'Wilson', '', '', 'do_not_serve',"
	"  1700000300, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL);"
	"INSERT INTO orders (id, customer_id, number, status, currency, created_at,"
	" total_minor, payment_method, payment_method_title, shipping_methods,"
	" customer_note, billing_json, shipping_json, tracking_json, item_count,"
	" refunded_minor, refund_count, fetched_at) VALUES"
	" (101, 1, '101', 'completed', 'USD', 1600000000, 5000, 'bacs', 'Bank transfer',"
	"  'Flat rate', 'Leave at the door', '{\"first_name\":\"Emma\",\"address_1\":\"1 Main St\"}',"
	"  '{\"first_name\":\"Emma\",\"address_1\":\"1 Main St\"}', '[{\"tracking_number\":\"TRK1\"}]', 2, 2500, 1, 0),"
	" (102, 1, '102', 'processing', 'USD', 1700000000, 7500, 'cod', 'Cash', '', '',"
	"  NULL, NULL, NULL, 1, 0, 0, 0),"
	" (103, 1, '103', 'pending', 'USD', 1650000000, 100, '', '', '', '', NULL, NULL,"
	"  NULL, 1, 0, 0, 0);"
	"INSERT INTO order_items (order_id, product_id, name, sku, quantity,"
	" subtotal_minor, total_minor) VALUES (101, 11, 'Tea', 'TEA-1', 2, 5000, 5000),"
	" (102, 12, 'Cup', 'CUP-1', 1, 7500, 7500);"
	"INSERT INTO order_refunds (id, order_id, amount_minor, reason) VALUES"
	" (9001, 101, 2500, 'damaged');"
	"INSERT INTO transactions (order_id, customer_id, order_number, total_minor,"
	" currency, created_at) VALUES (101, 1, '101', 5000, 'USD', 1600000000),"
	" (102, 1, '102', 7500, 'USD', 1700000000);"
	"INSERT INTO order_sync (order_id, state, error_code, error_message,"
	" customer_id, synced_at, updated_at) VALUES"
	" (101, 'synced', NULL, NULL, 1, 1700000500, 1700000500),"
	" (102, 'failed', 'no_billing_email', 'the order has no billing email', NULL,"
	"  NULL, 1700000600),"
	" (104, 'failed', 'order_not_found', 'the order is in the trash', NULL, NULL,"
	"  1700000700);"
	"INSERT INTO customer_tags (customer_id, tag_id, earned_at) VALUES"
	" (1, 'first_order', 1600000000), (1, 'high_spender', 1650000000),"
	" (2, 'first_order', 1650000000);"
	/* As the recalculation that wrote those tags would have left it. */
	"UPDATE customers SET tag_count = 2 WHERE id = 1;"
	"UPDATE customers SET tag_count = 1 WHERE id = 2;";

static uint16_t
admin_port_from_log(const char *log_path)
{
	FILE *f = fopen(log_path, "r");
	char line[2048];
	uint16_t port = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, "admin: listening ");
		if (p != NULL && (p = strstr(p, " port=")) != NULL)
			port = (uint16_t)atoi(p + 6);
	}
	fclose(f);
	return port;
}

void
admin_th_sql(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "admin_th_sql: %s\n", err ? err : "?");
		abort();
	}
	sqlite3_close(db);
}

static void
migrate(const char *conf)
{
	const char *argv[] = { TS_DAEMON_PATH, "--config", conf, "--customer",
		"nobody@example.invalid", NULL };
	char *err = NULL;

	/* --customer migrates the database, then finds no such customer. */
	(void)th_run(argv, &err);
	free(err);
}

void
admin_th_start(struct admin_th *a, const char *overrides, const char *seed_sql)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	char db[600];

	char rules[600], all[2048];

	memset(a, 0, sizeof(*a));
	a->dir = th_tmpdir();
	/*
	 * Tag rules equal to the two tags the seed holds, so the daemon finds
	 * its catalogue unchanged and keeps the seeded assignments as they are.
	 */
	snprintf(rules, sizeof(rules), "%s/tags.conf", a->dir);
	th_write_file(rules,
	    "[tag first_order]\nlabel = First Order\nicon = star\n"
	    "channel = commitment\nkind = milestone\nwhen = order_count >= 1\n\n"
	    "[tag high_spender]\nlabel = High Spender\nicon = gem\n"
	    "channel = value\nkind = live\nwhen = ltv >= 500\n");
	snprintf(all, sizeof(all), "tags.rules_file = %s\n%s", rules,
	    overrides != NULL ? overrides : "");
	a->conf = th_write_config(a->dir, all);
	if (seed_sql != NULL) {
		snprintf(db, sizeof(db), "%s/tracksies.db", a->dir);
		migrate(a->conf);
		admin_th_sql(db, seed_sql);
	}
	if (th_daemon_start(a->dir, a->conf, &a->d) != 0) {
		fprintf(stderr, "admin_th_start: daemon did not start\n");
		abort();
	}
	for (long i = 0; i < th_scaled_ms(15000) / 20 && a->port == 0; i++) {
		if ((a->port = admin_port_from_log(a->d.log_path)) == 0)
			nanosleep(&nap, NULL);
	}
	if (a->port == 0) {
		fprintf(stderr, "admin_th_start: no admin listening line\n");
		th_daemon_kill9(&a->d);
		abort();
	}
}

int
admin_th_stop_daemon(struct admin_th *a)
{
	return th_daemon_stop(&a->d);
}

void
admin_th_stop(struct admin_th *a)
{
	/* Exit 0 after a clean stop, also under valgrind (error exit code). */
	if (a->d.pid > 0 && th_daemon_stop(&a->d) != 0) {
		fprintf(stderr, "admin_th_stop: the daemon did not exit 0\n");
		abort();
	}
	free(a->conf);
	th_rmrf(a->dir);
	a->conf = NULL;
	a->dir = NULL;
}

int
admin_th_req(const struct admin_th *a, const char *method, const char *path,
    const char *body, const char *token, const char *actor,
    struct th_resp *out)
{
	char auth[256], act[256];
	const char *headers[4];
	int n = 0;

	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    *token ? token : TH_TOKEN);
		headers[n++] = auth;
	}
	if (actor != NULL) {
		snprintf(act, sizeof(act), "X-Tracksies-Actor: %s", actor);
		headers[n++] = act;
	}
	if (body != NULL)
		headers[n++] = "Content-Type: application/json";
	headers[n] = NULL;
	return th_http(a->port, method, path, headers, body,
	    body != NULL ? strlen(body) : 0, out);
}

json_t *
admin_th_call(const struct admin_th *a, const char *method, const char *path,
    const char *body, long *status)
{
	struct th_resp r;
	json_t *doc;

	if (admin_th_req(a, method, path, body, "", "tester", &r) != 0) {
		fprintf(stderr, "admin_th_call: %s %s: no answer\n", method, path);
		abort();
	}
	*status = r.status;
	doc = json_loads(r.body, 0, NULL);
	th_resp_free(&r);
	return doc;
}

char *
admin_th_slurp(const char *path, size_t *len)
{
	if (access(path, F_OK) != 0)
		return NULL;
	return th_read_file(path, len);
}

int
admin_th_file_has(const char *path, const char *needle)
{
	size_t len = 0, nlen = strlen(needle);
	char *buf = admin_th_slurp(path, &len);
	int found = 0;

	if (buf == NULL)
		return 0;
	for (size_t i = 0; i + nlen <= len && !found; i++)
		found = memcmp(buf + i, needle, nlen) == 0;
	free(buf);
	return found;
}
