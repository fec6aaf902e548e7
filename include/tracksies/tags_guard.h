/* SPDX-License-Identifier: MIT */
/*
 * The guard on rule conditions (docs/intelligence.md, "Conditions"): a
 * condition is one SQL expression that may read the columns of the
 * customer_metrics view and call a whitelist of pure functions, nothing
 * else; enforced lexically and by sqlite3_set_authorizer while SQLite
 * compiles it. Never logs.
 */
#ifndef TRACKSIES_TAGS_GUARD_H
#define TRACKSIES_TAGS_GUARD_H

#include <stddef.h>

#include <sqlite3.h>

#include "tracksies/rc.h"

struct db;

/*
 * Check condition against db's schema: one balanced expression (no ';',
 * no comments, no unbalanced parenthesis or quote, at most
 * TAGS_MAX_CONDITION bytes) that compiles, under the guard, as
 * "SELECT id FROM customer_metrics WHERE (condition)". TS_OK;
 * TS_ERR_INVALID with the fault in fault[size] ("reads table orders: ...",
 * "no such column: ltvv"); TS_ERR_NOMEM. The thread that owns db.
 */
enum ts_rc tags_guard_check(struct db *db, const char *condition, char *fault,
    size_t size);

/*
 * Prepare sql, which embeds conditions already checked, under the guard:
 * reads of customer_metrics (and what the view reads), whitelisted
 * functions and, when write_table is not NULL, reading and writing that
 * table with its triggers and foreign keys. Anything else fails with the
 * reason in fault[size]. On TS_OK *out belongs to the caller. Setting the
 * authorizer expires the connection's other prepared statements, which
 * SQLite re-prepares on their next step: call it rarely (rules changed).
 * TS_ERR_INVALID, TS_ERR_NOMEM, TS_ERR_IO. The thread that owns db.
 */
enum ts_rc tags_guard_prepare(struct db *db, const char *sql,
    const char *write_table, sqlite3_stmt **out, char *fault, size_t size);

#endif
