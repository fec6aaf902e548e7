/* SPDX-License-Identifier: MIT */
/*
 * Recalculation of customer intelligence (docs/intelligence.md): metrics
 * (rfm.h), tags and automatic statuses (status.h) of one customer after a
 * sync, of everyone as a background job with progress, and as of any date.
 * Rules come from the catalogue in the database (tags_apply_catalogue).
 * Never logs.
 */
#ifndef TRACKSIES_TAGS_RECALC_H
#define TRACKSIES_TAGS_RECALC_H

#include <stdbool.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct db;

#define TAGS_RECALC_CHUNK 25000	/* customers per write transaction, recalc all */
#define TAGS_RECALC_CACHE_KIB "65536"	/* page cache during a full recalculation */
#define TAGS_RECALC_WAL_CHUNKS 4	/* chunks the WAL may hold: checkpoints run beside */

/*
 * Recalculation on one connection. On TS_OK *out belongs to the caller
 * (tags_recalc_close). The thread that owns db; TS_ERR_IO, TS_ERR_NOMEM.
 */
struct tags_recalc;
enum ts_rc tags_recalc_open(struct db *db, struct tags_recalc **out);
void tags_recalc_close(struct tags_recalc *t);

/*
 * Recompute customer_id's metrics, tags and automatic status as of now,
 * inside the caller's transaction (after sync_apply_order, before commit).
 * Cheap: a few indexed statements; rules are re-read only when the
 * catalogue generation changed. TS_ERR_INVALID: a rule failed at run time
 * (nothing of this recalculation is kept; the caller logs and may commit
 * the rest of its transaction). TS_OK also when the customer does not
 * exist. TS_ERR_IO, TS_ERR_TRANSIENT, TS_ERR_NOMEM.
 */
enum ts_rc tags_recalc_customer(struct tags_recalc *t, int64_t customer_id,
    int64_t now);

/*
 * Progress of a full recalculation: phase "reading", "fitting" or
 * "writing"; done of total customers. Return false to stop (the
 * recalculation then returns TS_ERR_TRANSIENT; what was written stays
 * consistent customer by customer). The same numbers are kept in
 * intel_state (recalc_phase, recalc_done, recalc_total) for other
 * connections.
 */
typedef bool tags_recalc_progress_fn(void *arg, const char *phase,
    int64_t done, int64_t total);

/*
 * Recalculate every customer as of now: read all counted orders once (one
 * read transaction), learn RFM thresholds and fit the purchase models, then
 * write metrics, tags and statuses TAGS_RECALC_CHUNK customers per write
 * transaction, so that the sync worker is never held up for long. Must be
 * called outside a transaction. progress may be NULL. TS_ERR_TRANSIENT
 * (stopped by progress, or busy), TS_ERR_IO, TS_ERR_NOMEM, TS_ERR_INVALID
 * (a rule failed at run time). The thread that owns db.
 */
enum ts_rc tags_recalc_all(struct db *db, int64_t now,
    tags_recalc_progress_fn *progress, void *arg);

/*
 * Same, as of a past time (--as-of YYYY-MM-DD: the start of that day, UTC):
 * orders, refunds and interactions dated at or after as_of are ignored, and
 * tags are earned and lost at as_of. Reproducible from the same rows.
 */
enum ts_rc tags_recalc_all_as_of(struct db *db, int64_t as_of,
    tags_recalc_progress_fn *progress, void *arg);

/*
 * Whether a full recalculation is due at now: never run, the rules changed
 * since, asked for (tags_recalc_request), or the last one ran for an
 * earlier UTC day than now (time-based rules: tenure, recency). TS_ERR_IO.
 */
enum ts_rc tags_recalc_due(struct db *db, int64_t now, bool *due);

/* Ask for a full recalculation (admin API); tags_recalc_due says yes. */
enum ts_rc tags_recalc_request(struct db *db, int64_t now);

#endif
