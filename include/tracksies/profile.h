/* SPDX-License-Identifier: MIT */
/*
 * Customer profiles as JSON, read from SQLite: the shape the admin API
 * serves and `tracksiesd --customer` prints. Field names are fixed for the
 * companion plugin (money as decimal strings, times as ISO 8601 UTC).
 */
#ifndef TRACKSIES_PROFILE_H
#define TRACKSIES_PROFILE_H

#include <stdint.h>

#include <jansson.h>

#include "tracksies/rc.h"

struct db;

/*
 * The customer whose email (or alias email) is email, normalised first.
 * TS_ERR_NOTFOUND when there is none.
 */
enum ts_rc profile_find_by_email(struct db *db, const char *email,
    int64_t *customer_id);

/*
 * The full profile of customer_id: header fields, stats, addresses, up to
 * 50 most recent orders of any status with their items, refunds. now is the
 * reference time for days_since_last_order. On TS_OK *out is owned by the
 * caller. TS_ERR_NOTFOUND, TS_ERR_IO, TS_ERR_NOMEM. Any thread with its
 * own connection.
 */
enum ts_rc profile_get(struct db *db, int64_t customer_id, int decimals,
    int64_t now, json_t **out);

#endif
