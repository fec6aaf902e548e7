/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations: migrations/NNNN_name.sql, compiled into the binary,
 * applied in order, each in its own transaction, the version kept in
 * PRAGMA user_version and listed in the schema_migrations table.
 */
#ifndef TRACKSIES_MIGRATE_H
#define TRACKSIES_MIGRATE_H

#include <stddef.h>

#include "tracksies/rc.h"

struct db;

struct migration {
	int version;		/* NNNN of the file name, strictly increasing */
	const char *name;	/* file name without .sql */
	const char *sql;
};

/* The migrations this binary carries (generated at build time). */
extern const struct migration migrate_embedded[];
extern const size_t migrate_embedded_count;

/* The newest schema version in migrations[0..n). */
int migrate_latest(const struct migration *migrations, size_t n);

/*
 * Bring db up to the newest of migrations[0..n), each step in one
 * transaction. *from and *to receive the versions before and after (either
 * may be NULL). TS_ERR_INVALID when the database is newer than the newest
 * migration known (nothing is changed) or a migration fails (that step is
 * rolled back); *errmsg (may be NULL) then gets an owned message to free().
 * TS_ERR_TRANSIENT when the database is locked for longer than the busy
 * timeout; TS_ERR_IO otherwise. Any thread that owns db.
 */
enum ts_rc migrate_apply(struct db *db, const struct migration *migrations,
    size_t n, int *from, int *to, char **errmsg);

#endif
