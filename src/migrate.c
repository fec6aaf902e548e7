/* SPDX-License-Identifier: MIT */
/*
 * Applies migrations/NNNN_name.sql in order. PRAGMA user_version is the
 * source of truth for the version; schema_migrations lists what was applied
 * when, for operators. A database newer than this binary is never touched.
 */
#include "tracksies/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tracksies/db.h"

static const char bookkeeping_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" applied_at INTEGER NOT NULL)";

static void
set_error(char **errmsg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_error(char **errmsg, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (errmsg == NULL)
		return;
	free(*errmsg);
	va_start(ap, fmt);
	if ((msg = malloc(512)) != NULL)
		(void)vsnprintf(msg, 512, fmt, ap);
	va_end(ap);
	*errmsg = msg;
}

int
migrate_latest(const struct migration *migrations, size_t n)
{
	return n == 0 ? 0 : migrations[n - 1].version;
}

static enum ts_rc
apply_one(struct db *db, const struct migration *m, char **errmsg)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *stmt = NULL;
	char pragma[64];
	enum ts_rc rc;

	if ((rc = db_begin(db)) != TS_OK) {
		set_error(errmsg, "cannot start migration %s: %s", m->name,
		    sqlite3_errmsg(h));
		return rc;
	}
	if (sqlite3_exec(h, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(h, bookkeeping_sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_error(errmsg, "migration %s failed: %s", m->name,
		    sqlite3_errmsg(h));
		rc = TS_ERR_INVALID;
		goto fail;
	}
	if (sqlite3_prepare_v2(h, "INSERT INTO schema_migrations"
	    " (version, name, applied_at) VALUES (?1, ?2, ?3)", -1, &stmt,
	    NULL) != SQLITE_OK) {
		rc = TS_ERR_IO;
		goto fail;
	}
	(void)sqlite3_bind_int(stmt, 1, m->version);
	(void)sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
	if ((rc = db_rc(sqlite3_step(stmt))) != TS_OK)
		goto fail;
	/* PRAGMA takes no parameters; the version is an int we format. */
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d",
	    m->version);
	if ((rc = db_exec(db, pragma)) != TS_OK)
		goto fail;
	(void)sqlite3_finalize(stmt);
	if ((rc = db_commit(db)) != TS_OK) {
		set_error(errmsg, "cannot commit migration %s: %s", m->name,
		    sqlite3_errmsg(h));
		db_rollback(db);
	}
	return rc;
fail:
	(void)sqlite3_finalize(stmt);
	db_rollback(db);
	return rc;
}

enum ts_rc
migrate_apply(struct db *db, const struct migration *migrations, size_t n,
    int *from, int *to, char **errmsg)
{
	sqlite3_int64 version = 0;
	int latest = migrate_latest(migrations, n);
	enum ts_rc rc;

	if (errmsg != NULL)
		*errmsg = NULL;
	if ((rc = db_query_int64(db, "PRAGMA user_version", &version)) != TS_OK) {
		set_error(errmsg, "cannot read the schema version: %s",
		    sqlite3_errmsg(db_handle(db)));
		return rc;
	}
	if (from != NULL)
		*from = (int)version;
	if (to != NULL)
		*to = (int)version;
	if (version > latest) {
		set_error(errmsg, "database schema version %lld is newer than "
		    "this tracksiesd knows (%d): upgrade tracksiesd, or restore "
		    "a backup made for this version", (long long)version, latest);
		return TS_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		if (migrations[i].version <= version)
			continue;
		if ((rc = apply_one(db, &migrations[i], errmsg)) != TS_OK)
			return rc;
		version = migrations[i].version;
		if (to != NULL)
			*to = (int)version;
	}
	return TS_OK;
}
