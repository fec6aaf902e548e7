/* SPDX-License-Identifier: MIT */
/* `tracksiesd --recalculate [--as-of YYYY-MM-DD]`, run in the main thread. */
#ifndef TRACKSIES_RECALC_CLI_H
#define TRACKSIES_RECALC_CLI_H

#include <stdbool.h>
#include <stdint.h>

struct db;

/*
 * Recalculate every customer's metrics, RFM scores, gap and overdue
 * flags, purchase models, tags and automatic statuses with the rules
 * already in db (tags_apply_catalogue), as of now or, with as_of_given,
 * as of as_of (the start of a UTC day, not after now). Progress goes to
 * stderr, the summary to stdout. Returns the exit status: 0 done, 78 a
 * rule failed at run time, 130 interrupted by SIGINT/SIGTERM (what was
 * written stays consistent customer by customer), 1 could not run (tags
 * switched off, database busy or failing). db is borrowed, migrated, and
 * not in a transaction. Main thread; blocks SIGINT and SIGTERM.
 */
int recalc_cli_run(struct db *db, bool as_of_given, int64_t as_of);

#endif
