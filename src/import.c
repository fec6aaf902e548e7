/* SPDX-License-Identifier: MIT */
/*
 * The import's cursor, checkpoint and summary. Pages are GET /orders with
 * orderby=id&order=asc, 100 orders each, at offsets 99 apart: every page
 * starts with the last order of the one before, so when orders before the
 * cursor are deleted during the import (shifting later pages left) the
 * seam shows it instead of an order silently falling between two pages.
 * A seam with a gap (the later page starts after the earlier one ended)
 * sends the older of the two pages to be read again, which cascades down
 * to where the store changed; the ids at the edges of every applied page
 * are kept in import_pages so that a resumed run checks the seams of the
 * pages it applied in an earlier session too. Orders created during the
 * import have higher ids and land at the end.
 * Counts are derived from import_seen/import_customers rows, so a page
 * applied twice (after a resume) counts once.
 */
#include "tracksies/import.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/profile.h"
#include "tracksies/sync.h"
#include "tracksies/wc_client.h"
#include "tracksies/wc_order.h"

#define STEP (IMPORT_PAGE - 1)		/* one order of overlap */
#define MAX_REREADS 3			/* a page read again per session, at most */

enum page_state { PAGE_TODO = 0, PAGE_ASKED, PAGE_DONE };

struct page {
	enum page_state state;
	int count;
	int64_t first_id;
	int64_t last_id;
	int64_t seq;			/* order applied in; 0: an earlier session */
	int rereads;
};

struct import {
	pthread_mutex_t lock;		/* guards everything below */
	int64_t run_id;
	int64_t after;
	char after_text[24];		/* ISO 8601 UTC for after=, "" for all */
	struct page *pages;
	int n_pages;			/* allocated */
	int checkpoint;			/* every page before it is done */
	int next_to_ask;
	int end_page;			/* last page, -1 until a short page shows it */
	int asked;			/* pages in flight */
	long store_total;
	long applied;
	long pages_done;
	long requests;
	int page_shifts;
	int64_t seq;			/* pages applied this session */
	bool resumed;
	bool finished;
	int64_t session_start;
};

enum ts_rc
import_since_parse(const char *text, int64_t now, int64_t *after)
{
	char *end = NULL;
	long n;
	int64_t t;

	*after = 0;
	if (text == NULL || strcmp(text, "all") == 0)
		return TS_OK;
	if (strlen(text) == 10 && text[4] == '-' && text[7] == '-') {
		char buf[24];
		(void)snprintf(buf, sizeof(buf), "%sT00:00:00", text);
		if (wc_order_parse_time(buf, &t) != TS_OK)
			return TS_ERR_INVALID;
		*after = t;
		return TS_OK;
	}
	n = strtol(text, &end, 10);
	if (end == text || n <= 0 || n > 100 * 365)
		return TS_ERR_INVALID;
	if (strcmp(end, "d") == 0)
		*after = now - (int64_t)n * 86400;
	else if (strcmp(end, "y") == 0)
		*after = now - (int64_t)n * 365 * 86400;
	else
		return TS_ERR_INVALID;
	return TS_OK;
}

static enum ts_rc
ensure_pages(struct import *imp, int k)
{
	struct page *grown;
	int n = imp->n_pages > 0 ? imp->n_pages : 64;

	if (k < imp->n_pages)
		return TS_OK;
	while (n <= k)
		n *= 2;
	if ((grown = realloc(imp->pages, (size_t)n * sizeof(*grown))) == NULL)
		return TS_ERR_NOMEM;
	memset(grown + imp->n_pages, 0, (size_t)(n - imp->n_pages) * sizeof(*grown));
	imp->pages = grown;
	imp->n_pages = n;
	return TS_OK;
}

/* Run sql with ?1..?3 bound to a, b, c and ?4, ?5 to texts (may be NULL). */
static enum ts_rc
exec_bound(struct db *db, const char *sql, int64_t a, int64_t b, int64_t c,
    const char *t4, const char *t5)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, a);
	(void)sqlite3_bind_int64(st, 2, b);
	(void)sqlite3_bind_int64(st, 3, c);
	if (t4 != NULL)
		(void)sqlite3_bind_text(st, 4, t4, -1, SQLITE_TRANSIENT);
	if (t5 != NULL)
		(void)sqlite3_bind_text(st, 5, t5, -1, SQLITE_TRANSIENT);
	rc = db_rc(sqlite3_step(st));
	(void)sqlite3_finalize(st);
	return rc;
}

/*
 * The pages before the checkpoint, as an earlier session applied them. A
 * page with no row (a run begun before import_pages existed) moves the
 * checkpoint back to it: its seams could not be checked otherwise.
 */
static enum ts_rc
load_pages(struct import *imp, struct db *db)
{
	sqlite3_stmt *st = NULL;
	int have = 0;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT page, first_id,"
	    " last_id, count FROM import_pages WHERE run_id = ?1 AND page < ?2"
	    " ORDER BY page", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, imp->run_id);
	(void)sqlite3_bind_int(st, 2, imp->checkpoint);
	while (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == have) {
		struct page *p = &imp->pages[have++];
		p->state = PAGE_DONE;
		p->first_id = sqlite3_column_int64(st, 1);
		p->last_id = sqlite3_column_int64(st, 2);
		p->count = sqlite3_column_int(st, 3);
	}
	(void)sqlite3_finalize(st);
	imp->checkpoint = have;
	return TS_OK;
}

enum ts_rc
import_open(struct db *db, const char *since, int64_t after, int64_t now,
    struct import **out, bool *resumed)
{
	struct import *imp = NULL;
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	*out = NULL;
	*resumed = false;
	if ((imp = calloc(1, sizeof(*imp))) == NULL)
		return TS_ERR_NOMEM;
	(void)pthread_mutex_init(&imp->lock, NULL);
	imp->after = after;
	imp->end_page = -1;
	imp->store_total = -1;
	imp->session_start = now;
	/* The last unfinished run with the same window resumes. */
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT id, next_page,"
	    " page_shifts, requests, coalesce(after_ts, 0) FROM import_runs WHERE"
	    " since = ?1 AND state IN ('running', 'interrupted') ORDER BY id DESC"
	    " LIMIT 1", -1, &st, NULL))) != TS_OK)
		goto fail;
	(void)sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		imp->run_id = sqlite3_column_int64(st, 0);
		imp->checkpoint = sqlite3_column_int(st, 1);
		imp->page_shifts = sqlite3_column_int(st, 2);
		imp->requests = sqlite3_column_int(st, 3);
		/*
		 * The window the run started with: "30d" resumed a day later
		 * still means the 30 days before the first session, or the
		 * pages before the checkpoint would not be the ones applied.
		 */
		imp->after = sqlite3_column_int64(st, 4);
		imp->resumed = true;
	}
	(void)sqlite3_finalize(st);
	st = NULL;
	if (imp->after > 0)
		wc_order_format_time(imp->after, imp->after_text, sizeof(imp->after_text));
	if (imp->resumed) {
		rc = exec_bound(db, "UPDATE import_runs SET state = 'running'"
		    " WHERE id = ?1", imp->run_id, 0, 0, NULL, NULL);
	} else {
		rc = exec_bound(db, "INSERT INTO import_runs (after_ts, state,"
		    " started_at, since) VALUES (NULLIF(?1, 0), 'running', ?2, ?4)",
		    after, now, 0, since, NULL);
		imp->run_id = sqlite3_last_insert_rowid(db_handle(db));
	}
	if (rc != TS_OK || (rc = ensure_pages(imp, imp->checkpoint)) != TS_OK ||
	    (rc = load_pages(imp, db)) != TS_OK)
		goto fail;
	imp->next_to_ask = imp->checkpoint;
	imp->pages_done = imp->checkpoint;
	*resumed = imp->resumed;
	*out = imp;
	return TS_OK;
fail:
	(void)sqlite3_finalize(st);
	import_free(imp);
	return rc;
}

void
import_free(struct import *imp)
{
	if (imp == NULL)
		return;
	free(imp->pages);
	(void)pthread_mutex_destroy(&imp->lock);
	free(imp);
}

int64_t
import_run_id(struct import *imp)
{
	return imp->run_id;
}

void
import_count_request(struct import *imp)
{
	(void)pthread_mutex_lock(&imp->lock);
	imp->requests++;
	(void)pthread_mutex_unlock(&imp->lock);
}

/* The highest page index worth asking for before the end is known. */
static int
estimated_last(const struct import *imp)
{
	if (imp->store_total < 0)
		return imp->checkpoint;
	if (imp->store_total <= 1)
		return 0;
	return (int)((imp->store_total - 2) / STEP);
}

bool
import_next_page(struct import *imp, struct wc_list_query *q, int *token)
{
	int k = -1;

	(void)pthread_mutex_lock(&imp->lock);
	/* A page that failed before comes first. */
	for (int i = imp->checkpoint; i < imp->next_to_ask; i++) {
		if (imp->pages[i].state == PAGE_TODO) {
			k = i;
			break;
		}
	}
	if (k < 0) {
		int limit = imp->end_page >= 0 ? imp->end_page : estimated_last(imp);
		bool probe = imp->end_page < 0 && imp->asked == 0;

		if (imp->next_to_ask <= limit || probe)
			k = imp->next_to_ask;
		if (k >= 0 && ensure_pages(imp, k) != TS_OK)
			k = -1;
		if (k >= 0)
			imp->next_to_ask++;
	}
	if (k >= 0) {
		imp->pages[k].state = PAGE_ASKED;
		imp->asked++;
		memset(q, 0, sizeof(*q));
		q->page = 1;
		q->per_page = IMPORT_PAGE;
		q->offset = (long)k * STEP;
		q->status = "any";
		q->orderby = "id";
		q->order = "asc";
		q->after = imp->after > 0 ? imp->after_text : NULL;
		*token = k;
	}
	(void)pthread_mutex_unlock(&imp->lock);
	return k >= 0;
}

void
import_page_failed(struct import *imp, int token)
{
	(void)pthread_mutex_lock(&imp->lock);
	/* Applied, then its transaction failed: no longer in flight either. */
	if (imp->pages[token].state == PAGE_ASKED)
		imp->asked--;
	imp->pages[token].state = PAGE_TODO;
	if (token < imp->checkpoint)
		imp->checkpoint = token;
	(void)pthread_mutex_unlock(&imp->lock);
}

enum ts_rc
import_note(struct import *imp, struct db *db, const struct sync_result *r)
{
	enum ts_rc rc;
	const char *outcome = r->ignored ? "ignored" : r->error_code != NULL ?
	    "failed" : "synced";

	/*
	 * A copy older than what is applied: the running daemon applied a
	 * newer one meanwhile. The order is in the database, so it was seen
	 * (or the summary would report a gap that is not there); what the
	 * daemon applied counts, so an outcome already noted stays.
	 */
	if (r->stale)
		return exec_bound(db, "INSERT INTO import_seen (run_id, order_id,"
		    " outcome, changed) VALUES (?1, ?2, 'current', 0) ON CONFLICT"
		    " DO NOTHING", imp->run_id, r->order_id, 0, NULL, NULL);

	if ((rc = exec_bound(db, "INSERT INTO import_seen (run_id, order_id,"
	    " outcome, changed) VALUES (?1, ?2, ?4, ?3) ON CONFLICT DO UPDATE SET"
	    " outcome = excluded.outcome, changed = max(changed, excluded.changed)",
	    imp->run_id, r->order_id, r->changed, outcome, NULL)) != TS_OK)
		return rc;
	if (r->customer_id > 0 && (r->changed || r->customer_created) &&
	    (rc = exec_bound(db, "INSERT INTO import_customers (run_id,"
	    " customer_id, created) VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET"
	    " created = max(created, excluded.created)", imp->run_id,
	    r->customer_id, r->customer_created, NULL, NULL)) != TS_OK)
		return rc;
	if (r->error_code != NULL) {
		char msg[256];
		(void)snprintf(msg, sizeof(msg), "%s: %s", r->error_code, r->error_message);
		rc = exec_bound(db, "INSERT OR REPLACE INTO import_discrepancies"
		    " (run_id, order_id, code, message) VALUES (?1, ?2, ?4, ?5)",
		    imp->run_id, r->order_id, 0, r->error_code, msg);
	}
	return rc;
}

/*
 * Whether orders can hide between full page a and the next page b: b
 * starts after a ended, or b is empty. (b starting before a ended only
 * reads some orders twice.)
 */
static bool
seam_gap(const struct page *a, const struct page *b)
{
	if (a->state != PAGE_DONE || b->state != PAGE_DONE || a->count < IMPORT_PAGE)
		return false;
	return b->count == 0 || b->first_id > a->last_id;
}

/* Page k is to be read again (and the checkpoint goes back to it). */
static void
reread(struct import *imp, int k)
{
	struct page *p = &imp->pages[k];

	if (p->state != PAGE_DONE || p->rereads >= MAX_REREADS)
		return;
	p->state = PAGE_TODO;
	p->rereads++;
	if (k < imp->checkpoint)
		imp->checkpoint = k;
}

/*
 * Pages k-1 and k should share an order; a mismatch means the store changed
 * between the two reads. With a gap the older page of the two is read again:
 * a page read after deletions below it starts later than its older
 * neighbour ended (read the neighbour again, then its neighbour, down to
 * where the deletion was); a page read before orders came back below it
 * starts later than its newer neighbour ended (read it again).
 */
static void
check_seam(struct import *imp, int k)
{
	const struct page *a, *b;

	if (k <= 0 || k >= imp->n_pages)
		return;
	a = &imp->pages[k - 1];
	b = &imp->pages[k];
	if (a->state != PAGE_DONE || b->state != PAGE_DONE || a->count < IMPORT_PAGE ||
	    (b->count > 0 && b->first_id == a->last_id))
		return;
	imp->page_shifts++;
	if (seam_gap(a, b))
		reread(imp, a->seq <= b->seq ? k - 1 : k);
}

/* The page's edges, for the seam checks of a later session. */
static enum ts_rc
save_page(struct import *imp, struct db *db, int token, int64_t first_id,
    int64_t last_id, int count)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "INSERT OR REPLACE INTO"
	    " import_pages (run_id, page, first_id, last_id, count) VALUES (?1, ?2,"
	    " ?3, ?4, ?5)", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, imp->run_id);
	(void)sqlite3_bind_int(st, 2, token);
	(void)sqlite3_bind_int64(st, 3, first_id);
	(void)sqlite3_bind_int64(st, 4, last_id);
	(void)sqlite3_bind_int(st, 5, count);
	rc = db_rc(sqlite3_step(st));
	(void)sqlite3_finalize(st);
	return rc;
}

enum ts_rc
import_page_applied(struct import *imp, struct db *db, int token,
    const json_t *items, long total, int64_t now)
{
	struct page *p;
	size_t n = json_array_size(items);
	int checkpoint, shifts, count;
	int64_t first_id, last_id;
	long requests;
	enum ts_rc rc;

	(void)now;
	(void)pthread_mutex_lock(&imp->lock);
	p = &imp->pages[token];
	p->state = PAGE_DONE;
	p->count = (int)n;
	p->first_id = n > 0 ? (int64_t)json_integer_value(json_object_get(
	    json_array_get(items, 0), "id")) : 0;
	p->last_id = n > 0 ? (int64_t)json_integer_value(json_object_get(
	    json_array_get(items, n - 1), "id")) : 0;
	p->seq = ++imp->seq;
	first_id = p->first_id;
	last_id = p->last_id;
	count = p->count;
	imp->asked--;
	imp->pages_done++;
	imp->applied += (long)n;
	if (total >= 0)
		imp->store_total = total;
	/* A short page is the last one (orders created later come after it). */
	if (n < IMPORT_PAGE && (imp->end_page < 0 || token < imp->end_page))
		imp->end_page = token;
	/* The last page, read again, is full now: the end is further on. */
	if (n == IMPORT_PAGE && token == imp->end_page) {
		imp->end_page = -1;
		for (int k = token + 1; k < imp->next_to_ask; k++)
			if (imp->pages[k].state == PAGE_DONE &&
			    imp->pages[k].count < IMPORT_PAGE) {
				imp->end_page = k;
				break;
			}
	}
	check_seam(imp, token);
	check_seam(imp, token + 1);
	while (imp->checkpoint < imp->n_pages &&
	    imp->pages[imp->checkpoint].state == PAGE_DONE)
		imp->checkpoint++;
	checkpoint = imp->checkpoint;
	shifts = imp->page_shifts;
	requests = imp->requests;
	(void)pthread_mutex_unlock(&imp->lock);
	rc = exec_bound(db, "UPDATE import_runs SET next_page = ?2,"
	    " page_shifts = ?3 WHERE id = ?1", imp->run_id, checkpoint, shifts,
	    NULL, NULL);
	if (rc == TS_OK)
		rc = exec_bound(db, "UPDATE import_runs SET requests = ?2, store_total ="
		    " CASE WHEN ?3 >= 0 THEN ?3 ELSE store_total END WHERE id = ?1",
		    imp->run_id, requests, total, NULL, NULL);
	if (rc == TS_OK)
		rc = save_page(imp, db, token, first_id, last_id, count);
	return rc;
}

bool
import_pages_done(struct import *imp)
{
	bool done;

	(void)pthread_mutex_lock(&imp->lock);
	done = imp->end_page >= 0 && imp->checkpoint > imp->end_page;
	(void)pthread_mutex_unlock(&imp->lock);
	return done;
}

void
import_progress(struct import *imp, struct import_progress *out)
{
	(void)pthread_mutex_lock(&imp->lock);
	out->run_id = imp->run_id;
	out->store_total = imp->store_total;
	out->applied = imp->applied;
	out->pages_done = imp->pages_done;
	out->resumed = imp->resumed;
	out->finished = imp->finished;
	(void)pthread_mutex_unlock(&imp->lock);
}

enum ts_rc
import_finish(struct import *imp, struct db *db, int64_t now, bool interrupted)
{
	sqlite3_int64 seen = 0;
	sqlite3_stmt *st = NULL;
	const char *state;
	bool gap = false;
	enum ts_rc rc;

	(void)pthread_mutex_lock(&imp->lock);
	imp->finished = true;
	(void)pthread_mutex_unlock(&imp->lock);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT count(*) FROM"
	    " import_seen WHERE run_id = ?1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, imp->run_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		seen = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	/*
	 * Never "completed" with a gap: fewer distinct orders than the store
	 * listed, a page not applied, or a seam still showing a shift after
	 * its pages were read again.
	 */
	(void)pthread_mutex_lock(&imp->lock);
	if (imp->end_page < 0 || imp->checkpoint <= imp->end_page)
		gap = true;
	for (int k = 1; k <= imp->end_page && k < imp->n_pages; k++)
		if (seam_gap(&imp->pages[k - 1], &imp->pages[k]))
			gap = true;
	(void)pthread_mutex_unlock(&imp->lock);
	if (imp->store_total >= 0 && seen < imp->store_total)
		gap = true;
	if (interrupted)
		gap = false;
	state = interrupted ? "interrupted" : gap ? "incomplete" : "completed";
	/*
	 * The customers the run inserted left the search index in many
	 * segments: the daemon's worker merges them into one, in slices
	 * (profile_search_purge). Asked for even by an interrupted run: what
	 * it inserted stays.
	 */
	if ((rc = profile_search_merge_later(db)) != TS_OK)
		return rc;
	return exec_bound(db, "UPDATE import_runs SET state = ?4,"
	    " finished_at = CASE WHEN ?4 = 'interrupted' THEN NULL ELSE ?2 END,"
	    " elapsed_s = elapsed_s + ?3 WHERE id = ?1", imp->run_id, now,
	    now - imp->session_start, state, NULL);
}

static json_int_t
count_of(struct db *db, const char *sql, int64_t run_id)
{
	sqlite3_int64 n;

	return db_query_int64_with(db, sql, run_id, &n) == TS_OK ? n : 0;
}

enum ts_rc
import_summary(struct db *db, int64_t run_id, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *s = NULL, *disc = json_array();
	enum ts_rc rc;

	*out = NULL;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT since, state,"
	    " store_total, page_shifts, requests, elapsed_s, started_at, finished_at"
	    " FROM import_runs WHERE id = ?1", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, run_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = TS_ERR_NOTFOUND;
		goto out;
	}
	s = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "run_id", (json_int_t)run_id,
	    "since", (const char *)sqlite3_column_text(st, 0),
	    "state", (const char *)sqlite3_column_text(st, 1),
	    "store_total", (json_int_t)(sqlite3_column_type(st, 2) == SQLITE_NULL ?
	    -1 : sqlite3_column_int64(st, 2)),
	    "orders_seen", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1", run_id),
	    "orders_synced", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1 AND outcome = 'synced'", run_id),
	    "orders_failed", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1 AND outcome = 'failed'", run_id),
	    "orders_ignored", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1 AND outcome = 'ignored'", run_id),
	    "orders_current", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1 AND outcome = 'current'", run_id),
	    "orders_changed", count_of(db, "SELECT count(*) FROM import_seen WHERE"
	    " run_id = ?1 AND changed", run_id),
	    "customers_created", count_of(db, "SELECT count(*) FROM import_customers"
	    " WHERE run_id = ?1 AND created", run_id),
	    "customers_updated", count_of(db, "SELECT count(*) FROM import_customers"
	    " WHERE run_id = ?1 AND NOT created", run_id),
	    "page_shifts", (json_int_t)sqlite3_column_int64(st, 3),
	    "requests", (json_int_t)sqlite3_column_int64(st, 4),
	    "elapsed_s", (json_int_t)sqlite3_column_int64(st, 5));
	(void)sqlite3_finalize(st);
	st = NULL;
	if (s == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT order_id, code,"
	    " message FROM import_discrepancies WHERE run_id = ?1 ORDER BY order_id"
	    " LIMIT 1000", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, run_id);
	while (sqlite3_step(st) == SQLITE_ROW)
		(void)json_array_append_new(disc, json_pack("{s:I,s:s,s:s}", "order_id",
		    (json_int_t)sqlite3_column_int64(st, 0), "code",
		    (const char *)sqlite3_column_text(st, 1), "message",
		    (const char *)sqlite3_column_text(st, 2)));
	(void)json_object_set(s, "discrepancies", disc);
	*out = s;
	s = NULL;
out:
	(void)sqlite3_finalize(st);
	json_decref(disc);
	json_decref(s);
	return rc;
}
