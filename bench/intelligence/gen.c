/* SPDX-License-Identifier: MIT */
/*
 * Generate a store for the intelligence benchmark straight into SQLite:
 * N customers and M counted orders (with their transactions rows), order
 * ids increasing with time as in a real store, a skewed number of orders
 * per customer (mean M/N), a quarter of the orders with a coupon, 3 % with
 * a refund, 1 % of customers with interactions. Deterministic (seeded).
 *
 *   gen DB_PATH [CUSTOMERS [ORDERS]]    default 1000000 5000000
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "tracksies/db.h"
#include "tracksies/migrate.h"

#define DAY 86400
#define START 1609459200	/* 2021-01-01 */
#define SPAN (3 * 365 * DAY)	/* three years of history */

struct gen_order {
	uint32_t at;
	uint32_t customer;
	int32_t total;
	uint8_t coupon;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int
cmp_order(const void *pa, const void *pb)
{
	const struct gen_order *a = pa, *b = pb;

	return (a->at > b->at) - (a->at < b->at);
}

static void
check(int src, sqlite3 *h, const char *what)
{
	if (src != SQLITE_OK && src != SQLITE_DONE && src != SQLITE_ROW) {
		fprintf(stderr, "gen: %s: %s\n", what, sqlite3_errmsg(h));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	long n_customers = argc > 2 ? atol(argv[2]) : 1000000;
	long n_orders = argc > 3 ? atol(argv[3]) : 5000000;
	struct gen_order *o;
	struct db *db = NULL;
	sqlite3 *h;
	sqlite3_stmt *cs, *os, *ts, *is;
	long k = 0;
	char *err = NULL;
	time_t t0 = time(NULL);

	if (argc < 2 || n_customers <= 0 || n_orders < n_customers) {
		fprintf(stderr, "usage: gen DB_PATH [CUSTOMERS [ORDERS]]\n");
		return 64;
	}
	if (db_open(argv[1], &db, &err) != TS_OK ||
	    migrate_apply(db, migrate_embedded, migrate_embedded_count, NULL, NULL,
	    &err) != TS_OK) {
		fprintf(stderr, "gen: %s\n", err ? err : "cannot open");
		return 1;
	}
	h = db_handle(db);
	check(sqlite3_exec(h, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;"
	    "INSERT OR REPLACE INTO kv (key, value, updated_at) VALUES"
	    " ('store.currency', 'USD', 0), ('store.decimals', '2', 0)",
	    NULL, NULL, NULL), h, "pragmas");

	/* Orders per customer: 1 + geometric, mean n_orders / n_customers. */
	if ((o = malloc((size_t)n_orders * sizeof(*o))) == NULL)
		return 1;
	for (long c = 0; c < n_customers && k < n_orders; c++) {
		double extra_mean = (double)n_orders / (double)n_customers - 1.0;
		long left = n_customers - c - 1;
		long n = 1 + (long)floor(-log(1.0 - uniform()) * extra_mean);
		double basket = 20.0 + 280.0 * uniform() * uniform();
		double gap = (10.0 + 110.0 * uniform()) * DAY, t = 0.0, start;

		if (n > n_orders - k - left)
			n = n_orders - k - left;
		if (c == n_customers - 1)
			n = n_orders - k;
		/*
		 * n orders (geometric: a dropout after each one), exponential gaps;
		 * the whole run placed inside the history, compressed if longer.
		 */
		for (long i = 0; i < n; i++) {
			o[k + i].at = (uint32_t)t;
			t += -log(1.0 - uniform()) * gap;
		}
		t = o[k + n - 1].at;
		start = START + uniform() * (SPAN - 1.0);
		if (start + t > START + SPAN - 1.0)
			start = START + SPAN - 1.0 - t - uniform() * 60.0 * DAY;
		for (long i = 0; i < n; i++, k++) {
			double at = start < START ?
			    START + (double)o[k].at * (SPAN - 1.0) / (t > 0.0 ? t : 1.0) :
			    start + (double)o[k].at;
			o[k].at = (uint32_t)at;
			o[k].customer = (uint32_t)(c + 1);
			o[k].total = (int32_t)(basket * (0.5 + uniform()) * 100.0);
			o[k].coupon = uniform() < 0.25;
		}
	}
	n_orders = k;
	qsort(o, (size_t)n_orders, sizeof(*o), cmp_order);

	check(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), h, "begin");
	check(sqlite3_prepare_v2(h, "INSERT INTO customers (id, email, first_name,"
	    " last_name, created_at) VALUES (?1, 'customer' || ?1 ||"
	    " '@example.test', 'First' || (?1 % 997), 'Last' || (?1 % 9973), ?2)",
	    -1, &cs, NULL), h, "customers");
	for (long c = 1; c <= n_customers; c++) {
		(void)sqlite3_bind_int64(cs, 1, c);
		(void)sqlite3_bind_int64(cs, 2, START);
		check(sqlite3_step(cs), h, "customer");
		(void)sqlite3_reset(cs);
	}
	check(sqlite3_prepare_v2(h, "INSERT INTO orders (id, customer_id, number,"
	    " status, currency, created_at, total_minor, coupon_codes,"
	    " refunded_minor, refund_count, item_count, fetched_at) VALUES (?1, ?2,"
	    " CAST(?1 AS TEXT), 'completed', 'USD', ?3, ?4, ?5, ?6, ?7, 2, ?3)",
	    -1, &os, NULL), h, "orders");
	check(sqlite3_prepare_v2(h, "INSERT INTO transactions (order_id,"
	    " customer_id, order_number, total_minor, coupon_codes, currency,"
	    " item_count, created_at) VALUES (?1, ?2, CAST(?1 AS TEXT), ?4, ?5,"
	    " 'USD', 2, ?3)", -1, &ts, NULL), h, "transactions");
	for (long i = 0; i < n_orders; i++) {
		int refunded = uniform() < 0.03;
		sqlite3_stmt *both[2] = { os, ts };

		for (int s = 0; s < 2; s++) {
			(void)sqlite3_bind_int64(both[s], 1, i + 1);
			(void)sqlite3_bind_int64(both[s], 2, o[i].customer);
			(void)sqlite3_bind_int64(both[s], 3, o[i].at);
			(void)sqlite3_bind_int64(both[s], 4, o[i].total);
			(void)sqlite3_bind_text(both[s], 5, o[i].coupon ? "WELCOME10" : "",
			    -1, SQLITE_STATIC);
		}
		(void)sqlite3_bind_int64(os, 6, refunded ? o[i].total / 2 : 0);
		(void)sqlite3_bind_int64(os, 7, refunded);
		check(sqlite3_step(os), h, "order");
		check(sqlite3_step(ts), h, "transaction");
		(void)sqlite3_reset(os);
		(void)sqlite3_reset(ts);
	}
	check(sqlite3_prepare_v2(h, "INSERT INTO customer_interactions"
	    " (customer_id, type, summary, occurred_at, created_at, created_by)"
	    " VALUES (?1, ?2, 'generated', ?3, ?3, 'gen')", -1, &is, NULL), h,
	    "interactions");
	for (long c = 1; c <= n_customers; c++) {
		static const char *const types[] = { "compliment", "complaint",
		    "note", "call", "email" };
		if (uniform() >= 0.01)
			continue;
		for (int i = 0; i < 1 + (int)(uniform() * 3); i++) {
			(void)sqlite3_bind_int64(is, 1, c);
			(void)sqlite3_bind_text(is, 2, types[(int)(uniform() * 5)], -1,
			    SQLITE_STATIC);
			(void)sqlite3_bind_int64(is, 3, START + (int64_t)(uniform() * SPAN));
			check(sqlite3_step(is), h, "interaction");
			(void)sqlite3_reset(is);
		}
	}
	(void)sqlite3_finalize(cs);
	(void)sqlite3_finalize(os);
	(void)sqlite3_finalize(ts);
	(void)sqlite3_finalize(is);
	/* Same row counts the triggers of 0005 keep for the sync. */
	check(sqlite3_exec(h, "UPDATE customers SET (ltv_minor, order_count) ="
	    " (SELECT COALESCE(sum(total_minor), 0), count(*) FROM transactions"
	    " WHERE customer_id = customers.id); COMMIT; PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL), h, "commit");
	free(o);
	db_close(db);
	printf("generated %ld customers, %ld orders in %lds\n", n_customers,
	    n_orders, (long)(time(NULL) - t0));
	return 0;
}
