/* SPDX-License-Identifier: MIT */
/*
 * One order through the pipeline (PRODUCT.md section 3, steps 3-8): what
 * the fetched order means for its customer, stored in SQLite, metrics
 * recomputed from rows, and the _tracksies_* meta the store should get.
 * Every source of orders (webhook worker, import, reconciler) calls this:
 * one code path decides what an order means. No I/O but the database; no
 * logging. The caller owns the transaction (db_begin/db_commit), so a batch
 * of orders can share one.
 */
#ifndef TRACKSIES_SYNC_H
#define TRACKSIES_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tracksies/rc.h"

struct db;
struct sync;

struct sync_settings {
	const char *store_currency;		/* e.g. "USD" */
	char *const *qualifying_statuses;	/* e.g. processing, completed */
	size_t n_qualifying_statuses;
	int decimals;				/* money decimals, usually 2 */
};

/* What happened to one order. */
struct sync_result {
	int64_t order_id;
	int64_t customer_id;		/* 0 when none */
	/*
	 * The customer the order belonged to before, when this apply took it
	 * away from them (a new billing email moved it to another customer,
	 * the email is gone, the order was trashed or deleted); 0 otherwise.
	 * Their metrics were recomputed too: customer_id and old_customer_id
	 * are every customer whose rows this apply changed.
	 */
	int64_t old_customer_id;
	bool ignored;			/* checkout-draft or stale: nothing stored */
	bool stale;			/* older than the state already applied */
	bool counted;			/* the order counts toward metrics now */
	bool customer_created;
	bool changed;			/* stored rows differ from before */
	const char *error_code;		/* NULL on success: no_billing_email, ... */
	char error_message[192];
	json_t *meta;			/* meta_data to write, or NULL: nothing changes */
};

/* Release what a result owns (its meta). */
void sync_result_fini(struct sync_result *r);

/*
 * Prepare the statements of a sync on db (the calling thread's connection,
 * migrated). settings is copied. On TS_OK *out belongs to the caller.
 */
enum ts_rc sync_new(struct db *db, const struct sync_settings *settings,
    struct sync **out);
void sync_free(struct sync *s);

/*
 * Apply the order doc (as fetched from the store now; borrowed) at time now.
 * Terminal order problems (no_billing_email, invalid_order) are TS_OK with
 * out->error_code set. TS_ERR_IO / TS_ERR_TRANSIENT on database failure:
 * the caller rolls back and retries later.
 */
enum ts_rc sync_apply_order(struct sync *s, const json_t *doc, int64_t now,
    struct sync_result *out);

/*
 * The store says the order is gone: trashed (GET answers status trash) or
 * deleted (404). It stops counting; error order_not_found.
 */
enum ts_rc sync_apply_missing(struct sync *s, int64_t order_id, bool trashed,
    int64_t now, struct sync_result *out);

/*
 * Record that the meta of order_id was written to the store (clears its
 * pending write-back), or remember meta (stolen, may be NULL) as still to
 * write when the write failed transiently.
 */
enum ts_rc sync_mark_written(struct sync *s, int64_t order_id, int64_t now);
enum ts_rc sync_set_writeback(struct sync *s, int64_t order_id, json_t *meta);

/* Feature woo.aliases: whether alias emails find their customer. */
void sync_set_aliases(struct sync *s, bool on);

/* Recompute one customer's metrics from its rows. */
enum ts_rc sync_recompute_customer(struct sync *s, int64_t customer_id,
    int64_t now);

/* A one-line description of an error code, for _tracksies_sync_error. */
const char *sync_error_text(const char *code);

#endif
