/* SPDX-License-Identifier: MIT */
/*
 * What a request to the webhook path means, decided from its headers and raw
 * body alone: a signed delivery to queue, WooCommerce's creation ping, a
 * topic we ignore, a payload we cannot read, or an unauthorised request.
 * Pure: no I/O, no logging. http_server.c carries the bytes, queue.c stores.
 */
#ifndef TRACKSIES_WEBHOOK_H
#define TRACKSIES_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "tracksies/rc.h"

/* The parts of a request that classification reads; all borrowed. */
struct webhook_request {
	const char *topic;		/* X-WC-Webhook-Topic, or NULL */
	const char *signature;		/* X-WC-Webhook-Signature, or NULL */
	const char *webhook_id;		/* X-WC-Webhook-ID, or NULL */
	const char *delivery_id;	/* X-WC-Webhook-Delivery-ID, or NULL */
	const char *content_type;	/* Content-Type, or NULL */
	int has_wc_headers;		/* any X-WC-* header present */
	const char *body;		/* raw bytes, not NUL-terminated */
	size_t body_len;
};

enum webhook_verdict {
	WEBHOOK_QUEUE,		/* signed, syncable topic, order id known */
	WEBHOOK_MALFORMED,	/* signed, syncable topic, unreadable payload: store failed */
	WEBHOOK_PING,		/* creation/activation ping: 200, store nothing */
	WEBHOOK_IGNORED,	/* signed, topic we do not sync: 200, store nothing */
	WEBHOOK_UNSIGNED,	/* no signature: 401 */
	WEBHOOK_BAD_SIGNATURE,	/* wrong signature: 401 */
};

struct webhook_result {
	enum webhook_verdict verdict;
	int64_t order_id;		/* with WEBHOOK_QUEUE */
	int64_t webhook_id;		/* parsed X-WC-Webhook-ID, 0 if none */
	/* what a full order payload (created/updated/restored) says */
	int64_t modified_at;		/* date_modified_gmt, 0 if absent */
	char status[32];		/* "" if absent */
	int64_t total_minor;		/* with has_total */
	int has_total;
	int refund_count;		/* entries in "refunds", -1 if absent */
	char reason[256];		/* with WEBHOOK_MALFORMED: why, no payload data */
};

/*
 * Classify req. key is the shared webhook secret, set up once
 * (hmac_key_new). Returns TS_OK with *out filled, or TS_ERR_NOMEM. Any
 * thread.
 */
struct hmac_key;
enum ts_rc webhook_classify(const struct hmac_key *key,
    const struct webhook_request *req, struct webhook_result *out);

/* True for the topics that trigger a sync (PRODUCT.md section 2). */
int webhook_topic_syncs(const char *topic);

/* A stable lower-case name for a verdict, for logs and metrics. */
const char *webhook_verdict_name(enum webhook_verdict v);

#endif
