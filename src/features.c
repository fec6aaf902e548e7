/* SPDX-License-Identifier: MIT */
/*
 * Feature flags in table kv. This file owns the 'feature.*' keys and the
 * list of known flags with their defaults; what a flag switches is up to
 * the module that asks.
 */
#include "tracksies/features.h"

#include <stdio.h>
#include <string.h>

#include "tracksies/db.h"

static const struct {
	const char *name;
	bool on;
} flags[] = {
	{ FEATURE_ORDER_SYNC, true },
	{ FEATURE_IMPORT, true },
	{ FEATURE_TAGS, true },
	{ FEATURE_INTERACTIONS, true },
	{ FEATURE_ALIASES, true },
	{ FEATURE_DIGITAL_AUTO_COMPLETE, false },
};

#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

size_t
features_count(void)
{
	return N_FLAGS;
}

const char *
features_name(size_t i)
{
	return i < N_FLAGS ? flags[i].name : NULL;
}

bool
features_default(size_t i)
{
	return i < N_FLAGS && flags[i].on;
}

static int
find(const char *name)
{
	for (size_t i = 0; name != NULL && i < N_FLAGS; i++)
		if (strcmp(flags[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool
features_known(const char *name)
{
	return find(name) >= 0;
}

enum ts_rc
features_get(struct db *db, const char *name, bool *on)
{
	sqlite3_stmt *st = NULL;
	char key[64];
	enum ts_rc rc;
	int i = find(name), src;

	*on = false;
	if (i < 0)
		return TS_ERR_INVALID;
	*on = flags[i].on;
	(void)snprintf(key, sizeof(key), "feature.%s", name);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "SELECT value FROM kv WHERE key = ?1", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (v != NULL && strcmp(v, "on") == 0)
			*on = true;
		else if (v != NULL && strcmp(v, "off") == 0)
			*on = false;
	} else if (src != SQLITE_DONE) {
		rc = db_rc(src);
	}
out:
	(void)sqlite3_finalize(st);
	return rc;
}

enum ts_rc
features_set(struct db *db, const char *name, bool on, int64_t now)
{
	sqlite3_stmt *st = NULL;
	char key[64];
	enum ts_rc rc;

	if (find(name) < 0)
		return TS_ERR_INVALID;
	(void)snprintf(key, sizeof(key), "feature.%s", name);
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db),
	    "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
	    " updated_at = excluded.updated_at", -1, &st, NULL))) != TS_OK)
		goto out;
	(void)sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	(void)sqlite3_bind_text(st, 2, on ? "on" : "off", -1, SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, now);
	rc = db_rc(sqlite3_step(st));
out:
	(void)sqlite3_finalize(st);
	return rc;
}
