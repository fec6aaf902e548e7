/* SPDX-License-Identifier: MIT */
/*
 * SQLite connections: open with the pragmas every connection needs, and the
 * one place that maps SQLITE_* codes to enum ts_rc. Schema lives in
 * migrations/ (migrate.c); tables are owned by the modules that use them.
 */
#include "tracksies/db.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/*
 * Statements kept prepared across calls (db_stmt): a profile runs the same
 * ten statements every time, and preparing them cost a fifth of its work.
 * Keyed by the SQL text; an entry in use is busy, so a statement is never
 * handed out twice at once. When every slot is taken the oldest idle entry
 * is replaced (clock order).
 */
#define STMT_SLOTS 32

struct stmt_slot {
	sqlite3_stmt *st;
	uint64_t hash;
	size_t len;
	bool busy;
};

struct db {
	sqlite3 *handle;
	struct stmt_slot slots[STMT_SLOTS];
	unsigned hand;			/* next slot to consider replacing */
};

/*
 * synchronous=FULL: every commit is fsynced before it returns. The queue's
 * connection alone turns it down to NORMAL (queue.c, decision 7), and this
 * connection's fsyncs cover its commits too.
 * foreign_keys=ON everywhere, except on a connection while it runs a full
 * recalculation (decision 28, tags_recalc.c), which sets it back after.
 */
static const char connection_pragmas[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"PRAGMA foreign_keys=ON;";

/*
 * Covers the short write transactions of the other threads and of --import.
 * Set before the pragmas: journal_mode=WAL needs a lock too, and without a
 * timeout it fails at once while another process holds one.
 */
#define BUSY_TIMEOUT_MS 10000

enum ts_rc
db_rc(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return TS_OK;
	case SQLITE_NOMEM:
		return TS_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TS_ERR_TRANSIENT;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return TS_ERR_INVALID;
	default:
		return TS_ERR_IO;
	}
}

void
db_init(void)
{
	/*
	 * No allocation statistics: nothing reads them, and keeping them takes
	 * a process-wide mutex around every SQLite malloc and free, which the
	 * admin API's request threads contend for.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum ts_rc
db_open(const char *path, struct db **out, char **errmsg)
{
	struct db *db = NULL;
	mode_t old_mask;
	char *msg = NULL;
	int src;
	enum ts_rc rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return TS_ERR_NOMEM;
	old_mask = umask(077);
	src = sqlite3_open_v2(path, &db->handle, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
	(void)umask(old_mask);
	if (src != SQLITE_OK) {
		rc = db->handle ? TS_ERR_IO : TS_ERR_NOMEM;
		goto fail;
	}
	(void)sqlite3_extended_result_codes(db->handle, 1);
	(void)sqlite3_busy_timeout(db->handle, BUSY_TIMEOUT_MS);
	if ((src = sqlite3_exec(db->handle, connection_pragmas, NULL, NULL,
	    NULL)) != SQLITE_OK) {
		rc = TS_ERR_IO;
		goto fail;
	}
	*out = db;
	return TS_OK;
fail:
	if (errmsg != NULL && db->handle != NULL) {
		const char *text = sqlite3_errmsg(db->handle);
		size_t len = strlen(path) + strlen(text) + 16;
		if ((msg = malloc(len)) != NULL)
			(void)snprintf(msg, len, "%s: %s", path, text);
		*errmsg = msg;
	}
	db_close(db);
	return rc;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (unsigned i = 0; i < STMT_SLOTS; i++)
		(void)sqlite3_finalize(db->slots[i].st);
	/* sqlite3_close_v2 finalises lazily if a module leaked a statement. */
	(void)sqlite3_close_v2(db->handle);
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->handle;
}

enum ts_rc
db_exec(struct db *db, const char *sql)
{
	return db_rc(sqlite3_exec(db->handle, sql, NULL, NULL, NULL));
}

/*
 * BEGIN and COMMIT from the statement cache: the intake's committer runs
 * them thousands of times a second, and sqlite3_exec parses them anew each
 * time.
 */
static enum ts_rc
exec_cached(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_stmt(db, sql, &st)) != TS_OK)
		return rc;
	rc = db_rc(sqlite3_step(st));
	db_stmt_done(db, st);
	return rc;
}

enum ts_rc
db_begin(struct db *db)
{
	return exec_cached(db, "BEGIN IMMEDIATE");
}

enum ts_rc
db_commit(struct db *db)
{
	return exec_cached(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->handle))
		(void)sqlite3_exec(db->handle, "ROLLBACK", NULL, NULL, NULL);
}

enum ts_rc
db_query_int64(struct db *db, const char *sql, sqlite3_int64 *out)
{
	return db_query_int64_with(db, sql, 0, out);
}

enum ts_rc
db_query_int64_with(struct db *db, const char *sql, sqlite3_int64 arg,
    sqlite3_int64 *out)
{
	sqlite3_stmt *stmt = NULL;
	enum ts_rc rc;
	int src;

	*out = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db->handle, sql, -1, &stmt,
	    NULL))) != TS_OK)
		goto out;
	if (sqlite3_bind_parameter_count(stmt) > 0)
		(void)sqlite3_bind_int64(stmt, 1, arg);
	src = sqlite3_step(stmt);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		rc = src == SQLITE_DONE ? TS_ERR_NOTFOUND : db_rc(src);
out:
	(void)sqlite3_finalize(stmt);
	return rc;
}

enum ts_rc
db_kv_get(struct db *db, const char *key, char *buf, size_t size)
{
	sqlite3_stmt *stmt = NULL;
	enum ts_rc rc;

	buf[0] = '\0';
	if ((rc = db_rc(sqlite3_prepare_v2(db->handle,
	    "SELECT value FROM kv WHERE key = ?1", -1, &stmt, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		(void)snprintf(buf, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
	else
		rc = TS_ERR_NOTFOUND;
	(void)sqlite3_finalize(stmt);
	return rc;
}

enum ts_rc
db_kv_set(struct db *db, const char *key, const char *value)
{
	sqlite3_stmt *stmt = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db->handle,
	    "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
	    " updated_at = excluded.updated_at", -1, &stmt, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
	rc = db_rc(sqlite3_step(stmt));
	(void)sqlite3_finalize(stmt);
	return rc;
}

static uint64_t
sql_hash(const char *sql, size_t *len)
{
	uint64_t h = 1469598103934665603ULL;
	const char *p = sql;

	for (; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	*len = (size_t)(p - sql);
	return h;
}

enum ts_rc
db_stmt(struct db *db, const char *sql, sqlite3_stmt **out)
{
	struct stmt_slot *free_slot = NULL;
	size_t len;
	uint64_t h = sql_hash(sql, &len);
	int src;

	*out = NULL;
	for (unsigned i = 0; i < STMT_SLOTS; i++) {
		struct stmt_slot *s = &db->slots[i];

		if (s->st == NULL) {
			if (free_slot == NULL)
				free_slot = s;
		} else if (!s->busy && s->hash == h && s->len == len &&
		    memcmp(sqlite3_sql(s->st), sql, len) == 0) {
			s->busy = true;
			*out = s->st;
			return TS_OK;
		}
	}
	/* Replace an idle entry when none is free; all busy: not cached. */
	for (unsigned n = 0; free_slot == NULL && n < STMT_SLOTS; n++) {
		struct stmt_slot *s = &db->slots[db->hand];

		db->hand = (db->hand + 1) % STMT_SLOTS;
		if (!s->busy) {
			(void)sqlite3_finalize(s->st);
			s->st = NULL;
			free_slot = s;
		}
	}
	src = sqlite3_prepare_v3(db->handle, sql, (int)len + 1,
	    free_slot != NULL ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL);
	if (src != SQLITE_OK) {
		(void)sqlite3_finalize(*out);
		*out = NULL;
		return db_rc(src);
	}
	if (free_slot != NULL) {
		free_slot->st = *out;
		free_slot->hash = h;
		free_slot->len = len;
		free_slot->busy = true;
	}
	return TS_OK;
}

void
db_stmt_done(struct db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (unsigned i = 0; i < STMT_SLOTS; i++) {
		if (db->slots[i].st == st) {
			(void)sqlite3_reset(st);
			(void)sqlite3_clear_bindings(st);
			db->slots[i].busy = false;
			return;
		}
	}
	(void)sqlite3_finalize(st);
}

void
db_stmt_flush(struct db *db)
{
	for (unsigned i = 0; i < STMT_SLOTS; i++) {
		if (db->slots[i].st != NULL && !db->slots[i].busy) {
			(void)sqlite3_finalize(db->slots[i].st);
			db->slots[i].st = NULL;
		}
	}
}
