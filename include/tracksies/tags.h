/* SPDX-License-Identifier: MIT */
/*
 * Tag and status rules (docs/intelligence.md): the rules file a store owner
 * edits, validated with a message naming the rule and the fault; the
 * catalogue stored in SQLite. A condition is a SQL expression over the
 * customer_metrics view, evaluated by SQLite; what it may do is
 * tags_guard.h's, recalculation is tags_recalc.h.
 * Never logs: errors come back as text or enum ts_rc.
 */
#ifndef TRACKSIES_TAGS_H
#define TRACKSIES_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct db;

#define TAGS_MAX_RULES 200		/* of each kind, tags and status rules */
#define TAGS_MAX_CONDITION 4000		/* bytes of one condition */
#define TAGS_MAX_FILE (1024 * 1024)	/* bytes of a rules file */

struct tags_rule {
	char *id;		/* [a-z0-9_], 1..64 */
	char *label;
	char *icon;		/* "" when unset */
	char *channel;		/* commitment tenure value price_sensitivity engagement */
	char *condition;	/* SQL expression over customer_metrics */
	bool milestone;		/* kept once earned; else live: held while true */
	int line;
};

struct tags_status_rule {
	char *id;
	char *status;		/* active vip caution do_not_serve */
	char *condition;
	char *reason;		/* "" when unset */
	int line;
};

struct tags_catalogue {
	struct tags_rule *tags;
	size_t n_tags;
	struct tags_status_rule *status_rules;	/* in priority order */
	size_t n_status_rules;
};

/*
 * Parse and validate the rules file at path, or the built-in defaults when
 * path is NULL. Every fault is reported ("path:line: tag id: message", one
 * per line in *errors, owned by the caller) and then the whole file is
 * rejected. Conditions are checked by SQLite against the real schema (an
 * in-memory database with every migration). On TS_OK *out belongs to the
 * caller (tags_catalogue_free). TS_ERR_INVALID, TS_ERR_IO (unreadable
 * file; *errors says so), TS_ERR_NOMEM. Any thread.
 */
enum ts_rc tags_load(const char *path, struct tags_catalogue **out,
    char **errors);

/* Same as tags_load from text in memory; name is used in messages. */
enum ts_rc tags_load_string(const char *name, const char *text,
    struct tags_catalogue **out, char **errors);

/* The built-in rules, the same text as tags.conf.default. */
const char *tags_default_rules(void);

void tags_catalogue_free(struct tags_catalogue *cat);

/*
 * Make cat the rules of db, in one write transaction of its own: replaces
 * the tags and status_rules tables and bumps the catalogue generation that
 * every connection's struct tags_recalc watches. *changed (may be NULL) tells
 * whether anything differs from what db held, in which case everyone should
 * be recalculated (tags_recalc_request). Tags earned under a rule that is
 * removed are kept, hidden from the catalogue. TS_ERR_INVALID when a
 * condition does not compile against db (*errors, may be NULL, says why),
 * TS_ERR_TRANSIENT (busy), TS_ERR_IO. The thread that owns db.
 */
enum ts_rc tags_apply_catalogue(struct db *db, const struct tags_catalogue *cat,
    bool *changed, char **errors);

/*
 * The catalogue db holds (as tags_apply_catalogue stored it) and its
 * generation, read in the caller's transaction. On TS_OK *out belongs to
 * the caller. TS_ERR_IO, TS_ERR_NOMEM. The thread that owns db.
 */
enum ts_rc tags_catalogue_read(struct db *db, struct tags_catalogue **out,
    int64_t *gen);

/* "YYYY-MM-DD" -> the start of that day, UTC. TS_ERR_INVALID. */
enum ts_rc tags_parse_date(const char *text, int64_t *out);

#endif
