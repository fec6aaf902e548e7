/* SPDX-License-Identifier: MIT */
/*
 * Do-Not-Serve alerts: when an order from a do_not_serve customer is
 * seen, one email to the store admin over SMTP (libcurl): the customer,
 * the order number and total, and links to the order in wp-admin. Queued
 * in alert_outbox (one row per order, ever), sent outside any database
 * transaction, retried with backoff while the mail server fails, and
 * recorded in audit_log once sent. Never logs; never puts an email address
 * anywhere but the message itself.
 */
#ifndef TRACKSIES_ALERT_H
#define TRACKSIES_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "tracksies/rc.h"

struct config;
struct db;

/* Backoff after a failed attempt: 30 s doubling, at most an hour. */
#define ALERT_RETRY_FIRST_S 30
#define ALERT_RETRY_MAX_S 3600
/* Alerts sent per alert_deliver_pending call, at most. */
#define ALERT_BATCH 20

/* Where and how to send; every string borrowed. */
struct alert_smtp {
	const char *url;		/* smtp://host[:port] or smtps://host[:port] */
	const char *from;
	const char *to;			/* one address, or several separated by ',' */
	const char *username;		/* NULL: no authentication */
	const char *password;
	const char *ca_file;		/* NULL: the system trust store */
	const char *store_url;		/* for the wp-admin links */
	long timeout_ms;
};

/*
 * Fill out from cfg ([smtp], [store] url and timeout_ms; the system trust
 * store). Strings borrowed from cfg.
 */
void alert_smtp_from_config(const struct config *cfg, struct alert_smtp *out);

/*
 * Queue the alert for order_id when customer_id is do_not_serve and the
 * order was placed while it was (created_at >= status_changed_at), unless
 * that order was queued before. Call after sync_apply_order stored the
 * order, in the same transaction; calling it for every order is cheap.
 * *queued (may be NULL) tells whether a new alert was queued.
 * TS_ERR_IO, TS_ERR_TRANSIENT.
 */
enum ts_rc alert_note_order(struct db *db, int64_t customer_id,
    int64_t order_id, int64_t now, bool *queued);

struct alert_report {
	int sent;
	int failed;			/* attempts that failed, retried later */
	int64_t next_due_at;		/* earliest pending alert, 0 when none */
	char last_error[256];		/* of the last failure; no secrets */
};

/*
 * Send up to ALERT_BATCH alerts due at now, each in its own SMTP session,
 * with no database transaction open while sending (so must be called
 * outside one). A sent alert is marked and gets an audit_log row
 * (action alert_sent); a failed one is retried after the backoff. A crash
 * between sending and marking sends it again: at least once. smtp->url
 * NULL: nothing is sent. TS_OK even when sending failed (see *out);
 * TS_ERR_IO etc. for the database. The calling thread needs its own curl
 * handles: any thread but MHD's.
 */
enum ts_rc alert_deliver_pending(struct db *db, const struct alert_smtp *smtp,
    int64_t now, struct alert_report *out);

/* The earliest pending alert's due time; TS_ERR_NOTFOUND when none. */
enum ts_rc alert_next_due(struct db *db, int64_t *at);

#endif
