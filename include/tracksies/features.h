/* SPDX-License-Identifier: MIT */
/*
 * Feature flags: rows 'feature.<name>' = 'on' | 'off' in table kv, with a
 * compiled-in default for each known flag. Read from the database on every
 * call, so a change made through the admin API is honoured by every thread
 * at its next check. No logging.
 */
#ifndef TRACKSIES_FEATURES_H
#define TRACKSIES_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct db;

#define FEATURE_ORDER_SYNC "woo.order_sync"
#define FEATURE_IMPORT "woo.import"
#define FEATURE_TAGS "woo.tags"
#define FEATURE_INTERACTIONS "woo.interactions"
#define FEATURE_ALIASES "woo.aliases"
#define FEATURE_DIGITAL_AUTO_COMPLETE "hq.digital_auto_complete"

/* The known flags, in a stable order, with their defaults. */
size_t features_count(void);
const char *features_name(size_t i);
bool features_default(size_t i);

/* True when name is a known flag. */
bool features_known(const char *name);

/*
 * *on gets the flag's value: the stored one, or the default when none is
 * stored (or the stored text is neither 'on' nor 'off'). TS_ERR_INVALID for
 * an unknown name (*on is then false), TS_ERR_IO / TS_ERR_TRANSIENT when the
 * database cannot be read. Any thread, on its own connection.
 */
enum ts_rc features_get(struct db *db, const char *name, bool *on);

/*
 * Store the flag's value at time now (unix seconds). The caller owns the
 * transaction, if any. TS_ERR_INVALID for an unknown name; TS_ERR_IO,
 * TS_ERR_TRANSIENT.
 */
enum ts_rc features_set(struct db *db, const char *name, bool on, int64_t now);

#endif
