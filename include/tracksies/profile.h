/* SPDX-License-Identifier: MIT */
/*
 * Customer profiles as JSON, read from SQLite: the shape the admin API
 * serves and `tracksiesd --customer` prints. Field names are fixed for the
 * companion plugin (money as decimal strings, times as ISO 8601 UTC). Also
 * the two writes every status change shares: the status columns and the
 * audit row. No logging; the caller owns transactions.
 */
#ifndef TRACKSIES_PROFILE_H
#define TRACKSIES_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "tracksies/rc.h"

struct db;

#define PROFILE_ORDERS 50		/* most recent orders in a profile */
#define PROFILE_INTERACTIONS 50
#define PROFILE_RETURNS 50

/*
 * The columns profile_summary_json reads, in order, from customers AS c.
 * Use as "SELECT " PROFILE_SUMMARY_COLUMNS " FROM customers AS c ...".
 */
#define PROFILE_SUMMARY_COLUMNS \
	"c.id, c.email, c.first_name, c.last_name, c.phone, c.company," \
	" c.wp_user_id, c.status, c.status_reason, c.status_changed_at," \
	" c.status_changed_by, c.ltv_minor, c.order_count, c.aov_minor," \
	" c.refunded_minor, c.refund_count, c.first_order_at, c.last_order_at," \
	" c.created_at, c.tag_count"
#define PROFILE_SUMMARY_NCOLS 20

/*
 * The customer fields of the list (id, email, names, phone, company,
 * wp_user_id, status and its change, ltv, order_count, aov,
 * refunded_total, refund_count, first/last_order_at, currency, created_at,
 * tag_count) from the current row of st, whose columns start at col with
 * PROFILE_SUMMARY_COLUMNS. currency may be NULL. NULL only when out of
 * memory. "tags" is not set: see profile_add_tags.
 */
json_t *profile_summary_json(sqlite3_stmt *st, int col, int decimals,
    const char *currency);

/*
 * The same members written as JSON text into w (jw.h), in the same order,
 * without the braces: the customer list writes its page this way.
 */
struct jw;
void profile_summary_write(struct jw *w, sqlite3_stmt *st, int col,
    int decimals, const char *currency);

/*
 * Set obj's "tags" to the tags customer_id holds now: id, label, icon,
 * channel, earned_at (catalogue fields null when the tag left the
 * catalogue). TS_ERR_IO, TS_ERR_NOMEM.
 */
enum ts_rc profile_add_tags(struct db *db, int64_t customer_id, json_t *obj);

/* minor units with decimals digits as a JSON string ("50.00"). */
json_t *profile_money_json(int64_t minor, int decimals);

/* unix seconds as a JSON string "2026-11-23T04:46:06Z". */
json_t *profile_time_json(int64_t t);

/*
 * The customer whose email (or alias email) is email, normalised first.
 * TS_ERR_NOTFOUND when there is none.
 */
enum ts_rc profile_find_by_email(struct db *db, const char *email,
    int64_t *customer_id);

/*
 * The full profile of customer_id: header fields, stats, tags, addresses
 * with same_as_billing, up to 50 most recent orders of any status with
 * their items and refunds, returns (count, refunded_total, list), up to 50
 * interactions, notes, aliases, details, linked accounts and a warning for
 * each linked account in caution or do_not_serve. now is the reference time
 * for days_since_last_order. On TS_OK *out is owned by the caller.
 * TS_ERR_NOTFOUND, TS_ERR_IO, TS_ERR_NOMEM. Any thread with its own
 * connection.
 */
enum ts_rc profile_get(struct db *db, int64_t customer_id, int decimals,
    int64_t now, json_t **out);

/*
 * The same profile as compact JSON text (*out owned, NUL-terminated, *len
 * bytes): what the admin API sends, without building a jansson tree for
 * the orders.
 */
enum ts_rc profile_get_text(struct db *db, int64_t customer_id, int decimals,
    int64_t now, char **out, size_t *len);

/*
 * The linked accounts of customer_id as a JSON array of {id, email,
 * first_name, last_name, status, linked_at, warning}, warning null unless
 * the other account is in caution or do_not_serve. TS_ERR_IO, TS_ERR_NOMEM.
 */
enum ts_rc profile_links(struct db *db, int64_t customer_id, json_t **out);

/*
 * Ask for the search index to be merged into one segment by
 * profile_search_purge: after an erasure (its tombstoned trigrams) and after
 * an import (the many segments a bulk insert leaves). In the caller's
 * transaction, if any. TS_ERR_IO, TS_ERR_TRANSIENT.
 */
enum ts_rc profile_search_merge_later(struct db *db);

/*
 * Merge the search index while kv 'search.purge_pending' is set (see
 * profile_search_merge_later): segments are merged a slice at a time
 * (each slice its own short write transaction) for about budget_ms, and
 * the flag cleared when nothing is left to merge. *done is true when no
 * merge is pending any more. Cheap when none is pending (one read). Meant
 * for a thread that turns regularly (the worker's loop) and for the admin
 * API right after an erasure. TS_ERR_IO, TS_ERR_TRANSIENT.
 */
enum ts_rc profile_search_purge(struct db *db, long budget_ms, bool *done);

/* True for active, vip, caution, do_not_serve. */
bool profile_status_valid(const char *status);

/*
 * Append one audit_log row. customer_id 0 means none. Personal values
 * (email, names, phone, notes) must not be passed as old_value/new_value:
 * record the field name only. TS_ERR_IO, TS_ERR_TRANSIENT.
 */
enum ts_rc profile_audit(struct db *db, int64_t customer_id, int64_t at,
    const char *actor, const char *action, const char *field,
    const char *old_value, const char *new_value, const char *reason);

/*
 * Move customer_id to status (valid) with reason (may be NULL) by actor at
 * now: status, status_reason, status_changed_at, status_changed_by and one
 * audit row (action status_change, field status, old and new status,
 * reason). Nothing is written and *changed is false when the customer
 * already has that status. TS_ERR_NOTFOUND, TS_ERR_INVALID (status),
 * TS_ERR_IO, TS_ERR_TRANSIENT. Run inside the caller's transaction.
 */
enum ts_rc profile_set_status(struct db *db, int64_t customer_id,
    const char *status, const char *reason, const char *actor, int64_t now,
    bool *changed);

#endif
