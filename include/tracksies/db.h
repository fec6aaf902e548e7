/* SPDX-License-Identifier: MIT */
/*
 * SQLite connections. Each thread opens its own (STYLE 5): WAL,
 * synchronous=FULL so that an acknowledged delivery survives a power cut,
 * foreign keys on, a busy timeout. SQLITE_* codes are translated here.
 */
#ifndef TRACKSIES_DB_H
#define TRACKSIES_DB_H

#include <stddef.h>

#include <sqlite3.h>

#include "tracksies/rc.h"

struct db;

/*
 * Process-wide SQLite settings: call once at start, before any connection
 * is opened (main.c). Without it SQLite keeps its defaults.
 */
void db_init(void);

/*
 * Open (creating under umask 077) the database at path with the connection
 * pragmas set. On TS_OK *out belongs to the caller (db_close). TS_ERR_IO when
 * the file cannot be opened or is not a database; *errmsg (may be NULL) then
 * gets an owned message to free(). The connection is used by one thread at a
 * time.
 */
enum ts_rc db_open(const char *path, struct db **out, char **errmsg);

/* Close db, finalising its statements. NULL is a no-op. */
void db_close(struct db *db);

/* The raw handle, borrowed, for modules that own tables (queue.c, ...). */
sqlite3 *db_handle(struct db *db);

/* Translate an SQLITE_* result code to enum ts_rc. */
enum ts_rc db_rc(int sqlite_rc);

/* Run SQL without results (schema, pragmas, BEGIN/COMMIT). */
enum ts_rc db_exec(struct db *db, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Rollback never fails the caller. */
enum ts_rc db_begin(struct db *db);
enum ts_rc db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Run a query returning one integer (e.g. SELECT count(*)...). TS_ERR_NOTFOUND
 * when it returns no row.
 */
enum ts_rc db_query_int64(struct db *db, const char *sql, sqlite3_int64 *out);

/* The same with ?1 bound to arg when sql has a parameter. */
enum ts_rc db_query_int64_with(struct db *db, const char *sql,
    sqlite3_int64 arg, sqlite3_int64 *out);

/*
 * A prepared statement for sql, kept on db for the next call with the same
 * text (hot read paths: the admin API's list and profile). Bind, step, then
 * give it back with db_stmt_done, which resets it and clears its bindings;
 * never sqlite3_finalize it. A statement already handed out is not handed
 * out again: the same SQL in use twice gets a fresh one, which
 * db_stmt_done finalises. On failure *out is NULL.
 */
enum ts_rc db_stmt(struct db *db, const char *sql, sqlite3_stmt **out);

/* Give back a statement from db_stmt. NULL is a no-op. */
void db_stmt_done(struct db *db, sqlite3_stmt *st);

/* Finalise the kept statements not in use (releasing their memory). */
void db_stmt_flush(struct db *db);

/*
 * The kv table (0002): small daemon state such as the store currency or the
 * reconciler's watermark. db_kv_get copies the value into buf (TS_ERR_NOTFOUND
 * when absent); db_kv_set inserts or replaces it, with the time.
 */
enum ts_rc db_kv_get(struct db *db, const char *key, char *buf, size_t size);
enum ts_rc db_kv_set(struct db *db, const char *key, const char *value);

#endif
