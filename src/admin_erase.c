/* SPDX-License-Identifier: MIT */
/*
 * GDPR erasure of a customer (DELETE /v1/customers/{id}, bulk delete). In
 * one transaction: the customer row and everything personal tied to it go
 * (interactions, aliases, links, tags, notes; the customer's orders with
 * their items, refunds, addresses and notes, transactions and sync rows);
 * the customer's audit rows keep who did what and when, but lose their
 * values, reasons and the customer id. What stays is one erasures row
 * (when, by whom, how many orders) and one erased_orders row per order, so
 * that the sync ignores those orders and removes our _tracksies_* meta from
 * them in the store (queued as order.erase once the transaction commits).
 *
 * Bytes, not only rows: every connection of the pool runs with
 * secure_delete, so freed cells and pages are zeroed; the search index is
 * contentless (no copy of the text), and its segments are merged after an
 * erasure (profile_search_purge: at once on a small store, in slices by the
 * worker on a large one) so that no trigram of the address stays in it; the
 * WAL is checkpointed and truncated so that no old page image remains.
 */
#include "admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tracksies/db.h"
#include "tracksies/log.h"
#include "tracksies/profile.h"

static enum ts_rc
collect_orders(struct admin_req *r, int64_t id, int64_t **ids, size_t *n,
    int64_t *count)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*count = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT id FROM"
	    " orders WHERE customer_id = ?1 UNION SELECT order_id FROM"
	    " transactions WHERE customer_id = ?1 UNION SELECT order_id FROM"
	    " order_sync WHERE customer_id = ?1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *grown;

		(*count)++;
		if (ids == NULL)
			continue;
		if ((grown = realloc(*ids, (*n + 1) * sizeof(**ids))) == NULL) {
			rc = TS_ERR_NOMEM;
			goto out;
		}
		*ids = grown;
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (src != SQLITE_DONE)
		rc = db_rc(src);
out:
	(void)sqlite3_finalize(st);
	return rc;
}

enum ts_rc
admin_erase_customer(struct admin_req *r, int64_t id,
    struct admin_erasure *out, int64_t **order_ids, size_t *n_orders)
{
	/*
	 * Order matters: the orders are marked erased before they go, and the
	 * audit rows are blanked before the customer row goes (its delete
	 * would set their customer_id to NULL and hide them from us).
	 */
	static const char *const steps[] = {
		"INSERT INTO erased_orders (order_id, erasure_id, erased_at)"
		" SELECT o.id, ?2, ?3 FROM (SELECT id FROM orders WHERE customer_id = ?1"
		" UNION SELECT order_id FROM transactions WHERE customer_id = ?1"
		" UNION SELECT order_id FROM order_sync WHERE customer_id = ?1) AS o"
		" WHERE true ON CONFLICT (order_id) DO UPDATE SET"
		" erasure_id = excluded.erasure_id, erased_at = excluded.erased_at",
		"DELETE FROM order_sync WHERE customer_id = ?1 OR order_id IN"
		" (SELECT id FROM orders WHERE customer_id = ?1)",
		"DELETE FROM transactions WHERE customer_id = ?1",
		"DELETE FROM orders WHERE customer_id = ?1",
		"UPDATE audit_log SET old_value = NULL, new_value = NULL,"
		" reason = NULL, customer_id = NULL WHERE customer_id = ?1",
		"DELETE FROM customer_interactions WHERE customer_id = ?1",
		"DELETE FROM customer_aliases WHERE customer_id = ?1",
		"DELETE FROM customer_links WHERE customer_id = ?1 OR other_id = ?1",
		"DELETE FROM customer_tags WHERE customer_id = ?1",
		"DELETE FROM customers WHERE id = ?1",
	};
	sqlite3_stmt *st = NULL;
	char value[40];
	enum ts_rc rc;

	out->erasure_id = 0;
	out->order_count = 0;
	if ((rc = admin_customers_exists(r, id)) != TS_OK)
		return rc;
	if ((rc = collect_orders(r, id, order_ids, n_orders,
	    &out->order_count)) != TS_OK)
		return rc;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "INSERT INTO"
	    " erasures (erased_at, actor, order_count) VALUES (?1, ?2, ?3)", -1,
	    &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, r->now);
	(void)sqlite3_bind_text(st, 2, r->actor, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, out->order_count);
	rc = db_rc(sqlite3_step(st));
	(void)sqlite3_finalize(st);
	st = NULL;
	if (rc != TS_OK)
		return rc;
	out->erasure_id = sqlite3_last_insert_rowid(db_handle(r->db));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), steps[i], -1,
		    &st, NULL))) != TS_OK)
			return rc;
		(void)sqlite3_bind_int64(st, 1, id);
		if (sqlite3_bind_parameter_count(st) >= 3) {
			(void)sqlite3_bind_int64(st, 2, out->erasure_id);
			(void)sqlite3_bind_int64(st, 3, r->now);
		}
		rc = db_rc(sqlite3_step(st));
		(void)sqlite3_finalize(st);
		if (rc != TS_OK)
			return rc;
	}
	if ((rc = profile_search_merge_later(r->db)) != TS_OK)
		return rc;
	(void)snprintf(value, sizeof(value), "erasure:%" PRId64, out->erasure_id);
	return profile_audit(r->db, 0, r->now, r->actor, "erasure", NULL, NULL,
	    value, NULL);
}

size_t
admin_erase_queue_orders(struct admin_req *r, const int64_t *order_ids,
    size_t n)
{
	size_t queued = 0;

	for (size_t i = 0; i < n; i++) {
		enum ts_rc rc = admin_sync_enqueue(r, order_ids[i], "order.erase");
		if (rc == TS_OK)
			queued++;
		else
			log_error("admin: erasure: cannot queue meta removal order=%"
			    PRId64 ": %s", order_ids[i], rc_name(rc));
	}
	return queued;
}

void
admin_erase_checkpoint(struct admin_req *r)
{
	bool done = false;
	enum ts_rc rc;

	/*
	 * The search index keeps tombstoned trigrams until its segments are
	 * merged (profile_search_purge): up to 300 ms of that here, which
	 * finishes it on a small store; the worker's loop finishes the rest.
	 */
	if ((rc = profile_search_purge(r->db, 300, &done)) != TS_OK)
		log_warn("admin: erasure: search index purge failed: %s",
		    rc_name(rc));
	else if (!done)
		log_info("admin: erasure: search index purge continues in the"
		    " background");
	/*
	 * Old page images (with the erased rows) can sit in the WAL until it is
	 * overwritten; a truncating checkpoint drops them. Readers still on an
	 * old snapshot make it give up: the worker's next checkpoint then
	 * finishes the job.
	 */
	/*
	 * The pragma reports "busy" in its first column, not as an error: try
	 * again for up to a second while a reader finishes its snapshot.
	 */
	for (int attempt = 0; attempt < 20; attempt++) {
		sqlite3_int64 busy = 1;
		struct timespec nap = { 0, 50 * 1000 * 1000 };

		rc = db_query_int64(r->db, "PRAGMA wal_checkpoint(TRUNCATE)", &busy);
		if (rc == TS_OK && busy == 0)
			return;
		(void)nanosleep(&nap, NULL);
	}
	log_warn("admin: erasure: WAL checkpoint incomplete (%s): old page images"
	    " stay in the WAL until its next reset", rc_name(rc));
}

void
admin_erase_route(struct admin_req *r)
{
	struct admin_erasure e;
	int64_t *orders = NULL;
	size_t n = 0, queued;
	enum ts_rc rc;

	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if ((rc = admin_erase_customer(r, r->id, &e, &orders, &n)) ==
	    TS_ERR_NOTFOUND) {
		admin_api_fail(r, 404, "not_found", NULL, "no such customer");
		goto out;
	} else if (rc != TS_OK) {
		goto dbfail;
	}
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	log_info("admin: erasure=%" PRId64 " orders=%" PRId64 " actor=%s",
	    e.erasure_id, e.order_count, r->actor);
	queued = admin_erase_queue_orders(r, orders, n);
	admin_erase_checkpoint(r);
	admin_api_reply(r, 200, json_pack("{s:{s:I,s:o,s:s,s:I},s:I}", "erasure",
	    "id", (json_int_t)e.erasure_id, "erased_at", profile_time_json(r->now),
	    "actor", r->actor, "order_count", (json_int_t)e.order_count,
	    "orders_queued", (json_int_t)queued));
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "erasure");
out:
	db_rollback(r->db);
	free(orders);
}
