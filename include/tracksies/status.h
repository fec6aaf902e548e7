/* SPDX-License-Identifier: MIT */
/*
 * Customer statuses (active, vip, caution, do_not_serve): manual changes
 * with their audit row, and the automatic status rules of the rules file.
 * Precedence (docs/intelligence.md): a rule fires when its condition
 * becomes true for a customer; while it holds it sets its status, unless
 * the status is a manual do_not_serve or was changed manually after the
 * rule last fired. Among rules that hold, the first in the file wins.
 * Rules never undo a status when their condition stops holding.
 * Never logs.
 */
#ifndef TRACKSIES_STATUS_H
#define TRACKSIES_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct db;
struct tags_status_rule;

/* Actors starting with this are automatic rules ("rule:vip_by_ltv"). */
#define STATUS_RULE_ACTOR "rule:"

/* True for active, vip, caution and do_not_serve. */
bool status_valid(const char *status);

/*
 * A manual change of customer_id's status to new_status by actor (the
 * admin API's X-Tracksies-Actor; must not start with "rule:") for reason
 * (may be NULL). Writes customers.status, status_reason, status_changed_at
 * and _by, and an audit_log row (action status_change, field status, old
 * and new value). Setting the status it already has records the new reason
 * and counts as a manual change. Runs in the caller's transaction, or in
 * its own when there is none. TS_ERR_INVALID (bad status or actor),
 * TS_ERR_NOTFOUND, TS_ERR_TRANSIENT, TS_ERR_IO.
 */
enum ts_rc status_set(struct db *db, int64_t customer_id, const char *new_status,
    const char *actor, const char *reason, int64_t now);

/* Statements for one customer at a time (tags_recalc.c). The owning thread. */
struct status;
enum ts_rc status_new(struct db *db, struct status **out);
void status_free(struct status *s);

/*
 * Apply rules[0..n) (in priority order) to customer_id, holds[i] telling
 * whether rule i's condition holds for it now: record firings and
 * releases in status_rule_state, then set the winning rule's status with
 * an audit row (actor "rule:<id>", reason the rule's). The one decision
 * path, for a single customer and for a full recalculation alike. In the
 * caller's transaction. TS_OK also when the customer does not exist.
 * TS_ERR_IO, TS_ERR_NOMEM.
 */
enum ts_rc status_apply_customer(struct status *s, int64_t customer_id,
    const struct tags_status_rule *rules, const bool *holds, size_t n,
    int64_t now);

/*
 * The same in two steps, for many customers: status_decide reads and
 * queues what is to be written (rules must stay valid until the flush);
 * status_flush writes everything queued in a few set-based statements and
 * empties the queue. status_flush_discard empties it without writing.
 */
enum ts_rc status_decide(struct status *s, int64_t customer_id,
    const struct tags_status_rule *rules, const bool *holds, size_t n,
    int64_t now);
enum ts_rc status_flush(struct status *s, int64_t now);
enum ts_rc status_flush_discard(struct status *s);

#endif
