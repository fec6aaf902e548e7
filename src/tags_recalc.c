/* SPDX-License-Identifier: MIT */
/*
 * Recalculation of customer intelligence: one customer inside the sync's
 * transaction, or everyone in chunks. Metrics come from rfm.c, rules from
 * the catalogue (tags.c), status decisions from status.c. Never logs.
 *
 * DESIGN. Every rule of the catalogue is a CASE column of one statement
 * over the customer_metrics view ("eval"), compiled under tags_guard.c.
 * For one customer it reads one row; for a chunk of customers, a range of
 * ids in one pass, merge-joined in C with the tags they hold and whether
 * status rules held before. The same code decides for one customer and
 * for a chunk (diff_tags, status_decide), and only differences are
 * written. A chunk writes them one statement per tag and kind of change,
 * fed a JSON array of ids (a statement per row costs half as much again).
 * customers.tag_count, which the admin API sorts and filters by, is then
 * written once per customer whose tags changed, in the same transaction:
 * no trigger rewrites the customer's row for every tag earned or lost. A
 * chunk computes it in C: the rows it merged (every row the customer has
 * with lost_at IS NULL, of any tag, known to the catalogue or not) plus
 * what it earns and revives, less what it loses, which are exactly the
 * rows its statements then change (an earn that met a row would fail the
 * primary key and the chunk). One customer recounts it from the rows.
 * The view reads its clock from intel_state.as_of, which is set only
 * inside our own transactions and cleared before they end, so other
 * connections always see the wall clock.
 *
 * A full recalculation reads every counted order in one read transaction
 * (no lock held against the worker), learns the RFM thresholds and the
 * purchase models, and then writes TAGS_RECALC_CHUNK customers per write
 * transaction. A customer the worker synced after the snapshot was taken
 * has a newer metrics row (write_seq), which the chunk leaves alone.
 * Each chunk's pages are copied from the WAL into the database by a
 * thread of the run (struct checkpointer, decision 32) while the next
 * chunk is written.
 */
#include "tracksies/tags_recalc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tracksies/db.h"
#include "tracksies/rfm.h"
#include "tracksies/rfm_snapshot.h"
#include "tracksies/status.h"
#include "tracksies/tags.h"
#include "tracksies/tags_guard.h"

enum t_stmt {
	T_GEN, T_CLOCK, T_TICK, T_UNCLOCK, T_HELD, T_EARN, T_LOSE,
	T_HELD_RANGE, T_STATE_RANGE, T_NOTE, T_EARN_MANY, T_REVIVE_MANY,
	T_LOSE_MANY, T_RECOUNT, T_SET_COUNT_MANY, T_IDS_RANGE, T_COUNT
};

static const char *const t_sql[T_COUNT] = {
	[T_GEN] = "SELECT catalogue_gen FROM intel_state WHERE id = 1",
	[T_CLOCK] = "UPDATE intel_state SET as_of = ?1 WHERE id = 1",
	[T_TICK] = "UPDATE intel_state SET as_of = ?1, write_seq = write_seq + 1"
	    " WHERE id = 1 RETURNING write_seq",
	[T_UNCLOCK] = "UPDATE intel_state SET as_of = NULL WHERE id = 1",
	[T_HELD] = "SELECT tag_id, lost_at IS NULL FROM customer_tags"
	    " WHERE customer_id = ?1",
	/* Earning again a live tag once lost starts a new spell. */
	[T_EARN] = "INSERT INTO customer_tags (customer_id, tag_id, earned_at)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (customer_id, tag_id) DO UPDATE SET"
	    " earned_at = excluded.earned_at, lost_at = NULL"
	    " WHERE lost_at IS NOT NULL",
	[T_LOSE] = "UPDATE customer_tags SET lost_at = ?3 WHERE customer_id = ?1"
	    " AND tag_id = ?2 AND lost_at IS NULL",
	[T_HELD_RANGE] = "SELECT customer_id, tag_id, lost_at IS NULL"
	    " FROM customer_tags WHERE customer_id BETWEEN ?1 AND ?2"
	    " ORDER BY customer_id",
	[T_STATE_RANGE] = "SELECT DISTINCT customer_id FROM status_rule_state"
	    " WHERE customer_id BETWEEN ?1 AND ?2 ORDER BY customer_id",
	[T_NOTE] = "UPDATE intel_state SET recalc_phase = ?1, recalc_done = ?2,"
	    " recalc_total = ?3 WHERE id = 1",
	/* A chunk's changes, one statement per tag: ?1 a JSON array of ids. */
	[T_EARN_MANY] = "INSERT INTO customer_tags (customer_id, tag_id, earned_at)"
	    " SELECT value, ?3, ?2 FROM json_each(?1)",
	/* Earning again a live tag once lost starts a new spell. */
	[T_REVIVE_MANY] = "UPDATE customer_tags SET earned_at = ?2, lost_at = NULL"
	    " WHERE tag_id = ?3 AND lost_at IS NOT NULL AND customer_id IN"
	    " (SELECT value FROM json_each(?1))",
	[T_LOSE_MANY] = "UPDATE customer_tags SET lost_at = ?2 WHERE tag_id = ?3"
	    " AND lost_at IS NULL AND customer_id IN (SELECT value FROM"
	    " json_each(?1))",
	/* Tags held by one customer, recounted from the rows. */
	[T_RECOUNT] = "UPDATE customers SET tag_count = (SELECT count(*) FROM"
	    " customer_tags AS t WHERE t.customer_id = customers.id AND"
	    " t.lost_at IS NULL) WHERE id = ?1",
	/* Tags held, computed by the chunk: ?2 for a JSON array of ids. */
	[T_SET_COUNT_MANY] = "UPDATE customers SET tag_count = ?2"
	    " WHERE id IN (SELECT value FROM json_each(?1))",
	/* The customers of a chunk's range that still exist. */
	[T_IDS_RANGE] = "SELECT id FROM customers WHERE id BETWEEN ?1 AND ?2"
	    " ORDER BY id",
};

/* A tag to earn (new, or again) or lose, found while scanning a chunk. */
enum change_kind { CH_EARN, CH_REVIVE, CH_LOSE };

struct change {
	int64_t id;
	size_t tag;
	enum change_kind kind;
	int64_t count;			/* chunk: tags id holds after its changes */
};

struct tags_recalc {
	struct db *db;
	struct rfm *rfm;
	struct status *status;
	sqlite3_stmt *st[T_COUNT];
	int64_t gen;			/* of cat and the evals; -1: none loaded */
	struct tags_catalogue *cat;
	size_t n_rules;			/* tags, then status rules */
	sqlite3_stmt *eval;		/* every condition, one customer */
	sqlite3_stmt *eval_range;	/* the same over an id range */
	bool *holds;			/* n_rules */
	signed char *held;		/* per tag: -1 never, 0 lost, 1 held */
	/* chunk work, applied after the scans */
	struct change *changes;
	size_t n_changes, cap_changes;
	int64_t *status_ids;		/* customers whose status rules to apply */
	bool *status_holds;		/* n_status_rules per entry */
	size_t n_status, cap_status;
};

static enum ts_rc
step_done(sqlite3_stmt *st)
{
	enum ts_rc rc = db_rc(sqlite3_step(st));

	(void)sqlite3_reset(st);
	return rc;
}

/* A condition failing at run time is the rule's fault, not the disk's. */
static enum ts_rc
rule_rc(int src)
{
	enum ts_rc rc = db_rc(src);

	return rc == TS_ERR_IO && (src & 0xff) == SQLITE_ERROR ? TS_ERR_INVALID : rc;
}

enum ts_rc
tags_recalc_open(struct db *db, struct tags_recalc **out)
{
	struct tags_recalc *t;
	enum ts_rc rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TS_ERR_NOMEM;
	t->db = db;
	t->gen = -1;
	if ((rc = rfm_new(db, &t->rfm)) != TS_OK ||
	    (rc = status_new(db, &t->status)) != TS_OK)
		goto fail;
	for (int i = 0; i < T_COUNT; i++)
		if ((rc = db_rc(sqlite3_prepare_v3(db_handle(db), t_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &t->st[i], NULL))) != TS_OK)
			goto fail;
	*out = t;
	return TS_OK;
fail:
	tags_recalc_close(t);
	return rc;
}

static void
drop_catalogue(struct tags_recalc *t)
{
	(void)sqlite3_finalize(t->eval);
	(void)sqlite3_finalize(t->eval_range);
	t->eval = t->eval_range = NULL;
	tags_catalogue_free(t->cat);
	t->cat = NULL;
	free(t->holds);
	free(t->held);
	t->holds = NULL;
	t->held = NULL;
	t->n_rules = 0;
	t->gen = -1;
}

void
tags_recalc_close(struct tags_recalc *t)
{
	if (t == NULL)
		return;
	drop_catalogue(t);
	for (int i = 0; i < T_COUNT; i++)
		(void)sqlite3_finalize(t->st[i]);
	free(t->changes);
	free(t->status_ids);
	free(t->status_holds);
	status_free(t->status);
	rfm_free(t->rfm);
	free(t);
}

static const char *
condition(const struct tags_catalogue *cat, size_t i)
{
	return i < cat->n_tags ? cat->tags[i].condition :
	    cat->status_rules[i - cat->n_tags].condition;
}

/*
 * "SELECT [id,] CASE WHEN (c1) THEN 1 ELSE 0 END, ... FROM customer_metrics"
 * for one id or, with range, ids ?1..?2 in order.
 */
static char *
eval_sql(const struct tags_catalogue *cat, size_t n, bool range)
{
	size_t len = 160, off;
	char *sql;

	for (size_t i = 0; i < n; i++)
		len += strlen(condition(cat, i)) + 40;
	if ((sql = malloc(len)) == NULL)
		return NULL;
	off = (size_t)sprintf(sql, "SELECT%s", range ? " id" : "");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(sql + off, "%s CASE WHEN (%s) THEN 1 ELSE 0 END",
		    i || range ? "," : "", condition(cat, i));
	(void)sprintf(sql + off, range ? " FROM customer_metrics WHERE id BETWEEN"
	    " ?1 AND ?2 ORDER BY id" : " FROM customer_metrics WHERE id = ?1");
	return sql;
}

/* (Re)load the rules when the catalogue generation moved. */
static enum ts_rc
ensure_catalogue(struct tags_recalc *t)
{
	sqlite3_stmt *st = t->st[T_GEN];
	char fault[300], *one = NULL, *range = NULL;
	int64_t gen;
	enum ts_rc rc;
	int src;

	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		(void)sqlite3_reset(st);
		return src == SQLITE_DONE ? TS_ERR_IO : db_rc(src);
	}
	gen = sqlite3_column_int64(st, 0);
	(void)sqlite3_reset(st);
	if (gen == t->gen)
		return TS_OK;
	drop_catalogue(t);
	if ((rc = tags_catalogue_read(t->db, &t->cat, &gen)) != TS_OK)
		return rc;
	t->n_rules = t->cat->n_tags + t->cat->n_status_rules;
	rc = TS_ERR_NOMEM;
	if ((t->holds = calloc(t->n_rules + 1, sizeof(*t->holds))) == NULL ||
	    (t->held = calloc(t->cat->n_tags + 1, sizeof(*t->held))) == NULL)
		goto out;
	if (t->n_rules > 0) {
		if ((one = eval_sql(t->cat, t->n_rules, false)) == NULL ||
		    (range = eval_sql(t->cat, t->n_rules, true)) == NULL)
			goto out;
		if ((rc = tags_guard_prepare(t->db, one, NULL, &t->eval, fault,
		    sizeof(fault))) != TS_OK ||
		    (rc = tags_guard_prepare(t->db, range, NULL, &t->eval_range,
		    fault, sizeof(fault))) != TS_OK)
			goto out;
	}
	t->gen = gen;
	rc = TS_OK;
out:
	free(one);
	free(range);
	if (rc != TS_OK)
		drop_catalogue(t);
	return rc;
}

static size_t
tag_index(const struct tags_catalogue *cat, const char *id)
{
	for (size_t i = 0; i < cat->n_tags; i++)
		if (strcmp(cat->tags[i].id, id) == 0)
			return i;
	return cat->n_tags;
}

/* Earn or lose tag k of customer id at now. */
static enum ts_rc
write_tag(struct tags_recalc *t, int64_t id, size_t k, bool earn, int64_t now)
{
	sqlite3_stmt *st = t->st[earn ? T_EARN : T_LOSE];

	(void)sqlite3_bind_int64(st, 1, id);
	(void)sqlite3_bind_text(st, 2, t->cat->tags[k].id, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, now);
	return step_done(st);
}

/* What changes for one customer, from holds[] and held[]. */
static enum ts_rc
diff_tags(struct tags_recalc *t, int64_t id)
{
	for (size_t k = 0; k < t->cat->n_tags; k++) {
		bool earn = t->holds[k] && t->held[k] != 1;
		bool lose = !t->holds[k] && t->held[k] == 1 &&
		    !t->cat->tags[k].milestone;

		if (!earn && !lose)
			continue;
		if (t->n_changes == t->cap_changes) {
			size_t cap = t->cap_changes ? t->cap_changes * 2 : 1024;
			struct change *c = realloc(t->changes, cap * sizeof(*c));
			if (c == NULL)
				return TS_ERR_NOMEM;
			t->changes = c;
			t->cap_changes = cap;
		}
		t->changes[t->n_changes++] = (struct change){ id, k, !earn ? CH_LOSE :
		    t->held[k] == 0 ? CH_REVIVE : CH_EARN, 0 };
	}
	return TS_OK;
}

/* Remember customer id for its status rules (holds of the status rules). */
static enum ts_rc
queue_status(struct tags_recalc *t, int64_t id)
{
	size_t ns = t->cat->n_status_rules;

	if (t->n_status == t->cap_status) {
		size_t cap = t->cap_status ? t->cap_status * 2 : 256;
		int64_t *ids = realloc(t->status_ids, cap * sizeof(*ids));
		bool *h;

		if (ids == NULL)
			return TS_ERR_NOMEM;
		t->status_ids = ids;
		if ((h = realloc(t->status_holds, cap * ns * sizeof(*h))) == NULL)
			return TS_ERR_NOMEM;
		t->status_holds = h;
		t->cap_status = cap;
	}
	t->status_ids[t->n_status] = id;
	memcpy(&t->status_holds[t->n_status * ns], t->holds + t->cat->n_tags,
	    ns * sizeof(bool));
	t->n_status++;
	return TS_OK;
}

/* ---- one customer ---------------------------------------------------- */

enum ts_rc
tags_recalc_customer(struct tags_recalc *t, int64_t customer_id, int64_t now)
{
	struct rfm_model model;
	struct rfm_customer c;
	sqlite3_stmt *st = t->st[T_TICK];
	int64_t seq = 0;
	enum ts_rc rc;
	int src;

	if ((rc = db_exec(t->db, "SAVEPOINT tags_recalc")) != TS_OK)
		return rc;
	if ((rc = ensure_catalogue(t)) != TS_OK)
		goto out;
	(void)sqlite3_bind_int64(st, 1, now);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	(void)sqlite3_reset(st);
	if (src != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? TS_ERR_IO : db_rc(src);
		goto out;
	}
	if ((rc = rfm_model_load(t->rfm, &model)) != TS_OK)
		goto out;
	rc = rfm_customer_compute(t->rfm, customer_id, now, false, &model, &c);
	if (rc == TS_ERR_NOTFOUND) {
		rc = step_done(t->st[T_UNCLOCK]);
		goto out;
	}
	if (rc != TS_OK ||
	    (rc = rfm_customer_store(t->rfm, customer_id, now, &c, seq, -1)) != TS_OK ||
	    (rc = rfm_interactions_refresh(t->rfm, customer_id, customer_id, now,
	    false)) != TS_OK)
		goto out;

	memset(t->holds, 0, (t->n_rules + 1) * sizeof(*t->holds));
	if (t->eval != NULL) {
		(void)sqlite3_bind_int64(t->eval, 1, customer_id);
		if ((src = sqlite3_step(t->eval)) == SQLITE_ROW)
			for (size_t i = 0; i < t->n_rules; i++)
				t->holds[i] = sqlite3_column_int(t->eval, (int)i) != 0;
		(void)sqlite3_reset(t->eval);
		if (src != SQLITE_ROW && src != SQLITE_DONE) {
			rc = rule_rc(src);
			goto out;
		}
	}
	memset(t->held, -1, t->cat->n_tags + 1);
	st = t->st[T_HELD];
	(void)sqlite3_bind_int64(st, 1, customer_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		size_t k = tag_index(t->cat, (const char *)sqlite3_column_text(st, 0));
		if (k < t->cat->n_tags)
			t->held[k] = (signed char)sqlite3_column_int(st, 1);
	}
	(void)sqlite3_reset(st);
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto out;
	}
	t->n_changes = 0;
	if ((rc = diff_tags(t, customer_id)) != TS_OK)
		goto out;
	for (size_t i = 0; i < t->n_changes; i++)
		if ((rc = write_tag(t, customer_id, t->changes[i].tag,
		    t->changes[i].kind != CH_LOSE, now)) != TS_OK)
			goto out;
	if (t->n_changes > 0) {
		(void)sqlite3_bind_int64(t->st[T_RECOUNT], 1, customer_id);
		if ((rc = step_done(t->st[T_RECOUNT])) != TS_OK)
			goto out;
	}
	if ((rc = status_apply_customer(t->status, customer_id,
	    t->cat->status_rules, t->holds + t->cat->n_tags,
	    t->cat->n_status_rules, now)) != TS_OK)
		goto out;
	rc = step_done(t->st[T_UNCLOCK]);
out:
	if (rc != TS_OK)
		(void)db_exec(t->db, "ROLLBACK TO tags_recalc");
	(void)db_exec(t->db, "RELEASE tags_recalc");
	return rc;
}

/* ---- a chunk of customers -------------------------------------------- */

/* Append ",id" (or "id" first) at json + off; returns the new offset. */
static size_t
put_id(char *json, size_t off, int64_t id)
{
	char digits[24];
	uint64_t v = id < 0 ? -(uint64_t)id : (uint64_t)id;
	size_t n = 0;

	/* snprintf per id was a tenth of a first run's tag writes. */
	if (off > 1)
		json[off++] = ',';
	if (id < 0)
		json[off++] = '-';
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		json[off++] = digits[--n];
	return off;
}

static enum ts_rc
step_json(sqlite3_stmt *st, const char *json, size_t len)
{
	enum ts_rc rc;

	(void)sqlite3_bind_text(st, 1, json, (int)len, SQLITE_STATIC);
	rc = step_done(st);
	(void)sqlite3_clear_bindings(st);
	return rc;
}

/* The chunk's changes of one kind, one statement per tag. */
static enum ts_rc
write_changes(struct tags_recalc *t, enum change_kind kind, int64_t now)
{
	static const enum t_stmt stmt[] = {
		[CH_EARN] = T_EARN_MANY, [CH_REVIVE] = T_REVIVE_MANY,
		[CH_LOSE] = T_LOSE_MANY,
	};
	sqlite3_stmt *st = t->st[stmt[kind]];
	size_t off, n = 0;
	char *json;
	enum ts_rc rc = TS_OK;

	for (size_t i = 0; i < t->n_changes; i++)
		n += t->changes[i].kind == kind;
	if (n == 0)
		return TS_OK;
	if ((json = malloc(n * 21 + 3)) == NULL)
		return TS_ERR_NOMEM;
	for (size_t k = 0; rc == TS_OK && k < t->cat->n_tags; k++) {
		json[0] = '[';
		off = 1;
		for (size_t i = 0; i < t->n_changes; i++)
			if (t->changes[i].tag == k && t->changes[i].kind == kind)
				off = put_id(json, off, t->changes[i].id);
		if (off == 1)
			continue;
		json[off++] = ']';
		json[off] = '\0';
		(void)sqlite3_bind_int64(st, 2, now);
		(void)sqlite3_bind_text(st, 3, t->cat->tags[k].id, -1, SQLITE_STATIC);
		rc = step_json(st, json, off);
	}
	free(json);
	return rc;
}

/*
 * tag_count of every customer whose tags changed, as rules_over_range
 * computed it: one statement per count (a handful of values), fed the ids.
 */
static enum ts_rc
write_counts(struct tags_recalc *t)
{
	sqlite3_stmt *st = t->st[T_SET_COUNT_MANY];
	int64_t max = 0;
	size_t off;
	char *json;
	enum ts_rc rc = TS_OK;

	if (t->n_changes == 0)
		return TS_OK;
	if ((json = malloc(t->n_changes * 21 + 3)) == NULL)
		return TS_ERR_NOMEM;
	for (size_t i = 0; i < t->n_changes; i++)
		if (t->changes[i].count > max)
			max = t->changes[i].count;
	for (int64_t c = 0; rc == TS_OK && c <= max; c++) {
		json[0] = '[';
		off = 1;
		/* diff_tags adds a customer's changes together, customer by customer. */
		for (size_t i = 0; i < t->n_changes; i++)
			if ((i == 0 || t->changes[i].id != t->changes[i - 1].id) &&
			    t->changes[i].count == c)
				off = put_id(json, off, t->changes[i].id);
		if (off == 1)
			continue;
		json[off++] = ']';
		json[off] = '\0';
		(void)sqlite3_bind_int64(st, 2, c);
		rc = step_json(st, json, off);
	}
	free(json);
	return rc;
}

/*
 * Evaluate every rule for customers lo..hi in one pass, merged with the
 * tags they hold and whether they have status-rule state; the work found
 * is done after the scans end, so no scan sees its own writes.
 */
static enum ts_rc
rules_over_range(struct tags_recalc *t, int64_t lo, int64_t hi, int64_t now)
{
	sqlite3_stmt *ev = t->eval_range, *hd = t->st[T_HELD_RANGE];
	sqlite3_stmt *sr = t->st[T_STATE_RANGE];
	size_t ns = t->cat->n_status_rules;
	int ev_rc, hd_rc = SQLITE_DONE, sr_rc = SQLITE_DONE;
	enum ts_rc rc = TS_OK;

	t->n_changes = t->n_status = 0;
	if (ev == NULL)
		return TS_OK;
	(void)sqlite3_bind_int64(ev, 1, lo);
	(void)sqlite3_bind_int64(ev, 2, hi);
	(void)sqlite3_bind_int64(hd, 1, lo);
	(void)sqlite3_bind_int64(hd, 2, hi);
	hd_rc = sqlite3_step(hd);
	if (ns > 0) {
		(void)sqlite3_bind_int64(sr, 1, lo);
		(void)sqlite3_bind_int64(sr, 2, hi);
		sr_rc = sqlite3_step(sr);
	}
	while (rc == TS_OK && (ev_rc = sqlite3_step(ev)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ev, 0), count = 0;
		size_t first = t->n_changes;
		bool any = false, state = false;

		for (size_t i = 0; i < t->n_rules; i++) {
			t->holds[i] = sqlite3_column_int(ev, (int)i + 1) != 0;
			any |= i >= t->cat->n_tags && t->holds[i];
		}
		memset(t->held, -1, t->cat->n_tags + 1);
		while (hd_rc == SQLITE_ROW && sqlite3_column_int64(hd, 0) <= id) {
			bool own = sqlite3_column_int64(hd, 0) == id;
			size_t k = !own ? t->cat->n_tags :
			    tag_index(t->cat, (const char *)sqlite3_column_text(hd, 1));
			int live = sqlite3_column_int(hd, 2);

			/* Every live row counts, of a tag in the catalogue or not. */
			count += own && live == 1;
			if (k < t->cat->n_tags)
				t->held[k] = (signed char)live;
			hd_rc = sqlite3_step(hd);
		}
		while (sr_rc == SQLITE_ROW && sqlite3_column_int64(sr, 0) <= id) {
			state |= sqlite3_column_int64(sr, 0) == id;
			sr_rc = sqlite3_step(sr);
		}
		if ((rc = diff_tags(t, id)) != TS_OK)
			break;
		for (size_t i = first; i < t->n_changes; i++)
			count += t->changes[i].kind == CH_LOSE ? -1 : 1;
		for (size_t i = first; i < t->n_changes; i++)
			t->changes[i].count = count;
		if (ns > 0 && (any || state))
			rc = queue_status(t, id);
	}
	if (rc == TS_OK && ev_rc != SQLITE_DONE)
		rc = rule_rc(ev_rc);
	if (rc == TS_OK && (hd_rc != SQLITE_DONE && hd_rc != SQLITE_ROW))
		rc = db_rc(hd_rc);
	if (rc == TS_OK && (sr_rc != SQLITE_DONE && sr_rc != SQLITE_ROW))
		rc = db_rc(sr_rc);
	(void)sqlite3_reset(ev);
	(void)sqlite3_reset(hd);
	(void)sqlite3_reset(sr);
	for (int kind = CH_EARN; rc == TS_OK && kind <= CH_LOSE; kind++)
		rc = write_changes(t, (enum change_kind)kind, now);
	if (rc == TS_OK)
		rc = write_counts(t);
	for (size_t i = 0; rc == TS_OK && i < t->n_status; i++)
		rc = status_decide(t->status, t->status_ids[i],
		    t->cat->status_rules, &t->status_holds[i * ns], ns, now);
	if (rc == TS_OK)
		rc = status_flush(t->status, now);
	else
		(void)status_flush_discard(t->status);
	return rc;
}

/* ---- everyone -------------------------------------------------------- */

/*
 * The checkpoints of a full run, on a thread and connection of their own:
 * copying a chunk's pages from the WAL into the database (and the fsyncs)
 * was a third of the writing phase, done by the writing thread between
 * chunks. SQLite lets a checkpoint run beside the writer; the next chunk
 * is computed and written meanwhile, on the other core.
 */
struct checkpointer {
	struct db *db;			/* its own connection */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool pending, busy, stop;
};

static void *
checkpoint_main(void *arg)
{
	struct checkpointer *c = arg;

	(void)pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->pending && !c->stop)
			(void)pthread_cond_wait(&c->cv, &c->mu);
		if (!c->pending)
			break;
		c->pending = false;
		c->busy = true;
		(void)pthread_mutex_unlock(&c->mu);
		/* PASSIVE: copies what no reader still needs; never waits. */
		(void)sqlite3_wal_checkpoint_v2(db_handle(c->db), NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		(void)pthread_mutex_lock(&c->mu);
		c->busy = false;
		(void)pthread_cond_broadcast(&c->cv);
	}
	(void)pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Start one for db's file; false (checkpoints stay inline) if it cannot. */
static bool
checkpointer_start(struct checkpointer *c, struct db *db)
{
	const char *path = sqlite3_db_filename(db_handle(db), "main");

	*c = (struct checkpointer){ 0 };
	if (path == NULL || *path == '\0' ||
	    db_open(path, &c->db, NULL) != TS_OK) {
		db_close(c->db);
		c->db = NULL;
		return false;
	}
	(void)pthread_mutex_init(&c->mu, NULL);
	(void)pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		(void)pthread_mutex_destroy(&c->mu);
		(void)pthread_cond_destroy(&c->cv);
		db_close(c->db);
		c->db = NULL;
		return false;
	}
	return true;
}

static void
checkpointer_kick(struct checkpointer *c)
{
	if (c->db == NULL)
		return;
	(void)pthread_mutex_lock(&c->mu);
	c->pending = true;
	(void)pthread_cond_signal(&c->cv);
	(void)pthread_mutex_unlock(&c->mu);
}

/*
 * Wait for the checkpoint asked for. The WAL starts over only when a write
 * transaction begins with every frame copied; a chunk that begins while
 * the previous one is being copied appends to it instead.
 */
static void
checkpointer_wait(struct checkpointer *c)
{
	if (c->db == NULL)
		return;
	(void)pthread_mutex_lock(&c->mu);
	while (c->pending || c->busy)
		(void)pthread_cond_wait(&c->cv, &c->mu);
	(void)pthread_mutex_unlock(&c->mu);
}

/* Finish the checkpoint asked for, if any, and end the thread. */
static void
checkpointer_stop(struct checkpointer *c)
{
	if (c->db == NULL)
		return;
	(void)pthread_mutex_lock(&c->mu);
	c->stop = true;
	(void)pthread_cond_signal(&c->cv);
	(void)pthread_mutex_unlock(&c->mu);
	(void)pthread_join(c->thread, NULL);
	(void)pthread_mutex_destroy(&c->mu);
	(void)pthread_cond_destroy(&c->cv);
	db_close(c->db);
	c->db = NULL;
}

struct full {
	struct tags_recalc *t;
	int64_t now;
	bool cutoff;
	tags_recalc_progress_fn *progress;
	void *arg;
	int64_t gen;
	struct rfm_snapshot *snap;
	struct rfm_model model;
};

/* Record the phase for other connections; in a transaction or its own. */
static enum ts_rc
note(struct tags_recalc *t, const char *phase, int64_t done, int64_t total)
{
	sqlite3_stmt *st = t->st[T_NOTE];
	bool own = sqlite3_get_autocommit(db_handle(t->db)) != 0;
	enum ts_rc rc;

	if (own && (rc = db_begin(t->db)) != TS_OK)
		return rc;
	(void)sqlite3_bind_text(st, 1, phase, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 2, done);
	(void)sqlite3_bind_int64(st, 3, total);
	rc = step_done(st);
	if (own) {
		if (rc == TS_OK)
			rc = db_commit(t->db);
		if (rc != TS_OK)
			db_rollback(t->db);
	}
	return rc;
}

/* Note the phase, then ask the caller whether to go on. */
static enum ts_rc
phase(struct full *f, const char *name, int64_t done, int64_t total)
{
	enum ts_rc rc = note(f->t, name, done, total);

	if (rc == TS_OK && f->progress != NULL &&
	    !f->progress(f->arg, name, done, total))
		rc = TS_ERR_TRANSIENT;
	return rc;
}

/* Customers [i0, i1) of the snapshot, in one write transaction. */
static enum ts_rc
write_chunk(struct full *f, size_t i0, size_t i1)
{
	struct tags_recalc *t = f->t;
	struct rfm_snapshot *s = f->snap;
	sqlite3_stmt *ids = t->st[T_IDS_RANGE];
	int64_t lo = s->ids[i0], hi = s->ids[i1 - 1];
	enum ts_rc rc;
	int src;

	if ((rc = db_begin(t->db)) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(t->st[T_CLOCK], 1, f->now);
	if ((rc = step_done(t->st[T_CLOCK])) != TS_OK)
		goto out;
	/*
	 * A customer erased since the snapshot gets no metrics row: the ids
	 * of the range, read in this transaction beside the snapshot's (a
	 * look-up per customer cost five times as much).
	 */
	(void)sqlite3_bind_int64(ids, 1, lo);
	(void)sqlite3_bind_int64(ids, 2, hi);
	src = sqlite3_step(ids);
	for (size_t i = i0; i < i1; i++) {
		struct rfm_customer c;

		while (src == SQLITE_ROW && sqlite3_column_int64(ids, 0) < s->ids[i])
			src = sqlite3_step(ids);
		if (src != SQLITE_ROW && src != SQLITE_DONE) {
			rc = db_rc(src);
			break;
		}
		if (src == SQLITE_DONE || sqlite3_column_int64(ids, 0) != s->ids[i])
			continue;
		rfm_snapshot_customer(s, i, &c);
		rfm_score_customer(&f->model.breaks, &c);
		rfm_predict(&f->model, &c);
		if ((rc = rfm_customer_store(t->rfm, s->ids[i], f->now, &c, s->seq,
		    s->seq)) != TS_OK)
			break;
	}
	(void)sqlite3_reset(ids);
	if (rc != TS_OK)
		goto out;
	if ((rc = rfm_interactions_refresh(t->rfm, lo, hi, f->now,
	    f->cutoff)) != TS_OK ||
	    (rc = rules_over_range(t, lo, hi, f->now)) != TS_OK ||
	    (rc = step_done(t->st[T_UNCLOCK])) != TS_OK ||
	    (rc = note(t, "writing", (int64_t)i1, (int64_t)s->n)) != TS_OK)
		goto out;
	rc = db_commit(t->db);
out:
	if (rc != TS_OK)
		db_rollback(t->db);
	return rc;
}

static enum ts_rc
store_model(struct full *f)
{
	enum ts_rc rc;

	if ((rc = db_begin(f->t->db)) != TS_OK)
		return rc;
	if ((rc = rfm_model_store(f->t->db, &f->model)) == TS_OK)
		rc = db_commit(f->t->db);
	if (rc != TS_OK)
		db_rollback(f->t->db);
	return rc;
}

static enum ts_rc
finish(struct full *f, int64_t requested)
{
	struct db *db = f->t->db;
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_begin(db)) != TS_OK)
		return rc;
	/* A request made while this ran asks for another run: keep it. */
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "UPDATE intel_state SET"
	    " recalc_at = ?1, recalc_gen = ?2, recalc_phase = 'done',"
	    " recalc_requested_at = CASE WHEN recalc_requested_at <= ?3 THEN NULL"
	    " ELSE recalc_requested_at END WHERE id = 1", -1, &st, NULL))) == TS_OK) {
		(void)sqlite3_bind_int64(st, 1, f->now);
		(void)sqlite3_bind_int64(st, 2, f->gen);
		(void)sqlite3_bind_int64(st, 3, requested);
		rc = step_done(st);
	}
	(void)sqlite3_finalize(st);
	if (rc == TS_OK)
		rc = db_commit(db);
	if (rc != TS_OK)
		db_rollback(db);
	return rc;
}

static enum ts_rc
recalc_all(struct db *db, int64_t now, bool cutoff,
    tags_recalc_progress_fn *progress, void *arg)
{
	struct full f = { .now = now, .cutoff = cutoff, .progress = progress,
	    .arg = arg };
	struct checkpointer ck = { 0 };
	sqlite3_int64 requested = 0, cache_size = 0, temp_store = 0;
	sqlite3_int64 autocheckpoint = 1000;
	sqlite3_int64 foreign_keys = 1;
	char pragma[64];
	enum ts_rc rc;

	if (!sqlite3_get_autocommit(db_handle(db)))
		return TS_ERR_INVALID;
	/*
	 * A chunk dirties tens of megabytes; with SQLite's default 2 MB cache
	 * pages are spilled to the WAL and written again several times. The
	 * statements fed a list of ids change many rows each, so SQLite keeps
	 * a statement journal of every page they touch: in a temporary file,
	 * that was as many writes as the WAL itself. In memory it costs a few
	 * megabytes (the pages of one statement). The caller's settings come
	 * back at the end.
	 */
	if ((rc = db_query_int64(db, "PRAGMA cache_size", &cache_size)) != TS_OK ||
	    (rc = db_query_int64(db, "PRAGMA temp_store", &temp_store)) != TS_OK ||
	    (rc = db_query_int64(db, "PRAGMA foreign_keys", &foreign_keys)) != TS_OK ||
	    (rc = db_query_int64(db, "PRAGMA wal_autocheckpoint",
	    &autocheckpoint)) != TS_OK)
		return rc;
	/*
	 * Decision 28 (docs/decisions.md): foreign keys are not enforced on
	 * this connection while it recalculates, the one exception to every
	 * connection keeping foreign_keys=ON. The checks were 6.6 % of a first
	 * run (a b-tree descent into customers for every tag earned, metrics
	 * row and status row). It is safe: every row the set-based statements
	 * write is derived from existing customers and tags rows read inside
	 * the same write transaction, which no other connection can change
	 * under it. Metrics rows (customer_intel) are written only for a
	 * customer found in customers just before (write_chunk);
	 * customer_tags, status_rule_state and audit_log rows only for ids
	 * read from customer_intel, whose rows go with their customer (ON
	 * DELETE CASCADE, enforced on every other connection). It deletes no
	 * row that another references, so no ON DELETE action is skipped.
	 * Nothing else uses this connection meanwhile: it belongs to the
	 * calling thread (the worker's background job, or --recalculate),
	 * which is inside this call, and neither progress callback touches
	 * it. The pragma works only outside a transaction, as here and at
	 * restore; the caller's value comes back on every path
	 * (tests/unit/check_tags.c checks it, and foreign_key_check, after
	 * full recalculations that succeed, stop and fail).
	 */
	if ((rc = db_exec(db, "PRAGMA cache_size = -" TAGS_RECALC_CACHE_KIB)) != TS_OK ||
	    (rc = db_exec(db, "PRAGMA temp_store = MEMORY")) != TS_OK ||
	    (rc = db_exec(db, "PRAGMA foreign_keys = OFF")) != TS_OK)
		goto restore;
	if ((rc = tags_recalc_open(db, &f.t)) != TS_OK)
		goto out;
	/* This connection's commits no longer checkpoint; the thread does. */
	if (checkpointer_start(&ck, db) &&
	    (rc = db_exec(db, "PRAGMA wal_autocheckpoint = 0")) != TS_OK)
		goto out;
	if ((rc = db_query_int64(db, "SELECT COALESCE(recalc_requested_at, 0)"
	    " FROM intel_state WHERE id = 1", &requested)) != TS_OK ||
	    (rc = ensure_catalogue(f.t)) != TS_OK ||
	    (rc = phase(&f, "reading", 0, 0)) != TS_OK)
		goto out;
	f.gen = f.t->gen;
	if ((rc = rfm_snapshot_read(db, now, cutoff, &f.snap)) != TS_OK ||
	    (rc = phase(&f, "fitting", 0, (int64_t)f.snap->n)) != TS_OK ||
	    (rc = rfm_snapshot_model(f.snap, &f.model)) != TS_OK ||
	    (rc = store_model(&f)) != TS_OK)
		goto out;
	for (size_t i = 0; i < f.snap->n; i += TAGS_RECALC_CHUNK) {
		size_t end = i + TAGS_RECALC_CHUNK < f.snap->n ?
		    i + TAGS_RECALC_CHUNK : f.snap->n;

		/* The WAL holds TAGS_RECALC_WAL_CHUNKS chunks at most. */
		if (i > 0 && (i / TAGS_RECALC_CHUNK) % TAGS_RECALC_WAL_CHUNKS == 0)
			checkpointer_wait(&ck);
		if ((rc = write_chunk(&f, i, end)) != TS_OK)
			goto out;
		checkpointer_kick(&ck);
		if (progress != NULL &&
		    !progress(arg, "writing", (int64_t)end, (int64_t)f.snap->n)) {
			rc = TS_ERR_TRANSIENT;
			goto out;
		}
	}
	rc = finish(&f, (int64_t)requested);
out:
	if (rc != TS_OK && f.t != NULL && sqlite3_get_autocommit(db_handle(db)))
		(void)note(f.t, rc == TS_ERR_TRANSIENT ? "stopped" : "failed", 0, 0);
	rfm_snapshot_free(f.snap);
	tags_recalc_close(f.t);
	checkpointer_stop(&ck);
restore:
	/* Every path ends its transactions; should one not, foreign_keys
	 * could not be set back (the pragma is a no-op inside one). */
	if (!sqlite3_get_autocommit(db_handle(db)))
		db_rollback(db);
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA foreign_keys = %lld",
	    (long long)foreign_keys);
	if (db_exec(db, pragma) != TS_OK && rc == TS_OK)
		rc = TS_ERR_IO;
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld",
	    (long long)cache_size);
	(void)db_exec(db, pragma);
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA temp_store = %lld",
	    (long long)temp_store);
	(void)db_exec(db, pragma);
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA wal_autocheckpoint = %lld",
	    (long long)autocheckpoint);
	(void)db_exec(db, pragma);
	return rc;
}

enum ts_rc
tags_recalc_all(struct db *db, int64_t now, tags_recalc_progress_fn *progress,
    void *arg)
{
	return recalc_all(db, now, false, progress, arg);
}

enum ts_rc
tags_recalc_all_as_of(struct db *db, int64_t as_of,
    tags_recalc_progress_fn *progress, void *arg)
{
	return recalc_all(db, as_of, true, progress, arg);
}

enum ts_rc
tags_recalc_due(struct db *db, int64_t now, bool *due)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*due = false;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT recalc_at IS NULL"
	    " OR recalc_gen IS NOT catalogue_gen OR recalc_requested_at IS NOT NULL"
	    " OR recalc_at / 86400 < ?1 / 86400 FROM intel_state WHERE id = 1", -1,
	    &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, now);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*due = sqlite3_column_int(st, 0) != 0;
	(void)sqlite3_finalize(st);
	return src == SQLITE_ROW ? TS_OK : db_rc(src);
}

enum ts_rc
tags_recalc_request(struct db *db, int64_t now)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "UPDATE intel_state SET"
	    " recalc_requested_at = COALESCE(recalc_requested_at, ?1)"
	    " WHERE id = 1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, now);
	rc = step_done(st);
	(void)sqlite3_finalize(st);
	return rc;
}
