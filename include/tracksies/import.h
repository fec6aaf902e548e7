/* SPDX-License-Identifier: MIT */
/*
 * The import (backfill): every order of the store, or those created since a
 * date, through the same pipeline as webhooks. This module owns the cursor
 * over GET /orders (orderby=id asc, 100 a page, each page overlapping the
 * previous one by one order so that a page shifted by a deletion is
 * noticed), its checkpoint for resuming, and the summary. The worker
 * (worker.c) runs the requests and applies the pages; main prints progress.
 */
#ifndef TRACKSIES_IMPORT_H
#define TRACKSIES_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "tracksies/rc.h"

struct db;
struct import;
struct sync_result;
struct wc_list_query;

#define IMPORT_PAGE 100		/* WooCommerce's per_page limit */

/*
 * "all", "30d", "90d", "1y", "Nd", or "YYYY-MM-DD" (UTC midnight) relative
 * to now -> *after (0 for all). TS_ERR_INVALID otherwise.
 */
enum ts_rc import_since_parse(const char *text, int64_t now, int64_t *after);

/*
 * Start an import of orders created after `after` (0: all), or resume the
 * last run with the same since when it did not complete. *resumed says
 * which. On TS_OK *out is owned by the caller (import_free). db is the
 * caller's connection; the import keeps no reference to it.
 */
enum ts_rc import_open(struct db *db, const char *since, int64_t after,
    int64_t now, struct import **out, bool *resumed);
void import_free(struct import *imp);

/* ---- called by the worker thread ---- */

/*
 * The next page to request, if one should start now: fills *q (whose
 * strings point into imp) and *token. False when every page is asked for
 * or the end is not known yet and enough pages are in flight.
 */
bool import_next_page(struct import *imp, struct wc_list_query *q, int *token);
/* The page's request failed: ask for it again later. */
void import_page_failed(struct import *imp, int token);
/* One order of the page was applied (inside the page's transaction). */
enum ts_rc import_note(struct import *imp, struct db *db,
    const struct sync_result *r);
/*
 * The page's orders were applied: advance the cursor and checkpoint, in
 * the caller's transaction. items is the page's JSON array; total the
 * response's X-WP-Total.
 */
enum ts_rc import_page_applied(struct import *imp, struct db *db, int token,
    const json_t *items, long total, int64_t now);
/* Every page is applied. */
bool import_pages_done(struct import *imp);
/* Count one REST request made for the import. */
void import_count_request(struct import *imp);

/* ---- any thread ---- */

struct import_progress {
	int64_t run_id;
	long store_total;		/* X-WP-Total, -1 until known */
	long applied;			/* orders applied so far (this run) */
	long pages_done;
	bool resumed;
	bool finished;
};
void import_progress(struct import *imp, struct import_progress *out);

/*
 * Close the run: completed (or incomplete when a gap showed), or
 * interrupted. Prints nothing; the summary is read with import_summary.
 */
enum ts_rc import_finish(struct import *imp, struct db *db, int64_t now,
    bool interrupted);

/* The run's summary as JSON (counts, discrepancies, elapsed). */
enum ts_rc import_summary(struct db *db, int64_t run_id, json_t **out);

int64_t import_run_id(struct import *imp);

#endif
